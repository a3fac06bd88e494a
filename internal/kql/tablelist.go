package kql

import (
	"context"
	"slices"
	"strings"
)

// Table name wildcards: union * and union Sec*, Device* read every table
// of the catalog whose name matches (in the order of their names). They
// need a Catalog that lists its tables (TableLister); with another, a
// wildcard is a SemanticError.

// TableLister is implemented by a Catalog that can list its tables.
type TableLister interface {
	// TableNames returns the names of the catalog's tables.
	TableNames(ctx context.Context) ([]string, error)
}

// maxWildcardTables bounds the tables one wildcard may expand to.
const maxWildcardTables = 1000

// expandWildcards replaces the union legs that name tables by a wildcard
// with a leg per matching table.
func (env *letEnv) expandWildcards(legs []*Query) ([]*Query, error) {
	var out []*Query
	for i, leg := range legs {
		name := ""
		if leg.Input == nil && leg.Source != nil {
			name = leg.Source.Name
		}
		if !strings.Contains(name, "*") || env.lookup(name) != nil {
			if out != nil {
				out = append(out, leg)
			}
			continue
		}
		if out == nil {
			out = append(out, legs[:i]...)
		}
		lister, ok := env.b.cat.(TableLister)
		if !ok {
			return nil, semanticErr(leg.Source.At, "table name wildcards ('%s') are not supported by this catalog", name)
		}
		names, err := lister.TableNames(env.b.ctx)
		if err != nil {
			return nil, err
		}
		slices.Sort(names)
		n := 0
		for _, t := range names {
			if !matchColumn(name, t) {
				continue
			}
			if n++; n > maxWildcardTables {
				return nil, semanticErr(leg.Source.At, "the wildcard '%s' matches more than %d tables", name, maxWildcardTables)
			}
			out = append(out, &Query{Source: &TableRef{Name: t, At: leg.Source.At}, Operators: leg.Operators})
		}
	}
	if out == nil {
		return legs, nil
	}
	return out, nil
}
