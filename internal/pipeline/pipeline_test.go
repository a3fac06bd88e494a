package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kustodian/kustodian/internal/datetime"
	"github.com/kustodian/kustodian/internal/kql"
	"github.com/kustodian/kustodian/internal/store"
	"github.com/kustodian/kustodian/internal/transform"
)

type fakeStorage struct {
	rows []store.Rows
	err  error
}

func (f *fakeStorage) Append(_ context.Context, _ string, rows []store.Rows, _ int) error {
	if f.err != nil {
		return f.err
	}
	f.rows = append(f.rows, rows...)
	return nil
}

var now = time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC)

var stream = []transform.Column{{Name: "TimeGenerated", Type: kql.TypeDatetime}, {Name: "Msg", Type: kql.TypeString},
	{Name: "Level", Type: kql.TypeInt}, {Name: "Props", Type: kql.TypeDynamic}}

var table = Target{CustomerID: "ws", Route: "shared", Table: "T_CL", Schema: []Column{
	{"TimeGenerated", kql.TypeDatetime}, {"Msg", kql.TypeString}, {"Level", kql.TypeLong}, {"Props", kql.TypeDynamic}, {"Up", kql.TypeString}}}

func records(t *testing.T, s string) []map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var out []map[string]any
	if err := dec.Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRecords(t *testing.T) {
	ctx := context.Background()
	recent := now.Add(-time.Hour).Format(time.RFC3339)
	cases := []struct {
		name      string
		kql       string
		body      string
		stored    int
		filtered  int
		err       string // substring; "" = success
		checkCols func(t *testing.T, r store.Rows)
	}{
		{name: "identity", body: `[{"TimeGenerated":"` + recent + `","Msg":"a","Level":2,"Props":{"k":1}},{"Msg":"b"}]`, stored: 2,
			checkCols: func(t *testing.T, r store.Rows) {
				want, _ := datetime.FromTime(now.Add(-time.Hour))
				if r.TimeGenerated[0] != want {
					t.Errorf("TimeGenerated[0] = %d, want %d", r.TimeGenerated[0], want)
				}
				if got, _ := datetime.FromTime(now); r.TimeGenerated[1] != got {
					t.Errorf("TimeGenerated[1] is not the receive time")
				}
			}},
		{name: "old time becomes receipt", body: `[{"TimeGenerated":"2001-01-01T00:00:00Z","Msg":"a"}]`, stored: 1,
			checkCols: func(t *testing.T, r store.Rows) {
				if got, _ := datetime.FromTime(now); r.TimeGenerated[0] != got {
					t.Errorf("old TimeGenerated kept")
				}
			}},
		{name: "transform filters", kql: "source | where Level > 1 | extend Up = toupper(Msg) | project TimeGenerated, Up, Level",
			body: `[{"Msg":"a","Level":2},{"Msg":"b","Level":1}]`, stored: 1, filtered: 1,
			checkCols: func(t *testing.T, r store.Rows) {
				for _, c := range r.Columns {
					if c.Name == "Up" && c.Strings[0] != "A" {
						t.Errorf("Up = %q", c.Strings[0])
					}
					if c.Name == "Level" && (c.Type != store.TypeLong || c.Ints[0] != 2) {
						t.Errorf("Level = %v %v", c.Type, c.Ints)
					}
				}
			}},
		{name: "all filtered", kql: "source | where Level > 10", body: `[{"Level":2}]`, filtered: 1},
		{name: "type mismatch names the record", body: `[{"Level":2},{"Level":"x"}]`, err: "record 1"},
		{name: "int out of range", body: `[{"Level":99999999999}]`, err: "record 0"},
		{name: "bad datetime", body: `[{"TimeGenerated":"yesterday"}]`, err: "record 0"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := &fakeStorage{}
			filteredMetric := 0
			p := New(Options{Storage: st, Now: func() time.Time { return now }, Filtered: func(n int) { filteredMetric += n }})
			tr, err := transform.Compile(ctx, c.kql, stream)
			if err != nil {
				t.Fatal(err)
			}
			stored, filtered, err := p.Records(ctx, Flow{In: stream, Transform: tr, Target: table}, records(t, c.body))
			if c.err != "" {
				var de *DataError
				if !errors.As(err, &de) || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err = %v, want a DataError with %q", err, c.err)
				}
				if len(st.rows) != 0 {
					t.Fatal("rows stored despite the error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if stored != c.stored || filtered != c.filtered || filteredMetric != c.filtered {
				t.Fatalf("stored, filtered = %d, %d (metric %d); want %d, %d", stored, filtered, filteredMetric, c.stored, c.filtered)
			}
			if c.checkCols != nil {
				c.checkCols(t, st.rows[0])
			}
		})
	}
}

func TestWriteChecksDeclaredSchema(t *testing.T) {
	ctx := context.Background()
	st := &fakeStorage{}
	p := New(Options{Storage: st})
	rows := func(name string, typ store.ColumnType) []store.Rows {
		return []store.Rows{{Workspace: "ws", Table: "T_CL", TimeGenerated: []int64{1},
			Columns: []store.Column{{Name: name, Type: typ, Strings: []string{"x"}}}}}
	}
	if err := p.Write(ctx, table, rows("Msg", store.TypeString), 1); err != nil {
		t.Fatal(err)
	}
	var de *DataError
	if err := p.Write(ctx, table, rows("Msg_s", store.TypeString), 1); !errors.As(err, &de) {
		t.Fatalf("undeclared column: %v", err)
	}
	if err := p.Write(ctx, table, rows("Level", store.TypeString), 1); !errors.As(err, &de) {
		t.Fatalf("wrong type: %v", err)
	}
	classic := Target{CustomerID: "ws", Route: "shared", Table: "C_CL"}
	if err := p.Write(ctx, classic, rows("anything_s", store.TypeString), 1); err != nil {
		t.Fatalf("classic table: %v", err)
	}
	st.err = ErrRevoked
	if err := p.Write(ctx, table, rows("Msg", store.TypeString), 1); !errors.Is(err, ErrRevoked) {
		t.Fatalf("storage error lost: %v", err)
	}
}
