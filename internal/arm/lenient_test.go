package arm

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// specClusterBody is the first cluster creation body from the spec document,
// verbatim: note the trailing commas.
const specClusterBody = `{
  "identity": {
    "type": "systemAssigned"
    },
  "sku": {
    "name": "capacityReservation",
    "Capacity": 1000
    },
  "properties": {
    "clusterType": "LogAnalytics",
    },
  "location": "<region-name>",
}`

// specKeyVaultBody is the second cluster body from the spec document,
// verbatim: note the unquoted property names and the trailing whitespace.
const specKeyVaultBody = `{
   "identity": { 
     "type": "systemAssigned" 
     },
   "sku": {
     "name": "capacityReservation",
     "capacity": 1000
     },
   "properties": {
     "KeyVaultProperties": {
       KeyVaultUri: "https://<key-vault-name>.vault.azure.net",
       KeyName: "<key-name>",
       KeyVersion: "<current-version>"
       },
   },
   "location":"<region-name>"
}`

type obj = map[string]any
type arr = []any
type num = json.Number

// lenientAccepted are inputs DecodeLenient must accept, with their values.
var lenientAccepted = []struct {
	name string
	in   string
	want any
}{
	{"spec cluster body", specClusterBody, obj{
		"identity":   obj{"type": "systemAssigned"},
		"sku":        obj{"name": "capacityReservation", "Capacity": num("1000")},
		"properties": obj{"clusterType": "LogAnalytics"},
		"location":   "<region-name>",
	}},
	{"spec key vault body", specKeyVaultBody, obj{
		"identity": obj{"type": "systemAssigned"},
		"sku":      obj{"name": "capacityReservation", "capacity": num("1000")},
		"properties": obj{"KeyVaultProperties": obj{
			"KeyVaultUri": "https://<key-vault-name>.vault.azure.net",
			"KeyName":     "<key-name>",
			"KeyVersion":  "<current-version>",
		}},
		"location": "<region-name>",
	}},

	// Plain RFC 8259.
	{"null", `null`, nil},
	{"true", `true`, true},
	{"false", ` false `, false},
	{"zero", `0`, num("0")},
	{"negative zero", `-0`, num("-0")},
	{"integer", `1000`, num("1000")},
	{"negative", `-12`, num("-12")},
	{"fraction", `3.25`, num("3.25")},
	{"exponent", `1e3`, num("1e3")},
	{"exponent sign", `-1.5E-07`, num("-1.5E-07")},
	{"exponent plus", `2e+10`, num("2e+10")},
	{"big number kept exactly", `123456789012345678901234567890.5e999`, num("123456789012345678901234567890.5e999")},
	{"empty string", `""`, ""},
	{"string", `"abc"`, "abc"},
	{"escapes", `"\"\\\/\b\f\n\r\t"`, "\"\\/\b\f\n\r\t"},
	{"unicode escape", `"\u00e9\u00C9"`, "éÉ"},
	{"nul escape", `"a\u0000b"`, "a\x00b"},
	{"surrogate pair", `"\uD83D\uDE00"`, "😀"},
	{"lone high surrogate", `"\uD83Dx"`, "\uFFFDx"},
	{"lone low surrogate", `"\uDE00"`, "\uFFFD"},
	{"high surrogate then escape", `"\uD83D\u0041"`, "\uFFFDA"},
	{"two highs then low", `"\uD83D\uD83D\uDE00"`, "\uFFFD😀"},
	{"raw UTF-8", `"héllo 世界"`, "héllo 世界"},
	{"invalid UTF-8 replaced per byte", "\"a\xffb\xed\xa0\x80\"", "a\uFFFDb\uFFFD\uFFFD\uFFFD"},
	{"invalid UTF-8 with escape", "\"\xff\\n\"", "\uFFFD\n"},
	{"DEL is not a control character", "\"\x7f\"", "\x7f"},
	{"empty object", `{}`, obj{}},
	{"empty array", `[]`, arr{}},
	{"object", `{"a": 1, "b": [true, null, "x"]}`, obj{"a": num("1"), "b": arr{true, nil, "x"}}},
	{"nested arrays", `[[[]],[{}]]`, arr{arr{arr{}}, arr{obj{}}}},
	{"duplicate keys last wins", `{"a":1,"a":2}`, obj{"a": num("2")}},
	{"keys keep their case", `{"Capacity":1,"capacity":2}`, obj{"Capacity": num("1"), "capacity": num("2")}},
	{"empty key", `{"":1}`, obj{"": num("1")}},
	{"all whitespace kinds", "\t\r\n {\r\n\t\"a\" :\n1 \r}\n", obj{"a": num("1")}},

	// Relaxations.
	{"BOM", "\xef\xbb\xbf{\"a\":1}", obj{"a": num("1")}},
	{"BOM before scalar", "\xef\xbb\xbf 1", num("1")},
	{"trailing comma object", `{"a":1,}`, obj{"a": num("1")}},
	{"trailing comma array", `[1,2,]`, arr{num("1"), num("2")}},
	{"trailing comma with space", "[1 , \n]", arr{num("1")}},
	{"trailing comma nested", `{"a":[{"b":1,},],}`, obj{"a": arr{obj{"b": num("1")}}}},
	{"unquoted key", `{a:1}`, obj{"a": num("1")}},
	{"unquoted keys with _ $ digits", `{_a$1: 1, $: 2, 9lives: 3}`, obj{"_a$1": num("1"), "$": num("2"), "9lives": num("3")}},
	{"unquoted unicode key", `{größe: 1}`, obj{"größe": num("1")}},
	{"unquoted keyword keys", `{true: 1, null: 2}`, obj{"true": num("1"), "null": num("2")}},
	{"unquoted key before comment", `{a/*c*/:1}`, obj{"a": num("1")}},
	{"single-quoted string", `'abc'`, "abc"},
	{"single-quoted key and value", `{'a':'b'}`, obj{"a": "b"}},
	{"double quote inside single", `'say "hi"'`, `say "hi"`},
	{"single quote inside double", `"it's"`, "it's"},
	{"escaped single quote", `'it\'s'`, "it's"},
	{"escaped single quote in double", `"it\'s"`, "it's"},
	{"single-quoted escapes", `'\u0041\n\"'`, "A\n\""},
	{"line comment", "// leading\n{\"a\":1} // trailing", obj{"a": num("1")}},
	{"line comment at end without newline", `1 //`, num("1")},
	{"line comment ends at CR", "[1 // c\r,2]", arr{num("1"), num("2")}},
	{"block comment", `/* a */ [ /* b */ 1 /* c */ , /**/ 2 /* d ** e */ ] /***/`, arr{num("1"), num("2")}},
	{"comment between key and colon", `{"a" /* x */ : // y` + "\n 1}", obj{"a": num("1")}},
	{"comment-like text in string", `"// not /* a comment */"`, "// not /* a comment */"},
	{"multi-line block comment", "/*\n * header\n */\n{}", obj{}},
}

