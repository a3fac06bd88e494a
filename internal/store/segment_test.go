package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/kustodian/kustodian/internal/store/vfs"
)

type segFixture struct {
	fs     *vfs.MemFS
	kr     *testKeyring
	id     FileID
	path   string
	blocks []*Block
	meta   *SegmentMeta
}

func writeTestSegment(t *testing.T, fsys *vfs.MemFS, kr *testKeyring, account, path string, seed uint64, nblocks, rows int) *segFixture {
	t.Helper()
	return writeTestSegmentFormat(t, fsys, kr, account, path, seed, nblocks, rows, 0)
}

// writeTestSegmentFormat is writeTestSegment in a given format (0: the
// current one).
func writeTestSegmentFormat(t *testing.T, fsys *vfs.MemFS, kr *testKeyring, account, path string, seed uint64, nblocks, rows int, format byte) *segFixture {
	t.Helper()
	aek, err := kr.AEK(context.Background(), account, 1)
	if err != nil {
		aek = kr.add(t, account, 1, byte(len(account)))
	}
	id, _ := NewFileID(detRand(seed))
	fx := &segFixture{fs: fsys, kr: kr, id: id, path: path}
	w, err := CreateSegment(fsys, path, SegmentOptions{Account: account, ID: id, Workspace: "ws-1", Table: "App_CL", AEK: aek, Rand: detRand(seed + 1), format: format})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < nblocks; i++ {
		b := genBlock(genRows(seed, i*rows, rows, nblocks*rows))
		if _, err := w.Append(b); err != nil {
			t.Fatal(err)
		}
		fx.blocks = append(fx.blocks, b)
	}
	if fx.meta, err = w.Finish(); err != nil {
		t.Fatal(err)
	}
	return fx
}

func newFS(t *testing.T) *vfs.MemFS {
	fsys := vfs.NewMemFS()
	if err := fsys.MkdirAll("/seg", 0o700); err != nil {
		t.Fatal(err)
	}
	return fsys
}

// readAll opens the segment and reads every block, returning the first error.
func readAll(fsys vfs.FS, fx *segFixture, account string) ([]*Block, error) {
	ctx := context.Background()
	s, err := OpenSegment(ctx, fsys, fx.path, account, fx.id, fx.kr)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	var out []*Block
	for i := range s.Meta().Blocks {
		b, err := s.ReadBlock(ctx, i, nil)
		if err != nil {
			return nil, err
		}
		// Consult every value filter (v4) with a value the block holds:
		// each must open, authenticate and admit it.
		for _, c := range b.Columns {
			if c.Type != TypeString {
				continue
			}
			v := c.Strings[0]
			if c.Nulls != nil && c.Nulls[0] {
				v = ""
			}
			m, err := s.ReadBlockMatch(ctx, i, []string{}, []Equal{{Column: c.Name, Value: v}})
			if err != nil {
				return nil, err
			}
			if m == nil {
				return nil, fmt.Errorf("block %d: the filter of %s rules out %q, which it holds", i, c.Name, v)
			}
		}
		out = append(out, b)
	}
	return out, nil
}

func TestSegmentRoundTrip(t *testing.T) {
	for _, tc := range []struct{ blocks, rows int }{{1, 1}, {3, 100}, {2, 8192}} {
		fsys := newFS(t)
		fx := writeTestSegment(t, fsys, newTestKeyring(), "acct", "/seg/a.seg", 1, tc.blocks, tc.rows)
		got, err := readAll(fsys, fx, "acct")
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, fx.blocks) {
			t.Fatalf("%d×%d: blocks differ after round trip", tc.blocks, tc.rows)
		}
		s, err := OpenSegment(context.Background(), fsys, fx.path, "acct", fx.id, fx.kr)
		if err != nil {
			t.Fatal(err)
		}
		m := s.Meta()
		if m.Rows != tc.blocks*tc.rows || m.Workspace != "ws-1" || m.Table != "App_CL" || !reflect.DeepEqual(m.Blocks, fx.meta.Blocks) ||
			m.MinTime != fx.meta.MinTime || m.MaxTime != fx.meta.MaxTime || m.Size != fx.meta.Size {
			t.Fatalf("meta from file %+v differs from writer's %+v", m, fx.meta)
		}
		sel, err := s.ReadBlock(context.Background(), 0, []string{"status_d", TimeColumn})
		if err != nil || len(sel.Columns) != 2 {
			t.Fatalf("column selection: %v", err)
		}
		s.Close()
		if names, _ := fsys.List("/seg"); len(names) != 1 {
			t.Fatalf("directory holds %v, want only the segment", names)
		}
	}
}

func TestSegmentTamperEveryByte(t *testing.T) {
	for _, format := range []byte{segVersion1, segVersion2, segVersion3, segVersion4} {
		fsys := newFS(t)
		fx := writeTestSegmentFormat(t, fsys, newTestKeyring(), "acct", "/seg/a.seg", 2, 3, 20, format)
		orig, _ := fsys.ReadFile(fx.path)
		if orig[4] != format {
			t.Fatalf("wrote version %d, want %d", orig[4], format)
		}
		for i := range orig {
			bad := bytes.Clone(orig)
			bad[i] ^= 0x40
			_ = fsys.WriteFile(fx.path, bad)
			if _, err := readAll(fsys, fx, "acct"); err == nil {
				t.Fatalf("v%d: flipping byte %d of %d went unnoticed", format, i, len(orig))
			}
		}
	}
}

