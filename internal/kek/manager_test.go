package kek

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/kustodian/kustodian/internal/audit"
	"github.com/kustodian/kustodian/internal/meta"
	"github.com/kustodian/kustodian/internal/seal"
)

// fakeVault is a customer authority over in-memory key versions. Wrapping
// is a reversible XOR with a per-version pad, enough to prove which version
// wrapped; the fake is about availability, not cryptography.
type fakeVault struct {
	mu        sync.Mutex
	versions  map[string]byte // version -> pad
	disabled  map[string]bool
	latest    string
	pinned    string // "" follows latest
	transient bool
	revoked   bool // access policy removed
	unwraps   int
}

func newFakeVault(versions ...string) *fakeVault {
	f := &fakeVault{versions: map[string]byte{}, disabled: map[string]bool{}}
	for i, v := range versions {
		f.versions[v] = byte(i + 1)
		f.latest = v
	}
	return f
}

func (f *fakeVault) id(v string) string { return "https://kv.vault.localhost/keys/cmk/" + v }

func (f *fakeVault) check(v string) error {
	switch {
	case f.transient:
		return &Error{Op: "unwrapKey", Class: ErrTransient, Err: errors.New("503")}
	case f.revoked, f.disabled[v]:
		return &Error{Op: "unwrapKey", Status: 403, Class: ErrRevoked}
	case f.versions[v] == 0:
		return &Error{Op: "unwrapKey", Status: 404, Class: ErrRevoked}
	}
	return nil
}

func (f *fakeVault) Kind() string     { return AuthorityCustomer }
func (f *fakeVault) Describe() string { return "https://kv.vault.localhost/keys/cmk" }

func (f *fakeVault) Current(ctx context.Context) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v := f.pinned
	if v == "" {
		v = f.latest
	}
	if f.transient {
		return "", &Error{Op: "get", Class: ErrTransient, Err: errors.New("503")}
	}
	if f.revoked {
		return "", &Error{Op: "get", Status: 403, Class: ErrRevoked}
	}
	return f.id(v), nil
}

func (f *fakeVault) version(keyID string) string { return keyID[len(f.id("")):] }

func (f *fakeVault) Wrap(ctx context.Context, keyID string, aek []byte) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v := f.version(keyID)
	if err := f.check(v); err != nil {
		return nil, err
	}
	out := append([]byte(v+":"), aek...)
	for i := len(v) + 1; i < len(out); i++ {
		out[i] ^= f.versions[v]
	}
	return out, nil
}

func (f *fakeVault) Unwrap(ctx context.Context, keyID string, w []byte) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.unwraps++
	v := f.version(keyID)
	if err := f.check(v); err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(w, []byte(v+":")) {
		return nil, &Error{Op: "unwrapKey", Status: 400, Class: ErrRevoked}
	}
	out := bytes.Clone(w[len(v)+1:])
	for i := range out {
		out[i] ^= f.versions[v]
	}
	return out, nil
}

