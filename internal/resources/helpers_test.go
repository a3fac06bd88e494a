package resources

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kustodian/kustodian/internal/arm"
	"github.com/kustodian/kustodian/internal/meta"
)

// Fixtures: two tenants, a subscription in each, a service principal in
// each, and a caller in each.
const (
	tenantA    = "11111111-1111-1111-1111-111111111111"
	tenantB    = "22222222-2222-2222-2222-222222222222"
	subA       = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa"
	subB       = "bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb"
	subUnknown = "cccccccc-cccc-cccc-cccc-cccccccccccc"
	principalA = "a1a1a1a1-a1a1-a1a1-a1a1-a1a1a1a1a1a1"
	principalB = "b1b1b1b1-b1b1-b1b1-b1b1-b1b1b1b1b1b1"
	callerA    = "c1c1c1c1-c1c1-c1c1-c1c1-c1c1c1c1c1c1"
	callerB    = "c2c2c2c2-c2c2-c2c2-c2c2-c2c2c2c2c2c2"

	// Bearer tokens the test authenticator accepts.
	tokenA = "token-tenant-a"
	tokenB = "token-tenant-b"

	ownerRole       = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
	contributorRole = "b24988ac-6180-42a0-ab88-20f7382dd24c"
	readerRole      = "acdd72a7-3d48-4b3d-a1ac-b75ea7cdf3d4"
)

var t0 = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

// fakeClock is a clock that tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fakeAuthz allows everything except what deny matches, and records every
// check as "action scope".
type fakeAuthz struct {
	mu    sync.Mutex
	deny  func(action, scope string) bool
	calls []string
}

func (f *fakeAuthz) authorize(_ context.Context, caller arm.Caller, action, scope string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, action+" "+scope)
	if f.deny != nil && f.deny(action, scope) {
		return arm.Errorf(http.StatusForbidden, "AuthorizationFailed",
			"The client '%s' does not have authorization to perform action '%s' over scope '%s'.", caller.ObjectID, action, scope)
	}
	return nil
}

func (f *fakeAuthz) setDeny(deny func(action, scope string) bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deny = deny
	f.calls = nil
}

func (f *fakeAuthz) called(call string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.calls {
		if strings.EqualFold(c, call) {
			return true
		}
	}
	return false
}

// env is a provider behind a real router, over a real SQLite store.
type env struct {
	t     *testing.T
	store *meta.SQLite
	clock *fakeClock
	authz *fakeAuthz
	srv   *httptest.Server
}

// authenticate accepts the test tokens.
func authenticate(r *http.Request) (arm.Caller, error) {
	switch strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ") {
	case tokenA:
		return arm.Caller{TenantID: tenantA, ObjectID: callerA}, nil
	case tokenB:
		return arm.Caller{TenantID: tenantB, ObjectID: callerB}, nil
	}
	return arm.Caller{}, arm.Errorf(http.StatusUnauthorized, "AuthenticationFailed", "Authentication failed.")
}

