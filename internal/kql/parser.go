package kql

import (
	"errors"
	"math"
	"strconv"
	"strings"
)

// maxDepth bounds expression nesting (parentheses, calls, unary signs) so
// that hostile input cannot exhaust the stack.
const maxDepth = 200

// maxOperators bounds the operators of a query: each is a stage the
// executor's chunks pass through by a call, so a pipeline is a recursion.
const maxOperators = 1000

// Parse parses a query into its syntax tree. Errors are *Error of kind
// SyntaxError with the line and position of the offending token.
func Parse(query string) (*Query, error) {
	toks, err := lex(query)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	q, err := p.query()
	if err != nil {
		return nil, err
	}
	return q, nil
}

type parser struct {
	toks  []token
	i     int
	depth int
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) peekAt(n int) token {
	if p.i+n < len(p.toks) {
		return p.toks[p.i+n]
	}
	return p.toks[len(p.toks)-1]
}

func (p *parser) advance() token {
	t := p.toks[p.i]
	if t.kind != tokEOF {
		p.i++
	}
	return t
}

func (p *parser) isPunct(s string) bool {
	t := p.peek()
	return t.kind == tokPunct && t.text == s
}

// isKeyword reports whether the next token is the identifier kw.
func (p *parser) isKeyword(kw string) bool {
	t := p.peek()
	return t.kind == tokIdent && t.text == kw
}

func (p *parser) expectPunct(s string) (token, error) {
	if !p.isPunct(s) {
		t := p.peek()
		return t, syntaxErr(t.pos, "expected '%s' but found %s", s, describe(t))
	}
	return p.advance(), nil
}

func (p *parser) expectKeyword(kw string) error {
	if !p.isKeyword(kw) {
		t := p.peek()
		return syntaxErr(t.pos, "expected '%s' but found %s", kw, describe(t))
	}
	p.advance()
	return nil
}

func describe(t token) string {
	if t.kind == tokEOF {
		return "end of query"
	}
	return "'" + t.String() + "'"
}

func (p *parser) query() (*Query, error) {
	// Tolerate leading and trailing statement separators.
	for p.isPunct(";") {
		p.advance()
	}
	if !p.isPlainTableQuery() {
		return p.statements() // let.go
	}
	t := p.peek()
	name, err := p.tableName()
	if err != nil {
		return nil, err
	}
	q := &Query{Source: &TableRef{Name: name, At: t.pos}}
	for p.isPunct("|") {
		bar := p.advance()
		if len(q.Operators) == maxOperators {
			return nil, syntaxErr(bar.pos, "the query has too many operators: at most %d are allowed", maxOperators)
		}
		op, err := p.operator()
		if err != nil {
			return nil, err
		}
		q.Operators = append(q.Operators, op)
	}
	for p.isPunct(";") {
		p.advance()
	}
	if t := p.peek(); t.kind != tokEOF {
		return nil, syntaxErr(t.pos, "unexpected %s; expected '|' or end of query", describe(t))
	}
	return q, nil
}

// tableName reads T or ['T'].
func (p *parser) tableName() (string, error) {
	t := p.peek()
	switch {
	case t.kind == tokIdent:
		p.advance()
		return t.text, nil
	case t.kind == tokPunct && t.text == "[":
		return p.bracketName()
	}
	return "", syntaxErr(t.pos, "expected a table name but found %s", describe(t))
}

// bracketName reads ['name'] or ["name"].
func (p *parser) bracketName() (string, error) {
	p.advance() // [
	t := p.peek()
	if t.kind != tokString {
		return "", syntaxErr(t.pos, "expected a quoted name after '[' but found %s", describe(t))
	}
	p.advance()
	if _, err := p.expectPunct("]"); err != nil {
		return "", err
	}
	return t.text, nil
}

