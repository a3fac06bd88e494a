package kql

import (
	"errors"
	"math"
	"math/big"
	"reflect"
	"strings"
	"testing"
	"time"
)

func date(y int, m time.Month, d, h, min, s, ns int) time.Time {
	return time.Date(y, m, d, h, min, s, ns, time.UTC)
}

func TestTicksFromTime(t *testing.T) {
	tests := []struct {
		t     time.Time
		ticks int64
		ok    bool
	}{
		{date(1970, 1, 1, 0, 0, 0, 0), 0, true},
		{date(1970, 1, 1, 0, 0, 0, 199), 1, true}, // below a tick is dropped
		{date(1969, 12, 31, 23, 59, 59, 999_999_900), -1, true},
		{date(1, 1, 1, 0, 0, 0, 0), MinDatetimeTicks, true},
		{date(9999, 12, 31, 23, 59, 59, 999_999_900), MaxDatetimeTicks, true},
		{date(9999, 12, 31, 23, 59, 59, 999_999_999), MaxDatetimeTicks, true},
		{date(1500, 6, 1, 0, 0, 0, 0), -171513 * ticksPerDay, true},
		{date(10000, 1, 1, 0, 0, 0, 0), 0, false},
		{date(0, 12, 31, 23, 59, 59, 999_999_999), 0, false},
		{time.Date(1, 1, 1, 0, 30, 0, 0, time.FixedZone("+01:00", 3600)), 0, false},
	}
	for _, tt := range tests {
		ticks, ok := TicksFromTime(tt.t)
		if ticks != tt.ticks || ok != tt.ok {
			t.Errorf("TicksFromTime(%v) = %d, %v; want %d, %v", tt.t, ticks, ok, tt.ticks, tt.ok)
		}
		if !ok {
			continue
		}
		back := TimeFromTicks(ticks)
		if want := tt.t.UTC().Truncate(100 * time.Nanosecond); tt.t.Nanosecond()%100 == 0 && !back.Equal(want) {
			t.Errorf("TimeFromTicks(%d) = %v, want %v", ticks, back, want)
		}
		if back.Location() != time.UTC {
			t.Errorf("TimeFromTicks(%d) is in %v, want UTC", ticks, back.Location())
		}
	}
	if got := TimespanFromDuration(-1500 * time.Millisecond); got != -15_000_000 {
		t.Errorf("TimespanFromDuration(-1.5s) = %d", got)
	}
}

func TestFormatDatetime(t *testing.T) {
	tests := []struct {
		ticks int64
		want  string
	}{
		{0, "1970-01-01T00:00:00Z"},
		{1, "1970-01-01T00:00:00.0000001Z"},
		{-1, "1969-12-31T23:59:59.9999999Z"},
		{5_000_000, "1970-01-01T00:00:00.5Z"},
		{1_234_000, "1970-01-01T00:00:00.1234Z"},
		{MinDatetimeTicks, "0001-01-01T00:00:00Z"},
		{MaxDatetimeTicks, "9999-12-31T23:59:59.9999999Z"},
		{ticks(date(1500, 6, 1, 0, 0, 0, 0)), "1500-06-01T00:00:00Z"},
		{ticks(date(2024, 2, 29, 13, 5, 9, 120_000_000)), "2024-02-29T13:05:09.12Z"},
	}
	for _, tt := range tests {
		if got := FormatDatetime(tt.ticks); got != tt.want {
			t.Errorf("FormatDatetime(%d) = %q, want %q", tt.ticks, got, tt.want)
		}
	}
}

func TestFormatTimespan(t *testing.T) {
	tests := []struct {
		ticks int64
		want  string
	}{
		{0, "00:00:00"},
		{ticksPerHour, "01:00:00"},
		{90 * ticksPerMinute, "01:30:00"},
		{26*ticksPerHour + 5, "1.02:00:00.0000005"},
		{15_000_000, "00:00:01.5000000"},
		{1, "00:00:00.0000001"},
		{-ticksPerMinute, "-00:01:00"},
		{MaxDatetimeTicks - MinDatetimeTicks, "3652058.23:59:59.9999999"},
		{math.MaxInt64, "10675199.02:48:05.4775807"},
		{math.MinInt64, "-10675199.02:48:05.4775808"},
	}
	for _, tt := range tests {
		if got := FormatTimespan(tt.ticks); got != tt.want {
			t.Errorf("FormatTimespan(%d) = %q, want %q", tt.ticks, got, tt.want)
		}
	}
}

