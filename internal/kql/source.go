package kql

import (
	"context"
	"time"
)

// Catalog resolves table schemas. Storage implements it.
type Catalog interface {
	// Table returns the schema of the named table, or an error wrapping
	// ErrTableNotFound if there is none.
	Table(ctx context.Context, name string) (*Schema, error)
}

// Schema describes a table.
type Schema struct {
	Name    string
	Columns []ColumnDef
}

// ColumnDef is a column of a table.
type ColumnDef struct {
	Name string
	Type Type
}

// Source scans tables. Storage implements it; the executor pushes down what
// it can through ScanRequest and re-checks everything it pushed down, so a
// Source may return more than was asked (whole blocks, rows outside the time
// range) but never less.
type Source interface {
	Scan(ctx context.Context, req ScanRequest) (BatchIterator, error)
}

// ScanRequest is what a plan asks of a Source.
type ScanRequest struct {
	// Table is the table name as the catalog spells it.
	Table string
	// Columns lists exactly the columns the query reads, in schema order.
	// It may be empty (for example for "T | count"): then only Batch.Len
	// matters. A batch may omit a listed column; the executor reads it as
	// nulls (or empty strings).
	Columns []string
	// TimeMin and TimeMax bound TimeGenerated as the half-open interval
	// [TimeMin, TimeMax). The zero value of either means unbounded. They are
	// derived from the request's timespan and from where clauses on
	// TimeGenerated that precede any other operator. When set, each is a
	// whole number of ticks (100 ns) in UTC within the datetime range, so
	// TicksFromTime converts it exactly.
	TimeMin, TimeMax time.Time
	// Limit, when positive, is the number of rows after which the source
	// may stop. It is set only when the first rows of the table, in any
	// order, are a correct answer (a take with no filter before it).
	Limit int
	// Equal lists the predicates col == "value" on string columns that
	// are conjuncts of the where clauses preceding any other operator
	// (exact, case-sensitive equality): every row of the answer satisfies
	// them, so a source may skip data it knows holds no such row (a block
	// whose value filter rules the value out). The executor re-applies
	// them to what the source returns.
	Equal []Equality
}

// Equality is a predicate Column == Value on a string column.
type Equality struct {
	Column, Value string
}

// BatchIterator yields the batches of a scan.
type BatchIterator interface {
	// Next returns the next batch, or io.EOF after the last one.
	Next(ctx context.Context) (*Batch, error)
	// Close releases the iterator's resources.
	Close() error
}

// Batch is a set of rows in columnar form. Every vector has at least Len
// values; datetime and timespan values are ticks (see Vector). The executor does not retain a batch or its vectors after asking
// for the next one, so a Source may reuse them.
type Batch struct {
	Len     int
	Columns map[string]Vector
}