func (p *parser) operator() (Operator, error) {
	t := p.peek()
	if t.kind != tokIdent {
		return nil, syntaxErr(t.pos, "expected an operator after '|' but found %s", describe(t))
	}
	p.advance()
	if op, ok, err := p.operatorMore(t); ok {
		return op, err // operators.go
	}
	switch t.text {
	case "where", "filter":
		e, err := p.expr()
		if err != nil {
			return nil, err
		}
		return &WhereOp{At: t.pos, Predicate: e}, nil
	case "take", "limit":
		e, err := p.expr()
		if err != nil {
			return nil, err
		}
		return &TakeOp{At: t.pos, Count: e}, nil
	case "count":
		return &CountOp{At: t.pos}, nil
	case "project":
		cols, err := p.namedExprs(false)
		if err != nil {
			return nil, err
		}
		return &ProjectOp{At: t.pos, Columns: cols}, nil
	case "extend":
		cols, err := p.namedExprs(false)
		if err != nil {
			return nil, err
		}
		return &ExtendOp{At: t.pos, Columns: cols}, nil
	case "sort", "order":
		if err := p.expectKeyword("by"); err != nil {
			return nil, err
		}
		keys, err := p.sortKeys()
		if err != nil {
			return nil, err
		}
		return &SortOp{At: t.pos, Keys: keys}, nil
	case "top":
		n, err := p.expr()
		if err != nil {
			return nil, err
		}
		if err := p.expectKeyword("by"); err != nil {
			return nil, err
		}
		keys, err := p.sortKeys()
		if err != nil {
			return nil, err
		}
		return &TopOp{At: t.pos, Count: n, Keys: keys}, nil
	case "summarize":
		op := &SummarizeOp{At: t.pos}
		if !p.isKeyword("by") {
			aggs, err := p.namedExprs(true)
			if err != nil {
				return nil, err
			}
			op.Aggregates = aggs
		}
		if p.isKeyword("by") {
			p.advance()
			by, err := p.namedExprs(false)
			if err != nil {
				return nil, err
			}
			op.By = by
		}
		if len(op.Aggregates) == 0 && len(op.By) == 0 {
			nt := p.peek()
			return nil, syntaxErr(nt.pos, "summarize needs an aggregate or a 'by' clause")
		}
		return op, nil
	}
	return nil, syntaxErr(t.pos, "unknown or unsupported operator '%s'", t.text)
}

