package kql

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"
)

const testRows = 5000

func runQuery(t testing.TB, tbl *memTable, query string, opts Options) *Result {
	t.Helper()
	p, err := compileQuery(t, tbl, query, opts)
	if err != nil {
		t.Fatalf("Compile(%.200q): %v", query, err)
	}
	res, err := p.Run(context.Background(), tbl)
	if err != nil {
		t.Fatalf("Run(%.200q): %v", query, err)
	}
	return res
}

func countWhere(rows []row, f func(r row) bool) int64 {
	var n int64
	for _, r := range rows {
		if f(r) {
			n++
		}
	}
	return n
}

func wantCount(t *testing.T, res *Result, want int64) {
	t.Helper()
	if len(res.Rows) != 1 || len(res.Rows[0]) != 1 {
		t.Fatalf("result %v, want one count", res.Rows)
	}
	if got := res.Rows[0][0]; got != want {
		t.Errorf("count = %v, want %d", got, want)
	}
}

func TestCountAndWhere(t *testing.T) {
	rows := genRows(testRows)
	tbl := newMemTable(rows, 1000)
	lower := strings.ToLower
	tests := []struct {
		query string
		want  func(r row) bool
	}{
		{"AppLogs_CL | count", func(r row) bool { return true }},
		{"AppLogs_CL | where Level_s == 'error' | count", func(r row) bool { return r.Level == "error" }},
		{"AppLogs_CL | where Level_s =~ 'ERROR' | count", func(r row) bool { return lower(r.Level) == "error" }},
		{"AppLogs_CL | where Level_s !~ 'error' | count", func(r row) bool { return lower(r.Level) != "error" }},
		{"AppLogs_CL | where Level_s != 'info' | count", func(r row) bool { return r.Level != "info" }},
		{"AppLogs_CL | where Level_s < 'info' | count", func(r row) bool { return r.Level < "info" }},
		{"AppLogs_CL | where Duration_d > 50 | count", func(r row) bool { return !r.DurationNull && r.Duration > 50 }},
		{"AppLogs_CL | where Duration_d <= 10.5 | count", func(r row) bool { return !r.DurationNull && r.Duration <= 10.5 }},
		{"AppLogs_CL | where 50 < Duration_d | count", func(r row) bool { return !r.DurationNull && r.Duration > 50 }},
		{"AppLogs_CL | where Duration_d == 1 | count", func(r row) bool { return !r.DurationNull && r.Duration == 1 }},
		{"AppLogs_CL | where Duration_d != 1 | count", func(r row) bool { return r.DurationNull || r.Duration != 1 }},
		{"AppLogs_CL | where Success_b | count", func(r row) bool { return r.Success }},
		{"AppLogs_CL | where Success_b == false | count", func(r row) bool { return !r.Success }},
		{"AppLogs_CL | where not(Success_b) | count", func(r row) bool { return !r.Success }},
		{"AppLogs_CL | where isnull(Duration_d) | count", func(r row) bool { return r.DurationNull }},
		{"AppLogs_CL | where isnotnull(Duration_d) | count", func(r row) bool { return !r.DurationNull }},
		{"AppLogs_CL | where isempty(Message_s) | count", func(r row) bool { return r.Message == "" }},
		{"AppLogs_CL | where isnotempty(Message_s) | count", func(r row) bool { return r.Message != "" }},
		{"AppLogs_CL | where not(Duration_d > 50) | count", func(r row) bool { return !r.DurationNull && !(r.Duration > 50) }},
		{"AppLogs_CL | where Level_s == 'error' and Host_s == 'host-0' | count", func(r row) bool { return r.Level == "error" && r.Host == "host-0" }},
		{"AppLogs_CL | where Level_s == 'error' or Host_s == 'host-1' | count", func(r row) bool { return r.Level == "error" || r.Host == "host-1" }},
		{"AppLogs_CL | where not(Level_s == 'error' or Duration_d < 5) | count", func(r row) bool {
			return !(r.Level == "error" || (!r.DurationNull && r.Duration < 5))
		}},
		{"AppLogs_CL | where Message_s has 'timeout' | count", func(r row) bool { return hasTerm(r.Message, "timeout") }},
		{"AppLogs_CL | where Message_s has 'TIME' | count", func(r row) bool { return hasTerm(r.Message, "time") }},
		{"AppLogs_CL | where Message_s has 'user_login' | count", func(r row) bool { return strings.Contains(r.Message, "user_login") }},
		{"AppLogs_CL | where Message_s has 'items/12' | count", func(r row) bool {
			return strings.Contains(r.Message, "items/12 ")
		}},
		{"AppLogs_CL | where Message_s !has 'timeout' | count", func(r row) bool { return !hasTerm(r.Message, "timeout") }},
		{"AppLogs_CL | where Message_s has_cs 'timeout' | count", func(r row) bool { return false }},
		{"AppLogs_CL | where Message_s contains 'TIME' | count", func(r row) bool { return strings.Contains(lower(r.Message), "time") }},
		{"AppLogs_CL | where Message_s !contains 'time' | count", func(r row) bool { return !strings.Contains(lower(r.Message), "time") }},
		{"AppLogs_CL | where Message_s contains_cs 'Time' | count", func(r row) bool { return strings.Contains(r.Message, "Time") }},
		{"AppLogs_CL | where Message_s startswith 'get ' | count", func(r row) bool { return strings.HasPrefix(r.Message, "GET ") }},
		{"AppLogs_CL | where Message_s endswith 'STATUS=200' | count", func(r row) bool { return strings.HasSuffix(r.Message, "status=200") }},
		{"AppLogs_CL | where Message_s !startswith 'get' | count", func(r row) bool { return !strings.HasPrefix(r.Message, "GET") }},
		{"AppLogs_CL | where Host_s in ('host-1', 'host-3') | count", func(r row) bool { return r.Host == "host-1" || r.Host == "host-3" }},
		{"AppLogs_CL | where Host_s !in ('host-1', 'host-3') | count", func(r row) bool { return r.Host != "host-1" && r.Host != "host-3" }},
		{"AppLogs_CL | where Level_s in~ ('ERROR') | count", func(r row) bool { return lower(r.Level) == "error" }},
		{"AppLogs_CL | where Duration_d in (1, 2.5) | count", func(r row) bool { return !r.DurationNull && (r.Duration == 1 || r.Duration == 2.5) }},
		{"AppLogs_CL | where Duration_d between (10 .. 20) | count", func(r row) bool { return !r.DurationNull && r.Duration >= 10 && r.Duration <= 20 }},
		{"AppLogs_CL | where Duration_d !between (10 .. 20) | count", func(r row) bool { return !r.DurationNull && (r.Duration < 10 || r.Duration > 20) }},
		{"AppLogs_CL | where TimeGenerated > datetime(2024-01-01T01:00:00Z) | count", func(r row) bool { return r.TimeGenerated.After(testBase.Add(time.Hour)) }},
		{"AppLogs_CL | where TimeGenerated between (datetime(2024-01-01T00:10:00Z) .. 10m) | count", func(r row) bool {
			s := testBase.Add(10 * time.Minute)
			return !r.TimeGenerated.Before(s) && !r.TimeGenerated.After(s.Add(10*time.Minute))
		}},
		{"AppLogs_CL | where TimeGenerated - datetime(2024-01-01) < 1m | count", func(r row) bool { return r.TimeGenerated.Sub(testBase) < time.Minute }},
		{"AppLogs_CL | where Duration_d * 2 + 1 > 101 | count", func(r row) bool { return !r.DurationNull && r.Duration*2+1 > 101 }},
		{"AppLogs_CL | where strlen(Message_s) > 40 | count", func(r row) bool { return len(r.Message) > 40 }},
		{"AppLogs_CL | where tolower(Level_s) == 'error' | count", func(r row) bool { return lower(r.Level) == "error" }},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			wantCount(t, runQuery(t, tbl, tt.query, Options{}), countWhere(rows, tt.want))
		})
	}
}

