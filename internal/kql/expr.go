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

func (e *constNode) eval(a *arena, c *chunk, sel []int32) *Vector { return a.constant(e, c.n) }

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
// counts as false, as in Kusto. And and or take any number of terms, so
// that a long chain is one node: evaluating it takes no recursion and
// scratch memory independent of its length.
type andNode struct{ terms []cexpr }
type orNode struct{ terms []cexpr }
type notNode struct{ x cexpr }

func (e *andNode) typ() Type { return TypeBool }
func (e *orNode) typ() Type  { return TypeBool }
func (e *notNode) typ() Type { return TypeBool }

func (e *andNode) filter(a *arena, c *chunk, sel []int32) []int32 {
	out := a.sel(len(sel))
	cur := sel
	for _, t := range e.terms {
		if len(cur) == 0 || !a.ok() {
			break
		}
		m := a.mark()
		next := filter(a, t, c, cur)
		out = append(out[:0], next...)
		a.release(m)
		cur = out
	}
	return cur
}

func (e *orNode) filter(a *arena, c *chunk, sel []int32) []int32 {
	res := a.sel(len(sel))  // rows matched so far
	rest := a.sel(len(sel)) // rows not matched yet
	tmp := a.sel(len(sel))
	rest = append(rest, sel...)
	for _, t := range e.terms {
		if len(rest) == 0 || !a.ok() {
			break
		}
		m := a.mark()
		got := filter(a, t, c, rest) // ascending, a subset of rest
		if len(got) > 0 {
			tmp = mergeSel(tmp[:0], res, got)
			res, tmp = tmp, res
			if len(got) == len(rest) {
				rest = rest[:0]
			} else {
				rest = minusInPlace(rest, got)
			}
		}
		a.release(m)
	}
	return res
}

// mergeSel appends the union of two disjoint ascending selections to dst.
func mergeSel(dst, x, y []int32) []int32 {
	i, j := 0, 0
	for i < len(x) && j < len(y) {
		if x[i] < y[j] {
			dst = append(dst, x[i])
			i++
		} else {
			dst = append(dst, y[j])
			j++
		}
	}
	dst = append(dst, x[i:]...)
	return append(dst, y[j:]...)
}

