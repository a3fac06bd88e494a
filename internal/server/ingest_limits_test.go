package server

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/kustodian/kustodian/internal/ingest"
	"github.com/kustodian/kustodian/internal/store"
	"github.com/kustodian/kustodian/internal/store/vfs"
)

// A batch of more rows than one store block holds (the attack: 1,048,577
// records got a 500 "can be retried", forever) is stored whole.
func TestIngestSinkSplitsLargeBatches(t *testing.T) {
	ctx := context.Background()
	s, _, eng := newSinkServer(t, vfs.OS)
	ws := &ingest.Workspace{CustomerID: sinkWS, Route: sinkCluster}
	n := store.MaxBlockRows + 1
	if err := (ingestSink{s}).Append(ctx, ws, sinkBatch(0, n)); err != nil {
		t.Fatal(err)
	}
	wantIDs(t, sinkIDs(t, eng, ""), [2]int{0, n})
}

func TestToRowsChunks(t *testing.T) {
	for _, n := range []int{1, 2, 3, 4, 7} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			b := sinkBatch(0, n)
			b.Columns[0].Valid[n-1] = false
			chunks := toRows(b, 3)
			if want := (n + 2) / 3; len(chunks) != want {
				t.Fatalf("%d chunks, want %d", len(chunks), want)
			}
			row := 0
			for _, c := range chunks {
				if len(c.TimeGenerated) > 3 || len(c.Columns[0].Floats) != len(c.TimeGenerated) || len(c.Columns[0].Nulls) != len(c.TimeGenerated) {
					t.Fatalf("chunk of %d rows, %d values", len(c.TimeGenerated), len(c.Columns[0].Floats))
				}
				for i, v := range c.Columns[0].Floats {
					if int(v) != row || c.Columns[0].Nulls[i] != (row == n-1) || c.TimeGenerated[i] != b.TimeGenerated[row] {
						t.Fatalf("row %d: %v null %v", row, v, c.Columns[0].Nulls[i])
					}
					row++
				}
			}
			if row != n {
				t.Fatalf("%d rows in chunks, want %d", row, n)
			}
		})
	}
}

// The 500-column limit holds per table across posts (the attack: seven
// posts of 400 new fields made a table of 2,804 columns).
func TestIngestSinkColumnLimitPerTable(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newSinkServer(t, vfs.OS)
	ws := &ingest.Workspace{CustomerID: sinkWS, Route: sinkCluster}
	wide := func(prefix string, cols int) *ingest.Batch {
		b := ingest.NewBatch(sinkWS, "Wide_CL")
		b.Rows = 1
		b.TimeGenerated = []int64{time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC).UnixNano()}
		for i := range cols {
			b.Columns = append(b.Columns, &ingest.Column{Name: fmt.Sprintf("%s%d_d", prefix, i), Type: ingest.TypeReal, Reals: []float64{1}, Valid: []bool{true}})
		}
		return b
	}
	sink := ingestSink{s}
	if err := sink.Append(ctx, ws, wide("a", 400)); err != nil {
		t.Fatal(err)
	}
	if err := sink.Append(ctx, ws, wide("b", 101)); !errors.Is(err, ingest.ErrTooManyColumns) {
		t.Fatalf("a table of 501 columns: %v", err)
	}
	if err := sink.Append(ctx, ws, wide("b", 100)); err != nil {
		t.Fatalf("a table of 500 columns: %v", err)
	}
}
