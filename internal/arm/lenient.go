package arm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// This file holds the lenient JSON reader used for request bodies.
//
// Azure Resource Manager reads request bodies with Json.NET, which is far more
// forgiving than RFC 8259, and Azure's own documentation contains bodies that
// only such a reader accepts (trailing commas, unquoted property names).
// DecodeLenient accepts the same relaxations that matter in practice and
// nothing more: it rejects everything else with a *SyntaxError that carries a
// line, a column and a Json.NET style path, so that error messages look like
// the ones Azure returns.
//
// The reader is a recursive-descent parser over the whole body (which the
// caller bounds in size). Its recursion is bounded by lenientMaxDepth and each
// byte is looked at a bounded number of times, so it neither exhausts the
// stack nor hangs on hostile input.

// lenientMaxDepth is the deepest nesting of objects and arrays DecodeLenient
// accepts.
const lenientMaxDepth = 512

// lenientDepthMsg is the SyntaxError message for input nested too deeply.
var lenientDepthMsg = fmt.Sprintf("The reader's MaxDepth of %d has been exceeded.", lenientMaxDepth)

// lenientEmptyMsg is the SyntaxError message for a body without a value.
const lenientEmptyMsg = "The request body is empty."

// lenientBOM is the UTF-8 encoding of the byte order mark U+FEFF.
var lenientBOM = []byte{0xEF, 0xBB, 0xBF}

// SyntaxError reports input that DecodeLenient cannot parse.
//
// Line and Column are 1-based; Column counts characters (Unicode code points,
// with every byte that is not valid UTF-8 counting as one), not bytes, and a
// leading byte order mark is not counted. Line breaks are "\n", "\r\n" and a
// lone "\r".
//
// The position is that of the offending character, or of the start of the
// offending token for tokens that are malformed as a whole (an unterminated
// string or comment, a bad number or escape sequence, a bare word). When the
// input ends too early, the position is just past its last character.
//
// Path is the Json.NET style path of the member or element being read when
// the error was found, e.g. "properties.clusterType", "tags['a.b']" or
// "items[2]"; it is empty at the top level.
type SyntaxError struct {
	Line   int
	Column int
	Path   string
	Msg    string
}

// Error formats the error the way Azure Resource Manager reports malformed
// request bodies, e.g. "Invalid JSON. Unexpected character encountered while
// parsing value: }. Path 'properties.clusterType', line 5, position 4."
func (e *SyntaxError) Error() string {
	var b strings.Builder
	b.WriteString("Invalid JSON. ")
	msg := strings.TrimSpace(e.Msg)
	b.WriteString(msg)
	if !strings.HasSuffix(msg, ".") {
		b.WriteByte('.')
	}
	b.WriteString(" Path '")
	b.WriteString(e.Path)
	b.WriteString("', line ")
	b.WriteString(strconv.Itoa(e.Line))
	b.WriteString(", position ")
	b.WriteString(strconv.Itoa(e.Column))
	b.WriteByte('.')
	return b.String()
}

// DecodeLenient parses data, a JSON document as Azure Resource Manager's
// reader accepts it, into generic values: map[string]any for objects (keys
// keep their case; for duplicate keys the last one wins), []any for arrays,
// string, json.Number (the number's literal text, unchanged), bool, and nil
// for null. Empty objects and arrays decode to empty, non-nil values.
//
// Beyond RFC 8259 it accepts:
//   - a leading UTF-8 byte order mark;
//   - a trailing comma after the last member of an object or the last
//     element of an array ({"a":1,} and [1,2,]);
//   - unquoted property names made of letters, digits, '_' and '$'
//     ({KeyVaultUri: "https://x.vault.azure.net"});
//   - strings, property names included, in single quotes ('it\'s'), and the
//     escape \' in strings of both kinds;
//   - "//" line comments and "/* */" block comments wherever whitespace is
//     allowed.
//
// Everything else that RFC 8259 forbids is rejected, notably empty elements
// ([1,,2], {,"a":1}), numbers such as 01, 1., +1 and .5, bare words other than
// true, false and null, unescaped control characters in strings, and anything
// but whitespace and comments after the value. Objects and arrays may nest at
// most 512 deep. Bytes that are not valid UTF-8 inside strings become U+FFFD,
// as do unpaired surrogate escapes, exactly as with encoding/json.
//
// Input that encoding/json accepts decodes to the same value as
// encoding/json.Decoder with UseNumber would produce, unless it nests deeper
// than 512. The error, if any, is a *SyntaxError; an input holding nothing but
// whitespace and comments is reported as an empty body. DecodeLenient never
// panics; the caller bounds the size of data.
func DecodeLenient(data []byte) (any, error) {
	data = bytes.TrimPrefix(data, lenientBOM)
	p := lenientParser{data: data}
	if err := p.skipSpace(); err != nil {
		return nil, err
	}
	if p.pos >= len(p.data) {
		return nil, p.fail(p.pos, lenientEmptyMsg)
	}
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	if err := p.skipSpace(); err != nil {
		return nil, err
	}
	if p.pos < len(p.data) {
		return nil, p.fail(p.pos, "Additional text encountered after finished reading JSON content: "+lenientDescribe(p.data[p.pos:])+".")
	}
	return v, nil
}

