package kql

import (
	"cmp"
	"slices"
	"strings"
)

// top-nested: hierarchical top values.
//
//	T | top-nested [N] of [name =] expr [with others = value] by [name =] agg [asc|desc]
//	  [, top-nested ...]
//
// Each level keeps the N groups of its expression (all without N) whose
// aggregate is largest (smallest with asc) within each group of the
// levels before it; with others, the rest of a level's groups make one
// more group, keyed by the value. The aggregates are count(), sum, min,
// max, avg and dcount. A row per group of the last level holds, for each
// level, its key and its aggregate (named aggregated_<key> unless named).

// TopNestedLevel is one level of top-nested.
type TopNestedLevel struct {
	N      Expr // nil: every group
	Of     NamedExpr
	Others Expr // nil: without others
	Agg    NamedExpr
	Asc    bool
}

// TopNestedOp is top-nested.
type TopNestedOp struct {
	At     Position
	Levels []TopNestedLevel
}

// Pos returns the position of the TopNestedOp.
func (o *TopNestedOp) Pos() Position { return o.At }

func (*TopNestedOp) operatorNode() {}

func (p *parser) topNested(t token) (Operator, error) {
	op := &TopNestedOp{At: t.pos}
	for {
		var lv TopNestedLevel
		var err error
		if !p.isKeyword("of") {
			if lv.N, err = p.addExpr(); err != nil {
				return nil, err
			}
		}
		if err := p.expectKeyword("of"); err != nil {
			return nil, err
		}
		if lv.Of, err = p.namedExprsOne(); err != nil {
			return nil, err
		}
		if p.isKeyword("with") {
			p.advance()
			if err := p.expectKeyword("others"); err != nil {
				return nil, err
			}
			if _, err := p.expectPunct("="); err != nil {
				return nil, err
			}
			if lv.Others, err = p.addExpr(); err != nil {
				return nil, err
			}
		}
		if err := p.expectKeyword("by"); err != nil {
			return nil, err
		}
		if lv.Agg, err = p.namedExprsOne(); err != nil {
			return nil, err
		}
		switch {
		case p.isKeyword("asc"):
			p.advance()
			lv.Asc = true
		case p.isKeyword("desc"):
			p.advance()
		}
		op.Levels = append(op.Levels, lv)
		if !p.isPunct(",") || !(p.peekAt(1).kind == tokIdent && p.peekAt(1).text == "top" &&
			p.peekAt(2).kind == tokPunct && p.peekAt(2).text == "-" && p.peekAt(3).text == "nested") {
			return op, nil
		}
		for range 4 {
			p.advance()
		}
	}
}

// nestedLevel is a compiled level.
type nestedLevel struct {
	n      int64 // -1: all
	key    cexpr
	arg    cexpr // nil for count()
	agg    string
	others *scalar
	asc    bool
	aggT   Type
}

type topNestedStage struct {
	levels []nestedLevel
	refs   []int
	out    []column
}

func (c *compiler) topNested(op *TopNestedOp) (stage, error) {
	s := &topNestedStage{}
	taken := newNames()
	auto := 0
	for _, lv := range op.Levels {
		var l nestedLevel
		l.n, l.asc = -1, lv.Asc
		if lv.N != nil {
			n, err := c.count(lv.N, "top-nested")
			if err != nil {
				return nil, err
			}
			l.n = n
		}
		key, err := c.top(lv.Of.Expr)
		if err != nil {
			return nil, err
		}
		if key.typ() == TypeDynamic {
			key = convertExpr(c, key, TypeString)
		}
		l.key = key
		keyName := lv.Of.Name
		if keyName == "" {
			keyName = autoName(lv.Of.Expr, &auto)
		}
		keyName = taken.unique(keyName)
		taken.taken[keyName] = true
		if lv.Others != nil {
			x, err := c.expr(lv.Others)
			if err != nil {
				return nil, err
			}
			k, ok := x.(*constNode)
			if !ok {
				return nil, semanticErr(lv.Others.Pos(), "top-nested: the others value must be a constant")
			}
			v := convertScalar(k.v, k.t, key.typ())
			if k.t == key.typ() {
				v = k.v
			}
			l.others = &v
		}
		call, ok := lv.Agg.Expr.(*CallExpr)
		if !ok {
			return nil, semanticErr(lv.Agg.Expr.Pos(), "top-nested: expected an aggregate such as count() or sum(x)")
		}
		l.agg = call.Name
		switch {
		case call.Name == "count" && len(call.Args) == 0:
			l.aggT = TypeLong
		case (call.Name == "sum" || call.Name == "min" || call.Name == "max" || call.Name == "avg" || call.Name == "dcount") && len(call.Args) == 1:
			arg, err := c.top(call.Args[0])
			if err != nil {
				return nil, err
			}
			at := arg.typ()
			switch call.Name {
			case "sum":
				if !at.isNumeric() {
					return nil, semanticErr(call.At, "top-nested: sum() expects a number, got %s", at)
				}
				l.aggT = TypeLong
				if at == TypeReal {
					l.aggT = TypeReal
				}
				arg = convertExpr(c, arg, l.aggT)
			case "avg":
				if !at.isNumeric() {
					return nil, semanticErr(call.At, "top-nested: avg() expects a number, got %s", at)
				}
				l.aggT, arg = TypeReal, convertExpr(c, arg, TypeReal)
			case "dcount":
				l.aggT = TypeLong
			default:
				if at == TypeDynamic || at == TypeBool {
					return nil, semanticErr(call.At, "top-nested: %s() of %s is not supported", call.Name, at)
				}
				l.aggT = at
			}
			l.arg = arg
		default:
			return nil, semanticErr(call.At, "top-nested: the aggregate %s() is not supported (count, sum, min, max, avg, dcount are)", call.Name)
		}
		aggName := lv.Agg.Name
		if aggName == "" {
			aggName = "aggregated_" + keyName
		}
		aggName = taken.unique(aggName)
		taken.taken[aggName] = true
		s.out = append(s.out, column{keyName, key.typ()}, column{aggName, l.aggT})
		s.levels = append(s.levels, l)
	}
	s.refs = c.refSlots()
	return s, nil
}

