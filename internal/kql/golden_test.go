package kql

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the outputs of testdata/golden/*.txt (for format only: check every value against Kusto's documentation)")

// TestGolden runs the self-contained queries of testdata/golden, one file
// per category of the language, and compares their results with the
// outputs recorded there. A case is comment lines (#, saying where Kusto
// documents the expected value), the query, a line "----" and the expected
// result as renderResult prints it (or "error: " and the error); cases are
// separated by blank lines.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/golden/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txt"), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			blocks := strings.Split(strings.TrimSpace(string(data)), "\n\n")
			changed := false
			for bi, b := range blocks {
				var comments, query []string
				lines := strings.Split(b, "\n")
				sep := -1
				for i, l := range lines {
					if l == "----" {
						sep = i
						break
					}
					if strings.HasPrefix(l, "#") && len(query) == 0 {
						comments = append(comments, l)
					} else {
						query = append(query, l)
					}
				}
				if len(query) == 0 {
					continue
				}
				q := strings.Join(query, "\n")
				var want string
				if sep >= 0 {
					want = strings.Join(lines[sep+1:], "\n")
				}
				got := goldenRun(q)
				if got != want {
					if *update {
						blocks[bi] = strings.Join(append(append(comments, query...), "----", got), "\n")
						changed = true
						continue
					}
					t.Errorf("%s:\n%s\n--- got:\n%s\n--- want:\n%s", file, q, got, want)
				}
			}
			if changed {
				if err := os.WriteFile(file, []byte(strings.Join(blocks, "\n\n")+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// goldenRun runs a self-contained query and renders its result or error.
func goldenRun(query string) string {
	q, err := Parse(query)
	if err != nil {
		return "error: " + err.Error()
	}
	p, err := Compile(context.Background(), q, noTables{}, Options{})
	if err != nil {
		return "error: " + err.Error()
	}
	res, err := p.Run(context.Background(), noTables{})
	if err != nil {
		return "error: " + err.Error()
	}
	return renderResult(res)
}
