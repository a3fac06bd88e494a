package store

import (
	"bytes"
	"context"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/kustodian/kustodian/internal/store/vfs"
)

func TestColumnV2RoundTrip(t *testing.T) {
	negZero := math.Copysign(0, -1)
	cases := []struct {
		name    string
		col     Column
		wantEnc byte
	}{
		{"ints constant", Column{Type: TypeLong, Ints: []int64{7, 7, 7, 7}}, enc2Ints},
		{"ints extremes", Column{Type: TypeLong, Ints: []int64{math.MinInt64, math.MaxInt64, 0, -1, math.MinInt64}}, enc2Ints},
		{"ints one row", Column{Type: TypeInt, Ints: []int64{-42}}, enc2Ints},
		{"ints monotonic", Column{Type: TypeDateTime, Ints: []int64{1e18, 1e18 + 86_400_000, 1e18 + 2*86_400_000, 1e18 + 3*86_400_000}}, enc2Ints},
		{"ints deltas wrap", Column{Type: TypeLong, Ints: []int64{math.MaxInt64, math.MinInt64, math.MaxInt64}}, enc2Ints},
		{"ints with nulls", Column{Type: TypeTimeSpan, Ints: []int64{0, 5, 0}, Nulls: []bool{true, false, true}}, enc2Ints},
		{"reals integral", Column{Type: TypeReal, Floats: []float64{200, 404, 503, 0, -1}}, enc2FloatDecimal},
		{"reals two decimals", Column{Type: TypeReal, Floats: []float64{0.01, 12.34, 99.99, 1234.5}}, enc2FloatDecimal},
		{"reals negative zero", Column{Type: TypeReal, Floats: []float64{1.5, negZero}}, enc2FloatBits},
		{"reals nan inf", Column{Type: TypeReal, Floats: []float64{math.NaN(), math.Inf(1), math.Inf(-1), 1}}, enc2FloatBits},
		{"reals irrational", Column{Type: TypeReal, Floats: []float64{math.Pi, math.E}}, enc2FloatBits},
		{"reals huge", Column{Type: TypeReal, Floats: []float64{1e300, 2}}, enc2FloatBits},
		{"reals beyond 2^53", Column{Type: TypeReal, Floats: []float64{1 << 60, 3}}, enc2FloatBits},
		{"reals smallest", Column{Type: TypeReal, Floats: []float64{math.SmallestNonzeroFloat64, 0}}, enc2FloatBits},
		{"bools", Column{Type: TypeBool, Bools: []bool{true, false, true, true, false, false, false, false, true}}, enc2Bools},
		{"strings dict", Column{Type: TypeString, Strings: []string{"b", "a", "b", "a", "b", "c"}}, enc2StrDict},
		{"strings plain", Column{Type: TypeString, Strings: []string{"x1", "y22", "", "zé€", "w"}}, enc2StrPlain},
		{"strings hex", Column{Type: TypeString, Strings: []string{"00ff", "deadbeef", "", "0123456789abcdef"}}, enc2StrHex},
		{"strings upper hex stays plain", Column{Type: TypeString, Strings: []string{"00FF", "dead", "beef"}}, enc2StrPlain},
		{"strings odd hex stays plain", Column{Type: TypeString, Strings: []string{"abc", "dead", "beef"}}, enc2StrPlain},
		{"guid nulls", Column{Type: TypeGUID, Strings: []string{"", "5e1c", ""}, Nulls: []bool{true, false, true}}, enc2StrHex},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			raw := appendColumnV2(nil, &tc.col)
			nullBytes := 1
			if tc.col.Nulls != nil {
				nullBytes += (len(tc.col.Nulls) + 7) / 8
			}
			if raw[nullBytes] != tc.wantEnc {
				t.Fatalf("encoding %d, want %d", raw[nullBytes], tc.wantEnc)
			}
			got := Column{Type: tc.col.Type}
			d := &decoder{src: raw, ctx: "test"}
			got.readColumnV2(d, tc.col.length())
			if d.err != nil || len(d.src) != 0 {
				t.Fatalf("decode: %v (%d bytes left)", d.err, len(d.src))
			}
			want := tc.col
			if !slicesHaveTrue(want.Nulls) {
				want.Nulls = nil
			}
			if tc.col.Type == TypeReal { // compare bits: NaN, -0
				for i := range want.Floats {
					if math.Float64bits(got.Floats[i]) != math.Float64bits(want.Floats[i]) {
						t.Fatalf("row %d: %v, want %v", i, got.Floats[i], want.Floats[i])
					}
				}
				got.Floats, want.Floats = nil, nil
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("round trip: got %+v, want %+v", got, want)
			}
		})
	}
}

