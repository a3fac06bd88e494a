package kql

import "strings"

// search: rows in which a term appears.
//
//	search [kind=case_sensitive] [in (T1, T2, ...)] predicate   (a source)
//	T | search [kind=case_sensitive] predicate                  (an operator)
//
// As a source it reads the named tables, or every table of the catalog
// (which must list them, as for union *), with the column $table naming
// each row's table. The predicate combines with and, or, not(...) and
// parentheses: "term" (in any column, as has does: "*term*" as contains,
// "term*" as hasprefix, "*term" as hassuffix; non-string columns as their
// text), Column:"term" (in one column), * (every row) and any boolean
// expression. Terms are case-insensitive unless kind=case_sensitive.

// SearchTerm is a search predicate's "term" or Column:"term".
type SearchTerm struct {
	At     Position
	Column string // empty: any column
	Term   string
	CS     bool // case-sensitive
}

// Pos returns the position of the SearchTerm.
func (e *SearchTerm) Pos() Position { return e.At }

func (*SearchTerm) exprNode() {}

// searchOptions reads kind=... and returns whether it asks for case.
func (p *parser) searchOptions() bool {
	cs := false
	for _, o := range p.options() {
		if o.Name == "kind" {
			cs = o.Value.text == "case_sensitive"
		}
	}
	return cs
}

// searchOp parses | search predicate as a where.
func (p *parser) searchOp(t token) (Operator, error) {
	cs := p.searchOptions()
	pred, err := p.searchOr(cs)
	if err != nil {
		return nil, err
	}
	return &WhereOp{At: t.pos, Predicate: pred}, nil
}

// searchSource parses search as the source of a query.
func (p *parser) searchSource(t token, q *Query) error {
	cs := p.searchOptions()
	u := &UnionSource{At: t.pos, WithSource: "$table"}
	if p.isKeyword("in") {
		p.advance()
		if _, err := p.expectPunct("("); err != nil {
			return err
		}
		for {
			leg, err := p.unionLeg()
			if err != nil {
				return err
			}
			u.Legs = append(u.Legs, leg)
			if !p.isPunct(",") {
				break
			}
			p.advance()
		}
		if _, err := p.expectPunct(")"); err != nil {
			return err
		}
	} else {
		u.Legs = []*Query{{Source: &TableRef{Name: "*", At: t.pos}}}
	}
	pred, err := p.searchOr(cs)
	if err != nil {
		return err
	}
	q.Input = u
	q.Operators = append(q.Operators, &WhereOp{At: t.pos, Predicate: pred})
	return nil
}

func (p *parser) searchOr(cs bool) (Expr, error) {
	x, err := p.searchAnd(cs)
	if err != nil {
		return nil, err
	}
	for p.isKeyword("or") {
		at := p.advance().pos
		y, err := p.searchAnd(cs)
		if err != nil {
			return nil, err
		}
		x = &BinaryExpr{At: at, Op: "or", Left: x, Right: y}
	}
	return x, nil
}

func (p *parser) searchAnd(cs bool) (Expr, error) {
	x, err := p.searchUnary(cs)
	if err != nil {
		return nil, err
	}
	for p.isKeyword("and") {
		at := p.advance().pos
		y, err := p.searchUnary(cs)
		if err != nil {
			return nil, err
		}
		x = &BinaryExpr{At: at, Op: "and", Left: x, Right: y}
	}
	return x, nil
}

func (p *parser) searchUnary(cs bool) (Expr, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	t := p.peek()
	switch {
	case t.kind == tokPunct && t.text == "*":
		p.advance()
		return &Literal{At: t.pos, Type: TypeBool, Value: true}, nil
	case t.kind == tokString:
		p.advance()
		return &SearchTerm{At: t.pos, Term: t.text, CS: cs}, nil
	case t.kind == tokIdent && t.text == "not" && p.peekAt(1).kind == tokPunct && p.peekAt(1).text == "(":
		p.advance()
		p.advance()
		x, err := p.searchOr(cs)
		if err != nil {
			return nil, err
		}
		if _, err := p.expectPunct(")"); err != nil {
			return nil, err
		}
		return &CallExpr{At: t.pos, Name: "not", Args: []Expr{x}}, nil
	case t.kind == tokPunct && t.text == "(":
		p.advance()
		x, err := p.searchOr(cs)
		if err != nil {
			return nil, err
		}
		if _, err := p.expectPunct(")"); err != nil {
			return nil, err
		}
		return x, nil
	case t.kind == tokIdent && p.peekAt(1).kind == tokPunct && p.peekAt(1).text == ":" && p.peekAt(2).kind == tokString:
		p.advance()
		p.advance()
		s := p.advance()
		return &SearchTerm{At: t.pos, Column: t.text, Term: s.text, CS: cs}, nil
	}
	return p.expr()
}

// searchTerm compiles a term: a string operator on one column, or on
// each column (as text) joined by or.
func (c *compiler) searchTerm(e *SearchTerm) (cexpr, error) {
	term := e.Term
	op := "has"
	switch {
	case len(term) > 1 && strings.HasPrefix(term, "*") && strings.HasSuffix(term, "*"):
		op, term = "contains", term[1:len(term)-1]
	case strings.HasSuffix(term, "*"):
		op, term = "hasprefix", strings.TrimSuffix(term, "*")
	case strings.HasPrefix(term, "*"):
		op, term = "hassuffix", strings.TrimPrefix(term, "*")
	}
	if term == "" {
		return constOf(TypeBool, scalar{b: true}), nil
	}
	if e.CS {
		op += "_cs"
	}
	lit := &Literal{At: e.At, Type: TypeString, Value: term}
	operand := func(name string) Expr {
		id := &Ident{At: e.At, Name: name}
		if i := c.lookup(name); i >= 0 && c.scope[i].t.isStringy() {
			return id
		}
		return &CallExpr{At: e.At, Name: "tostring", Args: []Expr{id}}
	}
	if e.Column != "" {
		if c.lookup(e.Column) < 0 {
			return nil, semanticErr(e.At, "Failed to resolve column named '%s'", e.Column)
		}
		return c.expr(&BinaryExpr{At: e.At, Op: op, Left: operand(e.Column), Right: lit})
	}
	var x Expr
	for _, col := range c.scope {
		if col.name == "$table" {
			continue
		}
		t := &BinaryExpr{At: e.At, Op: op, Left: operand(col.name), Right: lit}
		if x == nil {
			x = t
		} else {
			x = &BinaryExpr{At: e.At, Op: "or", Left: x, Right: t}
		}
	}
	if x == nil {
		return constOf(TypeBool, scalar{b: false}), nil
	}
	return c.expr(x)
}
