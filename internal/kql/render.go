package kql

// render: accepted and recorded on the plan; it does not change the rows.

// RenderOp asks the client to visualise the result (render).
type RenderOp struct {
	At         Position
	Visual     string            // timechart, barchart, ...
	Properties map[string]string // with (title="...", ...), values as written
}

// Pos returns the position of the RenderOp.
func (o *RenderOp) Pos() Position { return o.At }

func (*RenderOp) operatorNode() {}

func (p *parser) render(t token) (Operator, error) {
	v := p.peek()
	if v.kind != tokIdent {
		return nil, syntaxErr(v.pos, "expected a visualization after 'render' but found %s", describe(v))
	}
	p.advance()
	op := &RenderOp{At: t.pos, Visual: v.text, Properties: map[string]string{}}
	readProps := func(stop func() bool) error {
		for !stop() {
			k := p.peek()
			if k.kind != tokIdent {
				return syntaxErr(k.pos, "expected a render property but found %s", describe(k))
			}
			p.advance()
			if _, err := p.expectPunct("="); err != nil {
				return err
			}
			val, err := p.renderValue()
			if err != nil {
				return err
			}
			op.Properties[k.text] = val
			if p.isPunct(",") {
				p.advance()
			}
		}
		return nil
	}
	if p.isKeyword("with") {
		p.advance()
		if _, err := p.expectPunct("("); err != nil {
			return nil, err
		}
		if err := readProps(func() bool { return p.isPunct(")") || p.peek().kind == tokEOF }); err != nil {
			return nil, err
		}
		if _, err := p.expectPunct(")"); err != nil {
			return nil, err
		}
		return op, nil
	}
	// Legacy form: render timechart title="x" kind=stacked.
	err := readProps(func() bool {
		tk := p.peek()
		return tk.kind != tokIdent || p.peekAt(1).kind != tokPunct || p.peekAt(1).text != "="
	})
	return op, err
}

// renderValue reads a property value: a literal, a name, or a
// parenthesised list of names.
func (p *parser) renderValue() (string, error) {
	t := p.peek()
	if t.kind == tokPunct && t.text == "(" {
		p.advance()
		s := ""
		for !p.isPunct(")") {
			tk := p.advance()
			if tk.kind == tokEOF {
				return "", syntaxErr(tk.pos, "expected ')' but found end of query")
			}
			s += tk.text
		}
		p.advance()
		return s, nil
	}
	if t.kind == tokPunct && t.text == "-" {
		p.advance()
		n := p.advance()
		return "-" + n.text, nil
	}
	if t.kind == tokEOF || t.kind == tokPunct {
		return "", syntaxErr(t.pos, "expected a render property value but found %s", describe(t))
	}
	p.advance()
	return t.text, nil
}
