package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kustodian/kustodian/internal/datetime"
	"github.com/kustodian/kustodian/internal/meta"
	"github.com/kustodian/kustodian/internal/store/vfs"
)

var (
	errFakeRevoked     = errors.New("fake: key revoked")
	errFakeUnavailable = errors.New("fake: key unavailable")
)

// fakeKeys is a Keys with per-account generations and switchable errors.
type fakeKeys struct {
	mu    sync.Mutex
	gen   map[string]uint32
	keys  map[string]*AEK
	err   map[string]error
	calls atomic.Int64
}

func newFakeKeys() *fakeKeys {
	return &fakeKeys{gen: map[string]uint32{}, keys: map[string]*AEK{}, err: map[string]error{}}
}

func (k *fakeKeys) aekLocked(account string, gen uint32) (*AEK, error) {
	id := fmt.Sprintf("%s/%d", account, gen)
	if a := k.keys[id]; a != nil {
		return a, nil
	}
	if gen > k.gen[account] {
		return nil, fmt.Errorf("fake: no generation %d of %s", gen, account)
	}
	raw := make([]byte, AEKSize)
	copy(raw, id)
	a, err := NewAEK(gen, raw)
	if err != nil {
		return nil, err
	}
	k.keys[id] = a
	return a, nil
}

func (k *fakeKeys) AEK(_ context.Context, account string, gen uint32) (*AEK, error) {
	k.calls.Add(1)
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.err[account]; err != nil {
		return nil, err
	}
	return k.aekLocked(account, gen)
}

func (k *fakeKeys) WriteAEK(_ context.Context, account string) (*AEK, error) {
	k.calls.Add(1)
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.err[account]; err != nil {
		return nil, err
	}
	if k.gen[account] == 0 {
		k.gen[account] = 1
	}
	return k.aekLocked(account, k.gen[account])
}

func (k *fakeKeys) setErr(account string, err error) {
	k.mu.Lock()
	k.err[account] = err
	k.mu.Unlock()
}

func (k *fakeKeys) rotate(account string) {
	k.mu.Lock()
	k.gen[account] = max(k.gen[account], 1) + 1
	k.mu.Unlock()
}

// Distinctive names and values that must never appear in plaintext at rest.
const (
	secretTable  = "ZebraSecretTable_CL"
	secretColumn = "QuokkaSecretColumn_s"
	secretValue  = "PlatypusSecretValue"
)

var (
	testWS1 = "11111111-1111-1111-1111-111111111111"
	testWS2 = "22222222-2222-2222-2222-222222222222"
	hour0   = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
)

type testEnv struct {
	fs   vfs.FS
	dir  string
	cat  *meta.SQLite
	keys *fakeKeys
	tkey []byte
}

func newTestEnv(t testing.TB, mem bool) *testEnv {
	t.Helper()
	env := &testEnv{fs: vfs.OS, dir: filepath.Join(t.TempDir(), "data"), keys: newFakeKeys(), tkey: bytes.Repeat([]byte{7}, 32)}
	if mem {
		env.fs = vfs.NewMemFS()
		env.dir = "/data"
	}
	cat, err := meta.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close() })
	env.cat = cat
	return env
}

