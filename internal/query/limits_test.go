package query

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kustodian/kustodian/internal/kql"
)

func TestServerTimeout(t *testing.T) {
	def, max := 3*time.Minute, 10*time.Minute
	for _, c := range []struct {
		prefer []string
		want   time.Duration
	}{
		{nil, def},
		{[]string{"wait=30"}, 30 * time.Second},
		{[]string{"include-statistics=true, wait=600"}, max},
		{[]string{"include-render=true", "Wait = 45"}, 45 * time.Second},
		{[]string{"wait=601"}, max},
		{[]string{"wait=99999999999999999999"}, def}, // not a number we can hold: ignored
		{[]string{"wait=-5"}, def},
		{[]string{"wait=abc"}, def},
		{[]string{"wait"}, def},
	} {
		h := http.Header{}
		for _, v := range c.prefer {
			h.Add("Prefer", v)
		}
		if got := serverTimeout(h, def, max); got != c.want {
			t.Errorf("Prefer %q: timeout %v, want %v", c.prefer, got, c.want)
		}
	}
}

func TestGate(t *testing.T) {
	ctx := context.Background()
	code := func(err error) string {
		var ae *apiError
		if errors.As(err, &ae) {
			return ae.Code
		}
		if err != nil {
			return err.Error()
		}
		return ""
	}

	t.Run("per principal", func(t *testing.T) {
		g := newGate(Limits{MaxConcurrent: 10, MaxPerPrincipal: 2, MaxQueued: 10, QueueTimeout: time.Minute}, nil)
		r1, err1 := g.acquire(ctx, "alice")
		r2, err2 := g.acquire(ctx, "alice")
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if _, err := g.acquire(ctx, "alice"); code(err) != "ThrottledError" {
			t.Fatalf("third query of alice: %v, want ThrottledError", err)
		}
		rb, err := g.acquire(ctx, "bob")
		if err != nil {
			t.Fatalf("bob is not alice: %v", err)
		}
		r1()
		r3, err := g.acquire(ctx, "alice")
		if err != nil {
			t.Fatalf("after a release: %v", err)
		}
		r2()
		r3()
		rb()
		if run, wait := g.state(); run != 0 || wait != 0 || len(g.active) != 0 {
			t.Fatalf("after all releases: running %d waiting %d active %v", run, wait, g.active)
		}
	})

	t.Run("queue full and queue timeout", func(t *testing.T) {
		g := newGate(Limits{MaxConcurrent: 1, MaxPerPrincipal: 5, MaxQueued: 1, QueueTimeout: 20 * time.Millisecond}, nil)
		release, err := g.acquire(ctx, "a")
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		wg.Add(1)
		var waitErr error
		go func() { defer wg.Done(); _, waitErr = g.acquire(ctx, "b") }()
		// Wait until b is queued, then c finds the queue full.
		for {
			if _, w := g.state(); w == 1 {
				break
			}
			time.Sleep(time.Millisecond)
		}
		if _, err := g.acquire(ctx, "c"); code(err) != "ServiceUnavailable" {
			t.Fatalf("with the queue full: %v, want ServiceUnavailable", err)
		}
		wg.Wait()
		if code(waitErr) != "ServiceUnavailable" {
			t.Fatalf("after the queue timeout: %v, want ServiceUnavailable", waitErr)
		}
		release()
	})

	t.Run("a waiter gets the freed slot", func(t *testing.T) {
		g := newGate(Limits{MaxConcurrent: 1, MaxPerPrincipal: 5, MaxQueued: 4, QueueTimeout: time.Minute}, nil)
		release, _ := g.acquire(ctx, "a")
		got := make(chan error, 1)
		go func() {
			r, err := g.acquire(ctx, "b")
			if err == nil {
				r()
			}
			got <- err
		}()
		for {
			if _, w := g.state(); w == 1 {
				break
			}
			time.Sleep(time.Millisecond)
		}
		release()
		if err := <-got; err != nil {
			t.Fatalf("waiter: %v", err)
		}
	})

	t.Run("cancelled while waiting", func(t *testing.T) {
		g := newGate(Limits{MaxConcurrent: 1, MaxPerPrincipal: 5, MaxQueued: 4, QueueTimeout: time.Minute}, nil)
		release, _ := g.acquire(ctx, "a")
		defer release()
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := g.acquire(cctx, "b"); !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled waiter: %v", err)
		}
		if len(g.active) != 1 {
			t.Fatalf("the cancelled waiter is still counted: %v", g.active)
		}
	})
}