// TestTimeRangeRefiltered checks that rows a source returns outside the
// pushed range are dropped, whether the source ignores the range or prunes
// only whole batches.
func TestTimeRangeRefiltered(t *testing.T) {
	rows := genRows(testRows)
	for _, honor := range []bool{false, true} {
		tbl := newMemTable(rows, 333)
		tbl.honorTime = honor
		from, to := testBase.Add(1000*time.Second), testBase.Add(2000*time.Second)
		want := countWhere(rows, func(r row) bool { return !r.TimeGenerated.Before(from) && r.TimeGenerated.Before(to) })
		wantCount(t, runQuery(t, tbl, "AppLogs_CL | count", Options{TimeMin: from, TimeMax: to}), want)
		want = countWhere(rows, func(r row) bool { return r.TimeGenerated.After(to) })
		wantCount(t, runQuery(t, tbl, "AppLogs_CL | where TimeGenerated > datetime(2024-01-01T00:33:20Z) | count", Options{}), want)
		now := testBase.Add(time.Hour)
		want = countWhere(rows, func(r row) bool { return r.TimeGenerated.After(now.Add(-10 * time.Minute)) })
		wantCount(t, runQuery(t, tbl, "AppLogs_CL | where TimeGenerated > ago(10m) | count", Options{Now: now}), want)
	}
}

