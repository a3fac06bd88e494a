package tables

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"fmt"
	"slices"
	"sync"
)

//go:generate go run ./gen -git $KUSTODIAN_DOCS_GIT -o standard.tsv.gz

// Table is the schema of a standard table.
type Table struct {
	// Name is the table's name, exactly as Kusto spells it.
	Name string
	// Columns are the table's columns in the order the reference lists them.
	Columns []Column
	// TimeColumn names the table's datetime column that the Query API's
	// timespan applies to: TimeGenerated, or timestamp for the classic
	// Application Insights tables.
	TimeColumn string
	// Categories and Solutions are the reference's grouping of the table
	// (for example "Virtual Machines" and "LogManagement"); either may be
	// empty.
	Categories []string
	Solutions  []string
}

// Column is a column of a standard table.
type Column struct {
	Name string
	// Type is the Query API's name of the column's type: bool, datetime,
	// dynamic, guid, int, long, real, string or timespan.
	Type string
}

// Column returns the named column (exact, case-sensitive match).
func (t Table) Column(name string) (Column, bool) {
	for _, c := range t.Columns {
		if c.Name == name {
			return c, true
		}
	}
	return Column{}, false
}

func (t Table) clone() Table {
	t.Columns = slices.Clone(t.Columns)
	t.Categories = slices.Clone(t.Categories)
	t.Solutions = slices.Clone(t.Solutions)
	return t
}

//go:embed standard.tsv.gz
var standardData []byte

var standard = sync.OnceValues(func() ([]Table, error) {
	zr, err := gzip.NewReader(bytes.NewReader(standardData))
	if err != nil {
		return nil, fmt.Errorf("tables: embedded data: %w", err)
	}
	ts, err := Decode(zr)
	if err != nil {
		return nil, fmt.Errorf("tables: embedded data: %w", err)
	}
	return ts, nil
})

var byName = sync.OnceValue(func() map[string]int {
	ts := mustStandard()
	m := make(map[string]int, len(ts))
	for i, t := range ts {
		m[t.Name] = i
	}
	return m
})

func mustStandard() []Table {
	ts, err := standard()
	if err != nil {
		// The data is generated, validated and embedded at build time; a
		// failure here is a broken build, caught by the package's tests.
		panic(err)
	}
	return ts
}

// Standard returns every standard table, sorted by name.
func Standard() []Table {
	ts := mustStandard()
	out := make([]Table, len(ts))
	for i, t := range ts {
		out[i] = t.clone()
	}
	return out
}

// Lookup returns the standard table with exactly this name. Kusto table
// names are case-sensitive: "heartbeat" is not Heartbeat.
func Lookup(name string) (Table, bool) {
	i, ok := byName()[name]
	if !ok {
		return Table{}, false
	}
	return mustStandard()[i].clone(), true
}
