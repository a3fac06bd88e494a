package kek

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kustodian/kustodian/internal/audit"
	"github.com/kustodian/kustodian/internal/seal"
)

// State is a storage account's key availability (DESIGN.md).
type State string

// States.
const (
	// Available: the AEKs unwrap; ingestion and queries run.
	Available State = "Available"
	// Revoked: the customer withdrew access; AEKs are zeroed, ingestion is
	// rejected and queries fail until access returns.
	Revoked State = "Revoked"
	// Unavailable: the vault has failed transiently for longer than the
	// outage grace; AEKs are zeroed, queries fail, ingestion is buffered
	// under the platform key or rejected.
	Unavailable State = "Unavailable"
)

// Errors returned to storage.
var (
	// ErrKeyRevoked: the account is Revoked.
	ErrKeyRevoked = errors.New("the storage account's customer-managed key is revoked")
	// ErrKeyUnavailable: the account is Unavailable.
	ErrKeyUnavailable = errors.New("the storage account's customer-managed key is unavailable")
	// ErrUnknownAccount: no such storage account.
	ErrUnknownAccount = errors.New("unknown storage account")
	// ErrUnknownGeneration: no such AEK generation.
	ErrUnknownGeneration = errors.New("unknown AEK generation")
)

// Options configure a Manager.
type Options struct {
	Store GenerationStore
	// Platform wraps platform generations.
	Platform Authority
	// RefreshInterval is how often customer keys are unwrapped again
	// (DESIGN.md: 6 s to 60 s, default 30 s).
	RefreshInterval time.Duration
	// OutageGrace is how long cached AEKs outlive transient vault failures
	// (default 30 min).
	OutageGrace time.Duration
	Now         func() time.Time
	Log         *slog.Logger
	// Record receives audit events (state changes, rotations, unwrap
	// failures); nil drops them.
	Record func(audit.Event)
	// Registerer receives the manager's metrics; nil registers none.
	Registerer prometheus.Registerer
}

// Manager owns the AEKs of every storage account: their generations, the
// authority that wraps each account's new generations, the cache of
// unwrapped keys and the availability state machine. It is safe for
// concurrent use.
type Manager struct {
	o        Options
	mu       sync.Mutex
	accounts map[string]*account
	unwraps  *prometheus.CounterVec
	states   *prometheus.GaugeVec
}

type account struct {
	mu          sync.Mutex
	id          string
	authority   Authority // nil: the customer removed the key (revoked)
	gens        []Generation
	loaded      bool
	cache       map[uint32]seal.Secret
	state       State
	cause       string
	lastSuccess time.Time
}

// NewManager returns a manager.
func NewManager(o Options) *Manager {
	if o.RefreshInterval == 0 {
		o.RefreshInterval = 30 * time.Second
	}
	if o.OutageGrace == 0 {
		o.OutageGrace = 30 * time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	m := &Manager{o: o, accounts: map[string]*account{}}
	m.unwraps = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "kustodian_aek_unwrap_total", Help: "Unwraps of account keys by authority and result (ok, revoked, transient, error).",
	}, []string{"authority", "result"})
	m.states = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "kustodian_storage_account_key_state", Help: "1 for the current key availability state of each storage account.",
	}, []string{"account", "state"})
	if o.Registerer != nil {
		o.Registerer.MustRegister(m.unwraps, m.states)
	}
	return m
}

// ValidateRefreshInterval checks the seed's range.
func ValidateRefreshInterval(d time.Duration) error {
	if d < 6*time.Second || d > 60*time.Second {
		return fmt.Errorf("key refresh interval %v must be between 6s and 60s", d)
	}
	return nil
}

func (m *Manager) get(id string) *account {
	m.mu.Lock()
	defer m.mu.Unlock()
	a := m.accounts[id]
	if a == nil {
		a = &account{id: id, cache: map[uint32]seal.Secret{}, state: Available}
		m.accounts[id] = a
	}
	return a
}

func (a *account) load(ctx context.Context, st GenerationStore) error {
	if a.loaded {
		return nil
	}
	gens, err := st.Generations(ctx, a.id)
	if err != nil {
		return err
	}
	sort.Slice(gens, func(i, j int) bool { return gens[i].Number < gens[j].Number })
	a.gens, a.loaded = gens, true
	return nil
}

func (a *account) zero() {
	for n, k := range a.cache {
		k.Zero()
		delete(a.cache, n)
	}
}

func (a *account) current() *Generation {
	if len(a.gens) == 0 {
		return nil
	}
	return &a.gens[len(a.gens)-1]
}

// authorityFor returns who unwraps generation g.
func (m *Manager) authorityFor(a *account, g *Generation) Authority {
	if g.Authority == AuthorityPlatform {
		return m.o.Platform
	}
	return a.authority
}

