package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/kustodian/kustodian/internal/datetime"
	"github.com/kustodian/kustodian/internal/kql"
	"github.com/kustodian/kustodian/internal/store"
	"github.com/kustodian/kustodian/internal/transform"
)

// Errors Write returns (wrapped) so each front door answers as its API does.
var (
	// ErrRevoked: the workspace's customer-managed key is revoked (403;
	// the sender keeps its data).
	ErrRevoked = errors.New("the workspace's customer-managed key is revoked")
	// ErrUnavailable: storage cannot accept data now (503, retry later).
	ErrUnavailable = errors.New("the workspace's storage is temporarily unavailable")
	// ErrTooManyColumns: the rows would give the table more columns than
	// its limit.
	ErrTooManyColumns = errors.New("too many columns in the table")
)

// DataError is a batch refused for its data (400): Record is the index of
// the offending record in the request, -1 when it is not one record's.
type DataError struct {
	Record int
	Msg    string
}

func (e *DataError) Error() string {
	if e.Record < 0 {
		return e.Msg
	}
	return fmt.Sprintf("record %d: %s", e.Record, e.Msg)
}

func dataErr(rec int, format string, args ...any) error {
	return &DataError{Record: rec, Msg: fmt.Sprintf(format, args...)}
}

// Column is a column of a table's declared schema.
type Column struct {
	Name string
	Type kql.Type
}

// Target is where a batch goes: a workspace's table, and the storage
// account the workspace routes to.
type Target struct {
	CustomerID string // the workspace, lower case
	Route      string // its storage account
	Table      string
	// Schema is the table's declared schema; nil for a classic table,
	// which takes the columns it is given.
	Schema []Column
}

// Storage appends rows to a storage account, returning once they are
// durable. rows holds chunks of one batch, stored all or none.
type Storage interface {
	Append(ctx context.Context, route string, rows []store.Rows, n int) error
}

// Options configure a Pipeline.
type Options struct {
	Storage Storage
	Now     func() time.Time
	// Filtered, if set, is told how many rows a transformation filtered
	// out of a batch (for a metric).
	Filtered func(n int)
}

// Pipeline is the ingestion path after decoding. It is safe for concurrent
// use.
type Pipeline struct{ o Options }

// New returns a pipeline.
func New(o Options) *Pipeline {
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Pipeline{o: o}
}

// Now returns the pipeline's clock.
func (p *Pipeline) Now() time.Time { return p.o.Now() }

// Write checks rows against the target's declared schema (if any) and
// stores them in the target's storage account.
func (p *Pipeline) Write(ctx context.Context, t Target, rows []store.Rows, n int) error {
	if t.Schema != nil {
		have := make(map[string]kql.Type, len(t.Schema))
		for _, c := range t.Schema {
			have[c.Name] = c.Type
		}
		for _, r := range rows {
			for _, c := range r.Columns {
				want, ok := have[c.Name]
				if !ok {
					return dataErr(-1, "the table %s has a declared schema without the column %s: add the column with the tables API", t.Table, c.Name)
				}
				if storeType(want) != c.Type {
					return dataErr(-1, "the column %s of the table %s is %s; the data is %s", c.Name, t.Table, want, c.Type)
				}
			}
		}
	}
	return p.o.Storage.Append(ctx, t.Route, rows, n)
}

// Flow is what the Logs Ingestion API asks of the pipeline for one data
// flow of a rule: the stream's declared columns, the transformation, and
// the target.
type Flow struct {
	In        []transform.Column
	Transform *transform.Transform
	Target    Target
}

