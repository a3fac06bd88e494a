package store

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

func timeCol(vals ...int64) Column { return Column{Name: TimeColumn, Type: TypeDateTime, Ints: vals} }

func TestBlockRoundTrip(t *testing.T) {
	cases := []struct {
		name string
		b    *Block
	}{
		{"time only", &Block{Rows: 3, Columns: []Column{timeCol(30, 10, 20)}}},
		{"ints plain and delta", &Block{Rows: 4, Columns: []Column{
			timeCol(1e18, 1e18+1, 1e18+2, 1e18+3),
			{Name: "rnd", Type: TypeLong, Ints: []int64{math.MinInt64, math.MaxInt64, 0, -1}},
			{Name: "n", Type: TypeInt, Ints: []int64{1, 2, 3, 4}},
			{Name: "ts", Type: TypeTimeSpan, Ints: []int64{5, 5, 5, 5}},
		}}},
		{"floats bools nulls", &Block{Rows: 3, Columns: []Column{
			timeCol(1, 2, 3),
			{Name: "r", Type: TypeReal, Floats: []float64{math.Inf(-1), 0.5, math.MaxFloat64}},
			{Name: "b", Type: TypeBool, Bools: []bool{true, false, true}},
			{Name: "s", Type: TypeString, Strings: []string{"a", "", "c"}, Nulls: []bool{false, true, false}},
		}}},
		{"strings dict", &Block{Rows: 6, Columns: []Column{
			timeCol(1, 2, 3, 4, 5, 6),
			{Name: "lvl", Type: TypeString, Strings: []string{"info", "info", "warn", "info", "warn", "info"}},
			{Name: "g", Type: TypeGUID, Strings: []string{"a", "b", "c", "d", "e", "f"}},
			{Name: "d", Type: TypeDynamic, Strings: []string{`{"a":1}`, "[]", "null", "", "1", strings.Repeat("x", 300)}},
		}}},
		{"genlogs", genBlock(genRows(1, 0, 1000, 1000))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := c.b.Validate(); err != nil {
				t.Fatal(err)
			}
			raw := c.b.marshal(nil)
			got, err := unmarshalBlock(raw, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.b) {
				t.Fatalf("round trip differs:\n got %+v\nwant %+v", got, c.b)
			}
			// Column selection: only the asked columns, in block order.
			sel, err := unmarshalBlock(raw, []string{TimeColumn, "missing"})
			if err != nil || len(sel.Columns) != 1 || sel.Columns[0].Name != TimeColumn {
				t.Fatalf("select: %+v, %v", sel, err)
			}
			// Every truncation fails cleanly.
			step := max(1, len(raw)/500)
			for i := 0; i < len(raw); i += step {
				if _, err := unmarshalBlock(raw[:i], nil); err == nil {
					t.Fatalf("truncated to %d bytes decodes", i)
				}
			}
		})
	}
}

func TestBlockValidate(t *testing.T) {
	cases := []struct {
		name string
		b    Block
	}{
		{"no rows", Block{}},
		{"no time", Block{Rows: 1, Columns: []Column{{Name: "x", Type: TypeLong, Ints: []int64{1}}}}},
		{"time wrong type", Block{Rows: 1, Columns: []Column{{Name: TimeColumn, Type: TypeLong, Ints: []int64{1}}}}},
		{"null time", Block{Rows: 1, Columns: []Column{{Name: TimeColumn, Type: TypeDateTime, Ints: []int64{1}, Nulls: []bool{true}}}}},
		{"short column", Block{Rows: 2, Columns: []Column{timeCol(1)}}},
		{"duplicate", Block{Rows: 1, Columns: []Column{timeCol(1), timeCol(1)}}},
		{"unknown type", Block{Rows: 1, Columns: []Column{timeCol(1), {Name: "x", Type: 99}}}},
		{"bad nulls", Block{Rows: 1, Columns: []Column{timeCol(1), {Name: "x", Type: TypeBool, Bools: []bool{true}, Nulls: []bool{}}}}},
	}
	for _, c := range cases {
		if err := c.b.Validate(); err == nil {
			t.Errorf("%s: Validate accepted it", c.name)
		}
	}
	b := Block{Rows: 3, Columns: []Column{timeCol(5, -2, 9)}}
	if err := b.Validate(); err != nil || b.MinTime != -2 || b.MaxTime != 9 {
		t.Fatalf("Validate: min %d max %d err %v", b.MinTime, b.MaxTime, err)
	}
}

func TestBlockUnknownVersion(t *testing.T) {
	b := Block{Rows: 1, Columns: []Column{timeCol(1)}}
	_ = b.Validate()
	raw := b.marshal(nil)
	raw[4] = 9
	if _, err := unmarshalBlock(raw, nil); !errors.Is(err, ErrUnknownVersion) {
		t.Fatalf("got %v, want ErrUnknownVersion", err)
	}
}

func TestCompressBody(t *testing.T) {
	raw := genBlock(genRows(2, 0, 500, 500)).marshal(nil)
	for _, codec := range []byte{codecNone, codecZstd} {
		body, err := compressBody(nil, raw, codec, false)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decompressBody(nil, body)
		if err != nil || string(got) != string(raw) {
			t.Fatalf("codec %d: round trip failed: %v", codec, err)
		}
		if _, err := decompressBody(nil, body[:len(body)-1]); err == nil {
			t.Fatalf("codec %d: truncated body decompresses", codec)
		}
	}
}
