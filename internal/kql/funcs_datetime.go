package kql

import (
	"math"
	"strings"
	"time"
)

// Datetime functions: conversion (todatetime, totimespan, make_datetime,
// make_timespan, unixtime_*_todatetime), formatting (format_datetime,
// format_timespan), calendar arithmetic (datetime_add, datetime_diff,
// datetime_part, startof*/endof*, bin_at) and the parts of a date
// (dayofweek, dayofmonth, dayofyear, hourofday, getmonth, getyear,
// monthofyear, weekofyear, week_of_year), with Kusto's semantics: the
// calendar is the proleptic Gregorian one in UTC, weeks start on Sunday
// (startofweek, datetime_diff('week')), week numbers are ISO 8601, and a
// result outside the datetime range is null.

// firstArgNamed lists the functions whose result, when not named, takes
// the name of their first argument's column, as bin() does in Kusto
// (summarize by startofday(TimeGenerated) makes a column TimeGenerated).
var firstArgNamed = map[string]bool{
	"startofday": true, "startofweek": true, "startofmonth": true, "startofyear": true,
	"endofday": true, "endofweek": true, "endofmonth": true, "endofyear": true, "bin_at": true,
}

func init() {
	register(&funcDef{min: 1, max: 1, compile: func(c *compiler, e *CallExpr, args []cexpr) (cexpr, error) {
		return convertExpr(c, args[0], TypeDatetime), nil
	}}, "todatetime")
	register(&funcDef{min: 1, max: 1, compile: func(c *compiler, e *CallExpr, args []cexpr) (cexpr, error) {
		return convertExpr(c, args[0], TypeTimespan), nil
	}}, "totimespan", "totime")
	register(&funcDef{min: 0, max: 0, compile: func(c *compiler, e *CallExpr, args []cexpr) (cexpr, error) {
		// No ingestion time is stored apart from TimeGenerated: null.
		return constOf(TypeDatetime, nullScalar), nil
	}}, "ingestion_time")

	// startof* and endof*: an optional offset in units of the period.
	period := func(start func(t time.Time, off int64) (time.Time, bool), end bool) *funcDef {
		return &funcDef{min: 1, max: 2, compile: func(c *compiler, e *CallExpr, args []cexpr) (cexpr, error) {
			x, err := datetimeArg(c, e, args, 0)
			if err != nil {
				return nil, err
			}
			off := cexpr(constOf(TypeLong, scalar{}))
			if len(args) == 2 {
				if off, err = longArg(c, e, args, 1); err != nil {
					return nil, err
				}
			}
			return newRowFunc(TypeDatetime, func(a []scalar) scalar {
				if a[0].null || a[1].null {
					return nullScalar
				}
				o := a[1].i
				if end {
					if o == math.MaxInt64 {
						return nullScalar
					}
					o++
				}
				t, ok := start(TimeFromTicks(a[0].i), o)
				if !ok {
					return nullScalar
				}
				// Years stay within ±20,000: no overflow of ticks.
				ticks := t.Unix()*TicksPerSecond + int64(t.Nanosecond()/100)
				if end {
					ticks--
				}
				if !inDatetimeRange(ticks) {
					return nullScalar
				}
				return scalar{i: ticks}
			}, x, off), nil
		}}
	}
	const maxOffset = 12 * 10000 // months in the datetime range, and more
	startOfDay := func(t time.Time, off int64) (time.Time, bool) {
		if off > maxOffset*31 || off < -maxOffset*31 {
			return t, false
		}
		y, m, d := t.Date()
		return time.Date(y, m, d+int(off), 0, 0, 0, 0, time.UTC), true
	}
	startOfWeek := func(t time.Time, off int64) (time.Time, bool) {
		if off > maxOffset*5 || off < -maxOffset*5 {
			return t, false
		}
		y, m, d := t.Date()
		return time.Date(y, m, d-int(t.Weekday())+7*int(off), 0, 0, 0, 0, time.UTC), true
	}
	startOfMonth := func(t time.Time, off int64) (time.Time, bool) {
		if off > maxOffset || off < -maxOffset {
			return t, false
		}
		y, m, _ := t.Date()
		return time.Date(y, m+time.Month(off), 1, 0, 0, 0, 0, time.UTC), true
	}
	startOfYear := func(t time.Time, off int64) (time.Time, bool) {
		if off > maxOffset || off < -maxOffset {
			return t, false
		}
		return time.Date(t.Year()+int(off), 1, 1, 0, 0, 0, 0, time.UTC), true
	}
	register(period(startOfDay, false), "startofday")
	register(period(startOfWeek, false), "startofweek")
	register(period(startOfMonth, false), "startofmonth")
	register(period(startOfYear, false), "startofyear")
	register(period(startOfDay, true), "endofday")
	register(period(startOfWeek, true), "endofweek")
	register(period(startOfMonth, true), "endofmonth")
	register(period(startOfYear, true), "endofyear")

	// The parts of a date, as int (dayofweek: the timespan since Sunday).
	part := func(t Type, f func(tm time.Time) int64) *funcDef {
		return &funcDef{min: 1, max: 1, compile: func(c *compiler, e *CallExpr, args []cexpr) (cexpr, error) {
			x, err := datetimeArg(c, e, args, 0)
			if err != nil {
				return nil, err
			}
			return newRowFunc(t, func(a []scalar) scalar {
				if a[0].null {
					return nullScalar
				}
				return scalar{i: f(TimeFromTicks(a[0].i))}
			}, x), nil
		}}
	}
	register(part(TypeTimespan, func(t time.Time) int64 { return int64(t.Weekday()) * ticksPerDay }), "dayofweek")
	register(part(TypeInt, func(t time.Time) int64 { return int64(t.Day()) }), "dayofmonth")
	register(part(TypeInt, func(t time.Time) int64 { return int64(t.YearDay()) }), "dayofyear")
	register(part(TypeInt, func(t time.Time) int64 { return int64(t.Hour()) }), "hourofday")
	register(part(TypeInt, func(t time.Time) int64 { return int64(t.Month()) }), "getmonth", "monthofyear")
	register(part(TypeInt, func(t time.Time) int64 { return int64(t.Year()) }), "getyear")
	register(part(TypeInt, func(t time.Time) int64 { _, w := t.ISOWeek(); return int64(w) }), "weekofyear", "week_of_year")

	register(&funcDef{min: 2, max: 2, compile: func(c *compiler, e *CallExpr, args []cexpr) (cexpr, error) {
		p, err := stringArg(e, args, 0)
		if err != nil {
			return nil, err
		}
		x, err := datetimeArg(c, e, args, 1)
		if err != nil {
			return nil, err
		}
		return newRowFunc(TypeInt, func(a []scalar) scalar {
			if a[1].null {
				return nullScalar
			}
			return datetimePart(strings.ToLower(a[0].s), a[1].i)
		}, p, x), nil
	}}, "datetime_part")

	register(&funcDef{min: 3, max: 3, compile: func(c *compiler, e *CallExpr, args []cexpr) (cexpr, error) {
		p, err := stringArg(e, args, 0)
		if err != nil {
			return nil, err
		}
		x, err := datetimeArg(c, e, args, 1)
		if err != nil {
			return nil, err
		}
		y, err := datetimeArg(c, e, args, 2)
		if err != nil {
			return nil, err
		}
		return newRowFunc(TypeLong, func(a []scalar) scalar {
			if a[1].null || a[2].null {
				return nullScalar
			}
			return datetimeDiff(strings.ToLower(a[0].s), a[1].i, a[2].i)
		}, p, x, y), nil
	}}, "datetime_diff")

	register(&funcDef{min: 3, max: 3, compile: func(c *compiler, e *CallExpr, args []cexpr) (cexpr, error) {
		p, err := stringArg(e, args, 0)
		if err != nil {
			return nil, err
		}
		n, err := longArg(c, e, args, 1)
		if err != nil {
			return nil, err
		}
		x, err := datetimeArg(c, e, args, 2)
		if err != nil {
			return nil, err
		}
		return newRowFunc(TypeDatetime, func(a []scalar) scalar {
			if a[1].null || a[2].null {
				return nullScalar
			}
			return datetimeAdd(strings.ToLower(a[0].s), a[1].i, a[2].i)
		}, p, n, x), nil
	}}, "datetime_add")

	register(&funcDef{min: 2, max: 2, compile: func(c *compiler, e *CallExpr, args []cexpr) (cexpr, error) {
		x, err := datetimeArg(c, e, args, 0)
		if err != nil {
			return nil, err
		}
		f, err := stringArg(e, args, 1)
		if err != nil {
			return nil, err
		}
		return newRowFunc(TypeString, func(a []scalar) scalar {
			if a[0].null {
				return scalar{}
			}
			return scalar{s: formatDatetimeAs(a[0].i, a[1].s)}
		}, x, f), nil
	}}, "format_datetime")

	register(&funcDef{min: 2, max: 2, compile: func(c *compiler, e *CallExpr, args []cexpr) (cexpr, error) {
		x := args[0]
		if x.typ() == TypeDynamic || x.typ() == TypeString {
			x = convertExpr(c, x, TypeTimespan)
		}
		if x.typ() != TypeTimespan {
			return nil, argErr(e, 0, "a timespan", x.typ())
		}
		f, err := stringArg(e, args, 1)
		if err != nil {
			return nil, err
		}
		return newRowFunc(TypeString, func(a []scalar) scalar {
			if a[0].null {
				return scalar{}
			}
			return scalar{s: formatTimespanAs(a[0].i, a[1].s)}
		}, x, f), nil
	}}, "format_timespan")

	register(&funcDef{min: 3, max: 7, compile: func(c *compiler, e *CallExpr, args []cexpr) (cexpr, error) {
		xs := make([]cexpr, 0, 7)
		for i := range args {
			t := args[i].typ()
			if !t.isNumeric() && t != TypeDynamic {
				return nil, argErr(e, i, "a number", t)
			}
			xs = append(xs, convertExpr(c, args[i], TypeReal))
		}
		return newRowFunc(TypeDatetime, func(a []scalar) scalar {
			var v [7]float64
			for i, s := range a {
				if s.null {
					return nullScalar
				}
				v[i] = s.f
			}
			if len(a) < 3 {
				return nullScalar
			}
			for i := 0; i < 5; i++ {
				if v[i] != math.Trunc(v[i]) {
					return nullScalar
				}
			}
			y, mo, d, h, mi := v[0], v[1], v[2], v[3], v[4]
			if y < 1 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > float64(daysIn(int(y), int(mo))) ||
				h < 0 || h > 23 || mi < 0 || mi > 59 || v[5] < 0 || !(v[5] < 60) {
				return nullScalar
			}
			t := time.Date(int(y), time.Month(mo), int(d), int(h), int(mi), 0, 0, time.UTC)
			ticks, _ := TicksFromTime(t)
			return scalar{i: ticks + int64(math.Round(v[5]*TicksPerSecond))}
		}, xs...), nil
	}}, "make_datetime")

	register(&funcDef{min: 2, max: 4, compile: func(c *compiler, e *CallExpr, args []cexpr) (cexpr, error) {
		xs := make([]cexpr, 0, 4)
		for i := range args {
			t := args[i].typ()
			if !t.isNumeric() && t != TypeDynamic {
				return nil, argErr(e, i, "a number", t)
			}
			xs = append(xs, convertExpr(c, args[i], TypeReal))
		}
		n := len(xs)
		return newRowFunc(TypeTimespan, func(a []scalar) scalar {
			var d, h, m, s float64
			for _, x := range a {
				if x.null {
					return nullScalar
				}
			}
			switch n {
			case 2:
				h, m = a[0].f, a[1].f
			case 3:
				h, m, s = a[0].f, a[1].f, a[2].f
			default:
				d, h, m, s = a[0].f, a[1].f, a[2].f, a[3].f
			}
			if d != math.Trunc(d) || h != math.Trunc(h) || m != math.Trunc(m) ||
				h < 0 || h > 23 || m < 0 || m > 59 || s < 0 || !(s < 60) || math.Abs(d) > 10675199 {
				return nullScalar
			}
			ticks := int64(d)*ticksPerDay + int64(h)*ticksPerHour + int64(m)*ticksPerMinute + int64(math.Round(s*TicksPerSecond))
			return scalar{i: ticks}
		}, xs...), nil
	}}, "make_timespan")

	unix := func(perUnit float64) *funcDef {
		return &funcDef{min: 1, max: 1, compile: func(c *compiler, e *CallExpr, args []cexpr) (cexpr, error) {
			t := args[0].typ()
			if !t.isNumeric() && t != TypeDynamic && t != TypeString {
				return nil, argErr(e, 0, "a number", t)
			}
			if t == TypeLong || t == TypeInt {
				// Exact on integers, down to the tick.
				return newRowFunc(TypeDatetime, func(a []scalar) scalar {
					if a[0].null {
						return nullScalar
					}
					var ticks int64
					if perUnit >= 1 {
						var ok bool
						if ticks, ok = mulTicks(a[0].i, int64(perUnit)); !ok {
							return nullScalar
						}
					} else {
						ticks, _ = floorDivMod(a[0].i, int64(math.Round(1/perUnit)))
					}
					if !inDatetimeRange(ticks) {
						return nullScalar
					}
					return scalar{i: ticks}
				}, args[0]), nil
			}
			x := convertExpr(c, args[0], TypeReal)
			return newRowFunc(TypeDatetime, func(a []scalar) scalar {
				if a[0].null {
					return nullScalar
				}
				ticks, ok := ticksFromFloat(a[0].f * perUnit)
				if !ok || !inDatetimeRange(ticks) {
					return nullScalar
				}
				return scalar{i: ticks}
			}, x), nil
		}}
	}
	register(unix(TicksPerSecond), "unixtime_seconds_todatetime")
	register(unix(ticksPerMillisecond), "unixtime_milliseconds_todatetime")
	register(unix(10), "unixtime_microseconds_todatetime")
	register(unix(0.01), "unixtime_nanoseconds_todatetime")

	register(&funcDef{min: 3, max: 3, compile: func(c *compiler, e *CallExpr, args []cexpr) (cexpr, error) {
		x, size, fixed := args[0], args[1], args[2]
		xt, st := x.typ(), size.typ()
		switch {
		case (xt == TypeDatetime && st == TypeTimespan && fixed.typ() == TypeDatetime) ||
			(xt == TypeTimespan && st == TypeTimespan && fixed.typ() == TypeTimespan):
			return newRowFunc(xt, func(a []scalar) scalar {
				if a[0].null || a[1].null || a[2].null || a[1].i <= 0 {
					return nullScalar
				}
				v, ok := binTicks(a[0].i, a[1].i, a[2].i)
				if !ok || xt == TypeDatetime && !inDatetimeRange(v) {
					return nullScalar
				}
				return scalar{i: v}
			}, x, size, fixed), nil
		case xt.isNumeric() && st.isNumeric() && fixed.typ().isNumeric():
			t := TypeReal
			if xt != TypeReal && st != TypeReal && fixed.typ() != TypeReal {
				t = TypeLong
				return newRowFunc(t, func(a []scalar) scalar {
					if a[0].null || a[1].null || a[2].null || a[1].i <= 0 {
						return nullScalar
					}
					v, ok := binTicks(a[0].i, a[1].i, a[2].i)
					if !ok {
						return nullScalar
					}
					return scalar{i: v}
				}, x, size, fixed), nil
			}
			return newRowFunc(t, func(a []scalar) scalar {
				if a[0].null || a[1].null || a[2].null || !(a[1].f > 0) {
					return nullScalar
				}
				return scalar{f: a[2].f + math.Floor((a[0].f-a[2].f)/a[1].f)*a[1].f}
			}, convertExpr(c, x, TypeReal), convertExpr(c, size, TypeReal), convertExpr(c, fixed, TypeReal)), nil
		}
		return nil, semanticErr(e.At, "bin_at() is not defined for %s, %s and %s", xt, st, fixed.typ())
	}}, "bin_at")

	register(&funcDef{min: 2, max: 2, compile: func(c *compiler, e *CallExpr, args []cexpr) (cexpr, error) {
		return zoneFunc(c, e, args, true)
	}}, "datetime_utc_to_local")
	register(&funcDef{min: 2, max: 2, compile: func(c *compiler, e *CallExpr, args []cexpr) (cexpr, error) {
		return zoneFunc(c, e, args, false)
	}}, "datetime_local_to_utc")
}

