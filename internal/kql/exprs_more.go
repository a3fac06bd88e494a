package kql

// Expressions beyond the core grammar of parser.go: list operators
// (has_any, has_all), matches regex, hasprefix/hassuffix, in with a
// subquery, * and tabular arguments of calls, and dynamic literals.

// Star is the * argument of arg_max(x, *), count(*), pack_all-like calls.
type Star struct {
	At Position
}

// TabularExpr is a tabular expression in scalar position: the argument of
// toscalar(), or the subquery of in (T | project x).
type TabularExpr struct {
	At    Position
	Query *Query
}

// ListOpExpr is x has_any (list) or x has_all (list). The list holds
// scalars, or a single dynamic array or tabular expression.
type ListOpExpr struct {
	At   Position
	Op   string // has_any, has_all
	X    Expr
	List []Expr
}

// Pos returns the position of the Star.
func (e *Star) Pos() Position { return e.At }

// Pos returns the position of the TabularExpr.
func (e *TabularExpr) Pos() Position { return e.At }

// Pos returns the position of the ListOpExpr.
func (e *ListOpExpr) Pos() Position { return e.X.Pos() }

func (*Star) exprNode()        {}
func (*TabularExpr) exprNode() {}
func (*ListOpExpr) exprNode()  {}

// moreNegatable are word operators beyond parser.stringOps that take a
// '!' prefix.
var moreNegatable = map[string]bool{
	"hasprefix": true, "hassuffix": true, "hasprefix_cs": true, "hassuffix_cs": true,
}

// moreStringOps are binary word operators handled here.
var moreStringOps = map[string]bool{
	"hasprefix": true, "hassuffix": true, "hasprefix_cs": true, "hassuffix_cs": true,
}

// cmpMore parses the comparison forms added here. t is the token after
// the left operand (after a '!' when negated; opTok is the '!' then).
func (p *parser) cmpMore(left Expr, t, opTok token, negated bool) (Expr, bool, error) {
	if t.kind != tokIdent {
		return nil, false, nil
	}
	switch {
	case (t.text == "has_any" || t.text == "has_all") && !negated:
		p.advance()
		list, err := p.parenList()
		if err != nil {
			return nil, true, err
		}
		return &ListOpExpr{At: t.pos, Op: t.text, X: left, List: list}, true, nil
	case t.text == "matches" && !negated:
		p.advance()
		if err := p.expectKeyword("regex"); err != nil {
			return nil, true, err
		}
		right, err := p.addExpr()
		if err != nil {
			return nil, true, err
		}
		return &BinaryExpr{At: t.pos, Op: "matches regex", Left: left, Right: right}, true, nil
	case moreStringOps[t.text]:
		p.advance()
		right, err := p.addExpr()
		if err != nil {
			return nil, true, err
		}
		op := t.text
		if negated {
			op = "!" + op
		}
		return &BinaryExpr{At: opTok.pos, Op: op, Left: left, Right: right}, true, nil
	case t.text == "in":
		// Only the subquery form is parsed here: in (T | ...).
		k := 1
		ci := false
		if n := p.peekAt(1); n.kind == tokPunct && n.text == "~" && n.pos.Offset == t.pos.Offset+2 {
			k, ci = 2, true
		}
		if op := p.peekAt(k); op.kind != tokPunct || op.text != "(" {
			return nil, false, nil
		}
		save := p.i
		p.i += k + 1
		tab := p.looksTabular() && !(p.peek().kind == tokIdent && p.peekAt(1).kind == tokPunct && p.peekAt(1).text == ")")
		p.i = save
		if !tab {
			return nil, false, nil
		}
		p.i += k + 1
		q, err := p.tabular()
		if err != nil {
			return nil, true, err
		}
		if _, err := p.expectPunct(")"); err != nil {
			return nil, true, err
		}
		sub := &TabularExpr{At: q.Pos(), Query: q}
		return &InExpr{At: opTok.pos, X: left, List: []Expr{sub}, Negated: negated, CaseInsensitive: ci}, true, nil
	}
	return nil, false, nil
}

// parenList parses "(e, ...)" whose items may also be tabular.
func (p *parser) parenList() ([]Expr, error) {
	if _, err := p.expectPunct("("); err != nil {
		return nil, err
	}
	var list []Expr
	for !p.isPunct(")") {
		e, err := p.callArg()
		if err != nil {
			return nil, err
		}
		list = append(list, e)
		if !p.isPunct(",") {
			break
		}
		p.advance()
	}
	if _, err := p.expectPunct(")"); err != nil {
		return nil, err
	}
	return list, nil
}

// callArg parses an argument of a call: *, a tabular expression
// (T | ...), or a scalar expression.
func (p *parser) callArg() (Expr, error) {
	t := p.peek()
	if t.kind == tokPunct && t.text == "*" {
		if n := p.peekAt(1); n.kind == tokPunct && (n.text == "," || n.text == ")") {
			p.advance()
			return &Star{At: t.pos}, nil
		}
	}
	if t.kind == tokIdent && p.peekAt(1).kind == tokPunct && p.peekAt(1).text == "|" ||
		t.kind == tokIdent && tabularKeywords[t.text] && t.text != "view" ||
		t.kind == tokPunct && t.text == "(" && p.peekAt(1).kind == tokIdent && p.peekAt(2).kind == tokPunct && p.peekAt(2).text == "|" {
		q, err := p.tabular()
		if err != nil {
			return nil, err
		}
		return &TabularExpr{At: t.pos, Query: q}, nil
	}
	return p.expr()
}

// callMore parses calls with a grammar of their own: dynamic(...).
func (p *parser) callMore(name token) (Expr, bool, error) {
	if name.text == "dynamic" {
		e, err := p.dynamicLiteral(name)
		return e, true, err
	}
	return nil, false, nil
}