func (env *testEnv) open(t testing.TB, mod ...func(*EngineOptions)) *Engine {
	t.Helper()
	o := EngineOptions{FS: env.fs, Dir: env.dir, Catalog: env.cat, Keys: env.keys, TableIDKey: env.tkey,
		Log: discardLogger()}
	for _, m := range mod {
		m(&o)
	}
	e, err := OpenEngine(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func discardLogger() *slogLogger { return slogDiscard }

// testRows returns n rows with ids id0.. at times t0 + i*step: an id, a
// secret string column, a level with nulls, a real and a bool.
func testRows(ws, table string, id0 int64, n int, t0 time.Time, step time.Duration) Rows {
	r := Rows{Workspace: ws, Table: table, TimeGenerated: make([]int64, n)}
	id := Column{Name: "id_d", Type: TypeLong, Ints: make([]int64, n)}
	sec := Column{Name: secretColumn, Type: TypeString, Strings: make([]string, n)}
	lvl := Column{Name: "level_s", Type: TypeString, Strings: make([]string, n), Nulls: make([]bool, n)}
	lat := Column{Name: "latency_d", Type: TypeReal, Floats: make([]float64, n)}
	ok := Column{Name: "ok_b", Type: TypeBool, Bools: make([]bool, n)}
	for i := range n {
		r.TimeGenerated[i] = ticks(t0.Add(time.Duration(i) * step))
		id.Ints[i] = id0 + int64(i)
		sec.Strings[i] = fmt.Sprintf("%s-%d", secretValue, id0+int64(i))
		if i%3 == 0 {
			lvl.Nulls[i] = true
		} else {
			lvl.Strings[i] = "info"
		}
		lat.Floats[i] = float64(i) / 4
		ok.Bools[i] = i%2 == 0
	}
	r.Columns = []Column{id, sec, lvl, lat, ok}
	return r
}

// scanIDs scans and returns id → count, checking each block's columns.
func scanIDs(t testing.TB, e *Engine, req ScanRequest) (map[int64]int, error) {
	t.Helper()
	if req.Columns == nil {
		req.Columns = []string{"id_d"}
	}
	it, err := e.Scan(context.Background(), req)
	if err != nil {
		return nil, err
	}
	defer it.Close()
	ids := map[int64]int{}
	for {
		b, err := it.Next(context.Background())
		if err == io.EOF {
			return ids, nil
		}
		if err != nil {
			return nil, err
		}
		tc := b.Column(TimeColumn)
		if tc == nil || len(tc.Ints) != b.Rows {
			t.Fatalf("block without %s", TimeColumn)
		}
		for _, ts := range tc.Ints {
			if !req.TimeMin.IsZero() && datetime.Time(ts).Before(req.TimeMin) || !req.TimeMax.IsZero() && !datetime.Time(ts).Before(req.TimeMax) {
				t.Fatalf("row at %v outside [%v, %v)", datetime.Time(ts), req.TimeMin, req.TimeMax)
			}
		}
		for _, c := range b.Columns {
			if c.Name != TimeColumn && !slices.Contains(req.Columns, c.Name) {
				t.Fatalf("unrequested column %s in block", c.Name)
			}
		}
		idc := b.Column("id_d")
		if idc == nil {
			t.Fatalf("no id column")
		}
		for _, id := range idc.Ints {
			ids[id]++
		}
	}
}

func idRange(lo, hi int64) map[int64]int {
	m := map[int64]int{}
	for i := lo; i < hi; i++ {
		m[i] = 1
	}
	return m
}

func sameIDs(t testing.TB, got, want map[int64]int) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d ids, want %d", len(got), len(want))
	}
	for id, n := range want {
		if got[id] != n {
			t.Fatalf("id %d seen %d times, want %d", id, got[id], n)
		}
	}
}