// namedExprs reads "[name =] expr, ..." stopping before 'by' when
// stopAtBy is set.
func (p *parser) namedExprs(stopAtBy bool) ([]NamedExpr, error) {
	var out []NamedExpr
	for {
		if stopAtBy && p.isKeyword("by") {
			break
		}
		var ne NamedExpr
		t := p.peek()
		if names, ok := p.tupleNames(); ok {
			ne.Names = names // funcs_series.go: (a, b) = f(...)
		}
		switch {
		case ne.Names != nil:
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
		e, err := p.expr()
		if err != nil {
			return nil, err
		}
		ne.Expr = e
		out = append(out, ne)
		if !p.isPunct(",") {
			break
		}
		p.advance()
	}
	return out, nil
}

func (p *parser) sortKeys() ([]SortKey, error) {
	var keys []SortKey
	for {
		e, err := p.expr()
		if err != nil {
			return nil, err
		}
		k := SortKey{Expr: e}
		switch {
		case p.isKeyword("asc"):
			p.advance()
			k.Asc = true
		case p.isKeyword("desc"):
			p.advance()
		}
		k.NullsFirst = k.Asc
		if p.isKeyword("nulls") {
			p.advance()
			switch {
			case p.isKeyword("first"):
				k.NullsFirst = true
			case p.isKeyword("last"):
				k.NullsFirst = false
			default:
				t := p.peek()
				return nil, syntaxErr(t.pos, "expected 'first' or 'last' after 'nulls' but found %s", describe(t))
			}
			p.advance()
		}
		keys = append(keys, k)
		if !p.isPunct(",") {
			return keys, nil
		}
		p.advance()
	}
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > maxDepth {
		return syntaxErr(p.peek().pos, "expression nested too deeply")
	}
	return nil
}

func (p *parser) leave() { p.depth-- }

func (p *parser) expr() (Expr, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	return p.orExpr()
}

func (p *parser) orExpr() (Expr, error) {
	left, err := p.andExpr()
	if err != nil {
		return nil, err
	}
	for p.isKeyword("or") {
		t := p.advance()
		right, err := p.andExpr()
		if err != nil {
			return nil, err
		}
		left = &BinaryExpr{At: t.pos, Op: "or", Left: left, Right: right}
	}
	return left, nil
}

func (p *parser) andExpr() (Expr, error) {
	left, err := p.cmpExpr()
	if err != nil {
		return nil, err
	}
	for p.isKeyword("and") {
		t := p.advance()
		right, err := p.cmpExpr()
		if err != nil {
			return nil, err
		}
		left = &BinaryExpr{At: t.pos, Op: "and", Left: left, Right: right}
	}
	return left, nil
}

// stringOps are the string operators written as words.
var stringOps = map[string]bool{
	"has": true, "contains": true, "startswith": true, "endswith": true,
	"has_cs": true, "contains_cs": true, "startswith_cs": true, "endswith_cs": true,
}

var comparisonPuncts = map[string]bool{
	"==": true, "!=": true, "<>": true, "<": true, "<=": true, ">": true, ">=": true, "=~": true, "!~": true,
}

func (p *parser) cmpExpr() (Expr, error) {
	left, err := p.addExpr()
	if err != nil {
		return nil, err
	}
	t := p.peek()
	negated := false
	opTok := t
	if t.kind == tokPunct && t.text == "!" {
		nt := p.peekAt(1)
		if nt.kind == tokIdent && (stringOps[nt.text] || nt.text == "in" || nt.text == "between" || moreNegatable[nt.text]) && nt.pos.Offset == t.pos.Offset+1 {
			p.advance()
			negated = true
			t = p.peek()
		} else {
			return nil, syntaxErr(t.pos, "unexpected '!'")
		}
	}
	if e, ok, err := p.cmpMore(left, t, opTok, negated); ok {
		return e, err // exprs_more.go
	}
	switch {
	case t.kind == tokPunct && comparisonPuncts[t.text]:
		p.advance()
		right, err := p.addExpr()
		if err != nil {
			return nil, err
		}
		op := t.text
		if op == "<>" {
			op = "!="
		}
		return &BinaryExpr{At: t.pos, Op: op, Left: left, Right: right}, nil
	case t.kind == tokIdent && stringOps[t.text]:
		p.advance()
		right, err := p.addExpr()
		if err != nil {
			return nil, err
		}
		op := t.text
		if negated {
			op = "!" + op
		}
		return &BinaryExpr{At: opTok.pos, Op: op, Left: left, Right: right}, nil
	case t.kind == tokIdent && t.text == "in":
		p.advance()
		ci := false
		if p.isPunct("~") && p.peek().pos.Offset == t.pos.Offset+2 {
			p.advance()
			ci = true
		}
		if _, err := p.expectPunct("("); err != nil {
			return nil, err
		}
		var list []Expr
		for !p.isPunct(")") {
			e, err := p.expr()
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
		return &InExpr{At: opTok.pos, X: left, List: list, Negated: negated, CaseInsensitive: ci}, nil
	case t.kind == tokIdent && t.text == "between":
		p.advance()
		if _, err := p.expectPunct("("); err != nil {
			return nil, err
		}
		lo, err := p.addExpr()
		if err != nil {
			return nil, err
		}
		if _, err := p.expectPunct(".."); err != nil {
			return nil, err
		}
		hi, err := p.addExpr()
		if err != nil {
			return nil, err
		}
		if _, err := p.expectPunct(")"); err != nil {
			return nil, err
		}
		return &BetweenExpr{At: opTok.pos, X: left, Lo: lo, Hi: hi, Negated: negated}, nil
	}
	return left, nil
}

func (p *parser) addExpr() (Expr, error) {
	left, err := p.mulExpr()
	if err != nil {
		return nil, err
	}
	for p.isPunct("+") || p.isPunct("-") {
		t := p.advance()
		right, err := p.mulExpr()
		if err != nil {
			return nil, err
		}
		left = &BinaryExpr{At: t.pos, Op: t.text, Left: left, Right: right}
	}
	return left, nil
}

func (p *parser) mulExpr() (Expr, error) {
	left, err := p.unary()
	if err != nil {
		return nil, err
	}
	for p.isPunct("*") || p.isPunct("/") || p.isPunct("%") {
		t := p.advance()
		right, err := p.unary()
		if err != nil {
			return nil, err
		}
		left = &BinaryExpr{At: t.pos, Op: t.text, Left: left, Right: right}
	}
	return left, nil
}

func (p *parser) unary() (Expr, error) {
	if p.isPunct("-") || p.isPunct("+") {
		if err := p.enter(); err != nil {
			return nil, err
		}
		defer p.leave()
		t := p.advance()
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		// Fold a sign into a numeric literal so that -1 is a literal.
		if lit, ok := x.(*Literal); ok && t.text == "-" && lit.Value != nil {
			switch v := lit.Value.(type) {
			case int64:
				if lit.Type != TypeDatetime {
					return &Literal{At: t.pos, Type: lit.Type, Value: -v}, nil
				}
			case float64:
				return &Literal{At: t.pos, Type: lit.Type, Value: -v}, nil
			}
		}
		return &UnaryExpr{At: t.pos, Op: t.text, X: x}, nil
	}
	return p.postfix() // dynamic.go: primary with .name, ["name"], [i]
}

func (p *parser) primary() (Expr, error) {
	t := p.peek()
	switch t.kind {
	case tokString:
		p.advance()
		return &Literal{At: t.pos, Type: TypeString, Value: t.text}, nil
	case tokLong:
		p.advance()
		v, err := strconv.ParseInt(t.text, 0, 64)
		if err != nil {
			return nil, syntaxErr(t.pos, "invalid long literal '%s'", t.text)
		}
		return &Literal{At: t.pos, Type: TypeLong, Value: v}, nil
	case tokReal:
		p.advance()
		v, err := strconv.ParseFloat(t.text, 64)
		if err != nil {
			return nil, syntaxErr(t.pos, "invalid real literal '%s'", t.text)
		}
		return &Literal{At: t.pos, Type: TypeReal, Value: v}, nil
	case tokTimespan:
		p.advance()
		d, err := parseTimespanLiteral(t.text)
		if err != nil {
			return nil, literalErr(t.pos, "timespan", t.text, err)
		}
		return &Literal{At: t.pos, Type: TypeTimespan, Value: d}, nil
	case tokTyped:
		p.advance()
		return typedLiteral(t)
	case tokIdent:
		p.advance()
		if p.isPunct("(") {
			return p.call(t)
		}
		switch t.text {
		case "true":
			return &Literal{At: t.pos, Type: TypeBool, Value: true}, nil
		case "false":
			return &Literal{At: t.pos, Type: TypeBool, Value: false}, nil
		}
		return &Ident{At: t.pos, Name: t.text}, nil
	case tokPunct:
		switch t.text {
		case "(":
			p.advance()
			e, err := p.expr()
			if err != nil {
				return nil, err
			}
			if _, err := p.expectPunct(")"); err != nil {
				return nil, err
			}
			return e, nil
		case "[":
			name, err := p.bracketName()
			if err != nil {
				return nil, err
			}
			return &Ident{At: t.pos, Name: name}, nil
		}
	}
	return nil, syntaxErr(t.pos, "expected an expression but found %s", describe(t))
}

func (p *parser) call(name token) (Expr, error) {
	if e, ok, err := p.callMore(name); ok {
		return e, err // exprs_more.go: dynamic(...), tabular arguments
	}
	p.advance() // (
	c := &CallExpr{At: name.pos, Name: name.text}
	for !p.isPunct(")") {
		e, err := p.callArg() // exprs_more.go: also *
		if err != nil {
			return nil, err
		}
		c.Args = append(c.Args, e)
		if !p.isPunct(",") {
			break
		}
		p.advance()
	}
	if _, err := p.expectPunct(")"); err != nil {
		return nil, err
	}
	return c, nil
}

// literalErr reports a datetime or timespan literal that is malformed or
// out of range.
func literalErr(at Position, typ, raw string, err error) *Error {
	if errors.Is(err, errOutOfRange) {
		if typ == "datetime" {
			return syntaxErr(at, "datetime literal '%s' is out of range: a datetime lies between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.9999999Z", raw)
		}
		return syntaxErr(at, "%s literal '%s' is out of range: a timespan lies within ±10675199.02:48:05.4775807", typ, raw)
	}
	return syntaxErr(at, "invalid %s literal '%s'", typ, raw)
}

// typedLiteral interprets datetime(...), timespan(...), guid(...), etc.
func typedLiteral(t token) (Expr, error) {
	raw := t.text
	null := raw == "null"
	var typ Type
	switch t.typ {
	case "datetime":
		typ = TypeDatetime
	case "timespan", "time":
		typ = TypeTimespan
	case "guid":
		typ = TypeGUID
	case "long":
		typ = TypeLong
	case "int":
		typ = TypeInt
	case "real", "double":
		typ = TypeReal
	case "bool", "boolean":
		typ = TypeBool
	}
	lit := &Literal{At: t.pos, Type: typ}
	if null {
		return lit, nil
	}
	bad := func() (Expr, error) {
		return nil, syntaxErr(t.pos, "invalid %s literal '%s'", t.typ, raw)
	}
	switch typ {
	case TypeDatetime:
		ticks, err := parseDatetime(raw)
		if err != nil {
			return nil, literalErr(t.pos, t.typ, raw, err)
		}
		lit.Value = ticks
	case TypeTimespan:
		d, err := parseTimespanLiteral(raw)
		if errors.Is(err, errBadLiteral) {
			d, err = parseTimespanClock(raw)
		}
		if err != nil {
			return nil, literalErr(t.pos, t.typ, raw, err)
		}
		lit.Value = d
	case TypeGUID:
		g, ok := parseGUID(raw)
		if !ok {
			return bad()
		}
		lit.Value = g
	case TypeLong, TypeInt:
		v, err := strconv.ParseInt(raw, 0, 64)
		if err != nil || (typ == TypeInt && (v < math.MinInt32 || v > math.MaxInt32)) {
			return bad()
		}
		lit.Value = v
	case TypeReal:
		v, err := strconv.ParseFloat(raw, 64)
		if err != nil {
			return bad()
		}
		lit.Value = v
	case TypeBool:
		switch strings.ToLower(raw) {
		case "true", "1":
			lit.Value = true
		case "false", "0":
			lit.Value = false
		default:
			return bad()
		}
	}
	return lit, nil
}

// parseGUID accepts 32 hex digits with or without the usual dashes and
// returns the canonical lower-case dashed form.
func parseGUID(s string) (string, bool) {
	h := strings.ReplaceAll(s, "-", "")
	if len(h) != 32 {
		return "", false
	}
	for i := 0; i < len(h); i++ {
		if strings.IndexByte("0123456789abcdefABCDEF", h[i]) < 0 {
			return "", false
		}
	}
	h = strings.ToLower(h)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:], true
}