func slicesHaveTrue(b []bool) bool {
	for _, v := range b {
		if v {
			return true
		}
	}
	return false
}

func TestColumnV2DecodeErrors(t *testing.T) {
	good := appendColumnV2(nil, &Column{Type: TypeString, Strings: []string{"a", "b", "a", "a"}})
	cases := []struct {
		name string
		typ  ColumnType
		raw  []byte
	}{
		{"empty", TypeLong, nil},
		{"bad null flag", TypeLong, []byte{2, enc2Ints}},
		{"bad int encoding", TypeLong, []byte{0, 9}},
		{"bad int mode", TypeLong, []byte{0, enc2Ints, 2, 0, 0}},
		{"width 9", TypeLong, []byte{0, enc2Ints, 0, 0, 9}},
		{"planes short", TypeLong, []byte{0, enc2Ints, 0, 0, 1, 1, 2}},
		{"bad decimal scale", TypeReal, []byte{0, enc2FloatDecimal, 7, 0, 0, 0}},
		{"bad string encoding", TypeString, []byte{0, 9}},
		{"dictionary truncated", TypeString, good[:len(good)-2]},
		{"string lengths beyond data", TypeString, []byte{0, enc2StrPlain, 0, 100, 0}},
		{"negative string length", TypeString, []byte{0, enc2StrPlain, 0, 1, 0}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := Column{Type: tc.typ}
			d := &decoder{src: tc.raw, ctx: "test"}
			c.readColumnV2(d, 4)
			if d.err == nil {
				t.Fatal("decoded without error")
			}
			if !errors.Is(d.err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", d.err)
			}
		})
	}
	// A dictionary index past the dictionary.
	bad := appendColumnV2(nil, &Column{Type: TypeString, Strings: []string{"a", "b", "a", "a"}})
	bad[len(bad)-1] = 5 // last index plane byte
	c := Column{Type: TypeString}
	d := &decoder{src: bad, ctx: "test"}
	if c.readColumnV2(d, 4); d.err == nil {
		t.Fatal("out-of-range dictionary index decoded")
	}
}

func FuzzColumnV2(f *testing.F) {
	f.Add(uint8(TypeLong), appendColumnV2(nil, &Column{Type: TypeLong, Ints: []int64{1, 5, -3}}), 3)
	f.Add(uint8(TypeReal), appendColumnV2(nil, &Column{Type: TypeReal, Floats: []float64{1.25, 2}}), 2)
	f.Add(uint8(TypeString), appendColumnV2(nil, &Column{Type: TypeString, Strings: []string{"ab", "cd", "ab", "ab"}}), 4)
	f.Add(uint8(TypeString), appendColumnV2(nil, &Column{Type: TypeString, Strings: []string{"ab12", "x"}}), 2)
	f.Add(uint8(TypeGUID), appendColumnV2(nil, &Column{Type: TypeGUID, Strings: []string{"ab12", "ff"}}), 2)
	f.Fuzz(func(t *testing.T, typ uint8, raw []byte, rows int) {
		if rows <= 0 || rows > 4096 || ColumnType(typ).physical() == 0 {
			return
		}
		c := Column{Type: ColumnType(typ)}
		d := &decoder{src: raw, ctx: "fuzz"}
		c.readColumnV2(d, rows)
		if d.err != nil {
			return
		}
		if n := c.length(); n != rows {
			t.Fatalf("decoded %d values for %d rows", n, rows)
		}
		// Whatever decodes must re-encode to something that decodes to the
		// same values.
		again := appendColumnV2(nil, &c)
		c2 := Column{Type: c.Type}
		d2 := &decoder{src: again, ctx: "fuzz"}
		c2.readColumnV2(d2, rows)
		if d2.err != nil || !reflect.DeepEqual(c.Ints, c2.Ints) || !reflect.DeepEqual(c.Strings, c2.Strings) || !reflect.DeepEqual(c.Bools, c2.Bools) {
			t.Fatalf("re-encoding changed the column: %v", d2.err)
		}
	})
}

