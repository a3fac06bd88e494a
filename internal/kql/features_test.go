package kql

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// noTables is a catalog without tables, for self-contained queries.
type noTables struct{}

func (noTables) Table(ctx context.Context, name string) (*Schema, error) {
	return nil, fmt.Errorf("table %q: %w", name, ErrTableNotFound)
}

func (noTables) Scan(ctx context.Context, req ScanRequest) (BatchIterator, error) {
	return nil, fmt.Errorf("no table %q", req.Table)
}

// runSelf runs a self-contained query and renders its result: the column
// names and types, then one line per row with values as %v, nil as null.
func runSelf(t *testing.T, query string) string {
	t.Helper()
	q, err := Parse(query)
	if err != nil {
		t.Fatalf("Parse(%q): %v", query, err)
	}
	p, err := Compile(context.Background(), q, noTables{}, Options{})
	if err != nil {
		t.Fatalf("Compile(%q): %v", query, err)
	}
	res, err := p.Run(context.Background(), noTables{})
	if err != nil {
		t.Fatalf("Run(%q): %v", query, err)
	}
	return renderResult(res)
}

func renderResult(res *Result) string {
	var cols []string
	for _, c := range res.Columns {
		cols = append(cols, c.Name+":"+c.Type)
	}
	lines := []string{strings.Join(cols, " ")}
	for _, r := range res.Rows {
		var vals []string
		for _, v := range r {
			if v == nil {
				vals = append(vals, "null")
			} else {
				vals = append(vals, fmt.Sprint(v))
			}
		}
		lines = append(lines, strings.Join(vals, " | "))
	}
	return strings.Join(lines, "\n")
}

type goldenCase struct {
	name, query, want string
}

func runGolden(t *testing.T, cases []goldenCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := runSelf(t, tc.query); got != strings.Trim(tc.want, "\n") {
				t.Errorf("%s\ngot:\n%s\nwant:\n%s", tc.query, got, strings.Trim(tc.want, "\n"))
			}
		})
	}
}

// semErr checks that a query fails to compile with a SemanticError.
func semErr(t *testing.T, query string, line, pos int, msg string) {
	t.Helper()
	q, err := Parse(query)
	if err != nil {
		t.Errorf("Parse(%q): %v", query, err)
		return
	}
	_, err = Compile(context.Background(), q, noTables{}, Options{})
	var e *Error
	if !errors.As(err, &e) {
		t.Errorf("Compile(%q) = %v, want a SemanticError", query, err)
		return
	}
	if e.Kind != KindSemantic || e.Line != line || e.Pos != pos || !strings.Contains(e.Message, msg) {
		t.Errorf("Compile(%q) = %s %q at %d:%d, want SemanticError %q at %d:%d", query, e.Kind, e.Message, e.Line, e.Pos, msg, line, pos)
	}
}

func TestSources(t *testing.T) {
	runGolden(t, []goldenCase{
		{"print", `print 1, x = 'a', 2.5`, "print_0:long x:string print_1:real\n1 | a | 2.5"},
		{"datatable", `datatable(a: string, b: long, c: real, d: bool)['x', 1, 2, true, 'y', int(null), 0.5, false]`,
			"a:string b:long c:real d:bool\nx | 1 | 2 | true\ny | null | 0.5 | false"},
		{"range", `range i from 1 to 5 step 2`, "i:long\n1\n3\n5"},
		{"range down", `range i from 3 to 1 step -1 | count`, "Count:long\n3"},
		{"range real", `range x from 0.5 to 1.5 step 0.5`, "x:real\n0.5\n1\n1.5"},
		{"union", `union (print a = 1), (print a = 2, b = 'x')`, "a:long b:string\n1 | \n2 | x"},
		{"union types", `union withsource=T (print a = 1), (print a = 'x')`, "T:string a_long:long a_string:string\nunion_arg0 | 1 | \nunion_arg1 | null | x"},
		{"union op", `print a = 1 | union (print a = 2) | summarize sum(a)`, "sum_a:long\n3"},
		{"subquery", `(print a = 1 | extend b = a + 1) | project b`, "b:long\n2"},
	})
	semErr(t, "datatable(a: long)['x']", 1, 19, "column 'a' is of type long, not string")
	semErr(t, "datatable(a: long, b: long)[1]", 1, 0, "1 values do not fill rows of 2 columns")
	semErr(t, "range i from 1 to 3 step 0", 1, 25, "step must not be zero")
	semErr(t, "externaldata(a: string) ['x']", 1, 0, "externaldata")
	semErr(t, "Nope | take 1", 1, 0, "Failed to resolve table expression named 'Nope'")
	semErr(t, "union isfuzzy=true Nope1, Nope2", 1, 0, "no table of the union exists")
}