// lenientRejected are inputs DecodeLenient must reject, with the error
// position, path and a fragment of the message.
var lenientRejected = []struct {
	name       string
	in         string
	line, col  int
	path       string
	msgPortion string
}{
	{"empty", ``, 1, 1, "", "empty"},
	{"whitespace only", " \n\t ", 2, 3, "", "empty"},
	{"BOM only", "\xef\xbb\xbf", 1, 1, "", "empty"},
	{"comments only", "// nothing\n/* here */", 2, 11, "", "empty"},
	{"unterminated string", `{"a": "abc}`, 1, 7, "a", "Unterminated string"},
	{"unterminated string at escape", `"abc\`, 1, 1, "", "Unterminated string"},
	{"unterminated single-quoted", `'abc"`, 1, 1, "", "Expected delimiter: '"},
	{"unterminated object", `{"a":1`, 1, 7, "a", "end of content while parsing object"},
	{"unterminated object after comma", "{\"a\":1,\n", 2, 1, "a", "end of content while parsing object"},
	{"unterminated object after key", `{"a"`, 1, 5, "a", "end of content while parsing object"},
	{"unterminated object after colon", `{"a":`, 1, 6, "a", "end of content while parsing value"},
	{"unterminated array", `[1,2`, 1, 5, "[1]", "end of content while parsing array"},
	{"unterminated array after comma", `[1,`, 1, 4, "[1]", "end of content while parsing array"},
	{"unterminated block comment", "[1]\n  /* open", 2, 3, "", "Unterminated comment"},
	{"lone slash at end", `1 /`, 1, 4, "", "end of content while parsing comment"},
	{"slash not a comment", `[1 /x]`, 1, 5, "[0]", "Expected: * or /, got x"},
	{"missing colon", `{"a" 1}`, 1, 6, "a", "Expected ':' but got: 1"},
	{"missing colon unquoted key", `{a 1}`, 1, 4, "a", "Expected ':' but got: 1"},
	{"equals instead of colon", `{"a"=1}`, 1, 5, "a", "Expected ':' but got: ="},
	{"double comma array", `[1,,2]`, 1, 4, "[1]", "Unexpected character encountered while parsing value: ,"},
	{"double comma object", `{"a":1,,"b":2}`, 1, 8, "a", "Invalid property identifier character: ,"},
	{"leading comma object", `{,"a":1}`, 1, 2, "", "Invalid property identifier character: ,"},
	{"leading comma array", `[,1]`, 1, 2, "[0]", "while parsing value: ,"},
	{"lone comma object", `{,}`, 1, 2, "", "Invalid property identifier character: ,"},
	{"lone comma array", `[,]`, 1, 2, "[0]", "while parsing value: ,"},
	{"missing comma object", `{"a":1 "b":2}`, 1, 8, "a", "After parsing a value an unexpected character was encountered: \""},
	{"missing comma array", `[1 2]`, 1, 4, "[0]", "After parsing a value an unexpected character was encountered: 2"},
	{"mismatched bracket", `[1}`, 1, 3, "[0]", "unexpected character was encountered: }"},
	{"mismatched brace", `{"a":1]`, 1, 7, "a", "unexpected character was encountered: ]"},
	{"garbage after value", `{} x`, 1, 4, "", "Additional text encountered after finished reading JSON content: x"},
	{"second value", "1\n2", 2, 1, "", "Additional text"},
	{"extra closing brace", `{}}`, 1, 3, "", "Additional text"},
	{"invalid escape", `"a\x"`, 1, 3, "", `Bad JSON escape sequence: '\x'`},
	{"invalid unicode escape", `["\u12G4"]`, 1, 3, "[0]", `Bad JSON escape sequence: '\u12G4'`},
	{"short unicode escape", `"\u12"`, 1, 2, "", `Bad JSON escape sequence: '\u12"'`},
	{"bad escape after valid high surrogate", `"\uD800\uZZZZ"`, 1, 8, "", "Bad JSON escape"},
	{"control character in string", "{\"a\":\"x\ty\"}", 1, 8, "a", "U+0009"},
	{"newline in string", "{\n \"a\": \"x\ny\"}", 2, 9, "a", "U+000A"},
	{"control character in slow string", "\"\\n\x01\"", 1, 4, "", "U+0001"},
	{"control character in key", "{\"a\x00\":1}", 1, 4, "", "U+0000"},
	{"leading zero", `01`, 1, 1, "", "Invalid number '01'"},
	{"negative leading zero", `[-01]`, 1, 2, "[0]", "Invalid number '-01'"},
	{"trailing dot", `{"a":1.}`, 1, 6, "a", "Invalid number '1.'"},
	{"lone minus", `-`, 1, 1, "", "Invalid number '-'"},
	{"minus space", `- 1`, 1, 1, "", "Invalid number '-'"},
	{"plus", `+1`, 1, 1, "", "while parsing value: +"},
	{"leading dot", `.5`, 1, 1, "", "while parsing value: ."},
	{"empty exponent", `1e`, 1, 1, "", "Invalid number '1e'"},
	{"exponent sign only", `1e+`, 1, 1, "", "Invalid number '1e+'"},
	{"hex", `0x1F`, 1, 1, "", "Invalid number '0x1F'"},
	{"number glued to word", `12abc`, 1, 1, "", "Invalid number '12abc'"},
	{"minus infinity", `-Infinity`, 1, 1, "", "Invalid number '-Infinity'"},
	{"bare word", `{"location": eastus}`, 1, 14, "location", "Unexpected value 'eastus'"},
	{"capitalised true", `True`, 1, 1, "", "Unexpected value 'True'"},
	{"NaN", `NaN`, 1, 1, "", "Unexpected value 'NaN'"},
	{"undefined", `[undefined]`, 1, 2, "[0]", "Unexpected value 'undefined'"},
	{"true with suffix", `truex`, 1, 1, "", "Unexpected value 'truex'"},
	{"null prefix", `nul`, 1, 1, "", "Unexpected value 'nul'"},
	{"unexpected character", `@`, 1, 1, "", "while parsing value: @"},
	{"closing brace as value", `{"a":}`, 1, 6, "a", "while parsing value: }"},
	{"invalid UTF-8 outside string", "[\xff]", 1, 2, "[0]", "0xFF"},
	{"BOM in the middle", "[\xef\xbb\xbf1]", 1, 2, "[0]", "U+FEFF"},
	{"non-breaking space", "[\u00a01]", 1, 2, "[0]", "U+00A0"},
	{"unquoted key with hyphen", `{Key-Vault: 1}`, 1, 5, "", "Invalid JavaScript property identifier character: -"},
	{"unquoted key with dot", `{a.b: 1}`, 1, 3, "", "Invalid JavaScript property identifier character: ."},
	{"key is a number", `{1.5: 1}`, 1, 3, "", "Invalid JavaScript property identifier character: ."},
	{"key is an object", `{{}: 1}`, 1, 2, "", "Invalid property identifier character: {"},
	{"column counts characters", `["é", "ü" x]`, 1, 11, "[1]", "unexpected character was encountered: x"},
	{"CRLF line breaks", "{\r\n\"a\":\r\n}", 3, 1, "a", "while parsing value: }"},
	{"CR line breaks", "{\r\"a\":\r}", 3, 1, "a", "while parsing value: }"},
	{"path in nested array", `{"a":{"b":[1,{"c":[true,x]}]}}`, 1, 25, "a.b[1].c[1]", "Unexpected value 'x'"},
	{"path with special key", `{"a.b":{"it's":x}}`, 1, 16, `['a.b']['it\'s']`, "Unexpected value 'x'"},
	{"path with empty key", `{"":{"a":x}}`, 1, 10, "[''].a", "Unexpected value 'x'"},
	{"path in top-level array", `[0,1,2,[3,@]]`, 1, 11, "[3][1]", "@"},
	{"spec body missing brace", strings.TrimSuffix(specClusterBody, "}"), 13, 1, "location", "end of content while parsing object"},
	{"depth limit", strings.Repeat("[", 513) + strings.Repeat("]", 513), 1, 513, strings.Repeat("[0]", 512), "MaxDepth of 512"},
	{"depth limit objects", strings.Repeat(`{"a":`, 513) + "1" + strings.Repeat("}", 513), 1, 2561, strings.TrimPrefix(strings.Repeat(".a", 512), "."), "MaxDepth"},
}

func TestDecodeLenientAccepts(t *testing.T) {
	for _, tc := range lenientAccepted {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeLenient([]byte(tc.in))
			if err != nil {
				t.Fatalf("DecodeLenient(%q) failed: %v", tc.in, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("DecodeLenient(%q) = %#v, want %#v", tc.in, got, tc.want)
			}
		})
	}
}