// writeTwinColumnSegment writes one block whose columns a_d and b_d have
// identical sealed lengths, so they can be swapped in place.
func writeTwinColumnSegment(t *testing.T) (*vfs.MemFS, *segFixture, []byte) {
	t.Helper()
	fsys := newFS(t)
	kr := newTestKeyring()
	aek := kr.add(t, "acct", 1, 1)
	id := FileID{9}
	w, err := CreateSegment(fsys, "/seg/t.seg", SegmentOptions{Account: "acct", ID: id, AEK: aek, Rand: detRand(3)})
	if err != nil {
		t.Fatal(err)
	}
	n := 64
	b := &Block{Rows: n, Columns: []Column{{Name: TimeColumn, Type: TypeDateTime, Ints: make([]int64, n)},
		{Name: "a_d", Type: TypeLong, Ints: make([]int64, n)}, {Name: "b_d", Type: TypeLong, Ints: make([]int64, n)}}}
	for i := range n {
		// Same shape, different base: equal sealed lengths, other values.
		b.Columns[1].Ints[i] = int64(10 + i)
		b.Columns[2].Ints[i] = int64(50 + i)
	}
	if _, err := w.Append(b); err != nil {
		t.Fatal(err)
	}
	m, err := w.Finish()
	if err != nil {
		t.Fatal(err)
	}
	data, _ := fsys.ReadFile("/seg/t.seg")
	return fsys, &segFixture{id: id, path: "/seg/t.seg", kr: kr, meta: m}, data
}

