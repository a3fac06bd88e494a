package kql

import "math"

// Conditional and math functions: iff/iif, case, coalesce, max_of,
// min_of, round, abs, sqrt, pow, log, log10, exp, ceiling.

func init() {
	register(&funcDef{min: 3, max: 3, compile: func(c *compiler, e *CallExpr, args []cexpr) (cexpr, error) {
		if args[0].typ() != TypeBool {
			return nil, argErr(e, 0, "a bool condition", args[0].typ())
		}
		vals, t, err := unify(c, e, args[1:])
		if err != nil {
			return nil, err
		}
		return newRowFunc(t, func(a []scalar) scalar {
			if !a[0].null && a[0].b {
				return a[1]
			}
			return a[2]
		}, args[0], vals[0], vals[1]), nil
	}}, "iff", "iif")
	register(&funcDef{min: 3, max: -1, compile: func(c *compiler, e *CallExpr, args []cexpr) (cexpr, error) {
		if len(args)%2 == 0 {
			return nil, semanticErr(e.At, "case() expects pairs of conditions and values and an else value")
		}
		var vals []cexpr
		for i := 0; i < len(args)-1; i += 2 {
			if args[i].typ() != TypeBool {
				return nil, argErr(e, i, "a bool condition", args[i].typ())
			}
			vals = append(vals, args[i+1])
		}
		vals = append(vals, args[len(args)-1])
		vals, t, err := unify(c, e, vals)
		if err != nil {
			return nil, err
		}
		all := make([]cexpr, 0, len(args))
		for i := 0; i < len(args)-1; i += 2 {
			all = append(all, args[i], vals[i/2])
		}
		all = append(all, vals[len(vals)-1])
		return newRowFunc(t, func(a []scalar) scalar {
			for i := 0; i+1 < len(a); i += 2 {
				if !a[i].null && a[i].b {
					return a[i+1]
				}
			}
			return a[len(a)-1]
		}, all...), nil
	}}, "case")
	register(&funcDef{min: 1, max: -1, compile: func(c *compiler, e *CallExpr, args []cexpr) (cexpr, error) {
		vals, t, err := unify(c, e, args)
		if err != nil {
			return nil, err
		}
		return newRowFunc(t, func(a []scalar) scalar {
			for _, v := range a {
				if !v.null && !(t == TypeString && v.s == "") && !(t == TypeDynamic && v.s == "") {
					return v
				}
			}
			return a[len(a)-1]
		}, vals...), nil
	}}, "coalesce")
	minMax := func(isMax bool) *funcDef {
		return &funcDef{min: 1, max: -1, compile: func(c *compiler, e *CallExpr, args []cexpr) (cexpr, error) {
			vals, t, err := unify(c, e, args)
			if err != nil {
				return nil, err
			}
			if t == TypeDynamic || t == TypeBool {
				return nil, semanticErr(e.At, "%s() expects orderable values, got %s", e.Name, t)
			}
			return newRowFunc(t, func(a []scalar) scalar {
				best := nullScalar
				for _, v := range a {
					if v.null {
						continue
					}
					if best.null || (compareScalar(v, best, t) > 0) == isMax && compareScalar(v, best, t) != 0 {
						best = v
					}
				}
				return best
			}, vals...), nil
		}}
	}
	// column_ifexists(name, default): the column, or the default where
	// the input has no column of that name.
	register(&funcDef{min: 2, max: 2, compile: func(c *compiler, e *CallExpr, args []cexpr) (cexpr, error) {
		k, ok := args[0].(*constNode)
		if !ok || k.t != TypeString {
			return nil, argErr(e, 0, "a constant column name", args[0].typ())
		}
		if slot := c.lookup(k.v.s); slot >= 0 {
			c.refs[slot] = true
			return &colRef{slot: slot, t: c.scope[slot].t, name: k.v.s}, nil
		}
		return args[1], nil
	}}, "column_ifexists")
	register(minMax(true), "max_of")
	register(minMax(false), "min_of")
	register(&funcDef{min: 1, max: 2, compile: func(c *compiler, e *CallExpr, args []cexpr) (cexpr, error) {
		x := args[0]
		if !x.typ().isNumeric() {
			return nil, argErr(e, 0, "a number", x.typ())
		}
		if len(args) == 2 && args[1].typ() != TypeLong && args[1].typ() != TypeInt {
			return nil, argErr(e, 1, "a long precision", args[1].typ())
		}
		if x.typ() != TypeReal {
			if len(args) == 1 {
				return x, nil
			}
			x = convertExpr(c, x, TypeReal)
		}
		if len(args) == 1 {
			args = append(args, constOf(TypeLong, scalar{}))
		}
		return newRowFunc(TypeReal, func(a []scalar) scalar {
			if a[0].null || a[1].null {
				return nullScalar
			}
			p := math.Pow(10, float64(a[1].i))
			return scalar{f: math.Round(a[0].f*p) / p}
		}, x, args[1]), nil
	}}, "round")
	math1 := func(f func(float64) float64) *funcDef {
		return &funcDef{min: 1, max: 1, compile: func(c *compiler, e *CallExpr, args []cexpr) (cexpr, error) {
			if !args[0].typ().isNumeric() {
				return nil, argErr(e, 0, "a number", args[0].typ())
			}
			x := convertExpr(c, args[0], TypeReal)
			return newRowFunc(TypeReal, func(a []scalar) scalar {
				if a[0].null {
					return nullScalar
				}
				r := f(a[0].f)
				if math.IsNaN(r) {
					return nullScalar
				}
				return scalar{f: r}
			}, x), nil
		}}
	}
	register(math1(math.Sqrt), "sqrt")
	register(math1(math.Log), "log")
	register(math1(math.Log10), "log10")
	register(math1(math.Log2), "log2")
	register(math1(math.Exp), "exp")
	register(math1(math.Ceil), "ceiling")
	register(&funcDef{min: 1, max: 1, compile: func(c *compiler, e *CallExpr, args []cexpr) (cexpr, error) {
		t := args[0].typ()
		if !t.isNumeric() && t != TypeTimespan {
			return nil, argErr(e, 0, "a number or timespan", t)
		}
		return newRowFunc(t, func(a []scalar) scalar {
			if a[0].null {
				return nullScalar
			}
			if t == TypeReal {
				return scalar{f: math.Abs(a[0].f)}
			}
			if a[0].i < 0 {
				return scalar{i: -a[0].i}
			}
			return a[0]
		}, args[0]), nil
	}}, "abs")
	register(&funcDef{min: 2, max: 2, compile: func(c *compiler, e *CallExpr, args []cexpr) (cexpr, error) {
		for i, a := range args {
			if !a.typ().isNumeric() {
				return nil, argErr(e, i, "a number", a.typ())
			}
		}
		return newRowFunc(TypeReal, func(a []scalar) scalar {
			if a[0].null || a[1].null {
				return nullScalar
			}
			return scalar{f: math.Pow(a[0].f, a[1].f)}
		}, convertExpr(c, args[0], TypeReal), convertExpr(c, args[1], TypeReal)), nil
	}}, "pow")
}

