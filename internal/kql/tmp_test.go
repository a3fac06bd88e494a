package kql

import "testing"

func TestTmp(t *testing.T) {
	for _, q := range []string{
		"print a = 1 | extend b = a + 1, c = b * 2",
		"print a = 1 | project b = a + 1, c = b * 2",
		"print x = case(true, dynamic('a'), 'b')",
		"datatable(a: long)[1, 2] | getschema",
	} {
		t.Log(q, "\n", goldenRun(q))
	}
}