func (m *Manager) setState(a *account, s State, cause, keyID string) {
	if a.state == s && a.cause == cause {
		return
	}
	prev := a.state
	a.state, a.cause = s, cause
	for _, st := range []State{Available, Revoked, Unavailable} {
		v := 0.0
		if st == s {
			v = 1
		}
		m.states.WithLabelValues(a.id, string(st)).Set(v)
	}
	if prev != s {
		if s != Available {
			a.zero()
		}
		m.o.Log.Warn("storage account key state changed", "account", a.id, "from", string(prev), "to", string(s), "cause", cause, "keyId", keyID)
		m.record(audit.Event{Kind: "StateChanged", Account: a.id, KeyID: keyID, Cause: cause,
			Detail: fmt.Sprintf("%s -> %s", prev, s)})
	}
}

func (m *Manager) record(e audit.Event) {
	if e.Time.IsZero() {
		e.Time = m.o.Now()
	}
	if m.o.Record != nil {
		m.o.Record(e)
	}
}

// classOf names an unwrap failure for metrics.
func classOf(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, ErrRevoked):
		return "revoked"
	case errors.Is(err, ErrTransient):
		return "transient"
	default:
		return "error"
	}
}

// unwrap unwraps generation g and caches it, moving the state machine by
// the outcome. Called with a.mu held.
func (m *Manager) unwrap(ctx context.Context, a *account, g *Generation) (seal.Secret, error) {
	auth := m.authorityFor(a, g)
	if auth == nil {
		m.setState(a, Revoked, "the cluster's keyVaultProperties were removed", g.KeyID)
		return nil, ErrKeyRevoked
	}
	key, err := auth.Unwrap(ctx, g.KeyID, g.Wrapped)
	m.unwraps.WithLabelValues(g.Authority, classOf(err)).Inc()
	now := m.o.Now()
	switch {
	case err == nil:
		if len(key) != 32 {
			clear(key)
			return nil, fmt.Errorf("account %s generation %d: unwrapped key has %d bytes", a.id, g.Number, len(key))
		}
		if old, ok := a.cache[g.Number]; ok {
			// Keep the cached copy: callers only ever hold copies, but
			// replacing it needs no zeroing of anything in use.
			clear(key)
			key = old
		}
		a.cache[g.Number] = seal.Secret(key)
		if g.Authority == AuthorityCustomer {
			a.lastSuccess = now
			m.setState(a, Available, "the key unwrapped", g.KeyID)
		}
		return a.cache[g.Number], nil
	case errors.Is(err, ErrTransient):
		m.record(audit.Event{Kind: "UnwrapFailed", Account: a.id, KeyID: g.KeyID, Cause: "transient vault failure", Detail: err.Error()})
		if a.lastSuccess.IsZero() || now.Sub(a.lastSuccess) >= m.o.OutageGrace {
			m.setState(a, Unavailable, "the key vault has been unreachable beyond the outage grace", g.KeyID)
		}
		if k, ok := a.cache[g.Number]; ok && a.state == Available {
			return k, nil
		}
		return nil, fmt.Errorf("%w: %v", ErrKeyUnavailable, err)
	case errors.Is(err, ErrRevoked):
		m.record(audit.Event{Kind: "UnwrapFailed", Account: a.id, KeyID: g.KeyID, Cause: "access revoked", Detail: err.Error()})
		m.setState(a, Revoked, "the key vault refused the unwrap: "+err.Error(), g.KeyID)
		return nil, fmt.Errorf("%w: %v", ErrKeyRevoked, err)
	default:
		return nil, fmt.Errorf("unwrap account %s generation %d: %w", a.id, g.Number, err)
	}
}

func (m *Manager) stateErr(a *account) error {
	switch a.state {
	case Revoked:
		return fmt.Errorf("%w (%s)", ErrKeyRevoked, a.cause)
	case Unavailable:
		return fmt.Errorf("%w (%s)", ErrKeyUnavailable, a.cause)
	}
	return nil
}

// AEK returns a copy of the unwrapped key of an account generation, for
// reading. The caller zeroes it (Zero) when done and must not keep it: the
// manager can only withdraw keys it still holds.
func (m *Manager) AEK(ctx context.Context, accountID string, generation uint32) (seal.Secret, error) {
	k, err := m.aek(ctx, accountID, generation)
	if err != nil {
		return nil, err
	}
	return seal.Secret(append([]byte(nil), k...)), nil
}

