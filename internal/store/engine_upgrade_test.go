package store

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/kustodian/kustodian/internal/meta"
	"github.com/kustodian/kustodian/internal/store/vfs"
)

// segmentVersions returns how many of the account's catalogued segment
// files are of each format version (header byte 4).
func segmentVersions(t *testing.T, env *testEnv, acct string) map[byte]int {
	t.Helper()
	out := map[byte]int{}
	for id := range catalogSegs(t, env, acct) {
		data, err := env.fs.(*vfs.MemFS).ReadFile(env.dir + "/" + accountDir(acct) + "/segments/" + id + segSuffix)
		if err != nil {
			t.Fatal(err)
		}
		out[data[4]]++
	}
	return out
}

// catalogEncodings returns how many of the account's segment rows in the
// catalog are of each encoding: 1 (no "v", nanoseconds) or 2.
func catalogEncodings(t *testing.T, env *testEnv, acct string) map[int]int {
	t.Helper()
	ctx := context.Background()
	out := map[int]int{}
	err := env.cat.View(ctx, func(tx meta.Tx) error {
		docs, err := tx.Docs(ctx, kindSegment, accountDir(acct)+"/")
		for _, d := range docs {
			switch {
			case bytes.HasPrefix(d.Body, []byte(`{"v":2,`)):
				out[2]++
			case !bytes.Contains(d.Body, []byte(`"v":`)):
				out[1]++
			default:
				t.Errorf("segment row of an unexpected encoding: %s", d.Body)
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// walRecordVersions returns how many rows records of each version the
// account's WAL holds.
func walRecordVersions(t *testing.T, env *testEnv, acct string) map[byte]int {
	t.Helper()
	w, err := OpenWAL(env.fs, filepath.Join(env.dir, accountDir(acct), "wal"), WALOptions{Account: acct, Keyring: env.keys, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	out := map[byte]int{}
	err = w.Replay(context.Background(), func(_ uint64, recs [][]byte) error {
		for _, r := range recs {
			out[r[0]]++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestEngineUpgrade: a data directory written by earlier versions — v1 or
// v2 segments, WAL records of version 1 and catalog rows of version 1, all
// with times in Unix nanoseconds — opens with this version. Every row reads
// back with the same instants, now in ticks, from segments and from WAL
// replay; the old catalog rows prune scans and drive retention; new flushes
// write v3 segments and version 2 rows; compaction rewrites the small old
// segments as v3.
func TestEngineUpgrade(t *testing.T) {
	for _, format := range []byte{segVersion1, segVersion2} {
		t.Run(fmt.Sprintf("from v%d segments", format), func(t *testing.T) { testEngineUpgrade(t, format) })
	}
}

func testEngineUpgrade(t *testing.T, format byte) {
	ctx := context.Background()
	env := newTestEnv(t, true)
	old := env.open(t, noCompact, func(o *EngineOptions) { o.oldFormat = format })
	var sent []Rows
	for i := range 4 { // four small segments in the 10:00 window
		r := testRows(testWS1, secretTable, int64(i*30), 30, hour0.Add(time.Duration(i*30)*time.Second), time.Second)
		mustAppend(t, old, "a", r)
		mustFlush(t, old)
		sent = append(sent, r)
	}
	late := testRows(testWS1, secretTable, 1000, 10, hour0.Add(3*time.Hour), time.Second) // 13:00 window
	mustAppend(t, old, "a", late)
	mustFlush(t, old)
	inWAL := testRows(testWS1, secretTable, 2000, 20, hour0.Add(5*time.Minute), time.Second) // not flushed
	mustAppend(t, old, "a", inWAL)
	sent = append(sent, late, inWAL)
	want := rowsLines(t, sent...)
	env.fs.(*vfs.MemFS).Crash() // the old version stops without flushing

	if v := segmentVersions(t, env, "a"); v[format] != 5 || len(v) != 1 {
		t.Fatalf("segment versions before the upgrade: %v", v)
	}
	if c := catalogEncodings(t, env, "a"); c[1] != 5 || len(c) != 1 {
		t.Fatalf("catalog encodings before the upgrade: %v", c)
	}
	if w := walRecordVersions(t, env, "a"); w[rowsRecordVersion1] != 1 || len(w) != 1 {
		t.Fatalf("WAL record versions before the upgrade: %v", w)
	}

	e := env.open(t, noCompact)
	defer e.Close(ctx)
	if got := dumpRows(t, e, testWS1, secretTable); !slices.Equal(got, want) {
		t.Fatalf("after the upgrade %d rows read back, want %d (same instants in ticks):\n%v\nwant\n%v", len(got), len(want), got[:3], want[:3])
	}
	// The old rows' time ranges prune scans correctly.
	for _, tc := range []struct {
		from, to time.Duration
		ids      map[int64]int
	}{
		{time.Minute, 2 * time.Minute, idRange(60, 120)},
		{5 * time.Minute, 6 * time.Minute, idRange(2000, 2020)},
		{3 * time.Hour, 4 * time.Hour, idRange(1000, 1010)},
		{time.Hour, 2 * time.Hour, idRange(0, 0)},
	} {
		got, err := scanIDs(t, e, ScanRequest{Workspace: testWS1, Table: secretTable, TimeMin: hour0.Add(tc.from), TimeMax: hour0.Add(tc.to)})
		if err != nil {
			t.Fatal(err)
		}
		sameIDs(t, got, tc.ids)
	}

	// The replayed WAL rows go to a v4 segment with a version 2 row.
	mustFlush(t, e)
	if v := segmentVersions(t, env, "a"); v[format] != 5 || v[segVersion4] != 1 {
		t.Fatalf("segment versions after a new flush: %v", v)
	}
	if c := catalogEncodings(t, env, "a"); c[1] != 5 || c[2] != 1 {
		t.Fatalf("catalog encodings after a new flush: %v", c)
	}
	if got := dumpRows(t, e, testWS1, secretTable); !slices.Equal(got, want) {
		t.Fatalf("after a flush %d rows, want %d", len(got), len(want))
	}

	// Compaction merges the old and new small segments of the 10:00 window
	// into one v4 segment; the 13:00 one, alone, stays as it was.
	if st := mustCompact(t, e); st.SegmentsIn != 5 || st.SegmentsOut != 1 {
		t.Fatalf("compaction of mixed versions: %+v", st)
	}
	if v := segmentVersions(t, env, "a"); v[segVersion4] != 1 || v[format] != 1 || len(v) != 2 {
		t.Fatalf("segment versions after compaction: %v", v)
	}
	if c := catalogEncodings(t, env, "a"); c[1] != 1 || c[2] != 1 {
		t.Fatalf("catalog encodings after compaction: %v", c)
	}
	if got := dumpRows(t, e, testWS1, secretTable); !slices.Equal(got, want) {
		t.Fatalf("after compaction %d rows, want %d", len(got), len(want))
	}

	// Retention reads the old row's range in ticks: the 13:00 segment
	// (13:00:00 to 13:00:09) goes only once the cut is past its last row.
	for _, tc := range []struct {
		cut     time.Duration
		deleted int
		left    []Rows
	}{
		{time.Hour, 1, []Rows{late}},
		{3*time.Hour + 9*time.Second, 0, []Rows{late}},
		{3*time.Hour + 9*time.Second + time.Nanosecond, 1, nil},
	} {
		n, err := e.Retain(ctx, testWS1, hour0.Add(tc.cut))
		if err != nil || n != tc.deleted {
			t.Fatalf("Retain(%v) = %d, %v; want %d", tc.cut, n, err, tc.deleted)
		}
		if got := dumpRows(t, e, testWS1, secretTable); !slices.Equal(got, rowsLines(t, tc.left...)) {
			t.Fatalf("after Retain(%v): %d rows", tc.cut, len(got))
		}
	}
	checkFilesMatchCatalog(t, env, env.fs, "a")
}
