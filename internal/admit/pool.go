package admit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Reason says why a request was refused.
type Reason string

// Reasons of refusal (also the values of the metrics' reason label).
const (
	ReasonClient    Reason = "client"
	ReasonSaturated Reason = "saturated"
	ReasonTooLarge  Reason = "too_large"
	ReasonCanceled  Reason = "canceled"
)

// Reasons lists every Reason, for metrics.
var Reasons = []Reason{ReasonClient, ReasonSaturated, ReasonTooLarge, ReasonCanceled}

// Sentinels an *Error matches with errors.Is, one per Reason.
var (
	ErrClientBusy = errors.New("admit: the client holds its share")
	ErrSaturated  = errors.New("admit: the server is saturated")
	ErrTooLarge   = errors.New("admit: the request is larger than the server admits")
	ErrCanceled   = errors.New("admit: the request ended while waiting")
)

// Error is the refusal of a request by a Pool.
type Error struct {
	// Pool is the name of the pool that refused.
	Pool   string
	Reason Reason
	// Want is what the request asked for, Limit the most it could have
	// (the pool's capacity, or a client's share).
	Want, Limit int64
	// RetryAfter is when a client should try again (zero for
	// ReasonTooLarge and ReasonCanceled).
	RetryAfter time.Duration
	cause      error
}

func (e *Error) Error() string {
	switch e.Reason {
	case ReasonClient:
		return fmt.Sprintf("admit: %s: the client already holds its share (%d) of the pool", e.Pool, e.Limit)
	case ReasonSaturated:
		return fmt.Sprintf("admit: %s: the server is saturated", e.Pool)
	case ReasonTooLarge:
		return fmt.Sprintf("admit: %s: %d is more than the %d the server admits for one request", e.Pool, e.Want, e.Limit)
	}
	return fmt.Sprintf("admit: %s: the request ended while waiting: %v", e.Pool, e.cause)
}

// Is makes errors.Is(err, ErrClientBusy) and the other sentinels work.
func (e *Error) Is(target error) bool {
	switch e.Reason {
	case ReasonClient:
		return target == ErrClientBusy
	case ReasonSaturated:
		return target == ErrSaturated
	case ReasonTooLarge:
		return target == ErrTooLarge
	}
	return target == ErrCanceled
}

// Unwrap returns the context's error of a ReasonCanceled refusal.
func (e *Error) Unwrap() error { return e.cause }