func TestLet(t *testing.T) {
	runGolden(t, []goldenCase{
		{"scalar", `let n = 2; range i from 1 to 5 step 1 | where i > n | count`, "Count:long\n3"},
		{"scalar chain", "let a = 2;\nlet b = a * 10;\nprint b", "b:long\n20"},
		{"tabular", `let T = datatable(x: long)[1, 2, 3]; T | where x >= 2 | summarize sum(x)`, "sum_x:long\n5"},
		{"twice", `let T = print x = 1; union T, T | count`, "Count:long\n2"},
		{"materialize", `let T = materialize(range i from 1 to 3 step 1); T | join kind=inner T on i | count`, "Count:long\n3"},
		{"function", `let f = (a: long, b: long = 10) { a + b }; print x = f(1), y = f(1, 2)`, "x:long y:long\n11 | 3"},
		{"function columns", `let twice = (v: long) { v * 2 }; range i from 1 to 2 step 1 | extend d = twice(i)`, "i:long d:long\n1 | 2\n2 | 4"},
		{"tabular function", `let f = (n: long) { range i from 1 to n step 1 }; f(3) | count`, "Count:long\n3"},
		{"tabular parameter", `let f = (T: (*)) { T | count }; let U = print a = 1; f(U)`, "Count:long\n1"},
		{"toscalar", `let m = toscalar(range i from 1 to 7 step 1 | summarize max(i)); print m`, "m:long\n7"},
		{"toscalar in where", `range i from 1 to 5 step 1 | where i > toscalar(print 3)`, "i:long\n4\n5"},
		{"let alias", `let a = 5; let b = a; print b`, "b:long\n5"},
		{"shadowing", `let x = 1; let f = (x: long) { x + 1 }; print f(10)`, "print_0:long\n11"},
	})
	semErr(t, "let n = 2; print n2", 1, 17, "Failed to resolve scalar expression named 'n2'")
	semErr(t, "let T = print a = 1; print T", 1, 27, "'T' is a table, not a scalar value")
	semErr(t, "let x = 1; x | count", 1, 11, "'x' is a scalar value, not a table")
	semErr(t, "let f = () { f() }; print f()", 1, 13, "Unknown function: 'f'")
	semErr(t, "let f = (a: long) { a }; print f(1, 2)", 1, 31, "expects 1 argument(s), got 2")
	semErr(t, "let f = (a: long) { a }; print f()", 1, 31, "no value for parameter 'a'")
}

func TestDynamic(t *testing.T) {
	runGolden(t, []goldenCase{
		{"literal", `print d = dynamic({"a": [1, 2.5, "x", null, true], "b": {"c": -3}})`,
			`d:dynamic` + "\n" + `{"a":[1,2.5,"x",null,true],"b":{"c":-3}}`},
		{"access", `let d = dynamic({"a": [10, 20, 30], "b": {"c": "x"}}); print a1 = d.a[1], last = d.a[-1], c = d.b.c, cc = d["b"]["c"], none = d.z.y`,
			"a1:dynamic last:dynamic c:dynamic cc:dynamic none:dynamic\n20 | 30 | \"x\" | \"x\" | null"},
		{"tostring", `let d = dynamic({"s": "x", "n": 5, "o": {"k": 1}}); print s = tostring(d.s), n = tostring(d.n), o = tostring(d.o), z = tostring(d.z)`,
			"s:string n:string o:string z:string\nx | 5 | {\"k\":1} | "},
		{"parse_json", `print p = parse_json('{"a":{"b":[1,2]}}').a.b[1], bad = parse_json('not json'), n = todynamic('null')`,
			"p:dynamic bad:dynamic n:dynamic\n2 | \"not json\" | null"},
		{"conversions", `let d = parse_json('{"i":"42","r":1.5,"b":true}'); print toint(d.i), tolong(d.r), todouble(d.i), tobool(d.b), toint('x')`,
			"print_0:int print_1:long print_2:real print_3:bool print_4:int\n42 | 1 | 42 | true | null"},
		{"pack", `print p = pack("a", 1, "b", "x"), q = bag_pack("n", dynamic(null)), arr = pack_array(1, "a", 2.5)`,
			"p:dynamic q:dynamic arr:dynamic\n{\"a\":1,\"b\":\"x\"} | {\"n\":null} | [1,\"a\",2.5]"},
		{"array_length", `print a = array_length(dynamic([1, 2, 3])), b = array_length(dynamic({"x": 1})), c = array_length(dynamic([]))`,
			"a:long b:long c:long\n3 | null | 0"},
		{"bag_keys", `print k = bag_keys(dynamic({"b": 1, "a": 2}))`, "k:dynamic\n[\"b\",\"a\"]"},
		{"compare", `let d = dynamic({"s": "x", "n": 5}); print d.s == "x", d.n > 4, d.s has "x", d.n == 5`,
			"print_0:bool print_1:bool print_2:bool print_3:bool\ntrue | true | true | true"},
		{"in dynamic", `let ids = dynamic(["a", "b"]); datatable(s: string)["a", "c"] | where s in (ids)`, "s:string\na"},
		{"isnull", `print isnull(dynamic(null)), isnull(dynamic({})), isempty(dynamic(null))`,
			"print_0:bool print_1:bool print_2:bool\ntrue | false | true"},
	})
	semErr(t, "print x = 'a'.b", 1, 13, "needs a dynamic value, got string")
	semErr(t, "print dynamic([1])[true]", 1, 19, "an index must be a string or an integer")
}

