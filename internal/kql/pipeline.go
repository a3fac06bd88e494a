package kql

import (
	"context"
	"fmt"
	"slices"
)

// Plans over sources other than a table scan, and plans within plans.
//
// A Plan is a pipeline: a source of rows and the stages they flow
// through. The source is a scan of a table (Plan.table), or a tabSource in
// Plan.gen: the rows of a datatable, the one row of print, a range, the
// union of other plans, or another plan (a let-bound tabular expression,
// a parenthesised subquery). Operators that need whole other plans (join,
// in (subquery), toscalar) run them through the run's runEnv, which also
// caches the results of materialize().

// runEnv is the per-run state shared by a plan and its sub-plans.
type runEnv struct {
	ctx context.Context
	src Source
	// b is the run's budget: every arena of the run and every table it
	// materializes is charged to it.
	b *budget
	// cache holds the rows of materialized plans and of sub-plans run for
	// their values (toscalar, in), by plan.
	cache map[*Plan]*table
	// values holds what expressions derive from cached rows (the set of
	// an in (subquery)), by expression.
	values map[any]any
}

// Run executes the plan against src and returns the result. It stops with
// a *LimitError when the run needs more memory than Limits.MaxMemoryBytes
// or ctx's deadline passes (a cancelled ctx gives ctx.Err()). A result
// that reaches Limits.MaxResultRows or MaxResultBytes is returned, cut at
// the limit, with Result.Truncated set. Run holds no memory after it
// returns but the result.
func (p *Plan) Run(ctx context.Context, src Source) (*Result, error) {
	b := &budget{ctx: ctx, limits: p.limits}
	if p.late != nil {
		return p.runLateTop(ctx, src, b) // evaluate_late.go
	}
	sink := &resultSink{res: &Result{Columns: p.Columns(), Rows: [][]any{}}, types: p.output, b: b}
	env := &runEnv{ctx: ctx, src: src, b: b, cache: map[*Plan]*table{}}
	err := func() error {
		for _, pre := range p.pre {
			if _, err := env.materialized(pre); err != nil {
				return err
			}
		}
		return p.runInto(env, sink)
	}()
	if err == nil {
		err = b.err
	}
	if err != nil {
		return nil, err
	}
	sink.res.PeakMemoryBytes = b.peak
	return sink.res, nil
}

// tabSource produces the input rows of a plan that does not scan a table.
type tabSource interface {
	// run pushes the rows into next; it does not call next.finish.
	run(env *runEnv, a *arena, next operator) error
}

// runGen runs a plan whose rows come from p.gen.
func (p *Plan) runGen(env *runEnv, head operator) error {
	if err := env.b.check(); err != nil {
		return err
	}
	a := &arena{b: env.b, env: env}
	if err := p.gen.run(env, a, head); err != nil {
		return err
	}
	a.reset()
	if err := head.finish(a); err != nil {
		return err
	}
	return env.b.err
}

// materialized runs p once per run and returns its rows. The rows are held
// in a table, as sort and top hold theirs.
func (env *runEnv) materialized(p *Plan) (*table, error) {
	if t, ok := env.cache[p]; ok {
		return t, nil
	}
	sink := &tableSink{t: newTable(p.output), op: "materialize"}
	if err := p.runInto(env, sink); err != nil {
		return nil, err
	}
	env.cache[p] = sink.t
	return sink.t, nil
}

// newTable returns an empty table of the given schema.
func newTable(schema []column) *table {
	t := &table{cols: make([]*Vector, len(schema))}
	for i, c := range schema {
		v := NewVector(c.t, 0)
		t.cols[i] = &v
	}
	return t
}

// tableSink collects the rows pushed into it, charging their memory to
// the run's budget (the rows are held until the run ends).
type tableSink struct {
	t  *table
	op string
}

func (o *tableSink) push(a *arena, c *chunk) (bool, error) {
	sel := selection(a, c)
	for i, dst := range o.t.cols {
		src := c.cols[i]
		if src == nil {
			nv := nullVector(a, dst.Type, c.n)
			src = &nv
		}
		grew := appendValues(dst, src, sel, o.t.n)
		o.t.bytes += grew
		if !a.b.charge(grew, o.op) {
			return false, a.b.err
		}
	}
	o.t.n += len(sel)
	return true, nil
}

func (o *tableSink) finish(a *arena) error { return nil }

// noFinish passes pushes on and drops finish: a sub-plan's rows feed a
// pipeline that its owner finishes.
type noFinish struct{ next operator }

func (o noFinish) push(a *arena, c *chunk) (bool, error) { return o.next.push(a, c) }
func (o noFinish) finish(a *arena) error                 { return nil }

// planSource reads the rows of another plan: a let-bound tabular
// expression or a parenthesised subquery. With cache set (materialize),
// the plan runs once per run.
type planSource struct {
	p     *Plan
	cache bool
}

func (s *planSource) run(env *runEnv, a *arena, next operator) error {
	if !s.cache {
		return s.p.runInto(env, noFinish{next})
	}
	t, err := env.materialized(s.p)
	if err != nil {
		return err
	}
	return pushTable(a, t, next)
}

// pushTable pushes the rows of t into next.
func pushTable(a *arena, t *table, next operator) error {
	if t.n == 0 {
		return nil
	}
	_, err := next.push(a, t.chunk())
	return err
}

// tableSource pushes a constant table (datatable).
type tableSource struct{ t *table }

func (s *tableSource) run(env *runEnv, a *arena, next operator) error {
	return pushTable(a, s.t, next)
}