// Status returns the HTTP status of the refusal: 429 (ReasonClient), 503
// (ReasonSaturated, and ReasonCanceled, which no client normally sees),
// 413 (ReasonTooLarge).
func (e *Error) Status() int {
	switch e.Reason {
	case ReasonClient:
		return http.StatusTooManyRequests
	case ReasonTooLarge:
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusServiceUnavailable
}

// Header sets Retry-After (whole seconds, rounded up) when the refusal has
// one.
func (e *Error) Header(h http.Header) {
	if e.RetryAfter > 0 {
		h.Set("Retry-After", strconv.FormatInt(int64(math.Ceil(e.RetryAfter.Seconds())), 10))
	}
}

// Clock gives a Pool its timers.
type Clock interface {
	// NewTimer returns a channel that receives once d has passed, and a
	// function that stops the timer.
	NewTimer(d time.Duration) (<-chan time.Time, func() bool)
}

type realClock struct{}

func (realClock) NewTimer(d time.Duration) (<-chan time.Time, func() bool) {
	t := time.NewTimer(d)
	return t.C, t.Stop
}

// Options configure a Pool.
type Options struct {
	// Name names the pool in errors and metrics.
	Name string
	// Capacity is the most units held at once; it must be positive.
	Capacity int64
	// ClientShare is the most units one client holds at once; zero means
	// Capacity (no per-client bound).
	ClientShare int64
	// MaxWait is how long Acquire waits for room before refusing; zero
	// refuses at once.
	MaxWait time.Duration
	// MaxWaiting bounds the requests waiting at once; one more is refused
	// at once as if its wait had ended. Zero means no bound (the wait is
	// still bounded in time).
	MaxWaiting int
	// RetryAfter is suggested to refused clients; zero means one second.
	RetryAfter time.Duration
	// Clock supplies the wait's timer; nil means the real clock.
	Clock Clock
}

// Pool is a budget of units shared by concurrent requests. It is safe for
// concurrent use.
type Pool struct {
	o       Options
	mu      sync.Mutex
	used    int64
	clients map[string]int64
	waiters []*waiter // in arrival order

	admitted, waited atomic.Int64
	rejected         [4]atomic.Int64 // by reasonIndex
}

// reasonIndex numbers the Reasons for the rejection counters.
var reasonIndex = map[Reason]int{ReasonClient: 0, ReasonSaturated: 1, ReasonTooLarge: 2, ReasonCanceled: 3}

type waiter struct {
	client  string
	n       int64
	granted bool
	ready   chan struct{} // closed when granted
}

// Stats are a Pool's counters, for metrics.
type Stats struct {
	Capacity int64
	// InFlight is the units held now, Waiting the requests waiting now.
	InFlight, Waiting int64
	// Admitted counts grants; Waited those that had to wait first.
	Admitted, Waited int64
	// Rejected counts refusals by reason.
	Rejected map[Reason]int64
}

// New returns a Pool. It panics if o.Capacity is not positive or
// o.ClientShare is negative or above the capacity: a configuration error
// the caller checks first.
func New(o Options) *Pool {
	if o.Capacity <= 0 || o.ClientShare < 0 || o.ClientShare > o.Capacity {
		panic(fmt.Sprintf("admit: pool %q: capacity %d, client share %d", o.Name, o.Capacity, o.ClientShare))
	}
	if o.ClientShare == 0 {
		o.ClientShare = o.Capacity
	}
	if o.RetryAfter <= 0 {
		o.RetryAfter = time.Second
	}
	if o.Clock == nil {
		o.Clock = realClock{}
	}
	return &Pool{o: o, clients: map[string]int64{}}
}

// Capacity returns the pool's capacity.
func (p *Pool) Capacity() int64 { return p.o.Capacity }

// ClientShare returns the most units one client may hold.
func (p *Pool) ClientShare() int64 { return p.o.ClientShare }

// Stats returns a snapshot of the pool's counters.
func (p *Pool) Stats() Stats {
	p.mu.Lock()
	s := Stats{Capacity: p.o.Capacity, InFlight: p.used, Waiting: int64(len(p.waiters))}
	p.mu.Unlock()
	s.Admitted, s.Waited = p.admitted.Load(), p.waited.Load()
	s.Rejected = make(map[Reason]int64, len(reasonIndex))
	for r, i := range reasonIndex {
		s.Rejected[r] = p.rejected[i].Load()
	}
	return s
}

// Grant is units held by one request. Release it when the work is done.
type Grant struct {
	p      *Pool
	client string
	mu     sync.Mutex
	n      int64
	done   bool
}

// Units returns the units the grant holds.
func (g *Grant) Units() int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.n
}

// Acquire waits (at most MaxWait, in arrival order) until n units fit in
// the pool and in client's share, and takes them. It fails with an *Error.
// n <= 0 is granted at once and holds nothing.
func (p *Pool) Acquire(ctx context.Context, client string, n int64) (*Grant, error) {
	if n <= 0 {
		return &Grant{p: p, client: client}, nil
	}
	p.mu.Lock()
	if n > p.o.ClientShare {
		p.mu.Unlock()
		return nil, p.refuse(ReasonTooLarge, n, p.o.ClientShare, nil)
	}
	if p.fitsLocked(client, n) && !p.queuedAheadLocked() {
		p.takeLocked(client, n)
		p.mu.Unlock()
		p.admitted.Add(1)
		return &Grant{p: p, client: client, n: n}, nil
	}
	if p.o.MaxWait <= 0 || p.o.MaxWaiting > 0 && len(p.waiters) >= p.o.MaxWaiting {
		reason := p.blockerLocked(client, n)
		p.mu.Unlock()
		return nil, p.refuse(reason, n, p.limitOf(reason), nil)
	}
	w := &waiter{client: client, n: n, ready: make(chan struct{})}
	p.waiters = append(p.waiters, w)
	p.mu.Unlock()

	timer, stop := p.o.Clock.NewTimer(p.o.MaxWait)
	defer stop()
	var cause error
	select {
	case <-w.ready:
	case <-timer:
	case <-ctx.Done():
		cause = ctx.Err()
	}
	p.mu.Lock()
	if w.granted {
		p.mu.Unlock()
		p.admitted.Add(1)
		p.waited.Add(1)
		return &Grant{p: p, client: client, n: n}, nil
	}
	p.removeWaiterLocked(w)
	reason := ReasonCanceled
	if cause == nil {
		reason = p.blockerLocked(client, n)
	}
	// The waiter leaving may unblock those behind it.
	p.wakeLocked()
	p.mu.Unlock()
	return nil, p.refuse(reason, n, p.limitOf(reason), cause)
}

