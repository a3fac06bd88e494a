package kql_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/kustodian/kustodian/internal/kql"
	"github.com/kustodian/kustodian/internal/tables"
)

// The corpus ratchet: the share of the corpus's queries (in percent) that
// parse, that compile against the standard tables, and that run on empty
// tables. Measured values, rounded down to a tenth of a percent; raise them
// when the language grows, never lower them.
const (
	corpusParseFloor   = 98.4
	corpusCompileFloor = 78.1
	corpusRunFloor     = 77.8
)

// corpusDir holds the corpora (testdata/corpus/README.md says what is there).
const corpusDir = "testdata/corpus"

// TestCorpus parses, compiles and runs every query of the corpus and fails
// if a rate drops below its floor. With -v it lists the most frequent
// failure reasons:
//
//	go test ./internal/kql -run TestCorpus -v
func TestCorpus(t *testing.T) {
	queries, err := loadCorpus(corpusDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(queries) == 0 {
		t.Fatalf("no queries under %s", corpusDir)
	}
	cat := standardCatalog{}
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	failures := map[string]*failure{}
	fail := func(q corpusQuery, stage string, err error) {
		pattern, details := errorPattern(err)
		if prevWord(q.text, err) == "let" {
			// The names of let statements are many and say nothing: the
			// statement is what fails.
			details = "after 'let'"
		}
		key := stage + ": " + pattern
		f := failures[key]
		if f == nil {
			f = &failure{key: key, details: map[string]int{}}
			failures[key] = f
		}
		f.count++
		if details != "" {
			f.details[details]++
		}
		if len(f.examples) < 2 {
			f.examples = append(f.examples, example(q, err))
		}
	}
	var parsed, compiled, ran int
	for _, q := range queries {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		stage, err := runQuery(ctx, q.text, cat, now, &parsed, &compiled, &ran)
		cancel()
		if err == nil {
			continue
		}
		var p *panicError
		if errors.As(err, &p) {
			t.Errorf("%s: %s panicked: %v", q.name, stage, p.value)
		}
		fail(q, stage, err)
	}

	n := float64(len(queries))
	rate := func(k int) float64 { return 100 * float64(k) / n }
	t.Logf("corpus: %d queries; parse %d (%.1f%%), compile %d (%.1f%%), run %d (%.1f%%)",
		len(queries), parsed, rate(parsed), compiled, rate(compiled), ran, rate(ran))
	if testing.Verbose() {
		t.Log(failureReport(failures, len(queries)-ran))
	}
	for _, r := range []struct {
		stage string
		got   float64
		floor float64
	}{{"parse", rate(parsed), corpusParseFloor}, {"compile", rate(compiled), corpusCompileFloor}, {"run", rate(ran), corpusRunFloor}} {
		if r.got < r.floor {
			t.Errorf("%s rate %.1f%% is below its floor %.1f%%", r.stage, r.got, r.floor)
		}
	}
}

// corpusQuery is one query of the corpus and where it came from.
type corpusQuery struct {
	name string // file path relative to the corpus, with #N for the Nth query of a file
	text string
}

// loadCorpus reads every query under dir: .kql files whole, the query field
// of .yaml/.yml files, the kusto/kql fenced blocks of .md files.
func loadCorpus(dir string) ([]corpusQuery, error) {
	var out []corpusQuery
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		var texts []string
		switch strings.ToLower(filepath.Ext(path)) {
		case ".kql", ".csl", ".kusto":
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			texts = splitQueries(string(b))
		case ".yaml", ".yml":
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if q := yamlQuery(string(b)); q != "" {
				texts = []string{q}
			}
		case ".md":
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			texts = markdownQueries(string(b))
		default:
			return nil
		}
		rel, _ := filepath.Rel(dir, path)
		for i, text := range texts {
			text = strings.TrimPrefix(text, "\ufeff")
			text = strings.ReplaceAll(text, "\r\n", "\n")
			if strings.TrimSpace(text) == "" {
				continue
			}
			name := filepath.ToSlash(rel)
			if len(texts) > 1 {
				name = fmt.Sprintf("%s#%d", name, i+1)
			}
			out = append(out, corpusQuery{name: name, text: text})
		}
		return nil
	})
	return out, err
}