// genPlan returns a plan reading from src with the given schema.
func genPlan(name string, src tabSource, schema []column) *Plan {
	return &Plan{table: &Schema{Name: name}, input: schema, gen: src, output: schema}
}

// seqStage is a stage made of several stages in a row, for operators that
// compile to more than one (summarize with expressions over aggregates).
type seqStage struct{ stages []stage }

func (s *seqStage) output(in []column) []column {
	for _, st := range s.stages {
		in = st.output(in)
	}
	return in
}

func (s *seqStage) need(in []column, out []bool) []bool {
	schemas := [][]column{in}
	for _, st := range s.stages {
		schemas = append(schemas, st.output(schemas[len(schemas)-1]))
	}
	for i := len(s.stages) - 1; i >= 0; i-- {
		out = s.stages[i].need(schemas[i], out)
	}
	return out
}

func (s *seqStage) operator(next operator) operator {
	for i := len(s.stages) - 1; i >= 0; i-- {
		next = s.stages[i].operator(next)
	}
	return next
}

// Scans returns the requests the plan makes of the Source, its own and
// those of its sub-plans, in the order of the query text.
func (p *Plan) Scans() []ScanRequest {
	var out []ScanRequest
	seen := map[*Plan]bool{}
	var walk func(p *Plan)
	walk = func(p *Plan) {
		if p == nil || seen[p] {
			return
		}
		seen[p] = true
		if p.gen == nil {
			out = append(out, p.Scan())
		}
		for _, sub := range p.subPlans() {
			walk(sub)
		}
	}
	walk(p)
	return out
}

// subPlans lists the plans p runs besides itself.
func (p *Plan) subPlans() []*Plan {
	var out []*Plan
	switch g := p.gen.(type) {
	case *planSource:
		out = append(out, g.p)
	case *unionSource:
		for _, l := range g.legs {
			out = append(out, l.p)
		}
	}
	for _, st := range p.stages {
		if h, ok := st.(interface{ subPlans() []*Plan }); ok {
			out = append(out, h.subPlans()...)
		}
	}
	return out
}

// remap adapts chunks of a plan with one schema to another: out[k] is the
// slot of the source column for output slot k, or -1 for a column of
// nulls (or of the constant in consts[k], when not nil).
type remap struct {
	out    []int
	types  []column
	consts []*constNode
	next   operator
}

func (o *remap) push(a *arena, c *chunk) (bool, error) {
	cols := make([]*Vector, len(o.out))
	for k, s := range o.out {
		switch {
		case s >= 0:
			cols[k] = c.cols[s]
		case o.consts != nil && o.consts[k] != nil:
			cols[k] = o.consts[k].eval(a, c, selection(a, c))
		default:
			nv := nullVector(a, o.types[k].t, c.n)
			cols[k] = &nv
		}
	}
	return o.next.push(a, &chunk{n: c.n, cols: cols, sel: c.sel})
}

func (o *remap) finish(a *arena) error { return nil }

// unionLeg is one plan of a union and where its columns go.
type unionLeg struct {
	p    *Plan
	out  []int
	name string // the leg's name for withsource
}

// unionSource pushes the rows of each leg in turn.
type unionSource struct {
	legs       []unionLeg
	schema     []column
	withSource int // output slot of the withsource column, or -1
}

func (s *unionSource) run(env *runEnv, a *arena, next operator) error {
	for _, l := range s.legs {
		r := &remap{out: l.out, types: s.schema, next: next}
		if s.withSource >= 0 {
			r.consts = make([]*constNode, len(s.schema))
			r.consts[s.withSource] = &constNode{t: TypeString, v: scalar{s: l.name}}
		}
		if err := l.p.runInto(env, r); err != nil {
			return err
		}
	}
	return nil
}

// unionPlan builds the union of legs: columns by name in order of first
// appearance; a name with different types in different legs becomes one
// column per type, named name_type, as in Kusto. inner keeps only the
// columns every leg has.
func unionPlan(legs []*Plan, names []string, withSource string, inner bool) *Plan {
	types := map[string][]Type{}
	var order []string
	count := map[string]int{}
	for _, l := range legs {
		for _, c := range l.output {
			if _, ok := types[c.name]; !ok {
				order = append(order, c.name)
			}
			if !slices.Contains(types[c.name], c.t) {
				types[c.name] = append(types[c.name], c.t)
			}
			count[c.name]++
		}
	}
	var schema []column
	ws := -1
	if withSource != "" {
		ws = 0
		schema = append(schema, column{withSource, TypeString})
	}
	slot := map[string]int{} // name or name_type -> slot
	for _, n := range order {
		if inner && count[n] < len(legs) {
			continue
		}
		ts := types[n]
		if len(ts) == 1 {
			slot[n] = len(schema)
			schema = append(schema, column{n, ts[0]})
			continue
		}
		for _, t := range ts {
			key := n + "_" + t.String()
			slot[key] = len(schema)
			schema = append(schema, column{key, t})
		}
	}
	src := &unionSource{schema: schema, withSource: ws}
	for i, l := range legs {
		out := make([]int, len(schema))
		for k := range out {
			out[k] = -1
		}
		for j, c := range l.output {
			key := c.name
			if len(types[c.name]) > 1 {
				key = c.name + "_" + c.t.String()
			}
			if s, ok := slot[key]; ok {
				out[s] = j
			}
		}
		src.legs = append(src.legs, unionLeg{p: l, out: out, name: names[i]})
	}
	return genPlan("union", src, schema)
}

// errUnsupported is the message of features that parse but do not run.
func errUnsupported(at Position, what string) *Error {
	return semanticErr(at, "%s is not supported", what)
}

var _ = fmt.Sprintf