// TestDatetimeExpressions evaluates expressions at the edges of the datetime
// and timespan ranges and compares their JSON values.
func TestDatetimeExpressions(t *testing.T) {
	tbl := newMemTable(genRows(1), 1)
	const maxSpan = "timespan(10675199.02:48:05.4775807)"
	tests := []struct {
		expr string
		typ  string
		want any
	}{
		{"datetime(0001-01-01)", "datetime", "0001-01-01T00:00:00Z"},
		{"datetime(9999-12-31T23:59:59.9999999Z)", "datetime", "9999-12-31T23:59:59.9999999Z"},
		{"datetime(1500-06-01)", "datetime", "1500-06-01T00:00:00Z"},
		{"datetime(1500-06-01 12:30)", "datetime", "1500-06-01T12:30:00Z"},
		{"datetime(2024-01-01T00:00:00.1234567Z)", "datetime", "2024-01-01T00:00:00.1234567Z"},
		{"datetime(2024-01-01 10:00:00.123456789)", "datetime", "2024-01-01T10:00:00.1234567Z"},
		{"datetime(2024-01-01T00:00:00.5)", "datetime", "2024-01-01T00:00:00.5Z"},
		{"datetime(2024-01-01T01:00:00+01:00)", "datetime", "2024-01-01T00:00:00Z"},
		{"datetime(null)", "datetime", nil},

		// Arithmetic at both edges is null beyond the range.
		{"datetime(9999-12-31) + 365d", "datetime", nil},
		{"datetime(9999-12-31) + 1d", "datetime", nil},
		{"datetime(9999-12-31) + 1d - 1tick", "datetime", nil}, // left to right
		{"datetime(9999-12-31) + (1d - 1tick)", "datetime", "9999-12-31T23:59:59.9999999Z"},
		{"datetime(9999-12-31T23:59:59.9999999Z) + 1tick", "datetime", nil},
		{"1tick + datetime(9999-12-31T23:59:59.9999999Z)", "datetime", nil},
		{"datetime(0001-01-01) - 1tick", "datetime", nil},
		{"datetime(0001-01-01) - 1d", "datetime", nil},
		{"datetime(0001-01-01) - -1d", "datetime", "0001-01-02T00:00:00Z"},
		{"datetime(0001-01-01) + " + maxSpan, "datetime", nil},
		{"datetime(9999-12-31) - " + maxSpan, "datetime", nil},
		{"datetime(9999-12-31) - datetime(0001-01-01)", "timespan", "3652058.00:00:00"},
		{"datetime(0001-01-01) - datetime(9999-12-31)", "timespan", "-3652058.00:00:00"},
		{"datetime(1500-06-01) - datetime(1970-01-01)", "timespan", "-171513.00:00:00"},

		// Timespans: int64 ticks, null on overflow.
		{"1tick", "timespan", "00:00:00.0000001"},
		{"100ms + 10microsecond", "timespan", "00:00:00.1000100"},
		{"1.5h", "timespan", "01:30:00"},
		{maxSpan, "timespan", "10675199.02:48:05.4775807"},
		{maxSpan + " + 1tick", "timespan", nil},
		{"-" + maxSpan + " - 1tick", "timespan", "-10675199.02:48:05.4775808"},
		{"-" + maxSpan + " - 2tick", "timespan", nil},
		{"-(-" + maxSpan + " - 1tick)", "timespan", nil},
		{"1d * 2", "timespan", "2.00:00:00"},
		{"2 * 1h", "timespan", "02:00:00"},
		{"1d * 10675200", "timespan", nil},
		{"-1d * 10675199", "timespan", "-10675199.00:00:00"},
		{"1h * 1.5", "timespan", "01:30:00"},
		{"0.25 * 1h", "timespan", "00:15:00"},
		{"1h * 1e300", "timespan", nil},
		{"1h / 4", "timespan", "00:15:00"},
		{"1h / 0", "timespan", nil},
		{"1h / 0.0", "timespan", nil},
		{"1h / 3.0", "timespan", "00:20:00"},
		{"1d / 1h", "real", 24.0},
		{"timespan(-1.02:03:04.5)", "timespan", "-1.02:03:04.5000000"},

		// bin and floor on datetimes count from 0001-01-01, a Monday.
		{"bin(datetime(1500-06-01T13:45:00), 1d)", "datetime", "1500-06-01T00:00:00Z"},
		{"bin(datetime(1500-06-01T13:45:00), 1h)", "datetime", "1500-06-01T13:00:00Z"},
		{"bin(datetime(0001-01-03T05:00:00), 7d)", "datetime", "0001-01-01T00:00:00Z"},
		{"bin(datetime(2024-01-04), 7d)", "datetime", "2024-01-01T00:00:00Z"},
		{"bin(datetime(1969-12-31T23:59:59.5), 1s)", "datetime", "1969-12-31T23:59:59Z"},
		{"floor(datetime(0001-01-01T00:00:00.5), 1s)", "datetime", "0001-01-01T00:00:00Z"},
		{"bin(datetime(9999-12-31T23:59:59.9999999Z), 1d)", "datetime", "9999-12-31T00:00:00Z"},
		{"bin(-90m, 1h)", "timespan", "-02:00:00"},
		{"bin(-" + maxSpan + " - 1tick, 3tick)", "timespan", nil},

		// Comparisons across the range; a comparison with null is null.
		{"datetime(0001-01-01) < datetime(9999-12-31)", "bool", true},
		{"datetime(1500-06-01) > datetime(1500-05-31T23:59:59.9999999)", "bool", true},
		{"datetime(1969-12-31T23:59:59.9999999) < datetime(1970-01-01)", "bool", true},
		{"datetime(9999-12-31) + 365d > datetime(2000-01-01)", "bool", nil},
		{"datetime(9999-12-30) between (datetime(9999-12-29) .. 3d)", "bool", false},
		{"datetime(1500-06-01) between (datetime(1500-01-01) .. 365d)", "bool", true},
		{"-1tick < 0s", "bool", true},

		// now() and ago() read Options.Now, here 0001-01-01T12:00:00Z.
		{"now()", "datetime", "0001-01-01T12:00:00Z"},
		{"ago(12h)", "datetime", "0001-01-01T00:00:00Z"},
		{"ago(1d)", "datetime", nil},
		{"now(-1d)", "datetime", nil},
	}
	opts := Options{Now: date(1, 1, 1, 12, 0, 0, 0)}
	for _, tt := range tests {
		res := runQuery(t, tbl, "AppLogs_CL | project v = "+tt.expr, opts)
		if res.Columns[0].Type != tt.typ || len(res.Rows) != 1 || !reflect.DeepEqual(res.Rows[0][0], tt.want) {
			t.Errorf("%s = %v (%s), want %v (%s)", tt.expr, res.Rows, res.Columns[0].Type, tt.want, tt.typ)
		}
	}
}

