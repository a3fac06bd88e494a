package kql

import "strconv"

// The registry of scalar functions beyond the few compiler.call knows.
// Each category registers its functions from its own file: string
// (funcs_string.go), conversion (funcs_conv.go), conditional
// (funcs_cond.go), dynamic (funcs_dynamic.go). Adding a function is one
// entry there.

// funcDef is a scalar function.
type funcDef struct {
	min, max int // the number of arguments; max < 0: any number
	// compile checks the compiled arguments and returns the function's
	// expression.
	compile func(c *compiler, e *CallExpr, args []cexpr) (cexpr, error)
}

var scalarFuncs = map[string]*funcDef{}

// register adds f under each of names.
func register(f *funcDef, names ...string) {
	for _, n := range names {
		scalarFuncs[n] = f
	}
}

// callMore compiles a call of a let function or of a registered
// function; ok is false for the functions compiler.call knows itself.
func (c *compiler) callMore(e *CallExpr) (cexpr, bool, error) {
	if c.env != nil {
		if bnd := c.env.lookup(e.Name); bnd != nil {
			x, err := c.callLet(e, bnd)
			return x, true, err
		}
	}
	if e.Name == "typeof" && len(e.Args) == 1 {
		if id, ok := e.Args[0].(*Ident); ok {
			if t, ok := ParseType(id.Name); ok {
				return constOf(TypeString, scalar{s: t.String()}), true, nil
			}
		}
	}
	if e.Name == "toscalar" {
		x, err := c.toscalar(e)
		return x, true, err
	}
	f, ok := scalarFuncs[e.Name]
	if !ok {
		if _, agg := moreAggs[e.Name]; agg {
			return nil, true, semanticErr(e.At, "'%s' is an aggregate function and is only allowed in summarize", e.Name)
		}
		return nil, false, nil
	}
	if len(e.Args) < f.min || (f.max >= 0 && len(e.Args) > f.max) {
		var want string
		switch {
		case f.max < 0:
			want = "at least " + itoa(f.min)
		case f.min == f.max:
			want = itoa(f.min)
		default:
			want = itoa(f.min) + " to " + itoa(f.max)
		}
		return nil, true, semanticErr(e.At, "%s() expects %s argument(s), got %d", e.Name, want, len(e.Args))
	}
	args := make([]cexpr, len(e.Args))
	for i, a := range e.Args {
		if _, star := a.(*Star); star {
			return nil, true, semanticErr(a.Pos(), "%s(): '*' is not an argument here", e.Name)
		}
		ca, err := c.expr(a)
		if err != nil {
			return nil, true, err
		}
		args[i] = ca
	}
	x, err := f.compile(c, e, args)
	if err != nil {
		return nil, true, err
	}
	return c.fold(x), true, nil
}

func itoa(n int) string { return strconv.Itoa(n) }

// argErr reports an argument of the wrong type.
func argErr(e *CallExpr, i int, what string, got Type) error {
	return semanticErr(e.Args[i].Pos(), "%s() expects %s, got %s", e.Name, what, got)
}

// rowFunc is a function evaluated one row at a time on scalars. Unless
// impure, it folds to a constant when its arguments are constants.
type rowFunc struct {
	t      Type
	args   []cexpr
	fn     func(args []scalar) scalar
	impure bool
}

func (e *rowFunc) typ() Type { return e.t }

func (e *rowFunc) eval(a *arena, c *chunk, sel []int32) *Vector {
	vs := make([]*Vector, len(e.args))
	for k, x := range e.args {
		vs[k] = x.eval(a, c, sel)
	}
	out := a.vec(e.t, c.n)
	buf := make([]scalar, len(vs))
	for _, i := range sel {
		for k, v := range vs {
			buf[k] = scalarAt(v, int(i))
		}
		setScalar(a, out, c.n, int(i), e.fn(buf))
	}
	return out
}

// newRowFunc returns a rowFunc of type t.
func newRowFunc(t Type, fn func(args []scalar) scalar, args ...cexpr) *rowFunc {
	return &rowFunc{t: t, args: args, fn: fn}
}

// operandsMore appends the operands of the expression nodes defined
// outside compile.go (operands handles the others).
func operandsMore(e cexpr, dst []cexpr) []cexpr {
	switch e := e.(type) {
	case *dynPath:
		dst = append(dst, e.base)
		return append(dst, e.keys...)
	case *rowFunc:
		return append(dst, e.args...)
	case *inSubquery:
		return append(dst, e.x)
	case *hasListNode:
		return append(dst, e.x)
	}
	return dst
}

// foldable reports whether fold may evaluate e at compile time once its
// operands are constants: not a function whose value differs from call to
// call, nor a node that reads the rows of a sub-plan, which exist only
// when the query runs.
func foldable(e cexpr) bool {
	switch e := e.(type) {
	case *rowFunc:
		return !e.impure
	case *inSubquery, *hasListNode, *toscalarNode:
		return false
	}
	return true
}

// nullScalar is the null value.
var nullScalar = scalar{null: true}

// setScalar stores s at row i of v, a scratch vector of n rows. A null
// string is the empty string; other nulls set the null bit.
func setScalar(a *arena, v *Vector, n, i int, s scalar) {
	if s.null || v.Type == TypeDynamic && s.s == "" {
		switch v.Type.storage() {
		case storeStr:
			v.Str[i] = ""
			if v.Type == TypeString {
				return
			}
		case storeInt:
			v.Int[i] = 0
		case storeReal:
			v.Real[i] = 0
		case storeBool:
			v.Bool[i] = false
		}
		if v.Nulls == nil {
			v.Nulls = a.nulls(n)
		}
		v.Nulls.Set(i)
		return
	}
	switch v.Type.storage() {
	case storeInt:
		v.Int[i] = s.i
	case storeReal:
		v.Real[i] = s.f
	case storeStr:
		v.Str[i] = s.s
	case storeBool:
		v.Bool[i] = s.b
	}
}

// appendScalar appends s to v, which holds n values.
func appendScalar(v *Vector, n int, s scalar) {
	one := NewVector(v.Type, 1)
	if s.null {
		one.Nulls = NewBitmap(1)
		one.Nulls.Set(0)
		if v.Type == TypeString {
			one.Nulls = nil
		}
	} else {
		switch v.Type.storage() {
		case storeInt:
			one.Int[0] = s.i
		case storeReal:
			one.Real[0] = s.f
		case storeStr:
			one.Str[0] = s.s
		case storeBool:
			one.Bool[0] = s.b
		}
	}
	appendValues(v, &one, []int32{0}, n)
}

// constOf returns a constant expression.
func constOf(t Type, s scalar) *constNode { return &constNode{t: t, v: s} }
