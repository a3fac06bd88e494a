package kql

import (
	"context"
	"slices"
	"strings"
)

// evaluate pivot() and evaluate bag_unpack(): plugins whose output
// columns depend on the data (the distinct values of a column, the keys
// of bags). They are supported in the query's outermost pipeline: Compile
// plans the query up to the plugin, and Run runs that part, computes the
// plugin's rows and schema, and only then compiles the operators after it
// against that schema (a mistake there is a SemanticError from Run).
// Before a run, Plan.Columns reports the columns before the plugin.
//
//	evaluate pivot(pivotColumn [, agg(x)] [, column, ...])
//	evaluate bag_unpack(column [, prefix])
//
// pivot groups by the columns given (by default, every column but the
// pivot column and the aggregate's) and makes a column per value of the
// pivot column, in the order of the values' text, holding the aggregate
// (count() by default; sum, min, max, avg, dcount; 0 for a count and null
// otherwise where a group lacks the value). bag_unpack replaces a column
// of property bags by a column per key (in the order of the keys' names),
// of the keys' common type or dynamic.

// lateTail is the part of a plan after a plugin of data-dependent schema.
type lateTail struct {
	op   *EvaluateOp
	rest []Operator
	env  *letEnv
}

// lateOp returns the index of the first pivot or bag_unpack of ops, or -1.
func lateOp(ops []Operator) int {
	for i, op := range ops {
		if e, ok := op.(*EvaluateOp); ok && (e.Name == "pivot" || e.Name == "bag_unpack") {
			return i
		}
	}
	return -1
}

// runLate runs a plan with a late tail into a result.
func (p *Plan) runLate(env *runEnv, b *budget) (*Result, error) {
	in := *p
	in.late = nil
	in.pre = nil
	sink := &tableSink{t: newTable(in.output), op: "evaluate " + p.late.op.Name}
	if err := in.runInto(env, sink); err != nil {
		return nil, err
	}
	if b.err != nil {
		return nil, b.err
	}
	var t *table
	var schema []column
	var err error
	switch p.late.op.Name {
	case "pivot":
		t, schema, err = pivot(p.late, in.output, sink.t)
	default:
		t, schema, err = bagUnpack(p.late, in.output, sink.t)
	}
	if err != nil {
		return nil, err
	}
	lenv := p.late.env
	bld := lenv.b
	npre := len(bld.pre)
	rest, err := lenv.pipeline(genPlan("evaluate", &tableSource{t: t}, schema), p.late.rest)
	if err != nil {
		return nil, err
	}
	planAll(rest)
	for _, pre := range bld.pre[npre:] {
		planAll(pre)
		if _, err := env.materialized(pre); err != nil {
			return nil, err
		}
	}
	rs := &resultSink{res: &Result{Columns: rest.Columns(), Rows: [][]any{}}, types: rest.output, b: b}
	if err := rest.runInto(env, rs); err != nil {
		return nil, err
	}
	if b.err != nil {
		return nil, b.err
	}
	rs.res.PeakMemoryBytes = b.peak
	return rs.res, nil
}

// lateRender returns the render operator after the plugin, if any.
func (t *lateTail) render() *RenderOp {
	var r *RenderOp
	for _, op := range t.rest {
		if ro, ok := op.(*RenderOp); ok {
			r = ro
		}
	}
	return r
}

func slotOf(schema []column, name string) int {
	for i, c := range schema {
		if c.name == name {
			return i
		}
	}
	return -1
}

// argColumn reads a plugin argument that names a column.
func argColumn(op *EvaluateOp, i int, schema []column) (int, error) {
	id, ok := op.Args[i].(*Ident)
	if !ok {
		return -1, semanticErr(op.Args[i].Pos(), "evaluate %s(): expected a column name", op.Name)
	}
	s := slotOf(schema, id.Name)
	if s < 0 {
		return -1, semanticErr(id.At, "Failed to resolve column named '%s'", id.Name)
	}
	return s, nil
}