func TestTakeProjectExtend(t *testing.T) {
	rows := genRows(testRows)
	tbl := newMemTable(rows, 1000)
	res := runQuery(t, tbl, "AppLogs_CL | take 3", Options{})
	if len(res.Rows) != 3 || len(res.Columns) != 7 {
		t.Fatalf("take 3: %d rows, %d columns", len(res.Rows), len(res.Columns))
	}
	if tbl.lastReq.Limit != 3 {
		t.Errorf("take 3 pushed limit %d", tbl.lastReq.Limit)
	}
	if got := runQuery(t, tbl, "AppLogs_CL | take 0", Options{}); len(got.Rows) != 0 {
		t.Errorf("take 0: %d rows", len(got.Rows))
	}
	if got := runQuery(t, tbl, "AppLogs_CL | where Level_s == 'error' | limit 7000", Options{}); int64(len(got.Rows)) != countWhere(rows, func(r row) bool { return r.Level == "error" }) {
		t.Errorf("limit beyond the input: %d rows", len(got.Rows))
	}

	res = runQuery(t, tbl, "AppLogs_CL | where Level_s == 'warning' | project TimeGenerated, L = Level_s, d2 = Duration_d * 2, Duration_d / 0, t = TimeGenerated - 1h, span = TimeGenerated - datetime(2024-01-01), n = 7 / 2, r = 7 / 2.0 | take 2", Options{})
	wantCols := []ResultColumn{{"TimeGenerated", "datetime"}, {"L", "string"}, {"d2", "real"}, {"Column1", "real"}, {"t", "datetime"}, {"span", "timespan"}, {"n", "long"}, {"r", "real"}}
	if !reflect.DeepEqual(res.Columns, wantCols) {
		t.Errorf("columns %v, want %v", res.Columns, wantCols)
	}
	wantRows := [][]any{
		{"2024-01-01T00:00:01Z", "warning", 0.2, "Infinity", "2023-12-31T23:00:01Z", "00:00:01", int64(3), 3.5},
		{"2024-01-01T00:00:02Z", "warning", 0.4, "Infinity", "2023-12-31T23:00:02Z", "00:00:02", int64(3), 3.5},
	}
	if !reflect.DeepEqual(res.Rows, wantRows) {
		t.Errorf("rows %v, want %v", res.Rows, wantRows)
	}

	res = runQuery(t, tbl, "AppLogs_CL | where Duration_d > 99.85 | extend Level_s = toupper(Level_s), x = Duration_d - 0.5 | project Level_s, x, Success_b | take 1", Options{})
	// Row 999 is the first with Duration_d 99.9; 999 % 10 == 9 makes it info.
	want := [][]any{{"INFO", 99.4, true}}
	if !reflect.DeepEqual(res.Rows, want) {
		t.Errorf("extend: rows %v, want %v", res.Rows, want)
	}
	if res.Columns[0].Type != "string" || res.Columns[1].Name != "x" {
		t.Errorf("extend columns %v", res.Columns)
	}
}

func TestSortAndTop(t *testing.T) {
	rows := genRows(testRows)
	tbl := newMemTable(rows, 700)
	res := runQuery(t, tbl, "AppLogs_CL | top 5 by Duration_d | project Duration_d", Options{})
	for _, r := range res.Rows {
		if r[0] != 99.9 {
			t.Errorf("top 5 by Duration_d desc: %v", res.Rows)
			break
		}
	}
	// Nulls come last in descending order and first in ascending order.
	res = runQuery(t, tbl, "AppLogs_CL | sort by Duration_d asc, TimeGenerated desc | project Duration_d, TimeGenerated | take 3", Options{})
	nulls := 0
	for _, r := range rows {
		if r.DurationNull {
			nulls++
		}
	}
	if res.Rows[0][0] != nil || res.Rows[0][1] != FormatDatetime(ticks(testBase.Add(time.Duration(97*(testRows/97))*time.Second))) {
		t.Errorf("asc nulls first, then time desc: %v", res.Rows)
	}
	res = runQuery(t, tbl, "AppLogs_CL | sort by Duration_d | project Duration_d", Options{})
	if len(res.Rows) != testRows || res.Rows[0][0] != 99.9 || res.Rows[testRows-1][0] != nil || res.Rows[testRows-nulls][0] != nil || res.Rows[testRows-nulls-1][0] != 0.0 {
		t.Errorf("sort desc: first %v, last %v", res.Rows[0], res.Rows[testRows-1])
	}
	for i := 1; i < testRows-nulls; i++ {
		if res.Rows[i-1][0].(float64) < res.Rows[i][0].(float64) {
			t.Fatalf("sort desc out of order at %d", i)
		}
	}
	// top with a large N over several compactions keeps the right rows.
	res = runQuery(t, tbl, "AppLogs_CL | top 4000 by TimeGenerated asc | project TimeGenerated", Options{})
	if len(res.Rows) != 4000 || res.Rows[3999][0] != FormatDatetime(ticks(testBase.Add(3999*time.Second))) {
		t.Errorf("top 4000 asc: %d rows, last %v", len(res.Rows), res.Rows[len(res.Rows)-1])
	}
	res = runQuery(t, tbl, "AppLogs_CL | order by Host_s asc, Level_s | take 2 | project Host_s, Level_s", Options{})
	if !reflect.DeepEqual(res.Rows, [][]any{{"host-0", "info"}, {"host-0", "info"}}) {
		t.Errorf("order by two keys: %v", res.Rows)
	}
}