// Canonical encodes v, typically a value returned by DecodeLenient or an
// Object, as strict, compact JSON: object keys sorted, no insignificant
// whitespace, no trailing newline, and '<', '>' and '&' left unescaped.
// json.Number values are written exactly as they were read.
func Canonical(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}), nil
}

// lenientParser is the state of one DecodeLenient call.
type lenientParser struct {
	data   []byte
	pos    int            // offset of the next byte to read
	frames []lenientFrame // open objects and arrays, outermost first
}

// lenientFrame is an open object or array; it is used to build error paths.
type lenientFrame struct {
	array  bool
	hasKey bool   // for objects: a property name has been read
	key    string // for objects: the last property name read
	index  int    // for arrays: index of the element being read
}

// fail returns a SyntaxError for the byte offset off with the current path.
func (p *lenientParser) fail(off int, msg string) *SyntaxError {
	line, col := lenientLineColumn(p.data, off)
	return &SyntaxError{Line: line, Column: col, Path: p.path(), Msg: msg}
}

// path renders the current position as a Json.NET style path.
func (p *lenientParser) path() string {
	var b strings.Builder
	for _, f := range p.frames {
		switch {
		case f.array:
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(f.index))
			b.WriteByte(']')
		case f.hasKey:
			lenientWritePathKey(&b, f.key)
		}
	}
	return b.String()
}

