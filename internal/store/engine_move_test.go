package store

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kustodian/kustodian/internal/store/vfs"
)

const (
	moveFrom = "outage/c1"
	moveTo   = "cluster/c1"
)

// smallBatches makes MoveAccount commit every three segments.
func smallBatches(o *EngineOptions) { o.moveBatchSegments = 3 }

// withExtra returns testRows with one more string column.
func withExtra(r Rows, name string) Rows {
	c := Column{Name: name, Type: TypeString, Strings: make([]string, len(r.TimeGenerated))}
	for i := range c.Strings {
		c.Strings[i] = fmt.Sprintf("%s-%d", name, i)
	}
	r.Columns = append(slices.Clone(r.Columns), c)
	return r
}

func mustAppend(t testing.TB, e *Engine, acct string, rows ...Rows) {
	t.Helper()
	if err := e.Append(context.Background(), acct, rows); err != nil {
		t.Fatal(err)
	}
}

func mustFlush(t testing.TB, e *Engine) {
	t.Helper()
	if err := e.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// inSegDir reports whether path is in the segment directory of acct.
func inSegDir(env *testEnv, acct, path string) bool {
	return filepath.Dir(path) == filepath.Join(env.dir, accountDir(acct), "segments")
}

// columnsOf returns the column names of a table in one account.
func columnsOf(t testing.TB, e *Engine, acct, ws, table string) []string {
	t.Helper()
	tables, err := e.TablesIn(context.Background(), acct, ws)
	if err != nil {
		t.Fatal(err)
	}
	for _, ts := range tables {
		if ts.Name == table {
			var out []string
			for _, c := range ts.Columns {
				out = append(out, c.Name)
			}
			slices.Sort(out)
			return out
		}
	}
	return nil
}

// TestMoveAccount moves an outage buffer (segments of two key generations,
// two windows, two workspaces, and buffered rows) into a cluster account
// that has data of its own (or none): every row moves once with all its
// columns, schemas are merged, placements written, and nothing of the
// source is left, in memory or after a restart.
func TestMoveAccount(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name      string
		mem       bool
		hasTarget bool
	}{{"mem, existing target", true, true}, {"os, existing target", false, true}, {"mem, new target", true, false}} {
		t.Run(c.name, func(t *testing.T) {
			env := newTestEnv(t, c.mem)
			e := env.open(t, noCompact, smallBatches)
			smallFlushes(t, e, moveFrom, testWS1, secretTable, 0, 5, 10, hour0, time.Minute)
			env.keys.rotate(moveFrom) // the rest of the buffer is under generation 2
			smallFlushes(t, e, moveFrom, testWS1, secretTable, 50, 5, 10, hour0.Add(time.Hour), time.Minute)
			mustAppend(t, e, moveFrom, testRows(testWS2, "Other_CL", 1000, 5, hour0, time.Second))
			mustFlush(t, e)
			// Still in the WAL and buffers when the move starts.
			mustAppend(t, e, moveFrom, testRows(testWS1, secretTable, 100, 10, hour0.Add(2*time.Hour), time.Second))
			want := idRange(0, 110)
			if c.hasTarget {
				mustAppend(t, e, moveTo, withExtra(testRows(testWS1, secretTable, 500, 20, hour0, time.Second), "extra_s"))
				mustFlush(t, e)
				mustAppend(t, e, moveTo, testRows(testWS1, secretTable, 520, 5, hour0, time.Second))
				for id, n := range idRange(500, 525) {
					want[id] = n
				}
			}
			before := dumpRows(t, e, testWS1, secretTable)
			before2 := dumpRows(t, e, testWS2, "Other_CL")
			sameIDsOrFail(t, e, testWS1, secretTable, want)

			st, err := e.MoveAccount(ctx, moveFrom, moveTo)
			if err != nil {
				t.Fatal(err)
			}
			if st.Rows != 115 || st.Segments < 12 || st.Batches != (st.Segments+2)/3 || st.BytesIn <= 0 || st.BytesOut <= 0 || st.Abandoned != 0 {
				t.Fatalf("stats %+v", st)
			}
			check := func(e *Engine) {
				t.Helper()
				if got := dumpRows(t, e, testWS1, secretTable); !slices.Equal(got, before) {
					t.Fatalf("rows of ws1 changed: %d rows, want %d", len(got), len(before))
				}
				if got := dumpRows(t, e, testWS2, "Other_CL"); !slices.Equal(got, before2) {
					t.Fatalf("rows of ws2 changed")
				}
				got, err := scanIDs(t, e, ScanRequest{Workspace: testWS1, Table: secretTable, Account: moveTo})
				if err != nil {
					t.Fatal(err)
				}
				sameIDs(t, got, want)
				if n := len(catalogSegs(t, env, moveFrom)); n != 0 {
					t.Fatalf("%d segments left in the source", n)
				}
				for _, d := range catalogSegs(t, env, moveTo) {
					if d.Account != moveTo || d.Generation != 1 {
						t.Fatalf("moved segment %+v", d)
					}
				}
				checkFilesMatchCatalog(t, env, env.fs, moveTo)
				wantCols := []string{"QuokkaSecretColumn_s", TimeColumn, "id_d", "latency_d", "level_s", "ok_b"}
				if c.hasTarget {
					wantCols = append(wantCols, "extra_s")
					slices.Sort(wantCols)
				}
				if got := columnsOf(t, e, moveTo, testWS1, secretTable); !slices.Equal(got, wantCols) {
					t.Fatalf("target's columns %v, want %v", got, wantCols)
				}
				if got := columnsOf(t, e, moveTo, testWS2, "Other_CL"); len(got) != 6 {
					t.Fatalf("target's Other_CL columns %v", got)
				}
				if ws := e.Workspaces(moveTo); !slices.Equal(ws, []string{testWS1, testWS2}) {
					t.Fatalf("target's workspaces %v", ws)
				}
			}
			check(e)
			if got := segFiles(t, env, env.fs, moveFrom); len(got) != 0 {
				t.Fatalf("source files left: %v", got)
			}
			// The source stays closed; the target takes Appends.
			if err := e.Append(ctx, moveFrom, []Rows{testRows(testWS1, secretTable, 900, 1, hour0, time.Second)}); !errors.Is(err, ErrAccountMoving) {
				t.Fatalf("append to the moved account: %v", err)
			}
			// Moving again moves nothing.
			if st, err := e.MoveAccount(ctx, moveFrom, moveTo); err != nil || st != (MoveStats{}) {
				t.Fatalf("second move: %+v %v", st, err)
			}
			// The source's key can go (its data is elsewhere): scans and
			// tables of the workspace still work; then the drop.
			env.keys.setErr(moveFrom, errFakeRevoked)
			check(e)
			if err := e.DropAccount(ctx, moveFrom); err != nil {
				t.Fatal(err)
			}
			check(e)
			if err := e.Close(ctx); err != nil {
				t.Fatal(err)
			}
			// After a restart: the sealed schemas and placements are in
			// the catalog.
			if vfsMem, ok := env.fs.(*vfs.MemFS); ok {
				vfsMem.Crash()
			}
			e2 := env.open(t, noCompact)
			defer e2.Close(ctx)
			check(e2)
			mustAppend(t, e2, moveTo, testRows(testWS1, secretTable, 600, 1, hour0, time.Second))
			// A fresh account of the source's name takes Appends again.
			env.keys.setErr(moveFrom, nil)
			mustAppend(t, e2, moveFrom, testRows(testWS1, secretTable, 700, 1, hour0, time.Second))
		})
	}
}

