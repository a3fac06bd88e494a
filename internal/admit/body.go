package admit

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

// ErrSlowBody is wrapped by the Read of a MinRateBody when the body did not
// arrive at the minimum rate; the connection's read deadline has passed, so
// the rest of the body cannot be read.
var ErrSlowBody = errors.New("admit: the request body arrived too slowly")

// Deadliner sets the read deadline of a request's connection (HTTP/1.x) or
// stream (HTTP/2); *http.ResponseController does.
type Deadliner interface {
	SetReadDeadline(deadline time.Time) error
}

// MinRate is the pace a request body must keep.
type MinRate struct {
	// BytesPerSecond is the lowest average rate accepted once Grace is
	// used up; zero or negative disables the bound.
	BytesPerSecond int64
	// Grace is the waiting a body may cost beyond its bytes at that rate
	// (the client's start, a slow TCP start, a pause).
	Grace time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// OnTimeout, if set, is called when a body is cut off.
	OnTimeout func()
}

// MinRateBody returns body wrapped so that it must arrive at m's pace: the
// time spent waiting for it inside Read, summed over the reads, may not
// exceed m.Grace plus one second per m.BytesPerSecond bytes received. Time
// the reader spends between reads (decoding what it read) does not count,
// so a fast client is never blamed for a busy server. The bound is the
// read deadline of the connection, set before each Read through dl and
// cleared at the end of the body; a Read past it fails with an error
// wrapping ErrSlowBody. If dl cannot set deadlines (the first
// SetReadDeadline fails), the body is returned as it reads, unbounded.
func MinRateBody(body io.ReadCloser, dl Deadliner, m MinRate) io.ReadCloser {
	if m.BytesPerSecond <= 0 || dl == nil || body == nil || body == http.NoBody {
		return body
	}
	if m.Now == nil {
		m.Now = time.Now
	}
	return &rateBody{body: body, dl: dl, m: m}
}

type rateBody struct {
	body   io.ReadCloser
	dl     Deadliner
	m      MinRate
	n      int64         // bytes received
	waited time.Duration // time spent inside Read
	off    bool          // deadlines unsupported
	err    error         // sticky: a cut-off body stays cut off
}

// allowance returns how long the reads may have waited in total once n
// bytes have arrived.
func (b *rateBody) allowance(n int64) time.Duration {
	return b.m.Grace + time.Duration(float64(n)/float64(b.m.BytesPerSecond)*float64(time.Second))
}

func (b *rateBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.off || len(p) == 0 {
		return b.body.Read(p)
	}
	start := b.m.Now()
	left := b.allowance(b.n+1) - b.waited
	if err := b.dl.SetReadDeadline(start.Add(left)); err != nil {
		b.off = true
		return b.body.Read(p)
	}
	n, err := b.body.Read(p)
	b.n += int64(n)
	b.waited += b.m.Now().Sub(start)
	switch {
	case err != nil && errors.Is(err, os.ErrDeadlineExceeded):
		b.err = fmt.Errorf("%w: %d bytes in %v of waiting (at least %d bytes/s after %v)", ErrSlowBody, b.n,
			b.waited.Round(time.Millisecond), b.m.BytesPerSecond, b.m.Grace)
		if b.m.OnTimeout != nil {
			b.m.OnTimeout()
		}
		return n, b.err
	case err != nil:
		// The end of the body (or of the connection): later reads of the
		// connection are the server's, under its own deadlines.
		_ = b.dl.SetReadDeadline(time.Time{})
	}
	return n, err
}

func (b *rateBody) Close() error { return b.body.Close() }
