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
	// Limits bound each run of the plan; the zero value means the
	// defaults (see Limits).
	Limits Limits
}

// Limits on the size of a compiled query, beyond the parser's on nesting
// (maxDepth) and on the number of operators (maxOperators). They keep the
// cost of compiling and of each batch roughly linear in the query's
// length, and the executor's recursion shallow.
const (
	// maxExprDepth bounds the depth of a compiled expression, whose
	// evaluation recurses. Chains of and, or and of arithmetic at one
	// precedence are flattened by the compiler, but a chain of arithmetic
	// on columns nests one level per operator.
	maxExprDepth = 1000
	// maxSchemaCells bounds the columns of all the schemas the operators
	// produce, summed: each costs memory in the plan and on every batch.
	maxSchemaCells = 1 << 20
)

// timeColumn is the column the request timespan and time pushdown apply to.
const timeColumn = "TimeGenerated"

// column is a column of the schema flowing between operators.
type column struct {
	name string
	t    Type
}

// compiler performs semantic analysis of one query.
type compiler struct {
	ctx     context.Context
	now     int64
	scope   []column
	index   map[string]int // slot by name in scope, built on demand
	indexed []column       // the scope index was built for
	refs    map[int]bool   // slots of scope referenced by the current expression(s)
	work    int            // expressions compiled, for polling ctx
	cells   int            // columns of the schemas produced so far
	folds   arena          // scratch for constant folding
	env     *letEnv        // let bindings and sub-plans (let.go)
}

// compileTable compiles a query whose source is the table q.Source names
// (Compile, in let.go, handles the other sources and the let statements).
// Errors attributable to the query are *Error of kind SemanticError;
// catalog failures other than ErrTableNotFound are returned wrapped. It
// takes time and memory roughly linear in the query's length; a query too
// large or deep for that is a SemanticError (see the package
// documentation). A ctx that expires stops it with a LimitTime
// *LimitError; a cancelled one, with ctx.Err().
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
	nowTicks, ok := TicksFromTime(now)
	if !ok {
		return nil, fmt.Errorf("kql: Options.Now %v is outside the datetime range", opts.Now)
	}
	c := &compiler{ctx: ctx, now: nowTicks}
	for _, col := range schema.Columns {
		c.scope = append(c.scope, column{col.Name, col.Type})
	}
	c.env = env
	p := &Plan{table: schema, input: c.scope, limits: opts.Limits.withDefaults()}

	// The request timespan is an implicit first where clause. Bounds
	// outside the datetime range saturate, which keeps their meaning.
	if tg := c.lookup(timeColumn); tg >= 0 && c.scope[tg].t == TypeDatetime && (!opts.TimeMin.IsZero() || !opts.TimeMax.IsZero()) {
		ref := &colRef{slot: tg, t: TypeDatetime, name: timeColumn}
		var terms []cexpr
		if !opts.TimeMin.IsZero() {
			terms = append(terms, &cmpNode{op: opGe, l: ref, r: &constNode{t: TypeDatetime, v: scalar{i: boundTicks(opts.TimeMin)}}})
		}
		if !opts.TimeMax.IsZero() {
			terms = append(terms, &cmpNode{op: opLt, l: ref, r: &constNode{t: TypeDatetime, v: scalar{i: boundTicks(opts.TimeMax)}}})
		}
		pred := terms[0]
		if len(terms) > 1 {
			pred = &andNode{terms}
		}
		p.stages = append(p.stages, &whereStage{pred: pred, refs: []int{tg}})
	}

	for _, op := range q.Operators {
		if err := ctx.Err(); err != nil {
			return nil, contextErr(err)
		}
		c.refs = map[int]bool{}
		st, err := c.operator(op)
		if err != nil {
			return nil, err
		}
		p.stages = append(p.stages, st)
		out := st.output(c.scope)
		if !sameColumns(out, c.scope) {
			c.index = nil
			c.cells += len(out)
			if c.cells > maxSchemaCells {
				return nil, semanticErr(op.Pos(), "the query is too large: its operators produce more than %d columns in all", maxSchemaCells)
			}
		}
		c.scope = out
	}
	p.output = c.scope
	p.plan()
	return p, nil
}

