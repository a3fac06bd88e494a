package kql

// join and lookup.

// JoinOp joins the input (left) with Right on On (join, lookup).
type JoinOp struct {
	At     Position
	Lookup bool   // lookup rather than join
	Kind   string // innerunique, inner, leftouter, ...; "" for the default
	Right  *Query
	On     []Expr // key names, or $left.x == $right.y conditions
}

// Pos returns the position of the JoinOp.
func (o *JoinOp) Pos() Position { return o.At }

func (*JoinOp) operatorNode() {}

func (p *parser) join(t token, name string) (Operator, error) {
	op := &JoinOp{At: t.pos, Lookup: name == "lookup"}
	for _, o := range p.options() {
		if o.Name == "kind" {
			op.Kind = o.Value.text
		}
	}
	rt := p.peek()
	switch {
	case rt.kind == tokPunct && rt.text == "(":
		p.advance()
		q, err := p.tabular()
		if err != nil {
			return nil, err
		}
		if _, err := p.expectPunct(")"); err != nil {
			return nil, err
		}
		op.Right = q
	default:
		q, err := p.tabularSource()
		if err != nil {
			return nil, err
		}
		op.Right = q
	}
	for _, o := range p.options() {
		if o.Name == "kind" {
			op.Kind = o.Value.text
		}
	}
	if err := p.expectKeyword("on"); err != nil {
		return nil, err
	}
	for {
		e, err := p.expr()
		if err != nil {
			return nil, err
		}
		op.On = append(op.On, e)
		if !p.isPunct(",") {
			break
		}
		p.advance()
	}
	return op, nil
}