func pivot(lt *lateTail, schema []column, t *table) (*table, []column, error) {
	op := lt.op
	if len(op.Args) == 0 {
		return nil, nil, semanticErr(op.At, "evaluate pivot() expects the pivot column")
	}
	pc, err := argColumn(op, 0, schema)
	if err != nil {
		return nil, nil, err
	}
	agg, argSlot, aggT := "count", -1, TypeLong
	used := map[int]bool{pc: true}
	var groupSlots []int
	for i := 1; i < len(op.Args); i++ {
		if call, ok := op.Args[i].(*CallExpr); ok && i == 1 {
			agg = call.Name
			switch {
			case agg == "count" && len(call.Args) == 0:
			case (agg == "sum" || agg == "min" || agg == "max" || agg == "avg" || agg == "dcount") && len(call.Args) == 1:
				id, ok := call.Args[0].(*Ident)
				if !ok || slotOf(schema, id.Name) < 0 {
					return nil, nil, semanticErr(call.At, "evaluate pivot(): the aggregate's argument must be a column")
				}
				argSlot = slotOf(schema, id.Name)
				used[argSlot] = true
				at := schema[argSlot].t
				switch agg {
				case "avg":
					aggT = TypeReal
				case "dcount":
					aggT = TypeLong
				case "sum":
					if !at.isNumeric() {
						return nil, nil, semanticErr(call.At, "evaluate pivot(): sum() expects a number")
					}
					aggT = TypeLong
					if at == TypeReal {
						aggT = TypeReal
					}
				default:
					aggT = at
				}
			default:
				return nil, nil, semanticErr(call.At, "evaluate pivot(): the aggregate %s() is not supported (count, sum, min, max, avg, dcount are)", agg)
			}
			continue
		}
		s, err := argColumn(op, i, schema)
		if err != nil {
			return nil, nil, err
		}
		groupSlots = append(groupSlots, s)
	}
	if len(op.Args) <= 2 && groupSlots == nil {
		for i := range schema {
			if !used[i] {
				groupSlots = append(groupSlots, i)
			}
		}
	}
	// The pivot values, in the order of their text.
	valueSet := map[string]bool{}
	for r := 0; r < t.n; r++ {
		valueSet[pivotName(t.cols[pc], r, schema[pc].t)] = true
	}
	values := make([]string, 0, len(valueSet))
	for v := range valueSet {
		values = append(values, v)
	}
	slices.Sort(values)
	if len(values) > maxPivotColumns {
		return nil, nil, semanticErr(op.At, "evaluate pivot(): the pivot column has more than %d values", maxPivotColumns)
	}
	var out []column
	for _, s := range groupSlots {
		out = append(out, schema[s])
	}
	names := map[string]bool{}
	for _, c := range out {
		names[c.name] = true
	}
	for _, v := range values {
		if names[v] {
			return nil, nil, semanticErr(op.At, "evaluate pivot(): the value '%s' is also a column's name", v)
		}
		out = append(out, column{v, aggT})
	}
	// Group the rows.
	type group struct {
		first int
		rows  map[string][]int
	}
	var groups []*group
	byKey := map[string]*group{}
	var kb strings.Builder
	for r := 0; r < t.n; r++ {
		kb.Reset()
		for _, s := range groupSlots {
			kb.WriteString(keyText(scalarAt(t.cols[s], r)))
			kb.WriteByte(0)
		}
		g := byKey[kb.String()]
		if g == nil {
			g = &group{first: r, rows: map[string][]int{}}
			byKey[kb.String()] = g
			groups = append(groups, g)
		}
		v := pivotName(t.cols[pc], r, schema[pc].t)
		g.rows[v] = append(g.rows[v], r)
	}
	res := newTable(out)
	for gi, g := range groups {
		for k, s := range groupSlots {
			appendScalar(res.cols[k], gi, scalarAt(t.cols[s], g.first))
		}
		for j, v := range values {
			rows := g.rows[v]
			vals := make([]scalar, len(rows))
			for i, r := range rows {
				if argSlot >= 0 {
					vals[i] = convertScalar(scalarAt(t.cols[argSlot], r), schema[argSlot].t, aggT)
					if schema[argSlot].t == aggT || agg == "dcount" {
						vals[i] = scalarAt(t.cols[argSlot], r)
					}
				}
			}
			appendScalar(res.cols[len(groupSlots)+j], gi, aggregateValues(agg, aggT, vals))
		}
	}
	res.n = len(groups)
	return res, out, nil
}

// maxPivotColumns bounds the columns pivot and bag_unpack make.
const maxPivotColumns = 10000

// pivotName is the column name of a pivot value: its text.
func pivotName(v *Vector, r int, t Type) string {
	s := scalarAt(v, r)
	if s.null {
		return ""
	}
	return scalarString(s, t)
}

