package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestCompactionMergesSmallSegments: every restart flushes the buffered rows
// into a small segment; a server with a short --compact-interval merges
// them, the metrics say so, the files on disk shrink in number and every
// row is still there, through the Query API and across another restart.
func TestCompactionMergesSmallSegments(t *testing.T) {
	t.Parallel()
	dir, addr := t.TempDir(), freeAddr(t)
	e, tok := setup(t, options{dataDir: dir, listen: addr}, "rg")
	e.mkWorkspace(t, tok, "rg", "ws-compact", "eastus")
	ws, key := e.workspaceKeys(t, tok, "rg", "ws-compact")
	const rounds, perRound = 4, 25
	e = e.smallSegments(t, dir, addr, ws, key, rounds, perRound)
	before := len(segmentPaths(t, dir))
	if before < rounds {
		t.Fatalf("%d segment files before compaction, want at least %d", before, rounds)
	}
	e.stop()
	e = start(t, options{dataDir: dir, listen: addr, compactInterval: 100 * time.Millisecond})
	deadline := time.Now().Add(15 * time.Second)
	for metric(t, e, "kustodian_compaction_segments_in_total") < rounds {
		if time.Now().After(deadline) {
			t.Fatalf("no compaction within 15s: segments in = %v", metric(t, e, "kustodian_compaction_segments_in_total"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	// One group, or two when the rounds straddle a segment window (hour).
	in := int(metric(t, e, "kustodian_compaction_segments_in_total"))
	out := int(metric(t, e, "kustodian_compaction_segments_out_total"))
	if out < 1 || out > 2 || out >= in {
		t.Fatalf("compaction merged %d segments into %d", in, out)
	}
	if after := len(segmentPaths(t, dir)); after != before-in+out {
		t.Fatalf("%d segment files after compaction, want %d", after, before-in+out)
	}
	check := func() {
		t.Helper()
		if n, err := e.count(t, e.logsClient(t), ws, "Compact_CL | count"); err != nil || n != rounds*perRound {
			t.Fatalf("count = %d, %v; want %d", n, err, rounds*perRound)
		}
		if n, err := e.count(t, e.logsClient(t), ws, "Compact_CL | where round_d == 2 and i_d == 7 | count"); err != nil || n != 1 {
			t.Fatalf("needle count = %d, %v; want 1", n, err)
		}
	}
	check()
	e.stop()
	e = start(t, options{dataDir: dir, listen: addr})
	check()
}

// smallSegments posts rounds batches of perRound rows to table Compact_CL,
// restarting the server after each so that each becomes one small segment,
// and returns the running server.
func (e *env) smallSegments(t *testing.T, dir, addr, ws, key string, rounds, perRound int) *env {
	t.Helper()
	for r := range rounds {
		var b strings.Builder
		b.WriteByte('[')
		for i := range perRound {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"round":%d,"i":%d,"msg":"row %d of round %d"}`, r, i, i, r)
		}
		b.WriteByte(']')
		expect(t, e.postLogs(t, ws, key, "Compact", b.String()), http.StatusOK, "")
		e.stop() // flushes: one more small segment
		e = start(t, options{dataDir: dir, listen: addr})
	}
	return e
}

// TestAdminCompact: the operator can run a compaction pass on demand;
// other principals cannot.
func TestAdminCompact(t *testing.T) {
	t.Parallel()
	dir, addr := t.TempDir(), freeAddr(t)
	e, tok := setup(t, options{dataDir: dir, listen: addr}, "rg")
	e.mkWorkspace(t, tok, "rg", "ws-admin-compact", "eastus")
	ws, key := e.workspaceKeys(t, tok, "rg", "ws-admin-compact")
	e = e.smallSegments(t, dir, addr, ws, key, 3, 10)
	before := len(segmentPaths(t, dir))

	cred, _ := e.newPrincipal(t, "not-the-operator")
	other := e.token(cred)
	expect(t, e.do(http.MethodPost, "/admin/compact", other, ""), http.StatusForbidden, "AuthorizationFailed")
	if n := len(segmentPaths(t, dir)); n != before {
		t.Fatalf("a refused request changed the segments: %d, want %d", n, before)
	}
	r := e.do(http.MethodPost, "/admin/compact", tok, "")
	expect(t, r, http.StatusOK, "")
	var st struct{ SegmentsIn, SegmentsOut int }
	if err := json.Unmarshal(r.body, &st); err != nil || st.SegmentsIn < 3 || st.SegmentsOut < 1 || st.SegmentsOut >= st.SegmentsIn {
		t.Fatalf("compaction answered %s (%v)", r.body, err)
	}
	if n := len(segmentPaths(t, dir)); n != before-st.SegmentsIn+st.SegmentsOut {
		t.Fatalf("%d segment files after compaction, want %d", n, before-st.SegmentsIn+st.SegmentsOut)
	}
	if n, err := e.count(t, e.logsClient(t), ws, "Compact_CL | count"); err != nil || n != 30 {
		t.Fatalf("count = %d, %v; want 30", n, err)
	}
}

// metric returns the value of an unlabelled metric from /metrics.
func metric(t *testing.T, e *env, name string) float64 {
	t.Helper()
	for _, s := range e.scrape(t, name) {
		if len(s.labels) == 0 {
			return s.value
		}
	}
	t.Fatalf("/metrics has no %s", name)
	return 0
}
