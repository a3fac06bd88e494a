package kql

import (
	"encoding/base64"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// String functions: strcat, strcat_array, split, substring,
// replace_string, replace_regex, trim, trim_start, trim_end, indexof,
// countof, extract, extract_all, parse_url, base64 and URL codecs,
// reverse, strrep. Positions and lengths count characters, as in Kusto.

func init() {
	// translate(search, replace, text): each character of search in text
	// becomes the character of replace at its index (the last one when
	// replace is shorter), or nothing when replace is empty.
	register(&funcDef{min: 3, max: 3, compile: func(c *compiler, e *CallExpr, args []cexpr) (cexpr, error) {
		for i, a := range args {
			if !a.typ().isStringy() && a.typ() != TypeDynamic {
				return nil, argErr(e, i, "a string", a.typ())
			}
		}
		return newRowFunc(TypeString, func(a []scalar) scalar {
			from, to := []rune(a[0].s), []rune(a[1].s)
			var b strings.Builder
			for _, r := range a[2].s {
				i := slices.Index(from, r)
				switch {
				case i < 0:
					b.WriteRune(r)
				case len(to) == 0:
				case i < len(to):
					b.WriteRune(to[i])
				default:
					b.WriteRune(to[len(to)-1])
				}
			}
			return scalar{s: b.String()}
		}, convertExpr(c, args[0], TypeString), convertExpr(c, args[1], TypeString), convertExpr(c, args[2], TypeString)), nil
	}}, "translate")

	str := func(c *compiler, x cexpr) cexpr { return convertExpr(c, x, TypeString) }
	register(&funcDef{min: 1, max: -1, compile: func(c *compiler, e *CallExpr, args []cexpr) (cexpr, error) {
		for i := range args {
			args[i] = str(c, args[i])
		}
		return newRowFunc(TypeString, func(a []scalar) scalar {
			var b strings.Builder
			for _, s := range a {
				b.WriteString(s.s)
			}
			return scalar{s: b.String()}
		}, args...), nil
	}}, "strcat")
	register(&funcDef{min: 2, max: 2, compile: func(c *compiler, e *CallExpr, args []cexpr) (cexpr, error) {
		if args[0].typ() != TypeDynamic {
			return nil, argErr(e, 0, "a dynamic array", args[0].typ())
		}
		return newRowFunc(TypeString, func(a []scalar) scalar {
			arr, _ := scalarDecoded(a[0]).([]any)
			parts := make([]string, len(arr))
			for i, x := range arr {
				parts[i] = dynToString(x)
			}
			return scalar{s: strings.Join(parts, a[1].s)}
		}, args[0], str(c, args[1])), nil
	}}, "strcat_array")
	register(&funcDef{min: 2, max: 3, compile: func(c *compiler, e *CallExpr, args []cexpr) (cexpr, error) {
		if !args[0].typ().isStringy() && args[0].typ() != TypeDynamic || !args[1].typ().isStringy() {
			return nil, semanticErr(e.At, "split() expects a string and a string delimiter")
		}
		idx := len(args) == 3
		t := TypeDynamic
		if idx {
			if args[2].typ() != TypeLong && args[2].typ() != TypeInt {
				return nil, argErr(e, 2, "an integer index", args[2].typ())
			}
		}
		cargs := []cexpr{str(c, args[0]), args[1]}
		if idx {
			cargs = append(cargs, args[2])
		}
		return newRowFunc(t, func(a []scalar) scalar {
			var parts []string
			if a[1].s == "" {
				parts = []string{a[0].s}
			} else {
				parts = strings.Split(a[0].s, a[1].s)
			}
			arr := make([]any, len(parts))
			for i, p := range parts {
				arr[i] = p
			}
			if idx {
				if a[2].null || a[2].i < 0 || a[2].i >= int64(len(arr)) {
					return scalar{s: dynText([]any{})}
				}
				return scalar{s: dynText([]any{arr[a[2].i]})}
			}
			return scalar{s: dynText(arr)}
		}, cargs...), nil
	}}, "split")
	register(&funcDef{min: 2, max: 3, compile: func(c *compiler, e *CallExpr, args []cexpr) (cexpr, error) {
		for i := 1; i < len(args); i++ {
			if t := args[i].typ(); t != TypeLong && t != TypeInt {
				return nil, argErr(e, i, "an integer", t)
			}
		}
		args[0] = str(c, args[0])
		return newRowFunc(TypeString, func(a []scalar) scalar {
			r := []rune(a[0].s)
			if a[1].null {
				return scalar{}
			}
			start := a[1].i
			if start < 0 {
				start += int64(len(r))
				if start < 0 {
					start = 0
				}
			}
			if start >= int64(len(r)) {
				return scalar{}
			}
			end := int64(len(r))
			if len(a) == 3 && !a[2].null {
				if a[2].i < 0 {
					return scalar{}
				}
				end = min(end, start+a[2].i)
			}
			return scalar{s: string(r[start:end])}
		}, args...), nil
	}}, "substring")
	register(&funcDef{min: 3, max: 3, compile: func(c *compiler, e *CallExpr, args []cexpr) (cexpr, error) {
		for i := range args {
			args[i] = str(c, args[i])
		}
		return newRowFunc(TypeString, func(a []scalar) scalar {
			if a[1].s == "" {
				return a[0]
			}
			return scalar{s: strings.ReplaceAll(a[0].s, a[1].s, a[2].s)}
		}, args...), nil
	}}, "replace_string", "replace")
	register(&funcDef{min: 3, max: 3, compile: func(c *compiler, e *CallExpr, args []cexpr) (cexpr, error) {
		re, err := constRegex(e, args, 1)
		if err != nil {
			return nil, err
		}
		return newRowFunc(TypeString, func(a []scalar) scalar {
			return scalar{s: re.ReplaceAllString(a[0].s, kustoRewrite(a[1].s))}
		}, str(c, args[0]), str(c, args[2])), nil
	}}, "replace_regex")
	trim := func(start, end bool) *funcDef {
		return &funcDef{min: 2, max: 2, compile: func(c *compiler, e *CallExpr, args []cexpr) (cexpr, error) {
			k, ok := args[0].(*constNode)
			if !ok || !k.t.isStringy() {
				return nil, semanticErr(e.Args[0].Pos(), "%s(): the pattern must be a constant string", e.Name)
			}
			var reS, reE *regexp.Regexp
			var err error
			if start {
				if reS, err = compileRegex("^(?:" + k.v.s + ")+"); err != nil {
					return nil, semanticErr(e.Args[0].Pos(), "%s(): invalid regular expression: %v", e.Name, err)
				}
			}
			if end {
				if reE, err = compileRegex("(?:" + k.v.s + ")+$"); err != nil {
					return nil, semanticErr(e.Args[0].Pos(), "%s(): invalid regular expression: %v", e.Name, err)
				}
			}
			return newRowFunc(TypeString, func(a []scalar) scalar {
				s := a[0].s
				if reS != nil {
					s = reS.ReplaceAllString(s, "")
				}
				if reE != nil {
					s = reE.ReplaceAllString(s, "")
				}
				return scalar{s: s}
			}, str(c, args[1])), nil
		}}
	}
	register(trim(true, true), "trim")
	register(trim(true, false), "trim_start")
	register(trim(false, true), "trim_end")
	register(&funcDef{min: 2, max: 5, compile: func(c *compiler, e *CallExpr, args []cexpr) (cexpr, error) {
		args[0], args[1] = str(c, args[0]), str(c, args[1])
		for i := 2; i < len(args); i++ {
			if t := args[i].typ(); t != TypeLong && t != TypeInt {
				return nil, argErr(e, i, "an integer", t)
			}
		}
		return newRowFunc(TypeLong, func(a []scalar) scalar {
			r := []rune(a[0].s)
			start, length, occ := int64(0), int64(-1), int64(1)
			if len(a) > 2 {
				start = a[2].i
			}
			if len(a) > 3 {
				length = a[3].i
			}
			if len(a) > 4 {
				occ = a[4].i
			}
			if start < 0 {
				start += int64(len(r))
			}
			if start < 0 || start > int64(len(r)) || occ < 1 {
				return nullScalar
			}
			hay := r[start:]
			if length >= 0 && length < int64(len(hay)) {
				hay = hay[:length]
			}
			h, n := string(hay), a[1].s
			from := 0
			for k := int64(1); ; k++ {
				i := strings.Index(h[from:], n)
				if i < 0 {
					return scalar{i: -1}
				}
				if k == occ {
					return scalar{i: start + int64(utf8.RuneCountInString(h[:from+i]))}
				}
				from += i + max(len(n), 1)
				if from > len(h) {
					return scalar{i: -1}
				}
			}
		}, args...), nil
	}}, "indexof")
	register(&funcDef{min: 2, max: 3, compile: func(c *compiler, e *CallExpr, args []cexpr) (cexpr, error) {
		isRegex := false
		if len(args) == 3 {
			k, ok := args[2].(*constNode)
			if !ok || (k.v.s != "normal" && k.v.s != "regex") {
				return nil, semanticErr(e.Args[2].Pos(), "countof(): the kind must be 'normal' or 'regex'")
			}
			isRegex = k.v.s == "regex"
		}
		if isRegex {
			re, err := constRegex(e, args, 1)
			if err != nil {
				return nil, err
			}
			return newRowFunc(TypeLong, func(a []scalar) scalar {
				return scalar{i: int64(len(re.FindAllStringIndex(a[0].s, -1)))}
			}, str(c, args[0])), nil
		}
		return newRowFunc(TypeLong, func(a []scalar) scalar {
			if a[1].s == "" {
				return scalar{i: 0}
			}
			// Overlapping occurrences count, as in Kusto.
			n, s := int64(0), a[0].s
			for {
				i := strings.Index(s, a[1].s)
				if i < 0 {
					return scalar{i: n}
				}
				n++
				_, size := utf8.DecodeRuneInString(s[i:])
				s = s[i+size:]
			}
		}, str(c, args[0]), str(c, args[1])), nil
	}}, "countof")
	register(&funcDef{min: 3, max: 4, compile: func(c *compiler, e *CallExpr, args []cexpr) (cexpr, error) {
		re, err := constRegex(e, args, 0)
		if err != nil {
			return nil, err
		}
		g, ok := args[1].(*constNode)
		if !ok || (g.t != TypeLong && g.t != TypeInt) || g.v.i < 0 || int(g.v.i) > re.NumSubexp() {
			return nil, semanticErr(e.Args[1].Pos(), "extract(): the capture group must be a constant between 0 and %d", re.NumSubexp())
		}
		t := TypeString
		if len(args) == 4 {
			// extract(re, g, s, typeof(T)): typeof is compiled as its name.
			tn, ok := typeofArg(e.Args[3])
			if !ok {
				return nil, semanticErr(e.Args[3].Pos(), "extract(): expected typeof(type)")
			}
			t = tn
		}
		group := int(g.v.i)
		return newRowFunc(t, func(a []scalar) scalar {
			m := re.FindStringSubmatch(a[0].s)
			if m == nil {
				return convertScalar(nullScalar, TypeString, t)
			}
			return convertScalar(scalar{s: m[group]}, TypeString, t)
		}, str(c, args[2])), nil
	}}, "extract")
	register(&funcDef{min: 2, max: 3, compile: func(c *compiler, e *CallExpr, args []cexpr) (cexpr, error) {
		re, err := constRegex(e, args, 0)
		if err != nil {
			return nil, err
		}
		src := args[len(args)-1]
		var groups []int
		if len(args) == 3 {
			k, ok := args[1].(*constNode)
			arr, isArr := scalarDecoded(k.v).([]any)
			if !ok || k.t != TypeDynamic || !isArr {
				return nil, semanticErr(e.Args[1].Pos(), "extract_all(): the capture groups must be a constant dynamic array")
			}
			for _, x := range arr {
				n, ok := x.(int64)
				if !ok || n < 0 || int(n) > re.NumSubexp() {
					return nil, semanticErr(e.Args[1].Pos(), "extract_all(): no capture group %v", x)
				}
				groups = append(groups, int(n))
			}
		}
		return newRowFunc(TypeDynamic, func(a []scalar) scalar {
			ms := re.FindAllStringSubmatch(a[0].s, -1)
			if len(ms) == 0 {
				return nullScalar
			}
			out := make([]any, len(ms))
			for i, m := range ms {
				switch {
				case groups != nil:
					row := make([]any, len(groups))
					for j, g := range groups {
						row[j] = m[g]
					}
					out[i] = row
				case len(m) == 1:
					out[i] = m[0]
				case len(m) == 2:
					out[i] = m[1]
				default:
					row := make([]any, len(m)-1)
					for j := range row {
						row[j] = m[j+1]
					}
					out[i] = row
				}
			}
			return scalar{s: dynText(out)}
		}, str(c, src)), nil
	}}, "extract_all")
	register(&funcDef{min: 1, max: 1, compile: func(c *compiler, e *CallExpr, args []cexpr) (cexpr, error) {
		return newRowFunc(TypeDynamic, func(a []scalar) scalar { return scalar{s: dynText(parseURL(a[0].s))} }, str(c, args[0])), nil
	}}, "parse_url")
	codec := func(f func(string) (string, bool)) *funcDef {
		return &funcDef{min: 1, max: 1, compile: func(c *compiler, e *CallExpr, args []cexpr) (cexpr, error) {
			return newRowFunc(TypeString, func(a []scalar) scalar {
				s, ok := f(a[0].s)
				if !ok {
					return scalar{}
				}
				return scalar{s: s}
			}, str(c, args[0])), nil
		}}
	}
	register(codec(func(s string) (string, bool) { return base64.StdEncoding.EncodeToString([]byte(s)), true }), "base64_encode_tostring", "base64_encodestring")
	register(codec(func(s string) (string, bool) {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil || !utf8.Valid(b) {
			return "", false
		}
		return string(b), true
	}), "base64_decode_tostring", "base64_decodestring")
	register(codec(func(s string) (string, bool) { return url.QueryEscape(s), true }), "url_encode", "url_encode_component")
	register(codec(func(s string) (string, bool) {
		d, err := url.QueryUnescape(s)
		return d, err == nil
	}), "url_decode")
	register(codec(func(s string) (string, bool) {
		r := []rune(s)
		for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
			r[i], r[j] = r[j], r[i]
		}
		return string(r), true
	}), "reverse")
	register(&funcDef{min: 2, max: 3, compile: func(c *compiler, e *CallExpr, args []cexpr) (cexpr, error) {
		if t := args[1].typ(); t != TypeLong && t != TypeInt {
			return nil, argErr(e, 1, "an integer", t)
		}
		cargs := []cexpr{str(c, args[0]), args[1]}
		if len(args) == 3 {
			cargs = append(cargs, str(c, args[2]))
		}
		return newRowFunc(TypeString, func(a []scalar) scalar {
			n := a[1].i
			if a[1].null || n <= 0 {
				return scalar{}
			}
			sep := ""
			if len(a) == 3 {
				sep = a[2].s
			}
			if int64(len(a[0].s)+len(sep))*n > 1<<20 {
				return scalar{} // longer than Kusto's string limit
			}
			parts := make([]string, n)
			for i := range parts {
				parts[i] = a[0].s
			}
			return scalar{s: strings.Join(parts, sep)}
		}, cargs...), nil
	}}, "strrep")
}