// TestMoveAccountDuringMove: while the move copies, Appends to the source
// fail with ErrAccountMoving, Appends to the target work, and scans see
// every row exactly once.
func TestMoveAccountDuringMove(t *testing.T) {
	ctx := context.Background()
	env := newTestEnv(t, true)
	h := &hookFS{FS: env.fs}
	e := env.open(t, noCompact, smallBatches, func(o *EngineOptions) { o.FS = h })
	defer e.Close(ctx)
	smallFlushes(t, e, moveFrom, testWS1, secretTable, 0, 10, 10, hour0, time.Second)
	smallFlushes(t, e, moveTo, testWS1, secretTable, 500, 1, 10, hour0, time.Second)
	want := idRange(0, 100)
	for id := range idRange(500, 510) {
		want[id] = 1
	}
	var renames int
	next := int64(1000)
	h.set(func(h *hookFS) {
		h.rename = func(_, newname string) error {
			if !inSegDir(env, moveTo, newname) || filepath.Ext(newname) != segSuffix {
				return nil
			}
			renames++
			if err := e.Append(ctx, moveFrom, []Rows{testRows(testWS1, secretTable, 999, 1, hour0, time.Second)}); !errors.Is(err, ErrAccountMoving) {
				t.Errorf("append to the source during the move: %v", err)
			}
			if err := e.Append(ctx, moveTo, []Rows{testRows(testWS1, secretTable, next, 1, hour0, time.Second)}); err != nil {
				t.Errorf("append to the target during the move: %v", err)
			}
			want[next] = 1
			next++
			got, err := scanIDs(t, e, ScanRequest{Workspace: testWS1, Table: secretTable})
			if err != nil {
				t.Error(err)
				return nil
			}
			for id, n := range want {
				if got[id] != n {
					t.Errorf("during the move: id %d seen %d times", id, got[id])
					break
				}
			}
			if len(got) != len(want) {
				t.Errorf("during the move: %d ids, want %d", len(got), len(want))
			}
			return nil
		}
	})
	st, err := e.MoveAccount(ctx, moveFrom, moveTo)
	h.set(func(h *hookFS) { h.rename = nil })
	if err != nil || st.Segments != 10 || st.Batches != 4 || renames != 10 {
		t.Fatalf("move: %+v %v (%d copies)", st, err, renames)
	}
	sameIDsOrFail(t, e, testWS1, secretTable, want)
}