// Resize makes the grant hold n units. Shrinking always succeeds and may
// admit waiters; growing takes the difference at once if it fits, without
// waiting, and otherwise fails with an *Error and leaves the grant as it
// was.
func (g *Grant) Resize(n int64) error {
	p := g.p
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.done {
		return errors.New("admit: resize of a released grant")
	}
	n = max(n, 0)
	delta := n - g.n
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case delta < 0:
		p.giveLocked(g.client, -delta)
		p.wakeLocked()
	case delta > 0:
		if n > p.o.ClientShare {
			return p.refuse(ReasonTooLarge, n, p.o.ClientShare, nil)
		}
		if !p.fitsLocked(g.client, delta) {
			reason := p.blockerLocked(g.client, delta)
			return p.refuse(reason, n, p.limitOf(reason), nil)
		}
		p.takeLocked(g.client, delta)
	}
	g.n = n
	return nil
}

// Release returns the grant's units to the pool. It may be called more
// than once; later calls do nothing.
func (g *Grant) Release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.done {
		return
	}
	g.done = true
	if g.n == 0 {
		return
	}
	p := g.p
	p.mu.Lock()
	p.giveLocked(g.client, g.n)
	p.wakeLocked()
	p.mu.Unlock()
	g.n = 0
}

func (p *Pool) fitsLocked(client string, n int64) bool {
	return p.used+n <= p.o.Capacity && p.clients[client]+n <= p.o.ClientShare
}

// blockerLocked says what keeps n units of client out: its own share, or
// the pool.
func (p *Pool) blockerLocked(client string, n int64) Reason {
	if p.clients[client]+n > p.o.ClientShare {
		return ReasonClient
	}
	return ReasonSaturated
}

// queuedAheadLocked reports whether a waiter is blocked by the pool (not
// by its own share): a newcomer must not overtake it, or a large request
// could starve behind a stream of small ones.
func (p *Pool) queuedAheadLocked() bool {
	for _, w := range p.waiters {
		if p.clients[w.client]+w.n <= p.o.ClientShare {
			return true
		}
	}
	return false
}

func (p *Pool) takeLocked(client string, n int64) {
	p.used += n
	p.clients[client] += n
}

func (p *Pool) giveLocked(client string, n int64) {
	p.used -= n
	if left := p.clients[client] - n; left > 0 {
		p.clients[client] = left
	} else {
		delete(p.clients, client)
	}
}

// wakeLocked grants waiters in arrival order: one blocked by its own share
// is passed over, one blocked by the pool stops the scan.
func (p *Pool) wakeLocked() {
	kept := p.waiters[:0]
	blocked := false
	for _, w := range p.waiters {
		switch {
		case blocked || p.clients[w.client]+w.n > p.o.ClientShare:
			kept = append(kept, w)
		case p.used+w.n > p.o.Capacity:
			blocked = true
			kept = append(kept, w)
		default:
			p.takeLocked(w.client, w.n)
			w.granted = true
			close(w.ready)
		}
	}
	clear(p.waiters[len(kept):])
	p.waiters = kept
}

func (p *Pool) removeWaiterLocked(w *waiter) {
	for i, x := range p.waiters {
		if x == w {
			p.waiters = append(p.waiters[:i], p.waiters[i+1:]...)
			return
		}
	}
}

func (p *Pool) limitOf(r Reason) int64 {
	if r == ReasonSaturated {
		return p.o.Capacity
	}
	return p.o.ClientShare
}

// refuse counts and returns a refusal.
func (p *Pool) refuse(r Reason, want, limit int64, cause error) *Error {
	e := &Error{Pool: p.o.Name, Reason: r, Want: want, Limit: limit, cause: cause}
	if r == ReasonClient || r == ReasonSaturated {
		e.RetryAfter = p.o.RetryAfter
	}
	p.rejected[reasonIndex[r]].Add(1)
	return e
}
