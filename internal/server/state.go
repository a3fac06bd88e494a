package server

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/subtle"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/kustodian/kustodian/internal/arm"
	"github.com/kustodian/kustodian/internal/identity"
	"github.com/kustodian/kustodian/internal/meta"
	"github.com/kustodian/kustodian/internal/seal"
)

// State is an opened data directory: its metadata store and master key.
// Admin commands open it while the server runs (SQLite serialises writers).
type State struct {
	DataDir string
	Store   meta.Store
	Sealer  *seal.Sealer
}

// OpenState opens (creating if needed) the data directory.
func OpenState(ctx context.Context, dataDir, masterKeyFile string) (*State, error) {
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	if masterKeyFile == "" {
		masterKeyFile = filepath.Join(abs, "master.key")
	}
	sealer, err := seal.LoadOrCreateKeyFile(masterKeyFile)
	if err != nil {
		return nil, err
	}
	store, err := meta.OpenSQLite(ctx, filepath.Join(abs, "meta.db"))
	if err != nil {
		sealer.Close()
		return nil, err
	}
	return &State{DataDir: abs, Store: store, Sealer: sealer}, nil
}

// Close closes the store and forgets the master key.
func (st *State) Close() error {
	err := st.Store.Close()
	st.Sealer.Close()
	return err
}

// Settings keys of the bootstrap identities.
const (
	settingTenant       = "bootstrap/tenantId"
	settingSubscription = "bootstrap/subscriptionId"
	settingPrincipal    = "bootstrap/objectId"
)

// Bootstrap is the first tenant, subscription and operator principal.
type Bootstrap struct {
	TenantID       string
	SubscriptionID string
	ObjectID       string
	ClientID       string
}

func signingKeyAAD(tenantID string) []byte {
	return []byte("tenant/" + strings.ToLower(tenantID) + "/signing-key")
}