// lenientWritePathKey appends a property name to a path as Json.NET does:
// ".name", or "['name']" when the name is empty or holds characters that
// would make the path ambiguous.
func lenientWritePathKey(b *strings.Builder, key string) {
	if key != "" && !strings.ContainsAny(key, ".'/\"[]() \t\n\r\f\b\\\u0085\u2028\u2029") {
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(key)
		return
	}
	b.WriteString("['")
	for _, r := range key {
		switch {
		case r == '\'' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x85 || r == 0x2028 || r == 0x2029:
			fmt.Fprintf(b, "\\u%04x", r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteString("']")
}

// lenientLineColumn converts a byte offset into a 1-based line and column.
func lenientLineColumn(data []byte, off int) (line, col int) {
	off = min(max(off, 0), len(data))
	line, start := 1, 0
	for i := 0; i < off; i++ {
		switch data[i] {
		case '\n':
			line, start = line+1, i+1
		case '\r':
			if i+1 < len(data) && data[i+1] == '\n' {
				continue // counted at the '\n'
			}
			line, start = line+1, i+1
		}
	}
	return line, utf8.RuneCount(data[start:off]) + 1
}

// lenientDescribe names the character at the start of b for an error
// message: the character itself if it is visible, U+XXXX for other code
// points (whitespace included), 0xXX for a byte that is not UTF-8.
func lenientDescribe(b []byte) string {
	r, size := utf8.DecodeRune(b)
	switch {
	case size == 0:
		return "end of content"
	case r == utf8.RuneError && size == 1:
		return fmt.Sprintf("0x%02X", b[0])
	case unicode.IsGraphic(r) && !unicode.IsSpace(r):
		return string(r)
	default:
		return fmt.Sprintf("U+%04X", r)
	}
}

// lenientQuoteToken renders a malformed token for an error message,
// shortened and with invisible characters spelled out.
func lenientQuoteToken(b []byte) string {
	const maxRunes = 40
	var s strings.Builder
	s.WriteByte('\'')
	for n := 0; len(b) > 0; n++ {
		if n == maxRunes {
			s.WriteString("...")
			break
		}
		r, size := utf8.DecodeRune(b)
		if (r == utf8.RuneError && size == 1) || !unicode.IsGraphic(r) || (r != ' ' && unicode.IsSpace(r)) {
			s.WriteString(lenientDescribe(b))
		} else {
			s.WriteRune(r)
		}
		b = b[size:]
	}
	s.WriteByte('\'')
	return s.String()
}

// skipSpace skips whitespace and comments.
func (p *lenientParser) skipSpace() *SyntaxError {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		case '/':
			if err := p.skipComment(); err != nil {
				return err
			}
		default:
			return nil
		}
	}
	return nil
}

// skipComment skips the comment that starts at p.pos, which holds a '/'.
func (p *lenientParser) skipComment() *SyntaxError {
	start := p.pos
	if start+1 >= len(p.data) {
		return p.fail(len(p.data), "Unexpected end of content while parsing comment.")
	}
	switch p.data[start+1] {
	case '/':
		p.pos = start + 2
		for p.pos < len(p.data) && p.data[p.pos] != '\n' && p.data[p.pos] != '\r' {
			p.pos++
		}
		return nil
	case '*':
		end := bytes.Index(p.data[start+2:], []byte("*/"))
		if end < 0 {
			return p.fail(start, "Unterminated comment.")
		}
		p.pos = start + 2 + end + 2
		return nil
	default:
		return p.fail(start+1, "Error parsing comment. Expected: * or /, got "+lenientDescribe(p.data[start+1:])+".")
	}
}

// push opens an object or array at p.pos, enforcing the depth limit.
func (p *lenientParser) push(array bool) *SyntaxError {
	if len(p.frames) >= lenientMaxDepth {
		return p.fail(p.pos, lenientDepthMsg)
	}
	p.frames = append(p.frames, lenientFrame{array: array})
	p.pos++ // the '{' or '['
	return nil
}

// pop closes the innermost object or array at p.pos.
func (p *lenientParser) pop() {
	p.frames = p.frames[:len(p.frames)-1]
	p.pos++ // the '}' or ']'
}

// value reads any value at p.pos, which is not whitespace.
func (p *lenientParser) value() (any, *SyntaxError) {
	if p.pos >= len(p.data) {
		return nil, p.fail(p.pos, "Unexpected end of content while parsing value.")
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		return p.object()
	case c == '[':
		return p.array()
	case c == '"' || c == '\'':
		s, err := p.str()
		if err != nil {
			return nil, err
		}
		return s, nil
	case c == '-' || ('0' <= c && c <= '9'):
		return p.number()
	case lenientIdentStart(p.data[p.pos:]):
		return p.word()
	default:
		return nil, p.fail(p.pos, "Unexpected character encountered while parsing value: "+lenientDescribe(p.data[p.pos:])+".")
	}
}

// object reads an object at p.pos, which holds a '{'.
func (p *lenientParser) object() (any, *SyntaxError) {
	if err := p.push(false); err != nil {
		return nil, err
	}
	frame := len(p.frames) - 1
	m := make(map[string]any)
	for {
		// Here we are after the '{' or after a ',': a '}' closes the
		// object (possibly after a trailing comma), anything else must be
		// a property name.
		if err := p.skipSpace(); err != nil {
			return nil, err
		}
		if p.pos >= len(p.data) {
			return nil, p.fail(p.pos, "Unexpected end of content while parsing object.")
		}
		if p.data[p.pos] == '}' {
			p.pop()
			return m, nil
		}
		key, err := p.key()
		if err != nil {
			return nil, err
		}
		p.frames[frame].key, p.frames[frame].hasKey = key, true
		if err := p.skipSpace(); err != nil {
			return nil, err
		}
		if p.pos >= len(p.data) {
			return nil, p.fail(p.pos, "Unexpected end of content while parsing object.")
		}
		if p.data[p.pos] != ':' {
			return nil, p.fail(p.pos, "Invalid character after parsing property name. Expected ':' but got: "+lenientDescribe(p.data[p.pos:])+".")
		}
		p.pos++
		if err := p.skipSpace(); err != nil {
			return nil, err
		}
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		m[key] = v
		if err := p.skipSpace(); err != nil {
			return nil, err
		}
		if p.pos >= len(p.data) {
			return nil, p.fail(p.pos, "Unexpected end of content while parsing object.")
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
		case '}':
			p.pop()
			return m, nil
		default:
			return nil, p.fail(p.pos, "After parsing a value an unexpected character was encountered: "+lenientDescribe(p.data[p.pos:])+".")
		}
	}
}

// key reads a property name, quoted or not, at p.pos.
func (p *lenientParser) key() (string, *SyntaxError) {
	c := p.data[p.pos]
	if c == '"' || c == '\'' {
		return p.str()
	}
	if !lenientIdentChar(p.data[p.pos:]) {
		return "", p.fail(p.pos, "Invalid property identifier character: "+lenientDescribe(p.data[p.pos:])+".")
	}
	start := p.pos
	p.pos = lenientIdentEnd(p.data, p.pos)
	if p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r', ':', '/':
		default:
			return "", p.fail(p.pos, "Invalid JavaScript property identifier character: "+lenientDescribe(p.data[p.pos:])+".")
		}
	}
	return string(p.data[start:p.pos]), nil
}

