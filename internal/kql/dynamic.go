package kql

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Dynamic values.
//
// A dynamic value is null, a bool, a long (int64), a real (float64), a
// string, an array ([]any) or a property bag (*dynBag, keys in insertion
// order). In a Vector, a dynamic value travels as its canonical JSON text
// in Str (the form storage holds and the Query API returns), with null as
// a set bit in Nulls or as the empty text; expressions that operate on
// dynamic values decode the text into this value model and encode their
// result back.

// dynBag is a property bag with its keys in insertion order.
type dynBag struct {
	keys []string
	vals []any
}

func (b *dynBag) get(k string) (any, bool) {
	for i, key := range b.keys {
		if key == k {
			return b.vals[i], true
		}
	}
	return nil, false
}

// set adds or replaces key k.
func (b *dynBag) set(k string, v any) {
	for i, key := range b.keys {
		if key == k {
			b.vals[i] = v
			return
		}
	}
	b.keys = append(b.keys, k)
	b.vals = append(b.vals, v)
}

// maxDynDepth bounds the nesting of decoded JSON.
const maxDynDepth = 200

var errBadJSON = errors.New("invalid JSON")

// parseDyn decodes JSON text into the dynamic value model.
func parseDyn(s string) (any, error) {
	d := jsonDecoder{s: s}
	d.space()
	v, err := d.value(0)
	if err != nil {
		return nil, err
	}
	d.space()
	if d.i != len(d.s) {
		return nil, errBadJSON
	}
	return v, nil
}

type jsonDecoder struct {
	s string
	i int
}

func (d *jsonDecoder) space() {
	for d.i < len(d.s) && (d.s[d.i] == ' ' || d.s[d.i] == '\t' || d.s[d.i] == '\n' || d.s[d.i] == '\r') {
		d.i++
	}
}

func (d *jsonDecoder) value(depth int) (any, error) {
	if depth > maxDynDepth || d.i >= len(d.s) {
		return nil, errBadJSON
	}
	switch c := d.s[d.i]; {
	case c == '{':
		d.i++
		b := &dynBag{}
		d.space()
		if d.i < len(d.s) && d.s[d.i] == '}' {
			d.i++
			return b, nil
		}
		for {
			d.space()
			if d.i >= len(d.s) || d.s[d.i] != '"' {
				return nil, errBadJSON
			}
			k, err := d.str()
			if err != nil {
				return nil, err
			}
			d.space()
			if d.i >= len(d.s) || d.s[d.i] != ':' {
				return nil, errBadJSON
			}
			d.i++
			d.space()
			v, err := d.value(depth + 1)
			if err != nil {
				return nil, err
			}
			b.set(k, v)
			d.space()
			if d.i >= len(d.s) {
				return nil, errBadJSON
			}
			if d.s[d.i] == ',' {
				d.i++
				continue
			}
			if d.s[d.i] == '}' {
				d.i++
				return b, nil
			}
			return nil, errBadJSON
		}
	case c == '[':
		d.i++
		arr := []any{}
		d.space()
		if d.i < len(d.s) && d.s[d.i] == ']' {
			d.i++
			return arr, nil
		}
		for {
			d.space()
			v, err := d.value(depth + 1)
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
			d.space()
			if d.i >= len(d.s) {
				return nil, errBadJSON
			}
			if d.s[d.i] == ',' {
				d.i++
				continue
			}
			if d.s[d.i] == ']' {
				d.i++
				return arr, nil
			}
			return nil, errBadJSON
		}
	case c == '"':
		return d.str()
	case c == 't' && strings.HasPrefix(d.s[d.i:], "true"):
		d.i += 4
		return true, nil
	case c == 'f' && strings.HasPrefix(d.s[d.i:], "false"):
		d.i += 5
		return false, nil
	case c == 'n' && strings.HasPrefix(d.s[d.i:], "null"):
		d.i += 4
		return nil, nil
	case c == '-' || isDigit(c):
		start := d.i
		if c == '-' {
			d.i++
		}
		isReal := false
		for d.i < len(d.s) {
			ch := d.s[d.i]
			if isDigit(ch) {
				d.i++
				continue
			}
			if ch == '.' || ch == 'e' || ch == 'E' || ch == '+' || ch == '-' {
				isReal = true
				d.i++
				continue
			}
			break
		}
		num := d.s[start:d.i]
		if !isReal {
			if n, err := strconv.ParseInt(num, 10, 64); err == nil {
				return n, nil
			}
		}
		f, err := strconv.ParseFloat(num, 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return nil, errBadJSON
		}
		return f, nil
	}
	return nil, errBadJSON
}

