package kql

import (
	"context"
	"errors"
	"fmt"
)

// Limits bound what one run of a plan may use. The executor checks them as
// the query goes, not after: a run that would exceed MaxMemoryBytes stops
// with a *LimitError before it holds much more, and the result stops
// growing at MaxResultRows or MaxResultBytes. Time is bounded by the
// context given to Compile and Run.
//
// A zero field takes its default; a negative one means no limit.
type Limits struct {
	// MaxMemoryBytes bounds the bytes a run holds in materialized state:
	// sort and top buffers, summarize groups with their keys and aggregate
	// states (dcount sets included), the scratch vectors of computed
	// columns and predicates, and the result being built. It is an
	// estimate of live data, not of the Go heap, which may be up to twice
	// as large between collections.
	MaxMemoryBytes int64
	// MaxResultRows bounds the rows of a result; Azure's limit is 500,000.
	MaxResultRows int64
	// MaxResultBytes bounds the size of a result, estimated as the length
	// of its rows in JSON; Azure's limit is 64 MB (67,108,864 bytes).
	MaxResultBytes int64
}

// The default limits: Azure's for the result, and for memory a share that
// lets eight queries run at once in well under 1 GiB.
const (
	DefaultMaxMemoryBytes = 64 << 20
	DefaultMaxResultRows  = 500_000
	DefaultMaxResultBytes = 64 << 20
)

// withDefaults returns l with zero fields set to their defaults and
// negative ones to "no limit" (the largest int64).
func (l Limits) withDefaults() Limits {
	fill := func(v *int64, def int64) {
		switch {
		case *v == 0:
			*v = def
		case *v < 0:
			*v = 1<<63 - 1
		}
	}
	fill(&l.MaxMemoryBytes, DefaultMaxMemoryBytes)
	fill(&l.MaxResultRows, DefaultMaxResultRows)
	fill(&l.MaxResultBytes, DefaultMaxResultBytes)
	return l
}

// LimitKind says which limit a query reached.
type LimitKind uint8

// The limits a query can reach. Memory and time fail the query; the result
// limits truncate the result (see Result.Truncated).
const (
	LimitMemory      LimitKind = iota + 1 // Limits.MaxMemoryBytes
	LimitTime                             // the context's deadline
	LimitResultRows                       // Limits.MaxResultRows
	LimitResultBytes                      // Limits.MaxResultBytes
)

// String returns the kind's name: "memory", "time", "result rows" or
// "result bytes".
func (k LimitKind) String() string {
	switch k {
	case LimitMemory:
		return "memory"
	case LimitTime:
		return "time"
	case LimitResultRows:
		return "result rows"
	case LimitResultBytes:
		return "result bytes"
	}
	return fmt.Sprintf("LimitKind(%d)", uint8(k))
}

// LimitError reports a query that reached one of its limits. Its message
// follows Kusto's:
//
//	LimitMemory       Query execution has exceeded the allowed limits (80DA0001): ... (E_LOW_MEMORY_CONDITION)
//	LimitTime         Query execution has exceeded the allowed limits (80DA0001): ... timeout ...
//	LimitResultRows   Query result set has exceeded the internal record count limit 500000 (E_QUERY_RESULT_SET_TOO_LARGE)
//	LimitResultBytes  Query result set has exceeded the internal data size limit 67108864 (E_QUERY_RESULT_SET_TOO_LARGE)
//
// A LimitTime error wraps the context's error, so errors.Is(err,
// context.DeadlineExceeded) holds.
type LimitError struct {
	Kind LimitKind
	// Limit is the limit reached: bytes for LimitMemory and
	// LimitResultBytes, rows for LimitResultRows, 0 for LimitTime.
	Limit int64
	// Op names the operator that reached a memory limit ("sort",
	// "summarize", "extend", ...), when one did.
	Op  string
	err error
}

// Error returns Kusto's message for the limit.
func (e *LimitError) Error() string {
	switch e.Kind {
	case LimitMemory:
		where := ""
		if e.Op != "" {
			where = " in '" + e.Op + "'"
		}
		return fmt.Sprintf("Query execution has exceeded the allowed limits (80DA0001): the query needs more memory%s than its limit of %d bytes (E_LOW_MEMORY_CONDITION)", where, e.Limit)
	case LimitTime:
		return "Query execution has exceeded the allowed limits (80DA0001): the query was canceled at its timeout"
	case LimitResultRows:
		return fmt.Sprintf("Query result set has exceeded the internal record count limit %d (E_QUERY_RESULT_SET_TOO_LARGE)", e.Limit)
	case LimitResultBytes:
		return fmt.Sprintf("Query result set has exceeded the internal data size limit %d (E_QUERY_RESULT_SET_TOO_LARGE)", e.Limit)
	}
	return "query limit exceeded"
}

// Unwrap returns the context error of a LimitTime error, else nil.
func (e *LimitError) Unwrap() error { return e.err }

// contextErr turns a context error into the error a query returns: a
// deadline is the query's time limit, a cancellation is returned as is.
func contextErr(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return &LimitError{Kind: LimitTime, err: err}
	}
	return err
}

// pollEvery is how many units of work (expressions compiled, predicate
// terms or result rows processed) pass between checks of the context.
const pollEvery = 1024

// budget is the accounting of one run: the memory it holds against
// Limits.MaxMemoryBytes, its context, and its first failure. A run is one
// goroutine, so the budget needs no locking.
type budget struct {
	ctx    context.Context
	limits Limits
	held   int64
	peak   int64 // the most held at once
	polls  int
	err    error
}

// charge records n more bytes held by op. It reports false, and records a
// memory LimitError, when the run now holds more than its limit.
func (b *budget) charge(n int64, op string) bool {
	if b == nil {
		return true
	}
	b.held += n
	b.peak = max(b.peak, b.held)
	if b.held > b.limits.MaxMemoryBytes && b.err == nil {
		b.err = &LimitError{Kind: LimitMemory, Limit: b.limits.MaxMemoryBytes, Op: op}
	}
	return b.err == nil
}

// ok reports whether the run may go on, checking the context every
// pollEvery calls.
func (b *budget) ok() bool {
	if b == nil {
		return true
	}
	if b.err == nil {
		b.polls++
		if b.polls%pollEvery == 0 {
			if err := b.ctx.Err(); err != nil {
				b.err = contextErr(err)
			}
		}
	}
	return b.err == nil
}

// check checks the context now and returns the run's failure, if any.
func (b *budget) check() error {
	if b.err == nil {
		if err := b.ctx.Err(); err != nil {
			b.err = contextErr(err)
		}
	}
	return b.err
}
