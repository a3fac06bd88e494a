package identity

import (
	"context"
	"crypto/rsa"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	tenantA   = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	tenantB   = "0b5c6f1e-3d4a-4c2b-9e8f-1a2b3c4d5e6f"
	spOID     = "11111111-1111-1111-1111-111111111111"
	spClient  = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa"
	miOID     = "22222222-2222-2222-2222-222222222222"
	miClient  = "bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb"
	miRes     = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.OperationalInsights/clusters/c"
	spBOID    = "33333333-3333-3333-3333-333333333333"
	spBClient = "cccccccc-cccc-cccc-cccc-cccccccccccc"
	armAud    = "https://management.azure.com"
	vaultAud  = "https://vault.azure.net"
	authority = "https://login.kustodian.test/"
)

// testKeys are generated once: RSA key generation is the slow part.
var testKeys = sync.OnceValue(func() [2]*rsa.PrivateKey {
	var ks [2]*rsa.PrivateKey
	for i := range ks {
		k, err := NewSigningKey()
		if err != nil {
			panic(err)
		}
		ks[i] = k
	}
	return ks
})

// fakeDir is an in-memory Directory.
type fakeDir struct {
	mu         sync.Mutex
	tenants    map[string]*Tenant
	principals map[string]*Principal // by object id
	fail       error                 // returned by every lookup when set
}

func (d *fakeDir) Tenant(_ context.Context, id string) (*Tenant, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fail != nil {
		return nil, d.fail
	}
	t, ok := d.tenants[id]
	if !ok {
		return nil, fmt.Errorf("tenant %s: %w", id, ErrNotFound)
	}
	return t, nil
}

func (d *fakeDir) PrincipalByClientID(_ context.Context, tenantID, clientID string) (*Principal, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fail != nil {
		return nil, d.fail
	}
	for _, p := range d.principals {
		if p.TenantID == tenantID && strings.EqualFold(p.ClientID, clientID) {
			return p, nil
		}
	}
	return nil, fmt.Errorf("client %s: %w", clientID, ErrNotFound)
}

func (d *fakeDir) PrincipalByObjectID(_ context.Context, tenantID, objectID string) (*Principal, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fail != nil {
		return nil, d.fail
	}
	p, ok := d.principals[objectID]
	if !ok || p.TenantID != tenantID {
		return nil, fmt.Errorf("principal %s: %w", objectID, ErrNotFound)
	}
	return p, nil
}

func (d *fakeDir) delete(objectID string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.principals, objectID)
}

// clock is a settable fake clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fixture is a service over a directory of two tenants: A with a service
// principal and a managed identity, B with a service principal.
type fixture struct {
	dir    *fakeDir
	clock  *clock
	svc    *Service
	secret string // the service principal's secret in tenant A
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	return newFixtureAt(t, authority)
}

// newTLSFixture is a fixture whose service is served by a TLS test server,
// which is its authority host.
func newTLSFixture(t *testing.T) (*fixture, *httptest.Server) {
	t.Helper()
	var h http.Handler
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	f := newFixtureAt(t, srv.URL+"/")
	h = f.svc.Handler()
	return f, srv
}

func newFixtureAt(t *testing.T, authorityHost string) *fixture {
	t.Helper()
	keys := testKeys()
	secret, hash := NewSecret()
	_, hashB := NewSecret()
	dir := &fakeDir{
		tenants: map[string]*Tenant{
			tenantA: {ID: tenantA, SigningKey: keys[0]},
			tenantB: {ID: tenantB, SigningKey: keys[1]},
		},
		principals: map[string]*Principal{
			spOID: {ObjectID: spOID, TenantID: tenantA, ClientID: spClient, DisplayName: "deployer",
				Kind: KindServicePrincipal, SecretHash: hash},
			miOID: {ObjectID: miOID, TenantID: tenantA, ClientID: miClient, DisplayName: "c",
				Kind: KindManagedIdentity, ResourceID: miRes},
			spBOID: {ObjectID: spBOID, TenantID: tenantB, ClientID: spBClient, DisplayName: "other",
				Kind: KindServicePrincipal, SecretHash: hashB},
		},
	}
	clk := &clock{t: time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)}
	svc := New(dir, Options{
		AuthorityHost: authorityHost,
		AudienceAllowed: func(aud string) bool {
			return SameAudience(aud, armAud) || SameAudience(aud, "https://management.core.windows.net/") ||
				SameAudience(aud, vaultAud)
		},
		Now:        clk.Now,
		ADFSTenant: tenantA,
	})
	return &fixture{dir: dir, clock: clk, svc: svc, secret: secret}
}

func (f *fixture) principal(objectID string) *Principal {
	return f.dir.principals[objectID]
}