func TestSummarize(t *testing.T) {
	rows := genRows(testRows)
	tbl := newMemTable(rows, 1024)

	res := runQuery(t, tbl, "AppLogs_CL | summarize count() by Level_s | sort by Level_s asc", Options{})
	counts := map[string]int64{}
	for _, r := range rows {
		counts[r.Level]++
	}
	var levels []string
	for l := range counts {
		levels = append(levels, l)
	}
	sort.Strings(levels)
	var want [][]any
	for _, l := range levels {
		want = append(want, []any{l, counts[l]})
	}
	if !reflect.DeepEqual(res.Rows, want) || !reflect.DeepEqual(res.Columns, []ResultColumn{{"Level_s", "string"}, {"count_", "long"}}) {
		t.Errorf("count by level: %v %v, want %v", res.Columns, res.Rows, want)
	}

	// Every aggregate, by host, against a hand computation.
	type acc struct {
		n, ok, nonNull int64
		sum, min, max  float64
		levels         map[string]bool
	}
	hosts := map[string]*acc{}
	for _, r := range rows {
		a := hosts[r.Host]
		if a == nil {
			a = &acc{min: 1e9, max: -1e9, levels: map[string]bool{}}
			hosts[r.Host] = a
		}
		a.n++
		if r.Success {
			a.ok++
		}
		a.levels[r.Level] = true
		if !r.DurationNull {
			a.nonNull++
			a.sum += r.Duration
			a.min = min(a.min, r.Duration)
			a.max = max(a.max, r.Duration)
		}
	}
	res = runQuery(t, tbl, "AppLogs_CL | summarize n = count(), countif(Success_b), sum(Duration_d), avg(Duration_d), min(Duration_d), max(Duration_d), dcount(Level_s), last = max(TimeGenerated) by Host_s | sort by Host_s asc", Options{})
	wantCols := []ResultColumn{{"Host_s", "string"}, {"n", "long"}, {"countif_", "long"}, {"sum_Duration_d", "real"}, {"avg_Duration_d", "real"},
		{"min_Duration_d", "real"}, {"max_Duration_d", "real"}, {"dcount_Level_s", "long"}, {"last", "datetime"}}
	if !reflect.DeepEqual(res.Columns, wantCols) {
		t.Errorf("columns %v, want %v", res.Columns, wantCols)
	}
	if len(res.Rows) != 5 {
		t.Fatalf("%d groups, want 5", len(res.Rows))
	}
	near := func(x any, y float64) bool { f, ok := x.(float64); return ok && f-y < 1e-6 && y-f < 1e-6 }
	for _, r := range res.Rows {
		a := hosts[r[0].(string)]
		if r[1] != a.n || r[2] != a.ok || !near(r[3], a.sum) || !near(r[4], a.sum/float64(a.nonNull)) ||
			r[5] != a.min || r[6] != a.max || r[7] != int64(len(a.levels)) {
			t.Errorf("host %v: got %v, want %+v", r[0], r, *a)
		}
	}

	// bin() on time with two keys; names and hour buckets.
	res = runQuery(t, tbl, "AppLogs_CL | summarize c = count() by bin(TimeGenerated, 1h), Success_b | sort by TimeGenerated asc, Success_b asc", Options{})
	if res.Columns[0] != (ResultColumn{"TimeGenerated", "datetime"}) {
		t.Errorf("bin column %v", res.Columns[0])
	}
	byHour := map[string]int64{}
	for _, r := range rows {
		byHour[fmt.Sprint(r.TimeGenerated.Truncate(time.Hour).Format(time.RFC3339), r.Success)]++
	}
	if len(res.Rows) != len(byHour) {
		t.Errorf("%d hour groups, want %d", len(res.Rows), len(byHour))
	}
	for _, r := range res.Rows {
		if k := fmt.Sprint(r[0], r[1]); r[2] != byHour[k] {
			t.Errorf("bucket %s: %v, want %d", k, r[2], byHour[k])
		}
	}

	// No groups: one row even without input; summarize by alone is distinct.
	res = runQuery(t, tbl, "AppLogs_CL | where Level_s == 'none' | summarize count(), avg(Duration_d)", Options{})
	if !reflect.DeepEqual(res.Rows, [][]any{{int64(0), nil}}) {
		t.Errorf("empty summarize: %v", res.Rows)
	}
	res = runQuery(t, tbl, "AppLogs_CL | where Level_s == 'none' | summarize count() by Host_s", Options{})
	if len(res.Rows) != 0 {
		t.Errorf("empty grouped summarize: %v", res.Rows)
	}
	res = runQuery(t, tbl, "AppLogs_CL | summarize by Host_s | count", Options{})
	wantCount(t, res, 5)
	// Filter and sort after summarize; group by a nullable number.
	res = runQuery(t, tbl, "AppLogs_CL | summarize n = count() by Duration_d | where isnull(Duration_d) | project n", Options{})
	wantCount(t, res, countWhere(rows, func(r row) bool { return r.DurationNull }))
	res = runQuery(t, tbl, "AppLogs_CL | summarize n = count() by Level_s | top 1 by n", Options{})
	if res.Rows[0][0] != "info" || res.Rows[0][1] != counts["info"] {
		t.Errorf("top after summarize: %v", res.Rows)
	}
}