func (m *Manager) aek(ctx context.Context, accountID string, generation uint32) (seal.Secret, error) {
	a := m.get(accountID)
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.load(ctx, m.o.Store); err != nil {
		return nil, err
	}
	var g *Generation
	for i := range a.gens {
		if a.gens[i].Number == generation {
			g = &a.gens[i]
		}
	}
	if g == nil {
		return nil, fmt.Errorf("account %s generation %d: %w", accountID, generation, ErrUnknownGeneration)
	}
	if a.hasCustomer() {
		if err := m.stateErr(a); err != nil {
			return nil, err
		}
	}
	if k, ok := a.cache[generation]; ok {
		return k, nil
	}
	return m.unwrap(ctx, a, g)
}

func (a *account) hasCustomer() bool {
	if a.authority != nil && a.authority.Kind() == AuthorityCustomer {
		return true
	}
	for _, g := range a.gens {
		if g.Authority == AuthorityCustomer {
			return true
		}
	}
	return false
}

// WriteKey returns the generation and a copy of the key new data of an
// account is encrypted with: its latest generation. The caller zeroes the
// copy when done.
func (m *Manager) WriteKey(ctx context.Context, accountID string) (uint32, seal.Secret, error) {
	n, k, err := m.writeKey(ctx, accountID)
	if err != nil {
		return 0, nil, err
	}
	return n, seal.Secret(append([]byte(nil), k...)), nil
}

func (m *Manager) writeKey(ctx context.Context, accountID string) (uint32, seal.Secret, error) {
	a := m.get(accountID)
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.load(ctx, m.o.Store); err != nil {
		return 0, nil, err
	}
	g := a.current()
	if g == nil {
		return 0, nil, fmt.Errorf("account %s: %w", accountID, ErrUnknownAccount)
	}
	if a.hasCustomer() {
		if err := m.stateErr(a); err != nil {
			return 0, nil, err
		}
	}
	if k, ok := a.cache[g.Number]; ok {
		return g.Number, k, nil
	}
	k, err := m.unwrap(ctx, a, g)
	return g.Number, k, err
}

// State returns an account's state and its cause.
func (m *Manager) State(accountID string) (State, string) {
	a := m.get(accountID)
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.state, a.cause
}

// newGeneration creates, wraps and stores a new AEK generation. Called with
// a.mu held.
func (m *Manager) newGeneration(ctx context.Context, a *account, auth Authority) error {
	keyID, err := auth.Current(ctx)
	if err != nil {
		return err
	}
	aek := make([]byte, 32)
	if _, err := rand.Read(aek); err != nil {
		return err
	}
	wrapped, err := auth.Wrap(ctx, keyID, aek)
	if err != nil {
		clear(aek)
		return err
	}
	n := uint32(1)
	if c := a.current(); c != nil {
		n = c.Number + 1
	}
	g := Generation{Account: a.id, Number: n, Authority: auth.Kind(), KeyID: keyID, Wrapped: wrapped, Created: m.o.Now()}
	if err := m.o.Store.PutGenerations(ctx, []Generation{g}); err != nil {
		clear(aek)
		return err
	}
	a.gens = append(a.gens, g)
	a.cache[n] = seal.Secret(aek)
	m.o.Log.Info("new AEK generation", "account", a.id, "generation", n, "authority", g.Authority, "keyId", keyID)
	m.record(audit.Event{Kind: "GenerationCreated", Account: a.id, KeyID: keyID,
		Cause: fmt.Sprintf("generation %d wrapped by the %s key", n, g.Authority)})
	return nil
}

// EnsurePlatform makes sure an account exists, with a platform-wrapped
// generation when it has none (a new shared account or cluster account).
func (m *Manager) EnsurePlatform(ctx context.Context, accountID string) error {
	a := m.get(accountID)
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.load(ctx, m.o.Store); err != nil {
		return err
	}
	if len(a.gens) > 0 {
		return nil
	}
	return m.newGeneration(ctx, a, m.o.Platform)
}

// SetCustomerKey applies a cluster's key configuration to its account:
// auth nil means the key was removed (Revoked at once). Setting the first
// customer key starts a new generation wrapped only by it; a different key
// or version rewraps the customer generations (rotation: no data byte is
// rewritten).
func (m *Manager) SetCustomerKey(ctx context.Context, accountID string, auth Authority) error {
	a := m.get(accountID)
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.load(ctx, m.o.Store); err != nil {
		return err
	}
	a.authority = auth
	if auth == nil {
		if a.hasCustomer() {
			m.setState(a, Revoked, "the cluster's keyVaultProperties were removed", "")
		}
		return nil
	}
	if c := a.current(); c == nil || c.Authority != AuthorityCustomer {
		if err := m.newGeneration(ctx, a, auth); err != nil {
			return err
		}
		a.lastSuccess = m.o.Now()
		m.setState(a, Available, "a customer-managed key was set", auth.Describe())
		return nil
	}
	return m.refreshAccount(ctx, a)
}

