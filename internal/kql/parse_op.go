package kql

import (
	"regexp"
	"strings"
)

// parse: extracting columns from a string by a pattern.

// ParsePart is one element of a parse pattern: a literal string to find,
// a column to extract (with an optional type), or * (skip).
type ParsePart struct {
	Literal string // when Column is empty and !Star
	Star    bool
	Column  string
	Type    Type // the column's type; TypeString when not given
}

// ParseOp is parse [kind=simple|regex|relaxed] Expr with pattern.
type ParseOp struct {
	At    Position
	Where bool   // parse-where: drop rows that do not match
	Kind  string // "simple" (default), "regex", "relaxed"
	Flags string // regex flags
	Expr  Expr
	Parts []ParsePart
}

// Pos returns the position of the ParseOp.
func (o *ParseOp) Pos() Position { return o.At }

func (*ParseOp) operatorNode() {}

func (p *parser) parseOp(t token, name string) (Operator, error) {
	if name == "parse-kv" {
		return nil, syntaxErr(t.pos, "the operator 'parse-kv' is not supported")
	}
	op := &ParseOp{At: t.pos, Where: name == "parse-where", Kind: "simple"}
	for _, o := range p.options() {
		switch o.Name {
		case "kind":
			op.Kind = o.Value.text
		case "flags":
			op.Flags = o.Value.text
		}
	}
	e, err := p.expr()
	if err != nil {
		return nil, err
	}
	op.Expr = e
	if err := p.expectKeyword("with"); err != nil {
		return nil, err
	}
	for {
		tk := p.peek()
		switch {
		case tk.kind == tokString:
			p.advance()
			op.Parts = append(op.Parts, ParsePart{Literal: tk.text})
		case tk.kind == tokPunct && tk.text == "*":
			p.advance()
			op.Parts = append(op.Parts, ParsePart{Star: true})
		case tk.kind == tokIdent && !(tk.text == "with"):
			p.advance()
			part := ParsePart{Column: tk.text, Type: TypeString}
			if p.isPunct(":") {
				p.advance()
				tt := p.peek()
				typ, ok := ParseType(tt.text)
				if !ok {
					return nil, syntaxErr(tt.pos, "expected a type name but found %s", describe(tt))
				}
				p.advance()
				part.Type = typ
			}
			op.Parts = append(op.Parts, part)
		case tk.kind == tokPunct && tk.text == "[":
			name, err := p.bracketName()
			if err != nil {
				return nil, err
			}
			op.Parts = append(op.Parts, ParsePart{Column: name, Type: TypeString})
		default:
			if len(op.Parts) == 0 {
				return nil, syntaxErr(tk.pos, "expected a parse pattern but found %s", describe(tk))
			}
			return op, nil
		}
	}
}

// parseRegex builds the regular expression of a parse pattern and the
// parts that are columns, in order.
func parseRegex(op *ParseOp) (string, []ParsePart, error) {
	var b strings.Builder
	if op.Kind != "regex" {
		b.WriteString("^")
	}
	if op.Kind == "regex" && op.Flags != "" {
		b.WriteString("(?" + strings.ReplaceAll(op.Flags, "U", "") + ")")
	}
	var cols []ParsePart
	for i, part := range op.Parts {
		last := i == len(op.Parts)-1
		switch {
		case part.Star:
			if last {
				b.WriteString("(?s:.*)")
			} else {
				b.WriteString("(?s:.*?)")
			}
		case part.Column == "":
			if op.Kind == "regex" {
				b.WriteString("(?:" + part.Literal + ")")
			} else {
				b.WriteString(regexp.QuoteMeta(part.Literal))
			}
		default:
			cols = append(cols, part)
			switch part.Type {
			case TypeInt, TypeLong:
				b.WriteString(`(-?\d+)`)
			case TypeReal:
				b.WriteString(`(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)`)
			case TypeBool:
				b.WriteString(`((?i:true|false))`)
			default:
				if last {
					b.WriteString("((?s:.*))")
				} else {
					b.WriteString("((?s:.*?))")
				}
			}
		}
	}
	return b.String(), cols, nil
}

func (c *compiler) parse(op *ParseOp) (stage, error) {
	if op.Kind != "simple" && op.Kind != "regex" && op.Kind != "relaxed" {
		return nil, semanticErr(op.At, "parse: unknown kind '%s'", op.Kind)
	}
	src, err := c.expr(op.Expr)
	if err != nil {
		return nil, err
	}
	if src.typ() != TypeString {
		src = convertExpr(c, src, TypeString)
	}
	pattern, cols, err := parseRegex(op)
	if err != nil {
		return nil, err
	}
	re, err := compileRegex(pattern)
	if err != nil {
		return nil, semanticErr(op.At, "parse: invalid pattern: %v", err)
	}
	st := &projectStage{extend: true}
	out := append([]column(nil), c.scope...)
	for k, col := range cols {
		t := col.Type
		fn := func(a []scalar) scalar {
			m := re.FindStringSubmatch(a[0].s)
			if m == nil {
				return convertScalar(nullScalar, TypeString, t)
			}
			return convertScalar(scalar{s: m[k+1]}, TypeString, t)
		}
		slot := -1
		for i := range out {
			if out[i].name == col.Column {
				slot = i
			}
		}
		if slot < 0 {
			slot = len(out)
			out = append(out, column{col.Column, t})
		} else {
			out[slot].t = t
		}
		st.exprs = append(st.exprs, &rowFunc{t: t, args: []cexpr{src}, fn: fn})
		st.target = append(st.target, slot)
	}
	st.out = out
	refs := c.refSlots()
	for range st.exprs {
		st.exprRefs = append(st.exprRefs, refs)
	}
	if !op.Where {
		return st, nil
	}
	pred := newRowFunc(TypeBool, func(a []scalar) scalar { return scalar{b: re.MatchString(a[0].s)} }, src)
	return &seqStage{stages: []stage{&whereStage{pred: pred, refs: refs}, st}}, nil
}