func TestDecodeLenientRejects(t *testing.T) {
	for _, tc := range lenientRejected {
		t.Run(tc.name, func(t *testing.T) {
			v, err := DecodeLenient([]byte(tc.in))
			if err == nil {
				t.Fatalf("DecodeLenient(%q) = %#v, want an error", tc.in, v)
			}
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("DecodeLenient(%q) error %T %v, want *SyntaxError", tc.in, err, err)
			}
			if v != nil {
				t.Errorf("DecodeLenient(%q) returned value %#v with its error", tc.in, v)
			}
			if se.Line != tc.line || se.Column != tc.col || se.Path != tc.path {
				t.Errorf("DecodeLenient(%q): line %d, column %d, path %q; want line %d, column %d, path %q (%v)",
					tc.in, se.Line, se.Column, se.Path, tc.line, tc.col, tc.path, err)
			}
			if !strings.Contains(se.Msg, tc.msgPortion) {
				t.Errorf("DecodeLenient(%q): message %q does not contain %q", tc.in, se.Msg, tc.msgPortion)
			}
		})
	}
}

func TestDecodeLenientDepth(t *testing.T) {
	ok := strings.Repeat("[", 512) + strings.Repeat("]", 512)
	if _, err := DecodeLenient([]byte(ok)); err != nil {
		t.Fatalf("512 nested arrays: %v", err)
	}
	ok = strings.Repeat(`{"a":`, 511) + "[1]" + strings.Repeat("}", 511)
	if _, err := DecodeLenient([]byte(ok)); err != nil {
		t.Fatalf("512 nested containers: %v", err)
	}
	// Very deep input fails fast at the limit rather than recursing on.
	deep := strings.Repeat("[", 1<<20)
	_, err := DecodeLenient([]byte(deep))
	var se *SyntaxError
	if !errors.As(err, &se) || se.Msg != lenientDepthMsg {
		t.Fatalf("1M nested arrays: got %v, want the depth error", err)
	}
}

