package admit

import (
	"errors"
	"fmt"
	"io"
	"os"
	"testing"
	"time"
)

// conn simulates a connection on a fake clock: chunk i arrives after
// gaps[i] of waiting, and a read whose wait would pass the deadline fails
// at the deadline, as a net.Conn's does.
type conn struct {
	now       time.Time
	deadline  time.Time
	deadlines []time.Time
	noDL      bool
	chunk     int
	gaps      []time.Duration
	work      time.Duration // the reader's own time between reads
}

func (c *conn) SetReadDeadline(t time.Time) error {
	if c.noDL {
		return errors.New("not supported")
	}
	c.deadline = t
	c.deadlines = append(c.deadlines, t)
	return nil
}

func (c *conn) Read(p []byte) (int, error) {
	if len(c.gaps) == 0 {
		return 0, io.EOF
	}
	arrive := c.now.Add(c.gaps[0])
	if !c.noDL && !c.deadline.IsZero() && arrive.After(c.deadline) {
		c.now = c.deadline
		return 0, fmt.Errorf("read tcp: i/o timeout: %w", os.ErrDeadlineExceeded)
	}
	c.now = arrive
	c.gaps = c.gaps[1:]
	return min(len(p), c.chunk), nil
}

func (c *conn) Close() error { return nil }

func gaps(n int, d time.Duration) []time.Duration {
	g := make([]time.Duration, n)
	for i := range g {
		g[i] = d
	}
	return g
}

func TestMinRateBody(t *testing.T) {
	rate := MinRate{BytesPerSecond: 16 << 10, Grace: 10 * time.Second}
	tests := []struct {
		name  string
		c     *conn
		cut   bool
		cutBy time.Duration // the body is cut off by then (waiting time)
	}{
		{"fast upload of 30 MB", &conn{chunk: 1 << 20, gaps: gaps(30, 100*time.Millisecond)}, false, 0},
		{"30 MB over a slow but real link (20 KiB/s)", &conn{chunk: 20 << 10, gaps: gaps(1536, time.Second)}, false, 0},
		{"a long pause within the grace", &conn{chunk: 32 << 10, gaps: append([]time.Duration{9 * time.Second}, gaps(100, 10*time.Millisecond)...)}, false, 0},
		{"a busy reader is not the client's fault", &conn{chunk: 32 << 10, gaps: gaps(100, 0), work: time.Minute}, false, 0},
		{"slow-loris: one byte every 5 s", &conn{chunk: 1, gaps: gaps(100, 5*time.Second)}, true, 11 * time.Second},
		{"nothing after the headers", &conn{chunk: 1, gaps: []time.Duration{time.Hour}}, true, 11 * time.Second},
		{"below the rate after the grace (8 KiB/s)", &conn{chunk: 8 << 10, gaps: gaps(1000, time.Second)}, true, 30 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.c
			c.now = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			start := c.now
			timeouts := 0
			m := rate
			m.Now = func() time.Time { return c.now }
			m.OnTimeout = func() { timeouts++ }
			body := MinRateBody(c, c, m)
			buf := make([]byte, 1<<20)
			var err error
			for err == nil {
				_, err = body.Read(buf)
				c.now = c.now.Add(c.work)
			}
			if !tt.cut {
				if err != io.EOF || timeouts != 0 {
					t.Fatalf("err = %v, timeouts %d", err, timeouts)
				}
				if last := c.deadlines[len(c.deadlines)-1]; !last.IsZero() {
					t.Fatalf("deadline left at %v after the body", last)
				}
				return
			}
			if !errors.Is(err, ErrSlowBody) || timeouts != 1 {
				t.Fatalf("err = %v, timeouts %d", err, timeouts)
			}
			if waited := c.now.Sub(start); waited > tt.cutBy {
				t.Fatalf("cut off after %v, want by %v", waited, tt.cutBy)
			}
			if _, again := body.Read(buf); !errors.Is(again, ErrSlowBody) {
				t.Fatalf("read after the cut: %v", again)
			}
		})
	}
}

func TestMinRateBodyWithoutDeadlines(t *testing.T) {
	c := &conn{chunk: 1, gaps: gaps(3, time.Hour), noDL: true}
	m := MinRate{BytesPerSecond: 1 << 10, Grace: time.Second, Now: func() time.Time { return c.now }}
	data, err := io.ReadAll(MinRateBody(c, c, m))
	if err != nil || len(data) != 3 {
		t.Fatalf("%d bytes, %v", len(data), err)
	}
	if b := MinRateBody(c, c, MinRate{}); b != io.ReadCloser(c) {
		t.Fatal("a zero rate wrapped the body")
	}
}