// zoneFunc converts between UTC and the wall clock of an IANA time zone,
// as far as the system's zone database knows it; an unknown zone is null.
func zoneFunc(c *compiler, e *CallExpr, args []cexpr, toLocal bool) (cexpr, error) {
	x, err := datetimeArg(c, e, args, 0)
	if err != nil {
		return nil, err
	}
	z, err := stringArg(e, args, 1)
	if err != nil {
		return nil, err
	}
	zones := map[string]*time.Location{}
	return newRowFunc(TypeDatetime, func(a []scalar) scalar {
		if a[0].null {
			return nullScalar
		}
		loc, ok := zones[a[1].s]
		if !ok {
			if len(zones) < 64 {
				loc, _ = time.LoadLocation(a[1].s)
				zones[a[1].s] = loc
			} else {
				loc, _ = time.LoadLocation(a[1].s)
			}
		}
		if loc == nil || a[1].s == "" {
			return nullScalar
		}
		t := TimeFromTicks(a[0].i)
		var ticks int64
		if toLocal {
			_, off := t.In(loc).Zone()
			ticks = a[0].i + int64(off)*TicksPerSecond
		} else {
			y, mo, d := t.Date()
			h, mi, s := t.Clock()
			lt := time.Date(y, mo, d, h, mi, s, t.Nanosecond(), loc)
			var ok bool
			ticks, ok = TicksFromTime(lt)
			if !ok {
				return nullScalar
			}
		}
		if !inDatetimeRange(ticks) {
			return nullScalar
		}
		return scalar{i: ticks}
	}, x, z), nil
}

