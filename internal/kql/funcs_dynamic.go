package kql

import (
	"sort"
)

// Dynamic functions: parse_json/todynamic, pack/bag_pack, pack_array,
// array_length, bag_keys, and property access (x.y, x["y"], x[i]).

func init() {
	register(&funcDef{min: 1, max: 1, compile: func(c *compiler, e *CallExpr, args []cexpr) (cexpr, error) {
		t := args[0].typ()
		if t == TypeDynamic {
			return args[0], nil
		}
		return newRowFunc(TypeDynamic, func(a []scalar) scalar {
			if a[0].null {
				return nullScalar
			}
			if t != TypeString {
				return convertScalar(a[0], t, TypeDynamic)
			}
			if a[0].s == "" {
				return nullScalar
			}
			// Text that is not JSON is a dynamic string.
			d, err := parseDyn(a[0].s)
			if err != nil {
				return scalar{s: dynText(a[0].s)}
			}
			return scalar{s: dynText(d)}
		}, args[0]), nil
	}}, "parse_json", "todynamic", "toobject")
	register(&funcDef{min: 0, max: -1, compile: func(c *compiler, e *CallExpr, args []cexpr) (cexpr, error) {
		if len(args)%2 != 0 {
			return nil, semanticErr(e.At, "%s() expects pairs of keys and values", e.Name)
		}
		types := make([]Type, len(args))
		for i, a := range args {
			types[i] = a.typ()
			if i%2 == 0 && !types[i].isStringy() {
				return nil, argErr(e, i, "a string key", types[i])
			}
		}
		return newRowFunc(TypeDynamic, func(a []scalar) scalar {
			b := &dynBag{}
			for i := 0; i < len(a); i += 2 {
				b.set(a[i].s, scalarDyn(a[i+1], types[i+1]))
			}
			return scalar{s: dynText(b)}
		}, args...), nil
	}}, "pack", "bag_pack", "pack_dictionary")
	register(&funcDef{min: 0, max: -1, compile: func(c *compiler, e *CallExpr, args []cexpr) (cexpr, error) {
		types := make([]Type, len(args))
		for i, a := range args {
			types[i] = a.typ()
		}
		return newRowFunc(TypeDynamic, func(a []scalar) scalar {
			arr := make([]any, len(a))
			for i := range a {
				arr[i] = scalarDyn(a[i], types[i])
			}
			return scalar{s: dynText(arr)}
		}, args...), nil
	}}, "pack_array")
	register(&funcDef{min: 1, max: 1, compile: func(c *compiler, e *CallExpr, args []cexpr) (cexpr, error) {
		if args[0].typ() != TypeDynamic {
			return nil, argErr(e, 0, "a dynamic array", args[0].typ())
		}
		return newRowFunc(TypeLong, func(a []scalar) scalar {
			arr, ok := scalarDecoded(a[0]).([]any)
			if !ok {
				return nullScalar
			}
			return scalar{i: int64(len(arr))}
		}, args[0]), nil
	}}, "array_length")
	register(&funcDef{min: 1, max: 1, compile: func(c *compiler, e *CallExpr, args []cexpr) (cexpr, error) {
		if args[0].typ() != TypeDynamic {
			return nil, argErr(e, 0, "a dynamic property bag", args[0].typ())
		}
		return newRowFunc(TypeDynamic, func(a []scalar) scalar {
			b, ok := scalarDecoded(a[0]).(*dynBag)
			if !ok {
				return nullScalar
			}
			keys := make([]any, len(b.keys))
			for i, k := range b.keys {
				keys[i] = k
			}
			return scalar{s: dynText(keys)}
		}, args[0]), nil
	}}, "bag_keys")
	register(&funcDef{min: 1, max: 1, compile: func(c *compiler, e *CallExpr, args []cexpr) (cexpr, error) {
		return newRowFunc(TypeString, func(a []scalar) scalar {
			if args[0].typ() != TypeDynamic {
				return scalar{s: args[0].typ().String()}
			}
			switch scalarDecoded(a[0]).(type) {
			case nil:
				return scalar{s: "null"}
			case bool:
				return scalar{s: "bool"}
			case int64:
				return scalar{s: "long"}
			case float64:
				return scalar{s: "real"}
			case string:
				return scalar{s: "string"}
			case []any:
				return scalar{s: "array"}
			}
			return scalar{s: "dictionary"}
		}, args[0]), nil
	}}, "gettype")
	register(&funcDef{min: 2, max: 2, compile: func(c *compiler, e *CallExpr, args []cexpr) (cexpr, error) {
		if args[0].typ() != TypeDynamic {
			return nil, argErr(e, 0, "a dynamic array", args[0].typ())
		}
		t := args[1].typ()
		return newRowFunc(TypeBool, func(a []scalar) scalar {
			arr, ok := scalarDecoded(a[0]).([]any)
			if !ok {
				return nullScalar
			}
			want := scalarDyn(a[1], t)
			for _, x := range arr {
				if dynEqual(x, want) {
					return scalar{b: true}
				}
			}
			return scalar{b: false}
		}, args...), nil
	}}, "set_has_element", "array_contains")
	register(&funcDef{min: 1, max: 1, compile: func(c *compiler, e *CallExpr, args []cexpr) (cexpr, error) {
		if args[0].typ() != TypeDynamic {
			return nil, argErr(e, 0, "a dynamic array", args[0].typ())
		}
		return newRowFunc(TypeDynamic, func(a []scalar) scalar {
			arr, ok := scalarDecoded(a[0]).([]any)
			if !ok {
				return nullScalar
			}
			out := append([]any(nil), arr...)
			sort.SliceStable(out, func(i, j int) bool { return dynLess(out[i], out[j]) })
			return scalar{s: dynText(out)}
		}, args[0]), nil
	}}, "array_sort_asc")
}