func TestDatetimeLiteralErrors(t *testing.T) {
	tests := []struct{ query, msg string }{
		{"T | where t > datetime(10000-01-01)", "datetime literal '10000-01-01' is out of range"},
		{"T | where t > datetime(123456-01-01T00:00:00Z)", "is out of range"},
		{"T | where t > datetime(0001-01-01T00:00:00+01:00)", "is out of range"},
		{"T | where t > datetime(9999-12-31T23:59:59-01:00)", "is out of range"},
		{"T | where t > datetime(0000-12-31)", "is out of range"},
		{"T | where t > datetime(2024-13-01)", "invalid datetime literal"},
		{"T | where t > timespan(10675200.00:00:00)", "timespan literal '10675200.00:00:00' is out of range"},
		{"T | where t > timespan(10675199.02:48:05.4775808)", "is out of range"},
		{"T | where t > 10675200d", "timespan literal '10675200d' is out of range"},
		{"T | where t > 99999999999999999999d", "is out of range"},
		{"T | where t > 1e3d", "invalid timespan literal"},
		{"T | where t > 930000000000000.5s", "is out of range"},
		{"T | where t > timespan(1.25:00:00)", "invalid timespan literal"},
		{"T | where t > timespan(00:00:00.1234567891)", "invalid timespan literal"},
	}
	for _, tt := range tests {
		_, err := Parse(tt.query)
		var e *Error
		if !errors.As(err, &e) || e.Kind != KindSyntax || !strings.Contains(e.Message, tt.msg) {
			t.Errorf("Parse(%q) = %v, want a SyntaxError containing %q", tt.query, err, tt.msg)
		}
	}
}

