package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/kustodian/kustodian/internal/audit"
	"github.com/kustodian/kustodian/internal/kek"
	"github.com/kustodian/kustodian/internal/meta"
	"github.com/kustodian/kustodian/internal/monitor"
)

// Storage accounts: the shared account under the platform key, and one
// account per cluster ("cluster/{clusterId}").
const sharedAccount = "shared"

func clusterAccount(clusterID string) string { return "cluster/" + strings.ToLower(clusterID) }

// keys wires the AEK manager to the control plane: cluster key events
// become customer authorities, and the manager's audit events land in the
// trail.
type keys struct {
	m      *kek.Manager
	store  meta.Store
	vaults *vaultClients
	log    interface {
		Error(msg string, args ...any)
	}
	mu sync.Mutex // serialises applying key configurations
}

func newKeys(s *Server, vaults *vaultClients) *keys {
	k := &keys{store: s.state.Store, vaults: vaults, log: s.cfg.Log}
	k.m = kek.NewManager(kek.Options{
		Store:           kek.MetaGenerations{Store: s.state.Store},
		Platform:        kek.PlatformAuthority{Sealer: s.state.Sealer},
		RefreshInterval: s.cfg.KeyRefreshInterval,
		OutageGrace:     s.cfg.KeyOutageGrace,
		Log:             s.cfg.Log,
		Registerer:      s.registry,
		Record: func(e audit.Event) {
			// The manager calls this with an account lock held: record in a
			// fresh transaction, never inside the caller's.
			if err := s.state.Store.Update(context.Background(), func(tx meta.Tx) error { return audit.Record(context.Background(), tx, e) }); err != nil {
				s.cfg.Log.Error("audit record failed", "kind", e.Kind, "err", err)
			}
		},
	})
	return k
}

// authority returns the customer authority of a cluster's key: its
// managed identity reaching the vault through the Key Vault protocol.
func (k *keys) authority(tenantID, principalID string, kv *monitor.KeyVaultProperties) kek.Authority {
	return kek.CustomerAuthority{
		Client: k.vaults.get(tenantID, principalID),
		Key:    kek.KeyRef{VaultURI: kv.KeyVaultURI, Name: kv.KeyName, Version: kv.KeyVersion},
	}
}

// apply brings a cluster's account in line with its key configuration.
func (k *keys) apply(ctx context.Context, doc *monitor.ClusterDoc) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	account := clusterAccount(doc.ClusterID)
	if err := k.m.EnsurePlatform(ctx, account); err != nil {
		return err
	}
	if doc.KeyVault == nil || doc.IdentityType != "SystemAssigned" {
		return k.m.SetCustomerKey(ctx, account, nil)
	}
	return k.m.SetCustomerKey(ctx, account, k.authority(doc.TenantID, doc.PrincipalID, doc.KeyVault))
}

// onKeyEvent applies a committed key change of a cluster.
func (k *keys) onKeyEvent(e monitor.KeyEvent) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	doc, err := k.cluster(ctx, e.ResourceID)
	if err != nil {
		k.log.Error("key event for an unreadable cluster", "cluster", e.ResourceID, "err", err)
		return
	}
	if err := k.apply(ctx, doc); err != nil && !errors.Is(err, kek.ErrRevoked) && !errors.Is(err, kek.ErrTransient) {
		k.log.Error("applying the cluster's key failed", "cluster", e.ResourceID, "kind", e.Kind, "err", err)
	}
}

func (k *keys) cluster(ctx context.Context, resourceID string) (*monitor.ClusterDoc, error) {
	var doc monitor.ClusterDoc
	err := k.store.View(ctx, func(tx meta.Tx) error {
		res, err := tx.Resource(ctx, resourceID)
		if err != nil {
			return err
		}
		return json.Unmarshal(res.Body, &doc)
	})
	return &doc, err
}

// loadAll applies every live cluster's key configuration (at start) and
// makes sure the shared account exists.
func (k *keys) loadAll(ctx context.Context) error {
	if err := k.m.EnsurePlatform(ctx, sharedAccount); err != nil {
		return fmt.Errorf("shared storage account: %w", err)
	}
	var docs []*monitor.ClusterDoc
	err := k.store.View(ctx, func(tx meta.Tx) error {
		list, err := tx.Resources(ctx, meta.ResourceQuery{Type: monitor.TypeCluster})
		if err != nil {
			return err
		}
		for _, res := range list {
			var d monitor.ClusterDoc
			if err := json.Unmarshal(res.Body, &d); err != nil {
				return err
			}
			docs = append(docs, &d)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, d := range docs {
		// A vault that refuses or is down at start is the state machine's
		// business, not a reason not to start.
		if err := k.apply(ctx, d); err != nil && !errors.Is(err, kek.ErrRevoked) && !errors.Is(err, kek.ErrTransient) {
			return fmt.Errorf("cluster %s: %w", d.ClusterID, err)
		}
	}
	return nil
}

// accounts lists the storage accounts that have keys.
func (k *keys) accounts(ctx context.Context) ([]string, error) {
	return kek.MetaGenerations{Store: k.store}.Accounts(ctx)
}
