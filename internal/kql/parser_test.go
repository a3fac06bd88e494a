package kql

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// sexpr renders an expression as an s-expression for compact assertions.
func sexpr(e Expr) string {
	switch e := e.(type) {
	case *Ident:
		return e.Name
	case *Literal:
		if e.Value == nil {
			return e.Type.String() + "(null)"
		}
		if s, ok := e.Value.(string); ok && e.Type == TypeString {
			return fmt.Sprintf("%q", s)
		}
		return fmt.Sprintf("%s:%v", e.Type, e.Value)
	case *BinaryExpr:
		return "(" + e.Op + " " + sexpr(e.Left) + " " + sexpr(e.Right) + ")"
	case *UnaryExpr:
		return "(" + e.Op + " " + sexpr(e.X) + ")"
	case *CallExpr:
		parts := []string{e.Name}
		for _, a := range e.Args {
			parts = append(parts, sexpr(a))
		}
		return "(call " + strings.Join(parts, " ") + ")"
	case *InExpr:
		op := "in"
		if e.Negated {
			op = "!in"
		}
		if e.CaseInsensitive {
			op += "~"
		}
		parts := []string{op, sexpr(e.X)}
		for _, a := range e.List {
			parts = append(parts, sexpr(a))
		}
		return "(" + strings.Join(parts, " ") + ")"
	case *BetweenExpr:
		op := "between"
		if e.Negated {
			op = "!between"
		}
		return "(" + op + " " + sexpr(e.X) + " " + sexpr(e.Lo) + " " + sexpr(e.Hi) + ")"
	}
	return fmt.Sprintf("?%T", e)
}

func named(cols []NamedExpr) string {
	var parts []string
	for _, c := range cols {
		if c.Name != "" {
			parts = append(parts, c.Name+"="+sexpr(c.Expr))
		} else {
			parts = append(parts, sexpr(c.Expr))
		}
	}
	return strings.Join(parts, ", ")
}

func keys(ks []SortKey) string {
	var parts []string
	for _, k := range ks {
		dir := "desc"
		if k.Asc {
			dir = "asc"
		}
		nulls := "last"
		if k.NullsFirst {
			nulls = "first"
		}
		parts = append(parts, sexpr(k.Expr)+" "+dir+" nulls "+nulls)
	}
	return strings.Join(parts, ", ")
}

// render renders a query, one operator per line.
func render(q *Query) string {
	lines := []string{q.Source.Name}
	for _, op := range q.Operators {
		var s string
		switch op := op.(type) {
		case *WhereOp:
			s = "where " + sexpr(op.Predicate)
		case *TakeOp:
			s = "take " + sexpr(op.Count)
		case *CountOp:
			s = "count"
		case *ProjectOp:
			s = "project " + named(op.Columns)
		case *ExtendOp:
			s = "extend " + named(op.Columns)
		case *SortOp:
			s = "sort " + keys(op.Keys)
		case *TopOp:
			s = "top " + sexpr(op.Count) + " by " + keys(op.Keys)
		case *SummarizeOp:
			s = "summarize " + named(op.Aggregates) + " by " + named(op.By)
		}
		lines = append(lines, s)
	}
	return strings.Join(lines, "\n")
}

