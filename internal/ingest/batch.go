package ingest

import "fmt"

// Column types, as the Query API names them.
const (
	TypeString   = "string"
	TypeReal     = "real"
	TypeBool     = "bool"
	TypeDatetime = "datetime"
	TypeGUID     = "guid"
	// TypeInt and TypeDynamic are not produced by the Data Collector API;
	// other front doors (Application Insights track) type standard-table
	// columns with them. A dynamic value is its JSON text in Strings.
	TypeInt     = "int"
	TypeDynamic = "dynamic"
)

// suffix returns the column-name suffix Azure appends for a type.
func suffix(typ string) string {
	switch typ {
	case TypeReal:
		return "_d"
	case TypeBool:
		return "_b"
	case TypeDatetime:
		return "_t"
	case TypeGUID:
		return "_g"
	default:
		return "_s"
	}
}

// Column is one typed column of a batch. Exactly one value slice is used,
// by Type; Valid marks non-null rows.
type Column struct {
	Name    string
	Type    string
	Strings []string  // string, guid, dynamic (JSON text)
	Ints    []int64   // int
	Reals   []float64 // real
	Bools   []bool    // bool
	Times   []int64   // datetime, ticks (package datetime)
	Valid   []bool
}

// Batch is a set of rows for one table of one workspace, columnar. The
// standard columns TimeGenerated (ticks, see package datetime; already
// resolved by ResolveTimeGenerated), and the constant TenantId (the
// workspace id), Type (the table) and SourceSystem ("RestAPI") are
// implied.
type Batch struct {
	CustomerID    string
	Table         string
	Rows          int
	TimeGenerated []int64
	Columns       []*Column
	index         map[string]*Column
	// rowsHint, if set, is the number of rows the batch will get: columns
	// are allocated for that many at once.
	rowsHint int
}

// NewBatch returns an empty batch.
func NewBatch(customerID, table string) *Batch {
	return &Batch{CustomerID: customerID, Table: table, index: map[string]*Column{}}
}

// column returns the named column, creating it (null for earlier rows).
func (b *Batch) column(name, typ string) *Column {
	if c := b.index[name]; c != nil {
		return c
	}
	n := max(b.Rows, b.rowsHint)
	c := &Column{Name: name, Type: typ, Valid: make([]bool, b.Rows, n)}
	switch typ {
	case TypeReal:
		c.Reals = make([]float64, b.Rows, n)
	case TypeBool:
		c.Bools = make([]bool, b.Rows, n)
	case TypeDatetime:
		c.Times = make([]int64, b.Rows, n)
	default:
		c.Strings = make([]string, b.Rows, n)
	}
	b.index[name] = c
	b.Columns = append(b.Columns, c)
	return c
}

// value is one typed field value of a row being added.
type value struct {
	name string // column name with suffix
	typ  string
	s    string
	f    float64
	b    bool
	t    int64 // ticks
}

// addRow appends a row: its TimeGenerated (ticks) and values (at most one
// per column). Columns the row lacks get a null.
func (b *Batch) addRow(tg int64, vals []value) error {
	if len(vals) <= 32 {
		for i := range vals {
			for j := range i {
				if vals[j].name == vals[i].name {
					return fmt.Errorf("two fields map to the column %s", truncate(vals[i].name))
				}
			}
		}
	} else {
		seen := make(map[string]bool, len(vals))
		for _, v := range vals {
			if seen[v.name] {
				return fmt.Errorf("two fields map to the column %s", truncate(v.name))
			}
			seen[v.name] = true
		}
	}
	b.TimeGenerated = append(b.TimeGenerated, tg)
	for _, v := range vals {
		c := b.column(v.name, v.typ)
		switch v.typ {
		case TypeReal:
			c.Reals = append(c.Reals, v.f)
		case TypeBool:
			c.Bools = append(c.Bools, v.b)
		case TypeDatetime:
			c.Times = append(c.Times, v.t)
		default:
			c.Strings = append(c.Strings, v.s)
		}
		c.Valid = append(c.Valid, true)
	}
	b.Rows++
	for _, c := range b.Columns {
		if len(c.Valid) < b.Rows {
			c.Valid = append(c.Valid, false)
			switch c.Type {
			case TypeReal:
				c.Reals = append(c.Reals, 0)
			case TypeBool:
				c.Bools = append(c.Bools, false)
			case TypeDatetime:
				c.Times = append(c.Times, 0)
			default:
				c.Strings = append(c.Strings, "")
			}
		}
	}
	return nil
}
