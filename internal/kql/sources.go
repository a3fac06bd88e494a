package kql

import (
	"errors"
	"math"
	"strconv"
	"strings"
)

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
	case t.text == "search" && !isP("(") && !isP("|") && p.peek().kind != tokEOF:
		err = p.searchSource(t, q) // search.go
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
		if err == nil && t.text == "workspace" && p.isPunct(".") {
			q.Source.Name, err = p.workspaceTable(cs) // workspace.go
			q.Input = nil
		}
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
	if t.kind == tokPunct && t.text == "*" {
		p.advance()
		return &Query{Source: &TableRef{Name: "*", At: t.pos}}, nil
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

// datatable compiles a datatable into a constant table.
func (env *letEnv) datatable(d *DatatableSource) (*Plan, error) {
	nc := len(d.Columns)
	if nc == 0 {
		return nil, semanticErr(d.At, "datatable: no columns")
	}
	if len(d.Values)%nc != 0 {
		return nil, semanticErr(d.At, "datatable: %d values do not fill rows of %d columns", len(d.Values), nc)
	}
	schema := make([]column, nc)
	seen := map[string]bool{}
	for i, cd := range d.Columns {
		if seen[cd.Name] {
			return nil, semanticErr(d.At, "datatable: column '%s' is declared twice", cd.Name)
		}
		seen[cd.Name] = true
		schema[i] = column{cd.Name, cd.Type}
	}
	t := newTable(schema)
	c := env.compiler(nil)
	for k, v := range d.Values {
		ce, err := c.expr(v)
		if err != nil {
			return nil, err
		}
		kc, ok := ce.(*constNode)
		if !ok {
			return nil, semanticErr(v.Pos(), "datatable: values must be constants")
		}
		col := schema[k%nc]
		s, ok := convertConst(kc, col.t)
		if !ok {
			return nil, semanticErr(v.Pos(), "datatable: column '%s' is of type %s, not %s", col.name, col.t, kc.t)
		}
		appendScalar(t.cols[k%nc], k/nc, s)
	}
	t.n = len(d.Values) / nc
	return genPlan("datatable", &tableSource{t: t}, schema), nil
}

// oneRow is the source of print: one row without columns.
type oneRow struct{}

func (oneRow) run(env *runEnv, a *arena, next operator) error {
	_, err := next.push(a, &chunk{n: 1})
	return err
}

// print compiles print as a projection of one empty row. Unnamed
// expressions are named print_0, print_1, ... as in Kusto.
func (env *letEnv) print(ps *PrintSource) (*Plan, error) {
	cols := make([]NamedExpr, len(ps.Columns))
	n := 0
	for i, ne := range ps.Columns {
		cols[i] = ne
		if ne.Name == "" {
			if _, ok := ne.Expr.(*Ident); !ok {
				cols[i].Name = "print_" + strconv.Itoa(n)
				n++
			}
		}
	}
	c := env.compiler(nil)
	st, err := c.project(cols, false)
	if err != nil {
		return nil, err
	}
	p := genPlan("print", oneRow{}, nil)
	p.stages = []stage{st}
	p.output = st.output(nil)
	return p, nil
}

// rangeSource generates from, from+step, ... up to to inclusive.
type rangeSource struct {
	t              Type
	from, to, step scalar
}

// maxRangeRows bounds the rows of a range, until per-query budgets bound
// every operator.
const maxRangeRows = 1e8

// rangeBatch is the number of rows range pushes at a time.
const rangeBatch = 4096

func (s *rangeSource) run(env *runEnv, a *arena, next operator) error {
	isReal := s.t == TypeReal
	i := int64(0)
	for {
		if err := env.ctx.Err(); err != nil {
			return err
		}
		a.reset()
		v := a.vec(s.t, rangeBatch)
		n := 0
		for n < rangeBatch {
			if isReal {
				x := s.from.f + float64(i)*s.step.f
				if (s.step.f > 0 && x > s.to.f) || (s.step.f < 0 && x < s.to.f) {
					break
				}
				v.Real[n] = x
			} else {
				x := s.from.i + i*s.step.i
				if (s.step.i > 0 && (x > s.to.i || x < s.from.i)) || (s.step.i < 0 && (x < s.to.i || x > s.from.i)) {
					break
				}
				v.Int[n] = x
			}
			n++
			i++
		}
		if n == 0 {
			return nil
		}
		more, err := next.push(a, &chunk{n: n, cols: []*Vector{v}})
		if err != nil || !more || n < rangeBatch {
			return err
		}
	}
}

func (env *letEnv) rangePlan(r *RangeSource) (*Plan, error) {
	c := env.compiler(nil)
	var ks [3]*constNode
	for i, e := range []Expr{r.From, r.To, r.StepVal} {
		ce, err := c.expr(e)
		if err != nil {
			return nil, err
		}
		k, ok := ce.(*constNode)
		if !ok || k.v.null {
			return nil, semanticErr(e.Pos(), "range: the bounds and the step must be non-null constants")
		}
		ks[i] = k
	}
	from, to, step := ks[0], ks[1], ks[2]
	src := &rangeSource{}
	switch {
	case from.t.isNumeric() && to.t.isNumeric() && step.t.isNumeric():
		src.t = TypeLong
		if from.t == TypeReal || to.t == TypeReal || step.t == TypeReal {
			src.t = TypeReal
		}
	case from.t == TypeDatetime && to.t == TypeDatetime && step.t == TypeTimespan:
		src.t = TypeDatetime
	case from.t == TypeTimespan && to.t == TypeTimespan && step.t == TypeTimespan:
		src.t = TypeTimespan
	default:
		return nil, semanticErr(r.At, "range: cannot range from %s to %s by %s", from.t, to.t, step.t)
	}
	conv := func(k *constNode) scalar {
		s, _ := convertConst(k, src.t)
		return s
	}
	src.from, src.to, src.step = conv(from), conv(to), conv(step)
	if (src.t == TypeReal && (src.step.f == 0 || math.IsNaN(src.step.f))) || (src.t != TypeReal && src.step.i == 0) {
		return nil, semanticErr(r.StepVal.Pos(), "range: the step must not be zero")
	}
	var rows float64
	if src.t == TypeReal {
		rows = (src.to.f - src.from.f) / src.step.f
	} else {
		rows = (float64(src.to.i) - float64(src.from.i)) / float64(src.step.i)
	}
	if rows > maxRangeRows {
		return nil, semanticErr(r.At, "range: more than %d rows", int64(maxRangeRows))
	}
	return genPlan("range", src, []column{{r.Name, src.t}}), nil
}

// union compiles a union of legs; with input, the input pipeline is the
// first leg (T | union U).
func (env *letEnv) union(u *UnionSource, input *Plan) (*Plan, error) {
	var legs []*Plan
	var names []string
	if input != nil {
		legs = append(legs, input)
		names = append(names, input.table.Name)
	}
	legs0, err := env.expandWildcards(u.Legs) // tablelist.go
	if err != nil {
		return nil, err
	}
	for i, leg := range legs0 {
		p, err := env.plan(leg)
		if err != nil {
			var ke *Error
			if u.Fuzzy && errors.As(err, &ke) && strings.HasPrefix(ke.Message, "Failed to resolve table") {
				continue
			}
			return nil, err
		}
		legs = append(legs, p)
		name := "union_arg" + strconv.Itoa(i)
		if leg.Input == nil && len(leg.Operators) == 0 {
			name = leg.Source.Name
		}
		names = append(names, name)
	}
	if len(legs) == 0 {
		return nil, semanticErr(u.At, "union: no table of the union exists")
	}
	return unionPlan(legs, names, u.WithSource, u.Inner), nil
}
