package kql

import (
	"context"
	"errors"
	"strings"
	"time"
)

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
	if t.text == "search" && n.kind != tokEOF && !(n.kind == tokPunct && (n.text == "|" || n.text == ";")) {
		return false // search.go: search as a source
	}
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
	case t.kind == tokIdent && t.text == "search" && (n.kind == tokString || isP(n, "*") ||
		n.kind == tokIdent && (n.text == "in" || n.text == "kind")):
		return true // search.go
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

// builder holds what every plan of one Compile shares.
type builder struct {
	ctx   context.Context
	cat   Catalog
	opts  Options
	mat   map[*MaterializeSource]*Plan
	pre   []*Plan // plans whose rows expressions read (toscalar, in): run first
	depth int     // nesting of let expansions, against runaway recursion
}

// maxLetDepth bounds the nesting of let function calls and tabular let
// references, so that a recursive let fails instead of exhausting the
// stack.
const maxLetDepth = 64

// letEnv is a scope of let bindings: a linked list, innermost first.
type letEnv struct {
	parent *letEnv
	name   string
	bind   *binding
	b      *builder
}

// binding is the value of a let name, or of a let function's parameter.
type binding struct {
	at    Position
	env   *letEnv // where the value is compiled
	expr  Expr
	query *Query
	fn    *FuncDef
	// caller, for a scalar argument of a let function, is the compiler of
	// the call, whose columns the argument may refer to.
	caller *compiler
}

func (e *letEnv) lookup(name string) *binding {
	for x := e; x != nil; x = x.parent {
		if x.bind != nil && x.name == name {
			return x.bind
		}
	}
	return nil
}

func (e *letEnv) with(name string, b *binding) *letEnv {
	return &letEnv{parent: e, name: name, bind: b, b: e.b}
}

func (e *letEnv) bindLets(lets []*LetStmt) *letEnv {
	for _, l := range lets {
		e = e.with(l.Name, &binding{at: l.At, env: e, expr: l.Expr, query: l.Query, fn: l.Func})
	}
	return e
}

// queryNow is the value of now() in the compiled query, in ticks (a time
// outside the datetime range saturates; Compile refuses it anyway).
func queryNow(t time.Time) int64 { return boundTicks(t) }

// Compile resolves the query against the catalog, checks types and builds
// an executable plan. Errors attributable to the query are *Error of kind
// SemanticError; catalog failures other than ErrTableNotFound are returned
// wrapped.
func Compile(ctx context.Context, q *Query, cat Catalog, opts Options) (*Plan, error) {
	if q == nil || q.Source == nil {
		return nil, errors.New("kql: Compile of an empty query")
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now() // one now() for every table of the query
	}
	b := &builder{ctx: ctx, cat: cat, opts: opts, mat: map[*MaterializeSource]*Plan{}}
	env := &letEnv{b: b}
	var late *lateTail
	if i := lateOp(q.Operators); i >= 0 {
		// evaluate_late.go: the operators from the plugin on run late.
		late = &lateTail{op: q.Operators[i].(*EvaluateOp), rest: q.Operators[i+1:], env: env.bindLets(q.Lets)}
		qq := *q
		qq.Operators = q.Operators[:i]
		q = &qq
	}
	p, err := env.plan(q)
	if err != nil {
		return nil, err
	}
	// The plan may be a let's shared plan; give the query its own, with
	// the limits its runs observe (sub-plans run within its budget).
	top := *p
	top.pre = b.pre
	top.limits = opts.Limits.withDefaults()
	top.late = late
	planAll(&top)
	return &top, nil
}

// planAll plans p and every plan it runs that is not planned yet.
func planAll(p *Plan) {
	seen := map[*Plan]bool{}
	var walk func(p *Plan)
	walk = func(p *Plan) {
		if p == nil || seen[p] {
			return
		}
		seen[p] = true
		if !p.planned {
			p.plan()
		}
		for _, sub := range p.subPlans() {
			walk(sub)
		}
		for _, sub := range p.pre {
			walk(sub)
		}
	}
	walk(p)
}

