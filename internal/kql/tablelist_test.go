package kql

import (
	"context"
	"fmt"
	"io"
	"testing"
)

// listing is a catalog of tables of one row each, named after the table,
// that lists its tables.
type listing []string

func (l listing) Table(ctx context.Context, name string) (*Schema, error) {
	for _, n := range l {
		if n == name {
			return &Schema{Name: name, Columns: []ColumnDef{{Name: "x", Type: TypeString}}}, nil
		}
	}
	return nil, fmt.Errorf("table %q: %w", name, ErrTableNotFound)
}

func (l listing) TableNames(context.Context) ([]string, error) { return l, nil }

func (l listing) Scan(ctx context.Context, req ScanRequest) (BatchIterator, error) {
	v := NewVector(TypeString, 1)
	v.Str[0] = req.Table
	return &oneBatch{b: &Batch{Len: 1, Columns: map[string]Vector{"x": v}}}, nil
}

type oneBatch struct{ b *Batch }

func (o *oneBatch) Next(context.Context) (*Batch, error) {
	if o.b == nil {
		return nil, io.EOF
	}
	b := o.b
	o.b = nil
	return b, nil
}

func (o *oneBatch) Close() error { return nil }

func TestUnionWildcards(t *testing.T) {
	cat := listing{"SecurityEvent", "Other", "SecurityAlert"}
	tests := []struct{ query, want string }{
		{"union withsource=T Sec* | sort by T asc", "T:string x:string\nSecurityAlert | SecurityAlert\nSecurityEvent | SecurityEvent"},
		{"union withsource=T * | count", "Count:long\n3"},
		{"union Other, Nope* | count", "Count:long\n1"},
		{"print a = 1 | union Sec* | count", "Count:long\n3"},
		{"search \"securityalert\" or \"*ther\" | project $table", "$table:string\nOther\nSecurityAlert"},
		{"search in (Other, SecurityEvent) * | summarize make_set($table)", "set_$table:dynamic\n[\"Other\",\"SecurityEvent\"]"},
	}
	for _, tt := range tests {
		q, err := Parse(tt.query)
		if err != nil {
			t.Fatalf("%s: %v", tt.query, err)
		}
		p, err := Compile(context.Background(), q, cat, Options{})
		if err != nil {
			t.Fatalf("%s: %v", tt.query, err)
		}
		res, err := p.Run(context.Background(), cat)
		if err != nil {
			t.Fatalf("%s: %v", tt.query, err)
		}
		if got := renderResult(res); got != tt.want {
			t.Errorf("%s:\n%s\nwant\n%s", tt.query, got, tt.want)
		}
	}
	// A catalog that does not list its tables refuses wildcards.
	if got := goldenRun("union Sec* | count"); got != "error: SemanticError: table name wildcards ('Sec*') are not supported by this catalog (line 1, pos 6)" {
		t.Errorf("without a lister: %s", got)
	}
}