// sameColumns reports whether x and y are the same slice.
func sameColumns(x, y []column) bool {
	return len(x) == len(y) && (len(x) == 0 || &x[0] == &y[0])
}

func (c *compiler) lookup(name string) int {
	// The index belongs to one scope: operators (and the let, join and
	// union compilers) replace c.scope as they go.
	if c.index == nil || len(c.indexed) != len(c.scope) || (len(c.scope) > 0 && &c.indexed[0] != &c.scope[0]) {
		c.indexed = c.scope
		c.index = make(map[string]int, len(c.scope))
		for i := len(c.scope) - 1; i >= 0; i-- {
			c.index[c.scope[i].name] = i
		}
	}
	if i, ok := c.index[name]; ok {
		return i
	}
	return -1
}

// poll counts a unit of compilation work and checks ctx now and then.
func (c *compiler) poll() error {
	c.work++
	if c.work%pollEvery == 0 {
		if err := c.ctx.Err(); err != nil {
			return contextErr(err)
		}
	}
	return nil
}

// top compiles an expression that an operator evaluates: an expression
// tree whose depth the executor's recursion can afford.
func (c *compiler) top(e Expr) (cexpr, error) {
	ce, err := c.expr(e)
	if err != nil {
		return nil, err
	}
	if exprDepth(ce, maxExprDepth) > maxExprDepth {
		return nil, semanticErr(e.Pos(), "the expression is too deeply nested: more than %d levels of operators and calls", maxExprDepth)
	}
	return ce, nil
}

// exprDepth returns the depth of e, or limit+1 if it is deeper than limit.
// It walks the tree without recursion, as the tree may be deep.
func exprDepth(e cexpr, limit int) int {
	type item struct {
		e cexpr
		d int
	}
	stack := []item{{e, 1}}
	depth := 0
	var kids []cexpr
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		depth = max(depth, it.d)
		if depth > limit {
			return limit + 1
		}
		kids = operands(it.e, kids[:0])
		for _, k := range kids {
			stack = append(stack, item{k, it.d + 1})
		}
	}
	return depth
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
		e, err := c.top(op.Predicate)
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
	ce, err := c.top(e)
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
		e, err := c.top(k.Expr)
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
		if (e.Name == "bin" || e.Name == "floor" || firstArgNamed[e.Name]) && len(e.Args) > 0 {
			if id, ok := e.Args[0].(*Ident); ok {
				return id.Name
			}
		}
	}
	*n++
	return "Column" + strconv.Itoa(*n)
}

// names is the set of output column names of an operator.
type names struct {
	taken map[string]bool
	next  map[string]int // the next suffix to try for an automatic name
}

func newNames() *names { return &names{taken: map[string]bool{}, next: map[string]int{}} }

// unique appends a numeric suffix to an automatic name already taken.
// Suffixes are tried from where the last search for the name stopped, so
// that many columns of one name cost linear time.
func (s *names) unique(name string) string {
	if !s.taken[name] {
		return name
	}
	for i := max(s.next[name], 1); ; i++ {
		n := name + strconv.Itoa(i)
		if !s.taken[n] {
			s.next[name] = i + 1
			return n
		}
	}
}

func (c *compiler) project(cols []NamedExpr, extend bool) (stage, error) {
	cols, err := c.expandTuples(cols) // funcs_series.go: (a, b) = f(...)
	if err != nil {
		return nil, err
	}
	if st, ok, err := c.projectChained(cols, extend); ok {
		return st, err // project_chain.go: columns that read earlier ones
	}
	return c.projectPlain(cols, extend)
}