// TestMoveAccountScanIsAtomic: a move that runs while a scan is between
// the two accounts (it has taken the first one's sources) cannot commit
// until the scan has taken the second's, so the scan sees every row once
// whichever account comes first.
func TestMoveAccountScanIsAtomic(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct{ from, to string }{{moveFrom, moveTo}, {"a-from", "z-to"}} {
		t.Run(c.from+" to "+c.to, func(t *testing.T) {
			env := newTestEnv(t, true)
			between, moved := make(chan struct{}), make(chan struct{})
			var once sync.Once
			first := min(c.from, c.to)
			e := env.open(t, noCompact, func(o *EngineOptions) {
				o.scanLocked = func(acct string) {
					if acct != first {
						return
					}
					once.Do(func() {
						close(between)
						// Give the move every chance to commit in between.
						select {
						case <-moved:
						case <-time.After(100 * time.Millisecond):
						}
					})
				}
			})
			defer e.Close(ctx)
			smallFlushes(t, e, c.from, testWS1, secretTable, 0, 10, 10, hour0, time.Second)
			smallFlushes(t, e, c.to, testWS1, secretTable, 500, 1, 10, hour0, time.Second)
			want := idRange(0, 100)
			maps.Copy(want, idRange(500, 510))
			var moveErr error
			go func() {
				defer close(moved)
				<-between
				_, moveErr = e.MoveAccount(ctx, c.from, c.to)
			}()
			got, err := scanIDs(t, e, ScanRequest{Workspace: testWS1, Table: secretTable})
			<-moved
			if err != nil || moveErr != nil {
				t.Fatal(err, moveErr)
			}
			sameIDs(t, got, want)
			sameIDsOrFail(t, e, testWS1, secretTable, want)
			if n := len(catalogSegs(t, env, c.from)); n != 0 {
				t.Fatalf("%d segments left in the source", n)
			}
		})
	}
}

// TestMoveAccountOpenScan: a scan opened before the move reads on from the
// source's files, which go when it is closed; a scan opened after reads
// the target.
func TestMoveAccountOpenScan(t *testing.T) {
	ctx := context.Background()
	env := newTestEnv(t, true)
	e := env.open(t, noCompact, smallBatches)
	defer e.Close(ctx)
	smallFlushes(t, e, moveFrom, testWS1, secretTable, 0, 10, 10, hour0, time.Second)
	it, err := e.Scan(ctx, ScanRequest{Workspace: testWS1, Table: secretTable, Columns: []string{"id_d"}})
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	seen, read := idReader(t, it)
	read(1)
	if _, err := e.MoveAccount(ctx, moveFrom, moveTo); err != nil {
		t.Fatal(err)
	}
	if n := len(segFiles(t, env, env.fs, moveFrom)); n != 10 {
		t.Fatalf("%d source files while the scan reads them, want 10", n)
	}
	sameIDsOrFail(t, e, testWS1, secretTable, idRange(0, 100))
	read(-1)
	sameIDs(t, seen, idRange(0, 100))
	it.Close()
	if got := segFiles(t, env, env.fs, moveFrom); len(got) != 0 {
		t.Fatalf("source files left after the scan: %v", got)
	}
}

