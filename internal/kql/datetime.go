package kql

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"time"
)

// Datetime and timespan values are Kusto's: a datetime is a count of
// 100-nanosecond ticks, here counted from the Unix epoch, between
// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.9999999Z; a timespan is any
// int64 count of ticks (about ±29,227 years). Arithmetic whose result leaves
// these ranges is null.

// TicksPerSecond is the number of datetime and timespan ticks in a second:
// a tick is 100 nanoseconds.
const TicksPerSecond = 10_000_000

// Tick durations used by literals and formatting.
const (
	ticksPerMillisecond = TicksPerSecond / 1000
	ticksPerMinute      = 60 * TicksPerSecond
	ticksPerHour        = 60 * ticksPerMinute
	ticksPerDay         = 24 * ticksPerHour
)

// Unix seconds of the first and last second of the datetime range.
const (
	minDatetimeSec = -62135596800 // 0001-01-01T00:00:00Z
	maxDatetimeSec = 253402300799 // 9999-12-31T23:59:59Z
)

// MinDatetimeTicks and MaxDatetimeTicks bound the datetime range, in ticks
// since the Unix epoch: 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.9999999Z.
const (
	MinDatetimeTicks int64 = minDatetimeSec * TicksPerSecond
	MaxDatetimeTicks int64 = (maxDatetimeSec+1)*TicksPerSecond - 1
)

// TicksFromTime returns t as a datetime: ticks since the Unix epoch, the
// nanoseconds below a tick dropped. It reports false when t lies outside
// the datetime range.
func TicksFromTime(t time.Time) (int64, bool) {
	sec := t.Unix()
	if sec < minDatetimeSec || sec > maxDatetimeSec {
		return 0, false
	}
	return sec*TicksPerSecond + int64(t.Nanosecond()/100), true
}

// TimeFromTicks returns the UTC time of a datetime given in ticks since the
// Unix epoch. Any int64 converts, including ticks outside the datetime
// range.
func TimeFromTicks(ticks int64) time.Time {
	sec, rem := floorDivMod(ticks, TicksPerSecond)
	return time.Unix(sec, rem*100).UTC()
}

// TimespanFromDuration returns d as a timespan in ticks, the nanoseconds
// below a tick dropped (toward zero).
func TimespanFromDuration(d time.Duration) int64 { return int64(d / 100) }

// floorDivMod divides rounding toward negative infinity; d > 0.
func floorDivMod(n, d int64) (q, r int64) {
	q, r = n/d, n%d
	if r < 0 {
		q--
		r += d
	}
	return q, r
}

// boundTicks converts a bound of a half-open time interval to ticks,
// saturating to [MinDatetimeTicks, MaxDatetimeTicks+1]. It rounds up: a
// datetime v is >= t, or < t, exactly when it is >= or < boundTicks(t).
func boundTicks(t time.Time) int64 {
	sec := t.Unix()
	switch {
	case sec < minDatetimeSec:
		return MinDatetimeTicks
	case sec > maxDatetimeSec:
		return MaxDatetimeTicks + 1
	}
	return sec*TicksPerSecond + int64((t.Nanosecond()+99)/100)
}

func inDatetimeRange(ticks int64) bool {
	return ticks >= MinDatetimeTicks && ticks <= MaxDatetimeTicks
}

// addTicks and subTicks are overflow-checked int64 addition and
// subtraction.
func addTicks(x, y int64) (int64, bool) {
	s := x + y
	return s, (s > x) == (y > 0)
}

func subTicks(x, y int64) (int64, bool) {
	s := x - y
	return s, (s < x) == (y > 0)
}

// mulTicks is overflow-checked int64 multiplication.
func mulTicks(x, y int64) (int64, bool) {
	if x == 0 || y == 0 {
		return 0, true
	}
	p := x * y
	if p/y != x || (y == -1 && x == math.MinInt64) {
		return 0, false
	}
	return p, true
}