func (c *compiler) projectPlain(cols []NamedExpr, extend bool) (stage, error) {
	st := &projectStage{extend: extend}
	taken := newNames()
	var out []column
	var slots map[string]int // extend: output slot by name
	if extend {
		out = append(out, c.scope...)
		st.target = make([]int, len(cols))
		slots = make(map[string]int, len(out)+len(cols))
		for i, col := range out {
			slots[col.name] = i
		}
	}
	auto := 0
	for k, col := range cols {
		c.refs = map[int]bool{}
		e, err := c.top(col.Expr)
		if err != nil {
			return nil, err
		}
		st.exprRefs = append(st.exprRefs, c.refSlots())
		name := col.Name
		if name == "" {
			name = autoName(col.Expr, &auto)
			if !extend {
				name = taken.unique(name)
			}
		} else if !extend && taken.taken[name] {
			return nil, semanticErr(col.Expr.Pos(), "project: a column named '%s' is already projected", name)
		}
		taken.taken[name] = true
		st.exprs = append(st.exprs, e)
		if extend {
			slot, ok := slots[name]
			if !ok {
				slot = len(out)
				out = append(out, column{name, e.typ()})
				slots[name] = slot
			} else {
				out[slot].t = e.typ()
			}
			st.target[k] = slot
		} else {
			out = append(out, column{name, e.typ()})
		}
	}
	st.out = out
	return st, nil
}

