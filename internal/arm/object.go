package arm

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Object is a JSON object as DecodeLenient produces it, with typed accessors
// that find members the way Azure Resource Manager does: property names are
// case-insensitive, so "Capacity" and "capacity" name the same member.
//
// Every accessor takes a member name and returns the value, whether it was
// there, and an error. A member that is absent or JSON null is reported as
// not there (ok=false) without an error, so optional properties need no
// special casing; a member that is present with the wrong type is a
// *TypeError whose Path is the member name. To report the full path of a
// nested member, wrap the error with PrefixTypeError:
//
//	sku, _, err := body.Object("sku")
//	if err != nil {
//		return err
//	}
//	capacity, ok, err := sku.Int("capacity")
//	if err != nil {
//		return PrefixTypeError("sku", err) // property 'sku.capacity' must be ...
//	}
//
// Numbers are json.Number values, as DecodeLenient produces them; float64,
// int and int64 values put in an Object by Go code are accepted too.
type Object map[string]any

// AsObject returns v as an Object if it is a JSON object (a map[string]any
// or an Object).
func AsObject(v any) (Object, bool) {
	switch m := v.(type) {
	case map[string]any:
		return Object(m), true
	case Object:
		return m, true
	}
	return nil, false
}

// Lookup finds a member by name: an exact-case match first, then a
// case-insensitive one. If several members match only case-insensitively
// (which Azure would reject as ambiguous), the one whose name sorts first
// wins, so the result does not depend on map order.
func (o Object) Lookup(name string) (any, bool) {
	if v, ok := o[name]; ok {
		return v, true
	}
	var (
		found bool
		key   string
		val   any
	)
	for k, v := range o {
		if strings.EqualFold(k, name) && (!found || k < key) {
			found, key, val = true, k, v
		}
	}
	return val, found
}

// Has reports whether the object has a member with the name, in any case,
// even if its value is null.
func (o Object) Has(name string) bool {
	_, ok := o.Lookup(name)
	return ok
}

// member returns the named member, with ok=false if it is absent or null.
func (o Object) member(name string) (any, bool) {
	v, ok := o.Lookup(name)
	if !ok || v == nil {
		return nil, false
	}
	return v, true
}

// Object returns the named member as an Object; ok=false if it is absent or
// JSON null; a *TypeError if it is present with another type.
func (o Object) Object(name string) (Object, bool, error) {
	v, ok := o.member(name)
	if !ok {
		return nil, false, nil
	}
	m, ok := AsObject(v)
	if !ok {
		return nil, false, objectTypeError(name, "object", v)
	}
	return m, true, nil
}

// String returns the named member as a string; ok=false if it is absent or
// JSON null; a *TypeError if it is present with another type (numbers and
// booleans are not converted).
func (o Object) String(name string) (string, bool, error) {
	v, ok := o.member(name)
	if !ok {
		return "", false, nil
	}
	s, ok := v.(string)
	if !ok {
		return "", false, objectTypeError(name, "string", v)
	}
	return s, true, nil
}

// Int returns the named member as an int64; ok=false if it is absent or JSON
// null; a *TypeError if it is not a number with an integral value in the
// range of int64. Integral values written with a fraction or an exponent,
// such as 1000.0 or 1e3, are accepted; strings such as "1000" are not.
func (o Object) Int(name string) (int64, bool, error) {
	v, ok := o.member(name)
	if !ok {
		return 0, false, nil
	}
	var got string
	switch n := v.(type) {
	case json.Number:
		i, g := objectParseInt(string(n))
		if g == "" {
			return i, true, nil
		}
		got = g
	case float64:
		switch {
		case n != math.Trunc(n):
			got = "fractional number"
		case n < -(1<<63) || n >= 1<<63:
			got = "number out of range"
		default:
			return int64(n), true, nil
		}
	case int:
		return int64(n), true, nil
	case int64:
		return n, true, nil
	default:
		got = objectKind(v)
	}
	return 0, false, &TypeError{Path: name, Want: "integer", Got: got}
}

// objectParseInt converts the JSON number literal s to an int64. It returns
// a description of the problem ("fractional number", "number out of range",
// "invalid number") if s is not an integer in range, and "" if it is.
func objectParseInt(s string) (int64, string) {
	if !lenientValidNumber([]byte(s)) {
		return 0, "invalid number"
	}
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return i, ""
	}
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	mant, exp, _ := strings.Cut(strings.ToLower(s), "e")
	intPart, frac, _ := strings.Cut(mant, ".")
	// The value is 0.digits × 10^point: find the significant digits and
	// where the decimal point falls among them.
	digits := intPart + frac
	point := len(intPart)
	trimmed := strings.TrimLeft(digits, "0")
	point -= len(digits) - len(trimmed)
	digits = strings.TrimRight(trimmed, "0")
	if digits == "" {
		return 0, "" // zero, however it is written
	}
	if exp != "" {
		expNeg := strings.HasPrefix(exp, "-")
		exp = strings.TrimLeft(strings.TrimLeft(exp, "+-"), "0")
		if len(exp) > 6 {
			// |exponent| ≥ 10^6 moves the non-zero digits far out of
			// range or far right of the decimal point.
			if expNeg {
				return 0, "fractional number"
			}
			return 0, "number out of range"
		}
		e, _ := strconv.Atoi("0" + exp)
		if expNeg {
			e = -e
		}
		point += e
	}
	switch {
	case point < len(digits):
		return 0, "fractional number"
	case point > 19:
		return 0, "number out of range"
	}
	digits += strings.Repeat("0", point-len(digits))
	if neg {
		digits = "-" + digits
	}
	i, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return 0, "number out of range"
	}
	return i, ""
}

