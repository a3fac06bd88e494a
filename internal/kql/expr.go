package kql

import (
	"cmp"
	"math"
	"strings"
	"unicode/utf8"
)

// chunk is a batch of rows inside the executor: column vectors by slot of
// the current schema and a selection of live rows (nil means all n rows).
// Vectors are aligned on physical rows; only selected positions of a
// computed vector are meaningful.
type chunk struct {
	n    int
	cols []*Vector
	sel  []int32
}

// cexpr is a compiled, typed scalar expression evaluated a column at a
// time. eval returns a vector aligned with c's rows whose values are valid
// at the positions in sel; it may return a column of c itself, which
// callers must not modify.
type cexpr interface {
	typ() Type
	eval(a *arena, c *chunk, sel []int32) *Vector
}

// filterer is implemented by boolean expressions with a faster way to
// narrow a selection than evaluating to a vector.
type filterer interface {
	filter(a *arena, c *chunk, sel []int32) []int32
}

// filter returns the rows of sel for which e is true (not false, not null).
func filter(a *arena, e cexpr, c *chunk, sel []int32) []int32 {
	if len(sel) == 0 {
		return sel
	}
	if f, ok := e.(filterer); ok {
		return f.filter(a, c, sel)
	}
	v := e.eval(a, c, sel)
	out := a.sel(len(sel))
	for _, i := range sel {
		if v.Bool[i] && !v.IsNull(int(i)) {
			out = append(out, i)
		}
	}
	return out
}

// scalar is a constant value.
type scalar struct {
	null bool
	i    int64
	f    float64
	s    string
	b    bool
}

func scalarFromLiteral(l *Literal) scalar {
	switch v := l.Value.(type) {
	case nil:
		return scalar{null: true}
	case int64:
		if l.Type == TypeReal {
			return scalar{f: float64(v)}
		}
		return scalar{i: v}
	case float64:
		return scalar{f: v}
	case string:
		return scalar{s: v}
	case bool:
		return scalar{b: v}
	}
	return scalar{null: true}
}

func scalarAt(v *Vector, i int) scalar {
	if v.IsNull(i) {
		return scalar{null: true}
	}
	switch v.Type.storage() {
	case storeInt:
		return scalar{i: v.Int[i]}
	case storeReal:
		return scalar{f: v.Real[i]}
	case storeStr:
		return scalar{s: v.Str[i]}
	case storeBool:
		return scalar{b: v.Bool[i]}
	}
	return scalar{null: true}
}

// colRef reads a column of the input.
type colRef struct {
	slot int
	t    Type
	name string
}

func (e *colRef) typ() Type { return e.t }

func (e *colRef) eval(a *arena, c *chunk, sel []int32) *Vector { return c.cols[e.slot] }

// constNode is a constant.
type constNode struct {
	t Type
	v scalar
}

func (e *constNode) typ() Type { return e.t }

func (e *constNode) eval(a *arena, c *chunk, sel []int32) *Vector {
	if v, ok := a.consts[e]; ok && v.Len() >= c.n {
		return v
	}
	v := a.vec(e.t, c.n)
	if e.v.null {
		v.Nulls = a.nulls(c.n)
		for i := range c.n {
			v.Nulls.Set(i)
		}
	}
	switch e.t.storage() {
	case storeInt:
		for i := range v.Int {
			v.Int[i] = e.v.i
		}
	case storeReal:
		for i := range v.Real {
			v.Real[i] = e.v.f
		}
	case storeStr:
		for i := range v.Str {
			v.Str[i] = e.v.s
		}
	case storeBool:
		for i := range v.Bool {
			v.Bool[i] = e.v.b
		}
	}
	if a.consts == nil {
		a.consts = make(map[*constNode]*Vector)
	}
	a.consts[e] = v
	return v
}

// toReal converts an int-stored numeric expression to real.
type toReal struct{ x cexpr }

func (e *toReal) typ() Type { return TypeReal }