// TestMoveAccountConcurrent runs scans, Appends to both accounts, flushes
// and compactions while a move runs (run it with -race): every scan sees
// the acknowledged rows exactly once, and at the end every acknowledged
// row is in the target once.
func TestMoveAccountConcurrent(t *testing.T) {
	ctx := context.Background()
	env := newTestEnv(t, true)
	e := env.open(t, noCompact, smallBatches, func(o *EngineOptions) { o.CompactMinRows = 5 })
	defer e.Close(ctx)
	smallFlushes(t, e, moveFrom, testWS1, secretTable, 0, 30, 10, hour0, time.Second)
	smallFlushes(t, e, moveTo, testWS1, secretTable, 500, 3, 10, hour0, time.Second)
	base := idRange(0, 300)
	for id := range idRange(500, 530) {
		base[id] = 1
	}
	var (
		mu    sync.Mutex
		acked = map[int64]int{} // acknowledged beyond base
	)
	ack := func(id int64) {
		mu.Lock()
		acked[id]++
		mu.Unlock()
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	var fromAcked atomic.Int64
	closed := make(chan struct{})
	// Appends to the source until it is closed.
	wg.Go(func() {
		defer close(closed)
		for id := int64(10000); ; id++ {
			err := e.Append(ctx, moveFrom, []Rows{testRows(testWS1, secretTable, id, 1, hour0, time.Second)})
			if errors.Is(err, ErrAccountMoving) {
				return
			}
			if err != nil {
				t.Error(err)
				return
			}
			ack(id)
			fromAcked.Add(1)
		}
	})
	// Appends to the target throughout.
	wg.Go(func() {
		for id := int64(20000); ; id++ {
			select {
			case <-done:
				return
			default:
			}
			if err := e.Append(ctx, moveTo, []Rows{testRows(testWS1, secretTable, id, 1, hour0, time.Second)}); err != nil {
				t.Error(err)
				return
			}
			ack(id)
		}
	})
	// Flushes and compactions.
	wg.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
			}
			if err := e.Flush(ctx); err != nil {
				t.Error(err)
				return
			}
			if _, err := e.Compact(ctx); err != nil {
				t.Error(err)
				return
			}
		}
	})
	var scans atomic.Int64
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				mu.Lock()
				snap := maps.Clone(acked)
				mu.Unlock()
				got, err := scanIDs(t, e, ScanRequest{Workspace: testWS1, Table: secretTable})
				if err != nil {
					t.Error(err)
					return
				}
				scans.Add(1)
				for id, n := range base {
					if got[id] != n {
						t.Errorf("id %d seen %d times", id, got[id])
						return
					}
				}
				for id, n := range got {
					if n != 1 {
						t.Errorf("id %d seen %d times", id, n)
						return
					}
				}
				for id := range snap {
					if got[id] != 1 {
						t.Errorf("acknowledged id %d seen %d times", id, got[id])
						return
					}
				}
			}
		})
	}
	for fromAcked.Load() < 5 && !t.Failed() {
		time.Sleep(time.Millisecond)
	}
	s0 := scans.Load()
	st, err := e.MoveAccount(ctx, moveFrom, moveTo)
	t.Logf("%d scans during the move: %+v", scans.Load()-s0, st)
	<-closed
	for scans.Load() < 8 && !t.Failed() {
		time.Sleep(time.Millisecond)
	}
	close(done)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if st.Rows < 300 {
		t.Fatalf("stats %+v", st)
	}
	for id, n := range acked {
		base[id] = n
	}
	sameIDsOrFail(t, e, testWS1, secretTable, base)
	if n := len(catalogSegs(t, env, moveFrom)); n != 0 {
		t.Fatalf("%d segments left in the source", n)
	}
	mustFlush(t, e)
	checkFilesMatchCatalog(t, env, env.fs, moveTo)
	if got := segFiles(t, env, env.fs, moveFrom); len(got) != 0 {
		t.Fatalf("source files left: %v", got)
	}
}