func TestSegmentTamper(t *testing.T) {
	fsys := newFS(t)
	kr := newTestKeyring()
	fx := writeTestSegment(t, fsys, kr, "acct", "/seg/a.seg", 3, 3, 50)
	other := writeTestSegment(t, fsys, kr, "acct-b", "/seg/b.seg", 3, 3, 50) // same id and layout, other account
	sameAcct := writeTestSegment(t, fsys, kr, "acct", "/seg/c.seg", 5, 3, 50)
	v2 := writeTestSegmentFormat(t, fsys, kr, "acct", "/seg/d.seg", 3, 3, 50, segVersion2) // same id as fx
	v2Bytes, _ := fsys.ReadFile(v2.path)
	orig, _ := fsys.ReadFile(fx.path)
	otherBytes, _ := fsys.ReadFile(other.path)
	sameBytes, _ := fsys.ReadFile(sameAcct.path)
	blk := func(data []byte, m *SegmentMeta, i int) []byte {
		b := m.Blocks[i]
		return data[b.Offset : b.Offset+b.Length]
	}
	replace := func(data []byte, m *SegmentMeta, i int, with []byte) []byte {
		b := m.Blocks[i]
		out := append(bytes.Clone(data[:b.Offset]), with...)
		return append(out, data[b.Offset+b.Length:]...)
	}
	m := fx.meta
	cases := []struct {
		name string
		data []byte
	}{
		{"swap blocks 0 and 1", func() []byte {
			if m.Blocks[0].Length != m.Blocks[1].Length {
				// Different lengths: swapping breaks the footer's offsets, also an error.
			}
			d := bytes.Clone(orig)
			b0, b1 := bytes.Clone(blk(orig, m, 0)), bytes.Clone(blk(orig, m, 1))
			d = append(append(append(bytes.Clone(d[:m.Blocks[0].Offset]), b1...), b0...), d[m.Blocks[2].Offset:]...)
			return d
		}()},
		{"block 1 copied over block 0", replace(orig, m, 0, blk(orig, m, 1))},
		{"block from another account", replace(orig, m, 1, blk(otherBytes, other.meta, 1))},
		{"whole file of another account", otherBytes},
		{"block from another segment", replace(orig, m, 1, blk(sameBytes, sameAcct.meta, 1))},
		{"truncated by one byte", orig[:len(orig)-1]},
		{"truncated to header", orig[:segHeaderSize]},
		{"truncated mid block", orig[:m.Blocks[1].Offset+10]},
		{"empty", nil},
		{"appended garbage", append(bytes.Clone(orig), 0)},
		{"version 1 claimed", func() []byte { d := bytes.Clone(orig); d[4] = segVersion1; return d }()},
		// Ticks read as nanoseconds would be wrong by a factor of 100: the
		// authenticated footer and directories carry the version too.
		{"version 2 claimed", func() []byte { d := bytes.Clone(orig); d[4] = segVersion2; return d }()},
		{"version 2 segment claimed as version 3", func() []byte { d := bytes.Clone(v2Bytes); d[4] = segVersion3; return d }()},
		{"version 3 claimed", func() []byte { d := bytes.Clone(orig); d[4] = segVersion3; return d }()},
		{"version 5", func() []byte { d := bytes.Clone(orig); d[4] = 5; return d }()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_ = fsys.WriteFile(fx.path, c.data)
			got, err := readAll(fsys, fx, "acct")
			if err == nil {
				t.Fatalf("read succeeded: %d blocks", len(got))
			}
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnknownVersion) {
				t.Fatalf("error %v does not wrap ErrCorrupt or ErrUnknownVersion", err)
			}
		})
	}
	// The file of one account, opened as its own segment id under the other
	// account, must fail (account bound into the AAD).
	if _, err := readAll(fsys, other, "acct"); err == nil {
		t.Fatal("segment of acct-b opened as acct")
	}
}

func TestSegmentKeyringErrorsPassThrough(t *testing.T) {
	fsys := newFS(t)
	kr := newTestKeyring()
	fx := writeTestSegment(t, fsys, kr, "acct", "/seg/a.seg", 4, 2, 10)
	ctx := context.Background()
	s, err := OpenSegment(ctx, fsys, fx.path, "acct", fx.id, kr)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	kr.mu.Lock()
	kr.revoked = true
	kr.mu.Unlock()
	if _, err := s.ReadBlock(ctx, 0, nil); !errors.Is(err, errTestRevoked) {
		t.Fatalf("read after revocation: %v, want the keyring's error", err)
	}
	if _, err := OpenSegment(ctx, fsys, fx.path, "acct", fx.id, kr); !errors.Is(err, errTestRevoked) {
		t.Fatalf("open after revocation: %v, want the keyring's error", err)
	}
}

func TestSegmentCrashBeforeFinish(t *testing.T) {
	fsys := newFS(t)
	kr := newTestKeyring()
	aek := kr.add(t, "acct", 1, 1)
	w, err := CreateSegment(fsys, "/seg/x.seg", SegmentOptions{Account: "acct", AEK: aek})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Append(genBlock(genRows(1, 0, 10, 10))); err != nil {
		t.Fatal(err)
	}
	fsys.Crash()
	if names, _ := fsys.List("/seg"); len(names) != 0 {
		t.Fatalf("after crash before Finish the directory holds %v", names)
	}
	// Write failure: Finish reports it and nothing appears at the path.
	w, _ = CreateSegment(fsys, "/seg/y.seg", SegmentOptions{Account: "acct", AEK: aek})
	fsys.FailWritesAfter(100)
	if _, err := w.Append(genBlock(genRows(1, 0, 100, 100))); err == nil {
		t.Fatal("append past injected write failure succeeded")
	}
	if _, err := w.Finish(); err == nil {
		t.Fatal("Finish after a write error succeeded")
	}
	_ = w.Abort()
	fsys.FailWritesAfter(-1)
	if names, _ := fsys.List("/seg"); len(names) != 0 {
		t.Fatalf("after a failed write the directory holds %v", names)
	}
}