// splitQueries splits a query file the way the Log Analytics editor reads
// one: queries are separated by blank lines. A file often holds the same
// query twice, for Sentinel and for Advanced Hunting, one after the other. A
// block of lines continues the query before it when it starts with '|', or
// when the query so far ends in ';' or ',' or has a bracket open; blocks of
// comments stay with the query they sit in or before.
func splitQueries(text string) []string {
	text = strings.ReplaceAll(strings.TrimPrefix(text, "\ufeff"), "\r\n", "\n")
	var out []string
	var cur []string // lines of the current query
	var last string  // its last line of code
	depth := 0       // its open brackets
	flush := func() {
		if last != "" {
			out = append(out, strings.Join(cur, "\n"))
		}
		cur, last, depth = nil, "", 0
	}
	var block []string
	endBlock := func() {
		first := ""
		for _, l := range block {
			if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "//") {
				first = t
				break
			}
		}
		if first != "" && last != "" && !strings.HasPrefix(first, "|") && depth <= 0 &&
			!strings.HasSuffix(last, ";") && !strings.HasSuffix(last, ",") {
			flush()
		}
		for _, l := range block {
			code, _, _ := strings.Cut(l, "//")
			if t := strings.TrimSpace(code); t != "" {
				last = t
				depth += strings.Count(code, "(") + strings.Count(code, "[") + strings.Count(code, "{") -
					strings.Count(code, ")") - strings.Count(code, "]") - strings.Count(code, "}")
			}
		}
		cur = append(cur, block...)
		block = nil
	}
	for _, l := range strings.Split(text, "\n") {
		if strings.TrimSpace(l) == "" {
			if block != nil {
				endBlock()
			}
			cur = append(cur, l)
			continue
		}
		block = append(block, l)
	}
	if block != nil {
		endBlock()
	}
	flush()
	return out
}

// yamlQuery returns the query field of a detection or hunting rule in YAML:
// a block scalar (query: | or query: >, indented lines) or a one-line value.
func yamlQuery(doc string) string {
	sc := bufio.NewScanner(strings.NewReader(doc))
	sc.Buffer(nil, 1<<20)
	var lines []string
	in, indent := false, -1
	for sc.Scan() {
		l := sc.Text()
		if !in {
			rest, ok := strings.CutPrefix(l, "query:")
			if !ok {
				continue
			}
			rest = strings.TrimSpace(rest)
			if rest != "" && !strings.HasPrefix(rest, "|") && !strings.HasPrefix(rest, ">") {
				return strings.Trim(rest, `'"`)
			}
			in = true
			continue
		}
		trimmed := strings.TrimLeft(l, " \t")
		if trimmed == "" {
			lines = append(lines, "")
			continue
		}
		w := len(l) - len(trimmed)
		if indent < 0 {
			indent = w
		}
		if w < indent || w == 0 {
			break
		}
		lines = append(lines, l[indent:])
	}
	return strings.Join(lines, "\n")
}

// markdownQueries returns the fenced kusto/kql blocks of a Markdown page.
func markdownQueries(doc string) []string {
	var out []string
	var cur []string
	in := false
	for _, l := range strings.Split(doc, "\n") {
		t := strings.TrimSpace(l)
		switch {
		case !in && strings.HasPrefix(t, "```"):
			lang := strings.ToLower(strings.TrimSpace(strings.TrimPrefix(t, "```")))
			if lang == "kusto" || lang == "kql" {
				in, cur = true, nil
			}
		case in && strings.HasPrefix(t, "```"):
			out = append(out, strings.Join(cur, "\n"))
			in = false
		case in:
			cur = append(cur, l)
		}
	}
	return out
}

// panicError is a panic in the parser, compiler or executor, caught so the
// runner can report it with the others.
type panicError struct{ value any }