// Records runs one flow over decoded records (JSON objects, numbers as
// json.Number): typing them against the stream's declared columns (fields
// the stream does not declare are ignored, as in Azure), transforming,
// typing the output against the table and writing it. It returns the rows
// stored and filtered out.
func (p *Pipeline) Records(ctx context.Context, f Flow, recs []map[string]any) (stored, filtered int, err error) {
	received := receivedTicks(p.o.Now())
	in, err := inputBatch(f.In, recs)
	if err != nil {
		return 0, 0, err
	}
	var out []transform.Column
	var rows [][]any
	if f.Transform == nil || f.Transform.Identity() {
		out = f.In
		rows = batchRows(f.In, in)
	} else {
		res, err := f.Transform.Run(ctx, in)
		if err != nil {
			if ctx.Err() != nil {
				return 0, 0, ctx.Err()
			}
			return 0, 0, dataErr(-1, "the rule's transformation failed on this batch: %v", err)
		}
		out = f.Transform.Out()
		rows = res.Rows
		filtered = len(recs) - len(rows)
		if filtered > 0 && p.o.Filtered != nil {
			p.o.Filtered(filtered)
		}
	}
	if len(rows) == 0 {
		return 0, filtered, nil
	}
	srows, err := typeRows(f.Target, out, rows, received, f.Transform == nil || f.Transform.Identity())
	if err != nil {
		return 0, filtered, err
	}
	if err := p.o.Storage.Append(ctx, f.Target.Route, srows, len(rows)); err != nil {
		return 0, filtered, err
	}
	return len(rows), filtered, nil
}

// inputBatch types records against the stream's columns.
func inputBatch(cols []transform.Column, recs []map[string]any) (*kql.Batch, error) {
	n := len(recs)
	b := &kql.Batch{Len: n, Columns: make(map[string]kql.Vector, len(cols))}
	for _, c := range cols {
		v := kql.NewVector(c.Type, n)
		for i, rec := range recs {
			raw, ok := rec[c.Name]
			if !ok || raw == nil {
				if v.Nulls == nil {
					v.Nulls = kql.NewBitmap(n)
				}
				v.Nulls.Set(i)
				continue
			}
			if err := setValue(&v, i, c, raw); err != nil {
				return nil, dataErr(i, "%v", err)
			}
		}
		b.Columns[c.Name] = v
	}
	return b, nil
}

func setValue(v *kql.Vector, i int, c transform.Column, raw any) error {
	mismatch := func() error {
		return fmt.Errorf("the field %s is declared %s; the value %s is not one", c.Name, transform.TypeName(c.Type), clip(raw))
	}
	switch c.Type {
	case kql.TypeString:
		if s, ok := raw.(string); ok {
			v.Str[i] = s
		} else {
			text, _ := json.Marshal(raw)
			v.Str[i] = string(text)
		}
	case kql.TypeDynamic:
		text, err := json.Marshal(raw)
		if err != nil {
			return mismatch()
		}
		v.Str[i] = string(text)
	case kql.TypeInt, kql.TypeLong:
		num, ok := raw.(json.Number)
		if !ok {
			return mismatch()
		}
		x, err := num.Int64()
		if err != nil {
			f, ferr := num.Float64()
			if ferr != nil || f != math.Trunc(f) || math.Abs(f) > 1<<63 {
				return mismatch()
			}
			x = int64(f)
		}
		if c.Type == kql.TypeInt && (x > math.MaxInt32 || x < math.MinInt32) {
			return mismatch()
		}
		v.Int[i] = x
	case kql.TypeReal:
		num, ok := raw.(json.Number)
		if !ok {
			return mismatch()
		}
		f, err := num.Float64()
		if err != nil {
			return mismatch()
		}
		v.Real[i] = f
	case kql.TypeBool:
		b, ok := raw.(bool)
		if !ok {
			return mismatch()
		}
		v.Bool[i] = b
	case kql.TypeDatetime:
		s, ok := raw.(string)
		if !ok {
			return mismatch()
		}
		t, ok := ParseDatetime(s)
		if !ok {
			return mismatch()
		}
		v.Int[i] = t
	case kql.TypeGUID:
		s, ok := raw.(string)
		if !ok || !isGUID(s) {
			return mismatch()
		}
		v.Str[i] = strings.ToLower(s)
	default:
		return mismatch()
	}
	return nil
}

