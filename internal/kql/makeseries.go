package kql

import (
	"strings"
)

// make-series: aggregates over bins of an axis, one row per group with a
// dynamic array per aggregate and the array of the bins.
//
//	make-series [kind=nonempty] [name =] agg(...) [default = v], ...
//	    on axis [from start] [to end] step s [by [name =] expr, ...]
//	make-series ... on axis in range(start, end, s) [by ...]
//
// The bins are start, start+s, ... up to but excluding end. Without from,
// the series starts at the first bin (bin(axis, s)) holding data; without
// to, it ends after the last one. A bin without data holds the default
// (0 unless given). With no input rows, there are no output rows.

// MakeSeriesAgg is one aggregate of make-series and its default.
type MakeSeriesAgg struct {
	NamedExpr
	Default Expr // nil: 0
}

// MakeSeriesOp is make-series.
type MakeSeriesOp struct {
	At             Position
	Aggs           []MakeSeriesAgg
	On             Expr
	From, To, Step Expr // From and To may be nil
	By             []NamedExpr
}

// Pos returns the position of the MakeSeriesOp.
func (o *MakeSeriesOp) Pos() Position { return o.At }

func (*MakeSeriesOp) operatorNode() {}

func (p *parser) makeSeries(t token) (Operator, error) {
	p.skipOptions()
	op := &MakeSeriesOp{At: t.pos}
	for {
		var agg MakeSeriesAgg
		list, err := p.namedExprsOne()
		if err != nil {
			return nil, err
		}
		agg.NamedExpr = list
		if p.isKeyword("default") {
			p.advance()
			if _, err := p.expectPunct("="); err != nil {
				return nil, err
			}
			if agg.Default, err = p.addExpr(); err != nil {
				return nil, err
			}
		}
		op.Aggs = append(op.Aggs, agg)
		if !p.isPunct(",") {
			break
		}
		p.advance()
	}
	if err := p.expectKeyword("on"); err != nil {
		return nil, err
	}
	var err error
	if op.On, err = p.addExpr(); err != nil {
		return nil, err
	}
	if p.isKeyword("in") {
		p.advance()
		if err := p.expectKeyword("range"); err != nil {
			return nil, err
		}
		if _, err := p.expectPunct("("); err != nil {
			return nil, err
		}
		args := []*Expr{&op.From, &op.To, &op.Step}
		for i, a := range args {
			if *a, err = p.expr(); err != nil {
				return nil, err
			}
			if i < 2 {
				if _, err := p.expectPunct(","); err != nil {
					return nil, err
				}
			}
		}
		if _, err := p.expectPunct(")"); err != nil {
			return nil, err
		}
	} else {
		for _, kw := range []struct {
			name string
			dst  *Expr
		}{{"from", &op.From}, {"to", &op.To}, {"step", &op.Step}} {
			if p.isKeyword(kw.name) {
				p.advance()
				if *kw.dst, err = p.addExpr(); err != nil {
					return nil, err
				}
			}
		}
		if op.Step == nil {
			tk := p.peek()
			return nil, syntaxErr(tk.pos, "expected 'step' in make-series but found %s", describe(tk))
		}
	}
	if p.isKeyword("by") {
		p.advance()
		if op.By, err = p.namedExprs(false); err != nil {
			return nil, err
		}
	}
	return op, nil
}

// namedExprsOne reads one [name =] expression.
func (p *parser) namedExprsOne() (NamedExpr, error) {
	var ne NamedExpr
	t := p.peek()
	switch {
	case t.kind == tokIdent && p.peekAt(1).kind == tokPunct && p.peekAt(1).text == "=":
		p.advance()
		p.advance()
		ne.Name = t.text
	case t.kind == tokPunct && t.text == "[" && p.peekAt(1).kind == tokString &&
		p.peekAt(2).kind == tokPunct && p.peekAt(2).text == "]" &&
		p.peekAt(3).kind == tokPunct && p.peekAt(3).text == "=":
		name, _ := p.bracketName()
		p.advance()
		ne.Name = name
	}
	e, err := p.addExpr()
	if err != nil {
		return ne, err
	}
	ne.Expr = e
	return ne, nil
}