func TestSyntaxErrorMessage(t *testing.T) {
	in := "{\n  \"properties\": {\n    \"clusterType\":\n\n   }\n}"
	_, err := DecodeLenient([]byte(in))
	const want = "Invalid JSON. Unexpected character encountered while parsing value: }. Path 'properties.clusterType', line 5, position 4."
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v\nwant    %s", err, want)
	}

	tests := []struct {
		err  SyntaxError
		want string
	}{
		{SyntaxError{Line: 1, Column: 1, Msg: lenientEmptyMsg}, "Invalid JSON. The request body is empty. Path '', line 1, position 1."},
		{SyntaxError{Line: 2, Column: 7, Path: "a[0]", Msg: "no period"}, "Invalid JSON. no period. Path 'a[0]', line 2, position 7."},
	}
	for _, tc := range tests {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
}

func TestLenientAgreesWithEncodingJSON(t *testing.T) {
	// Every strict input in the tables must decode exactly as
	// encoding/json decodes it, and every input encoding/json rejects must
	// be one of our relaxations or be rejected by us too.
	for _, tc := range lenientAccepted {
		checkAgainstEncodingJSON(t, []byte(tc.in))
	}
	for _, tc := range lenientRejected {
		checkAgainstEncodingJSON(t, []byte(tc.in))
	}
}