// blockingData scans until its context ends.
type blockingData struct{ memData }

func (blockingData) Scan(ctx context.Context, req kql.ScanRequest) (kql.BatchIterator, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// TestQueryLimits: a query that runs past its server timeout answers 504
// GatewayTimeout; queries beyond the principal's concurrency answer 429
// with Retry-After.
func TestQueryLimits(t *testing.T) {
	h := handler(memData{n: 1})
	h.o.Limits.Timeout = 30 * time.Millisecond
	h.o.Workspace = func(ctx context.Context, id string) (string, Data, error) {
		return "/subscriptions/s/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/w", blockingData{memData{n: 1}}, nil
	}
	status, body := do(t, h, http.MethodPost, "/v1/workspaces/"+wsID+"/query", "good", `{"query":"App_CL | count"}`)
	if status != http.StatusGatewayTimeout || body["error"].(map[string]any)["code"] != "GatewayTimeout" {
		t.Fatalf("timed-out query: %d %v", status, body)
	}
	if run, _ := h.Running(); run != 0 {
		t.Fatalf("%d queries still hold a slot", run)
	}

	// Five slow queries of one principal hold its five places; the sixth
	// is throttled.
	h.o.Limits.Timeout = time.Minute
	h.gate = newGate(Limits{MaxConcurrent: 10, MaxPerPrincipal: 5, MaxQueued: 10, QueueTimeout: time.Minute}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := httptest.NewRequestWithContext(ctx, http.MethodPost, "/v1/workspaces/"+wsID+"/query", strings.NewReader(`{"query":"App_CL | count"}`))
			r.Header.Set("Authorization", "Bearer good")
			h.ServeHTTP(httptest.NewRecorder(), r)
		}()
	}
	for {
		if run, _ := h.Running(); run == 5 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	r := httptest.NewRequest(http.MethodPost, "/v1/workspaces/"+wsID+"/query", strings.NewReader(`{"query":"App_CL | count"}`))
	r.Header.Set("Authorization", "Bearer good")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" || !strings.Contains(w.Body.String(), "ThrottledError") {
		t.Fatalf("sixth query: %d %q %s", w.Code, w.Header().Get("Retry-After"), w.Body)
	}
	cancel()
	wg.Wait()
	if run, wait := h.Running(); run != 0 || wait != 0 {
		t.Fatalf("after cancellation: %d running, %d waiting", run, wait)
	}
}

// TestQueryMemoryLimit: a query that needs more memory than its limit
// answers 200 with no rows, its columns, and Azure's PartialError naming
// E_LOW_MEMORY_CONDITION.
func TestQueryMemoryLimit(t *testing.T) {
	h := handler(memData{n: 5000})
	h.o.Limits.MaxMemoryBytes = 4 << 10
	status, body := do(t, h, http.MethodPost, "/v1/workspaces/"+wsID+"/query", "good", `{"query":"App_CL | sort by Level_s asc"}`)
	if status != http.StatusOK {
		t.Fatalf("%d %v", status, body)
	}
	tables := body["tables"].([]any)
	tb := tables[0].(map[string]any)
	if rows := tb["rows"].([]any); len(rows) != 0 {
		t.Fatalf("%d rows, want none", len(rows))
	}
	if cols := tb["columns"].([]any); len(cols) != 2 {
		t.Fatalf("columns %v", cols)
	}
	e := body["error"].(map[string]any)
	inner := e["details"].([]any)[0].(map[string]any)["innererror"].(map[string]any)
	if e["code"] != "PartialError" || inner["code"] != "E_LOW_MEMORY_CONDITION" || !strings.Contains(inner["message"].(string), "80DA0001") {
		t.Fatalf("error %v", e)
	}
}
