package kql

// union as an operator: T | union U, V is union T, U, V.

// UnionOp appends the rows of other tables to the input (| union ...).
type UnionOp struct {
	At    Position
	Union *UnionSource
}

// Pos returns the position of the UnionOp.
func (o *UnionOp) Pos() Position { return o.At }

func (*UnionOp) operatorNode() {}

// unionStage passes its input on, remapped to the union's columns, then
// the rows of the other legs.
type unionStage struct {
	u *Plan // the union of a placeholder for the input and the legs
}

func (c *compiler) unionOp(op *UnionOp) (stage, error) {
	input := genPlan("union_arg0", oneRow{}, c.scope)
	u, err := c.env.union(op.Union, input)
	if err != nil {
		return nil, err
	}
	return &unionStage{u: u}, nil
}

func (s *unionStage) src() *unionSource { return s.u.gen.(*unionSource) }

func (s *unionStage) output(in []column) []column { return s.u.output }

func (s *unionStage) need(in []column, out []bool) []bool {
	n := make([]bool, len(in))
	for k, slot := range s.src().legs[0].out {
		if slot >= 0 {
			n[slot] = true
		}
		_ = k
	}
	return n
}

func (s *unionStage) subPlans() []*Plan {
	var out []*Plan
	for _, l := range s.src().legs[1:] {
		out = append(out, l.p)
	}
	return out
}

type unionOp struct {
	s    *unionStage
	in   *remap
	next operator
}

func (s *unionStage) operator(next operator) operator {
	src := s.src()
	r := &remap{out: src.legs[0].out, types: src.schema, next: next}
	if src.withSource >= 0 {
		r.consts = make([]*constNode, len(src.schema))
		r.consts[src.withSource] = &constNode{t: TypeString, v: scalar{s: src.legs[0].name}}
	}
	return &unionOp{s: s, in: r, next: next}
}

func (o *unionOp) push(a *arena, c *chunk) (bool, error) { return o.in.push(a, c) }

func (o *unionOp) finish(a *arena) error {
	src := o.s.src()
	for _, l := range src.legs[1:] {
		r := &remap{out: l.out, types: src.schema, next: o.next}
		if src.withSource >= 0 {
			r.consts = make([]*constNode, len(src.schema))
			r.consts[src.withSource] = &constNode{t: TypeString, v: scalar{s: l.name}}
		}
		if err := l.p.runInto(a.env, r); err != nil {
			return err
		}
	}
	return o.next.finish(a)
}
