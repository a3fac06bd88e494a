package kql

import (
	"context"
	"strings"
	"testing"
)

// FuzzParse checks that Parse, and Compile and Run of what parses, never
// panic and that failures are *Error with a sane position.
func FuzzParse(f *testing.F) {
	for _, tt := range parseTests {
		f.Add(tt.query)
	}
	for _, q := range parseMoreQueries {
		f.Add(q)
	}
	f.Add("let T = datatable(a: long, d: dynamic)[1, dynamic([1, 2])]; T | mv-expand d | join kind=leftouter (T | project a) on a")
	f.Add("AppLogs_CL | where Message_s has 'abc123' | take 1")
	f.Add("AppLogs_CL | summarize count(), avg(Duration_d) by Level_s, bin(TimeGenerated, 1h) | top 3 by count_")
	f.Add("AppLogs_CL | extend x = Duration_d / 0 | sort by x asc nulls last | project x, y = -x")
	// Datetimes at the edges of their range.
	f.Add("AppLogs_CL | project a = datetime(9999-12-31) + 365d, b = datetime(0001-01-01) - 1tick, c = bin(datetime(1500-06-01), 7d)")
	f.Add("AppLogs_CL | where TimeGenerated between (datetime(0001-01-01) .. timespan(10675199.02:48:05.4775807))")
	f.Add("AppLogs_CL | summarize sum(TimeGenerated - datetime(0001-01-01)), avg(-1h * 1e18)")
	// The datetime, series and IPv4 functions, mv-apply, make-series.
	f.Add("AppLogs_CL | extend d = datetime_diff('week', TimeGenerated, datetime(2000-01-01)), s = format_datetime(startofmonth(TimeGenerated, -3), 'yyyy-MM-dd HH:mm:ss.fff tt'), w = week_of_year(endofyear(TimeGenerated))")
	f.Add("print a = datetime_add('month', 120000, datetime(9999-12-31)), b = make_datetime(9999, 12, 31, 23, 59, 59.9999999), c = format_timespan(-1tick, 'ddddddddd.hh:mm:ss.FFFFFFF'), d = unixtime_nanoseconds_todatetime(-9223372036854775807)")
	f.Add("print ip = parse_ipv4('10.0.0.1/8'), p = ipv4_is_private('172.16.0.0/11'), m = ipv4_is_match('1.2.3.4', '1.2.3.5', 31)")
	f.Add("AppLogs_CL | summarize l = make_list(Duration_d) by Level_s | mv-apply with_itemindex = i x = l to typeof(real) on (top 2 by x | extend y = x * i) | extend (r, s) = series_fit_line(l)")
	f.Add("AppLogs_CL | make-series n = count() default = 0, a = avg(Duration_d) on TimeGenerated from ago(1d) to now() step 1h by Level_s | extend f = series_decompose_anomalies(n, 1.5, -1, 'avg'), (x, y, z) = series_fit_2lines(a)")
	f.Add("print a = 1 | extend b = a + 1, c = b * 2 | project c, d = c + a")
	// Huge and deep inputs: each must fail clearly or run, quickly.
	f.Add("AppLogs_CL | where " + strings.Repeat("(", 100_000) + "true" + strings.Repeat(")", 100_000))
	f.Add("AppLogs_CL | where " + strings.Repeat("not(", 10_000) + "true" + strings.Repeat(")", 10_000))
	f.Add("AppLogs_CL | project x = " + strings.Repeat("-", 10_000) + "1")
	f.Add("AppLogs_CL | where " + strings.Repeat("Level_s == 'a' or ", 20_000) + "true | count")
	f.Add("AppLogs_CL | extend " + strings.Repeat("c = Duration_d * 2, ", 5_000) + "d = 1 | count")
	f.Add("AppLogs_CL | project x = " + strings.Repeat("Duration_d + ", 2_000) + "1")
	f.Add("AppLogs_CL" + strings.Repeat(" | take 1", 1_001))
	tbl := newMemTable(genRows(64), 16)
	f.Fuzz(func(t *testing.T, query string) {
		q, err := Parse(query)
		if err != nil {
			e, ok := err.(*Error)
			if !ok || e.Kind != KindSyntax || e.Line < 1 || e.Pos < 0 {
				t.Fatalf("Parse(%q) error %#v", query, err)
			}
			return
		}
		q.Source.Name = "AppLogs_CL"
		p, err := Compile(context.Background(), q, tbl, Options{})
		if err != nil {
			if e, ok := err.(*Error); !ok || e.Kind != KindSemantic {
				t.Fatalf("Compile(%q) error %#v", query, err)
			}
			return
		}
		if _, err := p.Run(context.Background(), tbl); err != nil {
			// The operators after evaluate pivot() or bag_unpack()
			// compile when the query runs.
			if e, ok := err.(*Error); !ok || e.Kind != KindSemantic {
				t.Fatalf("Run(%q): %v", query, err)
			}
		}
	})
}