func (e *toReal) eval(a *arena, c *chunk, sel []int32) *Vector {
	x := e.x.eval(a, c, sel)
	v := a.vec(TypeReal, c.n)
	v.Nulls = x.Nulls
	for _, i := range sel {
		v.Real[i] = float64(x.Int[i])
	}
	return v
}

type cmpOp uint8

const (
	opEq cmpOp = iota
	opNe
	opLt
	opLe
	opGt
	opGe
	opEqFold // =~
	opNeFold // !~
)

func (op cmpOp) flip() cmpOp {
	switch op {
	case opLt:
		return opGt
	case opLe:
		return opGe
	case opGt:
		return opLt
	case opGe:
		return opLe
	}
	return op
}

// cmpNode compares two expressions of the same storage class.
type cmpNode struct {
	op   cmpOp
	l, r cexpr
}

func (e *cmpNode) typ() Type { return TypeBool }

func test[T cmp.Ordered](op cmpOp, x, y T) bool {
	switch op {
	case opEq:
		return x == y
	case opNe:
		return x != y
	case opLt:
		return x < y
	case opLe:
		return x <= y
	case opGt:
		return x > y
	case opGe:
		return x >= y
	}
	return false
}

// filterConst is the hot loop of a where clause: one comparison against a
// constant per selected row, one branch on the operator per batch.
func filterConst[T cmp.Ordered](op cmpOp, vals []T, nulls Bitmap, k T, sel, out []int32) []int32 {
	if nulls != nil {
		for _, i := range sel {
			if nulls.Get(int(i)) {
				if op == opNe {
					out = append(out, i)
				}
				continue
			}
			if test(op, vals[i], k) {
				out = append(out, i)
			}
		}
		return out
	}
	switch op {
	case opEq:
		for _, i := range sel {
			if vals[i] == k {
				out = append(out, i)
			}
		}
	case opNe:
		for _, i := range sel {
			if vals[i] != k {
				out = append(out, i)
			}
		}
	case opLt:
		for _, i := range sel {
			if vals[i] < k {
				out = append(out, i)
			}
		}
	case opLe:
		for _, i := range sel {
			if vals[i] <= k {
				out = append(out, i)
			}
		}
	case opGt:
		for _, i := range sel {
			if vals[i] > k {
				out = append(out, i)
			}
		}
	case opGe:
		for _, i := range sel {
			if vals[i] >= k {
				out = append(out, i)
			}
		}
	}
	return out
}

func (e *cmpNode) filter(a *arena, c *chunk, sel []int32) []int32 {
	k, ok := e.r.(*constNode)
	if !ok || e.op == opEqFold || e.op == opNeFold {
		return filterBoolVec(a, e.eval(a, c, sel), sel)
	}
	x := e.l.eval(a, c, sel)
	out := a.sel(len(sel))
	if k.v.null {
		// x == null is false or null; x != null is true where x is not null.
		if e.op == opNe {
			for _, i := range sel {
				if !x.IsNull(int(i)) {
					out = append(out, i)
				}
			}
		}
		return out
	}
	switch x.Type.storage() {
	case storeInt:
		return filterConst(e.op, x.Int, x.Nulls, k.v.i, sel, out)
	case storeReal:
		return filterConst(e.op, x.Real, x.Nulls, k.v.f, sel, out)
	case storeStr:
		return filterConst(e.op, x.Str, nil, k.v.s, sel, out)
	case storeBool:
		for _, i := range sel {
			if x.IsNull(int(i)) {
				if e.op == opNe {
					out = append(out, i)
				}
				continue
			}
			if (e.op == opEq) == (x.Bool[i] == k.v.b) {
				out = append(out, i)
			}
		}
	}
	return out
}

func filterBoolVec(a *arena, v *Vector, sel []int32) []int32 {
	out := a.sel(len(sel))
	for _, i := range sel {
		if v.Bool[i] && !v.IsNull(int(i)) {
			out = append(out, i)
		}
	}
	return out
}