func TestStringFunctions(t *testing.T) {
	runGolden(t, []goldenCase{
		{"strcat", `print strcat("a", 1, 2.5, true, dynamic([1]))`, "print_0:string\na12.5true[1]"},
		{"split", `print split("a,b,,c", ","), split("a,b", ",", 1), split("a", ",", 5)`,
			"print_0:dynamic print_1:dynamic print_2:dynamic\n[\"a\",\"b\",\"\",\"c\"] | [\"b\"] | []"},
		{"substring", `print substring("abcdef", 1, 3), substring("abcdef", 4), substring("abc", 5), substring("héllo", 1, 2)`,
			"print_0:string print_1:string print_2:string print_3:string\nbcd | ef |  | él"},
		{"replace", `print replace_string("a.b.c", ".", "-"), replace_regex("ab12cd3", @"(\d+)", @"<\1>")`,
			"print_0:string print_1:string\na-b-c | ab<12>cd<3>"},
		{"trim", `print trim(" ", "  ab  "), trim_start("x", "xxaxx"), trim_end(@"\d", "ab123")`,
			"print_0:string print_1:string print_2:string\nab | axx | ab"},
		{"indexof", `print indexof("abcabc", "c"), indexof("abcabc", "c", 3), indexof("abc", "z"), indexof("abcabc", "b", 0, -1, 2)`,
			"print_0:long print_1:long print_2:long print_3:long\n2 | 5 | -1 | 4"},
		{"countof", `print countof("aaa", "aa"), countof("a1b22", @"\d+", "regex")`, "print_0:long print_1:long\n2 | 2"},
		{"extract", `print extract(@"id=(\d+)", 1, "x id=42 y"), extract(@"id=(\d+)", 1, "x id=42", typeof(long)), extract("z(.)", 1, "abc")`,
			"print_0:string print_1:long print_2:string\n42 | 42 | "},
		{"extract_all", `print extract_all(@"(\d)", "a1b2"), extract_all(@"(\w)=(\d)", "a=1,b=2")`,
			"print_0:dynamic print_1:dynamic\n[\"1\",\"2\"] | [[\"a\",\"1\"],[\"b\",\"2\"]]"},
		{"parse_url", `print parse_url("https://u:p@h.example:8443/a/b?x=1&y=z#f").Host, parse_url("https://h/p?x=1")["Query Parameters"].x`,
			"print_0:dynamic print_1:dynamic\n\"h.example\" | \"1\""},
		{"codecs", `print base64_encode_tostring("kusto"), base64_decode_tostring("a3VzdG8="), url_encode("a b&c"), url_decode("a%20b")`,
			"print_0:string print_1:string print_2:string print_3:string\na3VzdG8= | kusto | a+b%26c | a b"},
		{"strcat_array", `print strcat_array(dynamic(["a", 1, "c"]), "-")`, "print_0:string\na-1-c"},
	})
	semErr(t, "print extract('(', 1, 'a')", 1, 14, "invalid regular expression")
	semErr(t, "print extract('(a)', 2, 'a')", 1, 21, "capture group must be a constant between 0 and 1")
	semErr(t, "print substring('a', 'b')", 1, 21, "expects an integer, got string")
}