// plan compiles a tabular expression in env.
func (env *letEnv) plan(q *Query) (*Plan, error) {
	b := env.b
	if b.depth++; b.depth > maxLetDepth {
		return nil, semanticErr(q.Pos(), "let statements nested too deeply (is a let function recursive?)")
	}
	defer func() { b.depth-- }()
	env = env.bindLets(q.Lets)
	var base *Plan
	var err error
	switch in := q.Input.(type) {
	case nil:
		name := q.Source.Name
		bnd := env.lookup(name)
		if bnd == nil {
			if strings.Contains(name, "*") {
				return nil, semanticErr(q.Source.At, "table name wildcards ('%s') are not supported", name)
			}
			return compileTable(b.ctx, &Query{Source: q.Source, Operators: q.Operators}, b.cat, b.opts, env)
		}
		base, err = bnd.tabular(q.Source.At, name)
	case *Query:
		base, err = env.plan(in)
	case *DatatableSource:
		base, err = env.datatable(in)
	case *PrintSource:
		base, err = env.print(in)
	case *RangeSource:
		base, err = env.rangePlan(in)
	case *UnionSource:
		base, err = env.union(in, nil)
	case *MaterializeSource:
		base, err = env.materialize(in)
	case *CallSource:
		base, err = env.callTabular(in)
	case *ExternalDataSource:
		return nil, errUnsupported(in.At, "externaldata (reading external storage)")
	default:
		return nil, semanticErr(q.Pos(), "unsupported source %T", in)
	}
	if err != nil {
		return nil, err
	}
	return env.pipeline(base, q.Operators)
}

// pipeline compiles ops over the rows of base.
func (env *letEnv) pipeline(base *Plan, ops []Operator) (*Plan, error) {
	if len(ops) == 0 {
		return base, nil
	}
	var p *Plan
	if base.gen != nil && len(base.stages) == 0 && len(base.pre) == 0 {
		if ps, ok := base.gen.(*planSource); !ok || !ps.cache {
			p = genPlan(base.table.Name, base.gen, base.input)
		}
	}
	if p == nil {
		p = genPlan(base.table.Name, &planSource{p: base}, base.output)
	}
	c := env.compiler(p.input)
	for _, op := range ops {
		c.refs = map[int]bool{}
		st, err := c.operator(op)
		if err != nil {
			return nil, err
		}
		p.stages = append(p.stages, st)
		c.scope = st.output(c.scope)
	}
	p.output = c.scope
	return p, nil
}

// compiler returns a compiler over the columns of scope.
func (env *letEnv) compiler(scope []column) *compiler {
	return &compiler{ctx: env.b.ctx, now: queryNow(env.b.opts.Now), scope: scope, refs: map[int]bool{}, env: env}
}

// tabular compiles the value of a let name used as a table.
func (bnd *binding) tabular(at Position, name string) (*Plan, error) {
	switch {
	case bnd.query != nil:
		return bnd.env.plan(bnd.query)
	case bnd.fn != nil && len(bnd.fn.Params) == 0 && bnd.fn.Query != nil:
		return bnd.env.callFunc(at, name, bnd, nil, nil)
	case bnd.fn != nil:
		return nil, semanticErr(at, "'%s' is a function: call it with its arguments", name)
	}
	return nil, semanticErr(at, "'%s' is a scalar value, not a table", name)
}

// materialize compiles materialize(q) once per Compile; its rows are
// computed once per run.
func (env *letEnv) materialize(m *MaterializeSource) (*Plan, error) {
	p, ok := env.b.mat[m]
	if !ok {
		var err error
		if p, err = env.plan(m.Query); err != nil {
			return nil, err
		}
		env.b.mat[m] = p
	}
	return genPlan("materialize", &planSource{p: p, cache: true}, p.output), nil
}

// callTabular compiles a call of a let function as a source.
func (env *letEnv) callTabular(cs *CallSource) (*Plan, error) {
	bnd := env.lookup(cs.Name)
	if bnd == nil || bnd.fn == nil {
		return nil, semanticErr(cs.At, "Failed to resolve table or function named '%s'", cs.Name)
	}
	if bnd.fn.Query == nil {
		return nil, semanticErr(cs.At, "function '%s' returns a scalar, not a table", cs.Name)
	}
	return env.callFunc(cs.At, cs.Name, bnd, cs.Args, nil)
}