var parseTests = []struct {
	query string
	want  string
}{
	{"T", "T"},
	{"['My Table']", "My Table"},
	{"T | take 10", "T\ntake long:10"},
	{"T | limit 5 | count", "T\ntake long:5\ncount"},
	{`T | where Level_s == "error"`, `T` + "\n" + `where (== Level_s "error")`},
	{`T | where a == 'x' and b != "y" or not(c)`, `T` + "\n" + `where (or (and (== a "x") (!= b "y")) (call not c))`},
	{"T | where a < 1 and b <= 2.5 and c > -3 and d >= 1e3", "T\nwhere (and (and (and (< a long:1) (<= b real:2.5)) (> c long:-3)) (>= d real:1000))"},
	{"T | where a =~ 'X' or a !~ 'y' or a <> 'z'", `T` + "\n" + `where (or (or (=~ a "X") (!~ a "y")) (!= a "z"))`},
	{"T | where m has 'x' and m !has 'y' and m contains 'z' and m !contains 'w'",
		`T` + "\n" + `where (and (and (and (has m "x") (!has m "y")) (contains m "z")) (!contains m "w"))`},
	{"T | where m startswith 'a' or m endswith_cs 'b' or m !startswith 'c'",
		`T` + "\n" + `where (or (or (startswith m "a") (endswith_cs m "b")) (!startswith m "c"))`},
	{"T | where h in ('a', 'b') and h !in ('c') and h in~ ('D')",
		`T` + "\n" + `where (and (and (in h "a" "b") (!in h "c")) (in~ h "D"))`},
	{"T | where TimeGenerated > ago(1h)", "T\nwhere (> TimeGenerated (call ago timespan:36000000000))"},
	{"T | where TimeGenerated between (datetime(2024-01-01) .. datetime(2024-01-02T00:00:00Z))",
		"T\nwhere (between TimeGenerated datetime:17040672000000000 datetime:17041536000000000)"},
	{"T | where x !between (1 .. 10)", "T\nwhere (!between x long:1 long:10)"},
	{"T | where isnull(a) or isnotempty(b)", "T\nwhere (or (call isnull a) (call isnotempty b))"},
	{"T | where t < now() - 30m + timespan(1.02:00:00) - timespan(2d)",
		"T\nwhere (< t (- (+ (- (call now) timespan:18000000000) timespan:936000000000) timespan:1728000000000))"},
	{"T | where a == true and b == false and g == guid(0F0E0D0C-0B0A-0908-0706-050403020100)",
		`T` + "\nwhere (and (and (== a bool:true) (== b bool:false)) (== g guid:0f0e0d0c-0b0a-0908-0706-050403020100))"},
	{"T | where x == long(null) and y == 7d and z == 10s and w == 100ms",
		"T\nwhere (and (and (and (== x long(null)) (== y timespan:6048000000000)) (== z timespan:100000000)) (== w timespan:1000000))"},
	{"T | project a, b, c = x * 2 + y / 3 - -z", "T\nproject a, b, c=(- (+ (* x long:2) (/ y long:3)) (- z))"},
	{"T | extend d = Duration_d % 7", "T\nextend d=(% Duration_d long:7)"},
	{"T | sort by a, b asc, c desc nulls first", "T\nsort a desc nulls last, b asc nulls first, c desc nulls first"},
	{"T | order by a asc nulls last", "T\nsort a asc nulls last"},
	{"T | top 3 by Duration_d", "T\ntop long:3 by Duration_d desc nulls last"},
	{"T | summarize count() by Level_s", "T\nsummarize (call count) by Level_s"},
	{"T | summarize n = count(), avg(d) by Level_s, bin(TimeGenerated, 1h)",
		"T\nsummarize n=(call count), (call avg d) by Level_s, (call bin TimeGenerated timespan:36000000000)"},
	{"T | summarize by Host_s", "T\nsummarize  by Host_s"},
	{"T // comment\n| where a == 'x' // another\n| count", "T\nwhere (== a \"x\")\ncount"},
	{`T | where s == "a\"b\\c" and t == @'c:\dir' and u == 'it\'s'`,
		"T\nwhere (and (and (== s \"a\\\"b\\\\c\") (== t \"c:\\\\dir\")) (== u \"it's\"))"},
	{"T | where [\"odd col\"] == 1", "T\nwhere (== odd col long:1)"},
}

func TestParse(t *testing.T) {
	for _, tt := range parseTests {
		q, err := Parse(tt.query)
		if err != nil {
			if tt.want != "" {
				t.Errorf("Parse(%q): %v", tt.query, err)
			}
			continue
		}
		if got := render(q); got != tt.want {
			t.Errorf("Parse(%q) =\n%s\nwant\n%s", tt.query, got, tt.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		query     string
		line, pos int
		msg       string
	}{
		{"", 1, 0, "expected a table name"},
		{"T |", 1, 3, "expected an operator"},
		{"T | where", 1, 9, "expected an expression"},
		{"T | frobnicate", 1, 4, "unknown or unsupported operator 'frobnicate'"},
		{"T | where a ==", 1, 14, "expected an expression"},
		{"T\n| where (a == 1\n| count", 3, 0, "expected ')'"},
		{"T | take 10 10", 1, 12, "unexpected '10'"},
		{"T | where a == 'abc", 1, 15, "unterminated string"},
		{"T | where a == 1x", 1, 15, "invalid numeric literal"},
		{"T | where t > datetime(not a date)", 1, 14, "invalid datetime literal"},
		{"T | sort a", 1, 9, "expected 'by'"},
		{"T | top 5 Duration_d", 1, 10, "expected 'by'"},
		{"T | where a # 1", 1, 12, "unexpected character"},
		{"T | summarize", 1, 13, "expected an expression"},
		{"T | where x in (1, 2", 1, 20, "expected ')'"},
		{"T | where x between (1, 2)", 1, 22, "expected '..'"},
		{"T | where a ! b", 1, 12, "unexpected '!'"},
		{"T | sort by a nulls middle", 1, 20, "expected 'first' or 'last'"},
		{"T\n\n  | where b == 'é' and", 3, 22, "expected an expression"},
		{"T | where " + strings.Repeat("(", 500) + "1" + strings.Repeat(")", 500), 1, 0, "nested too deeply"},
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
