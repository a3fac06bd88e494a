package kql

import (
	"strings"
	"unicode/utf8"
)

// Position is a location in the query text.
type Position struct {
	Offset int // 0-based byte offset
	Line   int // 1-based line
	Col    int // 0-based column in characters
}

type tokenKind uint8

const (
	tokEOF tokenKind = iota
	tokIdent
	tokString   // text holds the decoded value
	tokLong     // integer literal
	tokReal     // real literal
	tokTimespan // 1h, 2.5d, ...; text holds the source spelling
	tokTyped    // datetime(...), timespan(...), guid(...), long(...), ...; text holds the raw argument, lit the type name
	tokPunct    // operators and punctuation; text holds the spelling
)

type token struct {
	kind tokenKind
	text string
	typ  string // for tokTyped: the type keyword
	pos  Position
}

func (t token) String() string {
	switch t.kind {
	case tokEOF:
		return "end of query"
	case tokString:
		return "'" + t.text + "'"
	case tokTyped:
		return t.typ + "(" + t.text + ")"
	}
	return t.text
}

// typedLiteralKeywords are the keywords whose parenthesised argument is
// scanned raw: datetime(2024-01-01T00:00:00Z) is not an expression.
var typedLiteralKeywords = map[string]bool{
	"datetime": true, "timespan": true, "time": true, "guid": true,
	"long": true, "int": true, "real": true, "double": true, "bool": true, "boolean": true,
}

// timespanUnits maps a literal suffix to its length in ticks (100 ns).
var timespanUnits = map[string]int64{
	"d": ticksPerDay, "day": ticksPerDay, "days": ticksPerDay,
	"h": ticksPerHour, "hr": ticksPerHour, "hrs": ticksPerHour, "hour": ticksPerHour, "hours": ticksPerHour,
	"m": ticksPerMinute, "min": ticksPerMinute, "minute": ticksPerMinute, "minutes": ticksPerMinute,
	"s": TicksPerSecond, "sec": TicksPerSecond, "second": TicksPerSecond, "seconds": TicksPerSecond,
	"ms": ticksPerMillisecond, "milli": ticksPerMillisecond, "millis": ticksPerMillisecond,
	"millisecond": ticksPerMillisecond, "milliseconds": ticksPerMillisecond,
	"microsecond": 10, "microseconds": 10,
	"tick": 1, "ticks": 1,
}

// twoCharPuncts are matched before single-character punctuation.
var twoCharPuncts = []string{"==", "!=", "<=", ">=", "=~", "!~", "..", "<>"}

type lexer struct {
	src  string
	off  int
	line int
	col  int // characters since the last newline
}

func lex(src string) ([]token, error) {
	l := &lexer{src: src, line: 1}
	// Queries average a token every four or five bytes; sizing for that
	// saves the copies of growing a long query's tokens.
	toks := make([]token, 0, len(src)/4+8)
	depth := 0 // of open brackets: the parser refuses far less
	for {
		t, err := l.next()
		if err != nil {
			return nil, err
		}
		if t.kind == tokPunct {
			switch t.text {
			case "(", "[", "{":
				if depth++; depth > 2*maxDepth {
					// Stop before holding the tokens of a megabyte of
					// brackets.
					return nil, syntaxErr(t.pos, "expression nested too deeply")
				}
			case ")", "]", "}":
				depth--
			}
		}
		toks = append(toks, t)
		if t.kind == tokEOF {
			return toks, nil
		}
	}
}

func (l *lexer) pos() Position { return Position{Offset: l.off, Line: l.line, Col: l.col} }

// advance moves past n bytes, keeping line and column.
func (l *lexer) advance(n int) {
	end := l.off + n
	for l.off < end {
		r, size := utf8.DecodeRuneInString(l.src[l.off:])
		l.off += size
		if r == '\n' {
			l.line++
			l.col = 0
		} else {
			l.col++
		}
	}
}

func (l *lexer) skipSpaceAndComments() {
	for l.off < len(l.src) {
		c := l.src[l.off]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			l.advance(1)
		case c == '/' && strings.HasPrefix(l.src[l.off:], "//"):
			n := strings.IndexByte(l.src[l.off:], '\n')
			if n < 0 {
				n = len(l.src) - l.off
			}
			l.advance(n)
		default:
			return
		}
	}
}

