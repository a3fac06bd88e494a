package transform

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/kustodian/kustodian/internal/kql"
)

var stream = []Column{
	{"TimeGenerated", kql.TypeDatetime}, {"Computer", kql.TypeString}, {"Level", kql.TypeLong},
	{"RawData", kql.TypeString}, {"Props", kql.TypeDynamic},
}

func TestCompile(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name, text string
		out        string // column names, comma-separated
		err        string // substring of the error; "" = success
	}{
		{"empty", "", "TimeGenerated,Computer,Level,RawData,Props", ""},
		{"source", " source ", "TimeGenerated,Computer,Level,RawData,Props", ""},
		{"where extend project", "source | where Level > 2 | extend Msg = strcat(Computer, ':', RawData) | project TimeGenerated, Msg, Level",
			"TimeGenerated,Msg,Level", ""},
		{"project-away rename", "source | project-away Props | project-rename Host = Computer", "TimeGenerated,Host,Level,RawData", ""},
		{"parse", "source | parse RawData with Verb ' ' Path | project TimeGenerated, Verb, Path", "TimeGenerated,Verb,Path", ""},
		{"scalar let", "let x = 3; source | where Level >= x | project TimeGenerated", "TimeGenerated", ""},
		{"summarize refused", "source | summarize count() by Computer", "", "not supported in transformations"},
		{"take refused", "source | take 1", "", "not supported"},
		{"other table", "Heartbeat | where true", "", "must read the table 'source'"},
		{"syntax", "source | where (", "", "does not parse"},
		{"unknown column", "source | where Nope == 1", "", "does not compile"},
		{"tabular let", "let t = source | where true; t", "", "must read the table 'source'"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr, err := Compile(ctx, c.text, stream)
			if c.err != "" {
				var te *Error
				if err == nil || !errors.As(err, &te) || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err = %v, want *Error containing %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, col := range tr.Out() {
				names = append(names, col.Name)
			}
			if got := strings.Join(names, ","); got != c.out {
				t.Fatalf("out = %s, want %s", got, c.out)
			}
		})
	}
}

func TestRun(t *testing.T) {
	ctx := context.Background()
	tr, err := Compile(ctx, "source | where Level > 1 | extend Msg = strcat(Computer, '/', RawData) | project TimeGenerated, Msg, Level", stream)
	if err != nil {
		t.Fatal(err)
	}
	b := &kql.Batch{Len: 3, Columns: map[string]kql.Vector{
		"TimeGenerated": {Type: kql.TypeDatetime, Int: []int64{1, 2, 3}},
		"Computer":      {Type: kql.TypeString, Str: []string{"a", "b", "c"}},
		"Level":         {Type: kql.TypeLong, Int: []int64{1, 2, 3}},
		"RawData":       {Type: kql.TypeString, Str: []string{"x", "y", "z"}},
	}}
	res, err := tr.Run(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 2 || res.Rows[0][1] != "b/y" || res.Rows[1][2] != int64(3) {
		t.Fatalf("rows = %v", res.Rows)
	}
}

func TestParseType(t *testing.T) {
	for _, c := range []struct {
		in   string
		want kql.Type
		ok   bool
	}{{"boolean", kql.TypeBool, true}, {"dateTime", kql.TypeDatetime, true}, {"GUID", kql.TypeGUID, true},
		{"dynamic", kql.TypeDynamic, true}, {"int", kql.TypeInt, true}, {"long", kql.TypeLong, true},
		{"real", kql.TypeReal, true}, {"string", kql.TypeString, true}, {"decimal", 0, false}, {"", 0, false}} {
		got, ok := ParseType(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("ParseType(%q) = %v, %v; want %v, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func FuzzCompile(f *testing.F) {
	for _, s := range []string{"", "source", "source | where Level > 1", "source | extend x = 1 | project x",
		"source | parse RawData with a ' ' b", "let x = 1; source | where Level == x", "source | summarize count()"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		tr, err := Compile(context.Background(), text, stream)
		if err == nil && tr == nil {
			t.Fatal("nil transform without error")
		}
	})
}
