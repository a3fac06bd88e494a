package server

import (
	"github.com/kustodian/kustodian/internal/ingest"
	"github.com/kustodian/kustodian/internal/kql"
	"github.com/kustodian/kustodian/internal/store"
)

// Standard columns every table has besides TimeGenerated; they are the same
// for every row of a table, so they are not stored but produced at query
// time.
const (
	colTenantID     = "TenantId"
	colType         = "Type"
	colSourceSystem = "SourceSystem"
	sourceSystem    = "RestAPI"
)

// storeType maps an ingestion column type to the stored type.
func storeType(t string) store.ColumnType {
	switch t {
	case ingest.TypeReal:
		return store.TypeReal
	case ingest.TypeBool:
		return store.TypeBool
	case ingest.TypeDatetime:
		return store.TypeDateTime
	case ingest.TypeGUID:
		return store.TypeGUID
	default:
		return store.TypeString
	}
}

// kqlType maps a stored type to the query engine's.
func kqlType(t store.ColumnType) kql.Type {
	switch t {
	case store.TypeLong:
		return kql.TypeLong
	case store.TypeInt:
		return kql.TypeInt
	case store.TypeReal:
		return kql.TypeReal
	case store.TypeBool:
		return kql.TypeBool
	case store.TypeDateTime:
		return kql.TypeDatetime
	case store.TypeTimeSpan:
		return kql.TypeTimespan
	case store.TypeGUID:
		return kql.TypeGUID
	case store.TypeDynamic:
		return kql.TypeDynamic
	default:
		return kql.TypeString
	}
}

// toRows converts an ingested batch to the store's rows, in chunks of at
// most chunk rows (the store refuses more than store.MaxBlockRows rows in
// one Rows). The chunks share the batch's memory; appended in one
// Engine.Append they are one WAL record, stored all or none. Datetimes are
// ticks on both sides (package datetime) and pass through unchanged.
func toRows(b *ingest.Batch, chunk int) []store.Rows {
	nulls := make([][]bool, len(b.Columns))
	for j, c := range b.Columns {
		nulls[j] = make([]bool, len(c.Valid))
		for i, v := range c.Valid {
			nulls[j][i] = !v
		}
	}
	var out []store.Rows
	for lo := 0; lo < b.Rows; lo += chunk {
		hi := min(lo+chunk, b.Rows)
		cols := make([]store.Column, 0, len(b.Columns))
		for j, c := range b.Columns {
			sc := store.Column{Name: c.Name, Type: storeType(c.Type), Nulls: nulls[j][lo:hi:hi]}
			switch c.Type {
			case ingest.TypeReal:
				sc.Floats = c.Reals[lo:hi:hi]
			case ingest.TypeBool:
				sc.Bools = c.Bools[lo:hi:hi]
			case ingest.TypeDatetime:
				sc.Ints = c.Times[lo:hi:hi]
			default:
				sc.Strings = c.Strings[lo:hi:hi]
			}
			cols = append(cols, sc)
		}
		out = append(out, store.Rows{Workspace: b.CustomerID, Table: b.Table, TimeGenerated: b.TimeGenerated[lo:hi:hi], Columns: cols})
	}
	return out
}

// toBatch converts a stored block to the query engine's batch, adding the
// standard constant columns asked for. Datetime and timespan values are
// ticks in the store and in kql.Vector alike and pass through unchanged.
func toBatch(blk *store.Block, workspace, table string, want map[string]bool) *kql.Batch {
	out := &kql.Batch{Len: blk.Rows, Columns: make(map[string]kql.Vector, len(blk.Columns)+3)}
	for i := range blk.Columns {
		c := &blk.Columns[i]
		v := kql.Vector{Type: kqlType(c.Type), Int: c.Ints, Real: c.Floats, Bool: c.Bools, Str: c.Strings}
		for j, null := range c.Nulls {
			if null {
				if v.Nulls == nil {
					v.Nulls = kql.NewBitmap(blk.Rows)
				}
				v.Nulls.Set(j)
			}
		}
		out.Columns[c.Name] = v
	}
	for name, val := range map[string]string{colTenantID: workspace, colType: table, colSourceSystem: sourceSystem} {
		if !want[name] {
			continue
		}
		v := kql.NewVector(kql.TypeString, blk.Rows)
		for j := range v.Str {
			v.Str[j] = val
		}
		out.Columns[name] = v
	}
	return out
}