func TestCanonical(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{specClusterBody, `{"identity":{"type":"systemAssigned"},"location":"<region-name>","properties":{"clusterType":"LogAnalytics"},"sku":{"Capacity":1000,"name":"capacityReservation"}}`},
		{`[1.50, -0, 1E+400, 'a&b', "\u2028"]`, `[1.50,-0,1E+400,"a&b","\u2028"]`},
		{`{b: null, a: [], c: {}}`, `{"a":[],"b":null,"c":{}}`},
	}
	for _, tc := range tests {
		v, err := DecodeLenient([]byte(tc.in))
		if err != nil {
			t.Fatalf("DecodeLenient(%q): %v", tc.in, err)
		}
		got, err := Canonical(v)
		if err != nil {
			t.Fatalf("Canonical(%q): %v", tc.in, err)
		}
		if string(got) != tc.want {
			t.Errorf("Canonical(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
	if _, err := Canonical(func() {}); err == nil {
		t.Error("Canonical(func) succeeded, want an error")
	}
	if got, err := Canonical(Object{"a": num("1")}); err != nil || string(got) != `{"a":1}` {
		t.Errorf("Canonical(Object) = %s, %v", got, err)
	}
}

// checkAgainstEncodingJSON checks the properties that relate DecodeLenient
// to encoding/json for one input; it is shared by the tests and the fuzzer.
func checkAgainstEncodingJSON(t *testing.T, data []byte) {
	t.Helper()
	v, err := DecodeLenient(data)
	strict := json.Valid(data)
	if err != nil {
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Fatalf("DecodeLenient(%q) error is %T, want *SyntaxError", data, err)
		}
		if se.Line < 1 || se.Column < 1 || se.Msg == "" {
			t.Fatalf("DecodeLenient(%q) error has bad position or message: %#v", data, se)
		}
		if lines := bytes.Count(data, []byte{'\n'}) + bytes.Count(data, []byte{'\r'}) + 1; se.Line > lines {
			t.Fatalf("DecodeLenient(%q) error on line %d of %d", data, se.Line, lines)
		}
		_ = se.Error()
		if strict && se.Msg != lenientDepthMsg {
			t.Fatalf("DecodeLenient(%q) rejects strict JSON: %v", data, err)
		}
		return
	}

	// The canonical form is strict JSON with the same value.
	out, err := Canonical(v)
	if err != nil {
		t.Fatalf("Canonical(DecodeLenient(%q)): %v", data, err)
	}
	back, err := decodeStrict(out)
	if err != nil {
		t.Fatalf("encoding/json rejects Canonical output %s of %q: %v", out, data, err)
	}
	if !reflect.DeepEqual(back, v) {
		t.Fatalf("Canonical round trip of %q: got %#v, want %#v", data, back, v)
	}

	// Strict input decodes as encoding/json decodes it.
	if strict {
		want, err := decodeStrict(data)
		if err != nil {
			t.Fatalf("encoding/json: %q is valid but fails to decode: %v", data, err)
		}
		if !reflect.DeepEqual(v, want) {
			t.Fatalf("DecodeLenient(%q) = %#v, encoding/json gives %#v", data, v, want)
		}
	}
}

// decodeStrict decodes one JSON document with encoding/json into generic
// values, numbers as json.Number.
func decodeStrict(data []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

func FuzzDecodeLenient(f *testing.F) {
	for _, tc := range lenientAccepted {
		f.Add([]byte(tc.in))
	}
	for _, tc := range lenientRejected {
		f.Add([]byte(tc.in))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkAgainstEncodingJSON(t, data)
	})
}

func BenchmarkDecodeLenient(b *testing.B) {
	data := []byte(specKeyVaultBody)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := DecodeLenient(data); err != nil {
			b.Fatal(err)
		}
	}
}