// constRegex compiles the constant regular expression of argument i.
func constRegex(e *CallExpr, args []cexpr, i int) (*regexp.Regexp, error) {
	k, ok := args[i].(*constNode)
	if !ok || !k.t.isStringy() {
		return nil, semanticErr(e.Args[i].Pos(), "%s(): the regular expression must be a constant string", e.Name)
	}
	re, err := compileRegex(k.v.s)
	if err != nil {
		return nil, semanticErr(e.Args[i].Pos(), "%s(): invalid regular expression: %v", e.Name, err)
	}
	return re, nil
}

// kustoRewrite turns Kusto's \1 group references into Go's ${1}.
func kustoRewrite(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s) && isDigit(s[i+1]):
			b.WriteString("${" + string(s[i+1]) + "}")
			i++
		case c == '$':
			b.WriteString("$$")
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// typeofArg reads typeof(T) in argument position.
func typeofArg(e Expr) (Type, bool) {
	call, ok := e.(*CallExpr)
	if !ok || call.Name != "typeof" || len(call.Args) != 1 {
		return 0, false
	}
	id, ok := call.Args[0].(*Ident)
	if !ok {
		return 0, false
	}
	return ParseType(id.Name)
}

// parseURL splits a URL into Kusto's parse_url bag.
func parseURL(s string) any {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" {
		return &dynBag{}
	}
	b := &dynBag{}
	b.set("Scheme", u.Scheme)
	b.set("Host", u.Hostname())
	b.set("Port", u.Port())
	b.set("Path", u.Path)
	user, pass := "", ""
	if u.User != nil {
		user = u.User.Username()
		pass, _ = u.User.Password()
	}
	b.set("Username", user)
	b.set("Password", pass)
	q := &dynBag{}
	for _, kv := range strings.Split(u.RawQuery, "&") {
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		uk, _ := url.QueryUnescape(k)
		uv, _ := url.QueryUnescape(v)
		q.set(uk, uv)
	}
	b.set("Query Parameters", q)
	b.set("Fragment", u.Fragment)
	return b
}
