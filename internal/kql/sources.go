package kql

import "strings"

// Tabular sources other than a table: datatable, print, range, union,
// materialize, a call of a let function, a parenthesised subquery and
// externaldata (parsed, refused by Compile).

// Tabular is the source of a query that is not a stored table.
type Tabular interface {
	Pos() Position
	tabularNode()
}

// DatatableSource is datatable(col: type, ...) [v, v, ...].
type DatatableSource struct {
	At      Position
	Columns []ColumnDef
	Values  []Expr
}

// PrintSource is print [name =] expr, ...: one row.
type PrintSource struct {
	At      Position
	Columns []NamedExpr
}

// RangeSource is range name from start to stop step step.
type RangeSource struct {
	At                Position
	Name              string
	From, To, StepVal Expr
}

// CallSource calls a let function (or materialize) as a source.
type CallSource struct {
	At   Position
	Name string
	Args []Expr
}

// MaterializeSource is materialize(tabular): computed once per run.
type MaterializeSource struct {
	At    Position
	Query *Query
}

// UnionSource is union [options] T1, T2, ... as the first statement.
type UnionSource struct {
	At         Position
	Legs       []*Query
	WithSource string // column naming each row's table; empty when absent
	Fuzzy      bool   // isfuzzy=true: missing tables are skipped
	Inner      bool   // kind=inner: only the columns common to all legs
}

// ExternalDataSource is externaldata(...) [...]: reading external storage
// is not supported; Compile says so.
type ExternalDataSource struct {
	At Position
}

// Pos returns the position of the DatatableSource.
func (s *DatatableSource) Pos() Position { return s.At }

// Pos returns the position of the PrintSource.
func (s *PrintSource) Pos() Position { return s.At }

// Pos returns the position of the RangeSource.
func (s *RangeSource) Pos() Position { return s.At }

// Pos returns the position of the CallSource.
func (s *CallSource) Pos() Position { return s.At }

// Pos returns the position of the MaterializeSource.
func (s *MaterializeSource) Pos() Position { return s.At }

// Pos returns the position of the UnionSource.
func (s *UnionSource) Pos() Position { return s.At }

// Pos returns the position of the ExternalDataSource.
func (s *ExternalDataSource) Pos() Position { return s.At }

// Pos returns the position of the Query's source.
func (q *Query) Pos() Position {
	if q.Input != nil {
		return q.Input.Pos()
	}
	if q.Source != nil {
		return q.Source.At
	}
	return Position{Line: 1}
}

func (*DatatableSource) tabularNode()    {}
func (*PrintSource) tabularNode()        {}
func (*RangeSource) tabularNode()        {}
func (*CallSource) tabularNode()         {}
func (*MaterializeSource) tabularNode()  {}
func (*UnionSource) tabularNode()        {}
func (*ExternalDataSource) tabularNode() {}
func (*Query) tabularNode()              {}

// tabularSource parses the source of a tabular expression.
func (p *parser) tabularSource() (*Query, error) {
	t := p.peek()
	q := &Query{Source: &TableRef{At: t.pos}}
	isP := func(s string) bool { return p.isPunct(s) }
	switch {
	case t.kind == tokPunct && t.text == "(":
		p.advance()
		sub, err := p.tabular()
		if err != nil {
			return nil, err
		}
		if _, err := p.expectPunct(")"); err != nil {
			return nil, err
		}
		q.Input = sub
		return q, nil
	case t.kind == tokPunct && t.text == "[":
		name, err := p.bracketName()
		if err != nil {
			return nil, err
		}
		q.Source.Name = name
		return q, nil
	case t.kind != tokIdent:
		return nil, syntaxErr(t.pos, "expected a table name but found %s", describe(t))
	}
	p.advance()
	var err error
	switch {
	case t.text == "datatable" && isP("("):
		q.Input, err = p.datatable(t)
	case t.text == "print":
		q.Input, err = p.print(t)
	case t.text == "range" && p.peek().kind == tokIdent:
		q.Input, err = p.rangeSource(t)
	case t.text == "union":
		q.Input, err = p.union(t)
	case t.text == "externaldata" && isP("("):
		q.Input, err = p.externaldata(t)
	case t.text == "materialize" && isP("("):
		p.advance()
		var sub *Query
		if sub, err = p.tabular(); err == nil {
			_, err = p.expectPunct(")")
		}
		q.Input = &MaterializeSource{At: t.pos, Query: sub}
	case isP("("):
		p.advance()
		cs := &CallSource{At: t.pos, Name: t.text}
		for err == nil && !p.isPunct(")") {
			var e Expr
			if e, err = p.callArg(); err != nil {
				break
			}
			cs.Args = append(cs.Args, e)
			if !p.isPunct(",") {
				break
			}
			p.advance()
		}
		if err == nil {
			_, err = p.expectPunct(")")
		}
		q.Source.Name = t.text
		q.Input = cs
	default:
		q.Source.Name = t.text
	}
	if err != nil {
		return nil, err
	}
	return q, nil
}

