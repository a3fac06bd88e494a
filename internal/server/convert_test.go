package server

import (
	"context"
	"errors"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/kustodian/kustodian/internal/datetime"
	"github.com/kustodian/kustodian/internal/ingest"
	"github.com/kustodian/kustodian/internal/kql"
	"github.com/kustodian/kustodian/internal/store"
	"github.com/kustodian/kustodian/internal/store/vfs"
)

func mustTicks(t *testing.T, tm time.Time) int64 {
	t.Helper()
	v, ok := datetime.FromTime(tm)
	if !ok {
		t.Fatalf("%v is outside Kusto's range", tm)
	}
	return v
}

// TestConvertPassesTicks: datetimes go from an ingested batch into the
// store and from a stored block to the query engine as the same ticks, over
// Kusto's whole range (year 1, 1500, 9999), nulls kept, with the standard
// columns (TenantId, Type, SourceSystem) produced as asked.
func TestConvertPassesTicks(t *testing.T) {
	ctx := context.Background()
	s, _, eng := newSinkServer(t, vfs.OS)
	now := mustTicks(t, time.Now())
	y1500 := mustTicks(t, time.Date(1500, 6, 1, 0, 0, 0, 0, time.UTC))
	b := ingest.NewBatch(sinkWS, "Dates_CL")
	b.TimeGenerated = []int64{now, now + 1, now + 2}
	b.Columns = []*ingest.Column{
		{Name: "when_t", Type: ingest.TypeDatetime, Times: []int64{datetime.Max, y1500, 0}, Valid: []bool{true, true, false}},
		{Name: "n_d", Type: ingest.TypeReal, Reals: []float64{1, 2, 3}, Valid: []bool{true, true, true}},
		{Name: "first_t", Type: ingest.TypeDatetime, Times: []int64{datetime.Min, 0, 0}, Valid: []bool{true, false, false}},
	}
	b.Rows = 3

	chunks := toRows(b, store.MaxBlockRows)
	if len(chunks) != 1 {
		t.Fatalf("%d chunks of 3 rows", len(chunks))
	}
	rows := chunks[0]
	if !slices.Equal(rows.TimeGenerated, b.TimeGenerated) {
		t.Fatalf("TimeGenerated %v, want %v", rows.TimeGenerated, b.TimeGenerated)
	}
	for i, c := range rows.Columns {
		in := b.Columns[i]
		if c.Name != in.Name {
			t.Fatalf("column %d is %s, want %s", i, c.Name, in.Name)
		}
		if in.Type == ingest.TypeDatetime && (c.Type != store.TypeDateTime || !slices.Equal(c.Ints, in.Times)) {
			t.Fatalf("%s: %s %v, want datetime %v", c.Name, c.Type, c.Ints, in.Times)
		}
		for r, valid := range in.Valid {
			if c.Nulls[r] == valid {
				t.Fatalf("%s row %d: null %v, valid %v", c.Name, r, c.Nulls[r], valid)
			}
		}
	}

	if err := (ingestSink{s}).Append(ctx, &ingest.Workspace{CustomerID: sinkWS, Route: sharedAccount}, b); err != nil {
		t.Fatal(err)
	}
	for _, flush := range []bool{false, true} { // from the buffers, then from a segment
		if flush {
			if err := eng.Flush(ctx); err != nil {
				t.Fatal(err)
			}
		}
		it, err := (queryData{engine: eng, workspace: sinkWS}).Scan(ctx, kql.ScanRequest{Table: "Dates_CL",
			Columns: []string{store.TimeColumn, "when_t", "first_t", colTenantID, colType, colSourceSystem}})
		if err != nil {
			t.Fatal(err)
		}
		qb, err := it.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := it.Next(ctx); !errors.Is(err, io.EOF) {
			t.Fatalf("a second batch: %v", err)
		}
		it.Close()
		tg, when, first := qb.Columns[store.TimeColumn], qb.Columns["when_t"], qb.Columns["first_t"]
		if tg.Type != kql.TypeDatetime || !slices.Equal(tg.Int, b.TimeGenerated) {
			t.Fatalf("flushed %v: TimeGenerated %s %v, want ticks %v", flush, tg.Type, tg.Int, b.TimeGenerated)
		}
		if when.Type != kql.TypeDatetime || when.Int[0] != datetime.Max || when.Int[1] != y1500 || !when.IsNull(2) || when.IsNull(0) {
			t.Fatalf("flushed %v: when_t %s %v", flush, when.Type, when.Int)
		}
		if first.Int[0] != datetime.Min || first.IsNull(0) || !first.IsNull(1) {
			t.Fatalf("flushed %v: first_t %v", flush, first.Int)
		}
		for name, want := range map[string]string{colTenantID: sinkWS, colType: "Dates_CL", colSourceSystem: sourceSystem} {
			v := qb.Columns[name]
			if v.Type != kql.TypeString || len(v.Str) != 3 || v.Str[0] != want || v.Str[2] != want {
				t.Fatalf("flushed %v: standard column %s = %v, want %q", flush, name, v.Str, want)
			}
		}
	}
	sch, err := (queryData{engine: eng, workspace: sinkWS}).Table(ctx, "Dates_CL")
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]kql.Type{}
	for _, c := range sch.Columns {
		types[c.Name] = c.Type
	}
	if types[store.TimeColumn] != kql.TypeDatetime || types["when_t"] != kql.TypeDatetime || types[colTenantID] != kql.TypeString || types[colSourceSystem] != kql.TypeString {
		t.Fatalf("schema %+v", sch.Columns)
	}
}
