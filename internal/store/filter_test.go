package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
)

func TestValueFilterNoFalseNegatives(t *testing.T) {
	const n = 20000
	f := newValueFilter(n)
	for i := range n {
		f.add(fmt.Sprintf("value-%d", i))
	}
	g, err := unmarshalFilter(f.marshal(nil))
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if !g.mayContain(fmt.Sprintf("value-%d", i)) {
			t.Fatalf("value-%d ruled out", i)
		}
	}
	fp := 0
	for i := range n {
		if g.mayContain(fmt.Sprintf("other-%d", i)) {
			fp++
		}
	}
	if rate := float64(fp) / n; rate > 0.04 {
		t.Fatalf("false-positive rate %.3f, want about 0.02", rate)
	}
}

// FuzzUnmarshalFilter: the filter decoder never panics, fails only with
// ErrCorrupt or ErrUnknownVersion, and what it accepts re-encodes to the
// same bytes.
func FuzzUnmarshalFilter(f *testing.F) {
	vf := newValueFilter(3)
	vf.add("a")
	vf.add("b")
	f.Add(vf.marshal(nil))
	f.Add([]byte("KSBF\x01\x05\x01"))
	f.Add([]byte("KSBF\x02\x05\x01\x00\x00\x00\x00\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := unmarshalFilter(data)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnknownVersion) {
				t.Fatalf("undocumented error: %v", err)
			}
			return
		}
		if out := g.marshal(nil); !bytes.Equal(out, data) && len(out) > len(data) {
			t.Fatalf("re-encoded to %d bytes from %d", len(out), len(data))
		}
		_ = g.mayContain("x")
	})
}

// TestSegmentFilterSkip: a v4 block whose filter rules a value out is
// skipped without reading its columns; a block holding it never is.
func TestSegmentFilterSkip(t *testing.T) {
	fsys := newFS(t)
	kr := newTestKeyring()
	aek := kr.add(t, "acct", 1, 7)
	id, _ := NewFileID(detRand(3))
	w, err := CreateSegment(fsys, "/seg/a.seg", SegmentOptions{Account: "acct", ID: id, Workspace: "ws-1", Table: "App_CL", AEK: aek})
	if err != nil {
		t.Fatal(err)
	}
	var blocks []*Block
	for i := range 4 {
		b := genBlock(genRows(uint64(10+i), i*500, 500, 2000)) // distinct trace ids per block
		if _, err := w.Append(b); err != nil {
			t.Fatal(err)
		}
		blocks = append(blocks, b)
	}
	if _, err := w.Finish(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s, err := OpenSegment(ctx, fsys, "/seg/a.seg", "acct", id, kr)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	needle := blocks[2].Column("trace_id_s").Strings[17]
	var hits []int
	for i := range blocks {
		b, err := s.ReadBlockMatch(ctx, i, []string{"status_d"}, []Equal{{Column: "trace_id_s", Value: needle}})
		if err != nil {
			t.Fatal(err)
		}
		if b != nil {
			hits = append(hits, i)
		}
	}
	if len(hits) != 1 || hits[0] != 2 {
		t.Fatalf("blocks read for the needle: %v, want [2]", hits)
	}
	// A predicate on a column without a filter (not a string) skips nothing;
	// an absent value in a low-cardinality column skips everything.
	for i := range blocks {
		if b, err := s.ReadBlockMatch(ctx, i, nil, []Equal{{Column: "status_d", Value: "x"}}); err != nil || b == nil {
			t.Fatalf("block %d: %v, %v", i, b, err)
		}
		if b, err := s.ReadBlockMatch(ctx, i, nil, []Equal{{Column: "level_s", Value: "fatal"}}); err != nil || b != nil {
			t.Fatalf("block %d not skipped for an absent level: %v", i, err)
		}
	}
}

// TestSegmentFilterTamper: a flipped byte in a filter, or a filter moved to
// another column, fails authentication when the filter is consulted.
func TestSegmentFilterTamper(t *testing.T) {
	fsys := newFS(t)
	kr := newTestKeyring()
	fx := writeTestSegment(t, fsys, kr, "acct", "/seg/a.seg", 4, 1, 300)
	orig, _ := fsys.ReadFile(fx.path)
	ctx := context.Background()
	s, err := OpenSegment(ctx, fsys, fx.path, "acct", fx.id, kr)
	if err != nil {
		t.Fatal(err)
	}
	bm := s.Meta().Blocks[0]
	s.Close()
	plain, _, err := openBlockDir(mustAEK(t, kr), &binding{account: "acct", kind: kindBlockDir, file: fx.id}, orig[bm.Offset:bm.Offset+bm.DirLength])
	if err != nil {
		t.Fatal(err)
	}
	bd, err := parseBlockDir(plain, blockVersion4, bm.DirLength, bm.Length)
	if err != nil {
		t.Fatal(err)
	}
	if len(bd.filters) < 2 {
		t.Fatalf("%d filters", len(bd.filters))
	}
	probe := func(data []byte, col string) error {
		_ = fsys.WriteFile(fx.path, data)
		s, err := OpenSegment(ctx, fsys, fx.path, "acct", fx.id, kr)
		if err != nil {
			return err
		}
		defer s.Close()
		_, err = s.ReadBlockMatch(ctx, 0, []string{}, []Equal{{Column: col, Value: "nothing"}})
		return err
	}
	for _, fl := range bd.filters {
		name := bd.cols[fl.col].name
		for _, at := range []int64{0, nonceSize, fl.length / 2, fl.length - 1} {
			bad := bytes.Clone(orig)
			bad[bm.Offset+fl.offset+at] ^= 1
			if err := probe(bad, name); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("filter of %s, byte %d flipped: %v", name, at, err)
			}
		}
	}
	// Two filters of equal length swapped: each is bound to its column.
	for i := 0; i+1 < len(bd.filters); i++ {
		a, b := bd.filters[i], bd.filters[i+1]
		if a.length != b.length {
			continue
		}
		bad := bytes.Clone(orig)
		base := bm.Offset
		copy(bad[base+a.offset:], orig[base+b.offset:base+b.offset+b.length])
		copy(bad[base+b.offset:], orig[base+a.offset:base+a.offset+a.length])
		if err := probe(bad, bd.cols[a.col].name); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("swapped filters: %v", err)
		}
		return
	}
	t.Log("no two filters of equal length to swap")
}

