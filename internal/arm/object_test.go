package arm

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"
)

// objectFixture is the object most accessor tests read from.
func objectFixture() Object {
	return Object{
		"name":     "c1",
		"Capacity": json.Number("1000"),
		"ratio":    json.Number("0.5"),
		"enabled":  true,
		"nothing":  nil,
		"sku":      map[string]any{"name": "capacityReservation"},
		"props":    Object{"x": "y"},
		"list":     []any{json.Number("1"), "two"},
		"tags":     map[string]any{"env": "prod", "Team": "logs"},
		"badTags":  map[string]any{"env": "prod", "n": json.Number("1")},
		"nullTags": map[string]any{"env": nil},
		"empty":    map[string]any{},
	}
}

func TestAsObject(t *testing.T) {
	tests := []struct {
		in   any
		want Object
		ok   bool
	}{
		{map[string]any{"a": "b"}, Object{"a": "b"}, true},
		{Object{"a": "b"}, Object{"a": "b"}, true},
		{map[string]any{}, Object{}, true},
		{[]any{}, nil, false},
		{"x", nil, false},
		{nil, nil, false},
		{map[string]string{"a": "b"}, nil, false},
	}
	for _, tc := range tests {
		got, ok := AsObject(tc.in)
		if ok != tc.ok || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("AsObject(%#v) = %#v, %v; want %#v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestObjectLookup(t *testing.T) {
	o := Object{"Capacity": "C", "name": "n", "NAME": "N", "nAmE": "x", "null": nil, "ÉTÉ": "summer"}
	tests := []struct {
		name string
		want any
		ok   bool
	}{
		{"Capacity", "C", true},
		{"capacity", "C", true},
		{"CAPACITY", "C", true},
		{"name", "n", true},     // exact match beats case-insensitive ones
		{"NAME", "N", true},     // exact match
		{"Name", "N", true},     // several case-insensitive matches: the first name in sort order
		{"null", nil, true},     // present, value null
		{"NULL", nil, true},     // present, value null
		{"été", "summer", true}, // Unicode case folding
		{"capacit", nil, false},
		{"", nil, false},
	}
	for _, tc := range tests {
		got, ok := o.Lookup(tc.name)
		if ok != tc.ok || got != tc.want {
			t.Errorf("Lookup(%q) = %v, %v; want %v, %v", tc.name, got, ok, tc.want, tc.ok)
		}
		if has := o.Has(tc.name); has != tc.ok {
			t.Errorf("Has(%q) = %v, want %v", tc.name, has, tc.ok)
		}
	}
	var nilObj Object
	if v, ok := nilObj.Lookup("a"); ok || v != nil {
		t.Errorf("nil Object Lookup = %v, %v", v, ok)
	}
}

// accessorResult is what a typed accessor returned, for table comparisons.
type accessorResult struct {
	v   any
	ok  bool
	err string
}

func result[T any](v T, ok bool, err error) accessorResult {
	r := accessorResult{v: v, ok: ok}
	if err != nil {
		r.err = err.Error()
		var te *TypeError
		if !errors.As(err, &te) {
			r.err = fmt.Sprintf("not a *TypeError: %T %v", err, err)
		}
	}
	return r
}

func TestObjectAccessors(t *testing.T) {
	o := objectFixture()
	tests := []struct {
		call string
		got  accessorResult
		want accessorResult
	}{
		{`String("name")`, result(o.String("name")), accessorResult{"c1", true, ""}},
		{`String("NAME")`, result(o.String("NAME")), accessorResult{"c1", true, ""}},
		{`String("missing")`, result(o.String("missing")), accessorResult{"", false, ""}},
		{`String("nothing")`, result(o.String("nothing")), accessorResult{"", false, ""}},
		{`String("capacity")`, result(o.String("capacity")), accessorResult{"", false, "property 'capacity' must be a string, got number"}},
		{`String("sku")`, result(o.String("sku")), accessorResult{"", false, "property 'sku' must be a string, got object"}},

		{`Int("capacity")`, result(o.Int("capacity")), accessorResult{int64(1000), true, ""}},
		{`Int("missing")`, result(o.Int("missing")), accessorResult{int64(0), false, ""}},
		{`Int("nothing")`, result(o.Int("nothing")), accessorResult{int64(0), false, ""}},
		{`Int("name")`, result(o.Int("name")), accessorResult{int64(0), false, "property 'name' must be an integer, got string"}},
		{`Int("ratio")`, result(o.Int("ratio")), accessorResult{int64(0), false, "property 'ratio' must be an integer, got fractional number"}},
		{`Int("enabled")`, result(o.Int("enabled")), accessorResult{int64(0), false, "property 'enabled' must be an integer, got boolean"}},

		{`Float("ratio")`, result(o.Float("ratio")), accessorResult{0.5, true, ""}},
		{`Float("capacity")`, result(o.Float("capacity")), accessorResult{1000.0, true, ""}},
		{`Float("missing")`, result(o.Float("missing")), accessorResult{0.0, false, ""}},
		{`Float("list")`, result(o.Float("list")), accessorResult{0.0, false, "property 'list' must be a number, got array"}},

		{`Bool("enabled")`, result(o.Bool("enabled")), accessorResult{true, true, ""}},
		{`Bool("Enabled")`, result(o.Bool("Enabled")), accessorResult{true, true, ""}},
		{`Bool("missing")`, result(o.Bool("missing")), accessorResult{false, false, ""}},
		{`Bool("name")`, result(o.Bool("name")), accessorResult{false, false, "property 'name' must be a boolean, got string"}},

		{`Array("list")`, result(o.Array("list")), accessorResult{[]any{json.Number("1"), "two"}, true, ""}},
		{`Array("missing")`, result(o.Array("missing")), accessorResult{[]any(nil), false, ""}},
		{`Array("tags")`, result(o.Array("tags")), accessorResult{[]any(nil), false, "property 'tags' must be an array, got object"}},

		{`Object("sku")`, result(o.Object("sku")), accessorResult{Object{"name": "capacityReservation"}, true, ""}},
		{`Object("SKU")`, result(o.Object("SKU")), accessorResult{Object{"name": "capacityReservation"}, true, ""}},
		{`Object("props")`, result(o.Object("props")), accessorResult{Object{"x": "y"}, true, ""}},
		{`Object("missing")`, result(o.Object("missing")), accessorResult{Object(nil), false, ""}},
		{`Object("nothing")`, result(o.Object("nothing")), accessorResult{Object(nil), false, ""}},
		{`Object("name")`, result(o.Object("name")), accessorResult{Object(nil), false, "property 'name' must be an object, got string"}},
		{`Object("list")`, result(o.Object("list")), accessorResult{Object(nil), false, "property 'list' must be an object, got array"}},

		{`StringMap("tags")`, result(o.StringMap("tags")), accessorResult{map[string]string{"env": "prod", "Team": "logs"}, true, ""}},
		{`StringMap("empty")`, result(o.StringMap("empty")), accessorResult{map[string]string{}, true, ""}},
		{`StringMap("missing")`, result(o.StringMap("missing")), accessorResult{map[string]string(nil), false, ""}},
		{`StringMap("nothing")`, result(o.StringMap("nothing")), accessorResult{map[string]string(nil), false, ""}},
		{`StringMap("badTags")`, result(o.StringMap("badTags")), accessorResult{map[string]string(nil), false, "property 'badTags.n' must be a string, got number"}},
		{`StringMap("nullTags")`, result(o.StringMap("nullTags")), accessorResult{map[string]string(nil), false, "property 'nullTags.env' must be a string, got null"}},
		{`StringMap("name")`, result(o.StringMap("name")), accessorResult{map[string]string(nil), false, "property 'name' must be an object, got string"}},
	}
	for _, tc := range tests {
		if !reflect.DeepEqual(tc.got, tc.want) {
			t.Errorf("%s = %#v, want %#v", tc.call, tc.got, tc.want)
		}
	}
}

func TestObjectInt(t *testing.T) {
	tests := []struct {
		v    any
		want int64
		got  string // TypeError.Got, or "" for success
	}{
		{json.Number("0"), 0, ""},
		{json.Number("-0"), 0, ""},
		{json.Number("42"), 42, ""},
		{json.Number("-42"), -42, ""},
		{json.Number("9223372036854775807"), 9223372036854775807, ""},
		{json.Number("-9223372036854775808"), -9223372036854775808, ""},
		{json.Number("9223372036854775808"), 0, "number out of range"},
		{json.Number("-9223372036854775809"), 0, "number out of range"},
		{json.Number("1000.0"), 1000, ""},
		{json.Number("1000.000"), 1000, ""},
		{json.Number("1e3"), 1000, ""},
		{json.Number("1E+3"), 1000, ""},
		{json.Number("1.5e1"), 15, ""},
		{json.Number("100e-2"), 1, ""},
		{json.Number("-2.50e1"), -25, ""},
		{json.Number("0.0"), 0, ""},
		{json.Number("0e999999999999"), 0, ""},
		{json.Number("0.000e-5"), 0, ""},
		{json.Number("9.223372036854775807e18"), 9223372036854775807, ""},
		{json.Number("9.223372036854775808e18"), 0, "number out of range"},
		{json.Number("-9.223372036854775808e18"), -9223372036854775808, ""},
		{json.Number("1e19"), 0, "number out of range"},
		{json.Number("1e20"), 0, "number out of range"},
		{json.Number("1e1000000"), 0, "number out of range"},
		{json.Number("1e-1000000"), 0, "fractional number"},
		{json.Number("0.5"), 0, "fractional number"},
		{json.Number("1000.5"), 0, "fractional number"},
		{json.Number("1e-2"), 0, "fractional number"},
		{json.Number("4503599627370495.25"), 0, "fractional number"},
		{json.Number("0.001e3"), 1, ""},
		{json.Number("0.0015e3"), 0, "fractional number"},
		{json.Number("abc"), 0, "invalid number"},
		{json.Number(""), 0, "invalid number"},
		{json.Number("+5"), 0, "invalid number"},
		{json.Number("007"), 0, "invalid number"},
		{float64(12), 12, ""},
		{float64(-1 << 63), -1 << 63, ""},
		{float64(1 << 63), 0, "number out of range"},
		{1.5, 0, "fractional number"},
		{int(7), 7, ""},
		{int64(-7), -7, ""},
		{"1000", 0, "string"},
		{[]any{}, 0, "array"},
	}
	for _, tc := range tests {
		got, ok, err := Object{"n": tc.v}.Int("n")
		if tc.got == "" {
			if err != nil || !ok || got != tc.want {
				t.Errorf("Int(%#v) = %d, %v, %v; want %d", tc.v, got, ok, err, tc.want)
			}
			continue
		}
		var te *TypeError
		if !errors.As(err, &te) || ok || got != 0 || te.Got != tc.got || te.Want != "integer" || te.Path != "n" {
			t.Errorf("Int(%#v) = %d, %v, %#v; want TypeError got %q", tc.v, got, ok, err, tc.got)
		}
	}
}

func TestObjectFloat(t *testing.T) {
	tests := []struct {
		v    any
		want float64
		got  string // TypeError.Got, or "" for success
	}{
		{json.Number("1.25"), 1.25, ""},
		{json.Number("-3e2"), -300, ""},
		{json.Number("1e400"), 0, "number out of range"},
		{json.Number("nope"), 0, "invalid number"},
		{json.Number("Inf"), 0, "invalid number"},
		{json.Number("0x1p3"), 0, "invalid number"},
		{float64(2.5), 2.5, ""},
		{int(3), 3, ""},
		{int64(4), 4, ""},
		{"1.25", 0, "string"},
		{true, 0, "boolean"},
	}
	for _, tc := range tests {
		got, ok, err := Object{"f": tc.v}.Float("f")
		if tc.got == "" {
			if err != nil || !ok || got != tc.want {
				t.Errorf("Float(%#v) = %v, %v, %v; want %v", tc.v, got, ok, err, tc.want)
			}
			continue
		}
		var te *TypeError
		if !errors.As(err, &te) || ok || te.Got != tc.got || te.Want != "number" {
			t.Errorf("Float(%#v) = %v, %v, %#v; want TypeError got %q", tc.v, got, ok, err, tc.got)
		}
	}
}

func TestTypeErrorAndPrefix(t *testing.T) {
	body, err := DecodeLenient([]byte(`{"SKU": {"Capacity": "1000"}, "items": [{"n": 1}]}`))
	if err != nil {
		t.Fatal(err)
	}
	o, _ := AsObject(body)
	sku, ok, err := o.Object("sku")
	if err != nil || !ok {
		t.Fatalf("Object(sku) = %v, %v, %v", sku, ok, err)
	}
	_, _, err = sku.Int("capacity")
	err = PrefixTypeError("sku", err)
	if want := "property 'sku.capacity' must be an integer, got string"; err == nil || err.Error() != want {
		t.Fatalf("error = %v, want %s", err, want)
	}
	err = PrefixTypeError("properties", err)
	if want := "property 'properties.sku.capacity' must be an integer, got string"; err.Error() != want {
		t.Fatalf("error = %v, want %s", err, want)
	}

	items, _, _ := o.Array("items")
	item, _ := AsObject(items[0])
	_, _, err = item.String("n")
	err = PrefixTypeError("[0]", err)
	err = PrefixTypeError("items", err)
	if want := "property 'items[0].n' must be a string, got number"; err.Error() != want {
		t.Fatalf("error = %v, want %s", err, want)
	}

	// PrefixTypeError leaves other errors, nil and the original alone.
	orig := &TypeError{Path: "a", Want: "array", Got: "null"}
	if got := PrefixTypeError("p", orig); got.Error() != "property 'p.a' must be an array, got null" || orig.Path != "a" {
		t.Errorf("PrefixTypeError = %v, original path now %q", got, orig.Path)
	}
	if got := PrefixTypeError("p", &TypeError{Want: "object", Got: "string"}); got.Error() != "property 'p' must be an object, got string" {
		t.Errorf("PrefixTypeError on empty path = %v", got)
	}
	if got := PrefixTypeError("", orig); got != error(orig) {
		t.Errorf("PrefixTypeError with empty prefix = %v", got)
	}
	other := errors.New("other")
	if got := PrefixTypeError("p", other); got != other {
		t.Errorf("PrefixTypeError(other) = %v", got)
	}
	if got := PrefixTypeError("p", nil); got != nil {
		t.Errorf("PrefixTypeError(nil) = %v", got)
	}
}

func TestSpecBodiesThroughObject(t *testing.T) {
	for _, body := range []string{specClusterBody, specKeyVaultBody} {
		v, err := DecodeLenient([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		o, ok := AsObject(v)
		if !ok {
			t.Fatalf("body is not an object: %#v", v)
		}
		sku, ok, err := o.Object("sku")
		if !ok || err != nil {
			t.Fatalf("sku: %v, %v", ok, err)
		}
		capacity, ok, err := sku.Int("capacity")
		if capacity != 1000 || !ok || err != nil {
			t.Errorf("sku.capacity = %d, %v, %v; want 1000", capacity, ok, err)
		}
		loc, ok, err := o.String("Location")
		if loc != "<region-name>" || !ok || err != nil {
			t.Errorf("location = %q, %v, %v", loc, ok, err)
		}
	}
	v, _ := DecodeLenient([]byte(specKeyVaultBody))
	o, _ := AsObject(v)
	props, _, _ := o.Object("properties")
	kv, ok, err := props.Object("keyVaultProperties")
	if !ok || err != nil {
		t.Fatalf("keyVaultProperties: %v, %v", ok, err)
	}
	uri, ok, err := kv.String("keyVaultUri")
	if uri != "https://<key-vault-name>.vault.azure.net" || !ok || err != nil {
		t.Errorf("keyVaultUri = %q, %v, %v", uri, ok, err)
	}
}

func BenchmarkObjectLookupCaseInsensitive(b *testing.B) {
	o := Object{"identity": 1, "sku": 2, "properties": 3, "Location": 4, "tags": 5}
	for b.Loop() {
		if _, ok := o.Lookup("location"); !ok {
			b.Fatal("not found")
		}
	}
}