func (p *panicError) Error() string { return fmt.Sprintf("panic: %v", p.value) }

// runQuery takes one query as far as it goes and returns the stage that
// failed with its error, counting the stages passed.
func runQuery(ctx context.Context, text string, cat kql.Catalog, now time.Time, parsed, compiled, ran *int) (stage string, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &panicError{value: v}
		}
	}()
	stage = "parse"
	q, err := kql.Parse(text)
	if err != nil {
		return stage, err
	}
	*parsed++
	stage = "compile"
	plan, err := kql.Compile(ctx, q, cat, kql.Options{Now: now})
	if err != nil {
		return stage, err
	}
	*compiled++
	stage = "run"
	if _, err := plan.Run(ctx, emptySource{}); err != nil {
		return stage, err
	}
	*ran++
	return "", nil
}

// standardCatalog resolves the standard tables, with no data in them.
type standardCatalog struct{}

func (standardCatalog) Table(_ context.Context, name string) (*kql.Schema, error) {
	t, ok := tables.Lookup(name)
	if !ok {
		return nil, kql.ErrTableNotFound
	}
	s := &kql.Schema{Name: t.Name, Columns: make([]kql.ColumnDef, 0, len(t.Columns))}
	for _, c := range t.Columns {
		typ, ok := kql.ParseType(c.Type)
		if !ok {
			return nil, fmt.Errorf("table %s: column %s: type %q", t.Name, c.Name, c.Type)
		}
		s.Columns = append(s.Columns, kql.ColumnDef{Name: c.Name, Type: typ})
	}
	return s, nil
}

// TableNames lists the standard tables, for union * and wildcards.
func (standardCatalog) TableNames(context.Context) ([]string, error) {
	var names []string
	for _, t := range tables.Standard() {
		names = append(names, t.Name)
	}
	return names, nil
}

// emptySource answers every scan with no rows.
type emptySource struct{}

func (emptySource) Scan(context.Context, kql.ScanRequest) (kql.BatchIterator, error) {
	return emptyIter{}, nil
}

type emptyIter struct{}

func (emptyIter) Next(context.Context) (*kql.Batch, error) { return nil, io.EOF }
func (emptyIter) Close() error                             { return nil }

// failure is a group of failures with one message pattern.
type failure struct {
	key      string
	count    int
	details  map[string]int // the quoted parts the pattern hides, and how often
	examples []string
}

// example names the query and, for an error with a position, quotes the
// line it points at.
func example(q corpusQuery, err error) string {
	var ke *kql.Error
	if !errors.As(err, &ke) {
		return q.name
	}
	lines := strings.Split(q.text, "\n")
	if ke.Line < 1 || ke.Line > len(lines) {
		return q.name
	}
	line := strings.TrimSpace(lines[ke.Line-1])
	if r := []rune(line); len(r) > 100 {
		line = string(r[:100]) + "…"
	}
	return fmt.Sprintf("%s:%d: %s", q.name, ke.Line, line)
}

var (
	quotedRE = regexp.MustCompile(`'[^']*'|"[^"]*"`)
	numberRE = regexp.MustCompile(`\b\d+\b`)
)

// errorPattern reduces an error to its message pattern: without position,
// with quoted parts as '…' and numbers as N. It also returns the quoted
// parts, which say which function, operator or token was involved.
func errorPattern(err error) (pattern, details string) {
	msg := err.Error()
	var ke *kql.Error
	if errors.As(err, &ke) {
		msg = ke.Message
	}
	var parts []string
	msg = quotedRE.ReplaceAllStringFunc(msg, func(s string) string {
		parts = append(parts, s)
		return "'…'"
	})
	msg = numberRE.ReplaceAllString(msg, "N")
	return msg, strings.Join(parts, " ")
}

var wordRE = regexp.MustCompile(`[A-Za-z_][A-Za-z0-9_]*|\S`)

