package server

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// deadlineWriter is a ResponseWriter whose connection deadlines are
// recorded.
type deadlineWriter struct {
	*httptest.ResponseRecorder
	deadlines []time.Time
}

func (w *deadlineWriter) SetReadDeadline(t time.Time) error {
	w.deadlines = append(w.deadlines, t)
	return nil
}

// governBody bounds bodies per surface, and after the handler bounds how
// long an HTTP/1 connection is read further when the handler left part of
// the body unread.
func TestGovernBody(t *testing.T) {
	tests := []struct {
		name      string
		surface   string
		body      string
		proto     int
		read      int64 // bytes the handler reads; -1: all
		readErr   bool  // the read fails (the surface's limit)
		cutAfter  bool  // finish bounds further reads (unreadBodyGrace)
		deadlines bool  // the min-rate reader set deadlines while reading
	}{
		{"read to the end", "ingest", `{"a":1}`, 1, -1, false, false, true},
		{"left unread (HTTP/1)", "ingest", `{"a":1}`, 1, 0, false, true, false},
		{"half read (HTTP/1)", "arm", `{"a":1}`, 1, 3, false, true, true},
		{"left unread (HTTP/2)", "ingest", `{"a":1}`, 2, 0, false, false, false},
		{"over the surface's limit", "identity", strings.Repeat("x", 1<<20+1), 1, -1, true, true, true},
		{"no body", "arm", "", 1, -1, false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Server{cfg: Config{BodyMinRate: 1 << 10, BodyReadGrace: time.Second}}
			s.bodyTimeouts = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "t"}, []string{"surface"})
			var body io.Reader = strings.NewReader(tt.body)
			if tt.body == "" {
				body = nil
			}
			r := httptest.NewRequest(http.MethodPost, "/", body)
			r.ProtoMajor = tt.proto
			w := &deadlineWriter{ResponseRecorder: httptest.NewRecorder()}
			r2, finish := s.governBody(w, r, tt.surface)
			var err error
			if tt.read < 0 {
				_, err = io.ReadAll(r2.Body)
			} else {
				_, err = io.ReadFull(r2.Body, make([]byte, tt.read))
			}
			if (err != nil) != tt.readErr {
				t.Fatalf("read: %v", err)
			}
			during := len(w.deadlines)
			if (during > 0) != tt.deadlines {
				t.Fatalf("%d deadlines set while reading", during)
			}
			start := time.Now()
			finish()
			cut := len(w.deadlines) > during && !w.deadlines[len(w.deadlines)-1].IsZero() &&
				!w.deadlines[len(w.deadlines)-1].After(time.Now().Add(unreadBodyGrace))
			if cut != tt.cutAfter {
				t.Fatalf("deadline set after the handler: %v (%v, handler done at %v)", cut, w.deadlines[during:], start)
			}
			if r.Body != nil && r.Body != http.NoBody && r2.Body == r.Body {
				t.Fatal("the body was not governed")
			}
		})
	}
}
