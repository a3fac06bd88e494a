package store

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/kustodian/kustodian/internal/datetime"
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

// FuzzUnmarshalRowsRecord: a WAL rows record of either version decodes to
// a valid block, every datetime in Kusto's range, or fails with ErrCorrupt
// or ErrUnknownVersion; never panics.
func FuzzUnmarshalRowsRecord(f *testing.F) {
	for _, name := range []string{"wal-record-v1.golden", "wal-record-v2.golden", "wal-record-v2-extremes.golden"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte{rowsRecordVersion2})
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _, b, err := unmarshalRowsRecord(data)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnknownVersion) {
				t.Fatalf("undocumented error: %v", err)
			}
			return
		}
		for _, ts := range b.Column(TimeColumn).Ints {
			if !datetime.Valid(ts) {
				t.Fatalf("TimeGenerated %d outside Kusto's range", ts)
			}
		}
	})
}

// FuzzDecodeSegmentDoc: a catalog segment row decodes to ticks (version 2)
// or fails; never panics.
func FuzzDecodeSegmentDoc(f *testing.F) {
	for _, name := range []string{"catalog-segment-v1.golden.json", "catalog-segment-v2.golden.json", "catalog-segment-v2-extremes.golden.json"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"v":7}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := decodeSegmentDoc(data)
		if err == nil && d.Version != segDocTicks {
			t.Fatalf("decoded to encoding %d", d.Version)
		}
	})
}
