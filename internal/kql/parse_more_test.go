package kql

import (
	"errors"
	"strings"
	"testing"
)

// TestParseMore checks that the statements, sources and operators beyond
// the core grammar parse, and into what.
// parseMoreQueries are queries of the grammar beyond the core; the fuzz
// test starts from them too.
var parseMoreQueries = []string{
	"let x = 5; T | where a > x",
	"let x = 5;\nlet y = ago(x * 1d);\nT | where TimeGenerated > y",
	"let T2 = T | where a == 1; T2 | count",
	"let T2 = materialize(T | where a == 1); T2 | count",
	"let f = (a: string, n: long = 3) { T | where b == a | take n }; f('x')",
	"let f = (T: (*)) { T | count }; f(U)",
	"let s = toscalar(T | summarize max(a)); T | where a == s",
	"let d = dynamic(['a', 'b', {\"k\": [1, -2.5, null, true]}]); print d",
	"datatable(a: string, b: long) ['x', 1, 'y', 2] | where b > 1",
	"print x = 1, y = 'a'",
	"range i from 1 to 10 step 1",
	"union withsource=Src isfuzzy=true T, (U | where a == 1), V*",
	"T | union U, V",
	"T | extend x = d.a.b, y = d['c'][0], z = parse_json(s).k[-1]",
	"T | where a has_any ('x', 'y') and b has_all (list) and c matches regex '^a.*'",
	"T | where a !hasprefix 'x' and a hassuffix_cs 'y'",
	"T | where a in (U | project a) and b !in~ (V | distinct b)",
	"T | summarize arg_max(TimeGenerated, *) by a",
	"T | summarize hint.strategy=shuffle count() by a",
	"T | project-away a, b*, ['c d'] | project-keep x* | project-reorder z, y asc | project-rename n = o",
	"T | distinct a, b | distinct *",
	"T | render timechart with (title='t', ytitle=\"Count\", ycolumns=(a, b))",
	"T | render barchart kind=stacked",
	"T | mv-expand with_itemindex=i x = d to typeof(string), y limit 10",
	"T | mv-apply e = d to typeof(dynamic) on (where e.k == 1 | project e)",
	"T | join kind=leftouter hint.strategy=broadcast (U | where a == 1) on a, $left.b == $right.c",
	"T | lookup kind=inner U on a",
	"T | parse kind=regex flags=i s with * 'a=' a:long ',' b",
	"T | serialize n = row_number() | sample 5 | getschema | as X",
	"T | evaluate bag_unpack(d)",
	"T | make-series n = count() default=0 on TimeGenerated in range(ago(1d), now(), 1h) by a",
	"T | make-series n = count() on TimeGenerated from ago(1d) to now() step 1h",
	"externaldata (a: string) [@'https://example.invalid/x.csv'] with (format='csv')",
	"set notruncation;\nT | take 1",
}

func TestParseMore(t *testing.T) {
	for _, q := range parseMoreQueries {
		if _, err := Parse(q); err != nil {
			t.Errorf("Parse(%q): %v", q, err)
		}
	}
}

func TestParseMoreErrors(t *testing.T) {
	tests := []struct {
		query     string
		line, pos int
		msg       string
	}{
		{"let x = 5", 1, 9, "expected a tabular expression"},
		{"let x = 5 T", 1, 10, "expected ';' after the let statement"},
		{"let = 5; T", 1, 4, "expected a name after 'let'"},
		{"T | project-away", 1, 16, "expected a column name"},
		{"T | mv-explode x", 1, 4, "unknown or unsupported operator 'mv-explode'"},
		{"T | join (U) on", 1, 15, "expected an expression"},
		{"print d = dynamic([1, 2)", 1, 23, "expected ']'"},
		{"print d = dynamic({a 1})", 1, 21, "expected ':'"},
		{"T | parse s with", 1, 16, "expected a parse pattern"},
		{"T | facet by a", 1, 4, "not supported"},
		{"let f = (a: string) { a ; T", 1, 26, "expected '}'"},
		{"print d = dynamic(" + strings.Repeat("[", 300) + strings.Repeat("]", 300) + ")", 1, 0, "nested too deeply"},
		{strings.Repeat("(", 300) + "T" + strings.Repeat(")", 300), 1, 0, "nested too deeply"},
		{"T | where a has_any 'x'", 1, 20, "expected '('"},
		{"print d = dynamic(1)" + strings.Repeat(".a", 1000), 1, 0, "nested too deeply"},
	}
	for _, tt := range tests {
		_, err := Parse(tt.query)
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("Parse(%q) = %v, want *Error", tt.query, err)
			continue
		}
		if e.Kind != KindSyntax || e.Line != tt.line || (tt.pos != 0 && e.Pos != tt.pos) || !strings.Contains(e.Message, tt.msg) {
			t.Errorf("Parse(%q) = %s %q at %d:%d, want SyntaxError %q at %d:%d", tt.query, e.Kind, e.Message, e.Line, e.Pos, tt.msg, tt.line, tt.pos)
		}
	}
}

func TestWorkspaceTable(t *testing.T) {
	q, err := Parse(`workspace("ws-2").['App Logs'] | take 1`)
	if err != nil {
		t.Fatal(err)
	}
	want := `workspace("ws-2").App Logs`
	if q.Source.Name != want || q.Input != nil {
		t.Fatalf("source %q, input %v; want %q", q.Source.Name, q.Input, want)
	}
	ref, table, ok := SplitQualified(q.Source.Name)
	if !ok || ref != "ws-2" || table != "App Logs" {
		t.Fatalf("SplitQualified = %q, %q, %v", ref, table, ok)
	}
	if _, _, ok := SplitQualified("AppLogs_CL"); ok {
		t.Fatal("SplitQualified of a plain name")
	}
	if _, err := Parse(`workspace(1).T`); err == nil {
		t.Fatal("workspace(1).T parsed")
	}
}