// scalarDecoded decodes a dynamic scalar (nil for null or invalid text).
func scalarDecoded(s scalar) any {
	if s.null || s.s == "" {
		return nil
	}
	d, err := parseDyn(s.s)
	if err != nil {
		return nil
	}
	return d
}

// scalarDyn converts a scalar of type t to a dynamic value.
func scalarDyn(s scalar, t Type) any {
	if s.null {
		return nil
	}
	switch t {
	case TypeDynamic:
		return scalarDecoded(s)
	case TypeInt, TypeLong:
		return s.i
	case TypeReal:
		return s.f
	case TypeBool:
		return s.b
	case TypeString, TypeGUID:
		return s.s
	}
	return scalarString(s, t)
}

// dynEqual compares two dynamic values; numbers compare by value.
func dynEqual(x, y any) bool {
	switch a := x.(type) {
	case int64:
		switch b := y.(type) {
		case int64:
			return a == b
		case float64:
			return float64(a) == b
		}
		return false
	case float64:
		switch b := y.(type) {
		case int64:
			return a == float64(b)
		case float64:
			return a == b
		}
		return false
	case string, bool, nil:
		return x == y
	}
	return dynText(x) == dynText(y)
}

func dynLess(x, y any) bool {
	fx, xn := dynNum(x)
	fy, yn := dynNum(y)
	if xn && yn {
		return fx < fy
	}
	return dynToString(x) < dynToString(y)
}

func dynNum(x any) (float64, bool) {
	switch v := x.(type) {
	case int64:
		return float64(v), true
	case float64:
		return v, true
	}
	return 0, false
}

// dynAccess returns the element of d at key: a property of a bag for a
// string key, an element of an array for an integer (negative from the
// end); null when there is none.
func dynAccess(d any, key scalar, keyType Type) any {
	if key.null {
		return nil
	}
	switch v := d.(type) {
	case *dynBag:
		if keyType.isStringy() {
			x, _ := v.get(key.s)
			return x
		}
	case []any:
		if keyType == TypeInt || keyType == TypeLong {
			i := key.i
			if i < 0 {
				i += int64(len(v))
			}
			if i >= 0 && i < int64(len(v)) {
				return v[i]
			}
		}
	}
	return nil
}

// dynPath is a chain of accesses on a dynamic value, decoded once per row.
type dynPath struct {
	base cexpr
	keys []cexpr
}

func (e *dynPath) typ() Type { return TypeDynamic }

func (e *dynPath) eval(a *arena, c *chunk, sel []int32) *Vector {
	b := e.base.eval(a, c, sel)
	ks := make([]*Vector, len(e.keys))
	for i, k := range e.keys {
		ks[i] = k.eval(a, c, sel)
	}
	out := a.vec(TypeDynamic, c.n)
	var buf []byte
	for _, i := range sel {
		d := dynAt(b, int(i))
		if _, isStr := d.(string); isStr && b.Str[i] != "" && b.Str[i][0] != '"' {
			d = nil // text that is not JSON
		}
		for k, kv := range ks {
			if d == nil {
				break
			}
			d = dynAccess(d, scalarAt(kv, int(i)), e.keys[k].typ())
		}
		if d == nil {
			setScalar(a, out, c.n, int(i), nullScalar)
			continue
		}
		buf = encodeDyn(buf[:0], d)
		out.Str[i] = string(buf)
	}
	return out
}

// indexExpr compiles x.name, x["name"] and x[i].
func (c *compiler) indexExpr(e *IndexExpr) (cexpr, error) {
	base, err := c.expr(e.X)
	if err != nil {
		return nil, err
	}
	if base.typ() != TypeDynamic {
		return nil, semanticErr(e.At, "property or element access needs a dynamic value, got %s", base.typ())
	}
	k, err := c.expr(e.Key)
	if err != nil {
		return nil, err
	}
	if kt := k.typ(); !kt.isStringy() && kt != TypeInt && kt != TypeLong {
		return nil, semanticErr(e.Key.Pos(), "an index must be a string or an integer, got %s", kt)
	}
	if p, ok := base.(*dynPath); ok {
		return c.fold(&dynPath{base: p.base, keys: append(append([]cexpr(nil), p.keys...), k)}), nil
	}
	return c.fold(&dynPath{base: base, keys: []cexpr{k}}), nil
}