// aggregateValues computes count, sum, min, max, avg or dcount of the
// values of a group; count and dcount of nothing are 0, the others null.
func aggregateValues(agg string, t Type, vals []scalar) scalar {
	switch agg {
	case "count":
		return scalar{i: int64(len(vals))}
	case "dcount":
		seen := map[string]bool{}
		for _, v := range vals {
			if !v.null {
				seen[keyText(v)] = true
			}
		}
		return scalar{i: int64(len(seen))}
	}
	acc := nullScalar
	n := 0
	for _, v := range vals {
		if v.null {
			continue
		}
		n++
		switch agg {
		case "sum", "avg":
			if acc.null {
				acc = scalar{}
			}
			if t == TypeReal || agg == "avg" {
				acc.f += v.f
			} else {
				acc.i += v.i
			}
		case "min", "max":
			if acc.null || (agg == "min") == (compareScalars(v, acc, t) < 0) {
				acc = v
			}
		}
	}
	if agg == "avg" && n > 0 {
		acc.f /= float64(n)
	}
	return acc
}

func bagUnpack(lt *lateTail, schema []column, t *table) (*table, []column, error) {
	op := lt.op
	if len(op.Args) == 0 || len(op.Args) > 2 {
		return nil, nil, semanticErr(op.At, "evaluate bag_unpack() expects a column and an optional prefix")
	}
	bc, err := argColumn(op, 0, schema)
	if err != nil {
		return nil, nil, err
	}
	if schema[bc].t != TypeDynamic {
		return nil, nil, semanticErr(op.Args[0].Pos(), "evaluate bag_unpack() expects a dynamic column, got %s", schema[bc].t)
	}
	prefix := ""
	if len(op.Args) == 2 {
		l, ok := op.Args[1].(*Literal)
		if !ok || l.Type != TypeString {
			return nil, nil, semanticErr(op.Args[1].Pos(), "evaluate bag_unpack(): the prefix must be a string literal")
		}
		prefix = l.Value.(string)
	}
	bags := make([]*dynBag, t.n)
	keyTypes := map[string]Type{}
	for r := 0; r < t.n; r++ {
		d := dynAt(t.cols[bc], r)
		b, ok := d.(*dynBag)
		if !ok {
			continue
		}
		bags[r] = b
		for i, k := range b.keys {
			vt := dynType(b.vals[i])
			if prev, seen := keyTypes[k]; !seen || prev == TypeInvalid {
				keyTypes[k] = vt
			} else if prev != vt && vt != TypeInvalid {
				if prev.isNumeric() && vt.isNumeric() {
					keyTypes[k] = TypeReal
				} else {
					keyTypes[k] = TypeDynamic
				}
			}
		}
	}
	keys := make([]string, 0, len(keyTypes))
	for k := range keyTypes {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if len(keys) > maxPivotColumns {
		return nil, nil, semanticErr(op.At, "evaluate bag_unpack(): the bags have more than %d keys", maxPivotColumns)
	}
	var out []column
	var keep []int
	for i, c := range schema {
		if i != bc {
			out = append(out, c)
			keep = append(keep, i)
		}
	}
	for _, k := range keys {
		kt := keyTypes[k]
		if kt == TypeInvalid {
			kt = TypeDynamic
		}
		if slotOf(out, prefix+k) >= 0 {
			return nil, nil, semanticErr(op.At, "evaluate bag_unpack(): the key '%s' is also a column's name", prefix+k)
		}
		out = append(out, column{prefix + k, kt})
	}
	res := newTable(out)
	for r := 0; r < t.n; r++ {
		for j, s := range keep {
			appendScalar(res.cols[j], r, scalarAt(t.cols[s], r))
		}
		for j, k := range keys {
			v := nullScalar
			if b := bags[r]; b != nil {
				if i := slices.Index(b.keys, k); i >= 0 && b.vals[i] != nil {
					ct := out[len(keep)+j].t
					if ct == TypeDynamic {
						v = scalar{s: dynText(b.vals[i])}
					} else {
						v = dynToScalar(b.vals[i], ct)
					}
				}
			}
			appendScalar(res.cols[len(keep)+j], r, v)
		}
	}
	res.n = t.n
	return res, out, nil
}

// dynType is the scalar type of a decoded dynamic value: TypeInvalid for
// null, TypeDynamic for arrays and bags.
func dynType(d any) Type {
	switch d.(type) {
	case nil:
		return TypeInvalid
	case bool:
		return TypeBool
	case int64:
		return TypeLong
	case float64:
		return TypeReal
	case string:
		return TypeString
	}
	return TypeDynamic
}

// runLateTop is Run for a plan with a late tail.
func (p *Plan) runLateTop(ctx context.Context, src Source, b *budget) (*Result, error) {
	env := &runEnv{ctx: ctx, src: src, b: b, cache: map[*Plan]*table{}}
	for _, pre := range p.pre {
		if _, err := env.materialized(pre); err != nil {
			return nil, err
		}
	}
	res, err := p.runLate(env, b)
	if err == nil {
		err = b.err
	}
	if err != nil {
		return nil, err
	}
	return res, nil
}
