package store

import (
	"context"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/kustodian/kustodian/internal/datetime"
	"github.com/kustodian/kustodian/internal/store/vfs"
)

func utcDate(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// extremeTimes are TimeGenerated values across Kusto's range: year 1, 1500,
// both ends of Unix nanoseconds (where the old encoding wrapped), just
// before the epoch, hour0, and year 9999. Each is in its own hour window.
var extremeTimes = []int64{
	datetime.Min,
	ticks(utcDate(1500, 6, 1)),
	ticks(utcDate(1677, 9, 21)),
	-1,
	ticks(hour0),
	ticks(utcDate(2262, 4, 12)),
	datetime.Max,
}

// extremeRows returns one row per time, ids id0.., with a DateTime column
// holding the times in reverse (and a null) and a TimeSpan column.
func extremeRows(id0 int64, times []int64) Rows {
	n := len(times)
	r := Rows{Workspace: testWS1, Table: secretTable, TimeGenerated: slices.Clone(times)}
	id := Column{Name: "id_d", Type: TypeLong, Ints: make([]int64, n)}
	when := Column{Name: "when_t", Type: TypeDateTime, Ints: make([]int64, n), Nulls: make([]bool, n)}
	span := Column{Name: "span", Type: TypeTimeSpan, Ints: make([]int64, n)}
	for i := range n {
		id.Ints[i] = id0 + int64(i)
		when.Ints[i] = times[n-1-i]
		span.Ints[i] = []int64{math.MinInt64, -1, 0, math.MaxInt64}[i%4]
	}
	when.Nulls[n/2], when.Ints[n/2] = true, 0
	r.Columns = []Column{id, when, span}
	return r
}

// TestEngineDatetimeExtremes: rows dated anywhere in Kusto's range, year 1
// and year 9999 included, read back with the same ticks from the buffers,
// after WAL replay, from segments (one per hour window, each window right)
// after compaction and after a move to another account; scans bound by any
// time.Time select exactly them;
// retention deletes a segment only when all of its rows are older than the
// cut.
func TestEngineDatetimeExtremes(t *testing.T) {
	ctx := context.Background()
	env := newTestEnv(t, true)
	mem := env.fs.(*vfs.MemFS)
	e := env.open(t, noCompact)
	first := extremeRows(0, extremeTimes)
	mustAppend(t, e, "a", first)
	sent := []Rows{first}
	check := func(stage string) {
		t.Helper()
		if got, want := dumpRows(t, e, testWS1, secretTable), rowsLines(t, sent...); !slices.Equal(got, want) {
			t.Fatalf("%s: rows read back\n%v\nwant\n%v", stage, got, want)
		}
	}
	check("buffered")

	mem.Crash() // acknowledged rows are in the WAL only
	e = env.open(t, noCompact)
	check("after WAL replay")

	mustFlush(t, e)
	check("flushed")
	segs := catalogSegs(t, env, "a")
	if len(segs) != len(extremeTimes) {
		t.Fatalf("%d segments, want one per hour window: %d", len(segs), len(extremeTimes))
	}
	hour := datetime.SpanTicks(time.Hour)
	for _, d := range segs {
		if d.Version != segDocTicks || d.Rows != 1 || d.Min != d.Max || !slices.Contains(extremeTimes, d.Min) {
			t.Fatalf("segment row %+v", d)
		}
		if start := datetime.Window(d.Min, hour) * hour; start > d.Min || d.Min-start >= hour {
			t.Fatalf("segment at %v lies in the window starting %v", datetime.Time(d.Min), datetime.Time(start))
		}
	}
	if v := segmentVersions(t, env, "a"); v[segVersion4] != len(extremeTimes) {
		t.Fatalf("segment versions %v", v)
	}

	// Scan bounds: any time.Time, also outside the range.
	for _, tc := range []struct {
		name     string
		min, max time.Time
		want     map[int64]int
	}{
		{"all", time.Time{}, time.Time{}, idRange(0, 7)},
		{"before 1500", time.Time{}, utcDate(1500, 1, 1), idRange(0, 1)},
		{"from year 1", utcDate(1, 1, 1).Add(time.Nanosecond), utcDate(1600, 1, 1), idRange(1, 2)}, // year 1's row is before the bound
		{"the Unix nanosecond era", utcDate(1677, 9, 21), utcDate(2262, 4, 12), idRange(2, 5)},
		{"up to the last tick", utcDate(2262, 4, 12), datetime.Time(datetime.Max), idRange(5, 6)},
		{"to after 9999", utcDate(2262, 4, 12), utcDate(10000, 1, 1), idRange(5, 7)},
		{"only the last tick", datetime.Time(datetime.Max), time.Time{}, idRange(6, 7)},
		{"from before year 1", time.Time{}.Add(-time.Hour), utcDate(1, 1, 1).Add(time.Hour), idRange(0, 1)},
		{"empty", utcDate(3000, 1, 1), utcDate(3000, 1, 1), idRange(0, 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := scanIDs(t, e, ScanRequest{Workspace: testWS1, Table: secretTable, TimeMin: tc.min, TimeMax: tc.max})
			if err != nil {
				t.Fatal(err)
			}
			sameIDs(t, got, tc.want)
		})
	}

	// More rows in the windows of year 1 and year 9999, flushed apart:
	// compaction merges each window's two segments, never across windows.
	second := extremeRows(100, []int64{datetime.Max - 1, datetime.Min + 1, datetime.Max - hour + 1, datetime.Min + hour - 1})
	mustAppend(t, e, "a", second)
	mustFlush(t, e)
	sent = append(sent, second)
	if st := mustCompact(t, e); st.SegmentsIn != 4 || st.SegmentsOut != 2 || st.Rows != 6 {
		t.Fatalf("compaction: %+v", st)
	}
	check("compacted")
	for _, d := range catalogSegs(t, env, "a") {
		if datetime.Window(d.Min, hour) != datetime.Window(d.Max, hour) {
			t.Fatalf("segment spans windows: %v to %v", datetime.Time(d.Min), datetime.Time(d.Max))
		}
	}
	if err := e.Close(ctx); err != nil {
		t.Fatal(err)
	}
	e = env.open(t, noCompact)
	defer e.Close(ctx)
	check("reopened")

	// Moving the account copies every segment, time ranges checked against
	// the catalog's.
	if _, err := e.MoveAccount(ctx, "a", "b"); err != nil {
		t.Fatal(err)
	}
	if err := e.DropAccount(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	check("moved")

	// Retention: a segment goes when all its rows are older than the cut.
	for _, tc := range []struct {
		name    string
		cut     time.Time
		deleted int
		left    map[int64]int
	}{
		{"year 1 itself", utcDate(1, 1, 1), 0, nil},
		{"before the range", time.Time{}.Add(-time.Hour), 0, nil},
		{"30 days before hour0", hour0.Add(-30 * 24 * time.Hour), 4, map[int64]int{4: 1, 5: 1, 6: 1, 100: 1, 102: 1}},
		{"the last tick", datetime.Time(datetime.Max), 2, map[int64]int{6: 1, 100: 1, 102: 1}},
		{"after the range", utcDate(10000, 1, 1), 1, map[int64]int{}},
	} {
		n, err := e.Retain(ctx, testWS1, tc.cut)
		if err != nil || n != tc.deleted {
			t.Fatalf("%s: Retain = %d, %v; want %d", tc.name, n, err, tc.deleted)
		}
		got, err := scanIDs(t, e, ScanRequest{Workspace: testWS1, Table: secretTable})
		if err != nil {
			t.Fatal(err)
		}
		if tc.left == nil {
			tc.left = map[int64]int{0: 1, 1: 1, 2: 1, 3: 1, 4: 1, 5: 1, 6: 1, 100: 1, 101: 1, 102: 1, 103: 1}
		}
		sameIDs(t, got, tc.left)
	}
	checkFilesMatchCatalog(t, env, env.fs, "b")
}

// TestEngineRefusesDatetimesOutOfRange: a TimeGenerated or DateTime value
// outside Kusto's range is refused before anything is written; a null
// DateTime's slot is not a value.
func TestEngineRefusesDatetimesOutOfRange(t *testing.T) {
	ctx := context.Background()
	env := newTestEnv(t, true)
	e := env.open(t, noCompact)
	defer e.Close(ctx)
	for _, tc := range []struct {
		name string
		mod  func(*Rows)
		ok   bool
	}{
		{"in range", func(*Rows) {}, true},
		{"TimeGenerated before year 1", func(r *Rows) { r.TimeGenerated[0] = datetime.Min - 1 }, false},
		{"TimeGenerated after 9999", func(r *Rows) { r.TimeGenerated[1] = datetime.Max + 1 }, false},
		{"TimeGenerated int64 min", func(r *Rows) { r.TimeGenerated[0] = math.MinInt64 }, false},
		{"DateTime column after 9999", func(r *Rows) { r.Columns[1].Ints[0] = math.MaxInt64 }, false},
		{"null DateTime slot", func(r *Rows) { r.Columns[1].Ints[3], r.Columns[1].Nulls[3] = math.MaxInt64, true }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := extremeRows(0, extremeTimes)
			r.Table = "T" + tc.name
			tc.mod(&r)
			err := e.Append(ctx, "a", []Rows{r})
			if (err == nil) != tc.ok {
				t.Fatalf("Append: %v", err)
			}
		})
	}
}
