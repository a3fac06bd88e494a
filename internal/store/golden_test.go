package store

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/kustodian/kustodian/internal/datetime"
	"github.com/kustodian/kustodian/internal/store/vfs"
)

// Golden segment, WAL, WAL record and catalog row files: written once by
// this code (go test -run Golden -update) from fixed keys, fixed random
// sources and deterministic rows; every later version must keep opening
// them. -update rewrites only the files of current formats (and creates
// missing ones); those of earlier formats are frozen.

const goldenAccount = "golden-account"

func goldenKeyring(t *testing.T) *testKeyring {
	kr := newTestKeyring()
	kr.add(t, goldenAccount, 5, 0x10)
	return kr
}

func goldenBlocks() []*Block {
	return []*Block{genBlock(genRows(11, 0, 40, 80)), genBlock(genRows(12, 40, 40, 80))}
}

// extremeBlock holds datetimes across Kusto's whole range, where Unix
// nanoseconds wrapped: year 1, 1500, the two ends of Unix nanoseconds and
// year 9999, in TimeGenerated and in a DateTime column, and timespans of
// every size.
func extremeBlock() *Block {
	tg := []int64{datetime.Min, ticks(time.Date(1500, 6, 1, 0, 0, 0, 0, time.UTC)),
		ticks(time.Date(1677, 9, 21, 0, 0, 0, 0, time.UTC)), ticks(time.Date(2262, 4, 12, 0, 0, 0, 0, time.UTC)), datetime.Max}
	return &Block{Rows: len(tg), Columns: []Column{
		{Name: TimeColumn, Type: TypeDateTime, Ints: tg},
		{Name: "when_t", Type: TypeDateTime, Ints: []int64{datetime.Max, datetime.Min, 0, tg[1], tg[3]},
			Nulls: []bool{false, false, true, false, false}},
		{Name: "span", Type: TypeTimeSpan, Ints: []int64{math.MinInt64, -1, 0, 1, math.MaxInt64}},
		{Name: "n_d", Type: TypeReal, Floats: []float64{1, 1500, 1677, 2262, 9999}},
		{Name: "s_s", Type: TypeString, Strings: []string{"year 1", "1500", "1677", "2262", "year 9999"}},
	}}
}

// nanosBlock is a block of every column type whose times fit Unix
// nanoseconds (what earlier formats could hold), with sub-tick precision
// the upgrade must round: a DateTime column rounds towards minus infinity,
// a TimeSpan towards zero. Its ticks are nanosBlockTicks.
func nanosBlockTicks() *Block {
	tg := []int64{ticks(time.Date(1677, 9, 22, 0, 0, 0, 0, time.UTC)), ticks(genT0), ticks(time.Date(2262, 4, 10, 0, 0, 0, 0, time.UTC))}
	return &Block{Rows: 3, Columns: []Column{
		{Name: TimeColumn, Type: TypeDateTime, Ints: tg},
		{Name: "when_t", Type: TypeDateTime, Ints: []int64{-1, 0, tg[1] + 1}, Nulls: []bool{false, true, false}},
		{Name: "span", Type: TypeTimeSpan, Ints: []int64{-1, 0, 1}},
		{Name: "id_d", Type: TypeLong, Ints: []int64{1, 2, 3}},
		{Name: "s_s", Type: TypeString, Strings: []string{"a", "b", "c"}},
	}}
}

