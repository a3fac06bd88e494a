package kql

// mv-apply: for each input row, expand its arrays as mv-expand does into
// a small table and run a subquery over it; the result is the subquery's
// rows, each with the input row's columns that the subquery's output does
// not name (so that on (summarize ...) keeps the row's other columns and
// on (top 1 by x) replaces the expanded column by its element).

// mvApplyStage is a compiled mv-apply.
type mvApplyStage struct {
	expand *mvExpandStage
	sub    []stage
	keep   []int // input slots kept in the output, in order
	subOut []column
	out    []column
}

func (c *compiler) mvApply(op *MvApplyOp) (stage, error) {
	in := c.scope
	c.refs = map[int]bool{}
	st, err := c.mvExpand(&MvExpandOp{At: op.At, ItemIndex: op.ItemIndex, Items: op.Items, Limit: op.Limit})
	if err != nil {
		return nil, err
	}
	s := &mvApplyStage{expand: st.(*mvExpandStage)}
	defer func() { c.scope, c.index = in, nil }()
	c.scope, c.index = s.expand.output(in), nil
	schemas := [][]column{c.scope}
	for _, sop := range op.Sub {
		c.refs = map[int]bool{}
		sst, err := c.operator(sop)
		if err != nil {
			return nil, err
		}
		s.sub = append(s.sub, sst)
		c.scope, c.index = sst.output(c.scope), nil
		schemas = append(schemas, c.scope)
	}
	s.subOut = c.scope
	// Plan the subquery: every output column of it is needed.
	needed := make([]bool, len(s.subOut))
	for i := range needed {
		needed[i] = true
	}
	for i := len(s.sub) - 1; i >= 0; i-- {
		needed = s.sub[i].need(schemas[i], needed)
	}
	names := map[string]bool{}
	for _, col := range s.subOut {
		names[col.name] = true
	}
	for i, col := range in {
		if !names[col.name] {
			s.keep = append(s.keep, i)
			s.out = append(s.out, col)
		}
	}
	s.out = append(s.out, s.subOut...)
	return s, nil
}

func (s *mvApplyStage) output(in []column) []column { return s.out }

// need: every input column, as the subquery may read any of them.
func (s *mvApplyStage) need(in []column, out []bool) []bool {
	n := make([]bool, len(in))
	for i := range n {
		n[i] = true
	}
	return n
}

func (s *mvApplyStage) operator(next operator) operator { return &mvApplyOp{s: s, next: next} }

type mvApplyOp struct {
	s    *mvApplyStage
	next operator
}

// rowsCollector keeps the rows pushed into it as scalars.
type rowsCollector struct {
	types []Type
	rows  [][]scalar
}

func (o *rowsCollector) push(a *arena, c *chunk) (bool, error) {
	for _, i := range selection(a, c) {
		r := make([]scalar, len(o.types))
		for k := range o.types {
			if v := c.cols[k]; v != nil {
				r[k] = scalarAt(v, int(i))
			} else {
				r[k] = nullScalar
			}
		}
		o.rows = append(o.rows, r)
	}
	return true, nil
}

func (o *rowsCollector) finish(a *arena) error { return nil }

func (o *mvApplyOp) push(a *arena, c *chunk) (bool, error) {
	s := o.s
	in := c.cols
	var outRows [][]scalar
	var keepRows []int32
	var charged int64
	for _, i := range selection(a, c) {
		if !a.ok() {
			break
		}
		m := a.mark()
		one := &chunk{n: 1, cols: make([]*Vector, len(in))}
		for k, v := range in {
			if v == nil {
				continue
			}
			w := a.vec(v.Type, 1)
			setScalar(a, w, 1, 0, scalarAt(v, int(i)))
			one.cols[k] = w
		}
		types := make([]Type, len(s.subOut))
		for k, col := range s.subOut {
			types[k] = col.t
		}
		sink := &rowsCollector{types: types}
		var chain operator = sink
		for k := len(s.sub) - 1; k >= 0; k-- {
			chain = s.sub[k].operator(chain)
		}
		chain = s.expand.operator(chain)
		if _, err := chain.push(a, one); err != nil {
			return false, err
		}
		if err := chain.finish(a); err != nil {
			return false, err
		}
		a.release(m)
		// The rows wait here until the input chunk is done: charge them.
		held := int64(len(sink.rows)) * int64(len(types)+1) * 40
		charged += held
		if !a.b.charge(held, "mv-apply") {
			break
		}
		for _, r := range sink.rows {
			outRows = append(outRows, r)
			keepRows = append(keepRows, i)
		}
	}
	defer a.b.charge(-charged, "mv-apply")
	if a.b != nil {
		if err := a.b.check(); err != nil {
			return false, err
		}
	}
	n := len(outRows)
	if n == 0 {
		return true, nil
	}
	cols := make([]*Vector, len(s.out))
	for k, slot := range s.keep {
		src := in[slot]
		if src == nil {
			continue
		}
		v := a.vec(src.Type, n)
		for j, i := range keepRows {
			setScalar(a, v, n, j, scalarAt(src, int(i)))
		}
		cols[k] = v
	}
	for k, col := range s.subOut {
		v := a.vec(col.t, n)
		for j, r := range outRows {
			setScalar(a, v, n, j, r[k])
		}
		cols[len(s.keep)+k] = v
	}
	return o.next.push(a, &chunk{n: n, cols: cols})
}

func (o *mvApplyOp) finish(a *arena) error { return o.next.finish(a) }
