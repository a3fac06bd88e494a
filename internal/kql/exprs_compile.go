package kql

import (
	"regexp"
	"strconv"
	"strings"
)

// Compilation of the expressions of exprs_more.go and dynamic.go, and the
// implicit conversions Kusto applies between operand types.

func (c *compiler) exprMore(e Expr) (cexpr, error) {
	switch e := e.(type) {
	case *IndexExpr:
		return c.indexExpr(e)
	case *ListOpExpr:
		return c.listOp(e)
	case *TabularExpr:
		return nil, semanticErr(e.At, "a tabular expression is not a scalar value; use toscalar()")
	case *Star:
		return nil, semanticErr(e.At, "'*' is not an expression here")
	case *TupleItem:
		return c.tupleItem(e) // funcs_series.go
	case *SearchTerm:
		return c.searchTerm(e) // search.go
	}
	return nil, semanticErr(e.Pos(), "unsupported expression %T", e)
}

// binaryMore handles the operators compiler.binary does not, and converts
// operands where Kusto does: dynamic operands to the other side's type (or
// to string for the string operators), and string against number in == and
// != (the string converts to the number's type, or a constant number to
// its text). It returns ok when it compiled the whole expression.
func (c *compiler) binaryMore(e *BinaryExpr, lp, rp *cexpr) (cexpr, bool, error) {
	l, r := *lp, *rp
	lt, rt := l.typ(), r.typ()
	op := e.Op
	base := strings.TrimPrefix(op, "!")
	stringOp := base == "has" || base == "has_cs" || base == "contains" || base == "contains_cs" ||
		base == "startswith" || base == "startswith_cs" || base == "endswith" || base == "endswith_cs" ||
		op == "=~" || op == "!~" || moreStringOps[base] || op == "matches regex"
	if stringOp {
		if lt == TypeDynamic {
			l = convertExpr(c, l, TypeString)
		}
		if rt == TypeDynamic {
			r = convertExpr(c, r, TypeString)
		}
		*lp, *rp = l, r
		lt, rt = l.typ(), r.typ()
	}
	switch {
	case op == "matches regex":
		x, err := c.matchesRegex(e, l, r)
		return x, true, err
	case moreStringOps[base]:
		if !lt.isStringy() || !rt.isStringy() {
			return nil, true, semanticErr(e.At, "operator '%s' expects string operands, got %s and %s", op, lt, rt)
		}
		prefix := strings.HasPrefix(base, "hasprefix")
		cs := strings.HasSuffix(base, "_cs")
		neg := op != base
		return c.fold(newRowFunc(TypeBool, func(a []scalar) scalar {
			return scalar{b: hasTermAffix(a[0].s, a[1].s, prefix, cs) != neg}
		}, l, r)), true, nil
	case stringOp:
		return nil, false, nil
	}
	_, isCmp := cmpOps[op]
	isArith := op == "+" || op == "-" || op == "*" || op == "/" || op == "%"
	if lt == TypeDynamic || rt == TypeDynamic {
		if lt == TypeDynamic && rt == TypeDynamic {
			if isCmp && (op == "==" || op == "!=") {
				*lp, *rp = convertExpr(c, l, TypeString), convertExpr(c, r, TypeString)
			} else if isCmp || isArith {
				*lp, *rp = convertExpr(c, l, TypeReal), convertExpr(c, r, TypeReal)
			}
			return nil, false, nil
		}
		if op == "and" || op == "or" {
			if lt == TypeDynamic {
				*lp = convertExpr(c, l, TypeBool)
			} else {
				*rp = convertExpr(c, r, TypeBool)
			}
			return nil, false, nil
		}
		other := rt
		if rt == TypeDynamic {
			other = lt
		}
		to := other
		switch {
		case other == TypeInt && isArith:
			to = TypeLong
		}
		if lt == TypeDynamic {
			*lp = convertExpr(c, l, to)
		} else {
			*rp = convertExpr(c, r, to)
		}
		return nil, false, nil
	}
	if (op == "==" || op == "!=") && (lt.isStringy() && rt.isNumeric() || lt.isNumeric() && rt.isStringy()) && lt != TypeGUID && rt != TypeGUID {
		str, num := lp, rp
		if rt.isStringy() {
			str, num = rp, lp
		}
		if k, ok := (*num).(*constNode); ok {
			// ResultType == 0: compare text with the number's text.
			*num = constOf(TypeString, convertScalar(k.v, k.t, TypeString))
			return nil, false, nil
		}
		*str = convertExpr(c, *str, (*num).typ())
	}
	if (op == "==" || op == "!=") && (lt == TypeBool && rt == TypeString || lt == TypeString && rt == TypeBool) {
		// IsBillable == "true": the text converts to bool.
		str := lp
		if rt == TypeString {
			str = rp
		}
		*str = convertExpr(c, *str, TypeBool)
	}
	return nil, false, nil
}

