package kql

import "strings"

// String matching used by the string operators. Kusto's case-insensitive
// operators fold ASCII and Unicode simple case; the ASCII paths below avoid
// allocating, and non-ASCII needles fall back to strings.ToLower.

func lowerASCII(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func isASCIILetter(c byte) bool { return (c|0x20) >= 'a' && (c|0x20) <= 'z' }

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// isTermChar reports whether c belongs to a term for has: ASCII letters and
// digits, and every byte of a non-ASCII character.
func isTermChar(c byte) bool {
	return c >= 0x80 || isDigit(c) || isASCIILetter(c)
}

// matcher finds a needle in strings, case-sensitively or not.
type matcher struct {
	needle string // lower-cased when fold
	fold   bool
	ascii  bool
	// anchor is the offset in needle of a byte without case, used to find
	// candidates with strings.IndexByte; -1 when every byte is a letter.
	anchor int
}

func newMatcher(needle string, caseSensitive bool) *matcher {
	m := &matcher{needle: needle, fold: !caseSensitive, ascii: isASCII(needle), anchor: -1}
	if m.fold {
		m.needle = strings.ToLower(needle)
		for i := 0; i < len(m.needle); i++ {
			if !isASCIILetter(m.needle[i]) {
				m.anchor = i
				break
			}
		}
	}
	return m
}

// index returns the first offset >= from at which the needle occurs in h,
// or -1.
func (m *matcher) index(h string, from int) int {
	n := m.needle
	if !m.fold {
		i := strings.Index(h[from:], n)
		if i < 0 {
			return -1
		}
		return from + i
	}
	if !m.ascii {
		// Offsets in the lower-cased copy may differ from h's; only
		// report presence, at an offset that callers treat as a match.
		lh := strings.ToLower(h[from:])
		return strings.Index(lh, n)
	}
	if len(n) == 0 {
		return from
	}
	last := len(h) - len(n)
	if m.anchor >= 0 {
		a := n[m.anchor]
		for i := from; i <= last; {
			j := strings.IndexByte(h[i+m.anchor:last+m.anchor+1], a)
			if j < 0 {
				return -1
			}
			i += j
			if equalFoldASCII(h[i:i+len(n)], n) {
				return i
			}
			i++
		}
		return -1
	}
	lo := n[0]
	up := lo - ('a' - 'A')
	for i := from; i <= last; {
		s := h[i : last+1]
		j := strings.IndexByte(s, lo)
		if j != 0 {
			end := len(s)
			if j > 0 {
				end = j
			}
			if k := strings.IndexByte(s[:end], up); k >= 0 {
				j = k
			}
		}
		if j < 0 {
			return -1
		}
		i += j
		if equalFoldASCII(h[i:i+len(n)], n) {
			return i
		}
		i++
	}
	return -1
}

// equalFoldASCII compares s with the lower-case ASCII string lower.
func equalFoldASCII(s, lower string) bool {
	for i := 0; i < len(lower); i++ {
		if lowerASCII(s[i]) != lower[i] {
			return false
		}
	}
	return true
}

func (m *matcher) contains(h string) bool { return m.index(h, 0) >= 0 }

// has reports whether the needle occurs in h as a whole term (or phrase):
// not preceded or followed by a term character where the needle itself
// begins or ends with one.
func (m *matcher) has(h string) bool {
	n := m.needle
	if len(n) == 0 {
		return true
	}
	if m.fold && !m.ascii {
		h = strings.ToLower(h)
		m2 := matcher{needle: n, anchor: -1}
		return m2.has(h)
	}
	checkStart := isTermChar(n[0])
	checkEnd := isTermChar(n[len(n)-1])
	for from := 0; from <= len(h)-len(n); {
		i := m.index(h, from)
		if i < 0 {
			return false
		}
		if (!checkStart || i == 0 || !isTermChar(h[i-1])) &&
			(!checkEnd || i+len(n) == len(h) || !isTermChar(h[i+len(n)])) {
			return true
		}
		from = i + 1
	}
	return false
}

func (m *matcher) hasPrefix(h string) bool {
	if !m.fold {
		return strings.HasPrefix(h, m.needle)
	}
	if m.ascii {
		return len(h) >= len(m.needle) && equalFoldASCII(h[:len(m.needle)], m.needle)
	}
	return strings.HasPrefix(strings.ToLower(h), m.needle)
}

func (m *matcher) hasSuffix(h string) bool {
	if !m.fold {
		return strings.HasSuffix(h, m.needle)
	}
	if m.ascii {
		return len(h) >= len(m.needle) && equalFoldASCII(h[len(h)-len(m.needle):], m.needle)
	}
	return strings.HasSuffix(strings.ToLower(h), m.needle)
}
