package transform

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/kustodian/kustodian/internal/kql"
)

// SourceTable is the table a transformation reads.
const SourceTable = "source"

// MaxTextBytes bounds the text of a transformation (Azure documents none
// below the rule's own size; this keeps compiling cheap).
const MaxTextBytes = 64 << 10

// Column is a column of a stream or of a transformation's output.
type Column struct {
	Name string
	Type kql.Type
}

// ParseType reads a column type as data collection rules (string, int,
// long, real, boolean, datetime, dynamic) and the tables API (the same,
// dateTime, guid) spell them, case-insensitively, and Kusto's aliases.
func ParseType(name string) (kql.Type, bool) {
	switch strings.ToLower(name) {
	case "boolean", "bool":
		return kql.TypeBool, true
	case "datetime", "date":
		return kql.TypeDatetime, true
	}
	return kql.ParseType(strings.ToLower(name))
}

// TypeName returns the data collection rule's spelling of a type (the
// tables API writes dateTime; see TableTypeName).
func TypeName(t kql.Type) string {
	if t == kql.TypeBool {
		return "boolean"
	}
	return t.String()
}

// TableTypeName returns the tables API's spelling of a type.
func TableTypeName(t kql.Type) string {
	switch t {
	case kql.TypeBool:
		return "boolean"
	case kql.TypeDatetime:
		return "dateTime"
	}
	return t.String()
}

// Transform is a compiled transformation. It is safe for concurrent use.
type Transform struct {
	text string
	in   []Column
	out  []Column
	q    *kql.Query // nil: the identity
}

// Error is a transformation that does not compile or is not allowed.
type Error struct{ Msg string }

func (e *Error) Error() string { return e.Msg }

func fail(format string, args ...any) error { return &Error{Msg: fmt.Sprintf(format, args...)} }

// Compile compiles text over a source with the columns in. It returns an
// *Error for a transformation that does not parse, reads another table,
// uses an operator transformations may not use, or does not type-check.
func Compile(ctx context.Context, text string, in []Column) (*Transform, error) {
	t := &Transform{text: text, in: in}
	trimmed := strings.TrimSpace(text)
	if trimmed == "" || trimmed == SourceTable {
		t.out = in
		return t, nil
	}
	if len(text) > MaxTextBytes {
		return nil, fail("the transformation has %d bytes; at most %d are allowed", len(text), MaxTextBytes)
	}
	q, err := kql.Parse(text)
	if err != nil {
		return nil, fail("the transformation does not parse: %v", err)
	}
	if q.Input != nil || q.Source == nil || q.Source.Name != SourceTable {
		return nil, fail("a transformation must read the table 'source' (for example: source | where ...)")
	}
	for _, l := range q.Lets {
		if l.Expr == nil {
			return nil, fail("let '%s': a transformation's let statements bind scalar values only", l.Name)
		}
	}
	for _, op := range q.Operators {
		switch op.(type) {
		case *kql.WhereOp, *kql.ExtendOp, *kql.ProjectOp, *kql.ProjectAwayOp, *kql.ProjectRenameOp,
			*kql.ProjectKeepOp, *kql.ParseOp:
		default:
			return nil, fail("the operator at line %d, column %d is not supported in transformations: use where, extend, project, project-away, project-rename, project-keep or parse",
				op.Pos().Line, op.Pos().Col)
		}
	}
	plan, err := kql.Compile(ctx, q, catalog{in}, kql.Options{})
	if err != nil {
		var ke *kql.Error
		if errors.As(err, &ke) {
			return nil, fail("the transformation does not compile: %v", err)
		}
		return nil, err
	}
	for _, c := range plan.Columns() {
		typ, ok := kql.ParseType(c.Type)
		if !ok {
			return nil, fmt.Errorf("transform: output column %s has unknown type %q", c.Name, c.Type)
		}
		t.out = append(t.out, Column{Name: c.Name, Type: typ})
	}
	t.q = q
	return t, nil
}

// Identity reports whether the transformation passes rows unchanged.
func (t *Transform) Identity() bool { return t.q == nil }

// Out returns the transformation's output columns.
func (t *Transform) Out() []Column { return t.out }

// Text returns the transformation's text.
func (t *Transform) Text() string { return t.text }

type catalog struct{ cols []Column }

func (c catalog) Table(_ context.Context, name string) (*kql.Schema, error) {
	if name != SourceTable {
		return nil, fmt.Errorf("%w: %s", kql.ErrTableNotFound, name)
	}
	s := &kql.Schema{Name: SourceTable}
	for _, col := range c.cols {
		s.Columns = append(s.Columns, kql.ColumnDef{Name: col.Name, Type: col.Type})
	}
	return s, nil
}

// Run applies the transformation to one batch of rows of the input
// columns and returns the output rows (kql.Result's JSON-ready values),
// aligned with Out. The plan is compiled again for each run (it holds
// per-run state): a few hundred microseconds beside a batch's parsing.
func (t *Transform) Run(ctx context.Context, b *kql.Batch) (*kql.Result, error) {
	plan, err := kql.Compile(ctx, t.q, catalog{t.in}, kql.Options{})
	if err != nil {
		return nil, err
	}
	return plan.Run(ctx, oneBatch{b})
}

type oneBatch struct{ b *kql.Batch }

func (s oneBatch) Scan(context.Context, kql.ScanRequest) (kql.BatchIterator, error) {
	return &iter{b: s.b}, nil
}

type iter struct{ b *kql.Batch }

func (i *iter) Next(context.Context) (*kql.Batch, error) {
	if i.b == nil {
		return nil, io.EOF
	}
	b := i.b
	i.b = nil
	return b, nil
}

func (i *iter) Close() error { return nil }
