package kql

// mv-expand and mv-apply.

// MvExpandItem is one expanded column: [Name =] Expr [to typeof(Type)].
type MvExpandItem struct {
	Name string
	Expr Expr
	To   Type // TypeInvalid when not given (dynamic)
}

// MvExpandOp expands dynamic arrays or bags into one row per element.
type MvExpandOp struct {
	At        Position
	BagArray  bool   // bagexpansion=array: bag entries as [key, value]
	ItemIndex string // with_itemindex=Name; empty when absent
	Items     []MvExpandItem
	Limit     Expr // nil when absent
}

// MvApplyOp applies a subquery to each row's expanded elements (mv-apply).
type MvApplyOp struct {
	At        Position
	ItemIndex string
	Items     []MvExpandItem
	Limit     Expr
	Sub       []Operator // the subquery's operators, applied per input row
}

// Pos returns the position of the MvExpandOp.
func (o *MvExpandOp) Pos() Position { return o.At }

// Pos returns the position of the MvApplyOp.
func (o *MvApplyOp) Pos() Position { return o.At }

func (*MvExpandOp) operatorNode() {}
func (*MvApplyOp) operatorNode()  {}

func (p *parser) mvItems() ([]MvExpandItem, error) {
	var items []MvExpandItem
	for {
		var it MvExpandItem
		t := p.peek()
		if t.kind == tokIdent && p.peekAt(1).kind == tokPunct && p.peekAt(1).text == "=" {
			p.advance()
			p.advance()
			it.Name = t.text
		}
		e, err := p.expr()
		if err != nil {
			return nil, err
		}
		it.Expr = e
		if p.isKeyword("to") {
			p.advance()
			if err := p.expectKeyword("typeof"); err != nil {
				return nil, err
			}
			if _, err := p.expectPunct("("); err != nil {
				return nil, err
			}
			tt := p.peek()
			typ, ok := ParseType(tt.text)
			if !ok {
				return nil, syntaxErr(tt.pos, "expected a type name but found %s", describe(tt))
			}
			p.advance()
			if _, err := p.expectPunct(")"); err != nil {
				return nil, err
			}
			it.To = typ
		}
		items = append(items, it)
		if !p.isPunct(",") {
			return items, nil
		}
		p.advance()
	}
}

func (p *parser) mvExpand(t token) (Operator, error) {
	op := &MvExpandOp{At: t.pos}
	for _, o := range p.options() {
		switch o.Name {
		case "bagexpansion":
			op.BagArray = o.Value.text == "array"
		case "with_itemindex":
			op.ItemIndex = o.Value.text
		}
	}
	items, err := p.mvItems()
	if err != nil {
		return nil, err
	}
	op.Items = items
	if p.isKeyword("limit") {
		p.advance()
		if op.Limit, err = p.expr(); err != nil {
			return nil, err
		}
	}
	return op, nil
}

func (p *parser) mvApply(t token) (Operator, error) {
	op := &MvApplyOp{At: t.pos}
	for _, o := range p.options() {
		if o.Name == "with_itemindex" {
			op.ItemIndex = o.Value.text
		}
	}
	items, err := p.mvItems()
	if err != nil {
		return nil, err
	}
	op.Items = items
	if p.isKeyword("limit") {
		p.advance()
		if op.Limit, err = p.expr(); err != nil {
			return nil, err
		}
	}
	if err := p.expectKeyword("on"); err != nil {
		return nil, err
	}
	if _, err := p.expectPunct("("); err != nil {
		return nil, err
	}
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	for {
		if p.isPunct("|") {
			p.advance()
		}
		sub, err := p.operator()
		if err != nil {
			return nil, err
		}
		op.Sub = append(op.Sub, sub)
		if !p.isPunct("|") {
			break
		}
	}
	if _, err := p.expectPunct(")"); err != nil {
		return nil, err
	}
	return op, nil
}
