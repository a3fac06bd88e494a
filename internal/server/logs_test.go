package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/kustodian/kustodian/internal/datetime"
	"github.com/kustodian/kustodian/internal/ingest"
	"github.com/kustodian/kustodian/internal/kek"
	"github.com/kustodian/kustodian/internal/query"
	"github.com/kustodian/kustodian/internal/store"
	"github.com/kustodian/kustodian/internal/store/vfs"
)

// unavailableKeys refuses write keys of chosen accounts as an unavailable
// customer key would.
type unavailableKeys struct {
	store.Keys
	mu   sync.Mutex
	fail map[string]int // account → write keys still to refuse; -1 all
}

func (k *unavailableKeys) WriteAEK(ctx context.Context, account string) (*store.AEK, error) {
	k.mu.Lock()
	n := k.fail[account]
	if n > 0 {
		k.fail[account]--
	}
	k.mu.Unlock()
	if n != 0 {
		return nil, fmt.Errorf("test: %w", kek.ErrKeyUnavailable)
	}
	return k.Keys.WriteAEK(ctx, account)
}

func (k *unavailableKeys) set(account string, n int) {
	k.mu.Lock()
	k.fail[account] = n
	k.mu.Unlock()
}

// renameHookFS calls a hook before each rename.
type renameHookFS struct {
	vfs.FS
	mu   sync.Mutex
	hook func(newname string)
}

func (f *renameHookFS) Rename(oldname, newname string) error {
	f.mu.Lock()
	h := f.hook
	f.mu.Unlock()
	if h != nil {
		h(newname)
	}
	return f.FS.Rename(oldname, newname)
}

func (f *renameHookFS) set(h func(string)) {
	f.mu.Lock()
	f.hook = h
	f.mu.Unlock()
}

