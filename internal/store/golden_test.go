package store

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/kustodian/kustodian/internal/store/vfs"
)

// Golden segment and WAL files: written once by this code (go test -run
// Golden -update) from fixed keys, fixed random sources and deterministic
// rows; every later version must keep opening them.

const goldenAccount = "golden-account"

func goldenKeyring(t *testing.T) *testKeyring {
	kr := newTestKeyring()
	kr.add(t, goldenAccount, 5, 0x10)
	return kr
}

func goldenBlocks() []*Block {
	return []*Block{genBlock(genRows(11, 0, 40, 80)), genBlock(genRows(12, 40, 40, 80))}
}

func TestSegmentGolden(t *testing.T) {
	for _, name := range []string{"segment-v1.golden", "segment-v2.golden"} {
		t.Run(name, func(t *testing.T) { testSegmentGolden(t, name) })
	}
}

// testSegmentGolden checks a golden segment; -update rewrites the one of
// the current format (v2) only: older formats are frozen.
func testSegmentGolden(t *testing.T, name string) {
	path := filepath.Join("testdata", name)
	kr := goldenKeyring(t)
	id := FileID{0x5e, 0x67}
	write := func(v1 bool) []byte {
		mem := vfs.NewMemFS()
		_ = mem.MkdirAll("/g", 0o700)
		aek, _ := kr.AEK(context.Background(), goldenAccount, 5)
		w, err := CreateSegment(mem, "/g/s", SegmentOptions{Account: goldenAccount, ID: id, Workspace: "ws", Table: "Golden_CL", AEK: aek, Rand: detRand(21), formatV1: v1})
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range goldenBlocks() {
			if _, err := w.Append(b); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := w.Finish(); err != nil {
			t.Fatal(err)
		}
		data, _ := mem.ReadFile("/g/s")
		return data
	}
	if *update && name == "segment-v2.golden" {
		if err := os.WriteFile(path, write(false), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The writer is deterministic given its random source: it must still
	// write exactly the frozen bytes (for v1, the writer kept for upgrade
	// tests; for v2, the current format, which must not drift unnoticed).
	if old, err := os.ReadFile(path); err != nil || !bytes.Equal(write(name == "segment-v1.golden"), old) {
		t.Fatalf("the writer no longer writes the frozen format of %s (%v)", name, err)
	}
	fx := &segFixture{id: id, path: path, kr: kr}
	got, err := readAll(vfs.OS, fx, goldenAccount)
	if err != nil {
		t.Fatalf("golden segment no longer opens: %v", err)
	}
	want := goldenBlocks()
	for _, b := range want {
		_ = b.Validate()
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatal("golden segment decodes to different rows")
	}
}

func TestWALGolden(t *testing.T) {
	path := filepath.Join("testdata", "wal-v1.golden")
	kr := goldenKeyring(t)
	want := []string{"first", "second", "", "fourth line"}
	if *update {
		mem := vfs.NewMemFS()
		w, err := OpenWAL(mem, "/w", WALOptions{Account: goldenAccount, Keyring: kr, Generation: 5, Rand: detRand(31)})
		if err != nil {
			t.Fatal(err)
		}
		_, _ = replayAll(w)
		_ = w.Append(context.Background(), [][]byte{[]byte(want[0]), []byte(want[1])})
		_ = w.Append(context.Background(), [][]byte{[]byte(want[2]), []byte(want[3])})
		_ = w.Close()
		data, _ := mem.ReadFile("/w/" + walName(1))
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	mem := vfs.NewMemFS()
	_ = mem.MkdirAll("/w", 0o700)
	f, _ := mem.Create("/w/" + walName(1))
	_, _ = f.Write(data)
	_ = f.Close()
	w, err := OpenWAL(mem, "/w", WALOptions{Account: goldenAccount, Keyring: kr, Generation: 5})
	if err != nil {
		t.Fatal(err)
	}
	got, err := replayAll(w)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("golden WAL replays to %q, %v", got, err)
	}
}
