package query

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kustodian/kustodian/internal/admit"
)

// Limits bound each query and the queries in flight. Zero fields take the
// defaults below, which are Azure's where Azure documents one.
type Limits struct {
	// Timeout is a query's server timeout when the request does not ask
	// for one (Azure: 3 minutes).
	Timeout time.Duration
	// MaxTimeout is the longest timeout a request may ask for with
	// "Prefer: wait=N" (Azure: 10 minutes).
	MaxTimeout time.Duration
	// MaxResultRows is the most rows a result carries (Azure: 500,000);
	// a longer result is cut there and flagged as a partial error.
	MaxResultRows int
	// MaxResultBytes is the most bytes of result data (Azure: 64,000,000);
	// a larger result is cut there and flagged as a partial error.
	MaxResultBytes int64
	// MaxMemoryBytes is the memory one query may hold in materialized
	// state (sort buffers, groups, the result being built).
	MaxMemoryBytes int64
	// MaxConcurrent is how many queries run at once on the server; with
	// MaxMemoryBytes it bounds the memory all queries hold.
	MaxConcurrent int
	// MaxPerPrincipal is how many queries one principal may have running
	// or waiting at once (Azure: 5); more get 429 ThrottledError.
	MaxPerPrincipal int
	// MaxQueued is how many queries may wait for a slot; more get 503.
	// Negative means none wait: a query without a free slot gets 503.
	MaxQueued int
	// QueueTimeout is how long a query waits for a slot before a 503.
	QueueTimeout time.Duration
}

// Defaults of Limits.
const (
	DefaultTimeout         = 3 * time.Minute
	DefaultMaxTimeout      = 10 * time.Minute
	DefaultMaxResultRows   = 500_000
	DefaultMaxResultBytes  = 64_000_000
	DefaultMaxMemoryBytes  = 160 << 20
	DefaultMaxConcurrent   = 3
	DefaultMaxPerPrincipal = 5
	DefaultMaxQueued       = 64
	DefaultQueueTimeout    = 30 * time.Second
)

// SetDefaults fills the zero fields of l with the defaults.
func (l *Limits) SetDefaults() {
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&l.Timeout, DefaultTimeout)
	def(&l.MaxTimeout, DefaultMaxTimeout)
	def(&l.QueueTimeout, DefaultQueueTimeout)
	if l.Timeout > l.MaxTimeout {
		l.MaxTimeout = l.Timeout
	}
	if l.MaxResultRows <= 0 {
		l.MaxResultRows = DefaultMaxResultRows
	}
	if l.MaxResultBytes <= 0 {
		l.MaxResultBytes = DefaultMaxResultBytes
	}
	if l.MaxMemoryBytes <= 0 {
		l.MaxMemoryBytes = DefaultMaxMemoryBytes
	}
	if l.MaxConcurrent <= 0 {
		l.MaxConcurrent = DefaultMaxConcurrent
	}
	if l.MaxPerPrincipal <= 0 {
		l.MaxPerPrincipal = DefaultMaxPerPrincipal
	}
	if l.MaxQueued == 0 { // negative: no queue
		l.MaxQueued = DefaultMaxQueued
	}
}

// gate admits queries: slots of the server-wide admission pool (package
// admit: at most MaxConcurrent running, at most MaxQueued waiting for at
// most QueueTimeout, else 503), and Azure's rule that one principal has
// at most MaxPerPrincipal queries running or waiting (else 429).
type gate struct {
	slots        *admit.Pool
	perPrincipal int

	mu     sync.Mutex
	active map[string]int // per principal: running or waiting
}

// newGate returns the gate of l, with slots from pool or, when pool is
// nil, a pool of its own.
func newGate(l Limits, pool *admit.Pool) *gate {
	if pool == nil {
		pool = admit.New(SlotOptions(l))
	}
	return &gate{slots: pool, perPrincipal: l.MaxPerPrincipal, active: make(map[string]int)}
}

// SlotOptions returns the admission pool of query slots that l describes:
// one unit per query, no per-client share (the gate applies Azure's
// per-principal rule itself).
func SlotOptions(l Limits) admit.Options {
	l.SetDefaults()
	o := admit.Options{
		Name: "queries", Capacity: int64(l.MaxConcurrent), MaxWait: l.QueueTimeout,
		MaxWaiting: l.MaxQueued, RetryAfter: retryAfter * time.Second,
	}
	if l.MaxQueued < 0 {
		o.MaxWait, o.MaxWaiting = 0, 0
	}
	return o
}

// retryAfter is what a refused query is told to wait, in seconds.
const retryAfter = 5