// unify converts values to one type: numbers to the widest (int, long,
// real), a null literal of any type to the others' type.
func unify(c *compiler, e *CallExpr, vals []cexpr) ([]cexpr, Type, error) {
	t := TypeInvalid
	for _, v := range vals {
		vt := v.typ()
		if k, ok := v.(*constNode); ok && k.v.null && vt != TypeString {
			continue // a typed null takes the others' type
		}
		switch {
		case t == TypeInvalid || t == vt:
			t = vt
		case t.isNumeric() && vt.isNumeric():
			if t == TypeReal || vt == TypeReal {
				t = TypeReal
			} else {
				t = TypeLong
			}
		default:
			return nil, 0, semanticErr(e.At, "%s(): the values are of different types, %s and %s", e.Name, t, vt)
		}
	}
	if t == TypeInvalid {
		// Only nulls: the widest of their types.
		t = vals[0].typ()
		for _, v := range vals[1:] {
			if vt := v.typ(); vt.isNumeric() && t.isNumeric() && vt != t {
				if t == TypeReal || vt == TypeReal {
					t = TypeReal
				} else {
					t = TypeLong
				}
			}
		}
	}
	out := make([]cexpr, len(vals))
	for i, v := range vals {
		if k, ok := v.(*constNode); ok && k.v.null {
			out[i] = constOf(t, convertScalar(nullScalar, k.t, t))
			continue
		}
		out[i] = convertExpr(c, v, t)
	}
	return out, t, nil
}
