package store

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"

	"github.com/kustodian/kustodian/internal/store/vfs"
)

// FuzzUnmarshalBlock: the block decoder never panics and fails only with
// ErrCorrupt or ErrUnknownVersion.
func FuzzUnmarshalBlock(f *testing.F) {
	b := genBlock(genRows(1, 0, 20, 20))
	_ = b.Validate()
	f.Add(b.marshal(nil))
	small := &Block{Rows: 2, Columns: []Column{timeCol(1, 2), {Name: "s", Type: TypeString, Strings: []string{"a", "a"}, Nulls: []bool{true, false}},
		{Name: "b", Type: TypeBool, Bools: []bool{true, false}}, {Name: "r", Type: TypeReal, Floats: []float64{1, 2}}}}
	_ = small.Validate()
	f.Add(small.marshal(nil))
	f.Add([]byte("KSBL\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		blk, err := unmarshalBlock(data, nil)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnknownVersion) {
				t.Fatalf("undocumented error: %v", err)
			}
			return
		}
		for _, c := range blk.Columns {
			if c.length() != blk.Rows || (c.Nulls != nil && len(c.Nulls) != blk.Rows) {
				t.Fatalf("decoded column %q has inconsistent length", c.Name)
			}
		}
		if _, err := decompressBody(nil, data); err != nil && !errors.Is(err, ErrCorrupt) {
			t.Fatalf("decompressBody: undocumented error %v", err)
		}
	})
}

// FuzzWALReplay: replaying an arbitrary WAL file never panics and never
// returns records unless they authenticate.
func FuzzWALReplay(f *testing.F) {
	kr := newTestKeyring()
	kr.add(f, "acct", 1, 1)
	fsys := vfs.NewMemFS()
	w := openTestWAL(f, fsys, kr, 0)
	_, _ = replayAll(w)
	for i := 0; i < 3; i++ {
		_ = w.Append(context.Background(), [][]byte{rec(i), rec(i + 1)})
	}
	_ = w.Close()
	seed, _ := fsys.ReadFile("/wal/" + walName(1))
	f.Add(seed)
	f.Add(seed[:walHeaderSize+5])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		fsys := vfs.NewMemFS()
		_ = fsys.MkdirAll("/wal", 0o700)
		wf, _ := fsys.Create("/wal/" + walName(1))
		_, _ = wf.Write(data)
		_ = wf.Sync()
		_ = fsys.SyncDir("/wal")
		w, err := OpenWAL(fsys, "/wal", WALOptions{Account: "acct", Keyring: kr, Generation: 1, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		got, err := replayAll(w)
		if err != nil && !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnknownVersion) {
			t.Fatalf("undocumented error: %v", err)
		}
		_ = got
	})
}

// FuzzUnmarshalRecords: the WAL payload decoder never panics.
func FuzzUnmarshalRecords(f *testing.F) {
	f.Add(marshalRecords(nil, [][]byte{[]byte("a"), {}, []byte("bcd")}))
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := unmarshalRecords(data); err != nil && !errors.Is(err, ErrCorrupt) {
			t.Fatalf("undocumented error: %v", err)
		}
	})
}