// array reads an array at p.pos, which holds a '['.
func (p *lenientParser) array() (any, *SyntaxError) {
	if err := p.push(true); err != nil {
		return nil, err
	}
	frame := len(p.frames) - 1
	a := []any{}
	for {
		// Here we are after the '[' or after a ',': a ']' closes the
		// array (possibly after a trailing comma), anything else must be a
		// value.
		if err := p.skipSpace(); err != nil {
			return nil, err
		}
		if p.pos >= len(p.data) {
			return nil, p.fail(p.pos, "Unexpected end of content while parsing array.")
		}
		if p.data[p.pos] == ']' {
			p.pop()
			return a, nil
		}
		p.frames[frame].index = len(a)
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		a = append(a, v)
		if err := p.skipSpace(); err != nil {
			return nil, err
		}
		if p.pos >= len(p.data) {
			return nil, p.fail(p.pos, "Unexpected end of content while parsing array.")
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
			p.frames[frame].index = len(a)
		case ']':
			p.pop()
			return a, nil
		default:
			return nil, p.fail(p.pos, "After parsing a value an unexpected character was encountered: "+lenientDescribe(p.data[p.pos:])+".")
		}
	}
}

// str reads a string in double or single quotes at p.pos.
func (p *lenientParser) str() (string, *SyntaxError) {
	start := p.pos
	quote := p.data[start]
	ascii := true
	for i := start + 1; i < len(p.data); i++ {
		switch c := p.data[i]; {
		case c == quote:
			s := p.data[start+1 : i]
			if !ascii && !utf8.Valid(s) {
				return p.strSlow(start)
			}
			p.pos = i + 1
			return string(s), nil
		case c == '\\':
			return p.strSlow(start)
		case c < 0x20:
			return "", p.fail(i, lenientControlMsg(c))
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return "", p.fail(start, "Unterminated string. Expected delimiter: "+string(quote)+".")
}

// lenientControlMsg is the error message for an unescaped control character
// in a string.
func lenientControlMsg(c byte) string {
	return fmt.Sprintf("Invalid character U+%04X in string. Control characters must be escaped.", c)
}

// strSlow reads a string that has escapes or invalid UTF-8, starting at its
// opening quote at offset start.
func (p *lenientParser) strSlow(start int) (string, *SyntaxError) {
	quote := p.data[start]
	var b []byte
	for i := start + 1; i < len(p.data); {
		c := p.data[i]
		switch {
		case c == quote:
			p.pos = i + 1
			return string(b), nil
		case c == '\\':
			if i+1 >= len(p.data) {
				return "", p.fail(start, "Unterminated string. Expected delimiter: "+string(quote)+".")
			}
			switch e := p.data[i+1]; e {
			case '"', '\'', '\\', '/':
				b = append(b, e)
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				r, ok := lenientHex4(p.data[i+2:])
				if !ok {
					return "", p.fail(i, "Bad JSON escape sequence: "+lenientQuoteToken(p.data[i:min(i+6, len(p.data))])+".")
				}
				i += 6
				if utf16.IsSurrogate(r) {
					// Pair with a following \u escape if that completes
					// a surrogate pair; otherwise the escape stands
					// for U+FFFD, as in encoding/json.
					r2 := rune(-1)
					if i+1 < len(p.data) && p.data[i] == '\\' && p.data[i+1] == 'u' {
						if v, ok := lenientHex4(p.data[i+2:]); ok {
							r2 = v
						}
					}
					if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
						r = d
						i += 6
					} else {
						r = utf8.RuneError
					}
				}
				b = utf8.AppendRune(b, r)
				continue
			default:
				return "", p.fail(i, "Bad JSON escape sequence: "+lenientQuoteToken(p.data[i:i+2])+".")
			}
			i += 2
		case c < 0x20:
			return "", p.fail(i, lenientControlMsg(c))
		case c < utf8.RuneSelf:
			b = append(b, c)
			i++
		default:
			r, size := utf8.DecodeRune(p.data[i:])
			if r == utf8.RuneError && size == 1 {
				b = utf8.AppendRune(b, utf8.RuneError)
			} else {
				b = append(b, p.data[i:i+size]...)
			}
			i += size
		}
	}
	return "", p.fail(start, "Unterminated string. Expected delimiter: "+string(quote)+".")
}

// lenientHex4 decodes the four hexadecimal digits at the start of b.
func lenientHex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// number reads a number at p.pos. The token is taken to be the longest run
// of characters that could belong to a number or to a word glued to it, so
// that "01", "1.", "1e" and "12abc" are each reported whole.
func (p *lenientParser) number() (any, *SyntaxError) {
	start, end := p.pos, p.pos
	for end < len(p.data) {
		c := p.data[end]
		if ('0' <= c && c <= '9') || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') ||
			c == '.' || c == '+' || c == '-' || c == '_' || c == '$' {
			end++
			continue
		}
		break
	}
	tok := p.data[start:end]
	if !lenientValidNumber(tok) {
		return nil, p.fail(start, "Invalid number "+lenientQuoteToken(tok)+".")
	}
	p.pos = end
	return json.Number(tok), nil
}

// lenientValidNumber reports whether s is a number in RFC 8259 syntax.
func lenientValidNumber(s []byte) bool {
	i := 0
	digits := func() int {
		n := 0
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case digits() == 0:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}

// word reads a bare word at p.pos: true, false or null.
func (p *lenientParser) word() (any, *SyntaxError) {
	start := p.pos
	end := lenientIdentEnd(p.data, start)
	var v any
	switch string(p.data[start:end]) {
	case "true":
		v = true
	case "false":
		v = false
	case "null":
		v = nil
	default:
		return nil, p.fail(start, "Unexpected value "+lenientQuoteToken(p.data[start:end])+
			". Expected a string, number, object, array, true, false or null.")
	}
	p.pos = end
	return v, nil
}

// lenientIdentChar reports whether b starts with a character allowed in an
// unquoted property name: a letter, a digit, '_' or '$'.
func lenientIdentChar(b []byte) bool {
	ok, _ := lenientIdentRune(b)
	return ok
}

// lenientIdentStart reports whether b starts with a character that can start
// a bare word: a letter, '_' or '$'.
func lenientIdentStart(b []byte) bool {
	if len(b) > 0 && '0' <= b[0] && b[0] <= '9' {
		return false
	}
	return lenientIdentChar(b)
}

// lenientIdentRune reports whether b starts with an identifier character
// (see lenientIdentChar) and its length in bytes.
func lenientIdentRune(b []byte) (bool, int) {
	if len(b) == 0 {
		return false, 0
	}
	if c := b[0]; c < utf8.RuneSelf {
		ok := ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9') || c == '_' || c == '$'
		return ok, 1
	}
	r, size := utf8.DecodeRune(b)
	if r == utf8.RuneError && size == 1 {
		return false, 1
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r), size
}

// lenientIdentEnd returns the offset just past the identifier characters
// that start at data[i:].
func lenientIdentEnd(data []byte, i int) int {
	for i < len(data) {
		ok, size := lenientIdentRune(data[i:])
		if !ok {
			break
		}
		i += size
	}
	return i
}
