package kql

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// runLimited compiles and runs query with limits and returns what Run
// returned.
func runLimited(t *testing.T, tbl *memTable, query string, limits Limits) (*Result, error) {
	t.Helper()
	p, err := compileQuery(t, tbl, query, Options{Limits: limits})
	if err != nil {
		t.Fatalf("Compile(%q): %v", query, err)
	}
	return p.Run(context.Background(), tbl)
}

func TestLimitsDefaults(t *testing.T) {
	tbl := newMemTable(genRows(1), 1)
	p, err := compileQuery(t, tbl, "AppLogs_CL", Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := Limits{MaxMemoryBytes: DefaultMaxMemoryBytes, MaxResultRows: 500_000, MaxResultBytes: 64 << 20}
	if got := p.Limits(); got != want {
		t.Errorf("default limits %+v, want %+v", got, want)
	}
	p, err = compileQuery(t, tbl, "AppLogs_CL", Options{Limits: Limits{MaxMemoryBytes: -1, MaxResultRows: 7}})
	if err != nil {
		t.Fatal(err)
	}
	want = Limits{MaxMemoryBytes: 1<<63 - 1, MaxResultRows: 7, MaxResultBytes: 64 << 20}
	if got := p.Limits(); got != want {
		t.Errorf("limits %+v, want %+v", got, want)
	}
}

// TestMemoryLimit runs queries that hold memory in each kind of operator
// state under a small limit: each fails with a memory LimitError naming
// the operator, and passes with no limit.
func TestMemoryLimit(t *testing.T) {
	rows := genRows(testRows)
	tbl := newMemTable(rows, 512)
	tests := []struct {
		query string
		limit int64
		op    string
	}{
		{"AppLogs_CL | sort by Message_s asc | count", 200_000, "sort"},
		{"AppLogs_CL | top 4000 by Message_s | count", 200_000, "top"},
		{"AppLogs_CL | summarize count() by Message_s | count", 200_000, "summarize"},
		{"AppLogs_CL | summarize dcount(TimeGenerated) by Level_s", 200_000, "summarize"},
		{"AppLogs_CL | summarize max(Message_s), count() by TimeGenerated | count", 200_000, "summarize"},
		{"AppLogs_CL | project Message_s, Level_s, Host_s", 200_000, "result"},
		{"AppLogs_CL | extend " + columns(2000, "c%d = Duration_d * 2") + " | take 1", 200_000, "extend"},
		{"AppLogs_CL | where " + columns(300, "Duration_d + %d > 0", " and ") + " | count", 40_000, "where"},
	}
	for _, tt := range tests {
		_, err := runLimited(t, tbl, tt.query, Limits{MaxMemoryBytes: tt.limit})
		var le *LimitError
		if !errors.As(err, &le) || le.Kind != LimitMemory || le.Limit != tt.limit || le.Op != tt.op {
			t.Errorf("%.80s: Run = %v, want a memory LimitError of %d bytes in %q", tt.query, err, tt.limit, tt.op)
			continue
		}
		if !strings.Contains(le.Error(), "E_LOW_MEMORY_CONDITION") || !strings.Contains(le.Error(), "80DA0001") {
			t.Errorf("memory limit message %q", le.Error())
		}
		if _, err := runLimited(t, tbl, tt.query, Limits{MaxMemoryBytes: -1}); err != nil {
			t.Errorf("%.80s without a memory limit: %v", tt.query, err)
		}
	}
}

// columns repeats format n times with each %d replaced by the index,
// joined by sep (", " by default).
func columns(n int, format string, sep ...string) string {
	j := ", "
	if len(sep) > 0 {
		j = sep[0]
	}
	parts := make([]string, n)
	for i := range parts {
		parts[i] = strings.ReplaceAll(format, "%d", strconv.Itoa(i))
	}
	return strings.Join(parts, j)
}

func TestResultRowLimit(t *testing.T) {
	rows := genRows(testRows)
	tbl := newMemTable(rows, 333)
	tests := []struct {
		query string
		limit int64
		rows  int
		trunc bool
	}{
		{"AppLogs_CL | project Level_s", 100, 100, true},
		{"AppLogs_CL | project Level_s", testRows, testRows, false},
		{"AppLogs_CL | project Level_s", testRows - 1, testRows - 1, true},
		{"AppLogs_CL | sort by TimeGenerated asc | project TimeGenerated", 10, 10, true},
		{"AppLogs_CL | summarize count() by Host_s", 3, 3, true},
		{"AppLogs_CL | summarize count() by Host_s", 5, 5, false},
		{"AppLogs_CL | take 50", 50, 50, false},
		{"AppLogs_CL | where Level_s == 'error'", 1, 1, true},
	}
	for _, tt := range tests {
		res, err := runLimited(t, tbl, tt.query, Limits{MaxResultRows: tt.limit})
		if err != nil {
			t.Errorf("%s (limit %d): %v", tt.query, tt.limit, err)
			continue
		}
		if len(res.Rows) != tt.rows || (res.Truncated != nil) != tt.trunc {
			t.Errorf("%s (limit %d): %d rows, truncated %v; want %d, %v", tt.query, tt.limit, len(res.Rows), res.Truncated, tt.rows, tt.trunc)
		}
		if tt.trunc {
			want := fmt.Sprintf("Query result set has exceeded the internal record count limit %d (E_QUERY_RESULT_SET_TOO_LARGE)", tt.limit)
			if res.Truncated.Kind != LimitResultRows || res.Truncated.Limit != tt.limit || res.Truncated.Error() != want {
				t.Errorf("%s: Truncated = %+v %q", tt.query, res.Truncated, res.Truncated.Error())
			}
		}
	}
	// The first rows are the rows a larger limit returns first.
	res, _ := runLimited(t, tbl, "AppLogs_CL | sort by TimeGenerated asc | project TimeGenerated", Limits{MaxResultRows: 10})
	if res.Rows[9][0] != FormatDatetime(ticks(testBase.Add(9*time.Second))) {
		t.Errorf("truncated sort: %v", res.Rows)
	}
}

func TestResultByteLimit(t *testing.T) {
	rows := genRows(testRows)
	tbl := newMemTable(rows, 333)
	for _, limit := range []int64{1, 200, 10_000, 123_456} {
		res, err := runLimited(t, tbl, "AppLogs_CL | project TimeGenerated, Message_s, Duration_d, Success_b", Limits{MaxResultBytes: limit})
		if err != nil {
			t.Fatalf("limit %d: %v", limit, err)
		}
		tr := res.Truncated
		if tr == nil || tr.Kind != LimitResultBytes || tr.Limit != limit ||
			tr.Error() != fmt.Sprintf("Query result set has exceeded the internal data size limit %d (E_QUERY_RESULT_SET_TOO_LARGE)", limit) {
			t.Fatalf("limit %d: Truncated = %v", limit, tr)
		}
		var size int64
		for _, r := range res.Rows {
			js, _ := json.Marshal(r)
			size += int64(len(js)) + 1
		}
		if size > limit {
			t.Errorf("limit %d: the rows are %d bytes of JSON", limit, size)
		}
		// The next row would not have fitted: rows here are under 200 bytes.
		if size < limit-200 {
			t.Errorf("limit %d: only %d bytes of JSON returned", limit, size)
		}
	}
	res, err := runLimited(t, tbl, "AppLogs_CL | take 3", Limits{MaxResultBytes: 10_000})
	if err != nil || res.Truncated != nil || len(res.Rows) != 3 {
		t.Errorf("small result under the byte limit: %v, %v", res, err)
	}
}

// endless is a Source of batches without end, alike but for their
// TimeGenerated, which never repeats; cancel, when set, is called when the
// source has served after batches.
type endless struct {
	batch  *Batch
	after  int
	cancel func()
	served int
}

func (s *endless) Scan(ctx context.Context, req ScanRequest) (BatchIterator, error) { return s, nil }
func (s *endless) Close() error                                                     { return nil }

func (s *endless) Next(ctx context.Context) (*Batch, error) {
	if s.served == s.after && s.cancel != nil {
		s.cancel()
	}
	b := &Batch{Len: s.batch.Len, Columns: map[string]Vector{}}
	for name, v := range s.batch.Columns {
		b.Columns[name] = v
	}
	tg := NewVector(TypeDatetime, b.Len)
	for i := range tg.Int {
		tg.Int[i] = int64(s.served*b.Len + i)
	}
	b.Columns[timeColumn] = tg
	s.served++
	return b, nil
}

func endlessSource(t *testing.T) (*memTable, *endless) {
	tbl := newMemTable(genRows(1024), 1024)
	it, err := tbl.Scan(context.Background(), ScanRequest{Columns: []string{"Level_s", "Message_s", "Duration_d"}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := it.Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return tbl, &endless{batch: b, after: -1}
}

// TestCancellationStopsAScan runs over an endless source: a cancellation
// stops the scan at the next batch, and a passed deadline before the
// first, as a time LimitError.
func TestCancellationStopsAScan(t *testing.T) {
	tbl, src := endlessSource(t)
	p, err := compileQuery(t, tbl, "AppLogs_CL | where Level_s == 'error' | summarize avg(Duration_d)", Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	src.served, src.after, src.cancel = 0, 5, cancel
	_, err = p.Run(ctx, src)
	if !errors.Is(err, context.Canceled) || src.served != 6 {
		t.Errorf("cancelled after 5 batches: Run = %v after %d batches, want context.Canceled after 6", err, src.served)
	}

	ctx, cancel = context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	src.served, src.after, src.cancel = 0, -1, nil
	_, err = p.Run(ctx, src)
	var le *LimitError
	if !errors.As(err, &le) || le.Kind != LimitTime || !errors.Is(err, context.DeadlineExceeded) || src.served != 0 {
		t.Errorf("past the deadline: Run = %v after %d batches, want a time LimitError before any", err, src.served)
	}
	if !strings.Contains(err.Error(), "80DA0001") {
		t.Errorf("time limit message %q", err.Error())
	}
}

// TestCancelledDuringABatch checks the context inside long loops: the
// budget's poll stops a predicate of many terms part way through.
func TestCancelledDuringABatch(t *testing.T) {
	rows := genRows(64)
	tbl := newMemTable(rows, 64)
	p, err := compileQuery(t, tbl, "AppLogs_CL | where "+columns(50_000, "Message_s has 'x%d'", " or ")+" | count", Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b := &budget{ctx: ctx, limits: p.limits}
	a := &arena{b: b}
	cols := make([]*Vector, len(p.input))
	for _, slot := range p.inputSlots {
		v := tbl.cols[p.input[slot].name]
		cols[slot] = &v
	}
	pred := p.stages[0].(*whereStage).pred
	terms := 0
	counting := &countingFilter{f: func() {
		terms++
		if terms == 100 {
			cancel()
		}
	}}
	or := pred.(*orNode)
	for i := range or.terms {
		or.terms[i] = &spy{x: or.terms[i], hook: counting}
	}
	filter(a, pred, &chunk{n: len(rows), cols: cols}, a.all(len(rows)))
	if !errors.Is(b.err, context.Canceled) || terms > 100+pollEvery {
		t.Errorf("after cancelling at term 100: %d terms evaluated, budget error %v", terms, b.err)
	}
}

type countingFilter struct{ f func() }

// spy counts the filtering of a term.
type spy struct {
	x    cexpr
	hook *countingFilter
}

func (s *spy) typ() Type { return s.x.typ() }
func (s *spy) eval(a *arena, c *chunk, sel []int32) *Vector {
	s.hook.f()
	return s.x.eval(a, c, sel)
}
func (s *spy) filter(a *arena, c *chunk, sel []int32) []int32 {
	s.hook.f()
	return filter(a, s.x, c, sel)
}

func TestCompileStopsAtTheDeadline(t *testing.T) {
	tbl := newMemTable(genRows(1), 1)
	q, err := Parse("AppLogs_CL | where " + columns(5000, "Level_s == 'v%d'", " or "))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	_, err = Compile(ctx, q, tbl, Options{})
	var le *LimitError
	if !errors.As(err, &le) || le.Kind != LimitTime {
		t.Errorf("Compile past its deadline = %v, want a time LimitError", err)
	}
}

// allocated returns the bytes f allocates.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestHugeQueriesCompileAndRunInLinearSpace runs scaled-down versions of
// queries that took tens of seconds and gigabytes: a 55,000-column extend
// and a 1 MB chain of or. Each must allocate a bounded number of bytes per
// byte of query text (before the fixes, the extend took about 24 KB per
// byte and grew quadratically).
func TestHugeQueriesCompileAndRunInLinearSpace(t *testing.T) {
	rows := genRows(1000)
	tbl := newMemTable(rows, 1000)
	errors := countWhere(rows, func(r row) bool { return r.Level == "error" })
	tests := []struct {
		query string
		check func(*Result) bool
	}{
		{"AppLogs_CL | extend " + columns(10_000, "c%d = Duration_d * 2") + " | count",
			func(r *Result) bool { return r.Rows[0][0] == int64(1000) }},
		{"AppLogs_CL | extend " + columns(10_000, "c%d = Duration_d * 2") + " | take 3 | project c9999, Duration_d",
			func(r *Result) bool { return len(r.Rows) == 3 && r.Rows[1][0] == 2*r.Rows[1][1].(float64) }},
		{"AppLogs_CL | extend " + columns(2_000, "c%d = Duration_d * %d") + " | where c1999 > 0 | summarize sum(c1000)",
			func(r *Result) bool { return r.Rows[0][0] != nil }},
		{"AppLogs_CL | project " + strings.Repeat("Level_s, ", 5000) + "Level_s | take 1",
			func(r *Result) bool { return len(r.Columns) == 5001 && r.Columns[5000].Name == "Level_s5000" }},
		{"AppLogs_CL | where " + columns(20_000, "Level_s == 'v%d'", " or ") + " or Level_s == 'error' | count",
			func(r *Result) bool { return r.Rows[0][0] == errors }},
		{"AppLogs_CL | where " + columns(10_000, "Level_s == 'v%d' or Duration_d == -%d", " or ") + " or Level_s == 'error' | count",
			func(r *Result) bool { return r.Rows[0][0] == errors }},
		{"AppLogs_CL | where " + columns(10_000, "Message_s !has 'v%d'", " and ") + " | count",
			func(r *Result) bool { return r.Rows[0][0] == int64(1000) }},
		{"AppLogs_CL | project x = " + strings.Repeat("1 + ", 50_000) + "1 | take 1",
			func(r *Result) bool { return r.Rows[0][0] == int64(50_001) }},
	}
	for _, tt := range tests {
		var res *Result
		var err error
		n := allocated(func() {
			var p *Plan
			if p, err = compileQuery(t, tbl, tt.query, Options{}); err == nil {
				res, err = p.Run(context.Background(), tbl)
			}
		})
		if err != nil {
			t.Errorf("%.60s: %v", tt.query, err)
			continue
		}
		if !tt.check(res) {
			t.Errorf("%.60s: wrong result %.200v", tt.query, res.Rows)
		}
		if perByte := n / uint64(len(tt.query)); perByte > 2000 {
			t.Errorf("%.60s: allocated %d bytes, %d per byte of the query", tt.query, n, perByte)
		}
	}
}

// TestComplexityLimits checks the clear errors for queries beyond the
// compile-time limits.
func TestComplexityLimits(t *testing.T) {
	tbl := newMemTable(genRows(10), 10)
	tests := []struct {
		query string
		kind  string
		msg   string
	}{
		{"AppLogs_CL | where " + strings.Repeat("(", 100_000) + "true" + strings.Repeat(")", 100_000), KindSyntax, "nested too deeply"},
		{"AppLogs_CL | where " + strings.Repeat("not(", 100_000) + "true" + strings.Repeat(")", 100_000), KindSyntax, "nested too deeply"},
		{"print " + strings.Repeat("(", 1_000_000) + "1" + strings.Repeat(")", 1_000_000), KindSyntax, "nested too deeply"},
		{"print " + strings.Repeat("strlen(", 100_000) + "'a'" + strings.Repeat(")", 100_000), KindSyntax, "nested too deeply"},
		{"AppLogs_CL | where x == " + strings.Repeat("-", 100_000) + "1", KindSyntax, "nested too deeply"},
		{"AppLogs_CL" + strings.Repeat(" | where true", 1001), KindSyntax, "too many operators"},
		{"AppLogs_CL | project x = " + strings.Repeat("Duration_d + ", 1000) + "1", KindSemantic, "too deeply nested"},
		{"AppLogs_CL | extend " + columns(1100, "c%d = 1") + strings.Repeat(" | extend a = 1", 990), KindSemantic, "too large"},
	}
	for _, tt := range tests {
		q, err := Parse(tt.query)
		if err == nil {
			_, err = Compile(context.Background(), q, tbl, Options{})
		}
		var e *Error
		if !errors.As(err, &e) || e.Kind != tt.kind || !strings.Contains(e.Message, tt.msg) {
			t.Errorf("%.60s: %v, want a %s containing %q", tt.query, err, tt.kind, tt.msg)
		}
	}
	// A long in list is linear work, and answers (a million terms take a
	// second or two).
	res := runQuery(t, tbl, "AppLogs_CL | where Level_s in ("+strings.Repeat("'x',", 300_000)+"'info') | count", Options{})
	if len(res.Rows) != 1 {
		t.Fatalf("a million-term in: %v", res.Rows)
	}
	// Just under the limits, the same shapes work.
	res = runQuery(t, tbl, "AppLogs_CL | where "+strings.Repeat("(", 150)+"true"+strings.Repeat(")", 150)+" | count", Options{})
	wantCount(t, res, 10)
	res = runQuery(t, tbl, "AppLogs_CL"+strings.Repeat(" | where true", 999)+" | count", Options{})
	wantCount(t, res, 10)
	res = runQuery(t, tbl, "AppLogs_CL | where Duration_d == 0.1 | project x = "+strings.Repeat("Duration_d + ", 998)+"1", Options{})
	if x, ok := res.Rows[0][0].(float64); !ok || math.Abs(x-100.8) > 1e-9 {
		t.Errorf("998 additions of 0.1 and 1: %v", res.Rows)
	}
}

// TestMemoryIsReturned runs a query that holds memory repeatedly: nothing
// it allocated stays reachable afterwards.
func TestMemoryIsReturned(t *testing.T) {
	tbl := newMemTable(genRows(testRows), 512)
	p, err := compileQuery(t, tbl, "AppLogs_CL | extend m = toupper(Message_s) | sort by m | summarize dcount(m) by Host_s", Options{})
	if err != nil {
		t.Fatal(err)
	}
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	if _, err := p.Run(context.Background(), tbl); err != nil {
		t.Fatal(err)
	}
	before := heap()
	for range 5 {
		if _, err := p.Run(context.Background(), tbl); err != nil {
			t.Fatal(err)
		}
	}
	if after := heap(); after > before+1<<20 {
		t.Errorf("heap grew from %d to %d bytes over five runs", before, after)
	}
}

// TestBudgetAccountsAsItGoes checks that an over-limit run stops soon
// after crossing the limit: what it allocated is within a few batches'
// worth of the limit.
func TestBudgetAccountsAsItGoes(t *testing.T) {
	tbl, src := endlessSource(t)
	src.after = -1
	for _, query := range []string{
		"AppLogs_CL | sort by Level_s | count",
		"AppLogs_CL | summarize count() by TimeGenerated, Level_s | count",
		"AppLogs_CL | summarize dcount(TimeGenerated) by Level_s",
		"AppLogs_CL",
		"AppLogs_CL | extend " + columns(3000, "c%d = Duration_d + %d"),
	} {
		p, err := compileQuery(t, tbl, query, Options{Limits: Limits{MaxMemoryBytes: 4 << 20}})
		if err != nil {
			t.Fatal(err)
		}
		src.served = 0
		var le *LimitError
		n := allocated(func() { _, err = p.Run(context.Background(), src) })
		if !errors.As(err, &le) || le.Kind != LimitMemory {
			t.Errorf("%.60s: Run = %v, want a memory LimitError", query, err)
		}
		if n > 40<<20 {
			t.Errorf("%.60s: allocated %d bytes under a 4 MiB limit", query, n)
		}
	}
}