// prevWord returns the token just before a syntax error's position, ignoring
// comments, or "" for another error.
func prevWord(text string, err error) string {
	var ke *kql.Error
	if !errors.As(err, &ke) || ke.Kind != kql.KindSyntax {
		return ""
	}
	lines := strings.Split(text, "\n")
	if ke.Line < 1 || ke.Line > len(lines) {
		return ""
	}
	cur := []rune(lines[ke.Line-1])
	if ke.Pos > len(cur) {
		return ""
	}
	before := append(append([]string(nil), lines[:ke.Line-1]...), string(cur[:ke.Pos]))
	for i := len(before) - 1; i >= 0; i-- {
		code, _, _ := strings.Cut(before[i], "//")
		if toks := wordRE.FindAllString(code, -1); len(toks) > 0 {
			return toks[len(toks)-1]
		}
	}
	return ""
}

// failureReport lists the 20 most frequent failure patterns with their
// most frequent specifics and an example query.
func failureReport(failures map[string]*failure, total int) string {
	list := make([]*failure, 0, len(failures))
	for _, f := range failures {
		list = append(list, f)
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].count != list[j].count {
			return list[i].count > list[j].count
		}
		return list[i].key < list[j].key
	})
	var b strings.Builder
	fmt.Fprintf(&b, "top failure reasons (%d queries failed, %d patterns):\n", total, len(list))
	for i, f := range list {
		if i == 20 {
			break
		}
		fmt.Fprintf(&b, "%4d  %s\n", f.count, f.key)
		if top := topDetails(f.details, 8); top != "" {
			fmt.Fprintf(&b, "        %s\n", top)
		}
		for _, e := range f.examples {
			fmt.Fprintf(&b, "        e.g. %s\n", e)
		}
	}
	return b.String()
}

func topDetails(m map[string]int, n int) string {
	type kv struct {
		k string
		v int
	}
	var list []kv
	for k, v := range m {
		list = append(list, kv{k, v})
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].v != list[j].v {
			return list[i].v > list[j].v
		}
		return list[i].k < list[j].k
	})
	var parts []string
	for i, e := range list {
		if i == n {
			parts = append(parts, fmt.Sprintf("… %d more", len(list)-n))
			break
		}
		parts = append(parts, fmt.Sprintf("%s ×%d", e.k, e.v))
	}
	return strings.Join(parts, ", ")
}

func TestCorpusExtraction(t *testing.T) {
	file := `// A description

// Microsoft Sentinel query
let threshold = 5;

SigninLogs
| where ResultType == "50126"

| summarize count() by UserPrincipalName
| where count_ > threshold

// Advanced Hunting query
AADSignInEventsBeta
| where Timestamp > ago(1d)
`
	got := splitQueries(file)
	if len(got) != 2 {
		t.Fatalf("splitQueries gave %d queries, want 2: %q", len(got), got)
	}
	if !strings.Contains(got[0], "let threshold") || !strings.Contains(got[0], "count_ > threshold") ||
		strings.Contains(got[0], "AADSignInEventsBeta") {
		t.Errorf("first query: %q", got[0])
	}
	if !strings.HasPrefix(strings.TrimSpace(got[1]), "// Advanced Hunting query\nAADSignInEventsBeta") {
		t.Errorf("second query: %q", got[1])
	}
	if got := splitQueries("T\n| where f(a,\n\nb)\n"); len(got) != 1 {
		t.Errorf("an open bracket did not continue the query: %q", got)
	}

	yaml := "id: 1\nquery: |\n  SecurityEvent\n  | where EventID == 4625\n\n  | count\nentityMappings:\n  - x\n"
	if got, want := yamlQuery(yaml), "SecurityEvent\n| where EventID == 4625\n\n| count"; strings.TrimSpace(got) != want {
		t.Errorf("yamlQuery = %q, want %q", got, want)
	}
	md := "# Title\n\n```kusto\nHeartbeat | take 1\n```\n\n```json\n{}\n```\n\n```kql\nPerf\n```\n"
	if got := markdownQueries(md); len(got) != 2 || got[0] != "Heartbeat | take 1" || got[1] != "Perf" {
		t.Errorf("markdownQueries = %q", got)
	}
}