// TestDatetimeColumnAcrossTheRange runs operators over stored datetimes
// from year 1 to year 9999.
func TestDatetimeColumnAcrossTheRange(t *testing.T) {
	rows := genRows(6)
	stamps := []time.Time{
		date(9999, 12, 31, 23, 59, 59, 999_999_900),
		date(1, 1, 1, 0, 0, 0, 0),
		date(1500, 6, 1, 13, 45, 0, 0),
		date(1969, 12, 31, 23, 59, 59, 500_000_000),
		date(1500, 6, 1, 2, 0, 0, 0),
		date(2024, 1, 1, 0, 0, 0, 0),
	}
	for i := range rows {
		rows[i].TimeGenerated = stamps[i]
	}
	tbl := newMemTable(rows, 4)
	res := runQuery(t, tbl, "AppLogs_CL | summarize n = count() by d = bin(TimeGenerated, 1d) | sort by d asc", Options{})
	want := [][]any{
		{"0001-01-01T00:00:00Z", int64(1)},
		{"1500-06-01T00:00:00Z", int64(2)},
		{"1969-12-31T00:00:00Z", int64(1)},
		{"2024-01-01T00:00:00Z", int64(1)},
		{"9999-12-31T00:00:00Z", int64(1)},
	}
	if !reflect.DeepEqual(res.Rows, want) {
		t.Errorf("bin by day: %v, want %v", res.Rows, want)
	}
	res = runQuery(t, tbl, "AppLogs_CL | extend next = TimeGenerated + 1d, prev = TimeGenerated - 1d | sort by TimeGenerated desc | project next, prev", Options{})
	want = [][]any{
		{nil, "9999-12-30T23:59:59.9999999Z"},
		{"2024-01-02T00:00:00Z", "2023-12-31T00:00:00Z"},
		{"1970-01-01T23:59:59.5Z", "1969-12-30T23:59:59.5Z"},
		{"1500-06-02T13:45:00Z", "1500-05-31T13:45:00Z"},
		{"1500-06-02T02:00:00Z", "1500-05-31T02:00:00Z"},
		{"0001-01-02T00:00:00Z", nil},
	}
	if !reflect.DeepEqual(res.Rows, want) {
		t.Errorf("arithmetic at the edges: %v, want %v", res.Rows, want)
	}
	res = runQuery(t, tbl, "AppLogs_CL | where TimeGenerated < datetime(1970-01-01) | summarize min(TimeGenerated), max(TimeGenerated), count()", Options{})
	if want := []any{"0001-01-01T00:00:00Z", "1969-12-31T23:59:59.5Z", int64(4)}; !reflect.DeepEqual(res.Rows[0], want) {
		t.Errorf("before 1970: %v, want %v", res.Rows[0], want)
	}
	res = runQuery(t, tbl, "AppLogs_CL | extend s = datetime(9999-12-31) - TimeGenerated | summarize total = sum(s), mean = avg(s), longest = max(s)", Options{})
	// The sum of six spans of up to 3652058 days overflows the timespan
	// range; the mean is exact.
	if res.Rows[0][0] != nil || res.Rows[0][2] != "3652058.00:00:00" {
		t.Errorf("sum and max of long spans: %v", res.Rows[0])
	}
	sum := new(big.Int)
	for _, s := range stamps {
		sum.Add(sum, big.NewInt(ticks(date(9999, 12, 31, 0, 0, 0, 0))-ticks(s)))
	}
	mean := FormatTimespan(sum.Quo(sum, big.NewInt(int64(len(stamps)))).Int64())
	if res.Rows[0][1] != mean {
		t.Errorf("avg of long spans = %v, want %s", res.Rows[0][1], mean)
	}
}

