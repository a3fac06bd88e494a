package kql

import "slices"

// Plan is a compiled query, ready to run against a Source. A Plan is
// immutable and may be run concurrently.
type Plan struct {
	table  *Schema
	input  []column // the table's columns: slots of the first operator
	stages []stage
	output []column
	scan   ScanRequest
	// inputSlots[i] is the slot of scan.Columns[i] in input.
	inputSlots []int
	// gen, when not nil, produces the input rows instead of a scan of
	// table: datatable, print, range, union, a let-bound sub-plan
	// (pipeline.go).
	gen tabSource
	// pre are the plans whose rows expressions read (toscalar, in
	// (subquery)); Run runs them first.
	pre     []*Plan
	limits  Limits // with defaults filled in
	planned bool   // plan has run
	// late, when not nil, is the rest of the query after a plugin whose
	// schema depends on the data (evaluate_late.go).
	late *lateTail
}

// Limits returns the limits each run of the plan observes, defaults
// filled in; "no limit" is the largest int64.
func (p *Plan) Limits() Limits { return p.limits }

// Scan returns the request the plan makes of the Source: the table, the
// columns it reads, the TimeGenerated range and the row limit it pushes
// down.
func (p *Plan) Scan() ScanRequest {
	r := p.scan
	r.Columns = slices.Clone(r.Columns)
	r.Equal = slices.Clone(r.Equal)
	return r
}

// Columns returns the result columns the plan produces.
func (p *Plan) Columns() []ResultColumn {
	out := make([]ResultColumn, len(p.output))
	for i, c := range p.output {
		out[i] = ResultColumn{Name: c.name, Type: c.t.String()}
	}
	return out
}

// stage is a compiled tabular operator.
type stage interface {
	// output returns the stage's output schema given its input schema.
	output(in []column) []column
	// need returns which input slots the stage reads to produce the
	// output slots marked in out.
	need(in []column, out []bool) []bool
	// operator returns a fresh runtime operator feeding next.
	operator(next operator) operator
}

// whereStage filters rows.
type whereStage struct {
	pred cexpr
	refs []int
}

// takeStage limits the row count.
type takeStage struct{ n int64 }

// countStage counts rows.
type countStage struct{}

// projectStage computes columns: the output of project, or the input plus
// new and replaced columns for extend. Planning marks the expressions
// whose column nothing downstream reads as dead; they are not evaluated.
type projectStage struct {
	extend   bool
	exprs    []cexpr
	exprRefs [][]int // the input slots each expression reads
	target   []int   // extend: the output slot of each expression
	out      []column
	live     []bool // set by plan
	// scratch estimates the scratch values evaluating the live
	// expressions takes per row (set by plan).
	scratch int
}

// sortKey is one compiled ordering key.
type sortKey struct {
	e          cexpr
	asc        bool
	nullsFirst bool
}

// sortStage orders rows and, for top, keeps the first limit (-1: all).
type sortStage struct {
	keys  []sortKey
	limit int64
	refs  []int
}

// aggSpec is one compiled aggregate.
type aggSpec struct {
	kind string
	arg  cexpr    // nil for count()
	t    Type     // result type
	more *aggMore // the aggregates of aggs_more.go
}

// summarizeStage groups and aggregates.
type summarizeStage struct {
	by   []cexpr
	aggs []aggSpec
	out  []column
	refs []int
}

func (s *whereStage) output(in []column) []column     { return in }
func (s *takeStage) output(in []column) []column      { return in }
func (s *countStage) output(in []column) []column     { return []column{{"Count", TypeLong}} }
func (s *projectStage) output(in []column) []column   { return s.out }
func (s *sortStage) output(in []column) []column      { return in }
func (s *summarizeStage) output(in []column) []column { return s.out }

// withRefs marks refs in out, which it returns.
func withRefs(out []bool, refs []int) []bool {
	for _, r := range refs {
		out[r] = true
	}
	return out
}

func (s *whereStage) need(in []column, out []bool) []bool { return withRefs(out, s.refs) }
func (s *takeStage) need(in []column, out []bool) []bool  { return out }
func (s *countStage) need(in []column, out []bool) []bool { return make([]bool, len(in)) }
func (s *sortStage) need(in []column, out []bool) []bool  { return withRefs(out, s.refs) }

func (s *summarizeStage) need(in []column, out []bool) []bool {
	return withRefs(make([]bool, len(in)), s.refs)
}

// need also decides which expressions are live: those whose output column
// is read downstream (for extend, unless a later expression of the stage
// replaces it).
func (s *projectStage) need(in []column, out []bool) []bool {
	needed := make([]bool, len(in))
	if s.extend {
		// Input columns pass through at their slot unless replaced.
		copy(needed, out[:len(in)])
		for _, t := range s.target {
			if t < len(in) {
				needed[t] = false
			}
		}
	}
	s.live = make([]bool, len(s.exprs))
	s.scratch = 0
	written := map[int]bool{}
	for k := len(s.exprs) - 1; k >= 0; k-- {
		slot := k
		if s.extend {
			slot = s.target[k]
			if written[slot] {
				continue
			}
			written[slot] = true
		}
		if !out[slot] {
			continue
		}
		s.live[k] = true
		s.scratch += exprSize(s.exprs[k])
		withRefs(needed, s.exprRefs[k])
	}
	return needed
}

