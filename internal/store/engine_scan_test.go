package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"
)

// scanCount scans req and returns the rows and blocks it yields, and how
// many of the blocks came without columns.
func scanCount(t *testing.T, e *Engine, req ScanRequest) (rows, blocks, bare int, err error) {
	t.Helper()
	it, err := e.Scan(context.Background(), req)
	if err != nil {
		return 0, 0, 0, err
	}
	defer it.Close()
	for {
		b, err := it.Next(context.Background())
		if err == io.EOF {
			return rows, blocks, bare, nil
		}
		if err != nil {
			return 0, 0, 0, err
		}
		rows += b.Rows
		blocks++
		if len(b.Columns) == 0 {
			bare++
		}
	}
}

// TestEngineScanRowsOnly: a count of segment blocks wholly inside the
// range comes from the authenticated footers; partial blocks and buffers
// are read; a refused key answers nothing.
func TestEngineScanRowsOnly(t *testing.T) {
	ctx := context.Background()
	env := newTestEnv(t, true)
	e := env.open(t)
	defer e.Close(ctx)
	if err := e.Append(ctx, "cmk", []Rows{testRows(testWS1, secretTable, 0, 600, hour0, time.Second)}); err != nil {
		t.Fatal(err)
	}
	if err := e.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.Append(ctx, "cmk", []Rows{testRows(testWS1, secretTable, 600, 40, hour0, time.Second)}); err != nil {
		t.Fatal(err)
	}
	rows, blocks, bare, err := scanCount(t, e, ScanRequest{Workspace: testWS1, Table: secretTable, RowsOnly: true})
	if err != nil || rows != 640 || bare == 0 || bare == blocks {
		t.Fatalf("rows only: %d rows in %d blocks (%d bare), %v", rows, blocks, bare, err)
	}
	// A range that cuts the segment's block: counted from its rows.
	rows, _, _, err = scanCount(t, e, ScanRequest{Workspace: testWS1, Table: secretTable, RowsOnly: true,
		TimeMin: hour0.Add(100 * time.Second), TimeMax: hour0.Add(200 * time.Second)})
	// The segment's ids 100..199; the buffered rows lie at 0..39 s.
	if err != nil || rows != 100 {
		t.Fatalf("rows only in a range: %d, %v", rows, err)
	}
	env.keys.setErr("cmk", errFakeRevoked)
	if _, _, _, err := scanCount(t, e, ScanRequest{Workspace: testWS1, Table: secretTable, RowsOnly: true}); !errors.Is(err, errFakeRevoked) {
		t.Fatalf("count while revoked: %v", err)
	}
	env.keys.setErr("cmk", nil)
}

// TestEngineScanEqual: blocks whose filters rule a value out are skipped;
// every row holding it is still returned.
func TestEngineScanEqual(t *testing.T) {
	ctx := context.Background()
	env := newTestEnv(t, true)
	e := env.open(t)
	defer e.Close(ctx)
	for i := range 6 { // six segments (one flush each) in six windows
		if err := e.Append(ctx, "cmk", []Rows{testRows(testWS1, secretTable, int64(i*100), 100, hour0.Add(time.Duration(i)*time.Hour), time.Second)}); err != nil {
			t.Fatal(err)
		}
		if err := e.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	needle := fmt.Sprintf("%s-%d", secretValue, 321)
	got, err := scanIDs(t, e, ScanRequest{Workspace: testWS1, Table: secretTable, Columns: []string{"id_d", secretColumn},
		Equal: []Equal{{Column: secretColumn, Value: needle}}})
	if err != nil {
		t.Fatal(err)
	}
	if got[321] != 1 || len(got) != 1 {
		t.Fatalf("needle scan returned %d rows (id 321: %d), want that one", len(got), got[321])
	}
	// Null strings compare as "" (34 of every 100 rows); a predicate on a
	// column not read does not filter rows.
	got, err = scanIDs(t, e, ScanRequest{Workspace: testWS1, Table: secretTable, Columns: []string{"id_d", "level_s"},
		Equal: []Equal{{Column: "level_s", Value: ""}}})
	if err != nil || len(got) != 6*34 {
		t.Fatalf("level_s == \"\" (nulls): %d rows, %v", len(got), err)
	}
	// Two equalities on two columns read: both apply.
	got, err = scanIDs(t, e, ScanRequest{Workspace: testWS1, Table: secretTable, Columns: []string{"id_d", "level_s", secretColumn},
		Equal: []Equal{{Column: "level_s", Value: ""}, {Column: secretColumn, Value: needle}}})
	if err != nil || len(got) != 1 || got[321] != 1 {
		t.Fatalf("two equalities: %v, %v", got, err)
	}
	got, err = scanIDs(t, e, ScanRequest{Workspace: testWS1, Table: secretTable, Columns: []string{"id_d", "level_s", secretColumn},
		Equal: []Equal{{Column: "level_s", Value: "info"}, {Column: secretColumn, Value: needle}}})
	if err != nil || len(got) != 0 {
		t.Fatalf("two equalities no row satisfies: %v, %v", got, err)
	}
	got, err = scanIDs(t, e, ScanRequest{Workspace: testWS1, Table: secretTable, Equal: []Equal{{Column: "level_s", Value: "info"}}})
	if err != nil || len(got) != 600 {
		t.Fatalf("level_s == \"info\", level_s not read: %d rows, %v", len(got), err)
	}
	got, err = scanIDs(t, e, ScanRequest{Workspace: testWS1, Table: secretTable, Equal: []Equal{{Column: "level_s", Value: "absent"}}})
	if err != nil || len(got) != 0 {
		t.Fatalf("absent level: %d rows, %v", len(got), err)
	}
}

// TestEngineScanOmitTime: blocks wholly inside the range come without
// TimeGenerated when the caller does not need it; others are still cut to
// the range.
func TestEngineScanOmitTime(t *testing.T) {
	ctx := context.Background()
	env := newTestEnv(t, true)
	e := env.open(t)
	defer e.Close(ctx)
	if err := e.Append(ctx, "cmk", []Rows{testRows(testWS1, secretTable, 0, 300, hour0, time.Second)}); err != nil {
		t.Fatal(err)
	}
	if err := e.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		min, max time.Time
		rows     int
		timed    bool
	}{
		{time.Time{}, time.Time{}, 300, false},
		{hour0.Add(10 * time.Second), hour0.Add(20 * time.Second), 10, true},
	} {
		it, err := e.Scan(ctx, ScanRequest{Workspace: testWS1, Table: secretTable, Columns: []string{"id_d"}, OmitTime: true, TimeMin: tc.min, TimeMax: tc.max})
		if err != nil {
			t.Fatal(err)
		}
		rows := 0
		for {
			b, err := it.Next(ctx)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if (b.Column(TimeColumn) != nil) != tc.timed || b.Column("id_d") == nil || len(b.Column("id_d").Ints) != b.Rows {
				t.Fatalf("block of %d rows with columns %d", b.Rows, len(b.Columns))
			}
			rows += b.Rows
		}
		it.Close()
		if rows != tc.rows {
			t.Fatalf("%d rows, want %d", rows, tc.rows)
		}
	}
}