func (e *cmpNode) eval(a *arena, c *chunk, sel []int32) *Vector {
	x := e.l.eval(a, c, sel)
	y := e.r.eval(a, c, sel)
	v := a.vec(TypeBool, c.n)
	for _, i := range sel {
		xn, yn := x.IsNull(int(i)), y.IsNull(int(i))
		if xn || yn {
			// Kusto: null == v is false, null != v is true, and any
			// comparison of two nulls or an ordering with a null is null.
			if xn && yn || (e.op != opEq && e.op != opNe) {
				if v.Nulls == nil {
					v.Nulls = a.nulls(c.n)
				}
				v.Nulls.Set(int(i))
				v.Bool[i] = false
			} else {
				v.Bool[i] = e.op == opNe
			}
			continue
		}
		var r bool
		switch x.Type.storage() {
		case storeInt:
			r = test(e.op, x.Int[i], y.Int[i])
		case storeReal:
			r = test(e.op, x.Real[i], y.Real[i])
		case storeStr:
			switch e.op {
			case opEqFold:
				r = strings.EqualFold(x.Str[i], y.Str[i])
			case opNeFold:
				r = !strings.EqualFold(x.Str[i], y.Str[i])
			default:
				r = test(e.op, x.Str[i], y.Str[i])
			}
		case storeBool:
			r = (x.Bool[i] == y.Bool[i]) == (e.op == opEq)
		}
		v.Bool[i] = r
	}
	return v
}

// strOpKind is a string operator.
type strOpKind uint8

const (
	strHas strOpKind = iota
	strContains
	strStartsWith
	strEndsWith
)

// strOpNode applies has/contains/startswith/endswith and their negated and
// case-sensitive variants.
type strOpNode struct {
	kind strOpKind
	cs   bool
	neg  bool
	l, r cexpr
	m    *matcher // when r is constant
}

func (e *strOpNode) typ() Type { return TypeBool }

func (e *strOpNode) match(m *matcher, h string) bool {
	switch e.kind {
	case strHas:
		return m.has(h)
	case strContains:
		return m.contains(h)
	case strStartsWith:
		return m.hasPrefix(h)
	default:
		return m.hasSuffix(h)
	}
}

func (e *strOpNode) filter(a *arena, c *chunk, sel []int32) []int32 {
	if e.m == nil {
		return filterBoolVec(a, e.eval(a, c, sel), sel)
	}
	x := e.l.eval(a, c, sel)
	out := a.sel(len(sel))
	for _, i := range sel {
		if e.match(e.m, x.Str[i]) != e.neg {
			out = append(out, i)
		}
	}
	return out
}

func (e *strOpNode) eval(a *arena, c *chunk, sel []int32) *Vector {
	x := e.l.eval(a, c, sel)
	var y *Vector
	if e.m == nil {
		y = e.r.eval(a, c, sel)
	}
	v := a.vec(TypeBool, c.n)
	for _, i := range sel {
		m := e.m
		if m == nil {
			m = newMatcher(y.Str[i], e.cs)
		}
		v.Bool[i] = e.match(m, x.Str[i]) != e.neg
	}
	return v
}

// andNode, orNode and notNode are the logical operators; a null operand
// counts as false, as in Kusto.
type andNode struct{ l, r cexpr }
type orNode struct{ l, r cexpr }
type notNode struct{ x cexpr }

func (e *andNode) typ() Type { return TypeBool }
func (e *orNode) typ() Type  { return TypeBool }
func (e *notNode) typ() Type { return TypeBool }

func (e *andNode) filter(a *arena, c *chunk, sel []int32) []int32 {
	return filter(a, e.r, c, filter(a, e.l, c, sel))
}

func (e *orNode) filter(a *arena, c *chunk, sel []int32) []int32 {
	left := filter(a, e.l, c, sel)
	if len(left) == len(sel) {
		return left
	}
	rest := minus(a, sel, left)
	right := filter(a, e.r, c, rest)
	// Merge two ascending selections.
	out := a.sel(len(left) + len(right))
	i, j := 0, 0
	for i < len(left) && j < len(right) {
		if left[i] < right[j] {
			out = append(out, left[i])
			i++
		} else {
			out = append(out, right[j])
			j++
		}
	}
	out = append(out, left[i:]...)
	return append(out, right[j:]...)
}

