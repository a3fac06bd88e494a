package kql

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func compileQuery(t testing.TB, tbl *memTable, query string, opts Options) (*Plan, error) {
	t.Helper()
	q, err := Parse(query)
	if err != nil {
		t.Fatalf("Parse(%.200q): %v", query, err)
	}
	return Compile(context.Background(), q, tbl, opts)
}

func TestSemanticErrors(t *testing.T) {
	tbl := newMemTable(genRows(10), 4)
	tests := []struct {
		query     string
		line, pos int
		msg       string
	}{
		{"Nope | count", 1, 0, "Failed to resolve table expression named 'Nope'"},
		{"AppLogs_CL | where Nope_s == 'x'", 1, 19, "Failed to resolve scalar expression named 'Nope_s'"},
		{"AppLogs_CL | where frob(Level_s)", 1, 19, "Unknown function: 'frob'"},
		{"AppLogs_CL | where Level_s < 1", 1, 27, "Cannot compare values of types string and long"},
		{"AppLogs_CL | where TimeGenerated > 1h", 1, 33, "Cannot compare values of types datetime and timespan"},
		{"AppLogs_CL | where Duration_d has 'x'", 1, 30, "operator 'has' expects string operands"},
		{"AppLogs_CL | where Level_s", 1, 19, "predicate must be of type bool"},
		{"AppLogs_CL | where Success_b and Level_s", 1, 29, "expects bool operands"},
		{"AppLogs_CL | project x = Level_s + 1", 1, 33, "operator '+' is not defined for string and long"},
		{"AppLogs_CL | where ago(5) < TimeGenerated", 1, 23, "ago() expects a timespan, got long"},
		{"AppLogs_CL | take Level_s", 1, 18, "row count must be a constant"},
		{"AppLogs_CL | where count() > 1", 1, 19, "aggregate function"},
		{"AppLogs_CL | summarize Level_s", 1, 23, "expected an aggregate function call"},
		{"AppLogs_CL | summarize avg(Level_s)", 1, 27, "avg() expects a number or timespan, got string"},
		{"AppLogs_CL | summarize count(Level_s, 1)", 1, 23, "count() expects 0 argument(s)"},
		{"AppLogs_CL | summarize count() by bin(TimeGenerated, 0s)", 1, 53, "bin size must be positive"},
		{"AppLogs_CL | project a = Level_s, a = Host_s", 1, 38, "already projected"},
		{"AppLogs_CL | project Level_s | where Host_s == 'x'", 1, 37, "Failed to resolve scalar expression named 'Host_s'"},
		{"AppLogs_CL | summarize n = count() | where Level_s == 'x'", 1, 43, "named 'Level_s'"},
		{"AppLogs_CL | where Level_s in ('a', Host_s)", 1, 36, "only lists of constants"},
		{"AppLogs_CL | where Duration_d in~ ('a')", 1, 30, "operator 'in~' expects a string operand"},
		{"AppLogs_CL\n| where Level_s == 'x'\n| where bogus > 1", 3, 8, "named 'bogus'"},
	}
	for _, tt := range tests {
		_, err := compileQuery(t, tbl, tt.query, Options{})
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("Compile(%q) = %v, want *Error", tt.query, err)
			continue
		}
		if e.Kind != KindSemantic || e.Line != tt.line || e.Pos != tt.pos || !strings.Contains(e.Message, tt.msg) {
			t.Errorf("Compile(%q) = %s %q at %d:%d, want SemanticError %q at %d:%d", tt.query, e.Kind, e.Message, e.Line, e.Pos, tt.msg, tt.line, tt.pos)
		}
	}
}

type failingCatalog struct{}

func (failingCatalog) Table(ctx context.Context, name string) (*Schema, error) {
	return nil, errors.New("metadata store down")
}

func TestCompileCatalogFailureIsNotQueryError(t *testing.T) {
	q, _ := Parse("T | count")
	_, err := Compile(context.Background(), q, failingCatalog{}, Options{})
	var e *Error
	if err == nil || errors.As(err, &e) {
		t.Fatalf("Compile = %v, want a non-*Error failure", err)
	}
}

