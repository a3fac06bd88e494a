package kql

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Options are the request-level inputs of Compile.
type Options struct {
	// Now is the query's "now" (for now() and ago()). Zero means the time of
	// the call to Compile.
	Now time.Time
	// TimeMin and TimeMax are the request's timespan, the half-open
	// interval [TimeMin, TimeMax) on TimeGenerated; zero means unbounded.
	// Tables without a datetime TimeGenerated column ignore them.
	TimeMin, TimeMax time.Time
}

// timeColumn is the column the request timespan and time pushdown apply to.
const timeColumn = "TimeGenerated"

// column is a column of the schema flowing between operators.
type column struct {
	name string
	t    Type
}

// compiler performs semantic analysis of one query.
type compiler struct {
	now   int64
	scope []column
	refs  map[int]bool // slots of scope referenced by the current operator
	env   *letEnv      // let bindings and sub-plans (let.go)
}

// compileTable compiles a query whose source is the table q.Source names
// (Compile, in let.go, handles the other sources and the let statements).
func compileTable(ctx context.Context, q *Query, cat Catalog, opts Options, env *letEnv) (*Plan, error) {
	if q == nil || q.Source == nil {
		return nil, errors.New("kql: Compile of an empty query")
	}
	schema, err := cat.Table(ctx, q.Source.Name)
	if errors.Is(err, ErrTableNotFound) {
		return nil, semanticErr(q.Source.At, "Failed to resolve table expression named '%s'", q.Source.Name)
	}
	if err != nil {
		return nil, fmt.Errorf("kql: resolving table %q: %w", q.Source.Name, err)
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	c := &compiler{now: now.UnixNano()}
	for _, col := range schema.Columns {
		c.scope = append(c.scope, column{col.Name, col.Type})
	}
	c.env = env
	p := &Plan{table: schema, input: c.scope}

	// The request timespan is an implicit first where clause.
	if tg := c.lookup(timeColumn); tg >= 0 && c.scope[tg].t == TypeDatetime && (!opts.TimeMin.IsZero() || !opts.TimeMax.IsZero()) {
		ref := &colRef{slot: tg, t: TypeDatetime, name: timeColumn}
		var pred cexpr
		if !opts.TimeMin.IsZero() {
			pred = &cmpNode{op: opGe, l: ref, r: &constNode{t: TypeDatetime, v: scalar{i: opts.TimeMin.UnixNano()}}}
		}
		if !opts.TimeMax.IsZero() {
			hi := &cmpNode{op: opLt, l: ref, r: &constNode{t: TypeDatetime, v: scalar{i: opts.TimeMax.UnixNano()}}}
			if pred == nil {
				pred = hi
			} else {
				pred = &andNode{pred, hi}
			}
		}
		p.stages = append(p.stages, &whereStage{pred: pred, refs: []int{tg}})
	}

	for _, op := range q.Operators {
		c.refs = map[int]bool{}
		st, err := c.operator(op)
		if err != nil {
			return nil, err
		}
		p.stages = append(p.stages, st)
		c.scope = st.output(c.scope)
	}
	p.output = c.scope
	p.plan()
	return p, nil
}

func (c *compiler) lookup(name string) int {
	for i, col := range c.scope {
		if col.name == name {
			return i
		}
	}
	return -1
}

func (c *compiler) refSlots() []int {
	out := make([]int, 0, len(c.refs))
	for s := range c.refs {
		out = append(out, s)
	}
	return out
}

func (c *compiler) operator(op Operator) (stage, error) {
	switch op := op.(type) {
	case *WhereOp:
		e, err := c.expr(op.Predicate)
		if err != nil {
			return nil, err
		}
		if e.typ() != TypeBool {
			return nil, semanticErr(op.Predicate.Pos(), "where: the predicate must be of type bool, not %s", e.typ())
		}
		return &whereStage{pred: e, refs: c.refSlots()}, nil
	case *TakeOp:
		n, err := c.count(op.Count, "take")
		if err != nil {
			return nil, err
		}
		return &takeStage{n: n}, nil
	case *CountOp:
		return &countStage{}, nil
	case *ProjectOp:
		return c.project(op.Columns, false)
	case *ExtendOp:
		return c.project(op.Columns, true)
	case *SortOp:
		keys, err := c.sortKeys(op.Keys)
		if err != nil {
			return nil, err
		}
		return &sortStage{keys: keys, limit: -1, refs: c.refSlots()}, nil
	case *TopOp:
		n, err := c.count(op.Count, "top")
		if err != nil {
			return nil, err
		}
		keys, err := c.sortKeys(op.Keys)
		if err != nil {
			return nil, err
		}
		return &sortStage{keys: keys, limit: n, refs: c.refSlots()}, nil
	case *SummarizeOp:
		return c.summarize(op)
	}
	return c.operatorMore(op) // operators_compile.go
}

// count evaluates the constant row count of take or top.
func (c *compiler) count(e Expr, opName string) (int64, error) {
	ce, err := c.expr(e)
	if err != nil {
		return 0, err
	}
	k, ok := ce.(*constNode)
	if !ok || (k.t != TypeLong && k.t != TypeInt) || k.v.null || k.v.i < 0 {
		return 0, semanticErr(e.Pos(), "%s: the row count must be a constant non-negative long", opName)
	}
	return k.v.i, nil
}

func (c *compiler) sortKeys(keys []SortKey) ([]sortKey, error) {
	var out []sortKey
	for _, k := range keys {
		e, err := c.expr(k.Expr)
		if err != nil {
			return nil, err
		}
		if e.typ() == TypeDynamic {
			return nil, semanticErr(k.Expr.Pos(), "cannot order by a value of type dynamic")
		}
		out = append(out, sortKey{e: e, asc: k.Asc, nullsFirst: k.NullsFirst})
	}
	return out, nil
}

// autoName names an output column that was not named in the query.
func autoName(e Expr, n *int) string {
	switch e := e.(type) {
	case *Ident:
		return e.Name
	case *CallExpr:
		if (e.Name == "bin" || e.Name == "floor") && len(e.Args) > 0 {
			if id, ok := e.Args[0].(*Ident); ok {
				return id.Name
			}
		}
	}
	*n++
	return "Column" + strconv.Itoa(*n)
}

// uniqueName appends a numeric suffix to an automatic name already taken.
func uniqueName(name string, taken map[string]bool) string {
	if !taken[name] {
		return name
	}
	for i := 1; ; i++ {
		n := name + strconv.Itoa(i)
		if !taken[n] {
			return n
		}
	}
}

func (c *compiler) project(cols []NamedExpr, extend bool) (stage, error) {
	st := &projectStage{extend: extend}
	taken := map[string]bool{}
	var out []column
	if extend {
		out = append(out, c.scope...)
		st.target = make([]int, len(cols))
	}
	auto := 0
	for k, col := range cols {
		e, err := c.expr(col.Expr)
		if err != nil {
			return nil, err
		}
		name := col.Name
		if name == "" {
			name = autoName(col.Expr, &auto)
			if !extend {
				name = uniqueName(name, taken)
			}
		} else if !extend && taken[name] {
			return nil, semanticErr(col.Expr.Pos(), "project: a column named '%s' is already projected", name)
		}
		taken[name] = true
		st.exprs = append(st.exprs, e)
		if extend {
			slot := -1
			for i := range out {
				if out[i].name == name {
					slot = i
				}
			}
			if slot < 0 {
				slot = len(out)
				out = append(out, column{name, e.typ()})
			} else {
				out[slot].t = e.typ()
			}
			st.target[k] = slot
		} else {
			out = append(out, column{name, e.typ()})
		}
	}
	st.out = out
	st.refs = c.refSlots()
	return st, nil
}

func (c *compiler) summarize(op *SummarizeOp) (stage, error) {
	if needsSummarizeMore(op) {
		return c.summarizeMore(op) // aggs_more.go: arg_max(x, *), expressions over aggregates
	}
	st := &summarizeStage{}
	taken := map[string]bool{}
	auto := 0
	for _, b := range op.By {
		e, err := c.expr(b.Expr)
		if err != nil {
			return nil, err
		}
		if e.typ() == TypeDynamic {
			return nil, semanticErr(b.Expr.Pos(), "summarize: cannot group by a value of type dynamic")
		}
		name := b.Name
		if name == "" {
			name = uniqueName(autoName(b.Expr, &auto), taken)
		} else if taken[name] {
			return nil, semanticErr(b.Expr.Pos(), "summarize: a column named '%s' already exists", name)
		}
		taken[name] = true
		st.by = append(st.by, e)
		st.out = append(st.out, column{name, e.typ()})
	}
	for _, a := range op.Aggregates {
		call, ok := a.Expr.(*CallExpr)
		if !ok || !isAggregate(call.Name) {
			return nil, semanticErr(a.Expr.Pos(), "summarize: expected an aggregate function call such as count() or sum(x)")
		}
		spec, err := c.aggregate(call)
		if err != nil {
			return nil, err
		}
		name := a.Name
		if name == "" {
			name = call.Name + "_"
			if len(call.Args) == 1 && call.Name != "countif" {
				if id, ok := call.Args[0].(*Ident); ok {
					name += id.Name
				}
			}
			name = uniqueName(name, taken)
		} else if taken[name] {
			return nil, semanticErr(a.Expr.Pos(), "summarize: a column named '%s' already exists", name)
		}
		taken[name] = true
		st.aggs = append(st.aggs, spec)
		st.out = append(st.out, column{name, spec.t})
	}
	st.refs = c.refSlots()
	return st, nil
}

var aggregateNames = map[string]bool{
	"count": true, "countif": true, "sum": true, "avg": true, "min": true, "max": true, "dcount": true,
}

func isAggregate(name string) bool { return aggregateNames[name] }

func (c *compiler) aggregate(call *CallExpr) (aggSpec, error) {
	if spec, ok, err := c.aggregateMore(call); ok {
		return spec, err // aggs_more.go
	}
	want := 1
	if call.Name == "count" {
		want = 0
	}
	if len(call.Args) != want {
		return aggSpec{}, semanticErr(call.At, "%s() expects %d argument(s), got %d", call.Name, want, len(call.Args))
	}
	spec := aggSpec{kind: call.Name, t: TypeLong}
	if want == 0 {
		return spec, nil
	}
	arg, err := c.expr(call.Args[0])
	if err != nil {
		return aggSpec{}, err
	}
	spec.arg = arg
	at := arg.typ()
	bad := func(what string) (aggSpec, error) {
		return aggSpec{}, semanticErr(call.Args[0].Pos(), "%s() expects %s, got %s", call.Name, what, at)
	}
	switch call.Name {
	case "countif":
		if at != TypeBool {
			return bad("a bool predicate")
		}
	case "sum":
		switch {
		case at == TypeInt || at == TypeLong:
			spec.t = TypeLong
		case at == TypeReal || at == TypeTimespan:
			spec.t = at
		default:
			return bad("a number or timespan")
		}
	case "avg":
		switch {
		case at.isNumeric():
			spec.t = TypeReal
		case at == TypeTimespan:
			spec.t = TypeTimespan
		default:
			return bad("a number or timespan")
		}
	case "min", "max":
		if at == TypeDynamic {
			return bad("an orderable value")
		}
		spec.t = at
	case "dcount":
		if at == TypeDynamic {
			return bad("a scalar value")
		}
	}
	return spec, nil
}

// expr compiles a scalar expression in the current scope.
func (c *compiler) expr(e Expr) (cexpr, error) {
	switch e := e.(type) {
	case *Ident:
		slot := c.lookup(e.Name)
		if slot < 0 {
			return c.identMore(e) // let.go: let-bound names
		}
		c.refs[slot] = true
		return &colRef{slot: slot, t: c.scope[slot].t, name: e.Name}, nil
	case *Literal:
		return &constNode{t: e.Type, v: scalarFromLiteral(e)}, nil
	case *UnaryExpr:
		x, err := c.expr(e.X)
		if err != nil {
			return nil, err
		}
		if !x.typ().isNumeric() && x.typ() != TypeTimespan {
			return nil, semanticErr(e.At, "unary '%s' expects a number or timespan, got %s", e.Op, x.typ())
		}
		if e.Op == "+" {
			return x, nil
		}
		return c.fold(&negNode{x}), nil
	case *BinaryExpr:
		return c.binary(e)
	case *CallExpr:
		return c.call(e)
	case *InExpr:
		return c.in(e)
	case *BetweenExpr:
		return c.between(e)
	}
	return c.exprMore(e) // exprs_compile.go
}

var cmpOps = map[string]cmpOp{
	"==": opEq, "!=": opNe, "<": opLt, "<=": opLe, ">": opGt, ">=": opGe, "=~": opEqFold, "!~": opNeFold,
}

func (c *compiler) binary(e *BinaryExpr) (cexpr, error) {
	l, err := c.expr(e.Left)
	if err != nil {
		return nil, err
	}
	r, err := c.expr(e.Right)
	if err != nil {
		return nil, err
	}
	if x, ok, err := c.binaryMore(e, &l, &r); ok {
		return x, err // exprs_compile.go: dynamic and mixed-type operands, more operators
	}
	lt, rt := l.typ(), r.typ()
	switch e.Op {
	case "and", "or":
		if lt != TypeBool || rt != TypeBool {
			return nil, semanticErr(e.At, "operator '%s' expects bool operands, got %s and %s", e.Op, lt, rt)
		}
		if e.Op == "and" {
			return c.fold(&andNode{l, r}), nil
		}
		return c.fold(&orNode{l, r}), nil
	case "+", "-", "*", "/", "%":
		return c.arith(e, l, r)
	}
	if op, ok := cmpOps[e.Op]; ok {
		return c.compare(e.At, op, e.Op, l, r)
	}
	// String operators.
	name := strings.TrimPrefix(e.Op, "!")
	n := &strOpNode{neg: name != e.Op, l: l, r: r}
	name, n.cs = strings.CutSuffix(name, "_cs")
	switch name {
	case "has":
		n.kind = strHas
	case "contains":
		n.kind = strContains
	case "startswith":
		n.kind = strStartsWith
	case "endswith":
		n.kind = strEndsWith
	default:
		return nil, semanticErr(e.At, "unknown operator '%s'", e.Op)
	}
	if !lt.isStringy() || !rt.isStringy() {
		return nil, semanticErr(e.At, "operator '%s' expects string operands, got %s and %s", e.Op, lt, rt)
	}
	if k, ok := r.(*constNode); ok {
		n.m = newMatcher(k.v.s, n.cs)
	}
	return c.fold(n), nil
}

// compare type-checks a comparison, promoting int to real when needed and
// putting a constant operand on the right.
func (c *compiler) compare(at Position, op cmpOp, spelling string, l, r cexpr) (cexpr, error) {
	lt, rt := l.typ(), r.typ()
	switch {
	case op == opEqFold || op == opNeFold:
		if !lt.isStringy() || !rt.isStringy() {
			return nil, semanticErr(at, "operator '%s' expects string operands, got %s and %s", spelling, lt, rt)
		}
	case lt.isNumeric() && rt.isNumeric():
		if lt == TypeReal && rt != TypeReal {
			r = c.fold(&toReal{r})
		} else if rt == TypeReal && lt != TypeReal {
			l = c.fold(&toReal{l})
		}
	case lt == rt && lt != TypeDynamic:
	default:
		return nil, semanticErr(at, "Cannot compare values of types %s and %s. Try adding explicit casts", lt, rt)
	}
	if _, lc := l.(*constNode); lc {
		if _, rc := r.(*constNode); !rc {
			l, r, op = r, l, op.flip()
		}
	}
	return c.fold(&cmpNode{op: op, l: l, r: r}), nil
}

func (c *compiler) arith(e *BinaryExpr, l, r cexpr) (cexpr, error) {
	lt, rt := l.typ(), r.typ()
	op := e.Op[0]
	var t Type
	switch {
	case lt.isNumeric() && rt.isNumeric():
		switch {
		case lt == TypeReal || rt == TypeReal:
			t = TypeReal
			if lt != TypeReal {
				l = c.fold(&toReal{l})
			}
			if rt != TypeReal {
				r = c.fold(&toReal{r})
			}
		case lt == TypeInt && rt == TypeInt:
			t = TypeInt
		default:
			t = TypeLong
		}
	case lt == TypeDatetime && rt == TypeDatetime && op == '-':
		t = TypeTimespan
	case lt == TypeDatetime && rt == TypeTimespan && (op == '+' || op == '-'):
		t = TypeDatetime
	case lt == TypeTimespan && rt == TypeDatetime && op == '+':
		l, r = r, l
		t = TypeDatetime
	case lt == TypeTimespan && rt == TypeTimespan && (op == '+' || op == '-'):
		t = TypeTimespan
	case lt == TypeTimespan && rt == TypeTimespan && op == '/':
		t = TypeReal
	case lt == TypeTimespan && (rt == TypeLong || rt == TypeInt) && (op == '*' || op == '/'):
		t = TypeTimespan
	case (lt == TypeLong || lt == TypeInt) && rt == TypeTimespan && op == '*':
		l, r = r, l
		t = TypeTimespan
	default:
		return nil, semanticErr(e.At, "operator '%s' is not defined for %s and %s", e.Op, lt, rt)
	}
	return c.fold(&arithNode{op: op, l: l, r: r, t: t}), nil
}

func (c *compiler) in(e *InExpr) (cexpr, error) {
	if x, ok, err := c.inMore(e); ok {
		return x, err // exprs_compile.go: subqueries, dynamic arrays, mixed types
	}
	x, err := c.expr(e.X)
	if err != nil {
		return nil, err
	}
	xt := x.typ()
	n := &inNode{x: x, neg: e.Negated, fold: e.CaseInsensitive}
	if e.CaseInsensitive && !xt.isStringy() {
		return nil, semanticErr(e.At, "operator 'in~' expects a string operand, got %s", xt)
	}
	switch xt.storage() {
	case storeInt:
		n.ints = map[int64]struct{}{}
	case storeReal:
		n.reals = map[float64]struct{}{}
	case storeStr:
		n.strs = map[string]struct{}{}
	}
	if xt == TypeDynamic {
		return nil, semanticErr(e.At, "operator 'in' is not supported on dynamic values")
	}
	for _, item := range e.List {
		ie, err := c.expr(item)
		if err != nil {
			return nil, err
		}
		k, ok := ie.(*constNode)
		if !ok {
			return nil, semanticErr(item.Pos(), "operator 'in': only lists of constants are supported")
		}
		it := k.t
		if k.v.null {
			n.hasNul = true
			continue
		}
		switch {
		case xt.isNumeric() && it.isNumeric():
			switch {
			case xt == TypeReal && it == TypeReal:
				n.reals[k.v.f] = struct{}{}
			case xt == TypeReal:
				n.reals[float64(k.v.i)] = struct{}{}
			case it == TypeReal:
				if k.v.f == math.Trunc(k.v.f) {
					n.ints[int64(k.v.f)] = struct{}{}
				}
			default:
				n.ints[k.v.i] = struct{}{}
			}
		case xt == it:
			switch xt.storage() {
			case storeInt:
				n.ints[k.v.i] = struct{}{}
			case storeStr:
				s := k.v.s
				if e.CaseInsensitive {
					s = strings.ToLower(s)
				}
				n.strs[s] = struct{}{}
			case storeBool:
				if k.v.b {
					n.bools[1] = true
				} else {
					n.bools[0] = true
				}
			}
		default:
			return nil, semanticErr(item.Pos(), "operator 'in': cannot compare %s with %s", xt, it)
		}
	}
	return c.fold(n), nil
}

func (c *compiler) between(e *BetweenExpr) (cexpr, error) {
	x, err := c.expr(e.X)
	if err != nil {
		return nil, err
	}
	lo, err := c.expr(e.Lo)
	if err != nil {
		return nil, err
	}
	hi, err := c.expr(e.Hi)
	if err != nil {
		return nil, err
	}
	xt := x.typ()
	if !xt.isNumeric() && xt != TypeDatetime && xt != TypeTimespan {
		return nil, semanticErr(e.At, "operator 'between' expects a number, datetime or timespan, got %s", xt)
	}
	if xt == TypeDatetime && lo.typ() == TypeDatetime && hi.typ() == TypeTimespan {
		// datetime between (start .. duration)
		hi = c.fold(&arithNode{op: '+', l: lo, r: hi, t: TypeDatetime})
	}
	var loOp, hiOp cmpOp = opGe, opLe
	if e.Negated {
		loOp, hiOp = opLt, opGt
	}
	lc, err := c.compare(e.At, loOp, "between", x, lo)
	if err != nil {
		return nil, err
	}
	hc, err := c.compare(e.At, hiOp, "between", x, hi)
	if err != nil {
		return nil, err
	}
	if e.Negated {
		return c.fold(&orNode{lc, hc}), nil
	}
	return c.fold(&andNode{lc, hc}), nil
}

func (c *compiler) call(e *CallExpr) (cexpr, error) {
	if isAggregate(e.Name) {
		return nil, semanticErr(e.At, "'%s' is an aggregate function and is only allowed in summarize", e.Name)
	}
	arity := map[string][2]int{
		"ago": {1, 1}, "now": {0, 1}, "bin": {2, 2}, "floor": {2, 2},
		"isnull": {1, 1}, "isnotnull": {1, 1}, "isempty": {1, 1}, "isnotempty": {1, 1},
		"not": {1, 1}, "tolower": {1, 1}, "toupper": {1, 1}, "strlen": {1, 1},
	}
	if x, ok, err := c.callMore(e); ok {
		return x, err // funcs.go: let functions and the function registry
	}
	ar, ok := arity[e.Name]
	if !ok {
		return nil, semanticErr(e.At, "Unknown function: '%s'", e.Name)
	}
	if len(e.Args) < ar[0] || len(e.Args) > ar[1] {
		return nil, semanticErr(e.At, "%s() expects %d argument(s), got %d", e.Name, ar[1], len(e.Args))
	}
	args := make([]cexpr, len(e.Args))
	for i, a := range e.Args {
		ca, err := c.expr(a)
		if err != nil {
			return nil, err
		}
		args[i] = ca
	}
	argErr := func(i int, what string) error {
		return semanticErr(e.Args[i].Pos(), "%s() expects %s, got %s", e.Name, what, args[i].typ())
	}
	now := &constNode{t: TypeDatetime, v: scalar{i: c.now}}
	switch e.Name {
	case "ago":
		if args[0].typ() != TypeTimespan {
			return nil, argErr(0, "a timespan")
		}
		return c.fold(&arithNode{op: '-', l: now, r: args[0], t: TypeDatetime}), nil
	case "now":
		if len(args) == 0 {
			return now, nil
		}
		if args[0].typ() != TypeTimespan {
			return nil, argErr(0, "a timespan")
		}
		return c.fold(&arithNode{op: '+', l: now, r: args[0], t: TypeDatetime}), nil
	case "bin", "floor":
		return c.bin(e, args)
	case "isnull", "isnotnull", "isempty", "isnotempty":
		kind := map[string]nullTestKind{"isnull": testIsNull, "isnotnull": testIsNotNull, "isempty": testIsEmpty, "isnotempty": testIsNotEmpty}[e.Name]
		return c.fold(&nullTest{kind: kind, x: args[0]}), nil
	case "not":
		if args[0].typ() != TypeBool {
			return nil, argErr(0, "a bool")
		}
		return c.fold(&notNode{args[0]}), nil
	default: // tolower, toupper, strlen
		if !args[0].typ().isStringy() {
			return nil, argErr(0, "a string")
		}
		return c.fold(&strFunc{name: e.Name, x: args[0]}), nil
	}
}

func (c *compiler) bin(e *CallExpr, args []cexpr) (cexpr, error) {
	x, size := args[0], args[1]
	k, ok := size.(*constNode)
	if !ok || k.v.null {
		return nil, semanticErr(e.Args[1].Pos(), "%s(): the bin size must be a constant", e.Name)
	}
	xt, st := x.typ(), k.t
	switch {
	case (xt == TypeDatetime || xt == TypeTimespan) && st == TypeTimespan:
	case (xt == TypeLong || xt == TypeInt) && (st == TypeLong || st == TypeInt):
	case xt.isNumeric() && st.isNumeric():
		if xt != TypeReal {
			x = c.fold(&toReal{x})
		}
		if st != TypeReal {
			k = &constNode{t: TypeReal, v: scalar{f: float64(k.v.i)}}
		}
	default:
		return nil, semanticErr(e.At, "%s() is not defined for %s and %s", e.Name, xt, st)
	}
	if (k.t == TypeReal && !(k.v.f > 0)) || (k.t != TypeReal && k.v.i <= 0) {
		return nil, semanticErr(e.Args[1].Pos(), "%s(): the bin size must be positive", e.Name)
	}
	return c.fold(&binNode{x: x, size: k.v}), nil
}

// fold evaluates an expression whose operands are all constants.
func (c *compiler) fold(e cexpr) cexpr {
	if !isConstant(e) {
		return e
	}
	var a arena
	ch := &chunk{n: 1}
	v := e.eval(&a, ch, a.all(1))
	return &constNode{t: e.typ(), v: scalarAt(v, 0)}
}

func isConstant(e cexpr) bool {
	switch e := e.(type) {
	case *constNode:
		return true
	case *colRef:
		return false
	case *toReal:
		return isConstant(e.x)
	case *cmpNode:
		return isConstant(e.l) && isConstant(e.r)
	case *strOpNode:
		return isConstant(e.l) && isConstant(e.r)
	case *andNode:
		return isConstant(e.l) && isConstant(e.r)
	case *orNode:
		return isConstant(e.l) && isConstant(e.r)
	case *notNode:
		return isConstant(e.x)
	case *arithNode:
		return isConstant(e.l) && isConstant(e.r)
	case *negNode:
		return isConstant(e.x)
	case *inNode:
		return isConstant(e.x)
	case *nullTest:
		return isConstant(e.x)
	case *binNode:
		return isConstant(e.x)
	case *strFunc:
		return isConstant(e.x)
	}
	return isConstantMore(e) // funcs.go
}
