package datetime

import (
	"math"
	"testing"
	"time"
)

func utc(y int, mo time.Month, d, h, mi, s, ns int) time.Time {
	return time.Date(y, mo, d, h, mi, s, ns, time.UTC)
}

func TestFromTime(t *testing.T) {
	for _, tc := range []struct {
		name  string
		in    time.Time
		ticks int64
		ok    bool
	}{
		{"epoch", utc(1970, 1, 1, 0, 0, 0, 0), 0, true},
		{"one tick", utc(1970, 1, 1, 0, 0, 0, 100), 1, true},
		{"sub-tick truncates", utc(1970, 1, 1, 0, 0, 0, 199), 1, true},
		{"before the epoch", utc(1969, 12, 31, 23, 59, 59, 999_999_900), -1, true},
		{"year 1", utc(1, 1, 1, 0, 0, 0, 0), Min, true},
		{"year 9999, last tick", utc(9999, 12, 31, 23, 59, 59, 999_999_900), Max, true},
		{"year 9999, sub-tick after the last tick", utc(9999, 12, 31, 23, 59, 59, 999_999_999), Max, true},
		{"1500-06-01", utc(1500, 6, 1, 0, 0, 0, 0), -14_818_723_200 * TicksPerSecond, true},
		{"last Unix-nanosecond instant", utc(2262, 4, 11, 23, 47, 16, 854_775_807), math.MaxInt64 / 100, true},
		{"first Unix-nanosecond instant", utc(1677, 9, 21, 0, 12, 43, 145_224_192), math.MinInt64/100 - 1, true},
		{"2262-04-12, past Unix nanoseconds", utc(2262, 4, 12, 0, 0, 0, 0), 92_233_728_000_000_000, true},
		{"1677-09-21, before Unix nanoseconds", utc(1677, 9, 21, 0, 0, 0, 0), -92_233_728_000_000_000, true},
		{"year 0", utc(0, 12, 31, 23, 59, 59, 999_999_999), 0, false},
		{"year 10000", utc(10000, 1, 1, 0, 0, 0, 0), 0, false},
		{"far past", time.Time{}.Add(-time.Hour), 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := FromTime(tc.in)
			if got != tc.ticks || ok != tc.ok {
				t.Fatalf("FromTime(%v) = %d, %v; want %d, %v", tc.in, got, ok, tc.ticks, tc.ok)
			}
			if !ok {
				return
			}
			if !Valid(got) {
				t.Fatalf("Valid(%d) = false", got)
			}
			back := Time(got)
			if want := tc.in.Truncate(0).Add(-time.Duration(tc.in.Nanosecond() % NanosPerTick)); !back.Equal(want) {
				t.Fatalf("Time(%d) = %v, want %v", got, back, want)
			}
		})
	}
}

func TestTimeFormats(t *testing.T) {
	for _, tc := range []struct {
		ticks int64
		want  string
	}{
		{Min, "0001-01-01T00:00:00Z"},
		{Max, "9999-12-31T23:59:59.9999999Z"},
		{0, "1970-01-01T00:00:00Z"},
		{-1, "1969-12-31T23:59:59.9999999Z"},
		{Min - 1, "0000-12-31T23:59:59.9999999Z"},
		{Max + 1, "10000-01-01T00:00:00Z"},
		{math.MaxInt64, "31197-09-14T02:48:05.4775807Z"},
	} {
		if got := Time(tc.ticks).Format(time.RFC3339Nano); got != tc.want {
			t.Errorf("Time(%d) = %s, want %s", tc.ticks, got, tc.want)
		}
	}
	if Valid(Min-1) || Valid(Max+1) || !Valid(Min) || !Valid(Max) {
		t.Fatal("Valid disagrees with [Min, Max]")
	}
}