// EnsureBootstrap creates, on first start, a tenant with its signing key, a
// subscription of that tenant, and a service principal that is Owner of the
// subscription; later calls return what exists.
func (st *State) EnsureBootstrap(ctx context.Context, now time.Time) (*Bootstrap, error) {
	var b Bootstrap
	err := st.Store.Update(ctx, func(tx meta.Tx) error {
		if v, err := tx.Setting(ctx, settingTenant); err == nil {
			b.TenantID = string(v)
			sub, err := tx.Setting(ctx, settingSubscription)
			if err != nil {
				return err
			}
			oid, err := tx.Setting(ctx, settingPrincipal)
			if err != nil {
				return err
			}
			p, err := tx.Principal(ctx, string(oid))
			if err != nil {
				return err
			}
			b.SubscriptionID, b.ObjectID, b.ClientID = string(sub), p.ObjectID, p.ClientID
			return nil
		} else if !errors.Is(err, meta.ErrNotFound) {
			return err
		}
		b = Bootstrap{TenantID: uuid.NewString(), SubscriptionID: uuid.NewString(), ObjectID: uuid.NewString(), ClientID: uuid.NewString()}
		key, err := identity.NewSigningKey()
		if err != nil {
			return err
		}
		sealed, err := st.Sealer.Seal(x509.MarshalPKCS1PrivateKey(key), signingKeyAAD(b.TenantID))
		if err != nil {
			return err
		}
		if err := tx.PutTenant(ctx, &meta.Tenant{ID: b.TenantID, SigningKey: sealed, CreatedAt: now}); err != nil {
			return err
		}
		if err := tx.PutSubscription(ctx, &meta.Subscription{ID: b.SubscriptionID, TenantID: b.TenantID,
			DisplayName: "Kustodian", MaxClusterCapacity: 2000, CreatedAt: now}); err != nil {
			return err
		}
		// The secret is set by EnsureBootstrapSecret; until then no secret works.
		if err := tx.PutPrincipal(ctx, &meta.Principal{ObjectID: b.ObjectID, TenantID: b.TenantID, ClientID: b.ClientID,
			DisplayName: "kustodian-bootstrap", Kind: identity.KindServicePrincipal, CreatedAt: now}); err != nil {
			return err
		}
		name := uuid.NewString()
		scope := "/subscriptions/" + b.SubscriptionID
		if err := tx.PutRoleAssignment(ctx, &meta.RoleAssignment{
			ID: scope + "/providers/Microsoft.Authorization/roleAssignments/" + name, Name: name, Scope: scope,
			RoleDefinitionID: scope + "/providers/Microsoft.Authorization/roleDefinitions/" + identity.OwnerRoleID,
			PrincipalID:      b.ObjectID, PrincipalType: "ServicePrincipal", CreatedAt: now,
		}); err != nil {
			return err
		}
		for k, v := range map[string]string{settingTenant: b.TenantID, settingSubscription: b.SubscriptionID, settingPrincipal: b.ObjectID} {
			if err := tx.PutSetting(ctx, k, []byte(v)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	return &b, nil
}

// BootstrapFile is the content of <data-dir>/bootstrap.json.
type BootstrapFile struct {
	TenantID                string `json:"tenantId"`
	SubscriptionID          string `json:"subscriptionId"`
	ClientID                string `json:"clientId"`
	ClientSecret            string `json:"clientSecret"`
	Endpoint                string `json:"endpoint"`
	AuthorityHost           string `json:"authorityHost"`
	ResourceManagerAudience string `json:"resourceManagerAudience"`
	QueryAudience           string `json:"queryAudience"`
	CACertFile              string `json:"caCertFile"`
}

// BootstrapPath returns the path of bootstrap.json in a data directory.
func BootstrapPath(dataDir string) string { return filepath.Join(dataDir, "bootstrap.json") }

// bootstrapSecret returns the bootstrap principal's client secret: the one
// in an existing bootstrap.json if it still matches the stored hash, else a
// new one (whose hash replaces the stored one).
func (st *State) bootstrapSecret(ctx context.Context, b *Bootstrap) (string, error) {
	if data, err := os.ReadFile(BootstrapPath(st.DataDir)); err == nil {
		var f BootstrapFile
		if json.Unmarshal(data, &f) == nil && f.ClientSecret != "" {
			var ok bool
			err := st.Store.View(ctx, func(tx meta.Tx) error {
				p, err := tx.Principal(ctx, b.ObjectID)
				if err != nil {
					return err
				}
				ok = len(p.SecretHash) > 0 && subtle.ConstantTimeCompare(p.SecretHash, identity.HashSecret(f.ClientSecret)) == 1
				return nil
			})
			if err != nil {
				return "", err
			}
			if ok {
				return f.ClientSecret, nil
			}
		}
	}
	secret, hash := identity.NewSecret()
	err := st.Store.Update(ctx, func(tx meta.Tx) error {
		p, err := tx.Principal(ctx, b.ObjectID)
		if err != nil {
			return err
		}
		p.SecretHash = hash
		return tx.PutPrincipal(ctx, p)
	})
	return secret, err
}

// writeFileAtomic writes data to path with mode perm through a temporary
// file, fsync and rename.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// CreatePrincipal creates a service principal in the bootstrap tenant and
// returns its client id, secret and object id. The secret is not stored.
func (st *State) CreatePrincipal(ctx context.Context, name string, now time.Time) (clientID, secret, objectID string, err error) {
	if strings.TrimSpace(name) == "" {
		return "", "", "", errors.New("a principal needs a name")
	}
	secret, hash := identity.NewSecret()
	clientID, objectID = uuid.NewString(), uuid.NewString()
	err = st.Store.Update(ctx, func(tx meta.Tx) error {
		tenant, err := tx.Setting(ctx, settingTenant)
		if errors.Is(err, meta.ErrNotFound) {
			return fmt.Errorf("the data directory %s has not been initialised: start the server once first", st.DataDir)
		} else if err != nil {
			return err
		}
		return tx.PutPrincipal(ctx, &meta.Principal{ObjectID: objectID, TenantID: string(tenant), ClientID: clientID,
			DisplayName: name, Kind: identity.KindServicePrincipal, SecretHash: hash, CreatedAt: now})
	})
	if err != nil {
		return "", "", "", err
	}
	return clientID, secret, objectID, nil
}

// directory adapts the metadata store to identity.Directory, caching the
// unsealed signing keys.
type directory struct {
	store  meta.Store
	sealer *seal.Sealer
	mu     sync.Mutex
	keys   map[string]*rsa.PrivateKey
}

func (d *directory) Tenant(ctx context.Context, tenantID string) (*identity.Tenant, error) {
	id := strings.ToLower(tenantID)
	d.mu.Lock()
	key := d.keys[id]
	d.mu.Unlock()
	if key != nil {
		return &identity.Tenant{ID: id, SigningKey: key}, nil
	}
	var sealed []byte
	err := d.store.View(ctx, func(tx meta.Tx) error {
		t, err := tx.Tenant(ctx, id)
		if err != nil {
			return err
		}
		sealed = t.SigningKey
		return nil
	})
	if errors.Is(err, meta.ErrNotFound) {
		return nil, fmt.Errorf("tenant %s: %w", tenantID, identity.ErrNotFound)
	} else if err != nil {
		return nil, err
	}
	der, err := d.sealer.Open(sealed, signingKeyAAD(id))
	if err != nil {
		return nil, fmt.Errorf("unseal signing key of tenant %s: %w", tenantID, err)
	}
	key, err = x509.ParsePKCS1PrivateKey(der)
	clear(der)
	if err != nil {
		return nil, fmt.Errorf("parse signing key of tenant %s: %w", tenantID, err)
	}
	d.mu.Lock()
	d.keys[id] = key
	d.mu.Unlock()
	return &identity.Tenant{ID: id, SigningKey: key}, nil
}

func toIdentityPrincipal(p *meta.Principal) *identity.Principal {
	return &identity.Principal{ObjectID: p.ObjectID, TenantID: p.TenantID, ClientID: p.ClientID, DisplayName: p.DisplayName,
		Kind: p.Kind, SecretHash: p.SecretHash, ResourceID: p.ResourceID}
}

func (d *directory) principal(ctx context.Context, tenantID string, get func(tx meta.Tx) (*meta.Principal, error)) (*identity.Principal, error) {
	var p *meta.Principal
	err := d.store.View(ctx, func(tx meta.Tx) error {
		var err error
		p, err = get(tx)
		return err
	})
	if errors.Is(err, meta.ErrNotFound) || (err == nil && !strings.EqualFold(p.TenantID, tenantID)) {
		return nil, fmt.Errorf("principal: %w", identity.ErrNotFound)
	} else if err != nil {
		return nil, err
	}
	return toIdentityPrincipal(p), nil
}

func (d *directory) PrincipalByClientID(ctx context.Context, tenantID, clientID string) (*identity.Principal, error) {
	return d.principal(ctx, tenantID, func(tx meta.Tx) (*meta.Principal, error) {
		return tx.PrincipalByClientID(ctx, tenantID, clientID)
	})
}

func (d *directory) PrincipalByObjectID(ctx context.Context, tenantID, objectID string) (*identity.Principal, error) {
	return d.principal(ctx, tenantID, func(tx meta.Tx) (*meta.Principal, error) {
		return tx.Principal(ctx, objectID)
	})
}

// assignments adapts the metadata store to identity.AssignmentSource.
type assignments struct{ store meta.Store }

func (a assignments) AssignmentsForPrincipal(ctx context.Context, principalID string) ([]identity.RoleAssignment, error) {
	var out []identity.RoleAssignment
	err := a.store.View(ctx, func(tx meta.Tx) error {
		list, err := tx.RoleAssignments(ctx, principalID, "")
		for _, ra := range list {
			out = append(out, identity.RoleAssignment{ID: ra.ID, Scope: ra.Scope, RoleDefinitionID: ra.RoleDefinitionID, PrincipalID: ra.PrincipalID})
		}
		return err
	})
	return out, err
}

// operations adapts the metadata store to arm.OperationStore.
type operations struct{ store meta.Store }

func (o operations) PutOperation(ctx context.Context, op *arm.Operation) error {
	body, err := json.Marshal(op)
	if err != nil {
		return err
	}
	return o.store.Update(ctx, func(tx meta.Tx) error { return tx.PutOperation(ctx, op.ID, body, op.StartTime) })
}

func (o operations) GetOperation(ctx context.Context, id string) (*arm.Operation, error) {
	var body []byte
	err := o.store.View(ctx, func(tx meta.Tx) error {
		var err error
		body, err = tx.Operation(ctx, id)
		return err
	})
	if errors.Is(err, meta.ErrNotFound) {
		return nil, arm.ErrOperationNotFound
	} else if err != nil {
		return nil, err
	}
	var op arm.Operation
	if err := json.NewDecoder(bytes.NewReader(body)).Decode(&op); err != nil {
		return nil, err
	}
	return &op, nil
}
