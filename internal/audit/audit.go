// Package audit keeps Kustodian's key audit trail: every change of a
// cluster's key configuration, and (with the storage engine) every state
// change of a storage account's key availability, rotation and unwrap
// failure, with time, cause and key id, so an operator can list them.
//
// Events are written in the metadata store, in the same transaction as the
// change they describe when there is one. They carry key identifiers
// (vault URI, key name, version) and resource ids, never key material or
// customer data.
package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/kustodian/kustodian/internal/meta"
)

// kind is the meta document kind of audit events; keys sort by time.
const kind = "audit.event"

// Event is one entry of the audit trail.
type Event struct {
	ID       string    `json:"id"`
	Time     time.Time `json:"time"`
	Kind     string    `json:"kind"`               // e.g. "KeySet", "KeyRemoved", "StateChanged"
	Resource string    `json:"resource,omitempty"` // ARM id of the cluster or workspace
	Account  string    `json:"account,omitempty"`  // storage account id
	KeyID    string    `json:"keyId,omitempty"`    // key identifier (vault URI/keys/name[/version])
	Cause    string    `json:"cause"`
	Detail   string    `json:"detail,omitempty"`
}

func key(t time.Time, id string) string { return fmt.Sprintf("%020d/%s", t.UnixNano(), id) }

// Record adds e to the trail within tx. ID is assigned if empty.
func Record(ctx context.Context, tx meta.Tx, e Event) error {
	if e.ID == "" {
		e.ID = uuid.NewString()
	}
	body, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return tx.PutDoc(ctx, kind, key(e.Time.UTC(), e.ID), body)
}

// List returns the events at or after since, oldest first, at most limit
// (0: all).
func List(ctx context.Context, store meta.Store, since time.Time, limit int) ([]Event, error) {
	var out []Event
	err := store.View(ctx, func(tx meta.Tx) error {
		docs, err := tx.Docs(ctx, kind, "")
		if err != nil {
			return err
		}
		from := fmt.Sprintf("%020d", since.UnixNano())
		for _, d := range docs {
			if since.After(time.Time{}) && d.Key < from {
				continue
			}
			var e Event
			if err := json.Unmarshal(d.Body, &e); err != nil {
				return fmt.Errorf("audit event %s: %w", d.Key, err)
			}
			out = append(out, e)
			if limit > 0 && len(out) == limit {
				break
			}
		}
		return nil
	})
	return out, err
}