func (e *notNode) filter(a *arena, c *chunk, sel []int32) []int32 {
	switch e.x.(type) {
	case *cmpNode, *colRef, *constNode:
		// These may be null, and not(null) is not true.
	default:
		// The other predicates are never null, so "not" is the complement.
		if _, ok := e.x.(filterer); ok {
			return minus(a, sel, filter(a, e.x, c, sel))
		}
	}
	v := e.x.eval(a, c, sel)
	out := a.sel(len(sel))
	for _, i := range sel {
		if !v.IsNull(int(i)) && !v.Bool[i] {
			out = append(out, i)
		}
	}
	return out
}

// minus returns the rows of sel not in sub (both ascending, sub ⊆ sel).
func minus(a *arena, sel, sub []int32) []int32 {
	out := a.sel(len(sel) - len(sub))
	j := 0
	for _, i := range sel {
		if j < len(sub) && sub[j] == i {
			j++
			continue
		}
		out = append(out, i)
	}
	return out
}

func boolFromFilter(a *arena, e cexpr, c *chunk, sel []int32) *Vector {
	v := a.vec(TypeBool, c.n)
	for _, i := range sel {
		v.Bool[i] = false
	}
	for _, i := range filter(a, e, c, sel) {
		v.Bool[i] = true
	}
	return v
}

func (e *andNode) eval(a *arena, c *chunk, sel []int32) *Vector { return boolFromFilter(a, e, c, sel) }
func (e *orNode) eval(a *arena, c *chunk, sel []int32) *Vector  { return boolFromFilter(a, e, c, sel) }
func (e *notNode) eval(a *arena, c *chunk, sel []int32) *Vector { return boolFromFilter(a, e, c, sel) }

// arithNode applies + - * / % to operands of one storage class (int or
// real); t is the result type.
type arithNode struct {
	op   byte
	l, r cexpr
	t    Type
}

func (e *arithNode) typ() Type { return e.t }

func (e *arithNode) eval(a *arena, c *chunk, sel []int32) *Vector {
	x := e.l.eval(a, c, sel)
	y := e.r.eval(a, c, sel)
	v := a.vec(e.t, c.n)
	setNull := func(i int32) {
		if v.Nulls == nil {
			v.Nulls = a.nulls(c.n)
		}
		v.Nulls.Set(int(i))
	}
	for _, i := range sel {
		if x.IsNull(int(i)) || y.IsNull(int(i)) {
			setNull(i)
			continue
		}
		switch {
		case x.Type.storage() == storeReal:
			p, q := x.Real[i], y.Real[i]
			var r float64
			switch e.op {
			case '+':
				r = p + q
			case '-':
				r = p - q
			case '*':
				r = p * q
			case '/':
				r = p / q
			case '%':
				r = math.Mod(p, q)
			}
			v.Real[i] = r
		case e.t == TypeReal: // timespan / timespan
			v.Real[i] = float64(x.Int[i]) / float64(y.Int[i])
		default:
			p, q := x.Int[i], y.Int[i]
			var r int64
			switch e.op {
			case '+':
				r = p + q
			case '-':
				r = p - q
			case '*':
				r = p * q
			case '/', '%':
				if q == 0 {
					setNull(i)
					continue
				}
				if e.op == '/' {
					r = p / q
				} else {
					r = p % q
				}
			}
			v.Int[i] = r
		}
	}
	return v
}

// negNode negates a number or timespan.
type negNode struct{ x cexpr }

func (e *negNode) typ() Type { return e.x.typ() }

func (e *negNode) eval(a *arena, c *chunk, sel []int32) *Vector {
	x := e.x.eval(a, c, sel)
	v := a.vec(x.Type, c.n)
	v.Nulls = x.Nulls
	for _, i := range sel {
		if x.Type.storage() == storeReal {
			v.Real[i] = -x.Real[i]
		} else {
			v.Int[i] = -x.Int[i]
		}
	}
	return v
}