// acquire admits a query of principal, waiting for a slot if need be. The
// returned release must be called once the query's memory is let go.
func (g *gate) acquire(ctx context.Context, principal string) (release func(), err error) {
	g.mu.Lock()
	if g.active[principal] >= g.perPrincipal {
		g.mu.Unlock()
		return nil, throttled("The principal has %d queries running or waiting, the most allowed; retry when one has finished.", g.perPrincipal)
	}
	g.active[principal]++
	g.mu.Unlock()
	leave := func() {
		g.mu.Lock()
		if g.active[principal]--; g.active[principal] == 0 {
			delete(g.active, principal)
		}
		g.mu.Unlock()
	}
	grant, err := g.slots.Acquire(ctx, "", 1)
	if err != nil {
		leave()
		if errors.Is(err, admit.ErrCanceled) && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, busy()
	}
	return func() { grant.Release(); leave() }, nil
}

// state reports the queries running and waiting (for metrics).
func (g *gate) state() (running, waiting int) {
	st := g.slots.Stats()
	return int(st.InFlight), int(st.Waiting)
}

func throttled(format string, args ...any) *apiError {
	e := errorf(http.StatusTooManyRequests, "ThrottledError", format, args...)
	e.retryAfter = retryAfter
	return e
}

func busy() *apiError {
	e := errorf(http.StatusServiceUnavailable, "ServiceUnavailable",
		"The server is running as many queries as its memory allows and the queue is full; retry later.")
	e.retryAfter = retryAfter
	return e
}

// serverTimeout reads "Prefer: wait=N" (seconds): the request's server
// timeout, capped at max; def when absent or malformed.
func serverTimeout(h http.Header, def, max time.Duration) time.Duration {
	for _, v := range h.Values("Prefer") {
		for p := range strings.SplitSeq(v, ",") {
			k, val, ok := strings.Cut(strings.TrimSpace(p), "=")
			if !ok || !strings.EqualFold(strings.TrimSpace(k), "wait") {
				continue
			}
			n, err := strconv.Atoi(strings.TrimSpace(val))
			if err != nil || n <= 0 {
				continue
			}
			d := time.Duration(n) * time.Second
			if d > max || n > int(max/time.Second)+1 {
				return max
			}
			return d
		}
	}
	return def
}

// partialError is the "error" member of a 200 response whose result a
// limit cut short, as Azure writes it.
type partialError struct {
	Code    string          `json:"code"`
	Message string          `json:"message"`
	Details []partialDetail `json:"details"`
}

type partialDetail struct {
	Code    string      `json:"code"`
	Message string      `json:"message"`
	Inner   engineInner `json:"innererror"`
}

type engineInner struct {
	Code         string `json:"code"`
	Message      string `json:"message"`
	Severity     int    `json:"severity"`
	SeverityName string `json:"severityName"`
}

// Inner error codes of partial errors: Kusto's numeric code of
// E_QUERY_RESULT_SET_TOO_LARGE, and the name of E_LOW_MEMORY_CONDITION.
const (
	resultTooLarge = "-2133196797"
	lowMemory      = "E_LOW_MEMORY_CONDITION"
)

func newPartialError(code, inner string) *partialError {
	return &partialError{
		Code: "PartialError", Message: "There were some errors when processing your query.",
		Details: []partialDetail{{
			Code: "EngineError", Message: "Something went wrong processing your query on the server.",
			Inner: engineInner{Code: code, Message: inner, Severity: 2, SeverityName: "Error"},
		}},
	}
}

// tooLarge is the partial error of a result cut at its record count
// limit (rows) or its data size limit.
func tooLarge(rows bool, limit int64) *partialError {
	what := "data size"
	if rows {
		what = "record count"
	}
	return newPartialError(resultTooLarge, fmt.Sprintf(
		"Query result set has exceeded the internal %s limit %d (E_QUERY_RESULT_SET_TOO_LARGE; see https://aka.ms/kustoquerylimits)", what, limit))
}

// capRows cuts rows to at most maxRows rows and maxBytes bytes of JSON,
// and says why it cut them (nil when it did not).
func capRows(rows [][]any, maxRows int, maxBytes int64) ([][]any, *partialError) {
	var size int64
	var scratch []byte
	for i, row := range rows {
		if i == maxRows {
			return rows[:i], tooLarge(true, int64(maxRows))
		}
		// Values, their commas and the row's separator, and brackets.
		for _, v := range row {
			size += valueSize(v, &scratch)
		}
		if size += int64(len(row)) + 2; size > maxBytes {
			return rows[:i], tooLarge(false, maxBytes)
		}
	}
	return rows, nil
}

// valueSize is the length of v's JSON.
func valueSize(v any, scratch *[]byte) int64 {
	switch x := v.(type) {
	case nil:
		return 4
	case bool:
		return 5
	case string:
		return int64(len(x)) + 2 // escapes aside: close enough for a limit
	}
	b, _ := appendValue((*scratch)[:0], v)
	*scratch = b
	return int64(len(b))
}
