package keyvault

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kustodian/kustodian/internal/identity"
	"github.com/kustodian/kustodian/internal/meta"
	"github.com/kustodian/kustodian/internal/seal"
)

// Test identities.
const (
	tenantA  = "11111111-1111-1111-1111-111111111111"
	tenantB  = "22222222-2222-2222-2222-222222222222"
	adminOID = "aaaaaaaa-0000-0000-0000-000000000001"
	userOID  = "bbbbbbbb-0000-0000-0000-000000000002"
	testHost = "kv1.vault.localhost:8443"
	testAud  = "https://vault.localhost:8443"
)

// token returns a fake bearer token (see env.verify).
func token(tenant, oid string) string { return "tok:" + tenant + ":" + oid }

var adminTok = token(tenantA, adminOID)

// keyPool hands out copies of a few pre-generated RSA keys per size, so
// tests do not spend their time in rsa.GenerateKey.
var keyPool = struct {
	sync.Mutex
	keys map[int][]*rsa.PrivateKey
	next map[int]int
}{keys: map[int][]*rsa.PrivateKey{}, next: map[int]int{}}

// poolKey returns a fresh copy of a pooled key of bits bits; consecutive
// calls return different keys.
func poolKey(bits int) (*rsa.PrivateKey, error) {
	keyPool.Lock()
	defer keyPool.Unlock()
	n := map[int]int{2048: 3, 3072: 2}[bits]
	if n == 0 {
		n = 1
	}
	if len(keyPool.keys[bits]) == 0 {
		for range n {
			k, err := rsa.GenerateKey(rand.Reader, bits)
			if err != nil {
				return nil, err
			}
			keyPool.keys[bits] = append(keyPool.keys[bits], k)
		}
	}
	i := keyPool.next[bits] % len(keyPool.keys[bits])
	keyPool.next[bits]++
	// A deep copy: the backend zeroes what it is given.
	return x509.ParsePKCS1PrivateKey(x509.MarshalPKCS1PrivateKey(keyPool.keys[bits][i]))
}

// testSealer returns a sealer with a fixed master key.
func testSealer(t testing.TB) *seal.Sealer {
	t.Helper()
	s, err := seal.New(bytes.Repeat([]byte{7}, seal.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// newTestSoftware returns a software backend drawing keys from the pool.
func newTestSoftware(s *seal.Sealer) *softwareBackend {
	b := NewSoftwareBackend(s).(*softwareBackend)
	b.generate = poolKey
	return b
}

// fakeHSM is an HSM backend over the software backend that records what
// it destroys and cannot import.
type fakeHSM struct {
	inner     *softwareBackend
	mu        sync.Mutex
	destroyed int
}

func (h *fakeHSM) Name() string { return "pkcs11" }
func (h *fakeHSM) HSM() bool    { return true }
func (h *fakeHSM) GenerateRSA(ctx context.Context, bits int, label string) (*rsa.PublicKey, []byte, error) {
	return h.inner.GenerateRSA(ctx, bits, label)
}
func (h *fakeHSM) Encrypt(ctx context.Context, ref []byte, pub *rsa.PublicKey, alg string, p []byte) ([]byte, error) {
	return h.inner.Encrypt(ctx, ref, pub, alg, p)
}
func (h *fakeHSM) Decrypt(ctx context.Context, ref []byte, alg string, c []byte) ([]byte, error) {
	return h.inner.Decrypt(ctx, ref, alg, c)
}
func (h *fakeHSM) Sign(ctx context.Context, ref []byte, alg string, d []byte) ([]byte, error) {
	return h.inner.Sign(ctx, ref, alg, d)
}
func (h *fakeHSM) Destroy(ctx context.Context, ref []byte) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.destroyed++
	return nil
}

// fakeVaults is an in-memory Vaults.
type fakeVaults struct {
	mu     sync.Mutex
	vaults map[string]*VaultConfig
}

func (f *fakeVaults) Vault(ctx context.Context, name string) (*VaultConfig, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.vaults[strings.ToLower(name)]
	if !ok {
		return nil, ErrVaultNotFound
	}
	c := *v
	return &c, nil
}

func (f *fakeVaults) put(v *VaultConfig) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.vaults[strings.ToLower(v.Name)] = v
}

// update changes a vault in place.
func (f *fakeVaults) update(name string, fn func(*VaultConfig)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f.vaults[name])
}

// clock is a settable clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// env is a data plane over a real SQLite store with in-memory vaults.
type env struct {
	t        testing.TB
	svc      *Service
	vaults   *fakeVaults
	clock    *clock
	hsm      *fakeHSM
	software *softwareBackend
	reg      *prometheus.Registry
	audience string
}

// envOptions adjusts an env.
type envOptions struct {
	hsm         bool
	softwareHSM bool
}

