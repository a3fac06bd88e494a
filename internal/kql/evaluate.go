package kql

// evaluate plugins: parsed; Compile refuses what it does not implement.

// EvaluateOp invokes a plugin (evaluate bag_unpack(x), pivot(x), ...).
type EvaluateOp struct {
	At   Position
	Name string
	Args []Expr
}

// Pos returns the position of the EvaluateOp.
func (o *EvaluateOp) Pos() Position { return o.At }

func (*EvaluateOp) operatorNode() {}

func (p *parser) evaluate(t token) (Operator, error) {
	p.skipOptions()
	n := p.peek()
	if n.kind != tokIdent {
		return nil, syntaxErr(n.pos, "expected a plugin name after 'evaluate' but found %s", describe(n))
	}
	p.advance()
	op := &EvaluateOp{At: n.pos, Name: n.text}
	list, err := p.parenList()
	if err != nil {
		return nil, err
	}
	op.Args = list
	return op, nil
}