func TestEngineAppendScan(t *testing.T) {
	ctx := context.Background()
	// 300 rows one minute apart from 10:00: windows 10h (0-59), 11h (60-119),
	// 12h..14h; ids 0..299.
	for _, fsKind := range []string{"mem", "os"} {
		for _, phase := range []string{"buffered", "flushed", "restarted", "mixed"} {
			t.Run(fsKind+"/"+phase, func(t *testing.T) {
				env := newTestEnv(t, fsKind == "mem")
				e := env.open(t)
				if err := e.Append(ctx, "shared", []Rows{testRows(testWS1, secretTable, 0, 300, hour0, time.Minute)}); err != nil {
					t.Fatal(err)
				}
				switch phase {
				case "flushed":
					if err := e.Flush(ctx); err != nil {
						t.Fatal(err)
					}
				case "restarted":
					if err := e.Close(ctx); err != nil {
						t.Fatal(err)
					}
					e = env.open(t)
				case "mixed":
					if err := e.Flush(ctx); err != nil {
						t.Fatal(err)
					}
				}
				defer e.Close(ctx)
				cases := []struct {
					name     string
					min, max time.Time
					cols     []string
					want     map[int64]int
				}{
					{"all", time.Time{}, time.Time{}, nil, idRange(0, 300)},
					{"one hour", hour0.Add(time.Hour), hour0.Add(2 * time.Hour), nil, idRange(60, 120)},
					{"half open", hour0.Add(30 * time.Minute), hour0.Add(90 * time.Minute), nil, idRange(30, 90)},
					{"min only", hour0.Add(250 * time.Minute), time.Time{}, nil, idRange(250, 300)},
					{"max only", time.Time{}, hour0.Add(time.Minute), nil, idRange(0, 1)},
					{"empty", hour0.Add(time.Hour), hour0.Add(time.Hour), nil, idRange(0, 0)},
					{"before", hour0.Add(-time.Hour), hour0, nil, idRange(0, 0)},
					{"columns", time.Time{}, time.Time{}, []string{"id_d", secretColumn, "nope"}, idRange(0, 300)},
				}
				for _, c := range cases {
					got, err := scanIDs(t, e, ScanRequest{Workspace: testWS1, Table: secretTable, TimeMin: c.min, TimeMax: c.max, Columns: c.cols})
					if err != nil {
						t.Fatalf("%s: %v", c.name, err)
					}
					sameIDs(t, got, c.want)
				}
				if phase == "mixed" {
					if err := e.Append(ctx, "shared", []Rows{testRows(testWS1, secretTable, 300, 10, hour0, time.Second)}); err != nil {
						t.Fatal(err)
					}
					got, err := scanIDs(t, e, ScanRequest{Workspace: testWS1, Table: secretTable, TimeMax: hour0.Add(time.Hour)})
					if err != nil {
						t.Fatal(err)
					}
					want := idRange(0, 60)
					for i := int64(300); i < 310; i++ {
						want[i] = 1
					}
					sameIDs(t, got, want)
				}
				// Values and nulls survive.
				it, err := e.Scan(ctx, ScanRequest{Workspace: testWS1, Table: secretTable, Columns: []string{"id_d", "level_s", secretColumn, "ok_b", "latency_d"}})
				if err != nil {
					t.Fatal(err)
				}
				for {
					b, err := it.Next(ctx)
					if err == io.EOF {
						break
					}
					if err != nil {
						t.Fatal(err)
					}
					ids, lvl, sec, ok := b.Column("id_d"), b.Column("level_s"), b.Column(secretColumn), b.Column("ok_b")
					for i, id := range ids.Ints {
						if id >= 300 {
							continue
						}
						if lvl.Nulls[i] != (id%3 == 0) || sec.Strings[i] != fmt.Sprintf("%s-%d", secretValue, id) || ok.Bools[i] != (id%2 == 0) {
							t.Fatalf("row %d: wrong values", id)
						}
					}
				}
				it.Close()
				// Counts only.
				it, err = e.Scan(ctx, ScanRequest{Workspace: testWS1, Table: secretTable, Columns: []string{}})
				if err != nil {
					t.Fatal(err)
				}
				b, err := it.Next(ctx)
				if err != nil || len(b.Columns) != 1 || b.Columns[0].Name != TimeColumn {
					t.Fatalf("count-only scan: %v, %+v", err, b)
				}
				it.Close()
				tables, err := e.Tables(ctx, testWS1)
				if err != nil {
					t.Fatal(err)
				}
				if len(tables) != 1 || tables[0].Name != secretTable || len(tables[0].Columns) != 6 || tables[0].Columns[0].Name != TimeColumn {
					t.Fatalf("tables: %+v", tables)
				}
			})
		}
	}
}

func TestEngineTwoAccounts(t *testing.T) {
	ctx := context.Background()
	env := newTestEnv(t, true)
	e := env.open(t)
	defer e.Close(ctx)
	// Before the link: shared account, flushed. After: cluster account, buffered.
	if err := e.Append(ctx, "shared", []Rows{testRows(testWS1, secretTable, 0, 100, hour0, time.Second)}); err != nil {
		t.Fatal(err)
	}
	if err := e.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	r := testRows(testWS1, secretTable, 100, 100, hour0.Add(time.Hour), time.Second)
	r.Columns = append(r.Columns, Column{Name: "extra_s", Type: TypeString, Strings: make([]string, 100)})
	if err := e.Append(ctx, "cluster/one", []Rows{r, testRows(testWS2, "Other_CL", 1000, 5, hour0, time.Second)}); err != nil {
		t.Fatal(err)
	}
	got, err := scanIDs(t, e, ScanRequest{Workspace: testWS1, Table: secretTable})
	if err != nil {
		t.Fatal(err)
	}
	sameIDs(t, got, idRange(0, 200))
	tables, err := e.Tables(ctx, testWS1)
	if err != nil {
		t.Fatal(err)
	}
	if len(tables) != 1 || len(tables[0].Columns) != 7 {
		t.Fatalf("tables: %+v", tables)
	}
	got, err = scanIDs(t, e, ScanRequest{Workspace: testWS2, Table: "Other_CL"})
	if err != nil {
		t.Fatal(err)
	}
	sameIDs(t, got, idRange(1000, 1005))
	// The cluster account's key revoked: the workspace fails as a whole, the
	// other workspace of the shared account is not affected.
	env.keys.setErr("cluster/one", errFakeRevoked)
	if _, err := scanIDs(t, e, ScanRequest{Workspace: testWS1, Table: secretTable}); !errors.Is(err, errFakeRevoked) {
		t.Fatalf("scan with a revoked account: %v", err)
	}
}

