package kek

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/kustodian/kustodian/internal/meta"
)

// Authority kinds: who wraps a generation's AEK.
const (
	AuthorityPlatform = "platform" // the server's own key (the seed's "Microsoft key")
	AuthorityCustomer = "customer" // the cluster's KEK in the customer's vault
)

// Generation is one AEK of a storage account, stored only wrapped. Data
// blocks name the generation whose AEK derived their keys; generations are
// never deleted while data refers to them (only with the whole account).
type Generation struct {
	Account   string    `json:"account"`
	Number    uint32    `json:"number"`
	Authority string    `json:"authority"`
	KeyID     string    `json:"keyId"` // the key version that wrapped it
	Wrapped   []byte    `json:"wrapped"`
	Created   time.Time `json:"created"`
	Rewrapped time.Time `json:"rewrapped,omitzero"`
}

// GenerationStore keeps wrapped AEKs.
type GenerationStore interface {
	// Generations returns an account's generations, oldest first.
	Generations(ctx context.Context, account string) ([]Generation, error)
	// PutGenerations inserts or replaces generations atomically (a new
	// generation, or the rewrap of several at rotation).
	PutGenerations(ctx context.Context, gens []Generation) error
	// DeleteAccount removes every generation of an account: without them
	// its data can never be decrypted again (crypto-shredding).
	DeleteAccount(ctx context.Context, account string) error
	// Accounts lists the accounts that have generations.
	Accounts(ctx context.Context) ([]string, error)
}

// MetaGenerations is a GenerationStore in the metadata store.
type MetaGenerations struct{ Store meta.Store }

const generationKind = "kek.generation"

func generationKey(account string, n uint32) string { return fmt.Sprintf("%s/%010d", account, n) }

// Generations implements GenerationStore.
func (m MetaGenerations) Generations(ctx context.Context, account string) ([]Generation, error) {
	var out []Generation
	err := m.Store.View(ctx, func(tx meta.Tx) error {
		docs, err := tx.Docs(ctx, generationKind, account+"/")
		if err != nil {
			return err
		}
		for _, d := range docs {
			var g Generation
			if err := json.Unmarshal(d.Body, &g); err != nil {
				return fmt.Errorf("generation %s: %w", d.Key, err)
			}
			out = append(out, g)
		}
		return nil
	})
	return out, err
}

// PutGenerations implements GenerationStore.
func (m MetaGenerations) PutGenerations(ctx context.Context, gens []Generation) error {
	return m.Store.Update(ctx, func(tx meta.Tx) error {
		for _, g := range gens {
			b, err := json.Marshal(g)
			if err != nil {
				return err
			}
			if err := tx.PutDoc(ctx, generationKind, generationKey(g.Account, g.Number), b); err != nil {
				return err
			}
		}
		return nil
	})
}

// DeleteAccount implements GenerationStore.
func (m MetaGenerations) DeleteAccount(ctx context.Context, account string) error {
	return m.Store.Update(ctx, func(tx meta.Tx) error {
		docs, err := tx.Docs(ctx, generationKind, account+"/")
		if err != nil {
			return err
		}
		for _, d := range docs {
			if err := tx.DeleteDoc(ctx, generationKind, d.Key); err != nil {
				return err
			}
		}
		return nil
	})
}

// Accounts implements GenerationStore.
func (m MetaGenerations) Accounts(ctx context.Context) ([]string, error) {
	var out []string
	err := m.Store.View(ctx, func(tx meta.Tx) error {
		docs, err := tx.Docs(ctx, generationKind, "")
		if err != nil {
			return err
		}
		seen := map[string]bool{}
		for _, d := range docs {
			acct := d.Key[:strings.LastIndexByte(d.Key, '/')]
			if !seen[acct] {
				seen[acct] = true
				out = append(out, acct)
			}
		}
		return nil
	})
	return out, err
}