// minusInPlace removes sub from sel (both ascending, sub ⊆ sel, sub not
// sharing sel's memory) and returns what is left in sel's memory.
func minusInPlace(sel, sub []int32) []int32 {
	w, j := 0, 0
	for _, i := range sel {
		if j < len(sub) && sub[j] == i {
			j++
			continue
		}
		sel[w] = i
		w++
	}
	return sel[:w]
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

// arithKind is the family of an arithmetic operation, fixed at compile
// time from the operand types.
type arithKind uint8

const (
	arithLong      arithKind = iota // int/long op int/long; wraps as Kusto does
	arithReal                       // real op real
	arithDatetime                   // datetime ± timespan; null outside the datetime range
	arithSpan                       // timespan ± timespan, datetime - datetime, timespan * or / long; null on overflow
	arithSpanRatio                  // timespan / timespan, a real
	arithSpanScale                  // timespan * or / real, rounded to the tick; null on overflow
)

// arithNode applies + - * / % ; t is the result type. A constant right
// operand is read as a scalar, never expanded to a vector.
type arithNode struct {
	op   byte
	kind arithKind
	l, r cexpr
	t    Type
}

func (e *arithNode) typ() Type { return e.t }

// ints applies the operation to two int-stored values; false means null.
func (e *arithNode) ints(p, q int64) (int64, bool) {
	switch e.kind {
	case arithLong:
		switch e.op {
		case '+':
			return p + q, true
		case '-':
			return p - q, true
		case '*':
			return p * q, true
		case '/':
			if q == 0 {
				return 0, false
			}
			return p / q, true
		default: // %
			if q == 0 {
				return 0, false
			}
			return p % q, true
		}
	case arithDatetime:
		r, ok := addTicks(p, q)
		if e.op == '-' {
			r, ok = subTicks(p, q)
		}
		return r, ok && inDatetimeRange(r)
	default: // arithSpan
		switch e.op {
		case '+':
			return addTicks(p, q)
		case '-':
			return subTicks(p, q)
		case '*':
			return mulTicks(p, q)
		default: // '/'
			if q == 0 || (q == -1 && p == math.MinInt64) {
				return 0, false
			}
			return p / q, true
		}
	}
}

func (e *arithNode) eval(a *arena, c *chunk, sel []int32) *Vector {
	x := e.l.eval(a, c, sel)
	var k scalar // the right operand when it is constant
	var y *Vector
	kn, rConst := e.r.(*constNode)
	if rConst {
		k = kn.v
	} else {
		y = e.r.eval(a, c, sel)
	}
	v := a.vec(e.t, c.n)
	setNull := func(i int32) {
		if v.Nulls == nil {
			v.Nulls = a.nulls(c.n)
		}
		v.Nulls.Set(int(i))
	}
	for _, i := range sel {
		if x.IsNull(int(i)) || (rConst && k.null) || (!rConst && y.IsNull(int(i))) {
			setNull(i)
			continue
		}
		switch e.kind {
		case arithReal:
			p, q := x.Real[i], k.f
			if !rConst {
				q = y.Real[i]
			}
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
		case arithSpanRatio:
			q := k.i
			if !rConst {
				q = y.Int[i]
			}
			v.Real[i] = float64(x.Int[i]) / float64(q)
		case arithSpanScale:
			f := k.f
			if !rConst {
				f = y.Real[i]
			}
			var r int64
			var ok bool
			if e.op == '*' {
				r, ok = scaleTicks(x.Int[i], f)
			} else {
				r, ok = ticksFromFloat(float64(x.Int[i]) / f)
			}
			if !ok {
				setNull(i)
				continue
			}
			v.Int[i] = r
		default:
			q := k.i
			if !rConst {
				q = y.Int[i]
			}
			r, ok := e.ints(x.Int[i], q)
			if !ok {
				setNull(i)
				continue
			}
			v.Int[i] = r
		}
	}
	return v
}

// negNode negates a number or timespan; the negation of the most negative
// timespan overflows and is null.
type negNode struct{ x cexpr }

func (e *negNode) typ() Type { return e.x.typ() }

func (e *negNode) eval(a *arena, c *chunk, sel []int32) *Vector {
	x := e.x.eval(a, c, sel)
	v := a.vec(x.Type, c.n)
	v.Nulls = x.Nulls
	copied := false
	for _, i := range sel {
		switch {
		case x.Type.storage() == storeReal:
			v.Real[i] = -x.Real[i]
		case x.Type == TypeTimespan && x.Int[i] == math.MinInt64 && !x.IsNull(int(i)):
			if !copied {
				v.Nulls = copyNulls(a, x.Nulls, c.n)
				copied = true
			}
			v.Nulls.Set(int(i))
		default:
			v.Int[i] = -x.Int[i]
		}
	}
	return v
}

// copyNulls returns a scratch copy of b (which may be nil) for n rows.
func copyNulls(a *arena, b Bitmap, n int) Bitmap {
	out := a.nulls(n)
	copy(out, b)
	return out
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

// binNode rounds down to a multiple of a constant positive size. Datetimes
// are binned from 0001-01-01, Kusto's origin of ticks, so that bin(t, 7d)
// starts weeks on Mondays as Kusto does; a result that overflows is null.
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
	var origin int64
	if x.Type == TypeDatetime {
		origin = MinDatetimeTicks
	}
	s := e.size.i
	copied := false
	for _, i := range sel {
		r, ok := binTicks(x.Int[i], s, origin)
		if !ok && !x.IsNull(int(i)) {
			if !copied {
				v.Nulls = copyNulls(a, x.Nulls, c.n)
				copied = true
			}
			v.Nulls.Set(int(i))
		}
		v.Int[i] = r
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