// schemaList parses "(name: type, ...)".
func (p *parser) schemaList() ([]ColumnDef, error) {
	if _, err := p.expectPunct("("); err != nil {
		return nil, err
	}
	var cols []ColumnDef
	for !p.isPunct(")") {
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
			return nil, syntaxErr(t.pos, "expected a column name but found %s", describe(t))
		}
		if _, err := p.expectPunct(":"); err != nil {
			return nil, err
		}
		tt := p.peek()
		typ, ok := ParseType(tt.text)
		if tt.kind != tokIdent || !ok {
			return nil, syntaxErr(tt.pos, "expected a column type but found %s", describe(tt))
		}
		p.advance()
		cols = append(cols, ColumnDef{Name: name, Type: typ})
		if !p.isPunct(",") {
			break
		}
		p.advance()
	}
	if _, err := p.expectPunct(")"); err != nil {
		return nil, err
	}
	return cols, nil
}

func (p *parser) datatable(t token) (Tabular, error) {
	cols, err := p.schemaList()
	if err != nil {
		return nil, err
	}
	if _, err := p.expectPunct("["); err != nil {
		return nil, err
	}
	d := &DatatableSource{At: t.pos, Columns: cols}
	for !p.isPunct("]") {
		e, err := p.expr()
		if err != nil {
			return nil, err
		}
		d.Values = append(d.Values, e)
		if !p.isPunct(",") {
			break
		}
		p.advance()
	}
	if _, err := p.expectPunct("]"); err != nil {
		return nil, err
	}
	return d, nil
}

func (p *parser) print(t token) (Tabular, error) {
	cols, err := p.namedExprs(false)
	if err != nil {
		return nil, err
	}
	return &PrintSource{At: t.pos, Columns: cols}, nil
}

func (p *parser) rangeSource(t token) (Tabular, error) {
	r := &RangeSource{At: t.pos, Name: p.advance().text}
	var err error
	if err = p.expectKeyword("from"); err != nil {
		return nil, err
	}
	if r.From, err = p.expr(); err != nil {
		return nil, err
	}
	if err = p.expectKeyword("to"); err != nil {
		return nil, err
	}
	if r.To, err = p.expr(); err != nil {
		return nil, err
	}
	if err = p.expectKeyword("step"); err != nil {
		return nil, err
	}
	if r.StepVal, err = p.expr(); err != nil {
		return nil, err
	}
	return r, nil
}

// union parses "[kind=inner|outer] [withsource=Name] [isfuzzy=bool] legs".
func (p *parser) union(t token) (*UnionSource, error) {
	u := &UnionSource{At: t.pos}
	for p.peek().kind == tokIdent && p.peekAt(1).kind == tokPunct && p.peekAt(1).text == "=" {
		opt := strings.ToLower(p.advance().text)
		p.advance() // =
		v := p.advance()
		switch opt {
		case "withsource":
			u.WithSource = v.text
		case "isfuzzy":
			u.Fuzzy = v.text == "true"
		case "kind":
			u.Inner = v.text == "inner"
		}
	}
	for {
		leg, err := p.unionLeg()
		if err != nil {
			return nil, err
		}
		u.Legs = append(u.Legs, leg)
		if !p.isPunct(",") {
			break
		}
		p.advance()
	}
	return u, nil
}

// unionLeg reads a table name (possibly with a * wildcard) or a
// parenthesised tabular expression.
func (p *parser) unionLeg() (*Query, error) {
	t := p.peek()
	if t.kind == tokPunct && t.text == "(" {
		p.advance()
		q, err := p.tabular()
		if err != nil {
			return nil, err
		}
		if _, err := p.expectPunct(")"); err != nil {
			return nil, err
		}
		return q, nil
	}
	if t.kind == tokIdent {
		p.advance()
		name := t.text
		if p.isPunct("*") && p.peek().pos.Offset == t.pos.Offset+len(t.text) {
			p.advance()
			name += "*"
		}
		if p.isPunct("(") {
			// A call of a tabular function.
			p.i--
			return p.tabularSource()
		}
		return &Query{Source: &TableRef{Name: name, At: t.pos}}, nil
	}
	if t.kind == tokPunct && t.text == "[" {
		name, err := p.bracketName()
		if err != nil {
			return nil, err
		}
		return &Query{Source: &TableRef{Name: name, At: t.pos}}, nil
	}
	return nil, syntaxErr(t.pos, "expected a table or a parenthesised query in union but found %s", describe(t))
}

// externaldata parses externaldata(schema) [urls] [with (options)].
func (p *parser) externaldata(t token) (Tabular, error) {
	if _, err := p.schemaList(); err != nil {
		return nil, err
	}
	if err := p.skipGroup("[", "]"); err != nil {
		return nil, err
	}
	if p.isKeyword("with") {
		p.advance()
		if err := p.skipGroup("(", ")"); err != nil {
			return nil, err
		}
	}
	return &ExternalDataSource{At: t.pos}, nil
}

// skipGroup skips a bracketed group of tokens, nested brackets included.
func (p *parser) skipGroup(open, close string) error {
	if _, err := p.expectPunct(open); err != nil {
		return err
	}
	depth := 1
	for depth > 0 {
		tk := p.advance()
		switch {
		case tk.kind == tokEOF:
			return syntaxErr(tk.pos, "expected '%s' but found end of query", close)
		case tk.kind == tokPunct && tk.text == open:
			depth++
		case tk.kind == tokPunct && tk.text == close:
			depth--
		}
	}
	return nil
}