func TestEngineAppendValidation(t *testing.T) {
	ctx := context.Background()
	env := newTestEnv(t, true)
	e := env.open(t)
	defer e.Close(ctx)
	if err := e.Append(ctx, "a", []Rows{testRows(testWS1, "T", 0, 3, hour0, time.Second)}); err != nil {
		t.Fatal(err)
	}
	bad := func(mod func(*Rows)) Rows {
		r := testRows(testWS1, "T", 0, 3, hour0, time.Second)
		mod(&r)
		return r
	}
	cases := []struct {
		name string
		rows Rows
	}{
		{"type conflict", bad(func(r *Rows) { r.Columns[0] = Column{Name: "id_d", Type: TypeString, Strings: make([]string, 3)} })},
		{"short column", bad(func(r *Rows) { r.Columns[0].Ints = r.Columns[0].Ints[:2] })},
		{"time in columns", bad(func(r *Rows) {
			r.Columns = append(r.Columns, Column{Name: TimeColumn, Type: TypeDateTime, Ints: make([]int64, 3)})
		})},
		{"no table", bad(func(r *Rows) { r.Table = "" })},
		{"duplicate column", bad(func(r *Rows) { r.Columns = append(r.Columns, r.Columns[0]) })},
	}
	for _, c := range cases {
		if err := e.Append(ctx, "a", []Rows{c.rows}); err == nil {
			t.Errorf("%s: accepted", c.name)
		}
	}
	got, err := scanIDs(t, e, ScanRequest{Workspace: testWS1, Table: "T"})
	if err != nil {
		t.Fatal(err)
	}
	sameIDs(t, got, idRange(0, 3))
}

// TestEngineCrash appends concurrently while flushing and compacting,
// crashes the MemFS at a random point, reopens, and checks that every
// acknowledged row is there exactly once, that no row appears twice, and
// that every segment reads.
func TestEngineCrash(t *testing.T) {
	ctx := context.Background()
	env := newTestEnv(t, true)
	mem := env.fs.(*vfs.MemFS)
	rnd := rand.New(rand.NewPCG(1, 2))
	var nextID atomic.Int64
	acked := map[int64]bool{}
	iterations := 40
	if testing.Short() {
		iterations = 8
	}
	accounts := []string{"shared", "cluster-a"}
	var compacted CompactStats
	for iter := range iterations {
		proc := &crashFS{mem: mem}
		e := env.open(t, func(o *EngineOptions) { o.SegmentWindow = 10 * time.Minute; o.FS = proc })
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			stop = make(chan struct{})
		)
		for g := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					n := 1 + (g+i)%20
					id0 := nextID.Add(int64(n)) - int64(n)
					ws := testWS1
					if g%2 == 1 {
						ws = testWS2
					}
					r := testRows(ws, secretTable, id0, n, hour0.Add(time.Duration(id0)*time.Second), time.Second)
					if err := e.Append(ctx, accounts[(g+i)%2], []Rows{r}); err == nil {
						mu.Lock()
						for k := id0; k < id0+int64(n); k++ {
							acked[k] = true
						}
						mu.Unlock()
					}
				}
			}()
		}
		flushPause := time.Duration(rnd.IntN(3)) * time.Millisecond
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				case <-time.After(flushPause):
				}
				e.Flush(ctx)
			}
		}()
		// Compaction merges the small segments meanwhile.
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				case <-time.After(time.Millisecond):
				}
				e.Compact(ctx)
			}
		})
		time.Sleep(time.Duration(rnd.IntN(15000)) * time.Microsecond)
		proc.crash()
		close(stop)
		wg.Wait()
		compacted.add(e.Stats().Compacted)

		e = env.open(t)
		all := map[int64]int{}
		for _, ws := range []string{testWS1, testWS2} {
			got, err := scanIDs(t, e, ScanRequest{Workspace: ws, Table: secretTable})
			if err != nil {
				t.Fatalf("iteration %d: %v", iter, err)
			}
			for id, n := range got {
				all[id] += n
			}
		}
		for id, n := range all {
			if n != 1 {
				t.Fatalf("iteration %d: id %d seen %d times", iter, id, n)
			}
		}
		for id := range acked {
			if all[id] != 1 {
				t.Fatalf("iteration %d: acknowledged id %d lost", iter, id)
			}
		}
		// Half the time flush before the next crash round so segments pile up.
		if iter%2 == 0 {
			if err := e.Flush(ctx); err != nil {
				t.Fatal(err)
			}
		}
		mem.Crash() // abandon this engine too
	}
	if len(acked) == 0 {
		t.Fatal("nothing was acknowledged")
	}
	t.Logf("%d acknowledged rows over %d crashes; compacted %+v", len(acked), iterations, compacted)
}