// Refresh runs one refresh pass over every account with a customer key:
// rotate to the authority's current key version where it changed, and
// unwrap the latest generation again to move the state machine.
func (m *Manager) Refresh(ctx context.Context) {
	m.mu.Lock()
	accounts := make([]*account, 0, len(m.accounts))
	for _, a := range m.accounts {
		accounts = append(accounts, a)
	}
	m.mu.Unlock()
	for _, a := range accounts {
		a.mu.Lock()
		if a.hasCustomer() {
			if err := m.refreshAccount(ctx, a); err != nil && ctx.Err() == nil {
				m.o.Log.Debug("key refresh failed", "account", a.id, "err", err)
			}
		}
		a.mu.Unlock()
	}
}

// refreshAccount is one refresh of an account. Called with a.mu held.
func (m *Manager) refreshAccount(ctx context.Context, a *account) error {
	if err := a.load(ctx, m.o.Store); err != nil {
		return err
	}
	if a.authority == nil {
		m.setState(a, Revoked, "the cluster's keyVaultProperties were removed", "")
		return ErrKeyRevoked
	}
	want, err := a.authority.Current(ctx)
	if err != nil {
		return m.fail(a, err, a.authority.Describe())
	}
	if err := m.rotate(ctx, a, want); err != nil {
		return err
	}
	// Unwrap again even when cached: this is the liveness check.
	_, err = m.unwrap(ctx, a, a.current())
	return err
}

// fail moves the state machine on a failure outside unwrap.
func (m *Manager) fail(a *account, err error, keyID string) error {
	switch {
	case errors.Is(err, ErrRevoked):
		m.setState(a, Revoked, "the key vault refused access: "+err.Error(), keyID)
	case errors.Is(err, ErrTransient):
		if a.lastSuccess.IsZero() || m.o.Now().Sub(a.lastSuccess) >= m.o.OutageGrace {
			m.setState(a, Unavailable, "the key vault has been unreachable beyond the outage grace", keyID)
		}
	}
	return err
}

// rotate rewraps every customer generation not wrapped by want. Called
// with a.mu held.
func (m *Manager) rotate(ctx context.Context, a *account, want string) error {
	var changed []Generation
	for _, g := range a.gens {
		if g.Authority != AuthorityCustomer || g.KeyID == want {
			continue
		}
		key, ok := a.cache[g.Number]
		var plain []byte
		if ok {
			plain = key
		} else {
			var err error
			plain, err = a.authority.Unwrap(ctx, g.KeyID, g.Wrapped)
			m.unwraps.WithLabelValues(g.Authority, classOf(err)).Inc()
			if err != nil {
				m.record(audit.Event{Kind: "RotationFailed", Account: a.id, KeyID: g.KeyID,
					Cause: "the old key version could not unwrap", Detail: err.Error()})
				return m.fail(a, err, g.KeyID)
			}
			a.cache[g.Number] = seal.Secret(plain)
		}
		wrapped, err := a.authority.Wrap(ctx, want, plain)
		if err != nil {
			m.record(audit.Event{Kind: "RotationFailed", Account: a.id, KeyID: want, Cause: "the new key version could not wrap", Detail: err.Error()})
			return m.fail(a, err, want)
		}
		ng := g
		ng.KeyID, ng.Wrapped, ng.Rewrapped = want, wrapped, m.o.Now()
		changed = append(changed, ng)
	}
	if len(changed) == 0 {
		return nil
	}
	if err := m.o.Store.PutGenerations(ctx, changed); err != nil {
		return err
	}
	for _, ng := range changed {
		for i := range a.gens {
			if a.gens[i].Number == ng.Number {
				old := a.gens[i].KeyID
				a.gens[i] = ng
				m.o.Log.Info("AEK rewrapped", "account", a.id, "generation", ng.Number, "from", old, "to", want)
				m.record(audit.Event{Kind: "Rotated", Account: a.id, KeyID: want,
					Cause: fmt.Sprintf("generation %d rewrapped from %s", ng.Number, old)})
			}
		}
	}
	return nil
}

// Shred destroys an account's keys: without them its data can never be
// decrypted again.
func (m *Manager) Shred(ctx context.Context, accountID string) error {
	a := m.get(accountID)
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := m.o.Store.DeleteAccount(ctx, accountID); err != nil {
		return err
	}
	a.zero()
	a.gens, a.loaded, a.authority = nil, true, nil
	m.record(audit.Event{Kind: "Shredded", Account: accountID, Cause: "the account's keys were destroyed"})
	return nil
}

// Run refreshes every RefreshInterval until ctx ends.
func (m *Manager) Run(ctx context.Context) {
	t := time.NewTicker(m.o.RefreshInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			m.Refresh(ctx)
		}
	}
}