// exprSize counts the nodes of e, which bounds the vectors it allocates
// per evaluation.
func exprSize(e cexpr) int {
	n := 0
	stack := []cexpr{e}
	for len(stack) > 0 {
		x := stack[len(stack)-1]
		stack = operands(x, stack[:len(stack)-1])
		n++
	}
	return n
}

// plan derives the scan request: pruned columns, time range, limit; and
// which computed columns are live, with their scratch.
func (p *Plan) plan() {
	p.planned = true
	// Walk the stages backwards from "every output column is needed".
	schemas := make([][]column, len(p.stages)+1)
	schemas[0] = p.input
	for i, st := range p.stages {
		schemas[i+1] = st.output(schemas[i])
	}
	needed := make([]bool, len(p.output))
	for i := range needed {
		needed[i] = true
	}
	for i := len(p.stages) - 1; i >= 0; i-- {
		needed = p.stages[i].need(schemas[i], needed)
	}
	p.scan = ScanRequest{Table: p.table.Name, Columns: []string{}}
	for slot, n := range needed {
		if n {
			p.scan.Columns = append(p.scan.Columns, p.input[slot].name)
			p.inputSlots = append(p.inputSlots, slot)
		}
	}

	// Time range from the leading where clauses.
	tg := -1
	for i, c := range p.input {
		if c.name == timeColumn && c.t == TypeDatetime {
			tg = i
		}
	}
	var r timeRange
	i := 0
	for ; i < len(p.stages); i++ {
		w, ok := p.stages[i].(*whereStage)
		if !ok {
			break
		}
		if tg >= 0 {
			r.narrow(w.pred, tg)
		}
		p.scan.Equal = p.equalities(w.pred, p.scan.Equal)
	}
	// A bound at or beyond an end of the datetime range bounds nothing.
	// Bounds stay within the range: widening an empty range to hold one
	// value is harmless, as the executor re-applies the filter, and the zero
	// time (0001-01-01, the first datetime) must not stand for a bound.
	if r.hasMin && r.min > MinDatetimeTicks {
		p.scan.TimeMin = TimeFromTicks(min(r.min, MaxDatetimeTicks))
	}
	if r.hasMax && r.max <= MaxDatetimeTicks {
		p.scan.TimeMax = TimeFromTicks(max(r.max, MinDatetimeTicks+1))
	}

	// A take preceded only by row-wise projections may stop the scan early,
	// unless rows may be dropped by a re-applied time filter.
	if !r.hasMin && !r.hasMax {
		for _, st := range p.stages {
			if t, ok := st.(*takeStage); ok {
				if t.n > 0 {
					p.scan.Limit = int(min(t.n, 1<<31-1))
				}
				break
			}
			if _, ok := st.(*projectStage); !ok {
				break
			}
		}
	}
}

// timeRange is a half-open interval [min, max) of datetime ticks.
type timeRange struct {
	min, max       int64
	hasMin, hasMax bool
}

func (r *timeRange) lower(v int64) {
	if !r.hasMin || v > r.min {
		r.min, r.hasMin = v, true
	}
}

func (r *timeRange) upper(v int64) {
	if !r.hasMax || v < r.max {
		r.max, r.hasMax = v, true
	}
}

// narrow intersects r with the bounds that the conjuncts of pred put on
// the column in slot tg.
func (r *timeRange) narrow(pred cexpr, tg int) {
	switch e := pred.(type) {
	case *andNode:
		for _, t := range e.terms {
			r.narrow(t, tg)
		}
	case *cmpNode:
		col, ok := e.l.(*colRef)
		k, isConst := e.r.(*constNode)
		if !ok || col.slot != tg || !isConst || k.v.null || k.t != TypeDatetime {
			return
		}
		v := k.v.i
		switch e.op {
		case opGt:
			r.lower(v + 1)
		case opGe:
			r.lower(v)
		case opLt:
			r.upper(v)
		case opLe:
			r.upper(v + 1)
		case opEq:
			r.lower(v)
			r.upper(v + 1)
		}
	}
}

// equalities appends the conjuncts of pred of the form col == "value" on
// a string column of the table to out (ScanRequest.Equal).
func (p *Plan) equalities(pred cexpr, out []Equality) []Equality {
	switch e := pred.(type) {
	case *andNode:
		for _, t := range e.terms {
			out = p.equalities(t, out)
		}
	case *cmpNode:
		col, ok := e.l.(*colRef)
		k, isConst := e.r.(*constNode)
		if e.op != opEq || !ok || !isConst || k.v.null || col.t != TypeString || k.t != TypeString ||
			col.slot >= len(p.input) || p.input[col.slot].t != TypeString {
			return out
		}
		eq := Equality{Column: p.input[col.slot].name, Value: k.v.s}
		if !slices.Contains(out, eq) {
			out = append(out, eq)
		}
	}
	return out
}