// newEnv returns an env with vault kv1 (tenant A, premium, soft delete,
// purge protection) whose access policies give adminOID every permission.
func newEnv(t testing.TB, eo envOptions) *env {
	t.Helper()
	ctx := context.Background()
	store, err := meta.OpenSQLite(ctx, filepath.Join(t.TempDir(), "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	sealer := testSealer(t)
	e := &env{
		t:        t,
		vaults:   &fakeVaults{vaults: map[string]*VaultConfig{}},
		clock:    &clock{now: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)},
		software: newTestSoftware(sealer),
		reg:      prometheus.NewRegistry(),
		audience: testAud,
	}
	e.vaults.put(&VaultConfig{Name: "kv1", TenantID: tenantA, SKU: "premium", SoftDeleteEnabled: true,
		SoftDeleteRetentionDays: 90, PurgeProtection: true, Location: "westeurope",
		AccessPolicies: []AccessPolicy{{TenantID: tenantA, ObjectID: adminOID, Keys: []string{"all"}}}})
	o := Options{
		Store: store, Vaults: e.vaults, Software: e.software, SoftwareHSM: eo.softwareHSM,
		VerifyToken: e.verify, AuthorityHost: "https://127.0.0.1:8443", DNSSuffix: "vault.localhost",
		Now: e.clock.Now, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Registerer: e.reg,
	}
	if eo.hsm {
		e.hsm = &fakeHSM{inner: e.software}
		o.HSM = e.hsm
	}
	e.svc, err = New(o)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// verify is the fake VerifyToken: "tok:{tenant}:{oid}[:{appid}]" is a
// token for the env's audience, valid if the service accepts that.
func (e *env) verify(ctx context.Context, raw string, audiences ...string) (*identity.Claims, error) {
	parts := strings.Split(raw, ":")
	if len(parts) < 3 || len(parts) > 4 || parts[0] != "tok" {
		return nil, identity.ErrMalformedToken
	}
	aud := e.audience
	if !slices.Contains(audiences, aud) {
		return nil, identity.ErrAudienceMismatch
	}
	appID := "app-" + parts[2]
	if len(parts) == 4 {
		appID = parts[3]
	}
	return &identity.Claims{TenantID: parts[1], ObjectID: parts[2], AppID: appID,
		Issuer: "https://sts.example/" + parts[1] + "/", Audience: aud}, nil
}

// resp is a recorded answer.
type resp struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the body into v.
func (r resp) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decoding %s: %v", r.body, err)
	}
}

// errCode returns the error code, inner code and message of an error body.
func (r resp) err(t testing.TB) (code, inner, msg string) {
	t.Helper()
	var b errorBody
	r.json(t, &b)
	if b.Error.InnerError != nil {
		inner = b.Error.InnerError.Code
	}
	return b.Error.Code, inner, b.Error.Message
}

// do sends a request to the handler with Host testHost. api-version 7.6
// is added unless the path has one; body is JSON-encoded unless it is a
// string or nil.
func (e *env) do(method, path, tok string, body any) resp {
	return e.doHost(testHost, method, path, tok, body)
}

func (e *env) doHost(host, method, path, tok string, body any) resp {
	e.t.Helper()
	if !strings.Contains(path, "api-version=") {
		if strings.Contains(path, "?") {
			path += "&api-version=7.6"
		} else {
			path += "?api-version=7.6"
		}
	}
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req := httptest.NewRequest(method, "https://"+host+path, rd)
	req.Host = host
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	rec := httptest.NewRecorder()
	e.svc.Handler().ServeHTTP(rec, req)
	return resp{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
}

// must checks the status of a response.
func (e *env) must(r resp, status int) resp {
	e.t.Helper()
	if r.status != status {
		e.t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	return r
}

// wireBundle is a key bundle as a client decodes it.
type wireBundle struct {
	Key struct {
		KID    string   `json:"kid"`
		Kty    string   `json:"kty"`
		KeyOps []string `json:"key_ops"`
		N      string   `json:"n"`
		E      string   `json:"e"`
	} `json:"key"`
	Attributes struct {
		Enabled         bool   `json:"enabled"`
		NBF             *int64 `json:"nbf"`
		Exp             *int64 `json:"exp"`
		Created         int64  `json:"created"`
		Updated         int64  `json:"updated"`
		RecoveryLevel   string `json:"recoveryLevel"`
		RecoverableDays *int   `json:"recoverableDays"`
	} `json:"attributes"`
	Tags               map[string]string `json:"tags"`
	RecoveryID         string            `json:"recoveryId"`
	DeletedDate        *int64            `json:"deletedDate"`
	ScheduledPurgeDate *int64            `json:"scheduledPurgeDate"`
}

// version returns the version of the bundle's kid.
func (b wireBundle) version() string {
	return b.Key.KID[strings.LastIndex(b.Key.KID, "/")+1:]
}

// create creates an RSA key with the admin token and returns its bundle.
func (e *env) create(name string, body map[string]any) wireBundle {
	e.t.Helper()
	if body == nil {
		body = map[string]any{}
	}
	if _, ok := body["kty"]; !ok {
		body["kty"] = "RSA"
	}
	var b wireBundle
	e.must(e.do("POST", "/keys/"+name+"/create", adminTok, body), 200).json(e.t, &b)
	return b
}

// setPolicies replaces kv1's access policies.
func (e *env) setPolicies(ps ...AccessPolicy) {
	e.vaults.update("kv1", func(v *VaultConfig) { v.AccessPolicies = ps })
}