func TestBlockV2ColumnTamper(t *testing.T) {
	fsys, fx, orig := writeTwinColumnSegment(t)
	ctx := context.Background()
	s, err := OpenSegment(ctx, fsys, fx.path, "acct", fx.id, fx.kr)
	if err != nil {
		t.Fatal(err)
	}
	sealedDir := orig[fx.meta.Blocks[0].Offset : fx.meta.Blocks[0].Offset+fx.meta.Blocks[0].DirLength]
	plain, _, err := openBlockDir(mustAEK(t, fx.kr), &binding{account: "acct", kind: kindBlockDir, file: fx.id}, sealedDir)
	if err != nil {
		t.Fatal(err)
	}
	dir, err := parseBlockDir(plain, blockVersion4, fx.meta.Blocks[0].DirLength, fx.meta.Blocks[0].Length)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	a, bcol := dir.cols[1], dir.cols[2]
	if a.length != bcol.length {
		t.Fatalf("test needs twin columns, lengths %d and %d", a.length, bcol.length)
	}
	base := fx.meta.Blocks[0].Offset
	aBytes := bytes.Clone(orig[base+a.offset : base+a.offset+a.length])
	bBytes := bytes.Clone(orig[base+bcol.offset : base+bcol.offset+bcol.length])

	swapped := bytes.Clone(orig)
	copy(swapped[base+a.offset:], bBytes)
	copy(swapped[base+bcol.offset:], aBytes)
	flipped := bytes.Clone(orig)
	flipped[base+bcol.offset+nonceSize+1] ^= 1

	for _, tc := range []struct {
		name     string
		data     []byte
		cols     []string
		wantFail bool
	}{
		{"swapped, read a", swapped, []string{"a_d"}, true},
		{"swapped, read b", swapped, []string{"b_d"}, true},
		{"b flipped, read a only", flipped, []string{"a_d"}, false},
		{"b flipped, read b", flipped, []string{"b_d"}, true},
		{"b flipped, read all", flipped, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_ = fsys.WriteFile(fx.path, tc.data)
			s, err := OpenSegment(ctx, fsys, fx.path, "acct", fx.id, fx.kr)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			b, err := s.ReadBlock(ctx, 0, tc.cols)
			if tc.wantFail {
				if err == nil || !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "column") {
					t.Fatalf("read: %v, want a column authentication error", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c := b.Column("a_d"); c == nil || c.Ints[5] != 15 || len(b.Columns) != 1 {
				t.Fatalf("read only a_d: %+v", b.Columns)
			}
		})
	}
}

func mustAEK(t *testing.T, kr *testKeyring) *AEK {
	t.Helper()
	aek, err := kr.AEK(context.Background(), "acct", 1)
	if err != nil {
		t.Fatal(err)
	}
	return aek
}

func TestBlockV2SelectsColumns(t *testing.T) {
	fsys := newFS(t)
	fx := writeTestSegment(t, fsys, newTestKeyring(), "acct", "/seg/a.seg", 2, 2, 100)
	ctx := context.Background()
	s, err := OpenSegment(ctx, fsys, fx.path, "acct", fx.id, fx.kr)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	all, err := s.ReadBlock(ctx, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, cols := range [][]string{{}, {TimeColumn}, {"level_s", "latency_ms_d"}, {"no_such_column"}} {
		b, err := s.ReadBlock(ctx, 1, cols)
		if err != nil {
			t.Fatal(err)
		}
		if b.Rows != all.Rows || b.MinTime != all.MinTime || b.MaxTime != all.MaxTime {
			t.Fatalf("%v: header %d/%d/%d", cols, b.Rows, b.MinTime, b.MaxTime)
		}
		var names []string
		for _, c := range b.Columns {
			names = append(names, c.Name)
			if !reflect.DeepEqual(c, *all.Column(c.Name)) {
				t.Fatalf("%v: column %s differs from the full read", cols, c.Name)
			}
		}
		want := []string{}
		for _, c := range cols {
			if all.Column(c) != nil {
				want = append(want, c)
			}
		}
		if len(names) != len(want) {
			t.Fatalf("%v: got columns %v", cols, names)
		}
	}
}

// FuzzBlockDir: a v2, v3 or v4 block directory decodes to columns (and
// filters) that tile the block exactly, or fails with ErrCorrupt/ErrUnknownVersion; never
// panics.
func FuzzBlockDir(f *testing.F) {
	dir := append([]byte(blockMagic), blockVersion3)
	dir = append(dir, 4, 0, 2, 2) // rows 4, min 0, max 1, 2 columns
	dir = append(dir, 1, 'a', byte(TypeLong), 40)
	dir = append(dir, 1, 'b', byte(TypeString), 50)
	f.Add(dir, int64(100), int64(190))
	f.Add([]byte("KSBL\x02"), int64(70), int64(70))
	f.Add(append([]byte("KSBL\x02"), dir[5:]...), int64(100), int64(190))
	v4 := append(append([]byte("KSBL\x04"), dir[5:]...), 1, 1, 30) // a filter of column b
	f.Add(v4, int64(100), int64(220))
	f.Fuzz(func(t *testing.T, src []byte, dirLen, blockLen int64) {
		if dirLen < 0 || blockLen < dirLen || blockLen > 1<<30 {
			return
		}
		want := byte(blockVersion3)
		if len(src) > 4 && (src[4] == blockVersion2 || src[4] == blockVersion4) {
			want = src[4]
		}
		bd, err := parseBlockDir(src, want, dirLen, blockLen)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnknownVersion) {
				t.Fatalf("error %v wraps neither ErrCorrupt nor ErrUnknownVersion", err)
			}
			return
		}
		off := dirLen
		for _, c := range bd.cols {
			if c.offset != off || c.length < colOverhead || c.typ.physical() == 0 {
				t.Fatalf("bad column %+v at %d", c, off)
			}
			off += c.length
		}
		for _, fl := range bd.filters {
			if fl.offset != off || fl.length < colOverhead || bd.cols[fl.col].typ != TypeString {
				t.Fatalf("bad filter %+v at %d", fl, off)
			}
			off += fl.length
		}
		if off != blockLen || bd.rows <= 0 || bd.rows > MaxBlockRows {
			t.Fatalf("columns end at %d of %d; %d rows", off, blockLen, bd.rows)
		}
	})
}