// snapshotFiles returns path → contents of every file under dir.
func snapshotFiles(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		out[p] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestEngineRevoked(t *testing.T) {
	ctx := context.Background()
	for _, keyErr := range []error{errFakeRevoked, errFakeUnavailable} {
		t.Run(keyErr.Error(), func(t *testing.T) {
			env := newTestEnv(t, false)
			e := env.open(t)
			must := func(err error) {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
			}
			must(e.Append(ctx, "cmk", []Rows{testRows(testWS1, secretTable, 0, 50, hour0, time.Second)}))
			must(e.Flush(ctx))
			must(e.Append(ctx, "cmk", []Rows{testRows(testWS1, secretTable, 50, 50, hour0, time.Second)}))
			must(e.Append(ctx, "shared", []Rows{testRows(testWS2, secretTable, 500, 5, hour0, time.Second)}))

			env.keys.setErr("cmk", keyErr)
			if err := e.Append(ctx, "cmk", []Rows{testRows(testWS1, secretTable, 100, 5, hour0, time.Second)}); !errors.Is(err, keyErr) {
				t.Fatalf("append while revoked: %v", err)
			}
			if _, err := scanIDs(t, e, ScanRequest{Workspace: testWS1, Table: secretTable}); !errors.Is(err, keyErr) {
				t.Fatalf("scan while revoked: %v", err)
			}
			if _, err := e.Tables(ctx, testWS1); !errors.Is(err, keyErr) {
				t.Fatalf("tables while revoked: %v", err)
			}
			// Recover unloads the account (drops plaintext buffers).
			e.Recover(ctx)
			if _, err := scanIDs(t, e, ScanRequest{Workspace: testWS1, Table: secretTable}); !errors.Is(err, keyErr) || !errors.Is(err, ErrNotLoaded) {
				t.Fatalf("scan after unload: %v", err)
			}
			// Other accounts are not affected.
			if got, err := scanIDs(t, e, ScanRequest{Workspace: testWS2, Table: secretTable}); err != nil || len(got) != 5 {
				t.Fatalf("other account: %v %v", got, err)
			}
			if err := e.Close(ctx); !errors.Is(err, keyErr) {
				t.Fatalf("close while revoked: %v", err)
			}
			before := snapshotFiles(t, filepath.Join(env.dir, "cmk"))

			// Restart while revoked: nothing read, nothing deleted.
			e = env.open(t)
			if err := e.Append(ctx, "cmk", []Rows{testRows(testWS1, secretTable, 100, 5, hour0, time.Second)}); !errors.Is(err, keyErr) {
				t.Fatalf("append after restart while revoked: %v", err)
			}
			if _, err := scanIDs(t, e, ScanRequest{Workspace: testWS1, Table: secretTable}); !errors.Is(err, keyErr) {
				t.Fatalf("scan after restart while revoked: %v", err)
			}
			if n, err := e.Retain(ctx, testWS1, hour0); err != nil || n != 0 {
				t.Fatalf("retain: %d %v", n, err)
			}
			e.Flush(ctx)
			e.Recover(ctx)
			if after := snapshotFiles(t, filepath.Join(env.dir, "cmk")); !mapsEqual(before, after) {
				t.Fatalf("files changed while revoked:\n%v\n%v", keysOf(before), keysOf(after))
			}

			// Restore: everything is back.
			env.keys.setErr("cmk", nil)
			e.Recover(ctx)
			got, err := scanIDs(t, e, ScanRequest{Workspace: testWS1, Table: secretTable})
			must(err)
			sameIDs(t, got, idRange(0, 100))
			must(e.Append(ctx, "cmk", []Rows{testRows(testWS1, secretTable, 100, 5, hour0, time.Second)}))
			must(e.Close(ctx))
			e = env.open(t)
			defer e.Close(ctx)
			got, err = scanIDs(t, e, ScanRequest{Workspace: testWS1, Table: secretTable})
			must(err)
			sameIDs(t, got, idRange(0, 105))
		})
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func keysOf(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestEngineRotation(t *testing.T) {
	ctx := context.Background()
	env := newTestEnv(t, false)
	e := env.open(t)
	if err := e.Append(ctx, "cmk", []Rows{testRows(testWS1, secretTable, 0, 10, hour0, time.Second)}); err != nil {
		t.Fatal(err)
	}
	if err := e.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	// Appended under generation 1, flushed after the switch to 2.
	if err := e.Append(ctx, "cmk", []Rows{testRows(testWS1, secretTable, 10, 10, hour0, time.Second)}); err != nil {
		t.Fatal(err)
	}
	env.keys.rotate("cmk")
	if err := e.Close(ctx); err != nil {
		t.Fatal(err)
	}
	gens := map[uint32]int{}
	env.cat.View(ctx, func(tx meta.Tx) error {
		docs, _ := tx.Docs(ctx, kindSegment, "")
		for _, d := range docs {
			var s segmentDoc
			if err := jsonUnmarshal(d.Body, &s); err != nil {
				t.Fatal(err)
			}
			gens[s.Generation]++
		}
		return nil
	})
	if gens[1] != 1 || gens[2] != 1 {
		t.Fatalf("segment generations: %v", gens)
	}
	e = env.open(t)
	defer e.Close(ctx)
	got, err := scanIDs(t, e, ScanRequest{Workspace: testWS1, Table: secretTable})
	if err != nil {
		t.Fatal(err)
	}
	sameIDs(t, got, idRange(0, 20))
}

func TestEngineRetain(t *testing.T) {
	ctx := context.Background()
	env := newTestEnv(t, true)
	e := env.open(t)
	defer e.Close(ctx)
	// Windows 10h, 11h, 12h for ws1; 10h for ws2.
	if err := e.Append(ctx, "shared", []Rows{
		testRows(testWS1, secretTable, 0, 180, hour0, time.Minute),
		testRows(testWS2, secretTable, 1000, 10, hour0, time.Minute),
	}); err != nil {
		t.Fatal(err)
	}
	if err := e.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	segDir := filepath.Join(env.dir, "shared", "segments")
	names, _ := env.fs.List(segDir)
	if len(names) != 4 {
		t.Fatalf("%d segment files, want 4", len(names))
	}
	cases := []struct {
		before time.Time
		n      int
		want   map[int64]int
	}{
		{hour0.Add(59 * time.Minute), 0, idRange(0, 180)},    // 10h window ends at 10:59: not entirely older
		{hour0.Add(59*time.Minute + 1), 1, idRange(60, 180)}, // now it is
		{hour0.Add(90 * time.Minute), 0, idRange(60, 180)},
		{hour0.Add(5 * time.Hour), 2, idRange(0, 0)},
	}
	for i, c := range cases {
		n, err := e.Retain(ctx, testWS1, c.before)
		if err != nil || n != c.n {
			t.Fatalf("case %d: retain = %d, %v; want %d", i, n, err, c.n)
		}
		got, err := scanIDs(t, e, ScanRequest{Workspace: testWS1, Table: secretTable})
		if err != nil {
			t.Fatal(err)
		}
		sameIDs(t, got, c.want)
	}
	names, _ = env.fs.List(segDir)
	if len(names) != 1 {
		t.Fatalf("%d segment files left, want 1 (ws2)", len(names))
	}
	got, err := scanIDs(t, e, ScanRequest{Workspace: testWS2, Table: secretTable})
	if err != nil {
		t.Fatal(err)
	}
	sameIDs(t, got, idRange(1000, 1010))
}

func TestEngineDrop(t *testing.T) {
	ctx := context.Background()
	for _, what := range []string{"account", "workspace"} {
		t.Run(what, func(t *testing.T) {
			env := newTestEnv(t, false)
			e := env.open(t)
			for _, acct := range []string{"gone", "kept"} {
				if err := e.Append(ctx, acct, []Rows{testRows(testWS1, secretTable, 0, 10, hour0, time.Second), testRows(testWS2, secretTable, 0, 10, hour0, time.Second)}); err != nil {
					t.Fatal(err)
				}
			}
			if err := e.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			// Buffered (WAL only) data too.
			if err := e.Append(ctx, "gone", []Rows{testRows(testWS1, secretTable, 10, 10, hour0, time.Second), testRows(testWS2, secretTable, 10, 10, hour0, time.Second)}); err != nil {
				t.Fatal(err)
			}
			var err error
			if what == "account" {
				err = e.DropAccount(ctx, "gone")
			} else {
				err = e.DropWorkspace(ctx, testWS1)
			}
			if err != nil {
				t.Fatal(err)
			}
			check := func(e *Engine) {
				t.Helper()
				g1, err := scanIDs(t, e, ScanRequest{Workspace: testWS1, Table: secretTable})
				if err != nil {
					t.Fatal(err)
				}
				g2, err := scanIDs(t, e, ScanRequest{Workspace: testWS2, Table: secretTable})
				if err != nil {
					t.Fatal(err)
				}
				if what == "account" {
					sameIDs(t, g1, idRange(0, 10)) // "kept" only
					sameIDs(t, g2, idRange(0, 10))
				} else {
					sameIDs(t, g1, idRange(0, 0))
					want := idRange(0, 20)
					for i := int64(0); i < 10; i++ {
						want[i] = 2 // in both accounts
					}
					sameIDs(t, g2, want)
				}
			}
			check(e)
			// Abandon without Close (as after a crash): the WAL must not
			// bring dropped data back.
			check(env.open(t))
			if what == "account" {
				for _, sub := range []string{"segments", "wal"} {
					ents, err := os.ReadDir(filepath.Join(env.dir, "gone", sub))
					if err != nil || len(ents) != 0 {
						t.Fatalf("%s left: %v %v", sub, ents, err)
					}
				}
				env.cat.View(ctx, func(tx meta.Tx) error {
					for _, kind := range []string{kindAccount, kindSegment, kindTable, kindPlacement, kindTomb} {
						docs, _ := tx.Docs(ctx, kind, "gone")
						if len(docs) != 0 {
							t.Fatalf("%d %s docs left", len(docs), kind)
						}
					}
					return nil
				})
			}
		})
	}
}

// TestEngineNoPlaintext greps every file under Dir, the catalog documents
// and the catalog database for table names, column names and values.
func TestEngineNoPlaintext(t *testing.T) {
	ctx := context.Background()
	env := newTestEnv(t, false)
	catPath := filepath.Join(t.TempDir(), "cat.db")
	cat, err := meta.OpenSQLite(ctx, catPath)
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	env.cat = cat
	e := env.open(t)
	if err := e.Append(ctx, "shared", []Rows{testRows(testWS1, secretTable, 0, 500, hour0, time.Second)}); err != nil {
		t.Fatal(err)
	}
	if err := e.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.Append(ctx, "shared", []Rows{testRows(testWS1, secretTable, 500, 500, hour0, time.Second)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Retain(ctx, testWS2, hour0); err != nil {
		t.Fatal(err)
	}
	needles := []string{secretTable, secretColumn, secretValue, "level_s", "latency_d"}
	blobs := snapshotFiles(t, env.dir)
	for _, suffix := range []string{"", "-wal"} {
		if b, err := os.ReadFile(catPath + suffix); err == nil {
			blobs[catPath+suffix] = string(b)
		}
	}
	cat.View(ctx, func(tx meta.Tx) error {
		for _, kind := range []string{kindAccount, kindSegment, kindTable, kindPlacement, kindTomb} {
			docs, _ := tx.Docs(ctx, kind, "")
			for _, d := range docs {
				blobs[kind+"/"+d.Key] = d.Key + string(d.Body)
			}
		}
		return nil
	})
	if len(blobs) < 4 {
		t.Fatalf("only %d blobs", len(blobs))
	}
	for name, b := range blobs {
		for _, n := range needles {
			if bytes.Contains([]byte(b), []byte(n)) {
				t.Errorf("%s contains %q in plaintext", name, n)
			}
		}
	}
	e.Close(ctx)
}

type slogLogger = slog.Logger

var slogDiscard = slog.New(slog.DiscardHandler)

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// hookFS wraps an FS with failure hooks. Hooks are set while no engine
// works on the FS, or through set.
type hookFS struct {
	vfs.FS
	mu      sync.Mutex
	remove  func(name string) error
	rename  func(oldname, newname string) error
	syncDir func(dir string) error
}

// set changes the hooks under the lock.
func (h *hookFS) set(fn func(h *hookFS)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	fn(h)
}

func (h *hookFS) SyncDir(dir string) error {
	h.mu.Lock()
	hook := h.syncDir
	h.mu.Unlock()
	if hook != nil {
		if err := hook(dir); err != nil {
			return err
		}
	}
	return h.FS.SyncDir(dir)
}

func (h *hookFS) Remove(name string) error {
	h.mu.Lock()
	hook := h.remove
	h.mu.Unlock()
	if hook != nil {
		if err := hook(name); err != nil {
			return err
		}
	}
	return h.FS.Remove(name)
}

func (h *hookFS) Rename(oldname, newname string) error {
	h.mu.Lock()
	hook := h.rename
	h.mu.Unlock()
	if hook != nil {
		if err := hook(oldname, newname); err != nil {
			return err
		}
	}
	return h.FS.Rename(oldname, newname)
}

// TestEngineFlushInterrupted stops a flush at each dangerous point and
// checks that a reopen has every row exactly once and no orphan segment.
func TestEngineFlushInterrupted(t *testing.T) {
	ctx := context.Background()
	errInjected := errors.New("injected")
	cases := []struct {
		name string
		// hook arms failures on h (mem is the MemFS underneath).
		hook      func(h *hookFS, mem *vfs.MemFS)
		flushErr  bool
		crashLast bool
	}{
		{"WAL files not removed after commit", func(h *hookFS, _ *vfs.MemFS) {
			h.remove = func(n string) error {
				if filepath.Ext(n) == walSuffix {
					return errInjected
				}
				return nil
			}
		}, false, false},
		{"crash after commit before WAL removal", func(h *hookFS, mem *vfs.MemFS) {
			h.remove = func(n string) error {
				if filepath.Ext(n) == walSuffix {
					mem.Crash()
					return errInjected
				}
				return nil
			}
		}, false, false},
		{"second segment fails, cleanup fails", func(h *hookFS, _ *vfs.MemFS) {
			n := 0
			h.rename = func(_, newname string) error {
				if n++; n == 2 {
					return errInjected
				}
				return nil
			}
			h.remove = func(n string) error {
				if filepath.Ext(n) == segSuffix {
					return errInjected
				}
				return nil
			}
		}, true, false},
		{"crash during second segment", func(h *hookFS, mem *vfs.MemFS) {
			n := 0
			h.rename = func(_, _ string) error {
				if n++; n == 2 {
					mem.Crash()
					return errInjected
				}
				return nil
			}
		}, true, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := newTestEnv(t, true)
			mem := env.fs.(*vfs.MemFS)
			h := &hookFS{FS: mem}
			env.fs = h
			e := env.open(t)
			// Three windows: three segments.
			if err := e.Append(ctx, "a", []Rows{testRows(testWS1, secretTable, 0, 180, hour0, time.Minute)}); err != nil {
				t.Fatal(err)
			}
			c.hook(h, mem)
			if err := e.Flush(ctx); (err != nil) != c.flushErr {
				t.Fatalf("flush: %v", err)
			}
			h.remove, h.rename = nil, nil
			e = env.open(t) // the old engine is abandoned, as after a crash
			got, err := scanIDs(t, e, ScanRequest{Workspace: testWS1, Table: secretTable})
			if err != nil {
				t.Fatal(err)
			}
			sameIDs(t, got, idRange(0, 180))
			if err := e.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			names, _ := mem.List(filepath.Join(env.dir, "a", "segments"))
			var catalogued int
			env.cat.View(ctx, func(tx meta.Tx) error {
				docs, _ := tx.Docs(ctx, kindSegment, "a/")
				catalogued = len(docs)
				return nil
			})
			if len(names) != catalogued {
				t.Fatalf("%d segment files, %d in the catalog: %v", len(names), catalogued, names)
			}
			e = env.open(t)
			got, err = scanIDs(t, e, ScanRequest{Workspace: testWS1, Table: secretTable})
			if err != nil {
				t.Fatal(err)
			}
			sameIDs(t, got, idRange(0, 180))
		})
	}
}

// crashFS is the view of a MemFS of one process: after crash, every call
// fails, as a process does not outlive a power loss. Without it an engine
// abandoned at a crash would keep renaming, syncing and removing in the
// MemFS's next life, which no real crash allows.
type crashFS struct {
	mem  *vfs.MemFS
	mu   sync.RWMutex
	dead bool
}

var errProcessDead = errors.New("test: process crashed")

func (c *crashFS) crash() {
	c.mu.Lock()
	c.dead = true
	c.mem.Crash()
	c.mu.Unlock()
}

func (c *crashFS) do(fn func() error) error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.dead {
		return errProcessDead
	}
	return fn()
}

func (c *crashFS) Create(name string) (f vfs.File, err error) {
	err = c.do(func() error { f, err = c.mem.Create(name); return err })
	return f, err
}

func (c *crashFS) Open(name string) (f vfs.File, err error) {
	err = c.do(func() error { f, err = c.mem.Open(name); return err })
	return f, err
}

func (c *crashFS) OpenForAppend(name string) (f vfs.File, err error) {
	err = c.do(func() error { f, err = c.mem.OpenForAppend(name); return err })
	return f, err
}

func (c *crashFS) Remove(name string) error {
	return c.do(func() error { return c.mem.Remove(name) })
}

func (c *crashFS) Rename(o, n string) error {
	return c.do(func() error { return c.mem.Rename(o, n) })
}

func (c *crashFS) MkdirAll(dir string, p fs.FileMode) error {
	return c.do(func() error { return c.mem.MkdirAll(dir, p) })
}

func (c *crashFS) List(dir string) (names []string, err error) {
	err = c.do(func() error { names, err = c.mem.List(dir); return err })
	return names, err
}

func (c *crashFS) SyncDir(dir string) error {
	return c.do(func() error { return c.mem.SyncDir(dir) })
}