// goldenUpdate writes data to the golden file path under -update when it
// holds the current format, or when it does not exist yet (a format
// frozen from its first writing on).
func goldenUpdate(t *testing.T, path string, data []byte, current bool) {
	t.Helper()
	if !*update {
		return
	}
	if _, err := os.Stat(path); err == nil && !current {
		return
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestSegmentGolden(t *testing.T) {
	for _, tc := range []struct {
		name    string
		format  byte
		current bool
	}{
		{"segment-v1.golden", segVersion1, false},
		{"segment-v2.golden", segVersion2, false},
		{"segment-v3.golden", segVersion3, false},
		{"segment-v4.golden", segVersion4, true},
	} {
		t.Run(tc.name, func(t *testing.T) { testSegmentGolden(t, tc.name, tc.format, tc.current) })
	}
}

// testSegmentGolden checks a golden segment; -update rewrites the one of
// the current format (v3) only: older formats are frozen. v1 and v2 hold
// Unix nanoseconds and read back as ticks; v3 also holds the extremes of
// Kusto's range, which nanoseconds cannot.
func testSegmentGolden(t *testing.T, name string, format byte, current bool) {
	path := filepath.Join("testdata", name)
	kr := goldenKeyring(t)
	id := FileID{0x5e, 0x67}
	blocks := func() []*Block {
		b := goldenBlocks()
		if format >= segVersion3 {
			b = append(b, extremeBlock())
		}
		return b
	}
	write := func() []byte {
		mem := vfs.NewMemFS()
		_ = mem.MkdirAll("/g", 0o700)
		aek, _ := kr.AEK(context.Background(), goldenAccount, 5)
		w, err := CreateSegment(mem, "/g/s", SegmentOptions{Account: goldenAccount, ID: id, Workspace: "ws", Table: "Golden_CL", AEK: aek, Rand: detRand(21), format: format})
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range blocks() {
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
	goldenUpdate(t, path, write(), current)
	// The writer is deterministic given its random source: it must still
	// write exactly the frozen bytes (for v1 and v2, the writers kept for
	// upgrade tests, which turn ticks back into nanoseconds; for v3, the
	// current format, which must not drift unnoticed).
	if old, err := os.ReadFile(path); err != nil || !bytes.Equal(write(), old) {
		t.Fatalf("the writer no longer writes the frozen format of %s (%v)", name, err)
	}
	fx := &segFixture{id: id, path: path, kr: kr}
	got, err := readAll(vfs.OS, fx, goldenAccount)
	if err != nil {
		t.Fatalf("golden segment no longer opens: %v", err)
	}
	want := blocks()
	for _, b := range want {
		if err := b.Validate(); err != nil {
			t.Fatal(err)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatal("golden segment decodes to different rows")
	}
	s, err := OpenSegment(context.Background(), vfs.OS, path, goldenAccount, id, kr)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	m := s.Meta()
	lo, hi := want[0].MinTime, want[0].MaxTime
	for i, b := range want {
		lo, hi = min(lo, b.MinTime), max(hi, b.MaxTime)
		if m.Blocks[i].MinTime != b.MinTime || m.Blocks[i].MaxTime != b.MaxTime {
			t.Fatalf("golden footer: block %d's time range %d..%d, want ticks %d..%d", i, m.Blocks[i].MinTime, m.Blocks[i].MaxTime, b.MinTime, b.MaxTime)
		}
	}
	if m.MinTime != lo || m.MaxTime != hi {
		t.Fatalf("golden footer's time range %d..%d, want ticks %d..%d", m.MinTime, m.MaxTime, lo, hi)
	}
}

// TestRowsRecordGolden: WAL rows records of version 1 (Unix nanoseconds,
// written by earlier versions; frozen) and version 2 (ticks, current)
// decode to the same ticks; version 2 also holds Kusto's extremes.
func TestRowsRecordGolden(t *testing.T) {
	for _, tc := range []struct {
		name  string
		nanos bool
		block func() *Block
	}{
		{"wal-record-v1.golden", true, nanosBlockTicks},
		{"wal-record-v2.golden", false, nanosBlockTicks},
		{"wal-record-v2-extremes.golden", false, extremeBlock},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join("testdata", tc.name)
			want := tc.block()
			if err := want.Validate(); err != nil {
				t.Fatal(err)
			}
			rec, err := marshalRowsRecord(nil, "ws-golden", "Golden_CL", want, tc.nanos)
			if err != nil {
				t.Fatal(err)
			}
			goldenUpdate(t, path, rec, !tc.nanos)
			old, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(rec, old) {
				t.Fatalf("the writer no longer writes the frozen bytes of %s", tc.name)
			}
			ws, table, got, err := unmarshalRowsRecord(old)
			if err != nil || ws != "ws-golden" || table != "Golden_CL" {
				t.Fatalf("golden record: %s %s %v", ws, table, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("golden record decodes to\n%+v\nwant\n%+v", got, want)
			}
		})
	}
	// Nanoseconds of version 1 round as documented: a sub-tick time in a
	// version 1 record.
	b := nanosBlockTicks()
	_ = b.Validate()
	rec, _ := marshalRowsRecord(nil, "w", "T", b, true)
	_, _, got, err := unmarshalRowsRecord(rec)
	if err != nil {
		t.Fatal(err)
	}
	nb, _ := b.nanosFromTicks()
	nb.Columns[1].Ints[0] = -150 // 150 ns before the epoch: tick -2
	nb.Columns[2].Ints[0] = -150 // a timespan of -150 ns: -1 tick
	raw := append([]byte{rowsRecordVersion1, 1, 'w', 1, 'T'}, nb.marshal(nil)...)
	if _, _, got, err = unmarshalRowsRecord(raw); err != nil || got.Columns[1].Ints[0] != -2 || got.Columns[2].Ints[0] != -1 {
		t.Fatalf("sub-tick nanoseconds: %v, %v", got.Columns[1].Ints, err)
	}
	// A version 1 record cannot hold what nanoseconds cannot.
	if _, err := marshalRowsRecord(nil, "w", "T", extremeBlock(), true); err == nil {
		t.Fatal("year 1 written in nanoseconds")
	}
}

// TestSegmentDocGolden: catalog rows of version 1 (no "v", Unix
// nanoseconds: earlier versions) and version 2 (ticks) decode to the same
// row in ticks; version 2 is what is written.
func TestSegmentDocGolden(t *testing.T) {
	want := segmentDoc{Version: segDocTicks, Account: "shared", Workspace: testWS1, Table: "00112233445566778899aabbccddeeff",
		Segment: FileID{0x5e, 0x67}.String(), Generation: 5, Min: ticks(hour0), Max: ticks(hour0.Add(90 * time.Minute)),
		Rows: 3, Size: 1234, WALSeq: 7, Blocks: []blockDoc{
			{Offset: 24, Length: 500, Rows: 2, Min: ticks(hour0), Max: ticks(hour0.Add(time.Minute))},
			{Offset: 524, Length: 600, Rows: 1, Min: ticks(hour0.Add(90 * time.Minute)), Max: ticks(hour0.Add(90 * time.Minute))}}}
	extremes := want
	extremes.Min, extremes.Max = datetime.Min, datetime.Max
	extremes.Blocks = []blockDoc{{Offset: 24, Length: 500, Rows: 2, Min: datetime.Min, Max: datetime.Min}, {Offset: 524, Length: 600, Rows: 1, Min: datetime.Max, Max: datetime.Max}}
	for _, tc := range []struct {
		name  string
		doc   segmentDoc
		nanos bool
	}{
		{"catalog-segment-v1.golden.json", want, true},
		{"catalog-segment-v2.golden.json", want, false},
		{"catalog-segment-v2-extremes.golden.json", extremes, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join("testdata", tc.name)
			body, err := encodeSegmentDoc(tc.doc, tc.nanos)
			if err != nil {
				t.Fatal(err)
			}
			goldenUpdate(t, path, body, !tc.nanos)
			old, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(body, old) {
				t.Fatalf("the encoder no longer writes the frozen bytes of %s:\n%s", tc.name, body)
			}
			got, err := decodeSegmentDoc(old)
			if err != nil || !reflect.DeepEqual(got, tc.doc) {
				t.Fatalf("golden row decodes to %+v, %v; want %+v", got, err, tc.doc)
			}
		})
	}
	if _, err := decodeSegmentDoc([]byte(`{"v":3,"min":0,"max":0}`)); !errors.Is(err, ErrUnknownVersion) {
		t.Fatalf("a row of an unknown encoding: %v", err)
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