// seriesStage turns the rows of a summarize by the groups and the axis
// bin into one row per group.
type seriesStage struct {
	nBy      int
	aggTypes []Type
	defaults []scalar
	axisType Type
	step     scalar
	from, to *scalar
	out      []column
}

func (c *compiler) makeSeries(op *MakeSeriesOp) (stage, error) {
	in := c.scope
	defer func() { c.scope, c.index = in, nil }()
	consts := func(e Expr, what string) (*constNode, error) {
		if e == nil {
			return nil, nil
		}
		x, err := c.expr(e)
		if err != nil {
			return nil, err
		}
		k, ok := x.(*constNode)
		if !ok {
			return nil, semanticErr(e.Pos(), "make-series: the %s must be a constant", what)
		}
		return k, nil
	}
	axis, err := c.expr(op.On)
	if err != nil {
		return nil, err
	}
	at := axis.typ()
	step, err := consts(op.Step, "step")
	if err != nil {
		return nil, err
	}
	from, err := consts(op.From, "start")
	if err != nil {
		return nil, err
	}
	to, err := consts(op.To, "end")
	if err != nil {
		return nil, err
	}
	s := &seriesStage{nBy: len(op.By), axisType: at}
	switch {
	case at == TypeDatetime && step.t == TypeTimespan:
		if step.v.null || step.v.i <= 0 {
			return nil, semanticErr(op.Step.Pos(), "make-series: the step must be positive")
		}
	case (at == TypeLong || at == TypeInt) && (step.t == TypeLong || step.t == TypeInt):
		s.axisType = TypeLong
		if step.v.null || step.v.i <= 0 {
			return nil, semanticErr(op.Step.Pos(), "make-series: the step must be positive")
		}
	case at.isNumeric() && step.t.isNumeric():
		s.axisType = TypeReal
	default:
		return nil, semanticErr(op.On.Pos(), "make-series: an axis of %s with a step of %s is not supported", at, step.t)
	}
	conv := func(k *constNode, e Expr) (*scalar, error) {
		if k == nil {
			return nil, nil
		}
		if k.v.null {
			return nil, semanticErr(e.Pos(), "make-series: the range bounds must not be null")
		}
		if k.t != s.axisType && !(k.t.isNumeric() && s.axisType.isNumeric()) {
			return nil, semanticErr(e.Pos(), "make-series: the range bound is %s, the axis %s", k.t, s.axisType)
		}
		v := convertScalar(k.v, k.t, s.axisType)
		return &v, nil
	}
	if s.from, err = conv(from, op.From); err != nil {
		return nil, err
	}
	if s.to, err = conv(to, op.To); err != nil {
		return nil, err
	}
	s.step = step.v
	if s.axisType != TypeDatetime {
		s.step = convertScalar(step.v, step.t, s.axisType)
	}
	if s.axisType == TypeReal && !(s.step.f > 0) {
		return nil, semanticErr(op.Step.Pos(), "make-series: the step must be positive")
	}

	// Aggregate by the groups and the bin of the axis.
	axisName := "Column1"
	if id, ok := op.On.(*Ident); ok {
		axisName = id.Name
	}
	var bin Expr = &CallExpr{At: op.On.Pos(), Name: "bin", Args: []Expr{op.On, op.Step}}
	if op.From != nil {
		bin = &CallExpr{At: op.On.Pos(), Name: "bin_at", Args: []Expr{op.On, op.Step, op.From}}
	}
	chain := &chainStage{}
	sum := &SummarizeOp{At: op.At, By: append(append([]NamedExpr{}, op.By...), NamedExpr{Name: "\x00axis", Expr: bin})}
	for _, a := range op.Aggs {
		sum.Aggregates = append(sum.Aggregates, a.NamedExpr)
	}
	st, err := c.summarize(sum)
	if err != nil {
		return nil, err
	}
	chain.stages = append(chain.stages, st)
	sout := st.output(c.scope)
	if len(sout) != len(op.By)+1+len(op.Aggs) {
		return nil, semanticErr(op.At, "make-series: unsupported aggregates")
	}
	for i, a := range op.Aggs {
		col := sout[len(op.By)+1+i]
		s.aggTypes = append(s.aggTypes, col.t)
		d := scalar{}
		if a.Default != nil {
			k, err := consts(a.Default, "default")
			if err != nil {
				return nil, err
			}
			if !k.v.null && k.t != col.t && !(k.t.isNumeric() && col.t.isNumeric()) {
				return nil, semanticErr(a.Default.Pos(), "make-series: the default is %s, the aggregate %s", k.t, col.t)
			}
			d = convertScalar(k.v, k.t, col.t)
			if k.v.null {
				d = nullScalar
			}
		} else if !col.t.isNumeric() {
			d = nullScalar
		}
		s.defaults = append(s.defaults, d)
	}
	s.out = append(s.out, sout[:len(op.By)]...)
	for _, col := range sout[len(op.By)+1:] {
		s.out = append(s.out, column{col.name, TypeDynamic})
	}
	s.out = append(s.out, column{axisName, TypeDynamic})
	chain.stages = append(chain.stages, s)
	return chain, nil
}