// newSinkServer returns a server with just what ingestion and the drain
// need: state, keys (platform-wrapped), an engine on fsys.
func newSinkServer(t *testing.T, fsys vfs.FS) (*Server, *unavailableKeys, *store.Engine) {
	t.Helper()
	ctx := context.Background()
	st, err := OpenState(ctx, t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	s := &Server{cfg: Config{OutageBuffering: "platform", Log: log}, state: st}
	s.keys = &keys{store: st.Store, log: log}
	s.keys.m = kek.NewManager(kek.Options{Store: kek.MetaGenerations{Store: st.Store}, Platform: kek.PlatformAuthority{Sealer: st.Sealer}, Log: log})
	s.outageRows = prometheus.NewCounter(prometheus.CounterOpts{Name: "test_outage_rows"})
	s.drainedRows = prometheus.NewCounter(prometheus.CounterOpts{Name: "test_drained_rows"})
	uk := &unavailableKeys{Keys: storeKeys{s.keys.m}, fail: map[string]int{}}
	tk, err := st.tableIDKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := store.OpenEngine(ctx, store.EngineOptions{FS: fsys, Dir: filepath.Join(st.DataDir, "data"), Catalog: st.Store,
		Keys: uk, TableIDKey: tk, Log: log, CompactInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close(context.Background()) })
	s.engine.Store(eng)
	return s, uk, eng
}

const (
	sinkWS      = "33333333-3333-3333-3333-333333333333"
	sinkCluster = "cluster/c9"
	sinkOutage  = "outage/c9"
)

// sinkBatch returns rows with n_d = id0, id0+1, ….
func sinkBatch(id0, n int) *ingest.Batch {
	b := ingest.NewBatch(sinkWS, "Sink_CL")
	c := &ingest.Column{Name: "n_d", Type: ingest.TypeReal}
	for i := range n {
		tg, _ := datetime.FromTime(time.Date(2026, 3, 1, 10, 0, i, 0, time.UTC))
		b.TimeGenerated = append(b.TimeGenerated, tg)
		c.Reals = append(c.Reals, float64(id0+i))
		c.Valid = append(c.Valid, true)
	}
	b.Rows = n
	b.Columns = []*ingest.Column{c}
	return b
}

// sinkIDs returns n_d → count over every account, and over the outage
// account alone.
func sinkIDs(t *testing.T, eng *store.Engine, account string) map[int]int {
	t.Helper()
	ctx := context.Background()
	it, err := eng.Scan(ctx, store.ScanRequest{Workspace: sinkWS, Table: "Sink_CL", Account: account, Columns: []string{"n_d"}})
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	out := map[int]int{}
	for {
		b, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range b.Column("n_d").Floats {
			out[int(v)]++
		}
	}
}

func wantIDs(t *testing.T, got map[int]int, ranges ...[2]int) {
	t.Helper()
	n := 0
	for _, r := range ranges {
		for id := r[0]; id < r[1]; id++ {
			n++
			if got[id] != 1 {
				t.Fatalf("id %d stored %d times", id, got[id])
			}
		}
	}
	if len(got) != n {
		t.Fatalf("%d ids stored, want %d", len(got), n)
	}
}

// TestIngestDuringDrain: while an outage buffer is being moved, a request
// that found the cluster's key unavailable a moment ago is written to the
// cluster account (its key is back) instead of failing; if the key is
// still refused it gets a retryable 503 (ingest.ErrUnavailable). The drain
// moves every buffered row exactly once and destroys the buffer.
func TestIngestDuringDrain(t *testing.T) {
	ctx := context.Background()
	fsys := &renameHookFS{FS: vfs.OS}
	s, uk, eng := newSinkServer(t, fsys)
	sink := ingestSink{s}
	ws := &ingest.Workspace{CustomerID: sinkWS, Route: sinkCluster}
	if err := sink.Append(ctx, ws, sinkBatch(0, 5)); err != nil {
		t.Fatal(err)
	}
	// The customer key is unavailable: rows go to the outage buffer.
	uk.set(sinkCluster, -1)
	for i := range 3 {
		if err := sink.Append(ctx, ws, sinkBatch(100+10*i, 10)); err != nil {
			t.Fatal(err)
		}
		if err := eng.Flush(ctx); err != nil && !errors.Is(err, kek.ErrKeyUnavailable) {
			t.Fatal(err)
		}
	}
	if n := testutil.ToFloat64(s.outageRows); n != 30 {
		t.Fatalf("%v rows buffered, want 30", n)
	}
	wantIDs(t, sinkIDs(t, eng, sinkOutage), [2]int{100, 130})
	uk.set(sinkCluster, 0)

	// The drain, stopped while it writes its first copy.
	clusterSegs := filepath.Join(s.state.DataDir, "data", "cluster%2Fc9", "segments")
	var once sync.Once
	fsys.set(func(newname string) {
		if filepath.Dir(newname) != clusterSegs || !strings.HasSuffix(newname, ".seg") {
			return
		}
		once.Do(func() {
			// Still refused: 503, nothing stored.
			uk.set(sinkCluster, -1)
			if err := sink.Append(ctx, ws, sinkBatch(900, 1)); !errors.Is(err, ingest.ErrUnavailable) || !strings.Contains(err.Error(), "being moved") {
				t.Errorf("append with the key still refused during the drain: %v", err)
			}
			// Refused for the first try only: stored in the cluster
			// account.
			uk.set(sinkCluster, 1)
			if err := sink.Append(ctx, ws, sinkBatch(200, 3)); err != nil {
				t.Errorf("append as the key comes back during the drain: %v", err)
			}
			uk.set(sinkCluster, 0)
		})
	})
	s.drainOutageBuffers(ctx)
	fsys.set(nil)
	if t.Failed() {
		t.FailNow()
	}
	if n := testutil.ToFloat64(s.outageRows); n != 30 {
		t.Fatalf("%v rows buffered, want 30", n)
	}
	if n := testutil.ToFloat64(s.drainedRows); n != 30 {
		t.Fatalf("%v rows drained, want 30", n)
	}
	wantIDs(t, sinkIDs(t, eng, ""), [2]int{0, 5}, [2]int{100, 130}, [2]int{200, 203})
	wantIDs(t, sinkIDs(t, eng, sinkCluster), [2]int{0, 5}, [2]int{100, 130}, [2]int{200, 203})
	if ws := eng.Workspaces(sinkOutage); len(ws) != 0 {
		t.Fatalf("the outage account survived the drain: %v", ws)
	}
	accounts, err := s.keys.accounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range accounts {
		if strings.HasPrefix(a, "outage/") {
			t.Fatalf("the outage account's keys survived the drain: %v", accounts)
		}
	}
	// A second drain finds nothing to do.
	s.drainOutageBuffers(ctx)
	wantIDs(t, sinkIDs(t, eng, ""), [2]int{0, 5}, [2]int{100, 130}, [2]int{200, 203})
	// The next outage buffers again.
	uk.set(sinkCluster, -1)
	if err := sink.Append(ctx, ws, sinkBatch(300, 2)); err != nil {
		t.Fatal(err)
	}
	wantIDs(t, sinkIDs(t, eng, sinkOutage), [2]int{300, 302})
}

// TestDataErrMapping: the store's and key layer's errors reach the Query API
// as the sentinel that picks its answer; an account that could not load
// because its stored data fails authentication is an integrity error, not
// an unavailable key.
func TestDataErrMapping(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want error
	}{
		{"revoked", fmt.Errorf("scan: %w", kek.ErrKeyRevoked), query.ErrRevoked},
		{"unavailable", fmt.Errorf("scan: %w", kek.ErrKeyUnavailable), query.ErrUnavailable},
		{"not loaded for a key", fmt.Errorf("%w: %w", store.ErrNotLoaded, kek.ErrKeyUnavailable), query.ErrUnavailable},
		{"not loaded, revoked", fmt.Errorf("%w: %w", store.ErrNotLoaded, kek.ErrKeyRevoked), query.ErrRevoked},
		{"not loaded, corrupt WAL", fmt.Errorf("%w: %w", store.ErrNotLoaded, store.ErrCorrupt), query.ErrDataIntegrity},
		{"not loaded", store.ErrNotLoaded, query.ErrUnavailable},
		{"corrupt block", fmt.Errorf("segment: %w", store.ErrCorrupt), query.ErrDataIntegrity},
		{"unknown version", fmt.Errorf("segment: %w", store.ErrUnknownVersion), query.ErrDataIntegrity},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := dataErr(tc.err); !errors.Is(got, tc.want) {
				t.Fatalf("dataErr(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
	if err := errors.New("other"); dataErr(err) != err {
		t.Fatal("an unrelated error was rewrapped")
	}
}