func TestConditionalFunctions(t *testing.T) {
	runGolden(t, []goldenCase{
		{"iff", `range i from 1 to 3 step 1 | project r = iff(i > 1, "big", "small"), n = iif(i == 2, 1, 2.5)`,
			"r:string n:real\nsmall | 2.5\nbig | 1\nbig | 2.5"},
		{"case", `range i from 1 to 3 step 1 | project case(i == 1, "one", i == 2, "two", "many")`,
			"Column1:string\none\ntwo\nmany"},
		{"coalesce", `print coalesce(long(null), 5), coalesce("", "x"), coalesce(int(null), long(null))`,
			"print_0:long print_1:string print_2:long\n5 | x | null"},
		{"round", `print round(2.567, 2), round(2.5), max_of(1, 5, 3), min_of(2.5, 1)`,
			"print_0:real print_1:real print_2:long print_3:real\n2.57 | 3 | 5 | 1"},
	})
	semErr(t, "print iff(1, 2, 3)", 1, 10, "expects a bool condition, got long")
	semErr(t, "print iff(true, 2, 'x')", 1, 6, "values are of different types")
	semErr(t, "print case(true, 1)", 1, 6, "case() expects at least 3 argument(s), got 2")
}

func TestImplicitConversions(t *testing.T) {
	runGolden(t, []goldenCase{
		{"string == number", `datatable(ResultType: string)["0", "50126"] | where ResultType == 0`, "ResultType:string\n0"},
		{"number == string", `datatable(EventID: int)[4624, 4625] | where EventID == "4624"`, "EventID:int\n4624"},
		{"number != string", `datatable(EventID: int)[4624, 4625] | where EventID != "4624"`, "EventID:int\n4625"},
		{"in mixed", `datatable(EventID: int)[4624, 4625, 1] | where EventID in ("4624", "4625")`, "EventID:int\n4624\n4625"},
		{"bool == string", `datatable(b: bool)[true, false] | where b == "true"`, "b:bool\ntrue"},
	})
	semErr(t, "print 'a' < 1", 1, 10, "Cannot compare values of types string and long")
}

func TestOperatorsMore(t *testing.T) {
	const t3 = `datatable(a: long, b: string, c_1: real, c_2: real)[1, "x", 0.5, 1.5, 2, "y", 2.5, 3.5, 1, "x", 0.5, 1.5]`
	runGolden(t, []goldenCase{
		{"project-away", t3 + ` | project-away c_* | take 1`, "a:long b:string\n1 | x"},
		{"project-keep", t3 + ` | project-keep c*, a | take 1`, "a:long c_1:real c_2:real\n1 | 0.5 | 1.5"},
		{"project-reorder", t3 + ` | project-reorder c_2, b | take 1`, "c_2:real b:string a:long c_1:real\n1.5 | x | 1 | 0.5"},
		{"project-rename", t3 + ` | project-rename B = b | take 1`, "a:long B:string c_1:real c_2:real\n1 | x | 0.5 | 1.5"},
		{"distinct", t3 + ` | distinct a, b | order by a asc`, "a:long b:string\n1 | x\n2 | y"},
		{"distinct *", t3 + ` | distinct * | count`, "Count:long\n2"},
		{"render", t3 + ` | render timechart with (title="t")`,
			"a:long b:string c_1:real c_2:real\n1 | x | 0.5 | 1.5\n2 | y | 2.5 | 3.5\n1 | x | 0.5 | 1.5"},
		{"serialize", `range i from 5 to 6 step 1 | serialize | as T | sample 1`, "i:long\n5"},
		{"parse", `datatable(s: string)["GET /a?id=12 200", "bad"] | parse s with verb " " path "?id=" id: long " " status: int`,
			"s:string verb:string path:string id:long status:int\nGET /a?id=12 200 | GET | /a | 12 | 200\nbad |  |  | null | null"},
		{"parse star", `print s = "CN=Bob,OU=x" | parse s with * "CN=" user "," *`, "s:string user:string\nCN=Bob,OU=x | Bob"},
		{"parse regex", `print s = "k1=v1;k2=v2" | parse kind=regex s with @"k2=" v @"$"`, "s:string v:string\nk1=v1;k2=v2 | v2"},
		{"parse-where", `datatable(s: string)["a=1", "b"] | parse-where s with "a=" n: long`, "s:string n:long\na=1 | 1"},
	})
	semErr(t, t3+" | project-away nope", 1, len(t3)+3, "Failed to resolve column named 'nope'")
	semErr(t, t3+" | project-rename x = nope", 1, len(t3)+22, "Failed to resolve column named 'nope'")
}