func TestBound(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   time.Time
		want int64
	}{
		{"whole tick", utc(1970, 1, 1, 0, 0, 1, 0), TicksPerSecond},
		{"sub-tick rounds up", utc(1970, 1, 1, 0, 0, 0, 1), 1},
		{"negative sub-tick rounds up", utc(1969, 12, 31, 23, 59, 59, 999_999_950), 0},
		{"year 1", utc(1, 1, 1, 0, 0, 0, 0), Min},
		{"before the range", time.Time{}.Add(-24 * time.Hour), Min},
		{"after the range", utc(10000, 1, 1, 0, 0, 0, 0), Max + 1},
		{"inside the last tick", utc(9999, 12, 31, 23, 59, 59, 999_999_901), Max + 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Bound(tc.in); got != tc.want {
				t.Fatalf("Bound(%v) = %d, want %d", tc.in, got, tc.want)
			}
		})
	}
	// The defining property: x >= Bound(t) iff Time(x) is not before t.
	for _, x := range []int64{Min, Min + 1, -1, 0, 1, Max - 1, Max} {
		for _, tm := range []time.Time{Time(x), Time(x).Add(1), Time(x).Add(-1), Time(x).Add(NanosPerTick)} {
			if (x >= Bound(tm)) != !Time(x).Before(tm) {
				t.Fatalf("x=%d t=%v: x >= Bound = %v, Time(x) not before t = %v", x, tm, x >= Bound(tm), !Time(x).Before(tm))
			}
		}
	}
}

func TestFromUnixNano(t *testing.T) {
	for _, tc := range []struct{ ns, ticks, span int64 }{
		{0, 0, 0},
		{100, 1, 1},
		{199, 1, 1},
		{-1, -1, 0},
		{-100, -1, -1},
		{-150, -2, -1},
		{math.MaxInt64, math.MaxInt64 / 100, math.MaxInt64 / 100},
		{math.MinInt64, math.MinInt64/100 - 1, math.MinInt64 / 100},
	} {
		if got := FromUnixNano(tc.ns); got != tc.ticks {
			t.Errorf("FromUnixNano(%d) = %d, want %d", tc.ns, got, tc.ticks)
		}
		if got := SpanFromNanos(tc.ns); got != tc.span {
			t.Errorf("SpanFromNanos(%d) = %d, want %d", tc.ns, got, tc.span)
		}
		// The instant is the same as time.Unix(0, ns) gives, to the tick.
		if want := time.Unix(0, tc.ns).UTC(); !Time(FromUnixNano(tc.ns)).Equal(want.Add(-time.Duration(((tc.ns % 100) + 100) % 100))) {
			t.Errorf("FromUnixNano(%d) is %v, want %v", tc.ns, Time(FromUnixNano(tc.ns)), want)
		}
	}
	if SpanTicks(time.Hour) != 3600*TicksPerSecond || SpanTicks(-150) != -1 {
		t.Fatal("SpanTicks")
	}
}

func TestWindow(t *testing.T) {
	hour := SpanTicks(time.Hour)
	for _, tc := range []struct {
		name  string
		ticks int64
		want  int64
	}{
		{"epoch", 0, 0},
		{"last tick before the epoch", -1, -1},
		{"one hour", hour, 1},
		{"year 1", Min, Min / hour},
		{"year 9999", Max, Max / hour},
		{"int64 min", math.MinInt64, math.MinInt64/hour - 1},
		{"int64 max", math.MaxInt64, math.MaxInt64 / hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := Window(tc.ticks, hour)
			if w != tc.want {
				t.Fatalf("Window(%d) = %d, want %d", tc.ticks, w, tc.want)
			}
			// The window starts at a whole hour at or before the tick.
			if tc.ticks > math.MinInt64+hour && tc.ticks < math.MaxInt64-hour {
				if start := w * hour; start > tc.ticks || tc.ticks-start >= hour {
					t.Fatalf("window %d starts at %d, not within an hour before %d", w, start, tc.ticks)
				}
			}
		})
	}
	if got := Time(Window(Min, hour) * hour); !got.Equal(utc(1, 1, 1, 0, 0, 0, 0)) {
		t.Fatalf("year 1's window starts at %v", got)
	}
	if got := Time(Window(Max, hour) * hour); !got.Equal(utc(9999, 12, 31, 23, 0, 0, 0)) {
		t.Fatalf("year 9999's last window starts at %v", got)
	}
}
