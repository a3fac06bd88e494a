package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"

	"github.com/kustodian/kustodian/internal/store/vfs"
)

func openTestWAL(t testing.TB, fsys vfs.FS, kr *testKeyring, maxSize int64) *WAL {
	t.Helper()
	w, err := OpenWAL(fsys, "/wal", WALOptions{Account: "acct", Keyring: kr, Generation: 1, MaxFileSize: maxSize,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// replayAll replays w and returns the records in order.
func replayAll(w *WAL) ([]string, error) {
	var got []string
	err := w.Replay(context.Background(), func(_ uint64, recs [][]byte) error {
		for _, r := range recs {
			got = append(got, string(r))
		}
		return nil
	})
	return got, err
}

func rec(i int) []byte { return fmt.Appendf(nil, "record-%05d %s", i, bytes.Repeat([]byte{'x'}, i%50)) }

func TestWALRoundTripAndRotation(t *testing.T) {
	fsys := vfs.NewMemFS()
	kr := newTestKeyring()
	kr.add(t, "acct", 1, 1)
	kr.add(t, "acct", 2, 2)
	w := openTestWAL(t, fsys, kr, 1024)
	if err := w.Append(context.Background(), [][]byte{[]byte("x")}); err == nil {
		t.Fatal("Append before Replay succeeded")
	}
	if got, err := replayAll(w); err != nil || len(got) != 0 {
		t.Fatalf("replay of empty WAL: %v, %v", got, err)
	}
	var want []string
	for i := 0; i < 100; i++ {
		if i == 50 {
			w.SetGeneration(2) // records of both generations replay
		}
		batch := [][]byte{rec(i), rec(i + 1000)}
		if err := w.Append(context.Background(), batch); err != nil {
			t.Fatal(err)
		}
		want = append(want, string(batch[0]), string(batch[1]))
	}
	if n := len(w.Files()); n < 3 {
		t.Fatalf("only %d WAL files after 100 appends with a 1 KiB limit", n)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w2 := openTestWAL(t, fsys, kr, 1024)
	got, err := replayAll(w2)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("replayed %d records, want %d (or order differs)", len(got), len(want))
	}
	// Flush protocol: rotate, then remove everything before.
	seq, err := w2.Rotate()
	if err != nil {
		t.Fatal(err)
	}
	if err := w2.RemoveBefore(seq); err != nil {
		t.Fatal(err)
	}
	if files := w2.Files(); len(files) != 1 || files[0] != seq {
		t.Fatalf("after RemoveBefore(%d): %v", seq, files)
	}
	w2.Close()
	if got, err := replayAll(openTestWAL(t, fsys, kr, 1024)); err != nil || len(got) != 0 {
		t.Fatalf("replay after truncation: %d records, %v", len(got), err)
	}
}

// writeWAL appends n single-record batches and closes the WAL.
func writeWAL(t *testing.T, fsys vfs.FS, kr *testKeyring, n int) {
	w := openTestWAL(t, fsys, kr, 0)
	if _, err := replayAll(w); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if err := w.Append(context.Background(), [][]byte{rec(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestWALTornTail(t *testing.T) {
	kr := newTestKeyring()
	kr.add(t, "acct", 1, 1)
	fsys := vfs.NewMemFS()
	writeWAL(t, fsys, kr, 5)
	name := "/wal/" + walName(1)
	full, _ := fsys.ReadFile(name)
	// Find the start of the last record by replaying prefixes.
	for cut := len(full) - 1; cut > walHeaderSize; cut -= 7 {
		_ = fsys.WriteFile(name, full[:cut])
		got, err := replayAll(openTestWAL(t, fsys, kr, 0))
		if err != nil {
			t.Fatalf("cut at %d: %v", cut, err)
		}
		if len(got) > 4 {
			t.Fatalf("cut at %d: %d records, a torn record was returned", cut, len(got))
		}
		after, _ := fsys.ReadFile(name)
		if len(after) > cut {
			t.Fatalf("file grew")
		}
		// Clean up files made by the replays above.
		for _, f := range must(fsys.List("/wal")) {
			if f != walName(1) {
				_ = fsys.Remove("/wal/" + f)
			}
		}
	}
	// A last record whose final sector never reached the disk (its bytes
	// there read back as zeros) is torn: dropped, the others replayed.
	lastStart := walHeaderSize
	for next := lastStart; next < len(full); next += frameHeader + int(binary.BigEndian.Uint32(full[next:])) {
		lastStart = next
	}
	unwritten := bytes.Clone(full)
	tailSector := len(full) - len(full)%sectorSize
	if tailSector <= lastStart+frameHeader {
		tailSector = lastStart + frameHeader + 1
	}
	clear(unwritten[tailSector:])
	_ = fsys.WriteFile(name, unwritten)
	if got, err := replayAll(openTestWAL(t, fsys, kr, 0)); err != nil || len(got) != 4 {
		t.Fatalf("last record with an unwritten sector: %d records, %v", len(got), err)
	}
	for _, f := range must(fsys.List("/wal")) {
		if f != walName(1) {
			_ = fsys.Remove("/wal/" + f)
		}
	}
	// Zeros at the end (size extended, data lost) are a torn tail too.
	_ = fsys.WriteFile(name, append(bytes.Clone(full), make([]byte, 100)...))
	if got, err := replayAll(openTestWAL(t, fsys, kr, 0)); err != nil || len(got) != 5 {
		t.Fatalf("zero tail: %d records, %v", len(got), err)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestWALCorruptMiddle(t *testing.T) {
	kr := newTestKeyring()
	kr.add(t, "acct", 1, 1)
	fsys := vfs.NewMemFS()
	writeWAL(t, fsys, kr, 5)
	name := "/wal/" + walName(1)
	full, _ := fsys.ReadFile(name)
	recLen := frameHeader + int(binary.BigEndian.Uint32(full[walHeaderSize:]))
	cases := map[string][]byte{
		"flip in first record": func() []byte { d := bytes.Clone(full); d[walHeaderSize+20] ^= 1; return d }(),
		"flip in header":       func() []byte { d := bytes.Clone(full); d[10] ^= 1; return d }(),
		// The last record is complete: a changed byte is tampering, not
		// a torn write.
		"flip in last record": func() []byte { d := bytes.Clone(full); d[len(d)-5] ^= 1; return d }(),
		"version 9":           func() []byte { d := bytes.Clone(full); d[4] = 9; return d }(),
		"record dropped": func() []byte {
			return append(bytes.Clone(full[:walHeaderSize]), full[walHeaderSize+recLen:]...)
		}(),
	}
	for name2, data := range cases {
		t.Run(name2, func(t *testing.T) {
			_ = fsys.WriteFile(name, data)
			got, err := replayAll(openTestWAL(t, fsys, kr, 0))
			if err == nil {
				t.Fatalf("replay succeeded with %d records", len(got))
			}
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnknownVersion) {
				t.Fatalf("error %v wraps neither ErrCorrupt nor ErrUnknownVersion", err)
			}
		})
	}
	// A WAL file renamed to another sequence number does not replay.
	_ = fsys.WriteFile(name, full)
	if err := fsys.Rename(name, "/wal/"+walName(7)); err != nil {
		t.Fatal(err)
	}
	if _, err := replayAll(openTestWAL(t, fsys, kr, 0)); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("renamed WAL file: %v, want ErrCorrupt", err)
	}
	// A WAL of another account does not replay.
	_ = fsys.Rename("/wal/"+walName(7), name)
	kr.add(t, "other", 1, 1) // same key bytes: only the AAD tells them apart
	w, _ := OpenWAL(fsys, "/wal", WALOptions{Account: "other", Keyring: kr, Generation: 1})
	if _, err := replayAll(w); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("WAL of another account: %v, want ErrCorrupt", err)
	}
}

// TestWALCrash: every Append that returned nil survives a crash that drops
// everything unsynced, with concurrent appenders, rotations and an injected
// sync failure.
func TestWALCrash(t *testing.T) {
	for round := 0; round < 20; round++ {
		kr := newTestKeyring()
		kr.add(t, "acct", 1, 1)
		fsys := vfs.NewMemFS()
		w := openTestWAL(t, fsys, kr, 4096)
		if _, err := replayAll(w); err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		acked := map[string]bool{}
		var wg sync.WaitGroup
		for g := 0; g < 8; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 40; i++ {
					r := fmt.Sprintf("g%d-%d", g, i)
					if err := w.Append(context.Background(), [][]byte{[]byte(r)}); err != nil {
						return
					}
					mu.Lock()
					acked[r] = true
					mu.Unlock()
				}
			}()
		}
		// Fail somewhere in the middle: a write error or a sync error.
		if round%2 == 0 {
			fsys.FailWritesAfter(int64(2000 + round*700))
		} else {
			fsys.SetSyncError(vfs.ErrInjected)
		}
		wg.Wait()
		fsys.Crash()
		w2 := openTestWAL(t, fsys, kr, 4096)
		got, err := replayAll(w2)
		if err != nil {
			t.Fatalf("round %d: replay after crash: %v", round, err)
		}
		have := map[string]bool{}
		for _, r := range got {
			have[r] = true
		}
		for r := range acked {
			if !have[r] {
				t.Fatalf("round %d: acknowledged record %s lost (acked %d, replayed %d)", round, r, len(acked), len(got))
			}
		}
		// The WAL is usable after recovery.
		if err := w2.Append(context.Background(), [][]byte{[]byte("after")}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestWALPoisonedAfterWriteError(t *testing.T) {
	kr := newTestKeyring()
	kr.add(t, "acct", 1, 1)
	fsys := vfs.NewMemFS()
	w := openTestWAL(t, fsys, kr, 0)
	_, _ = replayAll(w)
	fsys.FailWritesAfter(10)
	if err := w.Append(context.Background(), [][]byte{rec(1)}); !errors.Is(err, vfs.ErrInjected) {
		t.Fatalf("append with failing disk: %v", err)
	}
	fsys.FailWritesAfter(-1)
	if err := w.Append(context.Background(), [][]byte{rec(2)}); err == nil {
		t.Fatal("append after a write error succeeded on a poisoned WAL")
	}
}

func TestWALKeyringErrors(t *testing.T) {
	kr := newTestKeyring()
	kr.add(t, "acct", 1, 1)
	fsys := vfs.NewMemFS()
	writeWAL(t, fsys, kr, 3)
	kr.revoked = true
	if _, err := replayAll(openTestWAL(t, fsys, kr, 0)); !errors.Is(err, errTestRevoked) {
		t.Fatalf("replay with revoked key: %v", err)
	}
	kr.revoked = false
	w := openTestWAL(t, fsys, kr, 0)
	if _, err := replayAll(w); err != nil {
		t.Fatal(err)
	}
	kr.revoked = true
	if err := w.Append(context.Background(), [][]byte{rec(1)}); !errors.Is(err, errTestRevoked) {
		t.Fatalf("append with revoked key: %v", err)
	}
}
