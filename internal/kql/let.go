package kql

// Let statements and the query's statement list.
//
//	let name = scalar-expression;
//	let name = tabular-expression;        (materialize(T) caches it per run)
//	let f = (a: string, b: long = 5, T: (*)) { [let ...;] expression };
//	tabular-expression
//
// A let binds a name in the statements that follow it. A scalar let is
// compiled where it is used, in the scope it was defined in, so constants
// fold (and ago(x) still pushes a time range down). A tabular let is
// compiled into a sub-plan at each reference. A let function binds its
// arguments as lets of its parameters' names in the body.

// LetStmt is a let statement. Exactly one of Expr, Query and Func is set.
type LetStmt struct {
	At    Position
	Name  string
	Expr  Expr     // a scalar value
	Query *Query   // a tabular value
	Func  *FuncDef // a function
}

// FuncDef is the value of a let function: (params) { body }.
type FuncDef struct {
	Params []Param
	Lets   []*LetStmt // the body's let statements
	Expr   Expr       // the body's value when scalar
	Query  *Query     // the body's value when tabular
}

// Param is a parameter of a let function.
type Param struct {
	Name    string
	Type    Type // TypeInvalid for a tabular parameter
	Tabular bool
	Default Expr // nil when the parameter has none
}

// isPlainTableQuery reports whether the query is a table name and
// operators, the form parsed by parser.query without statements.
func (p *parser) isPlainTableQuery() bool {
	t := p.peek()
	switch {
	case t.kind == tokEOF || t.kind == tokPunct && t.text == "[":
		return true
	case t.kind != tokIdent:
		return false
	case t.text == "let" || t.text == "set" || t.text == "declare" || tabularKeywords[t.text]:
		return false
	}
	n := p.peekAt(1)
	return !(n.kind == tokPunct && n.text == "(")
}

// tabularKeywords start a tabular expression that is not a table name.
var tabularKeywords = map[string]bool{
	"datatable": true, "print": true, "range": true, "union": true,
	"materialize": true, "externaldata": true, "view": true,
}

// statements parses let (and set) statements followed by a tabular
// expression.
func (p *parser) statements() (*Query, error) {
	var lets []*LetStmt
	for {
		for p.isPunct(";") {
			p.advance()
		}
		switch {
		case p.isKeyword("let"):
			ls, err := p.letStmt()
			if err != nil {
				return nil, err
			}
			lets = append(lets, ls)
			if !p.isPunct(";") && p.peek().kind != tokEOF {
				t := p.peek()
				return nil, syntaxErr(t.pos, "expected ';' after the let statement but found %s", describe(t))
			}
			continue
		case p.isKeyword("set") || p.isKeyword("declare"):
			// Request options and query parameters declarations: skipped.
			for !p.isPunct(";") && p.peek().kind != tokEOF {
				p.advance()
			}
			continue
		}
		break
	}
	if p.peek().kind == tokEOF {
		return nil, syntaxErr(p.peek().pos, "expected a tabular expression after the let statements")
	}
	q, err := p.tabular()
	if err != nil {
		return nil, err
	}
	q.Lets = lets
	for p.isPunct(";") {
		p.advance()
	}
	if t := p.peek(); t.kind != tokEOF {
		return nil, syntaxErr(t.pos, "unexpected %s; expected '|' or end of query", describe(t))
	}
	return q, nil
}

// letStmt parses "let name = value".
func (p *parser) letStmt() (*LetStmt, error) {
	at := p.advance().pos // let
	t := p.peek()
	var name string
	switch {
	case t.kind == tokIdent:
		p.advance()
		name = t.text
	case t.kind == tokPunct && t.text == "[":
		n, err := p.bracketName()
		if err != nil {
			return nil, err
		}
		name = n
	default:
		return nil, syntaxErr(t.pos, "expected a name after 'let' but found %s", describe(t))
	}
	if _, err := p.expectPunct("="); err != nil {
		return nil, err
	}
	ls := &LetStmt{At: at, Name: name}
	if p.isKeyword("view") && p.peekAt(1).kind == tokPunct && p.peekAt(1).text == "(" {
		p.advance()
	}
	if p.isFuncDef() {
		f, err := p.funcDef()
		if err != nil {
			return nil, err
		}
		ls.Func = f
		return ls, nil
	}
	if p.looksTabular() {
		q, err := p.tabular()
		if err != nil {
			return nil, err
		}
		ls.Query = q
		return ls, nil
	}
	e, err := p.expr()
	if err != nil {
		return nil, err
	}
	if p.isPunct("|") {
		// f(x) | ...: a call of a tabular function.
		call, ok := e.(*CallExpr)
		if !ok {
			t := p.peek()
			return nil, syntaxErr(t.pos, "unexpected '|' after a scalar expression")
		}
		q := &Query{Source: &TableRef{Name: call.Name, At: call.At}, Input: &CallSource{At: call.At, Name: call.Name, Args: call.Args}}
		if err := p.pipe(q); err != nil {
			return nil, err
		}
		ls.Query = q
		return ls, nil
	}
	ls.Expr = e
	return ls, nil
}