// absInt returns |x| as a uint64; |MinInt64| is 2^63.
func absInt(x int64) uint64 {
	if x < 0 {
		return uint64(-x)
	}
	return uint64(x)
}

// scaleTicks multiplies a timespan by a real factor, rounding to the
// nearest tick; it reports false when the result is not a finite int64.
func scaleTicks(ticks int64, f float64) (int64, bool) {
	return ticksFromFloat(float64(ticks) * f)
}

func ticksFromFloat(f float64) (int64, bool) {
	f = math.Round(f)
	// 2^63 is exactly representable; anything at or beyond it overflows.
	if math.IsNaN(f) || f >= 1<<63 || f < -(1<<63) {
		return 0, false
	}
	return int64(f), true
}

// binTicks rounds v down to a multiple of size (> 0) counted from origin,
// reporting false on overflow.
func binTicks(v, size, origin int64) (int64, bool) {
	d, ok := subTicks(v, origin)
	if !ok {
		return 0, false
	}
	q, _ := floorDivMod(d, size)
	m, ok := mulTicks(q, size)
	if !ok {
		return 0, false
	}
	return addTicks(m, origin)
}

// FormatDatetime formats a datetime (ticks since the Unix epoch) as Kusto
// does in JSON results: ISO 8601 in UTC with "Z" and at most seven
// fractional digits, trailing zeros trimmed, as in "0001-01-01T00:00:00Z"
// or "9999-12-31T23:59:59.9999999Z".
func FormatDatetime(ticks int64) string {
	return string(appendDatetime(make([]byte, 0, 28), ticks))
}

func appendDatetime(dst []byte, ticks int64) []byte {
	_, frac := floorDivMod(ticks, TicksPerSecond)
	dst = TimeFromTicks(ticks).AppendFormat(dst, "2006-01-02T15:04:05")
	dst = appendFraction(dst, frac, true)
	return append(dst, 'Z')
}

// appendFraction appends ".fffffff" for frac ticks (0 < frac < 10^7),
// trimmed of trailing zeros when trim is set; nothing when frac is 0.
func appendFraction(dst []byte, frac int64, trim bool) []byte {
	if frac == 0 {
		return dst
	}
	var digits [7]byte
	for i := 6; i >= 0; i-- {
		digits[i] = byte('0' + frac%10)
		frac /= 10
	}
	n := 7
	for trim && digits[n-1] == '0' {
		n--
	}
	dst = append(dst, '.')
	return append(dst, digits[:n]...)
}

// FormatTimespan formats a timespan in ticks as Kusto does in JSON
// results: [-][d.]hh:mm:ss[.fffffff], the fraction seven digits when there
// is one.
func FormatTimespan(ticks int64) string {
	return string(appendTimespan(make([]byte, 0, 26), ticks))
}

func appendTimespan(dst []byte, ticks int64) []byte {
	u := absInt(ticks)
	if ticks < 0 {
		dst = append(dst, '-')
	}
	frac := u % TicksPerSecond
	secs := u / TicksPerSecond
	d, h, m, s := secs/86400, secs/3600%24, secs/60%60, secs%60
	if d > 0 {
		dst = strconv.AppendUint(dst, d, 10)
		dst = append(dst, '.')
	}
	dst = append(dst, byte('0'+h/10), byte('0'+h%10), ':', byte('0'+m/10), byte('0'+m%10), ':', byte('0'+s/10), byte('0'+s%10))
	return appendFraction(dst, int64(frac), false)
}

// Errors of the literal parsers; the parser turns them into SyntaxErrors.
var (
	errBadLiteral   = errors.New("invalid literal")
	errOutOfRange   = errors.New("out of range")
	datetimeLayouts = []string{
		time.RFC3339Nano,
		"2006-01-02T15:04:05.999999999",
		"2006-01-02 15:04:05.999999999Z07:00",
		"2006-01-02 15:04:05.999999999",
		"2006-01-02T15:04Z07:00",
		"2006-01-02T15:04",
		"2006-01-02 15:04",
		"2006-01-02",
	}
)

