package kql

import "math"

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
