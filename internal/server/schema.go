package server

import (
	"fmt"
	"strings"

	"github.com/kustodian/kustodian/internal/kql"
	"github.com/kustodian/kustodian/internal/monitor"
	"github.com/kustodian/kustodian/internal/store"
	"github.com/kustodian/kustodian/internal/tables"
)

// workspaceSchema is the query schema of a workspace's table: its stored
// columns (nil when the workspace has no data in it) and, for one of Azure's
// standard tables, the standard schema. A workspace has every standard table
// from the start, as in Azure: with no data the table answers with no rows
// rather than an error. With data, the stored columns the standard schema
// lacks are columns of the table like any other; a column in both keeps the
// standard type (ingestion types rows against the standard schema; a stored
// block of another type fails the query in the executor rather than
// answering wrongly). TenantId and Type, which every table has and the
// server produces at query time, are added where the reference leaves them
// out.
//
// Only workspace tables count: the classic Application Insights tables
// (requests, traces, ...) belong to an Application Insights component's
// query API, not a workspace's.
//
// declared are the columns the tables API declares for the table (a custom
// table created through it, or a standard table's _CF columns): such a
// table exists, with those columns, before any data arrives, and a declared
// column's type wins over a stored one's.
func workspaceSchema(name string, stored []store.ColumnSchema, declared []monitor.TableColumn) (*kql.Schema, error) {
	std, ok := tables.Lookup(name)
	if ok && std.TimeColumn != store.TimeColumn {
		ok = false
	}
	if !ok && stored == nil && declared == nil {
		return nil, kql.ErrTableNotFound
	}
	sch := &kql.Schema{Name: name}
	has := map[string]bool{}
	add := func(col string, t kql.Type) {
		if !has[col] {
			has[col] = true
			sch.Columns = append(sch.Columns, kql.ColumnDef{Name: col, Type: t})
		}
	}
	if !ok {
		add(store.TimeColumn, kql.TypeDatetime)
	}
	for _, c := range std.Columns {
		t, valid := kql.ParseType(c.Type)
		if !valid {
			return nil, fmt.Errorf("standard table %s: column %s: unknown type %q", name, c.Name, c.Type)
		}
		add(c.Name, t)
	}
	for _, c := range declared {
		t, valid := kql.ParseType(strings.ToLower(c.Type))
		if !valid {
			return nil, fmt.Errorf("table %s: declared column %s: unknown type %q", name, c.Name, c.Type)
		}
		add(c.Name, t)
	}
	for _, c := range stored {
		add(c.Name, kqlType(c.Type))
	}
	add(colTenantID, kql.TypeString)
	add(colType, kql.TypeString)
	if !ok {
		add(colSourceSystem, kql.TypeString)
	}
	return sch, nil
}
