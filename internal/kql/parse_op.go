package kql

// parse: extracting columns from a string by a pattern.

// ParsePart is one element of a parse pattern: a literal string to find,
// a column to extract (with an optional type), or * (skip).
type ParsePart struct {
	Literal string // when Column is empty and !Star
	Star    bool
	Column  string
	Type    Type // the column's type; TypeString when not given
}

// ParseOp is parse [kind=simple|regex|relaxed] Expr with pattern.
type ParseOp struct {
	At    Position
	Where bool   // parse-where: drop rows that do not match
	Kind  string // "simple" (default), "regex", "relaxed"
	Flags string // regex flags
	Expr  Expr
	Parts []ParsePart
}

// Pos returns the position of the ParseOp.
func (o *ParseOp) Pos() Position { return o.At }

func (*ParseOp) operatorNode() {}

func (p *parser) parseOp(t token, name string) (Operator, error) {
	if name == "parse-kv" {
		return nil, syntaxErr(t.pos, "the operator 'parse-kv' is not supported")
	}
	op := &ParseOp{At: t.pos, Where: name == "parse-where", Kind: "simple"}
	for _, o := range p.options() {
		switch o.Name {
		case "kind":
			op.Kind = o.Value.text
		case "flags":
			op.Flags = o.Value.text
		}
	}
	e, err := p.expr()
	if err != nil {
		return nil, err
	}
	op.Expr = e
	if err := p.expectKeyword("with"); err != nil {
		return nil, err
	}
	for {
		tk := p.peek()
		switch {
		case tk.kind == tokString:
			p.advance()
			op.Parts = append(op.Parts, ParsePart{Literal: tk.text})
		case tk.kind == tokPunct && tk.text == "*":
			p.advance()
			op.Parts = append(op.Parts, ParsePart{Star: true})
		case tk.kind == tokIdent && !(tk.text == "with"):
			p.advance()
			part := ParsePart{Column: tk.text, Type: TypeString}
			if p.isPunct(":") {
				p.advance()
				tt := p.peek()
				typ, ok := ParseType(tt.text)
				if !ok {
					return nil, syntaxErr(tt.pos, "expected a type name but found %s", describe(tt))
				}
				p.advance()
				part.Type = typ
			}
			op.Parts = append(op.Parts, part)
		case tk.kind == tokPunct && tk.text == "[":
			name, err := p.bracketName()
			if err != nil {
				return nil, err
			}
			op.Parts = append(op.Parts, ParsePart{Column: name, Type: TypeString})
		default:
			if len(op.Parts) == 0 {
				return nil, syntaxErr(tk.pos, "expected a parse pattern but found %s", describe(tk))
			}
			return op, nil
		}
	}
}