func TestMissingColumnReadsAsNull(t *testing.T) {
	rows := genRows(10)
	tbl := newMemTable(rows, 4)
	tbl.schema.Columns = append(tbl.schema.Columns, ColumnDef{"Added_d", TypeReal}, ColumnDef{"Added_s", TypeString})
	tbl.cols["Added_d"] = Vector{Type: TypeReal} // zero-length: the source omits it below
	it := &omitSource{tbl}
	q, _ := Parse("AppLogs_CL | where isnull(Added_d) and isempty(Added_s) | count")
	p, err := Compile(context.Background(), q, tbl, Options{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := p.Run(context.Background(), it)
	if err != nil {
		t.Fatal(err)
	}
	wantCount(t, res, 10)
}

// omitSource serves a table but leaves out columns it does not have.
type omitSource struct{ t *memTable }

func (s *omitSource) Scan(ctx context.Context, req ScanRequest) (BatchIterator, error) {
	var cols []string
	for _, c := range req.Columns {
		if v, ok := s.t.cols[c]; ok && v.Len() > 0 {
			cols = append(cols, c)
		}
	}
	req.Columns = cols
	return s.t.Scan(ctx, req)
}

func TestRunRejectsWrongTypes(t *testing.T) {
	tbl := newMemTable(genRows(10), 4)
	p, err := compileQuery(t, tbl, "AppLogs_CL | where Level_s == 'x' | count", Options{})
	if err != nil {
		t.Fatal(err)
	}
	tbl.cols["Level_s"] = NewVector(TypeLong, 10)
	if _, err := p.Run(context.Background(), tbl); err == nil {
		t.Fatal("Run accepted a long vector for a string column")
	}
}

// TestSummarizeKeysSharingCacheSlot: keys of equal length and first byte
// ("host-0" … "host-4") share a slot of the grouper's recent-key cache and
// must still be told apart, across batches.
func TestSummarizeKeysSharingCacheSlot(t *testing.T) {
	rows := genRows(testRows)
	tbl := newMemTable(rows, 7)
	res := runQuery(t, tbl, "AppLogs_CL | summarize count() by Host_s | sort by Host_s asc", Options{})
	counts := map[string]int64{}
	for _, r := range rows {
		counts[r.Host]++
	}
	if len(res.Rows) != len(counts) {
		t.Fatalf("%d groups, want %d: %v", len(res.Rows), len(counts), res.Rows)
	}
	for _, r := range res.Rows {
		if r[1] != counts[r[0].(string)] {
			t.Fatalf("group %v counted %v, want %d", r[0], r[1], counts[r[0].(string)])
		}
	}
}
