package tables

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// Types lists the column types a table may use, by their Query API names.
var Types = []string{"bool", "datetime", "dynamic", "guid", "int", "long", "real", "string", "timespan"}

func validType(t string) bool {
	for _, v := range Types {
		if t == v {
			return true
		}
	}
	return false
}

// identifier is what a table or column name of the reference looks like.
var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Validate checks the invariants the package promises of a table: a name
// that is an identifier, unique column names that are identifiers with
// known types, and a time column of type datetime.
func Validate(t Table) error {
	if !identifier.MatchString(t.Name) {
		return fmt.Errorf("table %q: not an identifier", t.Name)
	}
	seen := make(map[string]bool, len(t.Columns))
	for _, c := range t.Columns {
		switch {
		case !identifier.MatchString(c.Name):
			return fmt.Errorf("table %s: column %q: not an identifier", t.Name, c.Name)
		case seen[c.Name]:
			return fmt.Errorf("table %s: column %s: listed twice", t.Name, c.Name)
		case !validType(c.Type):
			return fmt.Errorf("table %s: column %s: unknown type %q", t.Name, c.Name, c.Type)
		}
		seen[c.Name] = true
	}
	tc, ok := t.Column(t.TimeColumn)
	if !ok {
		return fmt.Errorf("table %s: time column %q is not a column", t.Name, t.TimeColumn)
	}
	if tc.Type != "datetime" {
		return fmt.Errorf("table %s: time column %s has type %s, not datetime", t.Name, tc.Name, tc.Type)
	}
	return nil
}

// Encode writes tables in the package's text format (see the package
// documentation), after a header of comment lines. It validates every table
// and refuses a name used twice.
func Encode(w io.Writer, header []string, ts []Table) error {
	bw := bufio.NewWriter(w)
	for _, h := range header {
		fmt.Fprintf(bw, "# %s\n", h)
	}
	names := make(map[string]bool, len(ts))
	for _, t := range ts {
		if err := Validate(t); err != nil {
			return err
		}
		if names[t.Name] {
			return fmt.Errorf("table %s: defined twice", t.Name)
		}
		names[t.Name] = true
		for _, s := range append(append([]string(nil), t.Categories...), t.Solutions...) {
			if strings.ContainsAny(s, "\t\n;") {
				return fmt.Errorf("table %s: category or solution %q has a tab, newline or semicolon", t.Name, s)
			}
		}
		fmt.Fprintf(bw, "%s\t%s\t%s\t%s\n", t.Name, t.TimeColumn, strings.Join(t.Categories, ";"), strings.Join(t.Solutions, ";"))
		for _, c := range t.Columns {
			fmt.Fprintf(bw, "\t%s\t%s\n", c.Name, c.Type)
		}
	}
	return bw.Flush()
}

// Decode reads tables written by Encode and validates them.
func Decode(r io.Reader) ([]Table, error) {
	var ts []Table
	names := map[string]bool{}
	sc := bufio.NewScanner(r)
	line := 0
	finish := func() error {
		if len(ts) == 0 {
			return nil
		}
		t := ts[len(ts)-1]
		if err := Validate(t); err != nil {
			return fmt.Errorf("line %d: %w", line, err)
		}
		if names[t.Name] {
			return fmt.Errorf("line %d: table %s: defined twice", line, t.Name)
		}
		names[t.Name] = true
		return nil
	}
	for sc.Scan() {
		line++
		text := sc.Text()
		switch {
		case text == "" || strings.HasPrefix(text, "#"):
		case strings.HasPrefix(text, "\t"):
			f := strings.Split(text[1:], "\t")
			if len(f) != 2 {
				return nil, fmt.Errorf("line %d: a column line has %d fields, want 2", line, len(f))
			}
			if len(ts) == 0 {
				return nil, fmt.Errorf("line %d: a column before any table", line)
			}
			t := &ts[len(ts)-1]
			t.Columns = append(t.Columns, Column{Name: f[0], Type: f[1]})
		default:
			if err := finish(); err != nil {
				return nil, err
			}
			f := strings.Split(text, "\t")
			if len(f) != 4 {
				return nil, fmt.Errorf("line %d: a table line has %d fields, want 4", line, len(f))
			}
			ts = append(ts, Table{Name: f[0], TimeColumn: f[1], Categories: list(f[2]), Solutions: list(f[3])})
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if err := finish(); err != nil {
		return nil, err
	}
	return ts, nil
}

func list(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ";")
}
