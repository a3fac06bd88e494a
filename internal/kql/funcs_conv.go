package kql

import (
	"math"
	"strconv"
	"strings"
)

// Conversion functions: tostring, toint, tolong, todouble/toreal, tobool,
// toguid, todynamic/parse_json (funcs_dynamic.go), todatetime and
// totimespan (funcs_datetime.go). A value that does not convert is null.

func init() {
	conv := func(to Type) *funcDef {
		return &funcDef{min: 1, max: 1, compile: func(c *compiler, e *CallExpr, args []cexpr) (cexpr, error) {
			from := args[0].typ()
			if from == to && to != TypeString {
				return args[0], nil
			}
			return newRowFunc(to, func(a []scalar) scalar { return convertScalar(a[0], from, to) }, args[0]), nil
		}}
	}
	register(conv(TypeString), "tostring")
	register(conv(TypeInt), "toint")
	register(conv(TypeLong), "tolong")
	register(conv(TypeReal), "todouble", "toreal", "todecimal")
	register(conv(TypeBool), "tobool", "toboolean")
	register(conv(TypeGUID), "toguid")
}

// scalarString formats a non-null value of type t as tostring() does.
func scalarString(s scalar, t Type) string {
	switch t {
	case TypeString, TypeGUID:
		return s.s
	case TypeDynamic:
		if s.s == "" {
			return ""
		}
		d, err := parseDyn(s.s)
		if err != nil {
			return s.s
		}
		return dynToString(d)
	case TypeInt, TypeLong:
		return strconv.FormatInt(s.i, 10)
	case TypeReal:
		return formatReal(s.f)
	case TypeBool:
		if s.b {
			return "true"
		}
		return "false"
	case TypeDatetime, TypeTimespan:
		v, _ := jsonValue(&Vector{Type: t, Int: []int64{s.i}}, 0).(string)
		return v
	}
	return ""
}

// formatReal formats a real as Kusto does in strings: 1.5, 1, 1E+21.
func formatReal(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	return strings.Replace(strconv.FormatFloat(f, 'G', -1, 64), "E+0", "E+", 1)
}

// convertScalar converts a value of type from to type to; what does not
// convert is null.
func convertScalar(s scalar, from, to Type) scalar {
	if s.null && !(from == TypeString && to == TypeString) {
		if to == TypeString {
			return scalar{}
		}
		return nullScalar
	}
	if from == TypeDynamic && to != TypeDynamic && to != TypeString {
		if s.s == "" {
			return nullScalar
		}
		d, err := parseDyn(s.s)
		if err != nil {
			return nullScalar
		}
		return dynToScalar(d, to)
	}
	switch to {
	case TypeString:
		if s.null {
			return scalar{}
		}
		return scalar{s: scalarString(s, from)}
	case TypeDynamic:
		switch from {
		case TypeDynamic:
			return s
		case TypeString, TypeGUID:
			return scalar{s: dynText(s.s)}
		case TypeInt, TypeLong:
			return scalar{s: dynText(s.i)}
		case TypeReal:
			return scalar{s: dynText(s.f)}
		case TypeBool:
			return scalar{s: dynText(s.b)}
		default:
			return scalar{s: dynText(scalarString(s, from))}
		}
	case TypeInt, TypeLong:
		var n int64
		switch from {
		case TypeInt, TypeLong, TypeDatetime, TypeTimespan:
			n = s.i
		case TypeReal:
			if math.IsNaN(s.f) || math.IsInf(s.f, 0) || math.Abs(s.f) >= 1<<63 {
				return nullScalar
			}
			n = int64(s.f)
		case TypeBool:
			n = int64(b2i(s.b))
		case TypeString:
			t := strings.TrimSpace(s.s)
			v, err := strconv.ParseInt(t, 10, 64)
			if err != nil {
				f, ferr := strconv.ParseFloat(t, 64)
				if ferr != nil || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) >= 1<<63 {
					return nullScalar
				}
				v = int64(f)
			}
			n = v
		default:
			return nullScalar
		}
		if to == TypeInt && (n < math.MinInt32 || n > math.MaxInt32) {
			return nullScalar
		}
		return scalar{i: n}
	case TypeReal:
		switch from {
		case TypeInt, TypeLong:
			return scalar{f: float64(s.i)}
		case TypeReal:
			return s
		case TypeBool:
			return scalar{f: float64(b2i(s.b))}
		case TypeString:
			f, err := strconv.ParseFloat(strings.TrimSpace(s.s), 64)
			if err != nil && !strings.EqualFold(strings.TrimSpace(s.s), "nan") {
				return nullScalar
			}
			return scalar{f: f}
		}
		return nullScalar
	case TypeBool:
		switch from {
		case TypeBool:
			return s
		case TypeInt, TypeLong:
			return scalar{b: s.i != 0}
		case TypeReal:
			return scalar{b: s.f != 0}
		case TypeString:
			switch strings.ToLower(strings.TrimSpace(s.s)) {
			case "true", "1":
				return scalar{b: true}
			case "false", "0":
				return scalar{b: false}
			}
		}
		return nullScalar
	case TypeDatetime, TypeTimespan:
		return convertTime(s, from, to) // funcs_datetime.go
	case TypeGUID:
		switch from {
		case TypeGUID:
			return s
		case TypeString:
			if g, ok := parseGUID(strings.TrimSpace(s.s)); ok {
				return scalar{s: g}
			}
		}
		return nullScalar
	}
	if from == to {
		return s
	}
	return nullScalar
}

// dynToScalar converts a decoded dynamic value to a scalar of type to.
func dynToScalar(d any, to Type) scalar {
	switch v := d.(type) {
	case nil:
		return nullScalar
	case bool:
		return convertScalar(scalar{b: v}, TypeBool, to)
	case int64:
		return convertScalar(scalar{i: v}, TypeLong, to)
	case float64:
		return convertScalar(scalar{f: v}, TypeReal, to)
	case string:
		return convertScalar(scalar{s: v}, TypeString, to)
	}
	if to == TypeString {
		return scalar{s: dynToString(d)}
	}
	return nullScalar
}

// convertConst converts a constant for a column or parameter of type to:
// numbers widen or narrow, anything becomes dynamic, and null is null.
func convertConst(k *constNode, to Type) (scalar, bool) {
	from := k.t
	switch {
	case k.v.null:
		if to == TypeString {
			return scalar{}, true
		}
		return nullScalar, true
	case from == to:
		return k.v, true
	case from.isNumeric() && to.isNumeric(), to == TypeDynamic, to == TypeString && from == TypeGUID,
		to == TypeGUID && from == TypeString:
		s := convertScalar(k.v, from, to)
		return s, !s.null
	}
	return scalar{}, false
}

// convertExpr converts x to type to (a no-op when it has that type).
func convertExpr(c *compiler, x cexpr, to Type) cexpr {
	from := x.typ()
	if from == to {
		return x
	}
	if from.isNumeric() && to == TypeReal {
		return c.fold(&toReal{x})
	}
	return c.fold(newRowFunc(to, func(a []scalar) scalar { return convertScalar(a[0], from, to) }, x))
}