func TestSumAndAvgOfTimespansIn128Bits(t *testing.T) {
	tests := []struct {
		vals     []int64
		sum, avg any
	}{
		{[]int64{1, 2, 4}, int64(7), int64(2)},
		{[]int64{-1, -2, -4}, int64(-7), int64(-2)},
		{[]int64{math.MaxInt64, math.MaxInt64}, nil, int64(math.MaxInt64)},
		{[]int64{math.MinInt64, math.MinInt64, math.MinInt64}, nil, int64(math.MinInt64)},
		{[]int64{math.MaxInt64, 1, -2}, int64(math.MaxInt64 - 1), int64((math.MaxInt64 - 1) / 3)},
		{[]int64{math.MinInt64, -1, 1}, int64(math.MinInt64), int64(math.MinInt64 / 3)},
	}
	for _, tt := range tests {
		var hi, lo int64
		for _, v := range tt.vals {
			hi, lo = add128(hi, lo, v)
		}
		var sum any
		if hi == lo>>63 {
			sum = lo
		}
		if sum != tt.sum {
			t.Errorf("sum %v = %v, want %v", tt.vals, sum, tt.sum)
		}
		if avg := div128(hi, lo, int64(len(tt.vals))); avg != tt.avg {
			t.Errorf("avg %v = %v, want %v", tt.vals, avg, tt.avg)
		}
	}
}

func TestCheckedTickArithmetic(t *testing.T) {
	tests := []struct {
		name string
		f    func(x, y int64) (int64, bool)
		x, y int64
		want int64
		ok   bool
	}{
		{"add", addTicks, math.MaxInt64, 1, 0, false},
		{"add", addTicks, math.MinInt64, -1, 0, false},
		{"add", addTicks, math.MaxInt64, math.MinInt64, -1, true},
		{"sub", subTicks, math.MinInt64, 1, 0, false},
		{"sub", subTicks, 0, math.MinInt64, 0, false},
		{"sub", subTicks, -1, math.MinInt64, math.MaxInt64, true},
		{"mul", mulTicks, math.MaxInt64, 2, 0, false},
		{"mul", mulTicks, math.MinInt64, -1, 0, false},
		{"mul", mulTicks, -1, math.MinInt64, 0, false},
		{"mul", mulTicks, math.MinInt64, 1, math.MinInt64, true},
		{"mul", mulTicks, 1 << 32, 1 << 31, 0, false},
		{"mul", mulTicks, -(1 << 32), 1 << 31, math.MinInt64, true},
		{"mul", mulTicks, 3, -5, -15, true},
	}
	for _, tt := range tests {
		got, ok := tt.f(tt.x, tt.y)
		if ok != tt.ok || (ok && got != tt.want) {
			t.Errorf("%s(%d, %d) = %d, %v; want %d, %v", tt.name, tt.x, tt.y, got, ok, tt.want, tt.ok)
		}
	}
}

// TestTimeZones checks datetime_utc_to_local and datetime_local_to_utc
// where the system has a zone database (Paris keeps UTC+2 in summer: 2
// a.m. UTC is 4 a.m. there); an unknown zone is null.
func TestTimeZones(t *testing.T) {
	if _, err := time.LoadLocation("Europe/Paris"); err != nil {
		t.Skip("no zone database:", err)
	}
	got := goldenRun("print a = datetime_utc_to_local(datetime(2022-07-01 02:00), 'Europe/Paris'), b = datetime_local_to_utc(datetime(2022-07-01 04:00), 'Europe/Paris'), c = datetime_utc_to_local(datetime(2022-07-01), 'Nowhere/None')")
	want := "a:datetime b:datetime c:datetime\n2022-07-01T04:00:00Z | 2022-07-01T02:00:00Z | null"
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}