// inNode tests membership in a constant set.
type inNode struct {
	x      cexpr
	neg    bool
	fold   bool
	ints   map[int64]struct{}
	reals  map[float64]struct{}
	strs   map[string]struct{}
	bools  [2]bool
	hasNul bool
}

func (e *inNode) typ() Type { return TypeBool }

func (e *inNode) contains(x *Vector, i int) bool {
	if x.IsNull(i) {
		return e.hasNul
	}
	switch x.Type.storage() {
	case storeInt:
		_, ok := e.ints[x.Int[i]]
		return ok
	case storeReal:
		_, ok := e.reals[x.Real[i]]
		return ok
	case storeStr:
		s := x.Str[i]
		if e.fold {
			s = strings.ToLower(s)
		}
		_, ok := e.strs[s]
		return ok
	case storeBool:
		if x.Bool[i] {
			return e.bools[1]
		}
		return e.bools[0]
	}
	return false
}

func (e *inNode) filter(a *arena, c *chunk, sel []int32) []int32 {
	x := e.x.eval(a, c, sel)
	out := a.sel(len(sel))
	for _, i := range sel {
		if e.contains(x, int(i)) != e.neg {
			out = append(out, i)
		}
	}
	return out
}

func (e *inNode) eval(a *arena, c *chunk, sel []int32) *Vector { return boolFromFilter(a, e, c, sel) }

// nullTestKind is isnull, isnotnull, isempty or isnotempty.
type nullTestKind uint8

const (
	testIsNull nullTestKind = iota
	testIsNotNull
	testIsEmpty
	testIsNotEmpty
)

type nullTest struct {
	kind nullTestKind
	x    cexpr
}

func (e *nullTest) typ() Type { return TypeBool }

func (e *nullTest) filter(a *arena, c *chunk, sel []int32) []int32 {
	x := e.x.eval(a, c, sel)
	want := e.kind == testIsNull || e.kind == testIsEmpty
	isStr := x.Type.storage() == storeStr && x.Type != TypeDynamic
	out := a.sel(len(sel))
	for _, i := range sel {
		var empty bool
		if isStr {
			// Strings have no null: isnull("") is false, isempty("") true.
			empty = x.Str[i] == "" && (e.kind == testIsEmpty || e.kind == testIsNotEmpty)
		} else {
			empty = x.IsNull(int(i)) || x.Type == TypeDynamic && x.Str[i] == ""
		}
		if empty == want {
			out = append(out, i)
		}
	}
	return out
}

func (e *nullTest) eval(a *arena, c *chunk, sel []int32) *Vector {
	return boolFromFilter(a, e, c, sel)
}

// binNode rounds down to a multiple of a constant positive size.
type binNode struct {
	x    cexpr
	size scalar
}

func (e *binNode) typ() Type { return e.x.typ() }

func (e *binNode) eval(a *arena, c *chunk, sel []int32) *Vector {
	x := e.x.eval(a, c, sel)
	v := a.vec(x.Type, c.n)
	v.Nulls = x.Nulls
	if x.Type.storage() == storeReal {
		for _, i := range sel {
			v.Real[i] = math.Floor(x.Real[i]/e.size.f) * e.size.f
		}
		return v
	}
	s := e.size.i
	for _, i := range sel {
		n := x.Int[i]
		q := n / s
		if n%s != 0 && n < 0 {
			q--
		}
		v.Int[i] = q * s
	}
	return v
}

// strFunc is tolower, toupper or strlen.
type strFunc struct {
	name string
	x    cexpr
}

func (e *strFunc) typ() Type {
	if e.name == "strlen" {
		return TypeLong
	}
	return TypeString
}

func (e *strFunc) eval(a *arena, c *chunk, sel []int32) *Vector {
	x := e.x.eval(a, c, sel)
	v := a.vec(e.typ(), c.n)
	for _, i := range sel {
		switch e.name {
		case "tolower":
			v.Str[i] = strings.ToLower(x.Str[i])
		case "toupper":
			v.Str[i] = strings.ToUpper(x.Str[i])
		case "strlen":
			v.Int[i] = int64(utf8.RuneCountInString(x.Str[i]))
		}
	}
	return v
}
