package kql

import (
	"context"
	"fmt"
	"io"
	"math"
	"strings"
	"time"
)

// memTable is an in-memory table and Source for tests and benchmarks.
type memTable struct {
	schema    Schema
	n         int
	cols      map[string]Vector
	batchSize int
	// honorTime drops rows outside the pushed time range at batch
	// granularity only, as a block-pruning store would; when false the
	// source ignores the range entirely.
	honorTime bool
	lastReq   ScanRequest
	scans     int
}

func (t *memTable) Table(ctx context.Context, name string) (*Schema, error) {
	if name != t.schema.Name {
		return nil, fmt.Errorf("table %q: %w", name, ErrTableNotFound)
	}
	return &t.schema, nil
}

func (t *memTable) Scan(ctx context.Context, req ScanRequest) (BatchIterator, error) {
	t.lastReq = req
	t.scans++
	for _, c := range req.Columns {
		if _, ok := t.cols[c]; !ok {
			return nil, fmt.Errorf("no column %q", c)
		}
	}
	return &memIter{t: t, req: req}, nil
}

type memIter struct {
	t    *memTable
	req  ScanRequest
	off  int
	rows int
}

func (it *memIter) Next(ctx context.Context) (*Batch, error) {
	t := it.t
	for it.off < t.n {
		if it.req.Limit > 0 && it.rows >= it.req.Limit {
			return nil, io.EOF
		}
		lo, hi := it.off, min(it.off+t.batchSize, t.n)
		it.off = hi
		if t.honorTime {
			tg := t.cols[timeColumn].Int
			if !it.req.TimeMin.IsZero() && tg[hi-1] < ticks(it.req.TimeMin) {
				continue
			}
			if !it.req.TimeMax.IsZero() && tg[lo] >= ticks(it.req.TimeMax) {
				continue
			}
		}
		b := &Batch{Len: hi - lo, Columns: map[string]Vector{}}
		for _, c := range it.req.Columns {
			b.Columns[c] = slice(t.cols[c], lo, hi)
		}
		it.rows += b.Len
		return b, nil
	}
	return nil, io.EOF
}

func (it *memIter) Close() error { return nil }

func slice(v Vector, lo, hi int) Vector {
	out := Vector{Type: v.Type}
	switch v.Type.storage() {
	case storeInt:
		out.Int = v.Int[lo:hi]
	case storeReal:
		out.Real = v.Real[lo:hi]
	case storeStr:
		out.Str = v.Str[lo:hi]
	case storeBool:
		out.Bool = v.Bool[lo:hi]
	}
	if v.Nulls != nil {
		out.Nulls = NewBitmap(hi - lo)
		for i := lo; i < hi; i++ {
			if v.Nulls.Get(i) {
				out.Nulls.Set(i - lo)
			}
		}
	}
	return out
}

// row is one synthetic log record; rows are the ground truth of tests.
type row struct {
	TimeGenerated time.Time
	Level         string
	Message       string
	Duration      float64
	DurationNull  bool
	Success       bool
	Host          string
}

var testBase = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// genRows makes n deterministic records one second apart from testBase.
func genRows(n int) []row {
	rows := make([]row, n)
	for i := range rows {
		r := row{TimeGenerated: testBase.Add(time.Duration(i) * time.Second)}
		switch i % 10 {
		case 0:
			r.Level = "error"
		case 1, 2:
			r.Level = "warning"
		default:
			r.Level = "info"
		}
		if i%50 == 0 {
			r.Level = "Error" // case variants for =~ and has
		}
		r.Host = fmt.Sprintf("host-%d", i%5)
		switch i % 4 {
		case 0:
			r.Message = fmt.Sprintf("GET /api/items/%d served by %s status=200", i, r.Host)
		case 1:
			r.Message = fmt.Sprintf("Connection Timeout after %dms (retrying)", i%300)
		case 2:
			r.Message = fmt.Sprintf("user_login succeeded for user%d", i%100)
		default:
			r.Message = ""
		}
		r.Duration = float64(i%1000) / 10
		r.DurationNull = i%97 == 0
		r.Success = i%7 != 0
		rows[i] = r
	}
	return rows
}

func newMemTable(rows []row, batchSize int) *memTable {
	n := len(rows)
	t := &memTable{
		schema: Schema{Name: "AppLogs_CL", Columns: []ColumnDef{
			{"TimeGenerated", TypeDatetime},
			{"Level_s", TypeString},
			{"Message_s", TypeString},
			{"Duration_d", TypeReal},
			{"Success_b", TypeBool},
			{"Host_s", TypeString},
			{"Type", TypeString},
		}},
		n:         n,
		batchSize: batchSize,
		cols:      map[string]Vector{},
	}
	tg, lvl, msg, dur, ok, host, typ := NewVector(TypeDatetime, n), NewVector(TypeString, n), NewVector(TypeString, n),
		NewVector(TypeReal, n), NewVector(TypeBool, n), NewVector(TypeString, n), NewVector(TypeString, n)
	dur.Nulls = NewBitmap(n)
	for i, r := range rows {
		tg.Int[i] = ticks(r.TimeGenerated)
		lvl.Str[i] = r.Level
		msg.Str[i] = r.Message
		dur.Real[i] = r.Duration
		if r.DurationNull {
			dur.Nulls.Set(i)
			dur.Real[i] = math.NaN() // must never be read
		}
		ok.Bool[i] = r.Success
		host.Str[i] = r.Host
		typ.Str[i] = "AppLogs_CL"
	}
	t.cols["TimeGenerated"], t.cols["Level_s"], t.cols["Message_s"] = tg, lvl, msg
	t.cols["Duration_d"], t.cols["Success_b"], t.cols["Host_s"], t.cols["Type"] = dur, ok, host, typ
	return t
}

// ticks converts a time within the datetime range to ticks.
func ticks(t time.Time) int64 {
	v, ok := TicksFromTime(t)
	if !ok {
		panic(fmt.Sprintf("time %v outside the datetime range", t))
	}
	return v
}

// hasTerm is the reference implementation of has for tests.
func hasTerm(s, term string) bool {
	isTerm := func(r rune) bool {
		return !(r < 0x80 && !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'))
	}
	for _, f := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !isTerm(r) }) {
		if f == strings.ToLower(term) {
			return true
		}
	}
	return false
}