// isFuncDef reports whether a function definition "(params) {" follows.
func (p *parser) isFuncDef() bool {
	if !p.isPunct("(") {
		return false
	}
	a, b := p.peekAt(1), p.peekAt(2)
	if a.kind == tokPunct && a.text == ")" {
		return b.kind == tokPunct && b.text == "{"
	}
	return a.kind == tokIdent && b.kind == tokPunct && b.text == ":"
}

func (p *parser) funcDef() (*FuncDef, error) {
	p.advance() // (
	f := &FuncDef{}
	for !p.isPunct(")") {
		t := p.peek()
		if t.kind != tokIdent {
			return nil, syntaxErr(t.pos, "expected a parameter name but found %s", describe(t))
		}
		p.advance()
		if _, err := p.expectPunct(":"); err != nil {
			return nil, err
		}
		par := Param{Name: t.text}
		if p.isPunct("(") {
			// A tabular parameter: (*) or (col: type, ...).
			par.Tabular = true
			depth := 0
			for {
				tk := p.advance()
				if tk.kind == tokEOF {
					return nil, syntaxErr(tk.pos, "unterminated tabular parameter schema")
				}
				if tk.kind == tokPunct && tk.text == "(" {
					depth++
				}
				if tk.kind == tokPunct && tk.text == ")" {
					depth--
					if depth == 0 {
						break
					}
				}
			}
		} else {
			tt := p.peek()
			typ, ok := ParseType(tt.text)
			if tt.kind != tokIdent || !ok {
				return nil, syntaxErr(tt.pos, "expected a parameter type but found %s", describe(tt))
			}
			p.advance()
			par.Type = typ
			if p.isPunct("=") {
				p.advance()
				d, err := p.expr()
				if err != nil {
					return nil, err
				}
				par.Default = d
			}
		}
		f.Params = append(f.Params, par)
		if !p.isPunct(",") {
			break
		}
		p.advance()
	}
	if _, err := p.expectPunct(")"); err != nil {
		return nil, err
	}
	if _, err := p.expectPunct("{"); err != nil {
		return nil, err
	}
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	for {
		for p.isPunct(";") {
			p.advance()
		}
		if !p.isKeyword("let") {
			break
		}
		ls, err := p.letStmt()
		if err != nil {
			return nil, err
		}
		f.Lets = append(f.Lets, ls)
	}
	if p.looksTabular() {
		q, err := p.tabular()
		if err != nil {
			return nil, err
		}
		f.Query = q
	} else {
		e, err := p.expr()
		if err != nil {
			return nil, err
		}
		if p.isPunct("|") {
			call, ok := e.(*CallExpr)
			if !ok {
				return nil, syntaxErr(p.peek().pos, "unexpected '|' after a scalar expression")
			}
			q := &Query{Source: &TableRef{Name: call.Name, At: call.At}, Input: &CallSource{At: call.At, Name: call.Name, Args: call.Args}}
			if err := p.pipe(q); err != nil {
				return nil, err
			}
			f.Query = q
		} else {
			f.Expr = e
		}
	}
	for p.isPunct(";") {
		p.advance()
	}
	if _, err := p.expectPunct("}"); err != nil {
		return nil, err
	}
	return f, nil
}

// looksTabular reports whether a tabular expression (rather than a
// scalar one) starts here. A bare name is taken as tabular; Compile
// resolves it to a scalar let when it names one.
func (p *parser) looksTabular() bool {
	t, n := p.peek(), p.peekAt(1)
	isP := func(tk token, s string) bool { return tk.kind == tokPunct && tk.text == s }
	switch {
	case t.kind == tokIdent && tabularKeywords[t.text] && t.text != "view":
		return true
	case t.kind == tokIdent && (t.text == "true" || t.text == "false"):
		return false
	case t.kind == tokIdent:
		return isP(n, "|") || isP(n, ";") || isP(n, "}") || isP(n, ")") || n.kind == tokEOF
	case isP(t, "["):
		return p.peekAt(1).kind == tokString && isP(p.peekAt(2), "]") && (isP(p.peekAt(3), "|") || isP(p.peekAt(3), ";"))
	case isP(t, "("):
		// A parenthesised pipeline: ( name | ... ) or ( ( ...
		n2 := p.peekAt(2)
		return n.kind == tokIdent && (isP(n2, "|") || tabularKeywords[n.text]) || isP(n, "(") && p.parenHoldsPipe()
	}
	return false
}

// parenHoldsPipe reports whether the parenthesised group starting at the
// next token holds a '|' at its own depth or below before it closes.
func (p *parser) parenHoldsPipe() bool {
	depth := 0
	for k := 0; p.i+k < len(p.toks); k++ {
		tk := p.toks[p.i+k]
		if tk.kind != tokPunct {
			continue
		}
		switch tk.text {
		case "(":
			depth++
		case ")":
			depth--
			if depth == 0 {
				return false
			}
		case "|":
			return true
		}
	}
	return false
}

// tabular parses a tabular expression: a source and its operators.
func (p *parser) tabular() (*Query, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	q, err := p.tabularSource()
	if err != nil {
		return nil, err
	}
	if err := p.pipe(q); err != nil {
		return nil, err
	}
	return q, nil
}

// pipe parses "| operator" repeatedly onto q.
func (p *parser) pipe(q *Query) error {
	for p.isPunct("|") {
		p.advance()
		op, err := p.operator()
		if err != nil {
			return err
		}
		q.Operators = append(q.Operators, op)
	}
	return nil
}