func (s *topNestedStage) output(in []column) []column { return s.out }

func (s *topNestedStage) need(in []column, out []bool) []bool {
	return withRefs(make([]bool, len(in)), s.refs)
}

func (s *topNestedStage) operator(next operator) operator { return &topNestedOp{s: s, next: next} }

type topNestedOp struct {
	s       *topNestedStage
	next    operator
	keys    [][]scalar // per row: a key per level
	args    [][]scalar // per row: an aggregate argument per level
	charged int64
}

func (o *topNestedOp) push(a *arena, c *chunk) (bool, error) {
	sel := selection(a, c)
	n := len(o.s.levels)
	kv := make([]*Vector, n)
	av := make([]*Vector, n)
	for k, l := range o.s.levels {
		kv[k] = l.key.eval(a, c, sel)
		if l.arg != nil {
			av[k] = l.arg.eval(a, c, sel)
		}
	}
	for _, i := range sel {
		keys, args := make([]scalar, n), make([]scalar, n)
		for k := range o.s.levels {
			keys[k] = scalarAt(kv[k], int(i))
			if av[k] != nil {
				args[k] = scalarAt(av[k], int(i))
			}
		}
		o.keys = append(o.keys, keys)
		o.args = append(o.args, args)
	}
	held := int64(len(o.keys)) * int64(n) * 2 * 48
	ok := a.b.charge(held-o.charged, "top-nested")
	o.charged = held
	if !ok {
		return false, a.b.err
	}
	return true, nil
}

// aggregate computes level k's aggregate over rows.
func (o *topNestedOp) aggregate(k int, rows []int) scalar {
	l := o.s.levels[k]
	if l.agg == "count" {
		return scalar{i: int64(len(rows))}
	}
	var acc scalar
	acc.null = true
	seen := map[string]bool{}
	var n int
	for _, r := range rows {
		v := o.args[r][k]
		if v.null {
			continue
		}
		switch l.agg {
		case "dcount":
			seen[keyText(v)] = true
			continue
		case "sum", "avg":
			acc.i += v.i
			acc.f += v.f
			acc.null = false
		case "min", "max":
			if acc.null || (l.agg == "min") == (compareScalars(v, acc, l.aggT) < 0) {
				acc = v
			}
		}
		n++
	}
	switch l.agg {
	case "dcount":
		return scalar{i: int64(len(seen))}
	case "avg":
		if n == 0 {
			return nullScalar
		}
		return scalar{f: acc.f / float64(n)}
	case "sum":
		if acc.null {
			return scalar{}
		}
	}
	return acc
}

// compareScalars orders two non-null values of type t.
func compareScalars(x, y scalar, t Type) int {
	switch t.storage() {
	case storeInt:
		return cmp.Compare(x.i, y.i)
	case storeReal:
		return cmp.Compare(x.f, y.f)
	case storeStr:
		return strings.Compare(x.s, y.s)
	case storeBool:
		return cmp.Compare(b2i(x.b), b2i(y.b))
	}
	return 0
}

func (o *topNestedOp) finish(a *arena) error {
	defer a.b.charge(-o.charged, "top-nested")
	var out [][]scalar
	var build func(rows []int, k int, prefix []scalar)
	build = func(rows []int, k int, prefix []scalar) {
		l := o.s.levels[k]
		type group struct {
			key  scalar
			rows []int
			agg  scalar
		}
		var groups []*group
		byKey := map[string]*group{}
		for _, r := range rows {
			key := o.keys[r][k]
			kt := keyText(key)
			g := byKey[kt]
			if g == nil {
				g = &group{key: key}
				byKey[kt] = g
				groups = append(groups, g)
			}
			g.rows = append(g.rows, r)
		}
		for _, g := range groups {
			g.agg = o.aggregate(k, g.rows)
		}
		slices.SortStableFunc(groups, func(x, y *group) int {
			switch {
			case x.agg.null && y.agg.null:
				return 0
			case x.agg.null:
				return 1
			case y.agg.null:
				return -1
			}
			c := compareScalars(x.agg, y.agg, l.aggT)
			if !l.asc {
				c = -c
			}
			return c
		})
		if l.n >= 0 && int64(len(groups)) > l.n {
			rest := groups[l.n:]
			groups = groups[:l.n]
			if l.others != nil {
				g := &group{key: *l.others}
				for _, x := range rest {
					g.rows = append(g.rows, x.rows...)
				}
				g.agg = o.aggregate(k, g.rows)
				groups = append(groups, g)
			}
		}
		for _, g := range groups {
			p := append(slices.Clone(prefix), g.key, g.agg)
			if k+1 == len(o.s.levels) {
				out = append(out, p)
			} else {
				build(g.rows, k+1, p)
			}
		}
	}
	all := make([]int, len(o.keys))
	for i := range all {
		all[i] = i
	}
	if len(all) > 0 {
		build(all, 0, nil)
	}
	if n := len(out); n > 0 {
		cols := make([]*Vector, len(o.s.out))
		for k, col := range o.s.out {
			cols[k] = a.vec(col.t, n)
			for i, r := range out {
				setScalar(a, cols[k], n, i, r[k])
			}
		}
		if _, err := o.next.push(a, &chunk{n: n, cols: cols}); err != nil {
			return err
		}
	}
	return o.next.finish(a)
}
