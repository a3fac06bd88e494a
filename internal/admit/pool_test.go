package admit

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"
)

// fakeClock hands each timer to the test, which fires it.
type fakeClock struct{ timers chan chan time.Time }

func newFakeClock() *fakeClock { return &fakeClock{timers: make(chan chan time.Time, 16)} }

func (c *fakeClock) NewTimer(time.Duration) (<-chan time.Time, func() bool) {
	ch := make(chan time.Time, 1)
	c.timers <- ch
	return ch, func() bool { return true }
}

// waitTimer returns the timer of the next waiter, once it waits.
func (c *fakeClock) waitTimer(t *testing.T) chan time.Time {
	t.Helper()
	select {
	case ch := <-c.timers:
		return ch
	case <-time.After(10 * time.Second):
		t.Fatal("no request started waiting")
		return nil
	}
}

type step struct {
	client string
	n      int64
	want   Reason // "" = granted
}

// Decisions without waiting: each step acquires and keeps its grant.
func TestPoolDecisions(t *testing.T) {
	tests := []struct {
		name  string
		o     Options
		steps []step
	}{
		{"within capacity", Options{Capacity: 100}, []step{{"a", 40, ""}, {"b", 60, ""}}},
		{"pool full", Options{Capacity: 100}, []step{{"a", 40, ""}, {"b", 60, ""}, {"c", 1, ReasonSaturated}}},
		{"client over its share", Options{Capacity: 100, ClientShare: 50}, []step{{"a", 40, ""}, {"a", 20, ReasonClient}, {"b", 50, ""}}},
		{"share blocks before the pool", Options{Capacity: 100, ClientShare: 60}, []step{{"a", 50, ""}, {"b", 50, ""}, {"a", 20, ReasonClient}, {"c", 1, ReasonSaturated}}},
		{"more than a share can ever hold", Options{Capacity: 100, ClientShare: 50}, []step{{"a", 51, ReasonTooLarge}}},
		{"more than the pool", Options{Capacity: 100}, []step{{"a", 101, ReasonTooLarge}}},
		{"zero is free", Options{Capacity: 1}, []step{{"a", 1, ""}, {"b", 0, ""}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := New(tt.o)
			var held int64
			for i, s := range tt.steps {
				g, err := p.Acquire(context.Background(), s.client, s.n)
				if s.want == "" {
					if err != nil {
						t.Fatalf("step %d: %v", i, err)
					}
					held += g.Units()
					continue
				}
				var ae *Error
				if !errors.As(err, &ae) || ae.Reason != s.want {
					t.Fatalf("step %d: err = %v, want reason %s", i, err, s.want)
				}
			}
			st := p.Stats()
			if st.InFlight != held || st.Capacity != tt.o.Capacity {
				t.Fatalf("stats %+v, want %d in flight", st, held)
			}
		})
	}
}

func TestErrorStatusAndRetryAfter(t *testing.T) {
	tests := []struct {
		reason   Reason
		status   int
		sentinel error
		retry    string
	}{
		{ReasonClient, http.StatusTooManyRequests, ErrClientBusy, "3"},
		{ReasonSaturated, http.StatusServiceUnavailable, ErrSaturated, "3"},
		{ReasonTooLarge, http.StatusRequestEntityTooLarge, ErrTooLarge, ""},
		{ReasonCanceled, http.StatusServiceUnavailable, ErrCanceled, ""},
	}
	p := New(Options{Name: "bodies", Capacity: 10, RetryAfter: 2500 * time.Millisecond})
	for _, tt := range tests {
		e := p.refuse(tt.reason, 5, 10, nil)
		h := http.Header{}
		e.Header(h)
		if e.Status() != tt.status || !errors.Is(e, tt.sentinel) || h.Get("Retry-After") != tt.retry || e.Error() == "" {
			t.Errorf("%s: status %d, is %v, Retry-After %q", tt.reason, e.Status(), errors.Is(e, tt.sentinel), h.Get("Retry-After"))
		}
		if p.Stats().Rejected[tt.reason] != 1 {
			t.Errorf("%s not counted", tt.reason)
		}
	}
}