// hasTermAffix reports whether h has a term that starts (prefix) or ends
// with needle.
func hasTermAffix(h, needle string, prefix, cs bool) bool {
	if !cs {
		h, needle = strings.ToLower(h), strings.ToLower(needle)
	}
	if needle == "" {
		return true
	}
	for from := 0; from <= len(h)-len(needle); {
		i := strings.Index(h[from:], needle)
		if i < 0 {
			return false
		}
		i += from
		if prefix && (i == 0 || !isTermChar(h[i-1])) {
			return true
		}
		if !prefix && (i+len(needle) == len(h) || !isTermChar(h[i+len(needle)])) {
			return true
		}
		from = i + 1
	}
	return false
}

// maxRegexLen bounds the length of a regular expression.
const maxRegexLen = 1 << 16

func (c *compiler) matchesRegex(e *BinaryExpr, l, r cexpr) (cexpr, error) {
	if !l.typ().isStringy() || !r.typ().isStringy() {
		return nil, semanticErr(e.At, "operator 'matches regex' expects string operands, got %s and %s", l.typ(), r.typ())
	}
	k, ok := r.(*constNode)
	if !ok {
		return nil, semanticErr(e.Right.Pos(), "matches regex: the pattern must be a constant")
	}
	re, err := compileRegex(k.v.s)
	if err != nil {
		return nil, semanticErr(e.Right.Pos(), "matches regex: invalid regular expression: %v", err)
	}
	return c.fold(newRowFunc(TypeBool, func(a []scalar) scalar { return scalar{b: re.MatchString(a[0].s)} }, l)), nil
}

// compileRegex compiles an RE2 expression, Kusto's regular expression
// dialect.
func compileRegex(pattern string) (*regexp.Regexp, error) {
	if len(pattern) > maxRegexLen {
		return nil, errRegexTooLong
	}
	return regexp.Compile(pattern)
}

type regexError string

func (e regexError) Error() string { return string(e) }

const errRegexTooLong = regexError("the pattern is too long")

// listItems compiles the items of an in, has_any or has_all list into
// constants: a dynamic array expands into its elements. It returns nil
// and a plan when the list is a subquery or a tabular let.
func (c *compiler) listItems(list []Expr) ([]*constNode, *Plan, error) {
	if len(list) == 1 {
		var q *Query
		switch it := list[0].(type) {
		case *TabularExpr:
			q = it.Query
		case *Ident:
			if c.lookup(it.Name) < 0 && c.env != nil {
				if bnd := c.env.lookup(it.Name); bnd != nil && (bnd.query != nil || bnd.fn != nil) {
					if _, err := c.identMore(it); err != nil {
						q = &Query{Source: &TableRef{Name: it.Name, At: it.At}}
					}
				}
			}
		}
		if q != nil {
			p, err := c.env.plan(q)
			if err != nil {
				return nil, nil, err
			}
			if len(p.output) == 0 {
				return nil, nil, semanticErr(list[0].Pos(), "the subquery has no columns")
			}
			c.env.b.pre = append(c.env.b.pre, p)
			return nil, p, nil
		}
	}
	var out []*constNode
	for _, item := range list {
		ie, err := c.expr(item)
		if err != nil {
			return nil, nil, err
		}
		k, ok := ie.(*constNode)
		if !ok {
			return nil, nil, semanticErr(item.Pos(), "only lists of constants are supported")
		}
		if k.t == TypeDynamic {
			if arr, ok := scalarDecoded(k.v).([]any); ok {
				for _, x := range arr {
					out = append(out, dynConst(x))
				}
				continue
			}
		}
		out = append(out, k)
	}
	return out, nil, nil
}