func (s *seriesStage) output(in []column) []column { return s.out }

func (s *seriesStage) need(in []column, out []bool) []bool {
	n := make([]bool, len(in))
	for i := range n {
		n[i] = true
	}
	return n
}

func (s *seriesStage) operator(next operator) operator { return &seriesOp{s: s, next: next} }

type seriesOp struct {
	s       *seriesStage
	next    operator
	rows    [][]scalar
	charged int64
}

func (o *seriesOp) push(a *arena, c *chunk) (bool, error) {
	width := len(c.cols)
	for _, i := range selection(a, c) {
		r := make([]scalar, width)
		for k, v := range c.cols {
			if v != nil {
				r[k] = scalarAt(v, int(i))
			} else {
				r[k] = nullScalar
			}
		}
		o.rows = append(o.rows, r)
	}
	held := int64(len(o.rows)) * int64(width) * 40
	if !a.b.charge(held-o.charged, "make-series") {
		o.charged = held
		return false, a.b.err
	}
	o.charged = held
	return true, nil
}

// index returns the bin of v counted from start, or -1 when outside.
func (s *seriesStage) index(v, start scalar, n int) int {
	var k int64
	if s.axisType == TypeReal {
		f := (v.f - start.f) / s.step.f
		if f < 0 || f >= float64(n) {
			return -1
		}
		k = int64(f + 1e-9)
	} else {
		d := v.i - start.i
		if d < 0 {
			return -1
		}
		k = d / s.step.i
	}
	if k >= int64(n) {
		return -1
	}
	return int(k)
}