func isIdentStart(c byte) bool {
	return c == '_' || c == '$' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isIdentChar(c byte) bool { return isIdentStart(c) || isDigit(c) }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func (l *lexer) next() (token, error) {
	l.skipSpaceAndComments()
	start := l.pos()
	if l.off >= len(l.src) {
		return token{kind: tokEOF, pos: start}, nil
	}
	rest := l.src[l.off:]
	c := rest[0]
	switch {
	case c == '@' && len(rest) > 1 && (rest[1] == '\'' || rest[1] == '"'):
		l.advance(1)
		s, err := l.verbatimString()
		if err != nil {
			return token{}, err
		}
		return token{kind: tokString, text: s, pos: start}, nil
	case c == '\'' || c == '"':
		s, err := l.quotedString()
		if err != nil {
			return token{}, err
		}
		return token{kind: tokString, text: s, pos: start}, nil
	case isDigit(c) || (c == '.' && len(rest) > 1 && isDigit(rest[1])):
		return l.number(start)
	case isIdentStart(c):
		n := 1
		for n < len(rest) && isIdentChar(rest[n]) {
			n++
		}
		word := rest[:n]
		if typedLiteralKeywords[word] {
			// Look past blanks for '('.
			m := n
			for m < len(rest) && (rest[m] == ' ' || rest[m] == '\t') {
				m++
			}
			if m < len(rest) && rest[m] == '(' {
				end := strings.IndexByte(rest[m:], ')')
				if end < 0 {
					l.advance(len(rest))
					return token{}, syntaxErr(start, "missing ')' after %s(", word)
				}
				raw := strings.TrimSpace(rest[m+1 : m+end])
				l.advance(m + end + 1)
				return token{kind: tokTyped, typ: word, text: raw, pos: start}, nil
			}
		}
		l.advance(n)
		return token{kind: tokIdent, text: word, pos: start}, nil
	}
	for _, p := range twoCharPuncts {
		if strings.HasPrefix(rest, p) {
			l.advance(2)
			return token{kind: tokPunct, text: p, pos: start}, nil
		}
	}
	switch c {
	case '|', ',', '(', ')', '[', ']', '=', '<', '>', '+', '-', '*', '/', '%', '!', '.', ';', '~', '{', '}', ':', '?':
		l.advance(1)
		return token{kind: tokPunct, text: string(c), pos: start}, nil
	}
	r, _ := utf8.DecodeRuneInString(rest)
	return token{}, syntaxErr(start, "unexpected character %q", r)
}

func (l *lexer) quotedString() (string, error) {
	start := l.pos()
	q := l.src[l.off]
	var b strings.Builder
	i := l.off + 1
	for i < len(l.src) {
		c := l.src[i]
		switch {
		case c == q:
			l.advance(i + 1 - l.off)
			return b.String(), nil
		case c == '\n':
			l.advance(i - l.off)
			return "", syntaxErr(start, "unterminated string literal")
		case c == '\\':
			if i+1 >= len(l.src) {
				i++
				continue
			}
			e := l.src[i+1]
			switch e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case '0':
				b.WriteByte(0)
			case '\\', '\'', '"':
				b.WriteByte(e)
			default:
				l.advance(i - l.off)
				return "", syntaxErr(l.pos(), "unknown escape sequence '\\%c'", e)
			}
			i += 2
		default:
			b.WriteByte(c)
			i++
		}
	}
	l.advance(len(l.src) - l.off)
	return "", syntaxErr(start, "unterminated string literal")
}

// verbatimString scans @'...' or @"..." in which backslash is literal and
// a doubled quote stands for one quote.
func (l *lexer) verbatimString() (string, error) {
	start := l.pos()
	q := l.src[l.off]
	var b strings.Builder
	i := l.off + 1
	for i < len(l.src) {
		c := l.src[i]
		if c == q {
			if i+1 < len(l.src) && l.src[i+1] == q {
				b.WriteByte(q)
				i += 2
				continue
			}
			l.advance(i + 1 - l.off)
			return b.String(), nil
		}
		if c == '\n' {
			break
		}
		b.WriteByte(c)
		i++
	}
	l.advance(len(l.src) - l.off)
	return "", syntaxErr(start, "unterminated string literal")
}

func (l *lexer) number(start Position) (token, error) {
	rest := l.src[l.off:]
	n := 0
	isReal := false
	if strings.HasPrefix(rest, "0x") || strings.HasPrefix(rest, "0X") {
		n = 2
		for n < len(rest) && strings.IndexByte("0123456789abcdefABCDEF", rest[n]) >= 0 {
			n++
		}
		l.advance(n)
		return token{kind: tokLong, text: rest[:n], pos: start}, nil
	}
	for n < len(rest) && isDigit(rest[n]) {
		n++
	}
	// A '.' followed by a digit is a fraction; ".." is the range operator.
	if n < len(rest) && rest[n] == '.' && !(n+1 < len(rest) && rest[n+1] == '.') {
		isReal = true
		n++
		for n < len(rest) && isDigit(rest[n]) {
			n++
		}
	}
	if n < len(rest) && (rest[n] == 'e' || rest[n] == 'E') {
		m := n + 1
		if m < len(rest) && (rest[m] == '+' || rest[m] == '-') {
			m++
		}
		if m < len(rest) && isDigit(rest[m]) {
			for m < len(rest) && isDigit(rest[m]) {
				m++
			}
			n = m
			isReal = true
		}
	}
	// A unit suffix makes a timespan literal.
	if n < len(rest) && isIdentStart(rest[n]) {
		m := n
		for m < len(rest) && isIdentChar(rest[m]) {
			m++
		}
		unit := rest[n:m]
		if _, ok := timespanUnits[unit]; ok {
			l.advance(m)
			return token{kind: tokTimespan, text: rest[:m], pos: start}, nil
		}
		l.advance(m)
		return token{}, syntaxErr(start, "invalid numeric literal '%s'", rest[:m])
	}
	l.advance(n)
	if isReal {
		return token{kind: tokReal, text: rest[:n], pos: start}, nil
	}
	return token{kind: tokLong, text: rest[:n], pos: start}, nil
}
