// Package datetime is Kusto's datetime as Kustodian carries it everywhere
// (ingestion, storage, the query engine): an int64 count of 100-nanosecond
// ticks since the Unix epoch, UTC. Kusto's datetime spans
// 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.9999999Z at tick precision;
// Min and Max are those instants in ticks. A timespan is an int64 of ticks
// too.
//
// An int64 of Unix nanoseconds covers only 1677-09-21 to 2262-04-11, so
// time.Time.UnixNano and time.Unix(0, n) must never be used for a
// datetime: they wrap around silently outside that range. FromTime and
// Time convert without overflow for every instant of the range, and Bound
// turns any time.Time (also one outside the range) into a tick that
// compares with datetimes exactly as the time.Time would.
//
// The package is a leaf: it imports only the standard library.
package datetime

import "time"

// Tick constants.
const (
	TicksPerSecond = 10_000_000
	NanosPerTick   = 100

	// minUnix and maxUnix are the Unix seconds of 0001-01-01T00:00:00Z and
	// 9999-12-31T23:59:59Z.
	minUnix = -62135596800
	maxUnix = 253402300799

	// Min is 0001-01-01T00:00:00Z in ticks.
	Min int64 = minUnix * TicksPerSecond
	// Max is 9999-12-31T23:59:59.9999999Z in ticks.
	Max int64 = maxUnix*TicksPerSecond + TicksPerSecond - 1
)

// Valid reports whether ticks is a datetime Kusto can represent.
func Valid(ticks int64) bool { return ticks >= Min && ticks <= Max }

// FromTime returns t in ticks, truncated to the tick at or before t, and
// whether t lies in Kusto's range (if not, the ticks are 0).
func FromTime(t time.Time) (int64, bool) {
	s := t.Unix()
	if s < minUnix || s > maxUnix {
		return 0, false
	}
	return s*TicksPerSecond + int64(t.Nanosecond())/NanosPerTick, true
}

// Time returns the instant of ticks, in UTC. Every int64 converts
// (time.Time spans far more than Kusto's range), so a tick outside the
// range still yields its instant.
func Time(ticks int64) time.Time {
	s, r := floorDiv(ticks, TicksPerSecond)
	return time.Unix(s, r*NanosPerTick).UTC()
}

// Bound returns the tick b such that, for every valid datetime x,
// x >= b exactly when Time(x) is not before t, and x < b exactly when
// Time(x) is before t. It serves as either end of a half-open interval
// [from, to) given as time.Time values: a t before the range gives Min, a
// t after it Max+1. Sub-tick nanoseconds round up.
func Bound(t time.Time) int64 {
	s := t.Unix()
	switch {
	case s < minUnix:
		return Min
	case s > maxUnix:
		return Max + 1
	}
	ticks := s*TicksPerSecond + int64(t.Nanosecond())/NanosPerTick
	if t.Nanosecond()%NanosPerTick != 0 {
		ticks++
	}
	return ticks
}

// FromUnixNano converts Unix nanoseconds, the datetime encoding of earlier
// formats, to ticks, rounding towards minus infinity (so order and
// equality of whole ticks are kept).
func FromUnixNano(ns int64) int64 {
	t, _ := floorDiv(ns, NanosPerTick)
	return t
}

// SpanFromNanos converts a timespan in nanoseconds, the encoding of
// earlier formats, to ticks, truncating towards zero as a .NET TimeSpan
// does.
func SpanFromNanos(ns int64) int64 { return ns / NanosPerTick }

// SpanTicks returns d in ticks, truncated towards zero.
func SpanTicks(d time.Duration) int64 { return int64(d) / NanosPerTick }

// Window returns the number of the window of length span ticks (span > 0)
// that holds ticks, counting from the Unix epoch and rounding towards
// minus infinity: windows tile the whole int64 line, so no datetime of
// the range overflows, and Window(x, span) <= Window(y, span) when x <= y.
func Window(ticks, span int64) int64 {
	w, _ := floorDiv(ticks, span)
	return w
}

// floorDiv returns the quotient rounded towards minus infinity and the
// remainder in [0, d) (d > 0).
func floorDiv(n, d int64) (q, r int64) {
	q, r = n/d, n%d
	if r < 0 {
		q--
		r += d
	}
	return q, r
}