// bindArgs binds a let function's parameters to the arguments of a call
// made in env (with compiler c, for scalar calls) and returns the body's
// scope.
func (env *letEnv) bindArgs(at Position, name string, bnd *binding, args []Expr, c *compiler) (*letEnv, error) {
	fn := bnd.fn
	if len(args) > len(fn.Params) {
		return nil, semanticErr(at, "function '%s' expects %d argument(s), got %d", name, len(fn.Params), len(args))
	}
	fenv := bnd.env
	for i, par := range fn.Params {
		var arg Expr
		argEnv := env
		switch {
		case i < len(args):
			arg = args[i]
		case par.Default != nil:
			arg, argEnv = par.Default, bnd.env
		default:
			return nil, semanticErr(at, "function '%s': no value for parameter '%s'", name, par.Name)
		}
		if par.Tabular {
			var q *Query
			switch a := arg.(type) {
			case *TabularExpr:
				q = a.Query
			case *Ident:
				q = &Query{Source: &TableRef{Name: a.Name, At: a.At}}
			default:
				return nil, semanticErr(arg.Pos(), "function '%s': parameter '%s' expects a table", name, par.Name)
			}
			fenv = fenv.with(par.Name, &binding{at: arg.Pos(), env: argEnv, query: q})
			continue
		}
		fenv = fenv.with(par.Name, &binding{at: arg.Pos(), env: argEnv, expr: arg, caller: c})
	}
	return fenv.bindLets(fn.Lets), nil
}

// callFunc expands a call of a let function with a tabular body.
func (env *letEnv) callFunc(at Position, name string, bnd *binding, args []Expr, c *compiler) (*Plan, error) {
	fenv, err := env.bindArgs(at, name, bnd, args, c)
	if err != nil {
		return nil, err
	}
	return fenv.plan(bnd.fn.Query)
}

// identMore resolves a name that is not a column: a scalar let, or a
// parameter of the let function being expanded.
func (c *compiler) identMore(e *Ident) (cexpr, error) {
	var bnd *binding
	if c.env != nil {
		bnd = c.env.lookup(e.Name)
	}
	if bnd == nil {
		return nil, semanticErr(e.At, "Failed to resolve scalar expression named '%s'", e.Name)
	}
	switch {
	case bnd.expr != nil:
		return c.inEnv(bnd, bnd.expr)
	case bnd.query != nil && bnd.query.Input == nil && len(bnd.query.Operators) == 0 && len(bnd.query.Lets) == 0:
		// let x = y; where y may be a scalar.
		inner := bnd.query.Source
		if lb := bnd.env.lookup(inner.Name); lb != nil && lb.query == nil && lb.fn == nil {
			return c.inEnv(bnd, &Ident{At: e.At, Name: inner.Name})
		}
	}
	return nil, semanticErr(e.At, "'%s' is a table, not a scalar value; use toscalar() for a single value", e.Name)
}

// inEnv compiles x in the scope of bnd: with the bnd's let environment,
// and with the caller's columns for an argument of a let function.
func (c *compiler) inEnv(bnd *binding, x Expr) (cexpr, error) {
	b := c.env.b
	if b.depth++; b.depth > maxLetDepth {
		return nil, semanticErr(x.Pos(), "let statements nested too deeply (is a let recursive?)")
	}
	defer func() { b.depth-- }()
	if bnd.caller == nil {
		// A let's value is compiled where it was defined: it cannot refer
		// to the columns of where it is used.
		return bnd.env.compiler(nil).expr(x)
	}
	cc := bnd.caller
	saved := cc.env
	cc.env = bnd.env
	defer func() { cc.env = saved }()
	return cc.expr(x)
}

// callLet expands a call of a scalar let function.
func (c *compiler) callLet(e *CallExpr, bnd *binding) (cexpr, error) {
	if bnd.fn == nil {
		return nil, semanticErr(e.At, "'%s' is not a function", e.Name)
	}
	body := bnd.fn.Expr
	if q := bnd.fn.Query; body == nil && q != nil && q.Input == nil && len(q.Operators) == 0 && len(q.Lets) == 0 {
		body = &Ident{At: q.Source.At, Name: q.Source.Name} // { a }: a name, scalar here
	}
	if body == nil {
		return nil, semanticErr(e.At, "function '%s' returns a table; use it as a table, or toscalar()", e.Name)
	}
	fenv, err := c.env.bindArgs(e.At, e.Name, bnd, e.Args, c)
	if err != nil {
		return nil, err
	}
	b := c.env.b
	if b.depth++; b.depth > maxLetDepth {
		return nil, semanticErr(e.At, "let functions nested too deeply (is '%s' recursive?)", e.Name)
	}
	defer func() { b.depth-- }()
	saved := c.env
	c.env = fenv
	defer func() { c.env = saved }()
	return c.expr(body)
}
