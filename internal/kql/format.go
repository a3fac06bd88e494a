package kql

import (
	"fmt"
	"math"
	"time"
)

// jsonValue returns row i of v in the Query API's JSON form.
func jsonValue(v *Vector, i int) any {
	if v == nil || v.IsNull(i) {
		return nil
	}
	switch v.Type {
	case TypeBool:
		return v.Bool[i]
	case TypeInt, TypeLong:
		return v.Int[i]
	case TypeReal:
		f := v.Real[i]
		switch {
		case math.IsNaN(f):
			return "NaN"
		case math.IsInf(f, 1):
			return "Infinity"
		case math.IsInf(f, -1):
			return "-Infinity"
		}
		return f
	case TypeDatetime:
		return FormatDatetime(v.Int[i])
	case TypeTimespan:
		return FormatTimespan(v.Int[i])
	case TypeString, TypeGUID, TypeDynamic:
		return v.Str[i]
	}
	return nil
}

// FormatDatetime formats Unix nanoseconds as Kusto does in JSON results:
// RFC 3339 in UTC with "Z" and only the fractional digits needed.
func FormatDatetime(ns int64) string {
	return time.Unix(0, ns).UTC().Format(time.RFC3339Nano)
}

// FormatTimespan formats nanoseconds as Kusto's [-][d.]hh:mm:ss[.fffffff],
// with 100 ns (tick) precision.
func FormatTimespan(ns int64) string {
	sign := ""
	u := uint64(ns)
	if ns < 0 {
		sign = "-"
		u = uint64(-ns)
	}
	ticks := u / 100
	frac := ticks % 1e7
	secs := ticks / 1e7
	d, h, m, s := secs/86400, secs/3600%24, secs/60%60, secs%60
	out := sign
	if d > 0 {
		out += fmt.Sprintf("%d.", d)
	}
	out += fmt.Sprintf("%02d:%02d:%02d", h, m, s)
	if frac > 0 {
		out += fmt.Sprintf(".%07d", frac)
	}
	return out
}