// dynConst converts a decoded dynamic value to a constant of its type.
func dynConst(x any) *constNode {
	switch v := x.(type) {
	case nil:
		return constOf(TypeDynamic, nullScalar)
	case bool:
		return constOf(TypeBool, scalar{b: v})
	case int64:
		return constOf(TypeLong, scalar{i: v})
	case float64:
		return constOf(TypeReal, scalar{f: v})
	case string:
		return constOf(TypeString, scalar{s: v})
	}
	return constOf(TypeDynamic, scalar{s: dynText(x)})
}

// inMore compiles the forms of in that compiler.in does not: a subquery or
// tabular let, dynamic arrays among the items, items of another type than
// the value (EventID in ("4624", "4625")) and dynamic values.
func (c *compiler) inMore(e *InExpr) (cexpr, bool, error) {
	simple := true
	for _, it := range e.List {
		if _, ok := it.(*Literal); !ok {
			simple = false
			break
		}
	}
	x, err := c.expr(e.X)
	if err != nil {
		return nil, true, err
	}
	xt := x.typ()
	if simple && xt != TypeDynamic {
		for _, it := range e.List {
			lt := it.(*Literal).Type
			if it.(*Literal).Value != nil && lt != xt && !(lt.isNumeric() && xt.isNumeric()) {
				simple = false
			}
		}
		if simple {
			return nil, false, nil
		}
	}
	if xt == TypeDynamic {
		x = convertExpr(c, x, TypeString)
		xt = TypeString
	}
	items, sub, err := c.listItems(e.List)
	if err != nil {
		return nil, true, err
	}
	if sub != nil {
		return c.inSubquery(e, x, sub), true, nil
	}
	n := &inNode{x: x, neg: e.Negated, fold: e.CaseInsensitive}
	switch xt.storage() {
	case storeInt:
		n.ints = map[int64]struct{}{}
	case storeReal:
		n.reals = map[float64]struct{}{}
	case storeStr:
		n.strs = map[string]struct{}{}
	}
	if e.CaseInsensitive && !xt.isStringy() {
		return nil, true, semanticErr(e.At, "operator 'in~' expects a string operand, got %s", xt)
	}
	for _, k := range items {
		if k.v.null {
			n.hasNul = true
			continue
		}
		s := convertScalar(k.v, k.t, xt)
		if s.null {
			continue // cannot equal any value of x's type
		}
		switch xt.storage() {
		case storeInt:
			n.ints[s.i] = struct{}{}
		case storeReal:
			n.reals[s.f] = struct{}{}
		case storeStr:
			if e.CaseInsensitive {
				s.s = strings.ToLower(s.s)
			}
			n.strs[s.s] = struct{}{}
		case storeBool:
			n.bools[b2i(s.b)] = true
		}
	}
	return c.fold(n), true, nil
}

// inSubquery is x in (T | ...): membership in the first column of a plan
// run before the query.
type inSubquery struct {
	x    cexpr
	p    *Plan
	neg  bool
	fold bool
}

func (c *compiler) inSubquery(e *InExpr, x cexpr, p *Plan) cexpr {
	return &inSubquery{x: x, p: p, neg: e.Negated, fold: e.CaseInsensitive}
}

func (e *inSubquery) typ() Type { return TypeBool }

// set returns the set of the subquery's values as x's type, in text.
func (e *inSubquery) set(a *arena) map[string]bool {
	if a.env == nil {
		return nil
	}
	key := any(e)
	if s, ok := a.env.values[key]; ok {
		return s.(map[string]bool)
	}
	set := map[string]bool{}
	if t := a.env.cache[e.p]; t != nil && len(t.cols) > 0 {
		col := t.cols[0]
		for i := 0; i < t.n; i++ {
			s := scalarAt(col, i)
			if s.null {
				continue
			}
			v := scalarString(convertScalar(s, col.Type, e.x.typ()), e.x.typ())
			if e.fold {
				v = strings.ToLower(v)
			}
			set[v] = true
		}
	}
	if a.env.values == nil {
		a.env.values = map[any]any{}
	}
	a.env.values[key] = set
	return set
}

func (e *inSubquery) filter(a *arena, c *chunk, sel []int32) []int32 {
	set := e.set(a)
	x := e.x.eval(a, c, sel)
	t := e.x.typ()
	out := a.sel(len(sel))
	for _, i := range sel {
		s := scalarAt(x, int(i))
		in := false
		if !s.null {
			v := scalarString(s, t)
			if e.fold {
				v = strings.ToLower(v)
			}
			in = set[v]
		}
		if in != e.neg {
			out = append(out, i)
		}
	}
	return out
}