func (d *jsonDecoder) str() (string, error) {
	d.i++ // "
	start := d.i
	for d.i < len(d.s) && d.s[d.i] != '"' && d.s[d.i] != '\\' {
		d.i++
	}
	if d.i < len(d.s) && d.s[d.i] == '"' {
		s := d.s[start:d.i]
		d.i++
		return s, nil
	}
	var b strings.Builder
	b.WriteString(d.s[start:d.i])
	for d.i < len(d.s) {
		c := d.s[d.i]
		switch {
		case c == '"':
			d.i++
			return b.String(), nil
		case c == '\\':
			if d.i+1 >= len(d.s) {
				return "", errBadJSON
			}
			e := d.s[d.i+1]
			d.i += 2
			switch e {
			case '"', '\\', '/':
				b.WriteByte(e)
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'u':
				r, ok := d.hex4()
				if !ok {
					return "", errBadJSON
				}
				if utf16.IsSurrogate(r) {
					if strings.HasPrefix(d.s[d.i:], "\\u") {
						d.i += 2
						r2, ok := d.hex4()
						if !ok {
							return "", errBadJSON
						}
						r = utf16.DecodeRune(r, r2)
					} else {
						r = utf8.RuneError
					}
				}
				b.WriteRune(r)
			default:
				return "", errBadJSON
			}
		default:
			b.WriteByte(c)
			d.i++
		}
	}
	return "", errBadJSON
}

func (d *jsonDecoder) hex4() (rune, bool) {
	if d.i+4 > len(d.s) {
		return 0, false
	}
	n, err := strconv.ParseUint(d.s[d.i:d.i+4], 16, 32)
	if err != nil {
		return 0, false
	}
	d.i += 4
	return rune(n), true
}

// encodeDyn appends the canonical JSON text of v.
func encodeDyn(dst []byte, v any) []byte {
	switch v := v.(type) {
	case nil:
		return append(dst, "null"...)
	case bool:
		return strconv.AppendBool(dst, v)
	case int64:
		return strconv.AppendInt(dst, v, 10)
	case float64:
		switch {
		case math.IsNaN(v):
			return append(dst, `"NaN"`...)
		case math.IsInf(v, 1):
			return append(dst, `"Infinity"`...)
		case math.IsInf(v, -1):
			return append(dst, `"-Infinity"`...)
		}
		return strconv.AppendFloat(dst, v, 'g', -1, 64)
	case string:
		return appendJSONString(dst, v)
	case []any:
		dst = append(dst, '[')
		for i, x := range v {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = encodeDyn(dst, x)
		}
		return append(dst, ']')
	case *dynBag:
		dst = append(dst, '{')
		for i, k := range v.keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, k)
			dst = append(dst, ':')
			dst = encodeDyn(dst, v.vals[i])
		}
		return append(dst, '}')
	}
	return append(dst, "null"...)
}

func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c == '\n':
			dst = append(dst, '\\', 'n')
		case c == '\r':
			dst = append(dst, '\\', 'r')
		case c == '\t':
			dst = append(dst, '\\', 't')
		case c < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}

// dynText returns the canonical JSON text of v, "" for null.
func dynText(v any) string {
	if v == nil {
		return ""
	}
	return string(encodeDyn(nil, v))
}

// dynAt decodes row i of a dynamic vector (nil for null or invalid text).
func dynAt(v *Vector, i int) any {
	if v.IsNull(i) {
		return nil
	}
	s := v.Str[i]
	if s == "" {
		return nil
	}
	d, err := parseDyn(s)
	if err != nil {
		return s
	}
	return d
}

// dynToString is tostring() of a dynamic value: a string as itself,
// null as "", anything else as its JSON text.
func dynToString(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	}
	return string(encodeDyn(nil, v))
}

// IndexExpr is property or element access on a dynamic value: x.name,
// x["name"], x[i].
type IndexExpr struct {
	At  Position // position of the '.' or '['
	X   Expr
	Key Expr // a string Literal for .name; any expression within [ ]
}

// Pos returns the position of the IndexExpr's first token.
func (e *IndexExpr) Pos() Position { return e.X.Pos() }

func (*IndexExpr) exprNode() {}