// Float returns the named member as a float64; ok=false if it is absent or
// JSON null; a *TypeError if it is not a number or is out of the range of
// float64.
func (o Object) Float(name string) (float64, bool, error) {
	v, ok := o.member(name)
	if !ok {
		return 0, false, nil
	}
	var got string
	switch n := v.(type) {
	case json.Number:
		if !lenientValidNumber([]byte(n)) {
			got = "invalid number"
			break
		}
		f, err := strconv.ParseFloat(string(n), 64)
		if err == nil {
			return f, true, nil
		}
		got = "number out of range"
	case float64:
		return n, true, nil
	case int:
		return float64(n), true, nil
	case int64:
		return float64(n), true, nil
	default:
		got = objectKind(v)
	}
	return 0, false, &TypeError{Path: name, Want: "number", Got: got}
}

// Bool returns the named member as a bool; ok=false if it is absent or JSON
// null; a *TypeError if it is present with another type (strings such as
// "true" are not converted).
func (o Object) Bool(name string) (bool, bool, error) {
	v, ok := o.member(name)
	if !ok {
		return false, false, nil
	}
	b, ok := v.(bool)
	if !ok {
		return false, false, objectTypeError(name, "boolean", v)
	}
	return b, true, nil
}

// Array returns the named member as a slice; ok=false if it is absent or
// JSON null; a *TypeError if it is present with another type. Elements that
// are objects can be read with AsObject.
func (o Object) Array(name string) ([]any, bool, error) {
	v, ok := o.member(name)
	if !ok {
		return nil, false, nil
	}
	a, ok := v.([]any)
	if !ok {
		return nil, false, objectTypeError(name, "array", v)
	}
	return a, true, nil
}

// StringMap returns the named member, an object whose members are all
// strings (such as a resource's tags), as a new map[string]string; ok=false
// if it is absent or JSON null; a *TypeError if it is not an object, or if a
// member of it is not a string (then Path is "name.member").
func (o Object) StringMap(name string) (map[string]string, bool, error) {
	v, ok := o.member(name)
	if !ok {
		return nil, false, nil
	}
	m, ok := AsObject(v)
	if !ok {
		return nil, false, objectTypeError(name, "object", v)
	}
	out := make(map[string]string, len(m))
	for k, mv := range m {
		s, ok := mv.(string)
		if !ok {
			return nil, false, objectTypeError(name+"."+k, "string", mv)
		}
		out[k] = s
	}
	return out, true, nil
}

// TypeError reports a property that is present with the wrong JSON type,
// e.g. "property 'sku.capacity' must be an integer, got string".
type TypeError struct {
	// Path names the property: the member name given to the accessor,
	// possibly prefixed by PrefixTypeError, e.g. "sku.capacity".
	Path string
	// Want is the type the property must have: "object", "array",
	// "string", "number", "integer" or "boolean".
	Want string
	// Got describes what the property holds: a JSON type name ("null",
	// "string", "number", "boolean", "object", "array"), or a more precise
	// description such as "fractional number" or "number out of range".
	Got string
}

// Error formats the error as "property 'PATH' must be a(n) WANT, got GOT".
func (e *TypeError) Error() string {
	article := "a"
	if e.Want != "" && strings.IndexByte("aeiouAEIOU", e.Want[0]) >= 0 {
		article = "an"
	}
	return fmt.Sprintf("property '%s' must be %s %s, got %s", e.Path, article, e.Want, e.Got)
}

// PrefixTypeError returns err with the property path prefix prepended if err
// is a *TypeError, e.g. the prefix "properties" turns the path "sku" into
// "properties.sku" and "[0].name" into "properties[0].name". It returns a new
// error and leaves err unchanged; any other error, and nil, is returned as
// is.
func PrefixTypeError(prefix string, err error) error {
	te, ok := err.(*TypeError)
	if !ok || prefix == "" {
		return err
	}
	c := *te
	switch {
	case c.Path == "":
		c.Path = prefix
	case strings.HasPrefix(c.Path, "["):
		c.Path = prefix + c.Path
	default:
		c.Path = prefix + "." + c.Path
	}
	return &c
}

// objectTypeError returns the *TypeError for a property at path holding v
// instead of a want.
func objectTypeError(path, want string, v any) *TypeError {
	return &TypeError{Path: path, Want: want, Got: objectKind(v)}
}

// objectKind names the JSON type of v.
func objectKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case json.Number, float64, float32, int, int64, int32, uint, uint64, uint32:
		return "number"
	case bool:
		return "boolean"
	case map[string]any, Object:
		return "object"
	case []any:
		return "array"
	default:
		return fmt.Sprintf("%T", v)
	}
}
