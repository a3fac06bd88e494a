package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kustodian/kustodian/internal/meta"
	"github.com/kustodian/kustodian/internal/store/vfs"
)

// noCompact keeps Run from compacting: tests compact only when they ask.
func noCompact(o *EngineOptions) { o.CompactInterval = -1 }

// smallFlushes appends n batches of rows rows each to one table, flushing
// after each: n small segments (more when a batch spans windows). Ids run
// from id0, times from t0 one step apart.
func smallFlushes(t testing.TB, e *Engine, acct, ws, table string, id0 int64, n, rows int, t0 time.Time, step time.Duration) {
	t.Helper()
	ctx := context.Background()
	for i := range n {
		off := int64(i * rows)
		r := testRows(ws, table, id0+off, rows, t0.Add(time.Duration(off)*step), step)
		if err := e.Append(ctx, acct, []Rows{r}); err != nil {
			t.Fatal(err)
		}
		if err := e.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// catalogSegs returns the segment docs of an account in the catalog.
func catalogSegs(t testing.TB, env *testEnv, acct string) map[string]segmentDoc {
	t.Helper()
	ctx := context.Background()
	out := map[string]segmentDoc{}
	err := env.cat.View(ctx, func(tx meta.Tx) error {
		docs, err := tx.Docs(ctx, kindSegment, accountDir(acct)+"/")
		if err != nil {
			return err
		}
		for _, d := range docs {
			var s segmentDoc
			if err := jsonUnmarshal(d.Body, &s); err != nil {
				return err
			}
			out[s.Segment] = s
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// segFiles returns the names of the files in an account's segment
// directory.
func segFiles(t testing.TB, env *testEnv, fsys vfs.FS, acct string) []string {
	t.Helper()
	names, err := fsys.List(filepath.Join(env.dir, accountDir(acct), "segments"))
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// checkFilesMatchCatalog fails unless the account's segment files are
// exactly the segments its catalog lists.
func checkFilesMatchCatalog(t testing.TB, env *testEnv, fsys vfs.FS, acct string) {
	t.Helper()
	var want []string
	for id := range catalogSegs(t, env, acct) {
		want = append(want, id+segSuffix)
	}
	slices.Sort(want)
	if got := segFiles(t, env, fsys, acct); !slices.Equal(got, want) {
		t.Fatalf("account %s: segment files %v, catalog %v", acct, got, want)
	}
}

// dumpRows returns every row of a table, all columns, as canonical strings
// (non-null columns by name; a null and an absent column look the same),
// sorted.
func dumpRows(t testing.TB, e *Engine, ws, table string) []string {
	t.Helper()
	ctx := context.Background()
	tables, err := e.Tables(ctx, ws)
	if err != nil {
		t.Fatal(err)
	}
	var cols []string
	for _, ts := range tables {
		if ts.Name == table {
			for _, c := range ts.Columns {
				cols = append(cols, c.Name)
			}
		}
	}
	it, err := e.Scan(ctx, ScanRequest{Workspace: ws, Table: table, Columns: cols})
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	var out []string
	for {
		b, err := it.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, blockLines(b)...)
	}
	slices.Sort(out)
	return out
}

// blockLines returns the rows of b as dumpRows renders them (unsorted).
func blockLines(b *Block) []string {
	var out []string
	bc := slices.Clone(b.Columns)
	slices.SortFunc(bc, func(x, y Column) int { return strings.Compare(x.Name, y.Name) })
	for r := range b.Rows {
		var parts []string
		for i := range bc {
			c := &bc[i]
			if c.Nulls != nil && c.Nulls[r] {
				continue
			}
			parts = append(parts, c.Name+"="+cellString(c, r))
		}
		out = append(out, strings.Join(parts, ","))
	}
	return out
}

// rowsLines returns what dumpRows gives for a table that holds exactly rs.
func rowsLines(t testing.TB, rs ...Rows) []string {
	t.Helper()
	var out []string
	for i := range rs {
		b, err := rs[i].block()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, blockLines(b)...)
	}
	slices.Sort(out)
	return out
}

func cellString(c *Column, r int) string {
	switch c.Type.physical() {
	case physInts:
		return strconv.FormatInt(c.Ints[r], 10)
	case physFloats:
		return strconv.FormatFloat(c.Floats[r], 'g', -1, 64)
	case physBools:
		return strconv.FormatBool(c.Bools[r])
	default:
		return strconv.Quote(c.Strings[r])
	}
}

// readSegment reads every block of a segment with all columns.
func readSegment(t testing.TB, env *testEnv, fsys vfs.FS, acct string, d segmentDoc) []*Block {
	t.Helper()
	ctx := context.Background()
	id, err := ParseFileID(d.Segment)
	if err != nil {
		t.Fatal(err)
	}
	s, err := OpenSegment(ctx, fsys, filepath.Join(env.dir, accountDir(acct), "segments", d.Segment+segSuffix), acct, id, env.keys)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var out []*Block
	for i := range s.Meta().Blocks {
		b, err := s.ReadBlock(ctx, i, nil)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

func mustCompact(t testing.TB, e *Engine) CompactStats {
	t.Helper()
	st, err := e.Compact(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestCompactSmallSegments(t *testing.T) {
	ctx := context.Background()
	for _, fsKind := range []string{"mem", "os"} {
		t.Run(fsKind, func(t *testing.T) {
			env := newTestEnv(t, fsKind == "mem")
			e := env.open(t, noCompact)
			// ws1/T: 20 flushes in the 10h window, 10 in the 11h window
			// (ids 0..299); ws1/U: 3 flushes; ws2/T: 2 flushes; another
			// account: 2 flushes. Then rows that stay in the WAL.
			smallFlushes(t, e, "shared", testWS1, secretTable, 0, 20, 10, hour0, time.Second)
			smallFlushes(t, e, "shared", testWS1, secretTable, 200, 10, 10, hour0.Add(time.Hour), time.Second)
			smallFlushes(t, e, "shared", testWS1, "U_CL", 0, 3, 7, hour0, time.Minute)
			smallFlushes(t, e, "shared", testWS2, secretTable, 1000, 2, 5, hour0, time.Second)
			smallFlushes(t, e, "other", testWS2, secretTable, 5000, 2, 5, hour0, time.Second)
			// One segment alone in its window: nothing to merge it with.
			smallFlushes(t, e, "shared", testWS1, secretTable, 900, 1, 5, hour0.Add(5*time.Hour), time.Second)
			if err := e.Append(ctx, "shared", []Rows{testRows(testWS1, secretTable, 300, 10, hour0.Add(30*time.Minute), time.Second)}); err != nil {
				t.Fatal(err)
			}
			tables := []tkey{{testWS1, secretTable}, {testWS1, "U_CL"}, {testWS2, secretTable}}
			before := map[tkey][]string{}
			for _, k := range tables {
				before[k] = dumpRows(t, e, k.ws, k.table)
			}
			segsBefore := catalogSegs(t, env, "shared")
			if len(segsBefore) != 36 {
				t.Fatalf("%d segments before, want 36", len(segsBefore))
			}

			st := mustCompact(t, e)
			want := CompactStats{Accounts: 2, Groups: 5, SegmentsIn: 37, SegmentsOut: 5, Rows: 200 + 100 + 21 + 10 + 10}
			got := st
			got.BytesIn, got.BytesOut = 0, 0
			if got != want || st.BytesIn <= st.BytesOut || st.BytesOut <= 0 {
				t.Fatalf("stats %+v, want %+v (bytes in > out > 0)", st, want)
			}
			if s := e.Stats(); s.CompactPasses != 1 || s.CompactErrors != 0 || s.Compacted != st {
				t.Fatalf("engine stats %+v", s)
			}
			segsAfter := catalogSegs(t, env, "shared")
			if len(segsAfter) != 5 {
				t.Fatalf("%d segments after, want 5: %v", len(segsAfter), segsAfter)
			}
			checkFilesMatchCatalog(t, env, env.fs, "shared")
			checkFilesMatchCatalog(t, env, env.fs, "other")
			var maxSeq uint64
			for _, d := range segsBefore {
				maxSeq = max(maxSeq, d.WALSeq)
			}
			for id, d := range segsAfter {
				if old, ok := segsBefore[id]; ok {
					if d.Rows != 5 {
						t.Fatalf("segment %s kept: %+v", id, old)
					}
					continue
				}
				if d.WALSeq == 0 || d.WALSeq > maxSeq || d.Generation != 1 || len(d.Blocks) != 1 {
					t.Fatalf("compacted doc %+v", d)
				}
				// Rows sorted by time, the doc's times right.
				prev := int64(-1 << 63)
				for _, b := range readSegment(t, env, env.fs, "shared", d) {
					for _, ts := range b.Column(TimeColumn).Ints {
						if ts < prev {
							t.Fatalf("segment %s not sorted by time", id)
						}
						prev = ts
					}
				}
				if prev != d.Max {
					t.Fatalf("segment %s: max %d, doc %d", id, prev, d.Max)
				}
			}
			check := func(e *Engine) {
				t.Helper()
				for _, k := range tables {
					if got := dumpRows(t, e, k.ws, k.table); !slices.Equal(got, before[k]) {
						t.Fatalf("%v: rows changed: %d rows, want %d", k, len(got), len(before[k]))
					}
				}
				cases := []struct {
					min, max time.Time
					want     map[int64]int
				}{
					{hour0.Add(100 * time.Second), hour0.Add(150 * time.Second), idRange(100, 150)},
					{hour0.Add(time.Hour), hour0.Add(2 * time.Hour), idRange(200, 300)},
					{hour0.Add(30 * time.Minute), hour0.Add(time.Hour), idRange(300, 310)},
				}
				for _, c := range cases {
					got, err := scanIDs(t, e, ScanRequest{Workspace: testWS1, Table: secretTable, TimeMin: c.min, TimeMax: c.max})
					if err != nil {
						t.Fatal(err)
					}
					sameIDs(t, got, c.want)
				}
				got, err := scanIDs(t, e, ScanRequest{Workspace: testWS2, Table: secretTable, Account: "other"})
				if err != nil {
					t.Fatal(err)
				}
				sameIDs(t, got, idRange(5000, 5010))
			}
			check(e)
			// A second pass has nothing left to merge.
			if st := mustCompact(t, e); st.Groups != 0 || st.SegmentsIn != 0 {
				t.Fatalf("second pass: %+v", st)
			}
			// Restart without Close (the WAL still holds ids 300..309):
			// nothing is lost and nothing replayed twice.
			e2 := env.open(t, noCompact)
			check(e2)
			checkFilesMatchCatalog(t, env, env.fs, "shared")
			if err := e2.Close(ctx); err != nil {
				t.Fatal(err)
			}
			e3 := env.open(t, noCompact)
			defer e3.Close(ctx)
			check(e3)
		})
	}
}

func TestCompactGrouping(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name            string
		minRows         int
		maxRows         int
		flushes, rows   int
		wantIn, wantOut int
		wantSegs        int
	}{
		{"everything small", 0, 0, 10, 10, 10, 1, 1},
		{"capped at 25 rows", 0, 25, 10, 10, 10, 5, 5},
		{"capped at 35 rows", 0, 35, 10, 10, 9, 3, 4},
		{"none small", 10, 0, 10, 10, 0, 0, 10},
		{"threshold", 11, 0, 3, 10, 3, 1, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := newTestEnv(t, true)
			e := env.open(t, noCompact, func(o *EngineOptions) { o.CompactMinRows, o.CompactMaxRows = c.minRows, c.maxRows })
			defer e.Close(ctx)
			smallFlushes(t, e, "a", testWS1, secretTable, 0, c.flushes, c.rows, hour0, time.Second)
			before := dumpRows(t, e, testWS1, secretTable)
			st := mustCompact(t, e)
			if st.SegmentsIn != c.wantIn || st.SegmentsOut != c.wantOut {
				t.Fatalf("stats %+v, want %d in, %d out", st, c.wantIn, c.wantOut)
			}
			if n := len(catalogSegs(t, env, "a")); n != c.wantSegs {
				t.Fatalf("%d segments, want %d", n, c.wantSegs)
			}
			if got := dumpRows(t, e, testWS1, secretTable); !slices.Equal(got, before) {
				t.Fatal("rows changed")
			}
			checkFilesMatchCatalog(t, env, env.fs, "a")
		})
	}
}

// TestCompactManyBlocks merges segments into one of more than one block.
func TestCompactManyBlocks(t *testing.T) {
	if testing.Short() {
		t.Skip("large")
	}
	ctx := context.Background()
	env := newTestEnv(t, true)
	e := env.open(t, noCompact)
	defer e.Close(ctx)
	// Three interleaved flushes of small segments: the merged rows must be
	// sorted.
	const per, n = 30000, 3
	for i := range n {
		r := testRows(testWS1, secretTable, int64(i*per), per, hour0.Add(time.Duration(i)*time.Millisecond), n*time.Millisecond)
		if err := e.Append(ctx, "a", []Rows{r}); err != nil {
			t.Fatal(err)
		}
		if err := e.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	st := mustCompact(t, e)
	if st.Groups != 1 || st.Rows != n*per {
		t.Fatalf("stats %+v", st)
	}
	segs := catalogSegs(t, env, "a")
	if len(segs) != 1 {
		t.Fatalf("%d segments", len(segs))
	}
	for _, d := range segs {
		if len(d.Blocks) != 2 || d.Blocks[0].Rows != segmentBlockRows || d.Blocks[1].Rows != n*per-segmentBlockRows {
			t.Fatalf("blocks %+v", d.Blocks)
		}
		prev := int64(-1 << 63)
		next := int64(0) // ids interleave: 0, 30000, 60000, 1, 30001, ...
		for _, b := range readSegment(t, env, env.fs, "a", d) {
			ids := b.Column("id_d").Ints
			for i, ts := range b.Column(TimeColumn).Ints {
				if ts < prev {
					t.Fatal("not sorted by time")
				}
				prev = ts
				want := next/n + (next%n)*per
				if ids[i] != want {
					t.Fatalf("row %d has id %d, want %d", next, ids[i], want)
				}
				next++
			}
		}
	}
	got, err := scanIDs(t, e, ScanRequest{Workspace: testWS1, Table: secretTable})
	if err != nil {
		t.Fatal(err)
	}
	sameIDs(t, got, idRange(0, n*per))
}

// TestCompactSchemaEvolution merges segments whose columns differ: the
// union of the columns, null where a segment had none.
func TestCompactSchemaEvolution(t *testing.T) {
	ctx := context.Background()
	env := newTestEnv(t, true)
	e := env.open(t, noCompact)
	defer e.Close(ctx)
	batch := func(id0 int64, cols ...string) Rows {
		r := Rows{Workspace: testWS1, Table: secretTable, TimeGenerated: make([]int64, 4)}
		id := Column{Name: "id_d", Type: TypeLong, Ints: make([]int64, 4)}
		for i := range 4 {
			r.TimeGenerated[i] = ticks(hour0.Add(time.Duration(id0+int64(i)) * time.Second))
			id.Ints[i] = id0 + int64(i)
		}
		r.Columns = append(r.Columns, id)
		for _, c := range cols {
			switch c {
			case "a_s":
				r.Columns = append(r.Columns, Column{Name: c, Type: TypeString, Strings: []string{"a0", "a1", "", "a3"}, Nulls: []bool{false, false, true, false}})
			case "b_d":
				r.Columns = append(r.Columns, Column{Name: c, Type: TypeLong, Ints: []int64{10, 11, 12, 13}})
			case "c_b":
				r.Columns = append(r.Columns, Column{Name: c, Type: TypeBool, Bools: []bool{true, false, true, false}})
			}
		}
		return r
	}
	for _, r := range []Rows{batch(0, "a_s"), batch(4, "b_d"), batch(8, "a_s", "c_b"), batch(12)} {
		if err := e.Append(ctx, "a", []Rows{r}); err != nil {
			t.Fatal(err)
		}
		if err := e.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	before := dumpRows(t, e, testWS1, secretTable)
	if st := mustCompact(t, e); st.Groups != 1 || st.SegmentsIn != 4 {
		t.Fatalf("stats %+v", st)
	}
	if got := dumpRows(t, e, testWS1, secretTable); !slices.Equal(got, before) {
		t.Fatalf("rows changed:\n%v\n%v", got, before)
	}
	segs := catalogSegs(t, env, "a")
	if len(segs) != 1 {
		t.Fatalf("%d segments", len(segs))
	}
	for _, d := range segs {
		b := readSegment(t, env, env.fs, "a", d)[0]
		if b.Rows != 16 || len(b.Columns) != 5 {
			t.Fatalf("block: %d rows, %d columns", b.Rows, len(b.Columns))
		}
		ids, as, bd, cb := b.Column("id_d"), b.Column("a_s"), b.Column("b_d"), b.Column("c_b")
		for i, id := range ids.Ints {
			if id != int64(i) {
				t.Fatalf("row %d has id %d", i, id)
			}
			hasA := id < 4 || id >= 8 && id < 12
			if as.Nulls[i] != (!hasA || id%4 == 2) || hasA && id%4 != 2 && as.Strings[i] != fmt.Sprintf("a%d", id%4) {
				t.Fatalf("row %d: a_s %q null %v", i, as.Strings[i], as.Nulls[i])
			}
			hasB := id >= 4 && id < 8
			if bd.Nulls[i] != !hasB || hasB && bd.Ints[i] != 10+id%4 {
				t.Fatalf("row %d: b_d %d null %v", i, bd.Ints[i], bd.Nulls[i])
			}
			hasC := id >= 8 && id < 12
			if cb.Nulls[i] != !hasC || hasC && cb.Bools[i] != (id%2 == 0) {
				t.Fatalf("row %d: c_b %v null %v", i, cb.Bools[i], cb.Nulls[i])
			}
		}
	}
}

// TestCompactTypeConflict: inputs that disagree on a column's type (only
// possible after replaying inconsistent data) are left alone rather than
// merged with a column dropped.
func TestCompactTypeConflict(t *testing.T) {
	ctx := context.Background()
	env := newTestEnv(t, true)
	e := env.open(t, noCompact)
	defer e.Close(ctx)
	if err := e.Append(ctx, "a", []Rows{testRows(testWS1, secretTable, 0, 3, hour0, time.Second)}); err != nil {
		t.Fatal(err)
	}
	if err := e.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	// A second segment whose id_d is a string, written and listed behind
	// Append's back.
	e.mu.Lock()
	a := e.accts["a"]
	e.mu.Unlock()
	aek, err := env.keys.WriteAEK(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	b := &Block{Rows: 1, Columns: []Column{
		{Name: TimeColumn, Type: TypeDateTime, Ints: []int64{ticks(hour0)}},
		{Name: "id_d", Type: TypeString, Strings: []string{"x"}},
	}}
	id, err := NewFileID(nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := e.writeSegment(ctx, a, aek, id, tkey{testWS1, secretTable}, []*Block{b}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.putDocs(ctx, kindSegment, s.key, s.doc); err != nil {
		t.Fatal(err)
	}
	a.mu.Lock()
	a.segs = append(a.segs, s)
	a.mu.Unlock()

	st := mustCompact(t, e)
	if st.Groups != 0 || st.Abandoned != 1 {
		t.Fatalf("stats %+v", st)
	}
	if n := len(catalogSegs(t, env, "a")); n != 2 {
		t.Fatalf("%d segments", n)
	}
	checkFilesMatchCatalog(t, env, env.fs, "a")
}

// TestCompactReadersKeepSegments opens a scan, reads one block, changes the
// catalog under it, and reads on: the scan sees every row exactly once and
// the replaced files go when it is closed.
func TestCompactReadersKeepSegments(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name string
		op   func(t *testing.T, e *Engine)
		// after is what a new scan of ws1 sees afterwards.
		after map[int64]int
	}{
		{"compact", func(t *testing.T, e *Engine) {
			if st := mustCompact(t, e); st.Groups != 1 {
				t.Fatalf("stats %+v", st)
			}
		}, idRange(0, 100)},
		{"retain", func(t *testing.T, e *Engine) {
			if n, err := e.Retain(ctx, testWS1, hour0.Add(time.Hour)); err != nil || n != 10 {
				t.Fatalf("retain: %d %v", n, err)
			}
		}, idRange(0, 0)},
		{"drop workspace", func(t *testing.T, e *Engine) {
			if err := e.DropWorkspace(ctx, testWS1); err != nil {
				t.Fatal(err)
			}
		}, idRange(0, 0)},
		{"drop account", func(t *testing.T, e *Engine) {
			if err := e.DropAccount(ctx, "a"); err != nil {
				t.Fatal(err)
			}
		}, idRange(0, 0)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := newTestEnv(t, true)
			e := env.open(t, noCompact)
			defer e.Close(ctx)
			smallFlushes(t, e, "a", testWS1, secretTable, 0, 10, 10, hour0, time.Second)
			it, err := e.Scan(ctx, ScanRequest{Workspace: testWS1, Table: secretTable, Columns: []string{"id_d"}})
			if err != nil {
				t.Fatal(err)
			}
			seen, read := idReader(t, it)
			read(1)
			c.op(t, e)
			// The files of the segments the scan has still to read are
			// there though the catalog no longer lists them.
			if got, cat := len(segFiles(t, env, env.fs, "a")), len(catalogSegs(t, env, "a")); got != 10+cat {
				t.Fatalf("%d files, %d in the catalog; want 10 more files", got, cat)
			}
			read(3) // moves past the first three segments
			if got, cat := len(segFiles(t, env, env.fs, "a")), len(catalogSegs(t, env, "a")); got != 7+cat {
				t.Fatalf("%d files, %d in the catalog; want 7 more files", got, cat)
			}
			read(-1)
			sameIDs(t, seen, idRange(0, 100))
			it.Close()
			checkFilesMatchCatalog(t, env, env.fs, "a")
			got, err := scanIDs(t, e, ScanRequest{Workspace: testWS1, Table: secretTable})
			if err != nil {
				t.Fatal(err)
			}
			sameIDs(t, got, c.after)
		})
	}
}

// TestCompactLeakedIterator: a scan iterator dropped without Close lets go
// of its segments when it is collected.
func TestCompactLeakedIterator(t *testing.T) {
	ctx := context.Background()
	env := newTestEnv(t, true)
	e := env.open(t, noCompact)
	defer e.Close(ctx)
	smallFlushes(t, e, "a", testWS1, secretTable, 0, 4, 10, hour0, time.Second)
	func() {
		it, err := e.Scan(ctx, ScanRequest{Workspace: testWS1, Table: secretTable})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := it.Next(ctx); err != nil {
			t.Fatal(err)
		}
	}()
	mustCompact(t, e)
	if n := len(segFiles(t, env, env.fs, "a")); n != 5 {
		t.Fatalf("%d files while the iterator lives, want 5", n)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(segFiles(t, env, env.fs, "a")) != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("files of a leaked iterator not removed: %v", segFiles(t, env, env.fs, "a"))
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	checkFilesMatchCatalog(t, env, env.fs, "a")
}

// TestCompactConcurrent scans while compacting, flushing, retaining and
// dropping; run with -race. Every scan sees each row at most once and
// every row that was flushed before it started; no scan fails.
func TestCompactConcurrent(t *testing.T) {
	ctx := context.Background()
	env := newTestEnv(t, true)
	e := env.open(t, noCompact, func(o *EngineOptions) { o.CompactMaxRows = 100 })
	smallFlushes(t, e, "a", testWS1, secretTable, 0, 30, 10, hour0, time.Second)
	smallFlushes(t, e, "a", testWS2, secretTable, 0, 10, 10, hour0, time.Second)
	const writes = 40
	var flushed atomic.Int64 // ids 10000.. below 10000+5*flushed are in segments
	stop := make(chan struct{})
	var scanners, workers sync.WaitGroup
	var scans atomic.Int64
	fail := make(chan error, 16)
	report := func(err error) {
		select {
		case fail <- err:
		default:
		}
	}
	for g := range 4 {
		scanners.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				ws := testWS1
				if g == 3 {
					ws = testWS2
				}
				n := flushed.Load()
				it, err := e.Scan(ctx, ScanRequest{Workspace: ws, Table: secretTable, Columns: []string{"id_d"}})
				if err != nil {
					report(err)
					return
				}
				got := map[int64]int{}
				for {
					b, err := it.Next(ctx)
					if err == io.EOF {
						break
					}
					if err != nil {
						it.Close()
						report(err)
						return
					}
					for _, id := range b.Column("id_d").Ints {
						got[id]++
					}
					runtime.Gosched()
				}
				it.Close()
				scans.Add(1)
				for id, k := range got {
					if k != 1 {
						report(fmt.Errorf("%s: id %d seen %d times", ws, id, k))
						return
					}
				}
				if ws != testWS1 {
					continue
				}
				for id := range int64(300) {
					if got[id] != 1 {
						report(fmt.Errorf("id %d missing", id))
						return
					}
				}
				for id := int64(10000); id < 10000+5*n; id++ {
					if got[id] != 1 {
						report(fmt.Errorf("flushed id %d missing", id))
						return
					}
				}
			}
		})
	}
	writerDone := make(chan struct{})
	workers.Go(func() {
		defer close(writerDone)
		for i := range writes {
			if err := e.Append(ctx, "a", []Rows{testRows(testWS1, secretTable, int64(10000+i*5), 5, hour0.Add(time.Duration(i)*time.Second), time.Second),
				testRows(testWS2, secretTable, int64(100+i*5), 5, hour0.Add(time.Hour), time.Second)}); err != nil {
				report(err)
				return
			}
			if err := e.Flush(ctx); err != nil {
				report(err)
				return
			}
			flushed.Store(int64(i + 1))
		}
	})
	workers.Go(func() {
		for i := 0; ; i++ {
			if _, err := e.Compact(ctx); err != nil {
				report(err)
				return
			}
			switch i {
			case 5:
				if _, err := e.Retain(ctx, testWS2, hour0.Add(time.Hour)); err != nil {
					report(err)
					return
				}
			case 10:
				if err := e.DropWorkspace(ctx, testWS2); err != nil {
					report(err)
					return
				}
			}
			select {
			case <-writerDone:
				if i > 10 {
					return
				}
			default:
			}
		}
	})
	workers.Wait()
	for scans.Load() < 20 && len(fail) == 0 {
		time.Sleep(time.Millisecond)
	}
	close(stop)
	scanners.Wait()
	close(fail)
	for err := range fail {
		t.Fatal(err)
	}
	st := e.Stats()
	if st.Compacted.Groups < 2 {
		t.Fatalf("little was compacted: %+v", st)
	}
	t.Logf("%d scans, %+v", scans.Load(), st)
	want := idRange(0, 300)
	for id := int64(10000); id < 10000+5*writes; id++ {
		want[id] = 1
	}
	mustCompact(t, e)
	checkFilesMatchCatalog(t, env, env.fs, "a")
	sameIDsOrFail(t, e, testWS1, secretTable, want)
	e2 := env.open(t, noCompact)
	defer e2.Close(ctx)
	sameIDsOrFail(t, e2, testWS1, secretTable, want)
}

func sameIDsOrFail(t *testing.T, e *Engine, ws, table string, want map[int64]int) {
	t.Helper()
	got, err := scanIDs(t, e, ScanRequest{Workspace: ws, Table: table})
	if err != nil {
		t.Fatal(err)
	}
	sameIDs(t, got, want)
}

// TestCompactLosesRace: a Retain that removes the inputs while the
// compaction writes its output makes it give up and delete the output.
func TestCompactLosesRace(t *testing.T) {
	ctx := context.Background()
	for _, op := range []string{"retain", "drop workspace", "drop account", "unload"} {
		t.Run(op, func(t *testing.T) {
			env := newTestEnv(t, true)
			h := &hookFS{FS: env.fs}
			env.fs = h
			e := env.open(t, noCompact)
			defer e.Close(ctx)
			smallFlushes(t, e, "a", testWS1, secretTable, 0, 3, 10, hour0, time.Second)
			var once sync.Once
			h.set(func(h *hookFS) {
				h.rename = func(_, newname string) error {
					if filepath.Ext(newname) != segSuffix {
						return nil
					}
					once.Do(func() {
						var err error
						switch op {
						case "retain":
							_, err = e.Retain(ctx, testWS1, hour0.Add(time.Hour))
						case "drop workspace":
							err = e.DropWorkspace(ctx, testWS1)
						case "drop account":
							err = e.DropAccount(ctx, "a")
						case "unload":
							env.keys.setErr("a", errFakeRevoked)
							e.Recover(ctx)
						}
						if err != nil {
							t.Error(err)
						}
					})
					return nil
				}
			})
			st, err := e.Compact(ctx)
			if err != nil || st.Groups != 0 || st.Abandoned != 1 {
				t.Fatalf("compact: %+v, %v", st, err)
			}
			h.set(func(h *hookFS) { h.rename = nil })
			if op == "unload" {
				// The inputs stay; the output is gone.
				if n := len(segFiles(t, env, env.fs, "a")); n != 3 {
					t.Fatalf("%d files, want the 3 inputs", n)
				}
				env.keys.setErr("a", nil)
				e.Recover(ctx)
				sameIDsOrFail(t, e, testWS1, secretTable, idRange(0, 30))
			}
			if n := len(segFiles(t, env, env.fs, "a")); n != len(catalogSegs(t, env, "a")) {
				t.Fatalf("%d files, %d segments in the catalog", n, len(catalogSegs(t, env, "a")))
			}
		})
	}
}

// flakyCatalog is a catalog whose Update and View can be made to fail.
type flakyCatalog struct {
	meta.Store
	updateFails atomic.Bool // Update fails without committing
	lostReply   atomic.Bool // Update commits, then fails
	viewFails   atomic.Bool // View fails
}

var errCatalog = errors.New("test: catalog failure")

func (c *flakyCatalog) Update(ctx context.Context, fn func(meta.Tx) error) error {
	if c.updateFails.Load() {
		return errCatalog
	}
	if c.lostReply.Load() {
		if err := c.Store.Update(ctx, fn); err != nil {
			return err
		}
		return errCatalog
	}
	return c.Store.Update(ctx, fn)
}

func (c *flakyCatalog) View(ctx context.Context, fn func(meta.Tx) error) error {
	if c.viewFails.Load() {
		return errCatalog
	}
	return c.Store.View(ctx, fn)
}

// TestCompactFailures stops a compaction at each dangerous point (crashes
// included) and checks that a restart has every row exactly once, the
// catalog's segments on disk and nothing else.
func TestCompactFailures(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name string
		// arm sets up the failure; proc is the process's view of mem.
		arm func(h *hookFS, proc *crashFS, cat *flakyCatalog)
		// compactErr: Compact returns an error; segs: catalog segments
		// after the restart (10 inputs or 1 output).
		compactErr bool
		segs       int
	}{
		{"crash after commit, before the inputs are removed", func(h *hookFS, proc *crashFS, _ *flakyCatalog) {
			h.remove = func(n string) error {
				if filepath.Ext(n) == segSuffix {
					proc.crash()
					return errProcessDead
				}
				return nil
			}
		}, false, 1},
		{"crash after the output is durable, before commit", func(h *hookFS, proc *crashFS, _ *flakyCatalog) {
			h.rename = func(_, newname string) error {
				if filepath.Ext(newname) == segSuffix {
					h.syncDir = func(dir string) error {
						proc.mem.SyncDir(dir) // the output is durable
						proc.crash()
						return errProcessDead
					}
				}
				return nil
			}
		}, true, 10},
		{"crash while the output is a durable .tmp", func(h *hookFS, proc *crashFS, _ *flakyCatalog) {
			h.rename = func(oldname, _ string) error {
				proc.mem.SyncDir(filepath.Dir(oldname))
				proc.crash()
				return errProcessDead
			}
		}, true, 10},
		{"write fails", func(_ *hookFS, proc *crashFS, _ *flakyCatalog) {
			proc.mem.FailWritesAfter(100)
		}, true, 10},
		{"catalog commit fails", func(_ *hookFS, _ *crashFS, cat *flakyCatalog) {
			cat.updateFails.Store(true)
		}, true, 10},
		{"catalog commits but reports an error", func(_ *hookFS, _ *crashFS, cat *flakyCatalog) {
			cat.lostReply.Store(true)
		}, false, 1},
		{"commit outcome unknown", func(_ *hookFS, _ *crashFS, cat *flakyCatalog) {
			cat.lostReply.Store(true)
			cat.viewFails.Store(true)
		}, true, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := newTestEnv(t, true)
			mem := env.fs.(*vfs.MemFS)
			proc := &crashFS{mem: mem}
			h := &hookFS{FS: proc}
			cat := &flakyCatalog{Store: env.cat}
			e := env.open(t, noCompact, func(o *EngineOptions) { o.FS = h; o.Catalog = cat })
			smallFlushes(t, e, "a", testWS1, secretTable, 0, 10, 10, hour0, time.Second)
			if err := e.Append(ctx, "a", []Rows{testRows(testWS1, secretTable, 100, 10, hour0, time.Second)}); err != nil {
				t.Fatal(err)
			}
			want := dumpRows(t, e, testWS1, secretTable)
			h.set(func(h *hookFS) { c.arm(h, proc, cat) })
			_, err := e.Compact(ctx)
			if (err != nil) != c.compactErr {
				t.Fatalf("compact: %v", err)
			}
			h.set(func(h *hookFS) { h.remove, h.rename, h.syncDir = nil, nil, nil })
			mem.FailWritesAfter(-1)
			if !proc.dead {
				// The process lives on: its view is still right.
				if got := dumpRows(t, e, testWS1, secretTable); !slices.Equal(got, want) {
					t.Fatalf("rows changed before the restart: %d rows, want %d", len(got), len(want))
				}
				if c.name == "commit outcome unknown" {
					if st, err := e.Compact(ctx); err != nil || st.Skipped != 1 {
						t.Fatalf("compaction after an unknown outcome: %+v %v", st, err)
					}
				} else {
					checkFilesMatchCatalog(t, env, mem, "a")
				}
			}
			// Restart (the old engine is abandoned, as after a crash).
			cat.updateFails.Store(false)
			cat.lostReply.Store(false)
			cat.viewFails.Store(false)
			mem.Crash()
			e2 := env.open(t, noCompact)
			defer e2.Close(ctx)
			if got := dumpRows(t, e2, testWS1, secretTable); !slices.Equal(got, want) {
				t.Fatalf("rows changed after the restart: %d rows, want %d", len(got), len(want))
			}
			if n := len(catalogSegs(t, env, "a")); n != c.segs {
				t.Fatalf("%d segments in the catalog, want %d", n, c.segs)
			}
			checkFilesMatchCatalog(t, env, mem, "a")
			// And compaction works again.
			if st := mustCompact(t, e2); st.Groups != min(1, c.segs-1) {
				t.Fatalf("compaction after the restart: %+v", st)
			}
			checkFilesMatchCatalog(t, env, mem, "a")
		})
	}
}

// TestCompactKeyRefused: an account whose key is refused is skipped and
// nothing of it is written or removed; other accounts are compacted.
func TestCompactKeyRefused(t *testing.T) {
	ctx := context.Background()
	for _, keyErr := range []error{errFakeRevoked, errFakeUnavailable} {
		t.Run(keyErr.Error(), func(t *testing.T) {
			env := newTestEnv(t, false)
			e := env.open(t, noCompact)
			defer e.Close(ctx)
			smallFlushes(t, e, "cmk", testWS1, secretTable, 0, 5, 10, hour0, time.Second)
			smallFlushes(t, e, "shared", testWS2, secretTable, 0, 5, 10, hour0, time.Second)
			before := snapshotFiles(t, filepath.Join(env.dir, "cmk"))
			catBefore := catalogSegs(t, env, "cmk")
			env.keys.setErr("cmk", keyErr)
			calls := env.keys.calls.Load()
			st := mustCompact(t, e)
			if st.Accounts != 2 || st.Skipped != 1 || st.Groups != 1 || st.SegmentsIn != 5 {
				t.Fatalf("stats %+v", st)
			}
			if env.keys.calls.Load()-calls > 20 {
				t.Fatal("the refused account's blocks were read")
			}
			// Unloaded by Recover: skipped as well.
			e.Recover(ctx)
			if st := mustCompact(t, e); st.Skipped != 1 || st.Groups != 0 {
				t.Fatalf("stats after unload %+v", st)
			}
			if after := snapshotFiles(t, filepath.Join(env.dir, "cmk")); !mapsEqual(before, after) {
				t.Fatalf("files changed while the key was refused:\n%v\n%v", keysOf(before), keysOf(after))
			}
			if got := catalogSegs(t, env, "cmk"); len(got) != len(catBefore) {
				t.Fatalf("catalog changed: %d segments, had %d", len(got), len(catBefore))
			}
			env.keys.setErr("cmk", nil)
			e.Recover(ctx)
			if st := mustCompact(t, e); st.Groups != 1 || st.SegmentsIn != 5 {
				t.Fatalf("stats after the key came back %+v", st)
			}
			sameIDsOrFail(t, e, testWS1, secretTable, idRange(0, 50))
		})
	}
}

// TestCompactOldGeneration: segments of an older AEK generation stay as
// they are (data stays under the key it was written under); those of the
// current generation are merged.
func TestCompactOldGeneration(t *testing.T) {
	ctx := context.Background()
	env := newTestEnv(t, true)
	e := env.open(t, noCompact)
	defer e.Close(ctx)
	smallFlushes(t, e, "a", testWS1, secretTable, 0, 3, 10, hour0, time.Second)
	env.keys.rotate("a")
	smallFlushes(t, e, "a", testWS1, secretTable, 30, 3, 10, hour0, time.Second)
	st := mustCompact(t, e)
	if st.Groups != 1 || st.SegmentsIn != 3 {
		t.Fatalf("stats %+v", st)
	}
	gens := map[uint32]int{}
	for _, d := range catalogSegs(t, env, "a") {
		gens[d.Generation]++
	}
	if gens[1] != 3 || gens[2] != 1 {
		t.Fatalf("generations %v", gens)
	}
	sameIDsOrFail(t, e, testWS1, secretTable, idRange(0, 60))
}

// TestCompactRun: Run compacts every CompactInterval, never when it is
// negative, and the default interval is long.
func TestCompactRun(t *testing.T) {
	if DefaultCompactInterval < 5*time.Minute {
		t.Fatalf("DefaultCompactInterval %v", DefaultCompactInterval)
	}
	env := newTestEnv(t, true)
	e := env.open(t)
	if e.o.CompactInterval != DefaultCompactInterval {
		t.Fatalf("zero interval became %v", e.o.CompactInterval)
	}
	e.Close(context.Background())
	for _, c := range []struct {
		interval time.Duration
		compacts bool
	}{{-1, false}, {5 * time.Millisecond, true}} {
		t.Run(c.interval.String(), func(t *testing.T) {
			ctx := context.Background()
			env := newTestEnv(t, true)
			e := env.open(t, func(o *EngineOptions) { o.CompactInterval = c.interval })
			defer e.Close(ctx)
			smallFlushes(t, e, "a", testWS1, secretTable, 0, 5, 10, hour0, time.Second)
			rctx, cancel := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() { e.Run(rctx); close(done) }()
			deadline := time.Now().Add(200 * time.Millisecond)
			if c.compacts {
				deadline = time.Now().Add(10 * time.Second)
			}
			for time.Now().Before(deadline) && len(catalogSegs(t, env, "a")) > 1 {
				time.Sleep(5 * time.Millisecond)
			}
			cancel()
			<-done
			n := len(catalogSegs(t, env, "a"))
			passes := e.Stats().CompactPasses
			if c.compacts && (n != 1 || passes == 0) || !c.compacts && (n != 5 || passes != 0) {
				t.Fatalf("%d segments after %d passes", n, passes)
			}
			checkFilesMatchCatalog(t, env, env.fs, "a")
			sameIDsOrFail(t, e, testWS1, secretTable, idRange(0, 50))
		})
	}
}

// TestCompactCancel cancels a pass while it writes its first group: that
// group is committed, the next is not started, and no reference leaks.
func TestCompactCancel(t *testing.T) {
	ctx := context.Background()
	env := newTestEnv(t, true)
	h := &hookFS{FS: env.fs}
	env.fs = h
	e := env.open(t, noCompact)
	defer e.Close(ctx)
	smallFlushes(t, e, "a", testWS1, "A_CL", 0, 3, 10, hour0, time.Second)
	smallFlushes(t, e, "a", testWS1, "B_CL", 0, 3, 10, hour0, time.Second)
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	h.set(func(h *hookFS) {
		h.rename = func(_, newname string) error {
			if filepath.Ext(newname) == segSuffix {
				cancel()
			}
			return nil
		}
	})
	st, err := e.Compact(cctx)
	if !errors.Is(err, context.Canceled) || st.Groups != 1 {
		t.Fatalf("compact: %+v, %v", st, err)
	}
	h.set(func(h *hookFS) { h.rename = nil })
	if n := len(catalogSegs(t, env, "a")); n != 4 {
		t.Fatalf("%d segments, want 4", n)
	}
	checkFilesMatchCatalog(t, env, env.fs, "a")
	if st := mustCompact(t, e); st.Groups != 1 {
		t.Fatalf("second pass: %+v", st)
	}
	checkFilesMatchCatalog(t, env, env.fs, "a")
	for _, table := range []string{"A_CL", "B_CL"} {
		sameIDsOrFail(t, e, testWS1, table, idRange(0, 30))
	}
}

// idReader returns the ids counted so far from it's id_d column and a
// function that reads up to n more blocks (n < 0: to the end).
func idReader(t testing.TB, it BlockIterator) (map[int64]int, func(n int)) {
	seen := map[int64]int{}
	return seen, func(n int) {
		t.Helper()
		for ; n != 0; n-- {
			b, err := it.Next(context.Background())
			if err == io.EOF {
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range b.Column("id_d").Ints {
				seen[id]++
			}
		}
	}
}