// datetimeArg returns argument i as a datetime: a dynamic or string value
// converts (null when it does not parse).
func datetimeArg(c *compiler, e *CallExpr, args []cexpr, i int) (cexpr, error) {
	switch t := args[i].typ(); t {
	case TypeDatetime:
		return args[i], nil
	case TypeDynamic, TypeString:
		return convertExpr(c, args[i], TypeDatetime), nil
	default:
		return nil, argErr(e, i, "a datetime", t)
	}
}

// longArg returns argument i as a long.
func longArg(c *compiler, e *CallExpr, args []cexpr, i int) (cexpr, error) {
	switch t := args[i].typ(); t {
	case TypeLong:
		return args[i], nil
	case TypeInt, TypeReal, TypeDynamic:
		return convertExpr(c, args[i], TypeLong), nil
	default:
		return nil, argErr(e, i, "a number", t)
	}
}

// stringArg returns argument i, which must be a string.
func stringArg(e *CallExpr, args []cexpr, i int) (cexpr, error) {
	if t := args[i].typ(); t != TypeString {
		return nil, argErr(e, i, "a string", t)
	}
	return args[i], nil
}

// daysIn returns the number of days of a month.
func daysIn(y, m int) int {
	return time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// datetimePart returns a part of a datetime, as datetime_part does.
func datetimePart(part string, ticks int64) scalar {
	t := TimeFromTicks(ticks)
	_, frac := floorDivMod(ticks, TicksPerSecond)
	var v int
	switch part {
	case "year":
		v = t.Year()
	case "quarter":
		v = (int(t.Month())-1)/3 + 1
	case "month":
		v = int(t.Month())
	case "week_of_year", "week", "weekofyear":
		_, v = t.ISOWeek()
	case "day":
		v = t.Day()
	case "dayofyear":
		v = t.YearDay()
	case "hour":
		v = t.Hour()
	case "minute":
		v = t.Minute()
	case "second":
		v = t.Second()
	case "millisecond":
		v = int(frac / ticksPerMillisecond)
	case "microsecond":
		v = int(frac / 10)
	case "nanosecond":
		v = int(frac * 100)
	default:
		return nullScalar
	}
	return scalar{i: int64(v)}
}

// datetimeDiff returns x - y counted in boundaries of part crossed, as
// datetime_diff does: calendar years, quarters and months, Sunday weeks,
// days, and the ticks floored to the unit for the smaller parts.
func datetimeDiff(part string, x, y int64) scalar {
	floorTo := func(unit int64) scalar {
		qx, _ := floorDivMod(x, unit)
		qy, _ := floorDivMod(y, unit)
		return scalar{i: qx - qy}
	}
	tx, ty := TimeFromTicks(x), TimeFromTicks(y)
	months := func(t time.Time) int64 { return int64(t.Year())*12 + int64(t.Month()) - 1 }
	switch part {
	case "year":
		return scalar{i: int64(tx.Year() - ty.Year())}
	case "quarter":
		return scalar{i: months(tx)/3 - months(ty)/3}
	case "month":
		return scalar{i: months(tx) - months(ty)}
	case "week":
		// Weeks start on Sunday; 0001-01-07 was a Sunday.
		const sunday = MinDatetimeTicks + 6*ticksPerDay
		qx, _ := floorDivMod(x-sunday, 7*ticksPerDay)
		qy, _ := floorDivMod(y-sunday, 7*ticksPerDay)
		return scalar{i: qx - qy}
	case "day":
		return floorTo(ticksPerDay)
	case "hour":
		return floorTo(ticksPerHour)
	case "minute":
		return floorTo(ticksPerMinute)
	case "second":
		return floorTo(TicksPerSecond)
	case "millisecond":
		return floorTo(ticksPerMillisecond)
	case "microsecond":
		return floorTo(10)
	case "nanosecond":
		d, ok := mulTicks(x-y, 100)
		if !ok {
			return nullScalar
		}
		return scalar{i: d}
	}
	return nullScalar
}

// datetimeAdd adds n periods of part to a datetime, as datetime_add does:
// months, quarters and years keep the day of the month, clamped to the
// month's last day.
func datetimeAdd(part string, n, ticks int64) scalar {
	var unit int64
	switch part {
	case "year", "quarter", "month":
		k := map[string]int64{"year": 12, "quarter": 3, "month": 1}[part]
		if n > 12*10000 || n < -12*10000 {
			return nullScalar
		}
		t := TimeFromTicks(ticks)
		y, m, d := t.Date()
		total := int64(y)*12 + int64(m) - 1 + n*k
		ny, nm := int(total/12), int(total%12)+1
		if total < 0 || ny < 1 || ny > 9999 {
			return nullScalar
		}
		d = min(d, daysIn(ny, nm))
		_, frac := floorDivMod(ticks, ticksPerDay)
		nt, _ := TicksFromTime(time.Date(ny, time.Month(nm), d, 0, 0, 0, 0, time.UTC))
		return scalar{i: nt + frac}
	case "week":
		unit = 7 * ticksPerDay
	case "day":
		unit = ticksPerDay
	case "hour":
		unit = ticksPerHour
	case "minute":
		unit = ticksPerMinute
	case "second":
		unit = TicksPerSecond
	case "millisecond":
		unit = ticksPerMillisecond
	case "microsecond":
		unit = 10
	case "nanosecond":
		v, ok := addTicks(ticks, n/100)
		if !ok || !inDatetimeRange(v) {
			return nullScalar
		}
		return scalar{i: v}
	default:
		return nullScalar
	}
	d, ok := mulTicks(n, unit)
	if !ok {
		return nullScalar
	}
	v, ok := addTicks(ticks, d)
	if !ok || !inDatetimeRange(v) {
		return nullScalar
	}
	return scalar{i: v}
}

// fmtRuns splits a format into runs of one specifier letter and literal
// text; a backslash quotes the next character.
func fmtRuns(format, letters string, emit func(letter byte, n int, lit string)) {
	for i := 0; i < len(format); {
		ch := format[i]
		switch {
		case ch == '\\' && i+1 < len(format):
			emit(0, 0, format[i+1:i+2])
			i += 2
		case strings.IndexByte(letters, ch) >= 0:
			j := i
			for j < len(format) && format[j] == ch {
				j++
			}
			emit(ch, j-i, "")
			i = j
		default:
			emit(0, 0, format[i:i+1])
			i++
		}
	}
}

// padInt formats v with at least n digits.
func padInt(dst []byte, v int64, n int) []byte {
	s := itoa(int(v))
	for k := len(s); k < n; k++ {
		dst = append(dst, '0')
	}
	return append(dst, s...)
}

// appendFrac appends the first n digits of a fraction of frac ticks: f
// keeps zeros, F trims them (and the separator before an empty F).
func appendFrac(dst []byte, frac int64, n int, trim bool) []byte {
	if n > 7 {
		n = 7
	}
	var digits [7]byte
	for i := 6; i >= 0; i-- {
		digits[i] = byte('0' + frac%10)
		frac /= 10
	}
	d := digits[:n]
	if trim {
		for len(d) > 0 && d[len(d)-1] == '0' {
			d = d[:len(d)-1]
		}
		if len(d) == 0 && len(dst) > 0 && dst[len(dst)-1] == '.' {
			return dst[:len(dst)-1]
		}
	}
	return append(dst, d...)
}

// formatDatetimeAs formats a datetime as format_datetime does: d, dd, f...,
// F..., h, hh, H, HH, m, mm, M, MM, s, ss, y, yy, yyyy, tt; other
// characters are copied.
func formatDatetimeAs(ticks int64, format string) string {
	t := TimeFromTicks(ticks)
	_, frac := floorDivMod(ticks, TicksPerSecond)
	var out []byte
	fmtRuns(format, "dfFhHmMsyt", func(l byte, n int, lit string) {
		switch l {
		case 0:
			out = append(out, lit...)
		case 'd':
			out = padInt(out, int64(t.Day()), n)
		case 'f', 'F':
			out = appendFrac(out, frac, n, l == 'F')
		case 'h':
			h := t.Hour() % 12
			if h == 0 {
				h = 12
			}
			out = padInt(out, int64(h), min(n, 2))
		case 'H':
			out = padInt(out, int64(t.Hour()), min(n, 2))
		case 'm':
			out = padInt(out, int64(t.Minute()), min(n, 2))
		case 'M':
			out = padInt(out, int64(t.Month()), min(n, 2))
		case 's':
			out = padInt(out, int64(t.Second()), min(n, 2))
		case 'y':
			y := int64(t.Year())
			if n <= 2 {
				y %= 100
			}
			out = padInt(out, y, n)
		case 't':
			ap := "AM"
			if t.Hour() >= 12 {
				ap = "PM"
			}
			out = append(out, ap[:min(n, 2)]...)
		}
	})
	return string(out)
}

// formatTimespanAs formats a timespan as format_timespan does: d... (days,
// padded), f..., F..., h, hh, H, HH, m, mm, s, ss; other characters are
// copied.
func formatTimespanAs(ticks int64, format string) string {
	u := absInt(ticks)
	frac := int64(u % TicksPerSecond)
	secs := u / TicksPerSecond
	d, h, m, s := secs/86400, secs/3600%24, secs/60%60, secs%60
	var out []byte
	if ticks < 0 {
		out = append(out, '-')
	}
	fmtRuns(format, "dfFhHms", func(l byte, n int, lit string) {
		switch l {
		case 0:
			out = append(out, lit...)
		case 'd':
			out = padInt(out, int64(d), n)
		case 'f', 'F':
			out = appendFrac(out, frac, n, l == 'F')
		case 'h', 'H':
			out = padInt(out, int64(h), min(n, 2))
		case 'm':
			out = padInt(out, int64(m), min(n, 2))
		case 's':
			out = padInt(out, int64(s), min(n, 2))
		}
	})
	return string(out)
}

// parseDatetimeText parses the text of todatetime(): the forms of datetime
// literals and the RFC 822, 850 and 1123 forms.
func parseDatetimeText(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	if v, err := parseDatetime(s); err == nil {
		return v, true
	}
	for _, layout := range []string{time.RFC1123, time.RFC1123Z, time.RFC850, time.RFC822, time.RFC822Z,
		"Mon, 2 Jan 2006 15:04:05 MST", "2006-01-02T15:04:05.9999999Z07", "2006/01/02 15:04:05", "2006/01/02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return TicksFromTime(t)
		}
	}
	return 0, false
}