func (f *fakeVault) set(fn func(*fakeVault)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time      { return c.t }
func (c *clock) add(d time.Duration) { c.t = c.t.Add(d) }
func newClock() *clock               { return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }
func (c *clock) String() string      { return c.t.Format(time.RFC3339) }

// must returns the key of an (AEK, error) pair, failing the test on error.
func must(t *testing.T) func(seal.Secret, error) []byte {
	return func(k seal.Secret, err error) []byte {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return bytes.Clone(k)
	}
}

type harness struct {
	store  GenerationStore
	sealer *seal.Sealer
	clock  *clock
	events []audit.Event
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	st, err := meta.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s, err := seal.New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return &harness{store: MetaGenerations{Store: st}, sealer: s, clock: newClock()}
}

func (h *harness) manager() *Manager {
	return NewManager(Options{Store: h.store, Platform: PlatformAuthority{Sealer: h.sealer}, RefreshInterval: 30 * time.Second,
		OutageGrace: 30 * time.Minute, Now: h.clock.now, Record: func(e audit.Event) { h.events = append(h.events, e) }})
}

func (h *harness) kinds() []string {
	var out []string
	for _, e := range h.events {
		out = append(out, e.Kind+":"+e.Detail)
	}
	return out
}

func TestFirstCustomerKeyStartsNewGeneration(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	m := h.manager()
	if err := m.EnsurePlatform(ctx, "cluster/c1"); err != nil {
		t.Fatal(err)
	}
	g1, k1s, err := m.WriteKey(ctx, "cluster/c1")
	if err != nil {
		t.Fatal(err)
	}
	k1 := bytes.Clone(k1s)
	if g1 != 1 {
		t.Fatalf("first generation = %d", g1)
	}
	v := newFakeVault("v1")
	if err := m.SetCustomerKey(ctx, "cluster/c1", v); err != nil {
		t.Fatal(err)
	}
	var g2 uint32
	var k2 seal.Secret
	g2, k2, err = m.WriteKey(ctx, "cluster/c1")
	if err != nil || g2 != 2 || bytes.Equal(k2, k1) {
		t.Fatalf("after the first KEK: generation %d, same key %v, %v", g2, bytes.Equal(k2, k1), err)
	}
	gens, _ := h.store.Generations(ctx, "cluster/c1")
	if len(gens) != 2 || gens[0].Authority != AuthorityPlatform || gens[1].Authority != AuthorityCustomer || gens[1].KeyID != v.id("v1") {
		t.Fatalf("generations = %+v", gens)
	}
	// No AEK is wrapped by two authorities: the platform generation is
	// untouched and the customer one is not platform-wrapped.
	if _, err := (PlatformAuthority{Sealer: h.sealer}).Unwrap(ctx, PlatformKeyID, gens[1].Wrapped); err == nil {
		t.Fatal("the customer generation opens with the platform key")
	}
	// Both generations stay readable, also after a restart.
	m2 := h.manager()
	if err := m2.SetCustomerKey(ctx, "cluster/c1", v); err != nil {
		t.Fatal(err)
	}
	if k := must(t)(m2.AEK(ctx, "cluster/c1", 1)); !bytes.Equal(k, k1) {
		t.Fatal("generation 1 changed across a restart")
	}
	if k := must(t)(m2.AEK(ctx, "cluster/c1", 2)); !bytes.Equal(k, k2) {
		t.Fatal("generation 2 changed across a restart")
	}
}

func TestRevocationAndRestore(t *testing.T) {
	tests := []struct {
		name    string
		revoke  func(m *Manager, v *fakeVault)
		restore func(m *Manager, v *fakeVault)
	}{
		{"key disabled", func(_ *Manager, v *fakeVault) { v.set(func(f *fakeVault) { f.disabled["v1"] = true }) },
			func(_ *Manager, v *fakeVault) { v.set(func(f *fakeVault) { f.disabled["v1"] = false }) }},
		{"access policy removed", func(_ *Manager, v *fakeVault) { v.set(func(f *fakeVault) { f.revoked = true }) },
			func(_ *Manager, v *fakeVault) { v.set(func(f *fakeVault) { f.revoked = false }) }},
		{"key deleted", func(_ *Manager, v *fakeVault) { v.set(func(f *fakeVault) { delete(f.versions, "v1") }) },
			func(_ *Manager, v *fakeVault) { v.set(func(f *fakeVault) { f.versions["v1"] = 1 }) }},
		{"keyVaultProperties removed", func(m *Manager, _ *fakeVault) { _ = m.SetCustomerKey(context.Background(), "a", nil) },
			func(m *Manager, v *fakeVault) { _ = m.SetCustomerKey(context.Background(), "a", v) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			h := newHarness(t)
			m := h.manager()
			v := newFakeVault("v1")
			if err := m.SetCustomerKey(ctx, "a", v); err != nil {
				t.Fatal(err)
			}
			before := must(t)(m.AEK(ctx, "a", 1))
			tt.revoke(m, v)
			h.clock.add(30 * time.Second)
			m.Refresh(ctx)
			if st, _ := m.State("a"); st != Revoked {
				t.Fatalf("state after revocation = %s", st)
			}
			if _, err := m.AEK(ctx, "a", 1); !errors.Is(err, ErrKeyRevoked) {
				t.Fatalf("read while revoked: %v", err)
			}
			if _, _, err := m.WriteKey(ctx, "a"); !errors.Is(err, ErrKeyRevoked) {
				t.Fatalf("write while revoked: %v", err)
			}
			// A restart while revoked reads nothing either.
			if tt.name != "keyVaultProperties removed" {
				m2 := h.manager()
				_ = m2.SetCustomerKey(ctx, "a", v)
				if _, err := m2.AEK(ctx, "a", 1); err == nil {
					t.Fatal("a restarted manager read a revoked account")
				}
			}
			tt.restore(m, v)
			h.clock.add(30 * time.Second)
			m.Refresh(ctx)
			if st, _ := m.State("a"); st != Available {
				t.Fatalf("state after restore = %s", st)
			}
			if after := must(t)(m.AEK(ctx, "a", 1)); !bytes.Equal(after, before) {
				t.Fatal("the AEK changed across revocation")
			}
			var sawRevoked bool
			for _, e := range h.events {
				if e.Kind == "StateChanged" && e.Detail == "Available -> Revoked" {
					sawRevoked = true
				}
			}
			if !sawRevoked {
				t.Fatalf("no audited state change: %v", h.kinds())
			}
		})
	}
}

func TestTransientOutageGraceThenUnavailable(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	m := h.manager()
	v := newFakeVault("v1")
	if err := m.SetCustomerKey(ctx, "a", v); err != nil {
		t.Fatal(err)
	}
	want := must(t)(m.AEK(ctx, "a", 1))
	v.set(func(f *fakeVault) { f.transient = true })
	for i := 0; i < 59; i++ { // 29.5 minutes of failed refreshes
		h.clock.add(30 * time.Second)
		m.Refresh(ctx)
	}
	if st, _ := m.State("a"); st != Available {
		t.Fatalf("state within the grace = %s", st)
	}
	if got := must(t)(m.AEK(ctx, "a", 1)); !bytes.Equal(got, want) {
		t.Fatal("cached key differs")
	}
	h.clock.add(time.Minute)
	m.Refresh(ctx)
	if st, _ := m.State("a"); st != Unavailable {
		t.Fatalf("state past the grace = %s", st)
	}
	if _, err := m.AEK(ctx, "a", 1); !errors.Is(err, ErrKeyUnavailable) {
		t.Fatalf("read while unavailable: %v", err)
	}
	v.set(func(f *fakeVault) { f.transient = false })
	h.clock.add(30 * time.Second)
	m.Refresh(ctx)
	if st, _ := m.State("a"); st != Available {
		t.Fatalf("state after the vault returned = %s", st)
	}
	if got := must(t)(m.AEK(ctx, "a", 1)); !bytes.Equal(got, want) {
		t.Fatal("key differs after the outage")
	}
}

func TestRotationRewrapsWithoutChangingTheKey(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	m := h.manager()
	v := newFakeVault("v1")
	v.pinned = "v1"
	if err := m.SetCustomerKey(ctx, "a", v); err != nil {
		t.Fatal(err)
	}
	want := must(t)(m.AEK(ctx, "a", 1))
	// A new version exists but the cluster still names v1: nothing changes.
	v.set(func(f *fakeVault) { f.versions["v2"] = 2; f.latest = "v2" })
	m.Refresh(ctx)
	if gens, _ := h.store.Generations(ctx, "a"); gens[0].KeyID != v.id("v1") {
		t.Fatalf("rewrapped without a cluster update: %s", gens[0].KeyID)
	}
	// The cluster names v2: the AEK is rewrapped, its bytes unchanged.
	v.set(func(f *fakeVault) { f.pinned = "v2" })
	if err := m.SetCustomerKey(ctx, "a", v); err != nil {
		t.Fatal(err)
	}
	gens, _ := h.store.Generations(ctx, "a")
	if len(gens) != 1 || gens[0].KeyID != v.id("v2") || gens[0].Rewrapped.IsZero() {
		t.Fatalf("after rotation: %+v", gens)
	}
	// The old version can be disabled; everything stays readable, also
	// after a restart.
	v.set(func(f *fakeVault) { f.disabled["v1"] = true })
	m2 := h.manager()
	if err := m2.SetCustomerKey(ctx, "a", v); err != nil {
		t.Fatal(err)
	}
	if got := must(t)(m2.AEK(ctx, "a", 1)); !bytes.Equal(got, want) {
		t.Fatal("the AEK changed at rotation")
	}
	// Automatic rotation: an empty version follows the latest enabled one.
	v.set(func(f *fakeVault) { f.pinned = ""; f.versions["v3"] = 3; f.latest = "v3" })
	m2.Refresh(ctx)
	if gens, _ := h.store.Generations(ctx, "a"); gens[0].KeyID != v.id("v3") {
		t.Fatalf("automatic rotation did not follow v3: %s", gens[0].KeyID)
	}
	if st, _ := m2.State("a"); st != Available {
		t.Fatalf("state = %s", st)
	}
}

func TestShredDestroysTheAccount(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	m := h.manager()
	if err := m.EnsurePlatform(ctx, "shared"); err != nil {
		t.Fatal(err)
	}
	if err := m.Shred(ctx, "shared"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.AEK(ctx, "shared", 1); !errors.Is(err, ErrUnknownGeneration) {
		t.Fatalf("read after shred: %v", err)
	}
	if _, err := h.manager().AEK(ctx, "shared", 1); !errors.Is(err, ErrUnknownGeneration) {
		t.Fatalf("read after shred and restart: %v", err)
	}
}

func TestReturnedKeysAreCopies(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	m := h.manager()
	if err := m.EnsurePlatform(ctx, "shared"); err != nil {
		t.Fatal(err)
	}
	k1, err := m.AEK(ctx, "shared", 1)
	if err != nil {
		t.Fatal(err)
	}
	want := bytes.Clone(k1)
	k1.Zero()
	k2, err := m.AEK(ctx, "shared", 1)
	if err != nil || !bytes.Equal(k2, want) {
		t.Fatal("zeroing a returned key damaged the manager's copy")
	}
	if s := fmt.Sprint(k2); bytes.Contains([]byte(s), want[:4]) {
		t.Fatal("a key prints")
	}
}

func TestValidateRefreshInterval(t *testing.T) {
	for d, ok := range map[time.Duration]bool{5 * time.Second: false, 6 * time.Second: true, 30 * time.Second: true, 60 * time.Second: true, 61 * time.Second: false} {
		if err := ValidateRefreshInterval(d); (err == nil) != ok {
			t.Errorf("ValidateRefreshInterval(%v) = %v", d, err)
		}
	}
}
