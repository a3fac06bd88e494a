package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/valyala/fastjson"
)

// The Data Collector body is decoded a record at a time: encoding/json's
// scanner cuts each record out of the stream (validating it; the body is
// never held whole), then fastjson parses it into the parser's own reusable
// values, read field by field in document order. Decoding into map[string]any with encoding/json took
// most of ingestion's CPU (a map, an interface and a json.Number per
// field). What it accepted and how it typed values is kept: numbers are
// read by strconv.ParseFloat from their text, invalid UTF-8 becomes
// U+FFFD per byte, a repeated field name keeps its last value, nested
// objects and arrays are stored as their compact JSON with sorted keys,
// and a UTF-16 surrogate escape that is not part of a pair (which fastjson
// keeps as its escape text) becomes U+FFFD: a body that has one is first
// normalized by a round trip through encoding/json (see loneSurrogate).

var parsers fastjson.ParserPool

// field is one name/value pair of a record.
type field struct {
	name []byte
	v    *fastjson.Value
}

// decoder holds what one body's decoding reuses across its records.
type decoder struct {
	fields []field
	last   map[string]int // for records with many fields: name → last index
	names  map[string]*[6]string
	num    []byte
}

// columnName returns name + the suffix of typ, allocated once per body.
func (d *decoder) columnName(name []byte, typ string) string {
	e := d.names[string(name)]
	if e == nil {
		e = new([6]string)
		d.names[string(name)] = e
	}
	i := typeIndex(typ)
	if e[i] == "" {
		e[i] = string(name) + suffix(typ)
	}
	return e[i]
}

func typeIndex(typ string) int {
	switch typ {
	case TypeReal:
		return 0
	case TypeBool:
		return 1
	case TypeDatetime:
		return 2
	case TypeGUID:
		return 3
	default:
		return 4
	}
}

// recordFields returns the fields of obj in document order, keeping only
// the last of fields with the same name.
func (d *decoder) recordFields(obj *fastjson.Object) []field {
	d.fields = d.fields[:0]
	obj.Visit(func(k []byte, v *fastjson.Value) { d.fields = append(d.fields, field{k, v}) })
	fs := d.fields
	keep := fs[:0]
	if len(fs) <= 32 {
	next:
		for i, f := range fs {
			for _, g := range fs[i+1:] {
				if string(g.name) == string(f.name) {
					continue next
				}
			}
			keep = append(keep, f)
		}
		return keep
	}
	if d.last == nil {
		d.last = map[string]int{}
	}
	clear(d.last)
	for i, f := range fs {
		d.last[string(f.name)] = i
	}
	for i, f := range fs {
		if d.last[string(f.name)] == i {
			keep = append(keep, f)
		}
	}
	return keep
}

// typedJSON types one field value as typed does for encoding/json values.
func (d *decoder) typedJSON(name []byte, raw *fastjson.Value) (value, error) {
	var v value
	switch raw.Type() {
	case fastjson.TypeNumber:
		d.num = raw.MarshalTo(d.num[:0])
		f, err := strconv.ParseFloat(string(d.num), 64)
		if err != nil {
			return v, fmt.Errorf("the number in field '%s' is out of range", truncate(string(name)))
		}
		v = value{typ: TypeReal, f: f}
	case fastjson.TypeTrue:
		v = value{typ: TypeBool, b: true}
	case fastjson.TypeFalse:
		v = value{typ: TypeBool}
	case fastjson.TypeString:
		b, _ := raw.StringBytes()
		if len(b) > MaxFieldBytes {
			return v, fmt.Errorf("the field '%s' has %d bytes; the limit is %d: shorten or split it", truncate(string(name)), len(b), MaxFieldBytes)
		}
		x := validUTF8(b)
		switch {
		case isGUID(x):
			v = value{typ: TypeGUID, s: strings.ToLower(x)}
		default:
			if t, ok := ParseDatetime(x); ok {
				v = value{typ: TypeDatetime, t: t}
			} else {
				v = value{typ: TypeString, s: x}
			}
		}
	default: // object or array: its compact JSON, as encoding/json writes it
		var x any
		if err := json.Unmarshal(raw.MarshalTo(nil), &x); err != nil {
			return v, err
		}
		text, err := json.Marshal(x)
		if err != nil {
			return v, err
		}
		if len(text) > MaxFieldBytes {
			return v, fmt.Errorf("the field '%s' has %d bytes; the limit is %d: shorten or split it", truncate(string(name)), len(text), MaxFieldBytes)
		}
		v = value{typ: TypeString, s: string(text)}
	}
	v.name = d.columnName(name, v.typ)
	return v, nil
}

// validUTF8 returns b as a string, each byte of an invalid UTF-8 sequence
// replaced by U+FFFD (as encoding/json decodes strings).
func validUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	var sb strings.Builder
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n == 1 {
			sb.WriteRune(utf8.RuneError)
		} else {
			sb.Write(b[:n])
		}
		b = b[n:]
	}
	return sb.String()
}

func validFieldNameBytes(s []byte) bool {
	if len(s) == 0 || len(s) > 500 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// loneSurrogate reports whether body may hold a \u escape of a UTF-16
// surrogate that is not part of a valid pair. It may answer true for the
// text of an escaped backslash followed by "ud800" and the like; the
// caller's normalization is then merely unneeded.
func loneSurrogate(body []byte) bool {
	for i := 0; i+6 <= len(body); i++ {
		if body[i] != '\\' || body[i+1] != 'u' {
			continue
		}
		r, ok := hex4(body[i+2 : i+6])
		if !ok || r < 0xd800 || r > 0xdfff {
			continue
		}
		if r <= 0xdbff && i+12 <= len(body) && body[i+6] == '\\' && body[i+7] == 'u' {
			if lo, ok := hex4(body[i+8 : i+12]); ok && lo >= 0xdc00 && lo <= 0xdfff {
				i += 11
				continue
			}
		}
		return true
	}
	return false
}

func hex4(b []byte) (rune, bool) {
	var r rune
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// normalizeJSON re-encodes body through encoding/json (numbers kept as
// written), which turns lone surrogate escapes into U+FFFD.
func normalizeJSON(body []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON value")
	}
	return json.Marshal(v)
}

// rawControlInString reports whether a string of body holds a raw control
// character (below 0x20), which JSON forbids and fastjson's validation
// lets through. Outside strings only whitespace may be below 0x20, which
// validation checks.
func rawControlInString(body []byte) bool {
	i := 0
	for i < len(body) && body[i] >= 0x20 {
		i++
	}
	if i == len(body) {
		return false // the usual case: no control character at all
	}
	in, esc := false, false
	for _, c := range body {
		switch {
		case esc:
			esc = false
		case in && c == '\\':
			esc = true
		case c == '"':
			in = !in
		case in && c < 0x20:
			return true
		}
	}
	return false
}
