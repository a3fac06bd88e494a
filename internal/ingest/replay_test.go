package ingest

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"
)

func TestReplayGuard(t *testing.T) {
	type step struct {
		ws, sig string
		date    time.Duration // x-ms-date, from testNow
		now     time.Duration // the server's clock, from testNow
		forget  bool          // forget this reservation right away (not stored)
		status  int           // 0: accepted
	}
	tests := []struct {
		name  string
		max   int
		steps []step
		left  int // signatures remembered at the end
	}{
		{"a replay is refused", 10, []step{
			{ws: "w", sig: "s1"},
			{ws: "w", sig: "s1", status: 409},
			{ws: "W", sig: "s1", status: 409}, // workspace ids are case-insensitive
		}, 1},
		{"other signatures and workspaces pass", 10, []step{
			{ws: "w", sig: "s1"}, {ws: "w", sig: "s2"}, {ws: "v", sig: "s1"},
		}, 3},
		{"a request not stored may be sent again", 10, []step{
			{ws: "w", sig: "s1", forget: true},
			{ws: "w", sig: "s1"},
			{ws: "w", sig: "s1", status: 409},
		}, 1},
		{"signatures out of the window are forgotten", 10, []step{
			{ws: "w", sig: "s1", date: -10 * time.Minute},
			{ws: "w", sig: "s2", date: 0},
			{ws: "w", sig: "s3", now: 6 * time.Minute}, // s1's date is 16 min old: a replay is stale anyway
		}, 2},
		{"at the cap the oldest is forgotten and the window narrows", 2, []step{
			{ws: "w", sig: "a", date: -3 * time.Second},
			{ws: "w", sig: "b", date: -2 * time.Second},
			{ws: "w", sig: "c", date: -1 * time.Second},              // forgets a: refuses dates <= a's
			{ws: "w", sig: "d", date: -3 * time.Second, status: 403}, // as old as a forgotten one
			{ws: "w", sig: "a", date: -3 * time.Second, status: 403}, // the forgotten one itself: still refused
			{ws: "w", sig: "b", date: -2 * time.Second, status: 409}, // remembered
			{ws: "w", sig: "e", date: 0},                             // current dates pass
		}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := testNow
			g := NewReplayGuard(tt.max, 15*time.Minute, func() time.Time { return now })
			for i, s := range tt.steps {
				now = testNow.Add(s.now)
				forget, err := g.Reserve(s.ws, s.sig, testNow.Add(s.date))
				var ae *apiError
				switch {
				case s.status == 0 && err != nil:
					t.Fatalf("step %d: %v", i, err)
				case s.status != 0 && (!errors.As(err, &ae) || ae.Status != s.status):
					t.Fatalf("step %d: err %v, want status %d", i, err, s.status)
				}
				if s.forget {
					forget()
				}
			}
			if g.Len() != tt.left {
				t.Fatalf("%d signatures remembered, want %d", g.Len(), tt.left)
			}
		})
	}
}

// Memory stays bounded under a flood of distinct signatures.
func TestReplayGuardBounded(t *testing.T) {
	g := NewReplayGuard(1000, 15*time.Minute, func() time.Time { return testNow })
	for i := range 10000 {
		if _, err := g.Reserve("w", fmt.Sprint(i), testNow.Add(time.Duration(i/100)*time.Second)); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	if g.Len() > 1000 || len(g.dates) > 1000 {
		t.Fatalf("%d signatures, %d dates held", g.Len(), len(g.dates))
	}
}

// Through the handler: an exact replay of an accepted post is refused with
// the guard on (and accepted without it, as Azure does); a post the sink
// refused may be sent again.
func TestCollectorReplayProtection(t *testing.T) {
	body := `{"a":1}`
	for _, on := range []bool{false, true} {
		t.Run(fmt.Sprintf("guard %v", on), func(t *testing.T) {
			var guard *ReplayGuard
			if on {
				guard = NewReplayGuard(0, DefaultMaxSkew, func() time.Time { return testNow })
			}
			opts := func(o *Options) { o.Replay = guard }
			sink := &fakeSink{err: fmt.Errorf("test: %w", ErrUnavailable)}
			if w := sendGov(t, sink, govReq{req: req{body: body}, opts: opts}); w.Code != 503 {
				t.Fatalf("refused by the sink: %d", w.Code)
			}
			sink.err = nil
			if w := sendGov(t, sink, govReq{req: req{body: body}, opts: opts}); w.Code != 200 {
				t.Fatalf("sent again after a 503: %d %s", w.Code, w.Body)
			}
			w := sendGov(t, sink, govReq{req: req{body: body}, opts: opts})
			want := http.StatusOK
			if on {
				want = http.StatusConflict
			}
			if w.Code != want {
				t.Fatalf("replay: %d, want %d: %s", w.Code, want, w.Body)
			}
			if on {
				if code, _ := errorBody(t, w); code != "DuplicateRequest" {
					t.Fatalf("code %s", code)
				}
			}
		})
	}
}