func TestPoolRelease(t *testing.T) {
	p := New(Options{Capacity: 10, ClientShare: 10})
	g, err := p.Acquire(context.Background(), "a", 10)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Acquire(context.Background(), "b", 1); !errors.Is(err, ErrSaturated) {
		t.Fatalf("full pool admitted: %v", err)
	}
	g.Release()
	g.Release() // idempotent
	if _, err := p.Acquire(context.Background(), "b", 10); err != nil {
		t.Fatal(err)
	}
	if st := p.Stats(); st.InFlight != 10 || st.Admitted != 2 || st.Rejected[ReasonSaturated] != 1 {
		t.Fatalf("stats %+v", st)
	}
	if err := g.Resize(5); err == nil {
		t.Fatal("resize of a released grant")
	}
}

type result struct {
	g   *Grant
	err error
}

func acquireAsync(p *Pool, ctx context.Context, client string, n int64) chan result {
	ch := make(chan result, 1)
	go func() {
		g, err := p.Acquire(ctx, client, n)
		ch <- result{g, err}
	}()
	return ch
}

func TestPoolWaits(t *testing.T) {
	t.Run("granted when room frees", func(t *testing.T) {
		clk := newFakeClock()
		p := New(Options{Capacity: 10, MaxWait: time.Minute, Clock: clk})
		a, _ := p.Acquire(context.Background(), "a", 10)
		b := acquireAsync(p, context.Background(), "b", 4)
		clk.waitTimer(t)
		a.Release()
		r := <-b
		if r.err != nil || r.g.Units() != 4 {
			t.Fatalf("waiter: %v", r.err)
		}
		if st := p.Stats(); st.Waited != 1 || st.Waiting != 0 || st.InFlight != 4 {
			t.Fatalf("stats %+v", st)
		}
	})
	t.Run("refused when the wait ends", func(t *testing.T) {
		clk := newFakeClock()
		p := New(Options{Capacity: 10, ClientShare: 6, MaxWait: time.Minute, Clock: clk})
		p.Acquire(context.Background(), "a", 6)
		p.Acquire(context.Background(), "b", 4)
		b := acquireAsync(p, context.Background(), "b", 1) // blocked by the pool
		clk.waitTimer(t) <- time.Time{}
		a := acquireAsync(p, context.Background(), "a", 1) // blocked by its share
		clk.waitTimer(t) <- time.Time{}
		if r := <-b; !errors.Is(r.err, ErrSaturated) {
			t.Fatalf("b: %v", r.err)
		}
		r := <-a
		var ae *Error
		if !errors.As(r.err, &ae) || ae.Reason != ReasonClient || ae.RetryAfter != time.Second || ae.Limit != 6 {
			t.Fatalf("a: %#v", r.err)
		}
		if st := p.Stats(); st.Waiting != 0 || st.InFlight != 10 {
			t.Fatalf("stats %+v", st)
		}
	})
	t.Run("canceled while waiting", func(t *testing.T) {
		clk := newFakeClock()
		p := New(Options{Capacity: 1, MaxWait: time.Minute, Clock: clk})
		p.Acquire(context.Background(), "a", 1)
		ctx, cancel := context.WithCancel(context.Background())
		b := acquireAsync(p, ctx, "b", 1)
		clk.waitTimer(t)
		cancel()
		if r := <-b; !errors.Is(r.err, ErrCanceled) || !errors.Is(r.err, context.Canceled) {
			t.Fatalf("b: %v", r.err)
		}
		if st := p.Stats(); st.Waiting != 0 || st.Rejected[ReasonCanceled] != 1 {
			t.Fatalf("stats %+v", st)
		}
	})
	t.Run("arrival order: a newcomer does not overtake a large waiter", func(t *testing.T) {
		clk := newFakeClock()
		p := New(Options{Capacity: 10, MaxWait: time.Minute, Clock: clk})
		a, _ := p.Acquire(context.Background(), "a", 8)
		big := acquireAsync(p, context.Background(), "b", 5)
		clk.waitTimer(t)
		small := acquireAsync(p, context.Background(), "c", 1) // would fit, but b is first
		clk.waitTimer(t)
		if st := p.Stats(); st.Waiting != 2 || st.InFlight != 8 {
			t.Fatalf("stats %+v", st)
		}
		a.Release()
		if r := <-big; r.err != nil {
			t.Fatal(r.err)
		}
		if r := <-small; r.err != nil {
			t.Fatal(r.err)
		}
		if st := p.Stats(); st.InFlight != 6 {
			t.Fatalf("stats %+v", st)
		}
	})
	t.Run("a client at its share does not hold up others", func(t *testing.T) {
		clk := newFakeClock()
		p := New(Options{Capacity: 10, ClientShare: 5, MaxWait: time.Minute, Clock: clk})
		a, _ := p.Acquire(context.Background(), "a", 5)
		more := acquireAsync(p, context.Background(), "a", 1)
		clk.waitTimer(t)
		if _, err := p.Acquire(context.Background(), "b", 5); err != nil {
			t.Fatalf("other client held up: %v", err)
		}
		a.Release()
		if r := <-more; r.err != nil {
			t.Fatal(r.err)
		}
	})
}