// parseTimespanText parses the text of totimespan(): [-][d.]hh:mm[:ss[.f]]
// or a timespan literal such as 1.5h.
func parseTimespanText(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	if v, err := parseTimespanClock(s); err == nil {
		return v, true
	}
	neg := strings.HasPrefix(s, "-")
	if v, err := parseTimespanLiteral(strings.TrimPrefix(s, "-")); err == nil {
		if neg {
			v = -v
		}
		return v, true
	}
	return 0, false
}

// convertTime converts a value to a datetime or a timespan (to) as
// todatetime and totimespan do: from text, from the other's own type, and
// a timespan from a number of ticks.
func convertTime(s scalar, from, to Type) scalar {
	switch {
	case from == to:
		return s
	case from == TypeString || from == TypeGUID:
		var v int64
		var ok bool
		if to == TypeDatetime {
			v, ok = parseDatetimeText(s.s)
		} else {
			v, ok = parseTimespanText(s.s)
		}
		if !ok {
			return nullScalar
		}
		return scalar{i: v}
	case to == TypeTimespan && (from == TypeLong || from == TypeInt):
		return scalar{i: s.i}
	case to == TypeTimespan && from == TypeReal:
		v, ok := ticksFromFloat(s.f)
		if !ok {
			return nullScalar
		}
		return scalar{i: v}
	}
	return nullScalar
}