// newEnv starts a provider with the given feature approval mode.
func newEnv(t *testing.T, approval string, tls bool) *env {
	t.Helper()
	ctx := context.Background()
	store, err := meta.OpenSQLite(ctx, filepath.Join(t.TempDir(), "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	e := &env{t: t, store: store, clock: &fakeClock{t: t0}, authz: &fakeAuthz{}}
	err = store.Update(ctx, func(tx meta.Tx) error {
		for _, s := range []*meta.Subscription{
			{ID: subA, TenantID: tenantA, DisplayName: "Subscription A", MaxClusterCapacity: 2000, CreatedAt: t0},
			{ID: subB, TenantID: tenantB, DisplayName: "Subscription B", MaxClusterCapacity: 2000, CreatedAt: t0},
		} {
			if err := tx.PutSubscription(ctx, s); err != nil {
				return err
			}
		}
		for _, p := range []*meta.Principal{
			{ObjectID: principalA, TenantID: tenantA, ClientID: principalA, DisplayName: "app-a", Kind: "ServicePrincipal", CreatedAt: t0},
			{ObjectID: principalB, TenantID: tenantB, ClientID: principalB, DisplayName: "app-b", Kind: "ServicePrincipal", CreatedAt: t0},
		} {
			if err := tx.PutPrincipal(ctx, p); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	p := New(Deps{Store: store, Now: e.clock.Now, Authorize: e.authz.authorize, FeatureApproval: approval})
	rt := arm.NewRouter(authenticate, nil)
	p.Register(rt)
	if tls {
		e.srv = httptest.NewTLSServer(rt)
	} else {
		e.srv = httptest.NewServer(rt)
	}
	t.Cleanup(e.srv.Close)
	return e
}

// response is a decoded response.
type response struct {
	Status int
	Raw    string
	Body   map[string]any
}

// Code returns the ARM error code of the response, or "".
func (r response) Code() string {
	if e, ok := r.Body["error"].(map[string]any); ok {
		s, _ := e["code"].(string)
		return s
	}
	return ""
}

// Message returns the ARM error message of the response, or "".
func (r response) Message() string {
	if e, ok := r.Body["error"].(map[string]any); ok {
		s, _ := e["message"].(string)
		return s
	}
	return ""
}

// Get returns the value at a dotted path of the body ("properties.state");
// a number in the path indexes an array.
func (r response) Get(path string) any {
	var v any = r.Body
	for _, part := range strings.Split(path, ".") {
		switch c := v.(type) {
		case map[string]any:
			v = c[part]
		case []any:
			var i int
			if _, err := fmt.Sscan(part, &i); err != nil || i >= len(c) {
				return nil
			}
			v = c[i]
		default:
			return nil
		}
	}
	return v
}

// Str is Get for strings.
func (r response) Str(path string) string {
	s, _ := r.Get(path).(string)
	return s
}

// Len returns the length of the array at path.
func (r response) Len(path string) int {
	a, _ := r.Get(path).([]any)
	return len(a)
}

// do sends a request as the caller of tenant A.
func (e *env) do(method, path, body string) response {
	return e.doAs(tokenA, method, path, body)
}

// doAs sends a request with a bearer token.
func (e *env) doAs(token, method, path, body string) response {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	out := response{Status: resp.StatusCode, Raw: string(raw)}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out.Body); err != nil {
			e.t.Fatalf("%s %s: response is not a JSON object: %v: %s", method, path, err, raw)
		}
	}
	return out
}

// putResource stores a live resource of another provider.
func (e *env) putResource(id string) {
	e.t.Helper()
	rid, err := arm.ParseResourceID(id)
	if err != nil {
		e.t.Fatal(err)
	}
	ctx := context.Background()
	err = e.store.Update(ctx, func(tx meta.Tx) error {
		return tx.PutResource(ctx, &meta.Resource{
			ID: id, Type: rid.ResourceType(), SubscriptionID: rid.SubscriptionID, ResourceGroup: rid.ResourceGroup,
			Name: rid.Name(), Location: "eastus", Body: []byte(`{}`), CreatedAt: t0, UpdatedAt: t0,
		})
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

// deleteResource removes a resource of another provider.
func (e *env) deleteResource(id string) {
	e.t.Helper()
	ctx := context.Background()
	if err := e.store.Update(ctx, func(tx meta.Tx) error { return tx.DeleteResource(ctx, id) }); err != nil {
		e.t.Fatal(err)
	}
}

// step is one request of a table-driven scenario and what it must answer.
type step struct {
	name       string
	token      string // tokenA when empty
	method     string
	path       string
	body       string
	wantStatus int
	wantCode   string            // ARM error code, when an error is expected
	want       map[string]string // dotted path -> expected string value
	wantLen    map[string]int    // dotted path -> expected array length
	wantInMsg  string            // substring of the error message
	check      func(t *testing.T, r response)
}

// run runs the steps in order, each as a subtest.
func (e *env) run(steps []step) {
	e.t.Helper()
	for _, s := range steps {
		e.t.Run(s.name, func(t *testing.T) {
			token := s.token
			if token == "" {
				token = tokenA
			}
			r := e.doAs(token, s.method, s.path, s.body)
			if r.Status != s.wantStatus {
				t.Fatalf("%s %s: status %d, want %d: %s", s.method, s.path, r.Status, s.wantStatus, r.Raw)
			}
			if r.Code() != s.wantCode {
				t.Errorf("error code %q, want %q: %s", r.Code(), s.wantCode, r.Raw)
			}
			if s.wantInMsg != "" && !strings.Contains(r.Message(), s.wantInMsg) {
				t.Errorf("message %q does not contain %q", r.Message(), s.wantInMsg)
			}
			for path, want := range s.want {
				if got := r.Str(path); got != want {
					t.Errorf("%s = %q, want %q (body %s)", path, got, want, r.Raw)
				}
			}
			for path, want := range s.wantLen {
				if got := r.Len(path); got != want {
					t.Errorf("len(%s) = %d, want %d (body %s)", path, got, want, r.Raw)
				}
			}
			if s.check != nil {
				s.check(t, r)
			}
		})
	}
}