// TestMoveAccountFailures stops a move at each dangerous point (crashes
// included): the process still sees every row once; after a restart every
// row is there once and only catalogued files remain; running the move
// again finishes it, exactly once.
func TestMoveAccountFailures(t *testing.T) {
	ctx := context.Background()
	errInjected := errors.New("test: injected")
	cases := []struct {
		name string
		arm  func(env *testEnv, h *hookFS, proc *crashFS, cat *flakyCatalog)
		// moveErr: MoveAccount fails; unknown: the commit's outcome is
		// unknown.
		moveErr, unknown bool
	}{
		{"crash after a batch's copies are durable, before its commit", func(env *testEnv, h *hookFS, proc *crashFS, _ *flakyCatalog) {
			h.rename = func(_, newname string) error {
				if inSegDir(env, moveTo, newname) && filepath.Ext(newname) == segSuffix {
					h.syncDir = func(dir string) error {
						proc.mem.SyncDir(dir)
						proc.crash()
						return errProcessDead
					}
				}
				return nil
			}
		}, true, false},
		{"crash while a copy is a durable .tmp", func(env *testEnv, h *hookFS, proc *crashFS, _ *flakyCatalog) {
			h.rename = func(oldname, _ string) error {
				if inSegDir(env, moveTo, oldname) {
					proc.mem.SyncDir(filepath.Dir(oldname))
					proc.crash()
					return errProcessDead
				}
				return nil
			}
		}, true, false},
		{"crash after a commit, before the source's files are removed", func(env *testEnv, h *hookFS, proc *crashFS, _ *flakyCatalog) {
			h.remove = func(n string) error {
				if inSegDir(env, moveFrom, n) && filepath.Ext(n) == segSuffix {
					proc.crash()
					return errProcessDead
				}
				return nil
			}
		}, true, false},
		{"a copy fails in the second batch", func(env *testEnv, h *hookFS, _ *crashFS, _ *flakyCatalog) {
			n := 0
			h.rename = func(_, newname string) error {
				if inSegDir(env, moveTo, newname) && filepath.Ext(newname) == segSuffix {
					if n++; n == 4 {
						return errInjected
					}
				}
				return nil
			}
		}, true, false},
		{"writes fail", func(_ *testEnv, _ *hookFS, proc *crashFS, _ *flakyCatalog) {
			proc.mem.FailWritesAfter(100)
		}, true, false},
		{"catalog commit fails", func(_ *testEnv, _ *hookFS, _ *crashFS, cat *flakyCatalog) {
			cat.updateFails.Store(true)
		}, true, false},
		{"catalog commits but reports an error", func(_ *testEnv, _ *hookFS, _ *crashFS, cat *flakyCatalog) {
			cat.lostReply.Store(true)
		}, false, false},
		{"commit outcome unknown", func(_ *testEnv, _ *hookFS, _ *crashFS, cat *flakyCatalog) {
			cat.lostReply.Store(true)
			cat.viewFails.Store(true)
		}, true, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := newTestEnv(t, true)
			mem := env.fs.(*vfs.MemFS)
			proc := &crashFS{mem: mem}
			h := &hookFS{FS: proc}
			cat := &flakyCatalog{Store: env.cat}
			e := env.open(t, noCompact, smallBatches, func(o *EngineOptions) { o.FS = h; o.Catalog = cat })
			smallFlushes(t, e, moveFrom, testWS1, secretTable, 0, 10, 10, hour0, time.Second)
			smallFlushes(t, e, moveTo, testWS1, secretTable, 500, 1, 10, hour0, time.Second)
			want := dumpRows(t, e, testWS1, secretTable)
			h.set(func(h *hookFS) { c.arm(env, h, proc, cat) })
			_, err := e.MoveAccount(ctx, moveFrom, moveTo)
			if (err != nil) != c.moveErr || proc.dead != strings.HasPrefix(c.name, "crash") {
				t.Fatalf("move: %v (process dead: %v)", err, proc.dead)
			}
			h.set(func(h *hookFS) { h.remove, h.rename, h.syncDir = nil, nil, nil })
			mem.FailWritesAfter(-1)
			cat.updateFails.Store(false)
			if !proc.dead {
				cat.lostReply.Store(false)
				// The process lives on: its view is still right.
				if got := dumpRows(t, e, testWS1, secretTable); !slices.Equal(got, want) {
					t.Fatalf("rows changed before the restart: %d rows, want %d", len(got), len(want))
				}
				if c.unknown {
					if _, err := e.MoveAccount(ctx, moveFrom, moveTo); err == nil || !strings.Contains(err.Error(), "unknown outcome") {
						t.Fatalf("move after an unknown outcome: %v", err)
					}
				} else {
					checkFilesMatchCatalog(t, env, mem, moveFrom)
					checkFilesMatchCatalog(t, env, mem, moveTo)
				}
				if err != nil {
					// A failed move opens the source again.
					mustAppend(t, e, moveFrom, testRows(testWS1, secretTable, 900, 2, hour0, time.Second))
					want = dumpRows(t, e, testWS1, secretTable)
				}
			}
			// Restart (the old engine is abandoned, as after a crash).
			cat.lostReply.Store(false)
			cat.viewFails.Store(false)
			mem.Crash()
			e2 := env.open(t, noCompact, smallBatches)
			defer e2.Close(ctx)
			if got := dumpRows(t, e2, testWS1, secretTable); !slices.Equal(got, want) {
				t.Fatalf("rows changed after the restart: %d rows, want %d", len(got), len(want))
			}
			checkFilesMatchCatalog(t, env, mem, moveFrom)
			checkFilesMatchCatalog(t, env, mem, moveTo)
			// Moving again finishes the move.
			if _, err := e2.MoveAccount(ctx, moveFrom, moveTo); err != nil {
				t.Fatal(err)
			}
			if got := dumpRows(t, e2, testWS1, secretTable); !slices.Equal(got, want) {
				t.Fatalf("rows changed by the second move: %d rows, want %d", len(got), len(want))
			}
			if n := len(catalogSegs(t, env, moveFrom)); n != 0 {
				t.Fatalf("%d segments left in the source", n)
			}
			checkFilesMatchCatalog(t, env, mem, moveFrom)
			checkFilesMatchCatalog(t, env, mem, moveTo)
			if got := segFiles(t, env, mem, moveFrom); len(got) != 0 {
				t.Fatalf("source files left: %v", got)
			}
		})
	}
}

