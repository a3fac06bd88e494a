package kql

import (
	"context"
	"sync"
	"testing"
)

var (
	benchOnce  sync.Once
	benchTable *memTable
)

// benchTab is 1,000,000 synthetic rows served in batches of 8192, with one
// needle ("abc123") in the last batch so the needle query scans it all.
func benchTab() *memTable {
	benchOnce.Do(func() {
		rows := genRows(1_000_000)
		rows[len(rows)-10].Message = "request abc123 failed"
		benchTable = newMemTable(rows, 8192)
	})
	return benchTable
}

func benchQuery(b *testing.B, query string, opts Options, check func(*Result) bool) {
	tbl := benchTab()
	q, err := Parse(query)
	if err != nil {
		b.Fatal(err)
	}
	p, err := Compile(context.Background(), q, tbl, opts)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		res, err := p.Run(context.Background(), tbl)
		if err != nil {
			b.Fatal(err)
		}
		if !check(res) {
			b.Fatalf("unexpected result %v", res.Rows)
		}
	}
}

func BenchmarkCount(b *testing.B) {
	benchQuery(b, "AppLogs_CL | count", Options{}, func(r *Result) bool { return r.Rows[0][0] == int64(1_000_000) })
}

func BenchmarkFilteredCount(b *testing.B) {
	benchQuery(b, `AppLogs_CL | where Level_s == "error" | count`, Options{}, func(r *Result) bool { return r.Rows[0][0] == int64(80_000) })
}

func BenchmarkCountByLevel(b *testing.B) {
	benchQuery(b, "AppLogs_CL | summarize count() by Level_s", Options{}, func(r *Result) bool { return len(r.Rows) == 4 })
}

func BenchmarkNeedle(b *testing.B) {
	benchQuery(b, `AppLogs_CL | where Message_s has "abc123" | take 1`, Options{}, func(r *Result) bool { return len(r.Rows) == 1 })
}

func BenchmarkTimeSliceAvg(b *testing.B) {
	benchQuery(b, `AppLogs_CL | where TimeGenerated between (datetime(2024-01-05T00:00:00Z) .. 1h) | summarize avg(Duration_d)`, Options{},
		func(r *Result) bool { return len(r.Rows) == 1 && r.Rows[0][0] != nil })
}

// BenchmarkCountByReal groups by a real column of 1000 values (with nulls),
// as "summarize count() by status_d" groups Data Collector numbers.
func BenchmarkCountByReal(b *testing.B) {
	benchQuery(b, "AppLogs_CL | summarize count() by Duration_d", Options{}, func(r *Result) bool { return len(r.Rows) == 1001 })
}