// FuzzColumnMatch: decoding a string column while matching a value gives
// the rows, and the values, that decoding it whole and comparing gives.
func FuzzColumnMatch(f *testing.F) {
	for _, c := range []Column{
		{Type: TypeString, Strings: []string{"a", "b", "a", "a"}},
		{Type: TypeString, Strings: []string{"ab12", "", "ff00", "ab12"}, Nulls: []bool{false, true, false, false}},
		{Type: TypeString, Strings: []string{"x y", "z", "x y", "w"}},
	} {
		f.Add(appendColumnV2(nil, &c), len(c.Strings), "a")
		f.Add(appendColumnV2(nil, &c), len(c.Strings), "ab12")
		f.Add(appendColumnV2(nil, &c), len(c.Strings), "")
	}
	f.Fuzz(func(t *testing.T, data []byte, rows int, v string) {
		if rows <= 0 || rows > 1000 {
			return
		}
		whole := Column{Type: TypeString}
		d1 := &decoder{src: data, ctx: "whole"}
		whole.readColumnV2(d1, rows)
		match := Column{Type: TypeString}
		d2 := &decoder{src: data, ctx: "match"}
		sel := match.readColumnV2Match(d2, rows, v)
		if (d1.err == nil) != (d2.err == nil) || (d1.err == nil && len(d1.src) != len(d2.src)) {
			t.Fatalf("errors %v / %v, left %d / %d", d1.err, d2.err, len(d1.src), len(d2.src))
		}
		if d1.err != nil {
			return
		}
		var want []int
		for i, s := range whole.Strings {
			if s == v {
				want = append(want, i)
			}
		}
		if !slices.Equal(sel, want) || len(match.Strings) != len(sel) {
			t.Fatalf("rows %v, want %v", sel, want)
		}
		for j, i := range sel {
			if match.Strings[j] != whole.Strings[i] || (whole.Nulls != nil && match.Nulls[j] != whole.Nulls[i]) {
				t.Fatalf("row %d differs", i)
			}
		}
	})
}

// FuzzColumnAt: decoding a column at some rows gives what decoding it
// whole and cutting it down gives.
func FuzzColumnAt(f *testing.F) {
	for _, c := range []Column{
		{Type: TypeLong, Ints: []int64{5, 3, 900, -7, 5}},
		{Type: TypeReal, Floats: []float64{1.5, 2.25, 200, 404, 0.01}, Nulls: []bool{false, true, false, false, false}},
		{Type: TypeReal, Floats: []float64{1e300, -3.3e-300, 7, 8, 9}},
		{Type: TypeDateTime, Ints: []int64{1, 2, 3, 4, 5}},
		{Type: TypeString, Strings: []string{"a", "b", "a", "a", "c"}},
	} {
		f.Add(uint8(c.Type), appendColumnV2(nil, &c), 5, uint64(0b10110))
	}
	f.Fuzz(func(t *testing.T, typ uint8, data []byte, rows int, mask uint64) {
		if rows <= 0 || rows > 64 || ColumnType(typ).physical() == 0 {
			return
		}
		var sel []int
		for i := range rows {
			if mask&(1<<i) != 0 {
				sel = append(sel, i)
			}
		}
		if len(sel) == 0 {
			return
		}
		whole := Column{Type: ColumnType(typ)}
		d1 := &decoder{src: data, ctx: "whole"}
		whole.readColumnV2(d1, rows)
		at := Column{Type: ColumnType(typ)}
		d2 := &decoder{src: data, ctx: "at"}
		at.readColumnV2At(d2, rows, sel)
		if (d1.err == nil) != (d2.err == nil) || (d1.err == nil && len(d1.src) != len(d2.src)) {
			t.Fatalf("errors %v / %v, left %d / %d", d1.err, d2.err, len(d1.src), len(d2.src))
		}
		if d1.err != nil {
			return
		}
		want := gatherColumn(&whole, sel)
		if want.Nulls != nil && !slices.Contains(want.Nulls, true) && at.Nulls == nil {
			want.Nulls = nil
		}
		if !slices.Equal(want.Ints, at.Ints) || !slices.Equal(want.Strings, at.Strings) || !slices.Equal(want.Bools, at.Bools) ||
			!slices.EqualFunc(want.Floats, at.Floats, func(x, y float64) bool { return x == y || x != x && y != y }) ||
			!slices.Equal(want.Nulls, at.Nulls) {
			t.Fatalf("at %v: %+v, want %+v", sel, at, want)
		}
	})
}
