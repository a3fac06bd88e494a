package ingest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

// The reference decoder: what parse did before it used fastjson
// (encoding/json into map[string]any). The fastjson decoder must give
// the same batches.

func referenceParse(timeField string, body []byte, received int64) (*Batch, error) {
	trimmed := bytes.TrimSpace(body)
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	// (The old decoder asked dec.More(), which is false before a stray
	// '}' or ']': it took "{}}" for "{}". Both now refuse it.)
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("data after the value")
	}
	var records []any
	switch x := v.(type) {
	case []any:
		records = x
	case map[string]any:
		records = []any{x}
	default:
		return nil, fmt.Errorf("not an object or array")
	}
	if len(records) == 0 {
		return nil, fmt.Errorf("empty")
	}
	b := NewBatch("ws", "T_CL")
	for _, rec := range records {
		obj, ok := rec.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("not an object")
		}
		var vals []value
		var given int64
		hasGiven := false
		for name, raw := range obj {
			if raw == nil {
				continue
			}
			if !validFieldName(name) {
				return nil, fmt.Errorf("bad name")
			}
			val, err := typed(name, raw)
			if err != nil {
				return nil, err
			}
			if timeField != "" && name == timeField && val.typ == TypeDatetime {
				given, hasGiven = val.t, true
			}
			vals = append(vals, val)
		}
		if err := b.addRow(ResolveTimeGenerated(given, hasGiven, received), vals); err != nil {
			return nil, err
		}
		if len(b.Columns) > MaxColumns {
			return nil, fmt.Errorf("too many columns")
		}
	}
	return b, nil
}

func typed(name string, raw any) (value, error) {
	var v value
	switch x := raw.(type) {
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return v, fmt.Errorf("the number in field '%s' is out of range", name)
		}
		v = value{typ: TypeReal, f: f}
	case bool:
		v = value{typ: TypeBool, b: x}
	case string:
		if len(x) > MaxFieldBytes {
			return v, fmt.Errorf("the field '%s' has %d bytes; the limit is %d: shorten or split it", name, len(x), MaxFieldBytes)
		}
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
	default:
		text, err := json.Marshal(x)
		if err != nil {
			return v, err
		}
		if len(text) > MaxFieldBytes {
			return v, fmt.Errorf("the field '%s' has %d bytes; the limit is %d: shorten or split it", name, len(text), MaxFieldBytes)
		}
		v = value{typ: TypeString, s: string(text)}
	}
	v.name = name + suffix(v.typ)
	return v, nil
}

// sameBatch compares two batches, columns in any order.
func sameBatch(a, b *Batch) string {
	if a.Rows != b.Rows || !slices.Equal(a.TimeGenerated, b.TimeGenerated) || len(a.Columns) != len(b.Columns) {
		return fmt.Sprintf("rows %d/%d, columns %d/%d", a.Rows, b.Rows, len(a.Columns), len(b.Columns))
	}
	for _, c := range a.Columns {
		d := b.index[c.Name]
		if d == nil {
			return "no column " + c.Name
		}
		if c.Type != d.Type || !slices.Equal(c.Valid, d.Valid) || !slices.Equal(c.Strings, d.Strings) ||
			!slices.Equal(c.Bools, d.Bools) || !slices.Equal(c.Times, d.Times) ||
			!slices.EqualFunc(c.Reals, d.Reals, func(x, y float64) bool { return math.Float64bits(x) == math.Float64bits(y) }) {
			return "column " + c.Name + " differs"
		}
	}
	return ""
}

var decodeCases = []string{
	`{"a":1}`,
	`[{"a":1,"b":"x"},{"a":2.5,"c":true,"d":false}]`,
	`{"a":1,"a":"two"}`,
	`{"a":null,"b":1}`,
	`{"a":1,"a":null}`,
	`{"n":0.1,"m":-0,"o":1e308,"p":123456789012345678901234567890,"q":2.2250738585072014e-308,"r":4.9e-324}`,
	`{"big":1e400}`,
	`{"t":"2026-11-27T00:00:00.5Z","g":"6F9619FF-8B86-D011-B42D-00C04FC964FF","s":"hello"}`,
	`{"nested":{"z":1,"a":[1,2,{"b":null}]},"arr":[]}`,
	`{"u":"caf\u00e9 \ud83d\ude00","bad":"\ud800x"}`,
	"{\"inv\":\"a\xffb\xc3\"}",
	`{"esc":"a\"b\\c\/d\n"}`,
	`{"a b":1}`,
	`{"":1}`,
	`[{"a":1}, 5]`,
	`42`,
	`[]`,
	`{"a":1} {"b":2}`,
	`{"a":`,
	`{"a":"x","a_s":"y"}`,
	`{"_time":"2026-11-27T01:02:03Z","v":1}`,
}

func TestDecodeMatchesReference(t *testing.T) {
	for _, body := range decodeCases {
		checkDecode(t, body)
	}
}

func checkDecode(t *testing.T, body string) {
	t.Helper()
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	c := &collector{o: Options{Now: func() time.Time { return now }}}
	got, err := c.parse("ws", "T", "_time", strings.NewReader(body), nil)
	want, werr := referenceParse("_time", []byte(body), receivedTicks(now))
	if (err != nil) != (werr != nil) {
		t.Fatalf("%q: error %v, reference %v", body, err, werr)
	}
	if err != nil {
		return
	}
	if d := sameBatch(got, want); d != "" {
		t.Fatalf("%q: %s", body, d)
	}
}

// FuzzDecode: the fastjson decoder accepts what encoding/json accepted and
// yields the same batch.
func FuzzDecode(f *testing.F) {
	for _, body := range decodeCases {
		f.Add(body)
	}
	f.Fuzz(func(t *testing.T, body string) {
		if strings.TrimSpace(body) == "" {
			return
		}
		checkDecode(t, body)
	})
}

// BenchmarkParse decodes a body of 1000 genlogs lines.
func BenchmarkParse(b *testing.B) {
	var sb strings.Builder
	sb.WriteByte('[')
	for i := range 1000 {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"_time":"2026-11-27T00:%02d:%02d.%03dZ","_msg":"request completed id=%d","host":"web-%02d.prod.eastus","level":"info","method":"GET","path":"/api/v1/items/%d","status":200,"latency_ms":%d.%02d,"bytes":%d,"user":"user%05d","trace_id":"%016x%016x","region":"eastus","service":"checkout"}`,
			i/60%60, i%60, i, i*7919, i%50, i%10000, i%97, i%100, i*13, i%20000, uint64(i)*0x9e3779b97f4a7c15, uint64(i)*31)
	}
	sb.WriteByte(']')
	body := []byte(sb.String())
	c := &collector{o: Options{Now: time.Now}}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := c.parse("ws", "Bench", "_time", bytes.NewReader(body), nil); err != nil {
			b.Fatal(err)
		}
	}
}