// batchRows turns a typed input batch into rows of values (datetimes as
// ticks), for the identity transformation.
func batchRows(cols []transform.Column, b *kql.Batch) [][]any {
	rows := make([][]any, b.Len)
	for i := range rows {
		row := make([]any, len(cols))
		for j, c := range cols {
			v := b.Columns[c.Name]
			if v.IsNull(i) {
				continue
			}
			switch c.Type {
			case kql.TypeInt, kql.TypeLong, kql.TypeDatetime:
				row[j] = v.Int[i]
			case kql.TypeReal:
				row[j] = v.Real[i]
			case kql.TypeBool:
				row[j] = v.Bool[i]
			default:
				row[j] = v.Str[i]
			}
		}
		rows[i] = row
	}
	return rows
}

// typeRows converts rows of the output columns to the table's stored
// columns. ticks says datetimes are ticks (the identity) rather than the
// engine's ISO 8601 text.
func typeRows(t Target, out []transform.Column, rows [][]any, received int64, ticks bool) ([]store.Rows, error) {
	schema := map[string]kql.Type{}
	for _, c := range t.Schema {
		schema[c.Name] = c.Type
	}
	n := len(rows)
	tg := make([]int64, n)
	tgCol := -1
	type outCol struct {
		j   int
		col store.Column
		to  kql.Type
	}
	var cols []*outCol
	for j, c := range out {
		if c.Name == store.TimeColumn {
			tgCol = j
			continue
		}
		to, ok := schema[c.Name]
		if !ok {
			if t.Schema != nil {
				// The stream declares a column the table lacks (no
				// transformation): Azure drops it; so do we, by name.
				continue
			}
			to = c.Type
		}
		st := storeType(to)
		sc := store.Column{Name: c.Name, Type: st, Nulls: make([]bool, n)}
		switch to {
		case kql.TypeInt, kql.TypeLong, kql.TypeDatetime, kql.TypeTimespan:
			sc.Ints = make([]int64, n)
		case kql.TypeReal:
			sc.Floats = make([]float64, n)
		case kql.TypeBool:
			sc.Bools = make([]bool, n)
		default:
			sc.Strings = make([]string, n)
		}
		cols = append(cols, &outCol{j: j, col: sc, to: to})
	}
	for i, row := range rows {
		given, has := int64(0), false
		if tgCol >= 0 && row[tgCol] != nil {
			given, has = toTicks(row[tgCol], ticks)
		}
		tg[i] = ResolveTimeGenerated(given, has, received)
		for _, oc := range cols {
			v := row[oc.j]
			if v == nil {
				oc.col.Nulls[i] = true
				continue
			}
			if err := store1(&oc.col, i, v, out[oc.j].Type, oc.to, ticks); err != nil {
				return nil, dataErr(-1, "column %s: %v", oc.col.Name, err)
			}
		}
	}
	var res []store.Rows
	for lo := 0; lo < n; lo += store.MaxBlockRows {
		hi := min(lo+store.MaxBlockRows, n)
		r := store.Rows{Workspace: t.CustomerID, Table: t.Table, TimeGenerated: tg[lo:hi:hi]}
		for _, oc := range cols {
			c := oc.col
			c.Nulls = c.Nulls[lo:hi:hi]
			switch {
			case c.Ints != nil:
				c.Ints = c.Ints[lo:hi:hi]
			case c.Floats != nil:
				c.Floats = c.Floats[lo:hi:hi]
			case c.Bools != nil:
				c.Bools = c.Bools[lo:hi:hi]
			default:
				c.Strings = c.Strings[lo:hi:hi]
			}
			r.Columns = append(r.Columns, c)
		}
		res = append(res, r)
	}
	return res, nil
}

func toTicks(v any, ticks bool) (int64, bool) {
	switch x := v.(type) {
	case int64:
		if ticks {
			return x, true
		}
	case string:
		return ParseDatetime(x)
	}
	return 0, false
}