func (c *compiler) summarize(op *SummarizeOp) (stage, error) {
	if needsSummarizeMore(op) {
		return c.summarizeMore(op) // aggs_more.go: arg_max(x, *), expressions over aggregates
	}
	st := &summarizeStage{}
	taken := newNames()
	auto := 0
	for _, b := range op.By {
		e, err := c.top(b.Expr)
		if err != nil {
			return nil, err
		}
		if e.typ() == TypeDynamic {
			return nil, semanticErr(b.Expr.Pos(), "summarize: cannot group by a value of type dynamic")
		}
		name := b.Name
		if name == "" {
			name = taken.unique(autoName(b.Expr, &auto))
		} else if taken.taken[name] {
			return nil, semanticErr(b.Expr.Pos(), "summarize: a column named '%s' already exists", name)
		}
		taken.taken[name] = true
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
			name = taken.unique(name)
		} else if taken.taken[name] {
			return nil, semanticErr(a.Expr.Pos(), "summarize: a column named '%s' already exists", name)
		}
		taken.taken[name] = true
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
	arg, err := c.top(call.Args[0])
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
	if err := c.poll(); err != nil {
		return nil, err
	}
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

// chainClass groups the binary operators that the parser chains to the
// left at one precedence: or; and; + and -; * / and %. Other operators
// (comparisons, string operators) do not chain.
func chainClass(op string) int {
	switch op {
	case "or":
		return 1
	case "and":
		return 2
	case "+", "-":
		return 3
	case "*", "/", "%":
		return 4
	}
	return 0
}

func (c *compiler) binary(e *BinaryExpr) (cexpr, error) {
	if class := chainClass(e.Op); class != 0 {
		return c.chain(e, class)
	}
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

// chain compiles a left-deep chain of operators of one class, such as
// a or b or c, walking down its left spine without recursion: a 1 MB
// chain is a syntax tree as deep as it is long. And and or chains become
// one node with a term per operand.
func (c *compiler) chain(e *BinaryExpr, class int) (cexpr, error) {
	spine := []*BinaryExpr{e}
	for {
		l, ok := spine[len(spine)-1].Left.(*BinaryExpr)
		if !ok || chainClass(l.Op) != class {
			break
		}
		spine = append(spine, l)
	}
	acc, err := c.expr(spine[len(spine)-1].Left)
	if err != nil {
		return nil, err
	}
	var terms []cexpr
	if class <= 2 {
		terms = make([]cexpr, 0, len(spine)+1)
		terms = append(terms, acc)
	}
	for i := len(spine) - 1; i >= 0; i-- {
		b := spine[i]
		r, err := c.expr(b.Right)
		if err != nil {
			return nil, err
		}
		if class > 2 {
			if acc, err = c.arith(b, acc, r); err != nil {
				return nil, err
			}
			continue
		}
		lt := TypeBool
		if i == len(spine)-1 {
			lt = acc.typ()
		}
		if lt != TypeBool || r.typ() != TypeBool {
			return nil, semanticErr(b.At, "operator '%s' expects bool operands, got %s and %s", b.Op, lt, r.typ())
		}
		terms = append(terms, r)
	}
	switch class {
	case 1:
		return c.or(terms), nil
	case 2:
		return c.and(terms), nil
	}
	return acc, nil
}

// and builds the conjunction of bool terms, splicing nested conjunctions.
func (c *compiler) and(terms []cexpr) cexpr {
	var flat []cexpr
	for _, t := range terms {
		if n, ok := t.(*andNode); ok {
			flat = append(flat, n.terms...)
		} else {
			flat = append(flat, t)
		}
	}
	return c.fold(&andNode{flat})
}

// minInSet is the number of equalities of one column with constants in a
// disjunction from which they are tested as one set, as with in.
const minInSet = 4

// or builds the disjunction of bool terms, splicing nested disjunctions
// and turning x == k1 or x == k2 or ... into a set lookup.
func (c *compiler) or(terms []cexpr) cexpr {
	var flat []cexpr
	for _, t := range terms {
		if n, ok := t.(*orNode); ok {
			flat = append(flat, n.terms...)
		} else {
			flat = append(flat, t)
		}
	}
	// Count the equalities per column.
	counts := map[int]int{}
	for _, t := range flat {
		if slot, _, ok := columnEquality(t); ok {
			counts[slot]++
		}
	}
	sets := map[int]*inNode{}
	out := flat[:0:0]
	for _, t := range flat {
		slot, k, ok := columnEquality(t)
		if !ok || counts[slot] < minInSet {
			out = append(out, t)
			continue
		}
		n := sets[slot]
		if n == nil {
			col := t.(*cmpNode).l
			n = &inNode{x: col}
			switch col.typ().storage() {
			case storeInt:
				n.ints = map[int64]struct{}{}
			case storeReal:
				n.reals = map[float64]struct{}{}
			case storeStr:
				n.strs = map[string]struct{}{}
			}
			sets[slot] = n
			out = append(out, n)
		}
		switch {
		case n.ints != nil:
			n.ints[k.i] = struct{}{}
		case n.reals != nil:
			n.reals[k.f] = struct{}{}
		default:
			n.strs[k.s] = struct{}{}
		}
	}
	if len(out) == 1 {
		return c.fold(out[0])
	}
	return c.fold(&orNode{out})
}

// columnEquality recognizes col == constant (not null) on an int, real or
// string column, returning the column's slot and the constant.
func columnEquality(e cexpr) (int, scalar, bool) {
	n, ok := e.(*cmpNode)
	if !ok || n.op != opEq {
		return 0, scalar{}, false
	}
	col, ok := n.l.(*colRef)
	k, isConst := n.r.(*constNode)
	if !ok || !isConst || k.v.null || col.t.storage() != k.t.storage() || col.t.storage() == storeBool {
		return 0, scalar{}, false
	}
	return col.slot, k.v, true
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
	n := &arithNode{op: op}
	isLong := func(t Type) bool { return t == TypeLong || t == TypeInt }
	switch {
	case lt.isNumeric() && rt.isNumeric():
		switch {
		case lt == TypeReal || rt == TypeReal:
			n.t, n.kind = TypeReal, arithReal
			if lt != TypeReal {
				l = c.fold(&toReal{l})
			}
			if rt != TypeReal {
				r = c.fold(&toReal{r})
			}
		case lt == TypeInt && rt == TypeInt:
			n.t, n.kind = TypeInt, arithLong
		default:
			n.t, n.kind = TypeLong, arithLong
		}
		// Constants go right, where eval reads them without a vector.
		if _, lc := l.(*constNode); lc && (op == '+' || op == '*') {
			l, r = r, l
		}
	case lt == TypeDatetime && rt == TypeDatetime && op == '-':
		n.t, n.kind = TypeTimespan, arithSpan
	case lt == TypeDatetime && rt == TypeTimespan && (op == '+' || op == '-'):
		n.t, n.kind = TypeDatetime, arithDatetime
	case lt == TypeTimespan && rt == TypeDatetime && op == '+':
		l, r = r, l
		n.t, n.kind = TypeDatetime, arithDatetime
	case lt == TypeTimespan && rt == TypeTimespan && (op == '+' || op == '-'):
		n.t, n.kind = TypeTimespan, arithSpan
	case lt == TypeTimespan && rt == TypeTimespan && op == '/':
		n.t, n.kind = TypeReal, arithSpanRatio
	case lt == TypeTimespan && isLong(rt) && (op == '*' || op == '/'):
		n.t, n.kind = TypeTimespan, arithSpan
	case isLong(lt) && rt == TypeTimespan && op == '*':
		l, r = r, l
		n.t, n.kind = TypeTimespan, arithSpan
	case lt == TypeTimespan && rt == TypeReal && (op == '*' || op == '/'):
		n.t, n.kind = TypeTimespan, arithSpanScale
	case lt == TypeReal && rt == TypeTimespan && op == '*':
		l, r = r, l
		n.t, n.kind = TypeTimespan, arithSpanScale
	default:
		return nil, semanticErr(e.At, "operator '%s' is not defined for %s and %s", e.Op, lt, rt)
	}
	n.l, n.r = l, r
	return c.fold(n), nil
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
		hi = c.fold(&arithNode{op: '+', kind: arithDatetime, l: lo, r: hi, t: TypeDatetime})
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
		return c.fold(&orNode{[]cexpr{lc, hc}}), nil
	}
	return c.fold(&andNode{[]cexpr{lc, hc}}), nil
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
		return c.fold(&arithNode{op: '-', kind: arithDatetime, l: now, r: args[0], t: TypeDatetime}), nil
	case "now":
		if len(args) == 0 {
			return now, nil
		}
		if args[0].typ() != TypeTimespan {
			return nil, argErr(0, "a timespan")
		}
		return c.fold(&arithNode{op: '+', kind: arithDatetime, l: now, r: args[0], t: TypeDatetime}), nil
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

// fold evaluates an expression whose operands are all constants. As the
// operands were folded first, looking at them suffices.
func (c *compiler) fold(e cexpr) cexpr {
	if !foldable(e) {
		return e
	}
	var kids [4]cexpr
	for _, k := range operands(e, kids[:0]) {
		if _, ok := k.(*constNode); !ok {
			return e
		}
	}
	switch e.(type) {
	case *constNode, *colRef:
		return e
	}
	c.folds.reset()
	clear(c.folds.consts)
	ch := &chunk{n: 1}
	v := e.eval(&c.folds, ch, c.folds.all(1))
	return &constNode{t: e.typ(), v: scalarAt(v, 0)}
}

// operands appends the operands of e to dst.
func operands(e cexpr, dst []cexpr) []cexpr {
	switch e := e.(type) {
	case *toReal:
		return append(dst, e.x)
	case *cmpNode:
		return append(dst, e.l, e.r)
	case *strOpNode:
		return append(dst, e.l, e.r)
	case *andNode:
		return append(dst, e.terms...)
	case *orNode:
		return append(dst, e.terms...)
	case *notNode:
		return append(dst, e.x)
	case *arithNode:
		return append(dst, e.l, e.r)
	case *negNode:
		return append(dst, e.x)
	case *inNode:
		return append(dst, e.x)
	case *nullTest:
		return append(dst, e.x)
	case *binNode:
		return append(dst, e.x)
	case *strFunc:
		return append(dst, e.x)
	}
	return operandsMore(e, dst) // funcs.go
}