func TestScanPushdown(t *testing.T) {
	tbl := newMemTable(genRows(10), 4)
	now := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
	d := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	all := []string{"TimeGenerated", "Level_s", "Message_s", "Duration_d", "Success_b", "Host_s", "Type"}
	tests := []struct {
		query    string
		opts     Options
		cols     []string
		min, max time.Time
		limit    int
	}{
		{query: "AppLogs_CL", cols: all},
		{query: "AppLogs_CL | count", cols: []string{}},
		{query: "AppLogs_CL | take 5", cols: all, limit: 5},
		{query: "AppLogs_CL | project Level_s | take 5", cols: []string{"Level_s"}, limit: 5},
		{query: "AppLogs_CL | where Level_s == 'error' | take 5", cols: all},
		{query: "AppLogs_CL | sort by Duration_d | take 5", cols: all},
		{query: "AppLogs_CL | where Level_s == 'error' | count", cols: []string{"Level_s"}},
		{query: "AppLogs_CL | summarize count() by Level_s", cols: []string{"Level_s"}},
		{query: "AppLogs_CL | summarize avg(Duration_d) by Host_s, bin(TimeGenerated, 1h)", cols: []string{"TimeGenerated", "Duration_d", "Host_s"}},
		{query: "AppLogs_CL | project a = Level_s, Host_s | where a == 'x' | project Host_s", cols: []string{"Level_s", "Host_s"}},
		{query: "AppLogs_CL | extend x = Duration_d * 2 | project x", cols: []string{"Duration_d"}},
		{query: "AppLogs_CL | extend Level_s = Host_s | project Level_s", cols: []string{"Host_s"}},
		{query: "AppLogs_CL | sort by TimeGenerated | project Message_s", cols: []string{"TimeGenerated", "Message_s"}},
		{query: "AppLogs_CL | where Message_s has 'abc123' | take 1", cols: all},
		{
			query: "AppLogs_CL | where TimeGenerated > ago(1h) | count",
			cols:  []string{"TimeGenerated"}, min: now.Add(-time.Hour).Add(100 * time.Nanosecond),
		},
		{
			query: "AppLogs_CL | where TimeGenerated >= ago(1h) and TimeGenerated < now() | count",
			cols:  []string{"TimeGenerated"}, min: now.Add(-time.Hour), max: now,
		},
		{
			query: "AppLogs_CL | where TimeGenerated between (datetime(2024-01-01) .. datetime(2024-01-02)) | count",
			cols:  []string{"TimeGenerated"}, min: d("2024-01-01T00:00:00Z"), max: d("2024-01-02T00:00:00.0000001Z"),
		},
		{
			query: "AppLogs_CL | where TimeGenerated between (datetime(2024-01-01) .. 1h) | where datetime(2024-01-01T00:30:00Z) >= TimeGenerated | count",
			cols:  []string{"TimeGenerated"}, min: d("2024-01-01T00:00:00Z"), max: d("2024-01-01T00:30:00.0000001Z"),
		},
		{
			// The request timespan intersects with the where clause.
			query: "AppLogs_CL | where TimeGenerated > datetime(2024-01-01T06:00:00Z) | summarize count()",
			opts:  Options{TimeMin: d("2024-01-01T00:00:00Z"), TimeMax: d("2024-01-02T00:00:00Z")},
			cols:  []string{"TimeGenerated"}, min: d("2024-01-01T06:00:00.0000001Z"), max: d("2024-01-02T00:00:00Z"),
		},
		{
			// A disjunction bounds nothing.
			query: "AppLogs_CL | where TimeGenerated > ago(1h) or Level_s == 'error' | count",
			cols:  []string{"TimeGenerated", "Level_s"},
		},
		{
			// Only where clauses before any other operator push down.
			query: "AppLogs_CL | take 5 | where TimeGenerated > ago(1h)",
			cols:  all, limit: 5,
		},
		{
			query: "AppLogs_CL | take 5",
			opts:  Options{TimeMin: d("2024-01-01T00:00:00Z")},
			cols:  all, min: d("2024-01-01T00:00:00Z"),
		},
		// Bounds at the ends of the datetime range, and beyond them.
		{
			query: "AppLogs_CL | where TimeGenerated > datetime(9999-12-31T23:59:59.9999999Z) | count",
			cols:  []string{"TimeGenerated"}, min: d("9999-12-31T23:59:59.9999999Z"),
		},
		{
			query: "AppLogs_CL | where TimeGenerated < datetime(0001-01-01) | count",
			cols:  []string{"TimeGenerated"}, max: d("0001-01-01T00:00:00.0000001Z"),
		},
		{
			query: "AppLogs_CL | where TimeGenerated >= datetime(0001-01-01) and TimeGenerated <= datetime(9999-12-31T23:59:59.9999999Z) | count",
			cols:  []string{"TimeGenerated"},
		},
		{
			query: "AppLogs_CL | where TimeGenerated between (datetime(1500-06-01) .. 1d) | count",
			cols:  []string{"TimeGenerated"}, min: d("1500-06-01T00:00:00Z"), max: d("1500-06-02T00:00:00.0000001Z"),
		},
		{
			query: "AppLogs_CL | count",
			opts:  Options{TimeMin: time.Date(12000, 1, 1, 0, 0, 0, 0, time.UTC), TimeMax: time.Date(13000, 1, 1, 0, 0, 0, 0, time.UTC)},
			cols:  []string{"TimeGenerated"}, min: d("9999-12-31T23:59:59.9999999Z"),
		},
		{
			query: "AppLogs_CL | count",
			opts:  Options{TimeMin: time.Date(-5, 1, 1, 0, 0, 0, 0, time.UTC), TimeMax: time.Date(13000, 1, 1, 0, 0, 0, 0, time.UTC)},
			cols:  []string{"TimeGenerated"},
		},
		{
			// Sub-tick bounds round up: v >= 50ns and v < 50ns mean v >= 1 tick and v < 1 tick.
			query: "AppLogs_CL | count",
			opts:  Options{TimeMin: d("2024-01-01T00:00:00.00000005Z"), TimeMax: d("2024-01-02T00:00:00.00000005Z")},
			cols:  []string{"TimeGenerated"}, min: d("2024-01-01T00:00:00.0000001Z"), max: d("2024-01-02T00:00:00.0000001Z"),
		},
	}
	for _, tt := range tests {
		if tt.opts.Now.IsZero() {
			tt.opts.Now = now
		}
		p, err := compileQuery(t, tbl, tt.query, tt.opts)
		if err != nil {
			t.Errorf("Compile(%q): %v", tt.query, err)
			continue
		}
		s := p.Scan()
		if s.Table != "AppLogs_CL" || !slices.Equal(s.Columns, tt.cols) || s.Columns == nil ||
			!s.TimeMin.Equal(tt.min) || !s.TimeMax.Equal(tt.max) || s.Limit != tt.limit {
			t.Errorf("%q: Scan() = %+v, want columns %v, time [%v, %v), limit %d", tt.query, s, tt.cols, tt.min, tt.max, tt.limit)
		}
	}
}