// A bounded queue refuses at once when it is full (the query surface's
// "at most N queries wait for a slot").
func TestPoolMaxWaiting(t *testing.T) {
	clk := newFakeClock()
	p := New(Options{Capacity: 1, MaxWait: time.Minute, MaxWaiting: 1, Clock: clk})
	a, _ := p.Acquire(context.Background(), "a", 1)
	w := acquireAsync(p, context.Background(), "b", 1)
	clk.waitTimer(t)
	if _, err := p.Acquire(context.Background(), "c", 1); !errors.Is(err, ErrSaturated) {
		t.Fatalf("a full queue admitted a waiter: %v", err)
	}
	a.Release()
	if r := <-w; r.err != nil {
		t.Fatal(r.err)
	}
}

func TestGrantResize(t *testing.T) {
	clk := newFakeClock()
	p := New(Options{Capacity: 10, ClientShare: 8, MaxWait: time.Minute, Clock: clk})
	g, _ := p.Acquire(context.Background(), "a", 2)
	steps := []struct {
		to   int64
		want Reason
	}{
		{6, ""},
		{9, ReasonTooLarge}, // past the share: never
		{8, ""},
		{3, ""},
	}
	other, _ := p.Acquire(context.Background(), "b", 2)
	for i, s := range steps {
		err := g.Resize(s.to)
		var ae *Error
		switch {
		case s.want == "" && err != nil:
			t.Fatalf("step %d: %v", i, err)
		case s.want != "" && (!errors.As(err, &ae) || ae.Reason != s.want):
			t.Fatalf("step %d: err %v, want %s", i, err, s.want)
		}
	}
	if g.Units() != 3 {
		t.Fatalf("grant holds %d", g.Units())
	}
	// Growing past the pool fails at once (no waiting) and keeps the grant.
	c, _ := p.Acquire(context.Background(), "c", 5)
	if err := g.Resize(4); !errors.Is(err, ErrSaturated) || g.Units() != 3 {
		t.Fatalf("grow past the pool: %v, holds %d", err, g.Units())
	}
	// Shrinking admits a waiter.
	w := acquireAsync(p, context.Background(), "d", 2)
	clk.waitTimer(t)
	if err := g.Resize(1); err != nil {
		t.Fatal(err)
	}
	if r := <-w; r.err != nil {
		t.Fatal(r.err)
	}
	g.Release()
	other.Release()
	c.Release()
	if st := p.Stats(); st.InFlight != 2 {
		t.Fatalf("stats %+v", st)
	}
}