func (o *seriesOp) finish(a *arena) error {
	s := o.s
	defer a.b.charge(-o.charged, "make-series")
	if len(o.rows) == 0 {
		return o.next.finish(a)
	}
	axis := s.nBy
	// The range: from and to, or the data's.
	var start, end scalar
	lo, hi := scalar{null: true}, scalar{null: true}
	less := func(x, y scalar) bool {
		if s.axisType == TypeReal {
			return x.f < y.f
		}
		return x.i < y.i
	}
	for _, r := range o.rows {
		v := r[axis]
		if v.null {
			continue
		}
		if lo.null || less(v, lo) {
			lo = v
		}
		if hi.null || less(hi, v) {
			hi = v
		}
	}
	if s.from != nil {
		start = *s.from
	} else {
		start = lo
	}
	var n int
	switch {
	case start.null:
		n = 0
	case s.axisType == TypeReal:
		e := hi.f + s.step.f
		if s.to != nil {
			e = s.to.f
		}
		f := (e - start.f) / s.step.f
		if f > 0 {
			n = int(min(f+0.999999999, 1<<30))
		}
		end.f = e
	default:
		var e int64
		if s.to != nil {
			e = s.to.i
		} else {
			var ok bool
			if e, ok = addTicks(hi.i, s.step.i); !ok {
				e = hi.i
			}
		}
		if e > start.i {
			d := uint64(e - start.i)
			q := d / uint64(s.step.i)
			if d%uint64(s.step.i) != 0 {
				q++
			}
			n = int(min(q, 1<<30))
		}
		end.i = e
	}
	// Group the rows by their by-columns, in order of appearance.
	type group struct {
		key  []scalar
		vals [][]scalar
	}
	var groups []*group
	byKey := map[string]*group{}
	var kb strings.Builder
	for _, r := range o.rows {
		kb.Reset()
		for k := 0; k < s.nBy; k++ {
			kb.WriteString(keyText(r[k]))
			kb.WriteByte(0)
		}
		if r[axis].null {
			continue
		}
		j := s.index(r[axis], start, n)
		if j < 0 {
			continue
		}
		g := byKey[kb.String()]
		if g == nil {
			cells := int64(n) * int64(len(s.aggTypes)+1) * 16
			if !a.b.charge(cells, "make-series") {
				return a.b.err
			}
			o.charged += cells
			g = &group{key: r[:s.nBy], vals: make([][]scalar, len(s.aggTypes))}
			for k := range g.vals {
				g.vals[k] = make([]scalar, n)
				for j := range g.vals[k] {
					g.vals[k][j] = s.defaults[k]
				}
			}
			byKey[kb.String()] = g
			groups = append(groups, g)
		}
		for k := range s.aggTypes {
			g.vals[k][j] = r[axis+1+k]
		}
	}
	// The axis: start + j*step.
	axisVals := make([]string, n)
	for j := range axisVals {
		var v scalar
		if s.axisType == TypeReal {
			v.f = start.f + float64(j)*s.step.f
		} else {
			v.i = start.i + int64(j)*s.step.i
		}
		axisVals[j] = elementText(v, s.axisType)
	}
	axisText := "[" + strings.Join(axisVals, ",") + "]"
	nOut := len(groups)
	cols := make([]*Vector, len(s.out))
	for k := range cols {
		cols[k] = a.vec(s.out[k].t, nOut)
	}
	for gi, g := range groups {
		for k := 0; k < s.nBy; k++ {
			setScalar(a, cols[k], nOut, gi, g.key[k])
		}
		for k, vals := range g.vals {
			parts := make([]string, len(vals))
			for j, v := range vals {
				parts[j] = elementText(v, s.aggTypes[k])
			}
			setScalar(a, cols[s.nBy+k], nOut, gi, scalar{s: "[" + strings.Join(parts, ",") + "]"})
		}
		setScalar(a, cols[len(cols)-1], nOut, gi, scalar{s: axisText})
	}
	if nOut > 0 {
		if _, err := o.next.push(a, &chunk{n: nOut, cols: cols}); err != nil {
			return err
		}
	}
	return o.next.finish(a)
}

// elementText is the JSON of a value as an element of a dynamic array.
func elementText(v scalar, t Type) string {
	if v.null {
		return "null"
	}
	d := convertScalar(v, t, TypeDynamic)
	if d.null || d.s == "" {
		return "null"
	}
	return d.s
}

// keyText encodes a scalar for a map key.
func keyText(v scalar) string {
	if v.null {
		return "\x01"
	}
	return "v" + v.s + "|" + itoa(int(v.i)) + "|" + formatReal(v.f) + "|" + map[bool]string{true: "t", false: "f"}[v.b]
}
