package store

import (
	"context"
	"slices"
	"testing"
	"time"

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

// TestEngineUpgradeFromV1Segments: a data directory written by a version
// that wrote v1 segments opens with this one; its rows read back the same,
// new flushes write v2 beside them, and compaction rewrites the small v1
// segments as v2.
func TestEngineUpgradeFromV1Segments(t *testing.T) {
	ctx := context.Background()
	env := newTestEnv(t, true)
	old := env.open(t, noCompact, func(o *EngineOptions) { o.segmentFormatV1 = true })
	smallFlushes(t, old, "a", testWS1, secretTable, 0, 4, 30, hour0, time.Second)
	want := dumpRows(t, old, testWS1, secretTable)
	if err := old.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if v := segmentVersions(t, env, "a"); v[segVersion1] != 4 || len(v) != 1 {
		t.Fatalf("segment versions before the upgrade: %v", v)
	}

	e := env.open(t, noCompact)
	defer e.Close(ctx)
	if got := dumpRows(t, e, testWS1, secretTable); !slices.Equal(got, want) {
		t.Fatalf("v1 segments read back %d rows, want %d", len(got), len(want))
	}
	smallFlushes(t, e, "a", testWS1, secretTable, 120, 1, 30, hour0.Add(2*time.Minute), time.Second)
	want = dumpRows(t, e, testWS1, secretTable)
	if v := segmentVersions(t, env, "a"); v[segVersion1] != 4 || v[segVersion2] != 1 {
		t.Fatalf("segment versions after a new flush: %v", v)
	}
	if st := mustCompact(t, e); st.SegmentsIn != 5 || st.SegmentsOut != 1 {
		t.Fatalf("compaction of mixed versions: %+v", st)
	}
	if v := segmentVersions(t, env, "a"); v[segVersion2] != 1 || len(v) != 1 {
		t.Fatalf("segment versions after compaction: %v", v)
	}
	if got := dumpRows(t, e, testWS1, secretTable); !slices.Equal(got, want) {
		t.Fatalf("after compaction %d rows, want %d", len(got), len(want))
	}
	checkFilesMatchCatalog(t, env, env.fs, "a")
}
