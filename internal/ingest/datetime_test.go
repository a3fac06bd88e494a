package ingest

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kustodian/kustodian/internal/datetime"
)

const tps = datetime.TicksPerSecond

func TestParseDatetime(t *testing.T) {
	for _, tc := range []struct {
		in    string
		ticks int64
		ok    bool
	}{
		{"0001-01-01T00:00:00Z", datetime.Min, true},
		{"0001-01-01", datetime.Min, true},
		{"9999-12-31T23:59:59.9999999Z", datetime.Max, true},
		{"9999-12-31T23:59:59Z", datetime.Max - (tps - 1), true},
		{"9999-12-31T23:59:59.99999999Z", datetime.Max, true}, // digits past the tick are dropped
		{"1500-06-01", -14_818_723_200 * tps, true},
		{"1500-06-01T00:00:00Z", -14_818_723_200 * tps, true},
		{"1500-06-01T00:00:00", -14_818_723_200 * tps, true}, // no zone: UTC
		{"1500-06-01T01:00:00+01:00", -14_818_723_200 * tps, true},
		// The ends of Unix nanoseconds, where the old encoding wrapped.
		{"2262-04-11T23:47:16.854775807Z", math.MaxInt64 / 100, true},
		{"2262-04-12T00:00:00Z", 9_223_372_800 * tps, true},
		{"2262-04-12", 9_223_372_800 * tps, true},
		{"1677-09-21T00:12:43.145224192Z", -9_223_372_037*tps + 1_452_241, true},
		{"1677-09-21T00:00:00Z", -9_223_372_800 * tps, true},
		{"1677-09-21", -9_223_372_800 * tps, true},
		{"1970-01-01T00:00:00.0000001Z", 1, true},
		{"2026-11-28T10:00:00.625Z", 1_795_860_000*tps + 6_250_000, true},
		// Well formed, but outside Kusto's range once in UTC: not datetimes.
		{"0000-12-31T23:59:59Z", 0, false},
		{"0000-01-01", 0, false},
		{"0001-01-01T00:30:00+01:00", 0, false},
		{"9999-12-31T23:00:00-02:00", 0, false},
		{"10000-01-01T00:00:00Z", 0, false},
		// Not datetimes at all.
		{"2026-13-01", 0, false},
		{"2026-02-30T00:00:00Z", 0, false},
		{"1500-06-01T25:00:00Z", 0, false},
		{"1500-06-01T23:59:60Z", 0, false},
		{"hello world", 0, false},
		{"2026", 0, false},
		{"", 0, false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, ok := ParseDatetime(tc.in)
			if got != tc.ticks || ok != tc.ok {
				t.Fatalf("ParseDatetime(%q) = %d, %v; want %d, %v", tc.in, got, ok, tc.ticks, tc.ok)
			}
		})
	}
}

func TestResolveTimeGenerated(t *testing.T) {
	received := int64(1_795_953_600 * tps) // 2026-11-29T12:00:00Z
	day := int64(86400 * tps)
	for _, tc := range []struct {
		name  string
		given int64
		has   bool
		want  int64
	}{
		{"none given", 0, false, received},
		{"now", received, true, received},
		{"one day ago", received - day, true, received - day},
		{"exactly two days ago", received - 2*day, true, received - 2*day},
		{"a tick more than two days ago", received - 2*day - 1, true, received},
		{"exactly one day ahead", received + day, true, received + day},
		{"a tick more than one day ahead", received + day + 1, true, received},
		{"year 1", datetime.Min, true, received},
		{"year 9999", datetime.Max, true, received},
		{"1500", -14_818_723_200 * tps, true, received},
		{"the epoch", 0, true, received},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ResolveTimeGenerated(tc.given, tc.has, received); got != tc.want {
				t.Fatalf("ResolveTimeGenerated(%d, %v) = %d, want %d", tc.given, tc.has, got, tc.want)
			}
		})
	}
	// The window does not overflow at the ends of the range.
	for _, r := range []int64{datetime.Min, datetime.Max} {
		if got := ResolveTimeGenerated(r, true, r); got != r {
			t.Fatalf("received at %d: %d", r, got)
		}
	}
}