// TestMoveAccountRefused: a refused key or a column whose type differs in
// the target fails the move and changes nothing; the source takes Appends
// again, and once the cause is gone the move succeeds.
func TestMoveAccountRefused(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name string
		// setup runs before the move; during runs when the first copy is
		// renamed into place; fix undoes the cause.
		setup, during func(t *testing.T, env *testEnv, e *Engine)
		fix           func(t *testing.T, env *testEnv, e *Engine)
		is            error  // the move's error wraps it
		contains      string // or contains it
	}{
		{name: "target key refused", is: errFakeUnavailable,
			setup: func(_ *testing.T, env *testEnv, _ *Engine) { env.keys.setErr(moveTo, errFakeUnavailable) },
			fix:   func(_ *testing.T, env *testEnv, _ *Engine) { env.keys.setErr(moveTo, nil) }},
		{name: "source key refused", is: errFakeRevoked,
			setup: func(_ *testing.T, env *testEnv, _ *Engine) { env.keys.setErr(moveFrom, errFakeRevoked) },
			fix:   func(_ *testing.T, env *testEnv, _ *Engine) { env.keys.setErr(moveFrom, nil) }},
		{name: "target key refused during the copy", is: errFakeRevoked,
			during: func(_ *testing.T, env *testEnv, _ *Engine) { env.keys.setErr(moveTo, errFakeRevoked) },
			fix:    func(_ *testing.T, env *testEnv, _ *Engine) { env.keys.setErr(moveTo, nil) }},
		{name: "type conflict", contains: `column "level_s" is long in the target, string in the source`,
			setup: func(t *testing.T, _ *testEnv, e *Engine) {
				r := Rows{Workspace: testWS1, Table: secretTable, TimeGenerated: []int64{ticks(hour0)},
					Columns: []Column{{Name: "id_d", Type: TypeLong, Ints: []int64{500}}, {Name: "level_s", Type: TypeLong, Ints: []int64{7}}}}
				mustAppend(t, e, moveTo, r)
				mustFlush(t, e)
			},
			fix: func(t *testing.T, _ *testEnv, e *Engine) {
				if err := e.DropWorkspace(ctx, testWS1); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "type conflict found at the commit", contains: `column "level_s" is long in the target, string in the source`,
			during: func(t *testing.T, _ *testEnv, e *Engine) {
				r := Rows{Workspace: testWS1, Table: secretTable, TimeGenerated: []int64{ticks(hour0)},
					Columns: []Column{{Name: "id_d", Type: TypeLong, Ints: []int64{500}}, {Name: "level_s", Type: TypeLong, Ints: []int64{7}}}}
				mustAppend(t, e, moveTo, r)
			},
			fix: func(t *testing.T, _ *testEnv, e *Engine) {
				if err := e.DropWorkspace(ctx, testWS1); err != nil {
					t.Fatal(err)
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := newTestEnv(t, true)
			h := &hookFS{FS: env.fs}
			e := env.open(t, noCompact, smallBatches, func(o *EngineOptions) { o.FS = h })
			defer e.Close(ctx)
			smallFlushes(t, e, moveFrom, testWS1, secretTable, 0, 5, 10, hour0, time.Second)
			smallFlushes(t, e, moveFrom, testWS2, secretTable, 0, 2, 10, hour0, time.Second)
			mustAppend(t, e, moveTo, testRows(testWS2, "Other_CL", 0, 3, hour0, time.Second))
			mustFlush(t, e)
			if c.setup != nil {
				c.setup(t, env, e)
			}
			if c.during != nil {
				var once sync.Once
				h.set(func(h *hookFS) {
					h.rename = func(_, newname string) error {
						if inSegDir(env, moveTo, newname) && filepath.Ext(newname) == segSuffix {
							once.Do(func() { c.during(t, env, e) })
						}
						return nil
					}
				})
			}
			fromSegs, toSegs := catalogSegs(t, env, moveFrom), catalogSegs(t, env, moveTo)
			toFiles := segFiles(t, env, env.fs, moveTo)
			_, err := e.MoveAccount(ctx, moveFrom, moveTo)
			h.set(func(h *hookFS) { h.rename = nil })
			switch {
			case err == nil:
				t.Fatal("the move succeeded")
			case c.is != nil && !errors.Is(err, c.is), c.contains != "" && !strings.Contains(err.Error(), c.contains):
				t.Fatalf("move: %v", err)
			}
			t.Log(err)
			// Nothing changed.
			if got := catalogSegs(t, env, moveFrom); len(got) != len(fromSegs) {
				t.Fatalf("source segments %d, were %d", len(got), len(fromSegs))
			}
			if got := catalogSegs(t, env, moveTo); len(got) != len(toSegs) {
				t.Fatalf("target segments %d, were %d", len(got), len(toSegs))
			}
			if got := segFiles(t, env, env.fs, moveTo); !slices.Equal(got, toFiles) {
				t.Fatalf("target files %v, were %v", got, toFiles)
			}
			c.fix(t, env, e)
			// The source takes Appends again.
			mustAppend(t, e, moveFrom, testRows(testWS2, secretTable, 100, 5, hour0, time.Second))
			want := dumpRows(t, e, testWS2, secretTable)
			if _, err := e.MoveAccount(ctx, moveFrom, moveTo); err != nil {
				t.Fatal(err)
			}
			if got := dumpRows(t, e, testWS2, secretTable); !slices.Equal(got, want) {
				t.Fatalf("rows changed by the move: %d, want %d", len(got), len(want))
			}
			wantIDs := idRange(0, 20)
			maps.Copy(wantIDs, idRange(100, 105))
			sameIDsOrFail(t, e, testWS2, secretTable, wantIDs)
			if n := len(catalogSegs(t, env, moveFrom)); n != 0 {
				t.Fatalf("%d segments left in the source", n)
			}
		})
	}
}

// TestMoveAccountRetainAndDrop: a Retain during a move makes the batch that
// held a retained segment start again; a DropWorkspace during a move waits
// for the batch in progress, and the dropped workspace is then gone from
// both accounts (the move does not bring it back).
func TestMoveAccountRetainAndDrop(t *testing.T) {
	ctx := context.Background()
	for _, op := range []string{"retain", "drop workspace"} {
		t.Run(op, func(t *testing.T) {
			env := newTestEnv(t, true)
			h := &hookFS{FS: env.fs}
			e := env.open(t, noCompact, smallBatches, func(o *EngineOptions) { o.FS = h })
			defer e.Close(ctx)
			smallFlushes(t, e, moveFrom, testWS1, secretTable, 0, 4, 10, hour0, time.Second)
			smallFlushes(t, e, moveFrom, testWS1, secretTable, 40, 4, 10, hour0.Add(time.Hour), time.Second)
			smallFlushes(t, e, moveFrom, testWS2, secretTable, 0, 4, 10, hour0, time.Second)
			var once sync.Once
			dropped := make(chan error, 1)
			h.set(func(h *hookFS) {
				h.rename = func(_, newname string) error {
					if !inSegDir(env, moveTo, newname) || filepath.Ext(newname) != segSuffix {
						return nil
					}
					once.Do(func() {
						switch op {
						case "retain":
							if n, err := e.Retain(ctx, testWS1, hour0.Add(time.Hour)); err != nil || n != 4 {
								t.Errorf("retain: %d %v", n, err)
							}
						case "drop workspace":
							go func() { dropped <- e.DropWorkspace(ctx, testWS1) }()
						}
					})
					return nil
				}
			})
			st, err := e.MoveAccount(ctx, moveFrom, moveTo)
			h.set(func(h *hookFS) { h.rename = nil })
			if err != nil {
				t.Fatal(err)
			}
			switch op {
			case "retain":
				if st.Abandoned != 1 || st.Segments != 8 {
					t.Fatalf("stats %+v", st)
				}
				sameIDsOrFail(t, e, testWS1, secretTable, idRange(40, 80))
			case "drop workspace":
				if err := <-dropped; err != nil {
					t.Fatal(err)
				}
				sameIDsOrFail(t, e, testWS1, secretTable, idRange(0, 0))
				for _, acct := range []string{moveFrom, moveTo} {
					for _, d := range catalogSegs(t, env, acct) {
						if d.Workspace == testWS1 {
							t.Fatalf("segment of the dropped workspace in %s", acct)
						}
					}
				}
			}
			sameIDsOrFail(t, e, testWS2, secretTable, idRange(0, 40))
			if n := len(catalogSegs(t, env, moveFrom)); n != 0 {
				t.Fatalf("%d segments left in the source", n)
			}
			checkFilesMatchCatalog(t, env, env.fs, moveFrom)
			checkFilesMatchCatalog(t, env, env.fs, moveTo)
		})
	}
}

// TestMoveAccountArguments: bad or trivial arguments.
func TestMoveAccountArguments(t *testing.T) {
	ctx := context.Background()
	env := newTestEnv(t, true)
	e := env.open(t, noCompact)
	mustAppend(t, e, "a", testRows(testWS1, secretTable, 0, 3, hour0, time.Second))
	for _, c := range []struct {
		from, to string
		fails    bool
	}{
		{"", "b", true}, {"a", "", true}, {"a", "a", true},
		{"unknown", "b", false},
	} {
		st, err := e.MoveAccount(ctx, c.from, c.to)
		if (err != nil) != c.fails || st != (MoveStats{}) {
			t.Fatalf("MoveAccount(%q, %q) = %+v, %v", c.from, c.to, st, err)
		}
	}
	if slices.Contains(e.accountNames(), "b") {
		t.Fatal("moving an unknown account created the target")
	}
	// A target that is itself moving out is refused.
	mustAppend(t, e, "c", testRows(testWS1, secretTable, 10, 3, hour0, time.Second))
	if _, err := e.MoveAccount(ctx, "c", "d"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.MoveAccount(ctx, "a", "c"); err == nil || !strings.Contains(err.Error(), "itself being moved") {
		t.Fatalf("move into a moved account: %v", err)
	}
	sameIDsOrFail(t, e, testWS1, secretTable, map[int64]int{0: 1, 1: 1, 2: 1, 10: 1, 11: 1, 12: 1})
	if err := e.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e.MoveAccount(ctx, "a", "b"); !errors.Is(err, ErrClosed) {
		t.Fatalf("move after Close: %v", err)
	}
}

func (e *Engine) accountNames() []string {
	var out []string
	for _, a := range e.accounts() {
		out = append(out, a.name)
	}
	return out
}