func TestMvExpand(t *testing.T) {
	runGolden(t, []goldenCase{
		{"array", `datatable(k: string, d: dynamic)["a", dynamic([1, 2]), "b", dynamic([]), "c", dynamic(null)] | mv-expand d`,
			"k:string d:dynamic\na | 1\na | 2"},
		{"typed and index", `print d = dynamic(["x", "y"]) | mv-expand with_itemindex=i v = d to typeof(string)`,
			"d:dynamic v:string i:long\n[\"x\",\"y\"] | x | 0\n[\"x\",\"y\"] | y | 1"},
		{"bag", `print d = dynamic({"a": 1, "b": 2}) | mv-expand d`, "d:dynamic\n{\"a\":1}\n{\"b\":2}"},
		{"bag array", `print d = dynamic({"a": 1}) | mv-expand bagexpansion=array d`, "d:dynamic\n[\"a\",1]"},
		{"zip", `print a = dynamic([1, 2]), b = dynamic(["x"]) | mv-expand a, b`, "a:dynamic b:dynamic\n1 | \"x\"\n2 | null"},
		{"limit", `print a = dynamic([1, 2, 3]) | mv-expand a limit 2`, "a:dynamic\n1\n2"},
		{"expression", `print s = "[1,2]" | mv-expand todynamic(s) | count`, "Count:long\n2"},
	})
	semErr(t, "print a = 1 | mv-expand a", 1, 24, "mv-expand expects a dynamic array or bag, got long")
}

func TestJoin(t *testing.T) {
	const l = `let L = datatable(k: long, lv: string)[1, "a", 1, "b", 2, "c", 3, "d"];`
	const r = `let R = datatable(k: long, rv: string)[1, "x", 2, "y", 2, "z", 4, "w"];`
	runGolden(t, []goldenCase{
		{"innerunique", l + r + ` L | join R on k | order by k asc, rv asc`, "k:long lv:string k1:long rv:string\n1 | a | 1 | x\n2 | c | 2 | y\n2 | c | 2 | z"},
		{"inner", l + r + ` L | join kind=inner R on k | order by k asc, lv asc, rv asc`,
			"k:long lv:string k1:long rv:string\n1 | a | 1 | x\n1 | b | 1 | x\n2 | c | 2 | y\n2 | c | 2 | z"},
		{"leftouter", l + r + ` L | join kind=leftouter R on k | where k == 3`, "k:long lv:string k1:long rv:string\n3 | d | null | "},
		{"rightouter", l + r + ` L | join kind=rightouter R on k | where isnull(k)`, "k:long lv:string k1:long rv:string\nnull |  | 4 | w"},
		{"fullouter", l + r + ` L | join kind=fullouter R on k | count`, "Count:long\n6"},
		{"leftsemi", l + r + ` L | join kind=leftsemi R on k | order by lv asc`, "k:long lv:string\n1 | a\n1 | b\n2 | c"},
		{"leftanti", l + r + ` L | join kind=leftanti R on k`, "k:long lv:string\n3 | d"},
		{"rightsemi", l + r + ` L | join kind=rightsemi R on k | order by rv asc`, "k:long rv:string\n1 | x\n2 | y\n2 | z"},
		{"rightanti", l + r + ` L | join kind=rightanti R on k`, "k:long rv:string\n4 | w"},
		{"left right", l + r + ` L | join kind=inner (R | project kk = k, rv) on $left.k == $right.kk | where lv == "a"`,
			"k:long lv:string kk:long rv:string\n1 | a | 1 | x"},
		{"lookup", l + r + ` L | lookup R on k | order by lv asc`, "k:long lv:string rv:string\n1 | a | x\n1 | b | x\n2 | c | y\n2 | c | z\n3 | d | "},
	})
	semErr(t, l+r+" L | join R on nope", 1, len(l+r)+15, "the left side has no column 'nope'")
	semErr(t, l+r+" L | join kind=sideways R on k", 1, len(l+r)+5, "unknown join kind 'sideways'")
	semErr(t, l+r+" L | join (R | project k = tostring(k)) on k", 1, len(l+r)+43, "of different types")
}