// TestCollectorDatetimeRange: datetimes across Kusto's whole range are
// typed _t without wrapping; strings outside it stay strings; the
// time-generated-field sets TimeGenerated only within Azure's window.
func TestCollectorDatetimeRange(t *testing.T) {
	received, _ := datetime.FromTime(testNow)
	for _, tc := range []struct {
		name     string
		when     string
		column   string // the column the field becomes
		ticks    int64  // its value, for a _t column
		timeGen  int64
		asString bool
	}{
		{"year 9999", "9999-12-31T23:59:59Z", "when_t", datetime.Max - (tps - 1), received, false},
		{"last tick of 9999", "9999-12-31T23:59:59.9999999Z", "when_t", datetime.Max, received, false},
		{"year 1", "0001-01-01T00:00:00Z", "when_t", datetime.Min, received, false},
		{"1500", "1500-06-01T00:00:00Z", "when_t", -14_818_723_200 * tps, received, false},
		{"2262-04-12", "2262-04-12T00:00:00Z", "when_t", 9_223_372_800 * tps, received, false},
		{"1677-09-21", "1677-09-21T00:00:00Z", "when_t", -9_223_372_800 * tps, received, false},
		{"a day ago", "2026-11-28T12:00:00Z", "when_t", received - 86400*tps, received - 86400*tps, false},
		{"three days ago", "2026-11-26T12:00:00Z", "when_t", received - 3*86400*tps, received, false},
		{"two days ahead", "2026-12-01T12:00:00Z", "when_t", received + 2*86400*tps, received, false},
		{"year 0", "0000-06-01T00:00:00Z", "when_s", 0, received, true},
		{"past 9999 in UTC", "9999-12-31T23:00:00-02:00", "when_s", 0, received, true},
		{"year 10000", "10000-01-01T00:00:00Z", "when_s", 0, received, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sink := &fakeSink{}
			body := `[{"when":` + strconv.Quote(tc.when) + `,"n":1}]`
			if w := send(t, sink, req{body: body, timeField: "when"}); w.Code != http.StatusOK {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			b := sink.batches[0]
			c := col(t, b, tc.column)
			switch {
			case tc.asString:
				if c.Type != TypeString || c.Strings[0] != tc.when {
					t.Fatalf("%s = %s %q, want the string %q", c.Name, c.Type, c.Strings, tc.when)
				}
			case c.Type != TypeDatetime || c.Times[0] != tc.ticks:
				t.Fatalf("%s = %s %v, want datetime %d (%v)", c.Name, c.Type, c.Times, tc.ticks, datetime.Time(tc.ticks))
			}
			if b.TimeGenerated[0] != tc.timeGen {
				t.Fatalf("TimeGenerated = %v, want %v", datetime.Time(b.TimeGenerated[0]), datetime.Time(tc.timeGen))
			}
			for _, c := range b.Columns {
				if strings.HasPrefix(c.Name, "when") && c.Name != tc.column {
					t.Fatalf("the field also became %s", c.Name)
				}
			}
		})
	}
}

// TestCollectorTimeGeneratedNotADatetime: a time-generated-field naming a
// field that is no datetime (or absent) leaves TimeGenerated at the
// received time.
func TestCollectorTimeGeneratedNotADatetime(t *testing.T) {
	received, _ := datetime.FromTime(testNow)
	for _, body := range []string{`{"when":"soon"}`, `{"when":12}`, `{"other":"2026-11-29T11:00:00Z"}`, `{"when":null}`} {
		sink := &fakeSink{}
		if w := send(t, sink, req{body: body, timeField: "when"}); w.Code != http.StatusOK {
			t.Fatalf("%s: status %d", body, w.Code)
		}
		if got := sink.batches[0].TimeGenerated[0]; got != received {
			t.Fatalf("%s: TimeGenerated %v, want the received time", body, datetime.Time(got))
		}
	}
	if got := receivedTicks(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)); got != datetime.Max {
		t.Fatalf("a clock past 9999: %d", got)
	}
	if got := receivedTicks(time.Time{}.Add(-time.Hour)); got != datetime.Min {
		t.Fatalf("a clock before year 1: %d", got)
	}
}

// FuzzParseDatetime: no string makes ParseDatetime panic, and every
// datetime it accepts lies in Kusto's range.
func FuzzParseDatetime(f *testing.F) {
	for _, s := range []string{"0001-01-01T00:00:00Z", "9999-12-31T23:59:59.9999999Z", "1500-06-01", "2262-04-12T00:00:00Z",
		"0000-12-31T23:59:59Z", "9999-12-31T23:00:00-02:00", "2026-11-28T10:00:00.625+05:30", "2026-11-28T10:00:00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if ticks, ok := ParseDatetime(s); ok && !datetime.Valid(ticks) {
			t.Fatalf("ParseDatetime(%q) = %d, outside Kusto's range", s, ticks)
		}
	})
}