// postfix parses a primary expression followed by accessors.
func (p *parser) postfix() (Expr, error) {
	x, err := p.primary()
	if err != nil {
		return nil, err
	}
	for n := 0; ; n++ {
		if n > maxDepth {
			return nil, syntaxErr(p.peek().pos, "expression nested too deeply")
		}
		switch {
		case p.isPunct(".") && p.peekAt(1).kind == tokIdent:
			t := p.advance()
			name := p.advance()
			x = &IndexExpr{At: t.pos, X: x, Key: &Literal{At: name.pos, Type: TypeString, Value: name.text}}
		case p.isPunct(".") && p.peekAt(1).kind == tokPunct && p.peekAt(1).text == "[":
			p.advance()
		case p.isPunct("["):
			t := p.advance()
			k, err := p.expr()
			if err != nil {
				return nil, err
			}
			if _, err := p.expectPunct("]"); err != nil {
				return nil, err
			}
			x = &IndexExpr{At: t.pos, X: x, Key: k}
		default:
			return x, nil
		}
	}
}

// dynamicLiteral parses dynamic(json) into a Literal of type dynamic
// holding canonical JSON text (nil for dynamic(null)).
func (p *parser) dynamicLiteral(name token) (Expr, error) {
	p.advance() // (
	v, err := p.jsonLiteral(0)
	if err != nil {
		return nil, err
	}
	if _, err := p.expectPunct(")"); err != nil {
		return nil, err
	}
	lit := &Literal{At: name.pos, Type: TypeDynamic}
	if v != nil {
		lit.Value = string(encodeDyn(nil, v))
	}
	return lit, nil
}

func (p *parser) jsonLiteral(depth int) (any, error) {
	t := p.peek()
	if depth > maxDynDepth {
		return nil, syntaxErr(t.pos, "dynamic literal nested too deeply")
	}
	switch {
	case t.kind == tokPunct && t.text == "[":
		p.advance()
		arr := []any{}
		for !p.isPunct("]") {
			v, err := p.jsonLiteral(depth + 1)
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
			if !p.isPunct(",") {
				break
			}
			p.advance()
		}
		if _, err := p.expectPunct("]"); err != nil {
			return nil, err
		}
		return arr, nil
	case t.kind == tokPunct && t.text == "{":
		p.advance()
		b := &dynBag{}
		for !p.isPunct("}") {
			k := p.peek()
			if k.kind != tokString && k.kind != tokIdent {
				return nil, syntaxErr(k.pos, "expected a property name but found %s", describe(k))
			}
			p.advance()
			if _, err := p.expectPunct(":"); err != nil {
				return nil, err
			}
			v, err := p.jsonLiteral(depth + 1)
			if err != nil {
				return nil, err
			}
			b.set(k.text, v)
			if !p.isPunct(",") {
				break
			}
			p.advance()
		}
		if _, err := p.expectPunct("}"); err != nil {
			return nil, err
		}
		return b, nil
	case t.kind == tokString:
		p.advance()
		return t.text, nil
	case t.kind == tokPunct && (t.text == "-" || t.text == "+"):
		p.advance()
		v, err := p.jsonLiteral(depth + 1)
		if err != nil {
			return nil, err
		}
		if t.text == "+" {
			return v, nil
		}
		switch n := v.(type) {
		case int64:
			return -n, nil
		case float64:
			return -n, nil
		}
		return nil, syntaxErr(t.pos, "expected a number after '-'")
	case t.kind == tokIdent && (t.text == "true" || t.text == "false"):
		p.advance()
		return t.text == "true", nil
	case t.kind == tokIdent && t.text == "null":
		p.advance()
		return nil, nil
	}
	// Numbers and typed literals (datetime(...), guid(...), 1h) through the
	// expression parser.
	e, err := p.primary()
	if err != nil {
		return nil, err
	}
	lit, ok := e.(*Literal)
	if !ok {
		return nil, syntaxErr(t.pos, "a dynamic literal holds only constants")
	}
	return literalDyn(lit), nil
}

// literalDyn converts a scalar literal to a dynamic value.
func literalDyn(l *Literal) any {
	if l.Value == nil {
		return nil
	}
	switch l.Type {
	case TypeDatetime:
		return jsonValue(&Vector{Type: TypeDatetime, Int: []int64{l.Value.(int64)}}, 0)
	case TypeTimespan:
		return jsonValue(&Vector{Type: TypeTimespan, Int: []int64{l.Value.(int64)}}, 0)
	case TypeReal:
		if i, ok := l.Value.(int64); ok {
			return float64(i)
		}
	}
	return l.Value
}
