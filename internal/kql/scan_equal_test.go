package kql

import (
	"slices"
	"testing"
)

// TestScanEqualHints: string equalities of the leading where clauses reach
// the source as ScanRequest.Equal; nothing else does.
func TestScanEqualHints(t *testing.T) {
	tbl := newMemTable(genRows(10), 4)
	tests := []struct {
		query string
		want  []Equality
	}{
		{"AppLogs_CL | where Level_s == 'error' | count", []Equality{{"Level_s", "error"}}},
		{"AppLogs_CL | where Level_s == 'error' and Host_s == 'h1' | take 1", []Equality{{"Level_s", "error"}, {"Host_s", "h1"}}},
		{"AppLogs_CL | where TimeGenerated > ago(1h) | where 'x' == Host_s | count", []Equality{{"Host_s", "x"}}},
		{"AppLogs_CL | where Level_s == 'a' | where Level_s == 'a'", []Equality{{"Level_s", "a"}}},
		{"AppLogs_CL | where Level_s =~ 'error' | count", nil},
		{"AppLogs_CL | where Level_s != 'error' | count", nil},
		{"AppLogs_CL | where Level_s == 'error' or Host_s == 'h1' | count", nil},
		{"AppLogs_CL | where not(Level_s == 'error') | count", nil},
		{"AppLogs_CL | take 5 | where Level_s == 'error'", nil},
		{"AppLogs_CL | extend Level_s = 'x' | where Level_s == 'x'", nil},
		{"AppLogs_CL | where Duration_d == 1 | count", nil},
	}
	for _, tt := range tests {
		p, err := compileQuery(t, tbl, tt.query, Options{Now: testBase})
		if err != nil {
			t.Errorf("Compile(%q): %v", tt.query, err)
			continue
		}
		if got := p.Scan().Equal; !slices.Equal(got, tt.want) {
			t.Errorf("%q: Equal = %v, want %v", tt.query, got, tt.want)
		}
	}
}