func TestCompileRejectsNowOutsideTheRange(t *testing.T) {
	tbl := newMemTable(genRows(1), 1)
	_, err := compileQuery(t, tbl, "AppLogs_CL | where TimeGenerated > ago(1d)", Options{Now: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)})
	var e *Error
	if err == nil || errors.As(err, &e) {
		t.Fatalf("Compile with Now in year 10000 = %v, want a non-query error", err)
	}
}

// TestRequestTimespanBeyondTheRange checks that request bounds past the
// ends of the datetime range filter exactly.
func TestRequestTimespanBeyondTheRange(t *testing.T) {
	rows := genRows(100)
	tbl := newMemTable(rows, 16)
	far := Options{TimeMin: time.Date(-50, 1, 1, 0, 0, 0, 0, time.UTC), TimeMax: time.Date(20000, 1, 1, 0, 0, 0, 0, time.UTC)}
	wantCount(t, runQuery(t, tbl, "AppLogs_CL | count", far), 100)
	late := Options{TimeMin: time.Date(20000, 1, 1, 0, 0, 0, 0, time.UTC)}
	wantCount(t, runQuery(t, tbl, "AppLogs_CL | count", late), 0)
	early := Options{TimeMax: time.Date(-50, 1, 1, 0, 0, 0, 0, time.UTC)}
	wantCount(t, runQuery(t, tbl, "AppLogs_CL | count", early), 0)
}
