package kql

// getschema: the input's columns as rows (ColumnName, ColumnOrdinal,
// DataType, ColumnType), whatever rows the input has.

// getSchemaStage is a compiled getschema.
type getSchemaStage struct{ in []column }

var getSchemaOut = []column{{"ColumnName", TypeString}, {"ColumnOrdinal", TypeInt}, {"DataType", TypeString}, {"ColumnType", TypeString}}

// clrTypes are the .NET type names of DataType.
var clrTypes = map[Type]string{
	TypeBool: "System.SByte", TypeDatetime: "System.DateTime", TypeDynamic: "System.Object", TypeGUID: "System.Guid",
	TypeInt: "System.Int32", TypeLong: "System.Int64", TypeReal: "System.Double", TypeString: "System.String",
	TypeTimespan: "System.TimeSpan",
}

func (c *compiler) getSchema(op *GetSchemaOp) (stage, error) {
	return &getSchemaStage{in: c.scope}, nil
}

func (s *getSchemaStage) output(in []column) []column { return getSchemaOut }

func (s *getSchemaStage) need(in []column, out []bool) []bool { return make([]bool, len(in)) }

func (s *getSchemaStage) operator(next operator) operator { return &getSchemaOp{s: s, next: next} }

type getSchemaOp struct {
	s    *getSchemaStage
	next operator
}

func (o *getSchemaOp) push(a *arena, c *chunk) (bool, error) { return false, nil }

func (o *getSchemaOp) finish(a *arena) error {
	n := len(o.s.in)
	if n > 0 {
		cols := make([]*Vector, 4)
		for k, col := range getSchemaOut {
			cols[k] = a.vec(col.t, n)
		}
		for i, col := range o.s.in {
			cols[0].Str[i] = col.name
			cols[1].Int[i] = int64(i)
			cols[2].Str[i] = clrTypes[col.t]
			cols[3].Str[i] = col.t.String()
		}
		if _, err := o.next.push(a, &chunk{n: n, cols: cols}); err != nil {
			return err
		}
	}
	return o.next.finish(a)
}