func TestInSubqueryAndHasAny(t *testing.T) {
	runGolden(t, []goldenCase{
		{"in subquery", `let bad = datatable(u: string)["a", "c"]; datatable(u: string)["a", "b", "c"] | where u in (bad | project u)`, "u:string\na\nc"},
		{"in let table", `let bad = datatable(u: string)["a"]; datatable(u: string)["a", "b"] | where u !in (bad)`, "u:string\nb"},
		{"in~ subquery", `datatable(u: string)["A", "b"] | where u in~ (print "a")`, "u:string\nA"},
		{"has_any", `datatable(s: string)["error in db", "all fine", "warn: x"] | where s has_any ("error", "warn")`, "s:string\nerror in db\nwarn: x"},
		{"has_all", `datatable(s: string)["a b c", "a c"] | where s has_all ("a", "b")`, "s:string\na b c"},
		{"has_any dynamic", `let w = dynamic(["fine"]); datatable(s: string)["all fine", "x"] | where s has_any (w)`, "s:string\nall fine"},
		{"matches regex", `datatable(s: string)["a12", "b"] | where s matches regex @"^[a-z]\d+$"`, "s:string\na12"},
		{"hasprefix", `datatable(s: string)["foo bar", "xfoo"] | where s hasprefix "fo"`, "s:string\nfoo bar"},
	})
}

func TestAggregatesMore(t *testing.T) {
	const d = `datatable(g: string, x: long, s: string, t: long)["a", 1, "p", 10, "a", 3, "q", 30, "a", 3, "p", 20, "b", 5, "r", 50, "b", long(null), "r", 60]`
	runGolden(t, []goldenCase{
		{"arg_max star", d + ` | summarize arg_max(t, *) by g | order by g asc`, "g:string t:long x:long s:string\na | 30 | 3 | q\nb | 60 | null | r"},
		{"arg_min list", d + ` | summarize arg_min(t, s) by g | order by g asc`, "g:string t:long s:string\na | 10 | p\nb | 50 | r"},
		{"ifs", d + ` | summarize sumif(x, s == "p"), avgif(x, g == "a"), minif(x, t > 10), maxif(t, x < 5), dcountif(s, g == "a"), countif(x > 2)`,
			"sumif_x:long avgif_x:real minif_x:long maxif_t:long dcountif_s:long countif_:long\n4 | 2.3333333333333335 | 3 | 30 | 2 | 3"},
		{"sets", d + ` | summarize make_set(s), make_list(x), take_any(g) by g | order by g asc`,
			"g:string set_s:dynamic list_x:dynamic any_g:string\na | [\"p\",\"q\"] | [1,3,3] | a\nb | [\"r\"] | [5] | b"},
		{"make_set limit", d + ` | summarize make_set(t, 2)`, "set_t:dynamic\n[10,30]"},
		{"make_bag", `datatable(d: dynamic)[dynamic({"a": 1}), dynamic({"b": 2})] | summarize make_bag(d)`, "bag_d:dynamic\n{\"a\":1,\"b\":2}"},
		{"percentile", `range i from 1 to 100 step 1 | summarize percentile(i, 50), percentiles(i, 90, 99)`,
			"percentile_i_50:long percentile_i_90:long percentile_i_99:long\n50 | 90 | 99"},
		{"stdev", `datatable(x: real)[2, 4, 4, 4, 5, 5, 7, 9] | summarize stdevp(x), variancep(x), stdev(x)`,
			"stdevp_x:real variancep_x:real stdev_x:real\n2 | 4 | 2.138089935299395"},
		{"count(x)", d + ` | summarize count(x)`, "count_x:long\n4"},
		{"expression", d + ` | summarize r = round(avg(x), 1), pct = 100 * countif(g == "a") / count()`, "r:real pct:long\n3 | 60"},
		{"expression by", d + ` | summarize n = count() * 2 by g | order by g asc`, "g:string n:long\na | 6\nb | 4"},
	})
	semErr(t, "print a = 1 | summarize sumif(a, 1)", 1, 24, "expects a bool predicate")
	semErr(t, "print a = 1 | summarize x = a + 1", 1, 28, "expected an aggregate function call")
	semErr(t, "print a = 1 | extend m = make_set(a)", 1, 25, "aggregate function and is only allowed in summarize")
}
