package kql

import "strings"

// Parsing of the tabular operators beyond parser.go's. Each operator
// family's syntax node, compilation and execution live in its own file
// (project_ops.go, join.go, mvexpand.go, parse_op.go, union.go, ...);
// this file dispatches on the operator keyword.

// operatorMore parses the operators added outside parser.go. t is the
// operator keyword, already consumed. ok is false for an operator that
// parser.operator handles itself.
func (p *parser) operatorMore(t token) (Operator, bool, error) {
	name := t.text
	// Dashed names: project-away, mv-expand, make-series, top-nested, ...
	if p.isPunct("-") && p.peek().pos.Offset == t.pos.Offset+len(t.text) {
		if n := p.peekAt(1); n.kind == tokIdent && n.pos.Offset == p.peek().pos.Offset+1 {
			p.advance()
			p.advance()
			name += "-" + n.text
		}
	}
	var op Operator
	var err error
	switch name {
	case "project-away", "project-keep", "project-reorder":
		op, err = p.projectPatterns(t, name)
	case "project-rename":
		var cols []NamedExpr
		if cols, err = p.namedExprs(false); err == nil {
			op = &ProjectRenameOp{At: t.pos, Columns: cols}
		}
	case "distinct":
		op, err = p.distinct(t)
	case "render":
		op, err = p.render(t)
	case "mv-expand":
		op, err = p.mvExpand(t)
	case "mv-apply":
		op, err = p.mvApply(t)
	case "join", "lookup":
		op, err = p.join(t, name)
	case "union":
		var u *UnionSource
		if u, err = p.union(t); err == nil {
			op = &UnionOp{At: t.pos, Union: u}
		}
	case "parse", "parse-where", "parse-kv":
		op, err = p.parseOp(t, name)
	case "serialize":
		s := &SerializeOp{At: t.pos}
		if p.peek().kind == tokIdent || p.isPunct("[") {
			s.Columns, err = p.namedExprs(false)
		}
		op = s
	case "sample", "sample-distinct":
		var n Expr
		if n, err = p.expr(); err == nil {
			op = &SampleOp{At: t.pos, Count: n}
		}
		if name == "sample-distinct" && err == nil {
			err = syntaxErr(t.pos, "the operator 'sample-distinct' is not supported")
		}
	case "getschema":
		op = &GetSchemaOp{At: t.pos}
	case "as":
		p.skipOptions()
		nt := p.peek()
		if nt.kind != tokIdent {
			return nil, true, syntaxErr(nt.pos, "expected a name after 'as' but found %s", describe(nt))
		}
		p.advance()
		op = &AsOp{At: t.pos, Name: nt.text}
	case "evaluate":
		op, err = p.evaluate(t)
	case "make-series":
		op, err = p.makeSeries(t)
	case "search":
		op, err = p.searchOp(t)
	case "top-nested":
		op, err = p.topNested(t) // topnested.go
	case "top-hitters", "find", "fork", "facet", "invoke", "scan", "consume", "reduce", "partition", "make-graph", "graph-match":
		return nil, true, syntaxErr(t.pos, "the operator '%s' is not supported", name)
	case "summarize":
		// hint.strategy=..., hint.shufflekey=... before the aggregates.
		if name == t.text {
			p.skipOptions()
		}
		return nil, false, nil
	default:
		if name != t.text {
			return nil, true, syntaxErr(t.pos, "unknown or unsupported operator '%s'", name)
		}
		return nil, false, nil
	}
	return op, true, err
}

// option is a name=value option of an operator (kind=inner,
// hint.strategy=broadcast, withsource=T, ...).
type option struct {
	Name  string
	Value token
}

// operatorOptions are the option names operators take before their
// arguments.
var operatorOptions = map[string]bool{
	"kind": true, "hint": true, "withsource": true, "isfuzzy": true, "bagexpansion": true,
	"with_itemindex": true, "flags": true, "decodeblocks": true, "with_match_id": true,
}

// options reads name=value options, hint.x=y included.
func (p *parser) options() []option {
	var out []option
	for {
		t := p.peek()
		if t.kind != tokIdent || !operatorOptions[strings.ToLower(t.text)] {
			return out
		}
		k := 1
		name := t.text
		for p.peekAt(k).kind == tokPunct && p.peekAt(k).text == "." && p.peekAt(k+1).kind == tokIdent {
			name += "." + p.peekAt(k+1).text
			k += 2
		}
		if eq := p.peekAt(k); eq.kind != tokPunct || eq.text != "=" {
			return out
		}
		for range k + 1 {
			p.advance()
		}
		v := p.advance()
		out = append(out, option{Name: strings.ToLower(name), Value: v})
	}
}

func (p *parser) skipOptions() { p.options() }

// SerializeOp marks the rows as ordered and may add columns (serialize).
type SerializeOp struct {
	At      Position
	Columns []NamedExpr
}

// SampleOp keeps Count rows chosen arbitrarily (sample).
type SampleOp struct {
	At    Position
	Count Expr
}

// GetSchemaOp replaces the input by its schema (getschema).
type GetSchemaOp struct {
	At Position
}

// AsOp names the input for later reference (as); it changes nothing.
type AsOp struct {
	At   Position
	Name string
}

// Pos returns the position of the SerializeOp.
func (o *SerializeOp) Pos() Position { return o.At }

// Pos returns the position of the SampleOp.
func (o *SampleOp) Pos() Position { return o.At }

// Pos returns the position of the GetSchemaOp.
func (o *GetSchemaOp) Pos() Position { return o.At }

// Pos returns the position of the AsOp.
func (o *AsOp) Pos() Position { return o.At }

func (*SerializeOp) operatorNode() {}
func (*SampleOp) operatorNode()    {}
func (*GetSchemaOp) operatorNode() {}
func (*AsOp) operatorNode()        {}
