package kql

// evaluate plugins and make-series: parsed; Compile refuses what it does
// not implement.

// EvaluateOp invokes a plugin (evaluate bag_unpack(x), pivot(x), ...).
type EvaluateOp struct {
	At   Position
	Name string
	Args []Expr
}

// MakeSeriesOp is make-series: parsed, not yet compiled.
type MakeSeriesOp struct {
	At Position
}

// Pos returns the position of the EvaluateOp.
func (o *EvaluateOp) Pos() Position { return o.At }

// Pos returns the position of the MakeSeriesOp.
func (o *MakeSeriesOp) Pos() Position { return o.At }

func (*EvaluateOp) operatorNode()   {}
func (*MakeSeriesOp) operatorNode() {}

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

// makeSeries parses make-series up to the end of the operator.
func (p *parser) makeSeries(t token) (Operator, error) {
	p.skipOptions()
	if _, err := p.namedExprs(true); err != nil {
		return nil, err
	}
	for p.peek().kind != tokEOF && !p.isPunct("|") && !p.isPunct(")") && !p.isPunct(";") {
		switch {
		case p.isPunct(","):
			p.advance()
			if _, err := p.namedExprs(true); err != nil {
				return nil, err
			}
		case p.isKeyword("on"), p.isKeyword("step"), p.isKeyword("default"):
			p.advance()
			if p.isPunct("=") {
				p.advance()
			}
			if _, err := p.addExpr(); err != nil {
				return nil, err
			}
		case p.isKeyword("from"), p.isKeyword("to"):
			p.advance()
			if _, err := p.expr(); err != nil {
				return nil, err
			}
		case p.isKeyword("in"):
			p.advance()
			if err := p.expectKeyword("range"); err != nil {
				return nil, err
			}
			if err := p.skipGroup("(", ")"); err != nil {
				return nil, err
			}
		case p.isKeyword("by"):
			p.advance()
			if _, err := p.namedExprs(false); err != nil {
				return nil, err
			}
		default:
			tk := p.peek()
			return nil, syntaxErr(tk.pos, "unexpected %s in make-series", describe(tk))
		}
	}
	return &MakeSeriesOp{At: t.pos}, nil
}