// parseDatetime parses the datetime formats Kusto accepts most often into
// ticks; a datetime without a zone is UTC. It returns errOutOfRange for a
// well-formed value outside the datetime range, such as a year of five
// digits or 0001-01-01 in a zone east of UTC.
func parseDatetime(s string) (int64, error) {
	for _, layout := range datetimeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			ticks, ok := TicksFromTime(t)
			if !ok {
				return 0, errOutOfRange
			}
			return ticks, nil
		}
	}
	// time.Parse takes four-digit years only; a longer year is a date
	// beyond 9999 (or an absurd one), not a malformed one.
	n := 0
	for n < len(s) && isDigit(s[n]) {
		n++
	}
	if n > 4 && n < len(s) && s[n] == '-' {
		return 0, errOutOfRange
	}
	return 0, errBadLiteral
}

// parseTimespanLiteral parses "1h", "2.5d", "10ms", "1tick" into ticks.
func parseTimespanLiteral(s string) (int64, error) {
	n := 0
	for n < len(s) && (isDigit(s[n]) || s[n] == '.') {
		n++
	}
	if n == 0 {
		return 0, errBadLiteral
	}
	unit, ok := timespanUnits[s[n:]]
	if !ok {
		return 0, errBadLiteral
	}
	if !strings.Contains(s[:n], ".") {
		v, err := strconv.ParseUint(s[:n], 10, 64)
		if err != nil {
			if errors.Is(err, strconv.ErrRange) {
				return 0, errOutOfRange
			}
			return 0, errBadLiteral
		}
		if v > math.MaxInt64/uint64(unit) {
			return 0, errOutOfRange
		}
		return int64(v) * unit, nil
	}
	f, err := strconv.ParseFloat(s[:n], 64)
	if err != nil {
		return 0, errBadLiteral
	}
	ticks, ok := ticksFromFloat(f * float64(unit))
	if !ok {
		return 0, errOutOfRange
	}
	return ticks, nil
}

// parseTimespanClock parses "[-][d.]hh:mm[:ss[.fffffff]]" into ticks;
// digits of the fraction beyond the seventh are dropped.
func parseTimespanClock(s string) (int64, error) {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, errBadLiteral
	}
	var days uint64
	if i := strings.IndexByte(parts[0], '.'); i >= 0 {
		d, err := parseDigits(parts[0][:i])
		if err != nil {
			return 0, err
		}
		days = d
		parts[0] = parts[0][i+1:]
	}
	h, err1 := parseDigits(parts[0])
	m, err2 := parseDigits(parts[1])
	if err1 != nil || err2 != nil || h > 23 || m > 59 {
		return 0, errBadLiteral
	}
	var secTicks uint64
	if len(parts) == 3 {
		whole, frac, hasFrac := strings.Cut(parts[2], ".")
		sec, err := parseDigits(whole)
		if err != nil || sec > 59 {
			return 0, errBadLiteral
		}
		secTicks = sec * TicksPerSecond
		if hasFrac {
			if frac == "" || len(frac) > 9 {
				return 0, errBadLiteral
			}
			f, err := parseDigits((frac + "0000000")[:7])
			if err != nil {
				return 0, errBadLiteral
			}
			if _, err := parseDigits(frac); err != nil {
				return 0, errBadLiteral
			}
			secTicks += f
		}
	}
	if days > math.MaxInt64/ticksPerDay {
		return 0, errOutOfRange
	}
	t := days*ticksPerDay + h*ticksPerHour + m*ticksPerMinute + secTicks
	if t > math.MaxInt64 {
		return 0, errOutOfRange
	}
	if neg {
		return -int64(t), nil
	}
	return int64(t), nil
}

// parseDigits parses a non-empty run of decimal digits.
func parseDigits(s string) (uint64, error) {
	if s == "" {
		return 0, errBadLiteral
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return 0, errBadLiteral
		}
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, errOutOfRange
	}
	return v, nil
}