// store1 stores value v (of type from, a row value) in row i of c (of
// type to).
func store1(c *store.Column, i int, v any, from, to kql.Type, ticks bool) error {
	bad := func() error {
		return fmt.Errorf("the value %s (%s) does not fit the table's type %s", clip(v), from, to)
	}
	switch to {
	case kql.TypeString, kql.TypeDynamic:
		switch x := v.(type) {
		case string:
			c.Strings[i] = x
		case int64:
			if from == kql.TypeDatetime && ticks {
				c.Strings[i] = kql.FormatDatetime(x)
			} else {
				c.Strings[i] = fmt.Sprint(x)
			}
		default:
			text, _ := json.Marshal(x)
			c.Strings[i] = string(text)
		}
	case kql.TypeGUID:
		s, ok := v.(string)
		if !ok || !isGUID(s) {
			return bad()
		}
		c.Strings[i] = strings.ToLower(s)
	case kql.TypeDatetime:
		t, ok := toTicks(v, ticks && from == kql.TypeDatetime)
		if !ok {
			return bad()
		}
		c.Ints[i] = t
	case kql.TypeInt, kql.TypeLong, kql.TypeTimespan:
		x, ok := v.(int64)
		if !ok {
			f, isF := v.(float64)
			if !isF || f != math.Trunc(f) {
				return bad()
			}
			x = int64(f)
		}
		if to == kql.TypeInt && (x > math.MaxInt32 || x < math.MinInt32) {
			return bad()
		}
		c.Ints[i] = x
	case kql.TypeReal:
		switch x := v.(type) {
		case float64:
			c.Floats[i] = x
		case int64:
			c.Floats[i] = float64(x)
		case string: // NaN, Infinity as the engine writes them
			switch x {
			case "NaN":
				c.Floats[i] = math.NaN()
			case "Infinity":
				c.Floats[i] = math.Inf(1)
			case "-Infinity":
				c.Floats[i] = math.Inf(-1)
			default:
				return bad()
			}
		default:
			return bad()
		}
	case kql.TypeBool:
		b, ok := v.(bool)
		if !ok {
			return bad()
		}
		c.Bools[i] = b
	default:
		return bad()
	}
	return nil
}

// storeType maps a table column type to the stored type.
func storeType(t kql.Type) store.ColumnType {
	switch t {
	case kql.TypeInt:
		return store.TypeInt
	case kql.TypeLong:
		return store.TypeLong
	case kql.TypeReal:
		return store.TypeReal
	case kql.TypeBool:
		return store.TypeBool
	case kql.TypeDatetime:
		return store.TypeDateTime
	case kql.TypeTimespan:
		return store.TypeTimeSpan
	case kql.TypeGUID:
		return store.TypeGUID
	case kql.TypeDynamic:
		return store.TypeDynamic
	}
	return store.TypeString
}

// clip renders a value for an error message, at most 64 bytes.
func clip(v any) string {
	var s string
	if str, ok := v.(string); ok {
		s = `"` + str + `"`
	} else {
		b, _ := json.Marshal(v)
		s = string(b)
	}
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return s
}

func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// The TimeGenerated window (Azure's documented values, for every table and
// every ingestion path).
const (
	MaxTimeGeneratedAge  = 48 * time.Hour
	MaxTimeGeneratedLead = 24 * time.Hour
)

// ResolveTimeGenerated returns the TimeGenerated (ticks) stored for a record
// received at received (ticks) whose data gave given (has false when it gave
// none): a given time from received−2 days to received+1 day, both ends
// included, is kept; anything else becomes the received time. It is Azure's
// rule, the same for every front door (see package ingest's documentation
// for the sources).
func ResolveTimeGenerated(given int64, has bool, received int64) int64 {
	if has && given >= received-datetime.SpanTicks(MaxTimeGeneratedAge) && given <= received+datetime.SpanTicks(MaxTimeGeneratedLead) {
		return given
	}
	return received
}

func receivedTicks(now time.Time) int64 {
	if t, ok := datetime.FromTime(now); ok {
		return t
	}
	if now.Before(datetime.Time(datetime.Min)) {
		return datetime.Min
	}
	return datetime.Max
}

// ParseDatetime parses an ISO 8601 / RFC 3339 datetime (no zone means UTC;
// a bare date is midnight) to ticks; ok is false for anything else and for
// instants outside Kusto's range.
func ParseDatetime(s string) (int64, bool) {
	if len(s) < 10 || s[4] != '-' {
		return 0, false
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return datetime.FromTime(t)
		}
	}
	return 0, false
}
