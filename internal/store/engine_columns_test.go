package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// withColumns returns testRows (5 columns) plus extra real columns named
// prefix0, prefix1, ...
func withColumns(id0 int64, n int, prefix string, extra int) Rows {
	r := testRows(testWS1, "T", id0, n, hour0, time.Second)
	for i := range extra {
		r.Columns = append(r.Columns, Column{Name: fmt.Sprintf("%s%d_d", prefix, i), Type: TypeReal, Floats: make([]float64, n)})
	}
	return r
}

// The column limit holds per table across appends (not per append), and a
// refused append leaves the table as it was.
func TestEngineColumnLimitPerTable(t *testing.T) {
	ctx := context.Background()
	const limit = 12 // besides TimeGenerated; testRows has 5
	tests := []struct {
		name    string
		appends [][]Rows // one Append per element, in order
		refused []bool   // which appends fail with ErrTooManyColumns
		ids     int64    // rows stored afterwards: ids 0..ids-1
		columns int      // columns besides TimeGenerated afterwards
	}{
		{"within the limit in one append", [][]Rows{{withColumns(0, 2, "a", 7)}}, []bool{false}, 2, 12},
		{"the limit reached over two appends", [][]Rows{{withColumns(0, 2, "a", 4)}, {withColumns(2, 2, "b", 3)}}, []bool{false, false}, 4, 12},
		{"the second append would pass it", [][]Rows{{withColumns(0, 2, "a", 5)}, {withColumns(2, 2, "b", 3)}}, []bool{false, true}, 2, 10},
		{"known columns stay writable at the limit", [][]Rows{{withColumns(0, 2, "a", 7)}, {withColumns(2, 2, "a", 7)}}, []bool{false, false}, 4, 12},
		{"two chunks of one append counted together", [][]Rows{{withColumns(0, 2, "a", 4), withColumns(2, 2, "b", 4)}}, []bool{true}, 0, 0},
		{"one chunk too many refuses the whole append", [][]Rows{{withColumns(0, 2, "", 0)}, {withColumns(2, 2, "a", 1), withColumns(4, 2, "b", 8)}}, []bool{false, true}, 2, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, true)
			e := env.open(t, func(o *EngineOptions) { o.MaxTableColumns = limit })
			defer e.Close(ctx)
			for i, rows := range tt.appends {
				err := e.Append(ctx, "a", rows)
				if got := errors.Is(err, ErrTooManyColumns); got != tt.refused[i] || (err != nil && !got) {
					t.Fatalf("append %d: err = %v, want refused %v", i, err, tt.refused[i])
				}
			}
			got, err := scanIDs(t, e, ScanRequest{Workspace: testWS1, Table: "T"})
			if tt.ids == 0 {
				if len(got) != 0 {
					t.Fatalf("refused rows stored: %v", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			sameIDs(t, got, idRange(0, tt.ids))
			if n := tableColumns(t, e); n != tt.columns {
				t.Fatalf("table has %d columns, want %d", n, tt.columns)
			}
		})
	}
}

func tableColumns(t *testing.T, e *Engine) int {
	t.Helper()
	tables, err := e.Tables(context.Background(), testWS1)
	if err != nil {
		t.Fatal(err)
	}
	for _, tb := range tables {
		if tb.Name == "T" {
			return len(tb.Columns) - 1
		}
	}
	return 0
}

// Concurrent appends each adding new columns cannot together pass the
// limit: the check and the schema change happen under one lock.
func TestEngineColumnLimitConcurrent(t *testing.T) {
	ctx := context.Background()
	env := newTestEnv(t, true)
	e := env.open(t, func(o *EngineOptions) { o.MaxTableColumns = 45 })
	defer e.Close(ctx)
	// 5 columns each plus 10 of their own: at most 4 of 8 fit (5 + 4*10).
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() { errs[i] = e.Append(ctx, "a", []Rows{withColumns(int64(i)*2, 2, fmt.Sprintf("p%d_", i), 10)}) })
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, ErrTooManyColumns):
			t.Fatalf("unexpected error %v", err)
		}
	}
	if ok != 4 {
		t.Fatalf("%d appends accepted, want 4", ok)
	}
	if n := tableColumns(t, e); n != 45 {
		t.Fatalf("table has %d columns, want 45", n)
	}
}

// A negative limit turns the check off; a type conflict in a later chunk
// still refuses the whole append without registering the earlier chunk's
// columns.
func TestEngineColumnLimitOffAndConflict(t *testing.T) {
	ctx := context.Background()
	env := newTestEnv(t, true)
	e := env.open(t, func(o *EngineOptions) { o.MaxTableColumns = -1 })
	defer e.Close(ctx)
	if err := e.Append(ctx, "a", []Rows{withColumns(0, 1, "a", DefaultMaxTableColumns+10)}); err != nil {
		t.Fatal(err)
	}
	bad := withColumns(2, 1, "", 0)
	bad.Columns[0] = Column{Name: "id_d", Type: TypeString, Strings: make([]string, 1)}
	if err := e.Append(ctx, "a", []Rows{withColumns(1, 1, "new", 3), bad}); err == nil {
		t.Fatal("type conflict accepted")
	}
	if n := tableColumns(t, e); n != 5+DefaultMaxTableColumns+10 {
		t.Fatalf("table has %d columns after a refused append", n)
	}
}