func (e *inSubquery) eval(a *arena, c *chunk, sel []int32) *Vector {
	return boolFromFilter(a, e, c, sel)
}

// listOp compiles has_any and has_all.
func (c *compiler) listOp(e *ListOpExpr) (cexpr, error) {
	x, err := c.expr(e.X)
	if err != nil {
		return nil, err
	}
	if x.typ() == TypeDynamic {
		x = convertExpr(c, x, TypeString)
	}
	if !x.typ().isStringy() {
		return nil, semanticErr(e.At, "operator '%s' expects a string operand, got %s", e.Op, x.typ())
	}
	items, sub, err := c.listItems(e.List)
	if err != nil {
		return nil, err
	}
	n := &hasListNode{x: x, all: e.Op == "has_all", sub: sub}
	for _, k := range items {
		if k.v.null {
			continue
		}
		n.ms = append(n.ms, newMatcher(scalarString(k.v, k.t), false))
	}
	return c.fold(n), nil
}

// hasListNode is has_any (any term matches) or has_all (every one does).
type hasListNode struct {
	x   cexpr
	all bool
	ms  []*matcher
	sub *Plan // the terms are the first column of this plan's rows
}

func (e *hasListNode) typ() Type { return TypeBool }

func (e *hasListNode) matchers(a *arena) []*matcher {
	if e.sub == nil || a.env == nil {
		return e.ms
	}
	key := any(e)
	if ms, ok := a.env.values[key]; ok {
		return ms.([]*matcher)
	}
	var ms []*matcher
	if t := a.env.cache[e.sub]; t != nil && len(t.cols) > 0 {
		col := t.cols[0]
		for i := 0; i < t.n; i++ {
			if s := scalarAt(col, i); !s.null {
				ms = append(ms, newMatcher(scalarString(s, col.Type), false))
			}
		}
	}
	if a.env.values == nil {
		a.env.values = map[any]any{}
	}
	a.env.values[key] = ms
	return ms
}

func (e *hasListNode) filter(a *arena, c *chunk, sel []int32) []int32 {
	ms := e.matchers(a)
	x := e.x.eval(a, c, sel)
	out := a.sel(len(sel))
	for _, i := range sel {
		h := x.Str[i]
		ok := e.all
		for _, m := range ms {
			if m.has(h) != e.all {
				ok = !e.all
				break
			}
		}
		if len(ms) == 0 {
			ok = false
		}
		if ok {
			out = append(out, i)
		}
	}
	return out
}

func (e *hasListNode) eval(a *arena, c *chunk, sel []int32) *Vector {
	return boolFromFilter(a, e, c, sel)
}

// toscalarNode is toscalar(T | ...): the first column of the first row of
// a plan run before the query.
type toscalarNode struct {
	p *Plan
	t Type
}

func (e *toscalarNode) typ() Type { return e.t }

func (e *toscalarNode) eval(a *arena, c *chunk, sel []int32) *Vector {
	s := nullScalar
	if a.env != nil {
		if t := a.env.cache[e.p]; t != nil && t.n > 0 && len(t.cols) > 0 {
			s = scalarAt(t.cols[0], 0)
		}
	}
	v := a.vec(e.t, c.n)
	for _, i := range sel {
		setScalar(a, v, c.n, int(i), s)
	}
	return v
}

func (c *compiler) toscalar(e *CallExpr) (cexpr, error) {
	if len(e.Args) != 1 {
		return nil, semanticErr(e.At, "toscalar() expects 1 argument, got %d", len(e.Args))
	}
	var q *Query
	switch a := e.Args[0].(type) {
	case *TabularExpr:
		q = a.Query
	case *Ident:
		if c.env != nil && c.lookup(a.Name) < 0 {
			if bnd := c.env.lookup(a.Name); bnd != nil && bnd.expr == nil {
				q = &Query{Source: &TableRef{Name: a.Name, At: a.At}}
			}
		}
	}
	if q == nil {
		// toscalar of a scalar is the scalar.
		return c.expr(e.Args[0])
	}
	p, err := c.env.plan(q)
	if err != nil {
		return nil, err
	}
	if len(p.output) == 0 {
		return nil, semanticErr(e.At, "toscalar(): the query has no columns")
	}
	c.env.b.pre = append(c.env.b.pre, p)
	return &toscalarNode{p: p, t: p.output[0].t}, nil
}

var _ = strconv.Itoa
