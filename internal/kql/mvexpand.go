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

// mvItem is one compiled expansion.
type mvItem struct {
	e    cexpr
	slot int  // output slot
	to   Type // the type of the elements
}

// mvExpandStage expands dynamic arrays (and bags) into rows.
type mvExpandStage struct {
	items    []mvItem
	bagArray bool
	index    int   // output slot of the item index, or -1
	limit    int64 // rows per input row, or -1
	out      []column
	inWidth  int
	refs     []int
}

func (s *mvExpandStage) output(in []column) []column { return s.out }

func (s *mvExpandStage) need(in []column, out []bool) []bool {
	n := make([]bool, len(in))
	copy(n, out[:len(in)])
	return withRefs(n, s.refs)
}

func (c *compiler) mvExpand(op *MvExpandOp) (stage, error) {
	s := &mvExpandStage{bagArray: op.BagArray, index: -1, limit: -1, inWidth: len(c.scope)}
	s.out = append(s.out, c.scope...)
	auto := 0
	for _, it := range op.Items {
		e, err := c.expr(it.Expr)
		if err != nil {
			return nil, err
		}
		if e.typ() != TypeDynamic {
			return nil, semanticErr(it.Expr.Pos(), "mv-expand expects a dynamic array or bag, got %s", e.typ())
		}
		name := it.Name
		if name == "" {
			switch x := it.Expr.(type) {
			case *CallExpr:
				if len(x.Args) == 1 {
					if id, ok := x.Args[0].(*Ident); ok {
						name = id.Name
					}
				}
			}
			if name == "" {
				name = autoName(it.Expr, &auto)
			}
		}
		to := it.To
		if to == TypeInvalid {
			to = TypeDynamic
		}
		slot := -1
		for i, col := range s.out {
			if col.name == name {
				slot = i
			}
		}
		if slot < 0 {
			slot = len(s.out)
			s.out = append(s.out, column{name, to})
		} else {
			s.out[slot].t = to
		}
		s.items = append(s.items, mvItem{e: e, slot: slot, to: to})
	}
	if op.ItemIndex != "" {
		s.index = len(s.out)
		s.out = append(s.out, column{op.ItemIndex, TypeLong})
	}
	if op.Limit != nil {
		n, err := c.count(op.Limit, "mv-expand limit")
		if err != nil {
			return nil, err
		}
		s.limit = n
	}
	s.refs = c.refSlots()
	return s, nil
}

type mvExpandOp struct {
	s    *mvExpandStage
	next operator
}

func (s *mvExpandStage) operator(next operator) operator { return &mvExpandOp{s: s, next: next} }

// elements returns what a dynamic value expands into: the elements of an
// array, the properties of a bag (each a one-property bag, or a
// [key, value] array), a scalar as itself; nothing for null or an empty
// array.
func (s *mvExpandStage) elements(d any) []any {
	switch v := d.(type) {
	case nil:
		return nil
	case []any:
		return v
	case *dynBag:
		out := make([]any, len(v.keys))
		for i, k := range v.keys {
			if s.bagArray {
				out[i] = []any{k, v.vals[i]}
			} else {
				out[i] = &dynBag{keys: []string{k}, vals: []any{v.vals[i]}}
			}
		}
		return out
	}
	return []any{d}
}

func (o *mvExpandOp) push(a *arena, c *chunk) (bool, error) {
	s := o.s
	sel := selection(a, c)
	vals := make([]*Vector, len(s.items))
	for k, it := range s.items {
		vals[k] = it.e.eval(a, c, sel)
	}
	var rows []int32 // the input row of each output row
	var idx []int64
	elems := make([][]any, len(s.items))
	var outVals [][]scalar
	for k := range s.items {
		outVals = append(outVals, nil)
		_ = k
	}
	for _, i := range sel {
		n := 0
		for k := range s.items {
			elems[k] = s.elements(dynAt(vals[k], int(i)))
			n = max(n, len(elems[k]))
		}
		if s.limit >= 0 && int64(n) > s.limit {
			n = int(s.limit)
		}
		for j := 0; j < n; j++ {
			rows = append(rows, i)
			idx = append(idx, int64(j))
			for k, it := range s.items {
				v := nullScalar
				if j < len(elems[k]) {
					if it.to == TypeDynamic {
						if d := elems[k][j]; d != nil {
							v = scalar{s: dynText(d)}
						}
					} else {
						v = dynToScalar(elems[k][j], it.to)
					}
				}
				outVals[k] = append(outVals[k], v)
			}
		}
	}
	if len(rows) == 0 {
		return true, nil
	}
	n := len(rows)
	cols := make([]*Vector, len(s.out))
	for slot := 0; slot < s.inWidth; slot++ {
		src := c.cols[slot]
		if src == nil {
			continue
		}
		v := a.vec(src.Type, n)
		for k, i := range rows {
			setScalar(a, v, n, k, scalarAt(src, int(i)))
		}
		cols[slot] = v
	}
	for k, it := range s.items {
		v := a.vec(it.to, n)
		for j, x := range outVals[k] {
			setScalar(a, v, n, j, x)
		}
		cols[it.slot] = v
	}
	if s.index >= 0 {
		v := a.vec(TypeLong, n)
		copy(v.Int, idx)
		cols[s.index] = v
	}
	return o.next.push(a, &chunk{n: n, cols: cols})
}

func (o *mvExpandOp) finish(a *arena) error { return o.next.finish(a) }
