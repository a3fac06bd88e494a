package resources

import (
	"strings"
	"unicode"
)

// This file holds the small subset of OData $filter syntax that Resource
// Manager list operations accept: clauses of the form "name eq 'value'" or
// "function('value')" / "function()", joined by "and".

// filterClause is one clause of a $filter: either Name eq Value (Func
// empty) or Func(Value).
type filterClause struct {
	Name  string
	Func  string
	Value string
}

// parseFilter parses a $filter of clauses joined by "and". Names and
// function names are returned as written; string literals are unquoted
// (a doubled quote stands for one quote). ok=false if the filter is not of
// that form.
func parseFilter(filter string) ([]filterClause, bool) {
	var out []filterClause
	for _, raw := range splitAnd(filter) {
		c, ok := parseClause(raw)
		if !ok {
			return nil, false
		}
		out = append(out, c)
	}
	return out, len(out) > 0
}

// splitAnd splits s on the keyword "and" (any case, surrounded by white
// space) outside string literals.
func splitAnd(s string) []string {
	var (
		parts   []string
		start   int
		inQuote bool
	)
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\'':
			inQuote = !inQuote
		case !inQuote && i > 0 && i+3 < len(s) && isSpace(s[i-1]) && strings.EqualFold(s[i:i+3], "and") && isSpace(s[i+3]):
			parts = append(parts, strings.TrimSpace(s[start:i]))
			start = i + 3
			i += 2
		}
	}
	return append(parts, strings.TrimSpace(s[start:]))
}

func isSpace(b byte) bool { return b == ' ' || b == '\t' }

// parseClause parses "name eq 'value'", "func('value')" or "func()".
func parseClause(s string) (filterClause, bool) {
	if open := strings.IndexByte(s, '('); open > 0 && strings.HasSuffix(s, ")") {
		fn := strings.TrimSpace(s[:open])
		if !isIdent(fn) {
			return filterClause{}, false
		}
		arg := strings.TrimSpace(s[open+1 : len(s)-1])
		if arg == "" {
			return filterClause{Func: fn}, true
		}
		v, ok := unquote(arg)
		return filterClause{Func: fn, Value: v}, ok
	}
	name, rest, ok := strings.Cut(s, " ")
	if !ok || !isIdent(name) {
		return filterClause{}, false
	}
	rest = strings.TrimSpace(rest)
	op, lit, ok := strings.Cut(rest, " ")
	if !ok || !strings.EqualFold(op, "eq") {
		return filterClause{}, false
	}
	v, ok := unquote(strings.TrimSpace(lit))
	return filterClause{Name: name, Value: v}, ok
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_' {
			return false
		}
	}
	return true
}

// unquote returns the value of an OData string literal: the text between
// single quotes, in which a doubled quote stands for one quote.
func unquote(s string) (string, bool) {
	if len(s) < 2 || s[0] != '\'' || s[len(s)-1] != '\'' {
		return "", false
	}
	inner := s[1 : len(s)-1]
	var b strings.Builder
	for i := 0; i < len(inner); i++ {
		if inner[i] == '\'' {
			if i+1 >= len(inner) || inner[i+1] != '\'' {
				return "", false
			}
			i++
		}
		b.WriteByte(inner[i])
	}
	return b.String(), true
}
