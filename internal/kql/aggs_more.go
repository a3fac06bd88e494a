package kql

import (
	"math"
	"slices"
	"strconv"
)

// Aggregates beyond summarize.go's: the -if forms (sumif, avgif, minif,
// maxif, dcountif), take_any/any, make_set, make_list, make_bag,
// percentile(s), stdev(p), variance(p), arg_max/arg_min, legacy count(x),
// dcount(x, accuracy); and summarize's general form, with arg_max(x, *) and
// expressions over aggregates such as round(avg(x), 2).
//
// The state of make_set, make_list, make_bag and percentile grows with its
// input; it is held per group in slices owned by the aggregate, like the
// sets of dcount.

// aggMore is the part of an aggSpec for the aggregates of this file.
type aggMore struct {
	pred  cexpr   // the predicate of an -if aggregate
	inner aggSpec // the aggregate an -if aggregate applies
	key   cexpr   // arg_max/arg_min: the expression to maximize
	limit int     // make_set/make_list: the most values kept
	pct   float64 // percentile
	pop   bool    // stdevp, variancep
}

// moreAggs are the aggregate names of this file, with their result
// column prefix.
var moreAggs = map[string]string{
	"sumif": "sumif_", "avgif": "avgif_", "minif": "minif_", "maxif": "maxif_", "dcountif": "dcountif_",
	"take_any": "any_", "any": "any_", "make_set": "set_", "make_list": "list_", "make_bag": "bag_",
	"makeset": "set_", "makelist": "list_", "make_set_if": "set_", "make_list_if": "list_",
	"percentile": "percentile_", "percentiles": "percentile_", "stdev": "stdev_", "stdevp": "stdevp_",
	"variance": "variance_", "variancep": "variancep_", "arg_max": "max_", "arg_min": "min_",
	"count_distinct": "count_distinct_", "countif": "countif_", "dcount": "dcount_",
}

func init() {
	for k := range moreAggs {
		aggregateNames[k] = true
	}
}

// needsSummarizeMore reports whether a summarize needs summarizeMore.
func needsSummarizeMore(op *SummarizeOp) bool {
	for _, a := range op.Aggregates {
		call, ok := a.Expr.(*CallExpr)
		if !ok {
			return true
		}
		switch call.Name {
		case "count", "sum", "avg", "min", "max":
			if len(call.Args) != map[string]int{"count": 0}[call.Name]+b2i(call.Name != "count") {
				return true
			}
		case "countif", "dcount":
			if len(call.Args) != 1 {
				return true
			}
		default:
			return true
		}
	}
	return false
}

// aggregateMore compiles the aggregates of this file (not arg_max and
// percentiles, which make several columns: see summarizeMore).
func (c *compiler) aggregateMore(call *CallExpr) (aggSpec, bool, error) {
	name := call.Name
	nargs := len(call.Args)
	bad := func(format string, args ...any) (aggSpec, bool, error) {
		return aggSpec{}, true, semanticErr(call.At, format, args...)
	}
	arg := func(i int) (cexpr, error) { return c.expr(call.Args[i]) }
	switch name {
	case "count":
		if nargs == 1 {
			// Legacy count(x): the rows where x is not null.
			x, err := arg(0)
			if err != nil {
				return aggSpec{}, true, err
			}
			return aggSpec{kind: "countif", arg: c.fold(&nullTest{kind: testIsNotNull, x: x}), t: TypeLong}, true, nil
		}
		return aggSpec{}, false, nil
	case "dcount", "count_distinct":
		if nargs == 2 || name == "count_distinct" {
			if nargs < 1 {
				return bad("%s() expects 1 or 2 arguments, got %d", name, nargs)
			}
			x, err := arg(0)
			if err != nil {
				return aggSpec{}, true, err
			}
			return aggSpec{kind: "dcount", arg: x, t: TypeLong}, true, nil
		}
		return aggSpec{}, false, nil
	case "sumif", "avgif", "minif", "maxif", "dcountif", "make_set_if", "make_list_if":
		if nargs < 2 {
			return bad("%s() expects 2 arguments, got %d", name, nargs)
		}
		pred, err := arg(1)
		if err != nil {
			return aggSpec{}, true, err
		}
		if pred.typ() != TypeBool {
			return bad("%s() expects a bool predicate as its second argument, got %s", name, pred.typ())
		}
		innerName := map[string]string{"sumif": "sum", "avgif": "avg", "minif": "min", "maxif": "max", "dcountif": "dcount",
			"make_set_if": "make_set", "make_list_if": "make_list"}[name]
		innerCall := &CallExpr{At: call.At, Name: innerName, Args: []Expr{call.Args[0]}}
		if nargs > 2 {
			innerCall.Args = append(innerCall.Args, call.Args[2:]...)
		}
		inner, err := c.aggregate(innerCall)
		if err != nil {
			return aggSpec{}, true, err
		}
		return aggSpec{kind: "if", t: inner.t, more: &aggMore{pred: pred, inner: inner}}, true, nil
	case "take_any", "any":
		if nargs != 1 {
			return bad("%s() expects 1 argument, got %d", name, nargs)
		}
		x, err := arg(0)
		if err != nil {
			return aggSpec{}, true, err
		}
		return aggSpec{kind: "any", arg: x, t: x.typ(), more: &aggMore{}}, true, nil
	case "make_set", "make_list", "makeset", "makelist", "make_bag":
		if nargs < 1 || nargs > 2 {
			return bad("%s() expects 1 or 2 arguments, got %d", name, nargs)
		}
		x, err := arg(0)
		if err != nil {
			return aggSpec{}, true, err
		}
		m := &aggMore{limit: 1048576}
		if nargs == 2 {
			n, err := c.count(call.Args[1], name)
			if err != nil {
				return aggSpec{}, true, err
			}
			m.limit = int(min(n, 1<<30))
		}
		kind := map[string]string{"make_set": "set", "makeset": "set", "make_list": "list", "makelist": "list", "make_bag": "bag"}[name]
		if kind == "bag" && x.typ() != TypeDynamic {
			return bad("make_bag() expects a dynamic property bag, got %s", x.typ())
		}
		return aggSpec{kind: kind, arg: x, t: TypeDynamic, more: m}, true, nil
	case "percentile":
		if nargs != 2 {
			return bad("percentile() expects 2 arguments, got %d", nargs)
		}
		x, err := arg(0)
		if err != nil {
			return aggSpec{}, true, err
		}
		p, err := arg(1)
		if err != nil {
			return aggSpec{}, true, err
		}
		return c.percentileSpec(call, x, p)
	case "stdev", "stdevp", "variance", "variancep":
		if nargs != 1 {
			return bad("%s() expects 1 argument, got %d", name, nargs)
		}
		x, err := arg(0)
		if err != nil {
			return aggSpec{}, true, err
		}
		if !x.typ().isNumeric() {
			return bad("%s() expects a number, got %s", name, x.typ())
		}
		kind := "stdev"
		if name == "variance" || name == "variancep" {
			kind = "variance"
		}
		return aggSpec{kind: kind, arg: x, t: TypeReal, more: &aggMore{pop: name[len(name)-1] == 'p'}}, true, nil
	case "arg_max", "arg_min", "percentiles":
		return bad("%s() is only allowed at the top of a summarize aggregate", name)
	}
	return aggSpec{}, false, nil
}

func (c *compiler) percentileSpec(call *CallExpr, x, p cexpr) (aggSpec, bool, error) {
	k, ok := p.(*constNode)
	if !ok || !k.t.isNumeric() || k.v.null {
		return aggSpec{}, true, semanticErr(call.At, "percentile: the percentage must be a constant number")
	}
	pct := k.v.f
	if k.t != TypeReal {
		pct = float64(k.v.i)
	}
	if pct < 0 || pct > 100 {
		return aggSpec{}, true, semanticErr(call.At, "percentile: the percentage must be between 0 and 100")
	}
	if !x.typ().isNumeric() && x.typ() != TypeDatetime && x.typ() != TypeTimespan {
		return aggSpec{}, true, semanticErr(call.At, "percentile() expects a number, datetime or timespan, got %s", x.typ())
	}
	return aggSpec{kind: "percentile", arg: x, t: x.typ(), more: &aggMore{pct: pct}}, true, nil
}

func newAggStateMore(spec aggSpec) aggState {
	if spec.more == nil {
		return nil
	}
	switch spec.kind {
	case "if":
		return &ifAgg{pred: spec.more.pred, inner: newAggState(spec.more.inner)}
	case "any":
		return &anyAgg{spec: spec}
	case "set", "list", "bag":
		return &collectAgg{spec: spec}
	case "percentile":
		return &percentileAgg{spec: spec}
	case "stdev", "variance":
		return &momentAgg{spec: spec}
	case "argmax", "argmin":
		return &argAgg{spec: spec, max: spec.kind == "argmax"}
	}
	return nil
}

// ifAgg applies an aggregate to the rows where a predicate is true.
type ifAgg struct {
	pred  cexpr
	inner aggState
	gids  []int32
}

func (s *ifAgg) bytes() int64 { return 4*int64(cap(s.gids)) + s.inner.bytes() }

func (s *ifAgg) update(a *arena, c *chunk, sel []int32, gids []int32, groups int) {
	if len(sel) == 0 {
		s.inner.update(a, c, sel, gids, groups)
		return
	}
	kept := filter(a, s.pred, c, sel)
	s.gids = s.gids[:0]
	pos := 0
	for _, i := range kept {
		for sel[pos] != i {
			pos++
		}
		s.gids = append(s.gids, gids[pos])
	}
	s.inner.update(a, c, kept, s.gids, groups)
}

func (s *ifAgg) result(groups int) *Vector { return s.inner.result(groups) }

// anyAgg keeps the first non-null value of each group.
type anyAgg struct {
	spec aggSpec
	vals []scalar
	seen []bool
}

func (s *anyAgg) bytes() int64 { return scalarsBytes(s.vals) + int64(cap(s.seen)) }

// scalarsBytes estimates the memory of held scalars, strings included.
func scalarsBytes(vs []scalar) int64 {
	n := 56 * int64(cap(vs))
	for i := range vs {
		n += int64(len(vs[i].s))
	}
	return n
}

func (s *anyAgg) update(a *arena, c *chunk, sel []int32, gids []int32, groups int) {
	s.vals, s.seen = grow(s.vals, groups), grow(s.seen, groups)
	if len(sel) == 0 {
		return
	}
	v := s.spec.arg.eval(a, c, sel)
	for k, i := range sel {
		g := gids[k]
		if s.seen[g] || v.IsNull(int(i)) {
			continue
		}
		s.vals[g], s.seen[g] = scalarAt(v, int(i)), true
	}
}

func (s *anyAgg) result(groups int) *Vector {
	s.vals, s.seen = grow(s.vals, groups), grow(s.seen, groups)
	out := NewVector(s.spec.t, 0)
	for g := range groups {
		v := s.vals[g]
		if !s.seen[g] {
			v = nullScalar
		}
		appendScalar(&out, g, v)
	}
	return &out
}

// collectAgg is make_set, make_list and make_bag.
type collectAgg struct {
	spec aggSpec
	vals [][]any
	sets []map[string]bool
	bags []*dynBag
	held int64 // estimated bytes of the values collected
}

// dynBytes estimates the memory a collected dynamic value holds.
func dynBytes(d any) int64 {
	switch x := d.(type) {
	case string:
		return 48 + int64(len(x))
	case []any, *dynBag:
		return 48 + int64(len(dynText(x)))
	}
	return 48
}

func (s *collectAgg) bytes() int64 {
	return 56*int64(cap(s.vals)) + s.held
}

func (s *collectAgg) update(a *arena, c *chunk, sel []int32, gids []int32, groups int) {
	s.vals, s.sets, s.bags = grow(s.vals, groups), grow(s.sets, groups), grow(s.bags, groups)
	if len(sel) == 0 {
		return
	}
	v := s.spec.arg.eval(a, c, sel)
	t := v.Type
	for k, i := range sel {
		g := gids[k]
		sv := scalarAt(v, int(i))
		if sv.null || (t == TypeDynamic && sv.s == "") {
			continue
		}
		d := scalarDyn(sv, t)
		switch s.spec.kind {
		case "bag":
			b, ok := d.(*dynBag)
			if !ok {
				continue
			}
			if s.bags[g] == nil {
				s.bags[g] = &dynBag{}
			}
			for j, key := range b.keys {
				if len(s.bags[g].keys) >= s.spec.more.limit {
					break
				}
				s.bags[g].set(key, b.vals[j])
				s.held += 16 + int64(len(key)) + dynBytes(b.vals[j])
			}
		case "set":
			if len(s.vals[g]) >= s.spec.more.limit {
				continue
			}
			if s.sets[g] == nil {
				s.sets[g] = map[string]bool{}
			}
			key := dynText(d)
			if s.sets[g][key] {
				continue
			}
			s.sets[g][key] = true
			s.vals[g] = append(s.vals[g], d)
			s.held += 2*int64(len(key)) + 64
		default:
			if len(s.vals[g]) < s.spec.more.limit {
				s.vals[g] = append(s.vals[g], d)
				s.held += dynBytes(d)
			}
		}
	}
}

func (s *collectAgg) result(groups int) *Vector {
	s.vals, s.bags = grow(s.vals, groups), grow(s.bags, groups)
	out := NewVector(TypeDynamic, groups)
	for g := range groups {
		if s.spec.kind == "bag" {
			b := s.bags[g]
			if b == nil {
				b = &dynBag{}
			}
			out.Str[g] = dynText(b)
			continue
		}
		vals := s.vals[g]
		if vals == nil {
			vals = []any{}
		}
		out.Str[g] = dynText(vals)
	}
	return &out
}

// percentileAgg is an exact percentile: the nearest-rank value.
type percentileAgg struct {
	spec aggSpec
	vals [][]float64
	n    int64 // values held
}

func (s *percentileAgg) bytes() int64 { return 24*int64(cap(s.vals)) + 8*s.n }

func (s *percentileAgg) update(a *arena, c *chunk, sel []int32, gids []int32, groups int) {
	s.vals = grow(s.vals, groups)
	if len(sel) == 0 {
		return
	}
	v := s.spec.arg.eval(a, c, sel)
	for k, i := range sel {
		if v.IsNull(int(i)) {
			continue
		}
		f := 0.0
		if v.Type.storage() == storeReal {
			f = v.Real[i]
		} else {
			f = float64(v.Int[i])
		}
		s.vals[gids[k]] = append(s.vals[gids[k]], f)
		s.n++
	}
}

func (s *percentileAgg) result(groups int) *Vector {
	s.vals = grow(s.vals, groups)
	out := NewVector(s.spec.t, 0)
	for g := range groups {
		vals := s.vals[g]
		if len(vals) == 0 {
			appendScalar(&out, g, nullScalar)
			continue
		}
		slices.Sort(vals)
		rank := int(math.Ceil(s.spec.more.pct / 100 * float64(len(vals))))
		x := vals[max(rank-1, 0)]
		if s.spec.t == TypeReal {
			appendScalar(&out, g, scalar{f: x})
		} else {
			appendScalar(&out, g, scalar{i: int64(x)})
		}
	}
	return &out
}

// momentAgg is stdev, stdevp, variance and variancep.
type momentAgg struct {
	spec       aggSpec
	n          []float64
	sum, sumSq []float64
}

func (s *momentAgg) bytes() int64 { return 8 * int64(cap(s.n)+cap(s.sum)+cap(s.sumSq)) }

func (s *momentAgg) update(a *arena, c *chunk, sel []int32, gids []int32, groups int) {
	s.n, s.sum, s.sumSq = grow(s.n, groups), grow(s.sum, groups), grow(s.sumSq, groups)
	if len(sel) == 0 {
		return
	}
	v := s.spec.arg.eval(a, c, sel)
	for k, i := range sel {
		if v.IsNull(int(i)) {
			continue
		}
		f := 0.0
		if v.Type.storage() == storeReal {
			f = v.Real[i]
		} else {
			f = float64(v.Int[i])
		}
		g := gids[k]
		s.n[g]++
		s.sum[g] += f
		s.sumSq[g] += f * f
	}
}

func (s *momentAgg) result(groups int) *Vector {
	s.n, s.sum, s.sumSq = grow(s.n, groups), grow(s.sum, groups), grow(s.sumSq, groups)
	out := NewVector(TypeReal, groups)
	for g := range groups {
		n := s.n[g]
		d := n - 1
		if s.spec.more.pop {
			d = n
		}
		if d <= 0 {
			if n == 1 && !s.spec.more.pop {
				out.Real[g] = 0
				continue
			}
			if out.Nulls == nil {
				out.Nulls = NewBitmap(groups)
			}
			out.Nulls.Set(g)
			continue
		}
		mean := s.sum[g] / n
		v := (s.sumSq[g] - n*mean*mean) / d
		if v < 0 {
			v = 0
		}
		if s.spec.kind == "stdev" {
			v = math.Sqrt(v)
		}
		out.Real[g] = v
	}
	return &out
}

// argAgg is one returned column of arg_max or arg_min: the value of arg
// in the row of the group where key is largest (smallest); the first such
// row on ties.
type argAgg struct {
	spec aggSpec
	max  bool
	keys []scalar
	vals []scalar
	seen []bool
}

func (s *argAgg) bytes() int64 {
	return scalarsBytes(s.keys) + scalarsBytes(s.vals) + int64(cap(s.seen))
}

func (s *argAgg) update(a *arena, c *chunk, sel []int32, gids []int32, groups int) {
	s.keys, s.vals, s.seen = grow(s.keys, groups), grow(s.vals, groups), grow(s.seen, groups)
	if len(sel) == 0 {
		return
	}
	kv := s.spec.more.key.eval(a, c, sel)
	var vv *Vector
	if s.spec.arg != nil {
		vv = s.spec.arg.eval(a, c, sel)
	}
	kt := s.spec.more.key.typ()
	for k, i := range sel {
		if kv.IsNull(int(i)) {
			continue
		}
		g := gids[k]
		key := scalarAt(kv, int(i))
		if s.seen[g] {
			r := compareScalar(key, s.keys[g], kt)
			if (s.max && r <= 0) || (!s.max && r >= 0) {
				continue
			}
		}
		s.keys[g], s.seen[g] = key, true
		if vv != nil {
			s.vals[g] = scalarAt(vv, int(i))
		} else {
			s.vals[g] = key
		}
	}
}

func (s *argAgg) result(groups int) *Vector {
	s.keys, s.vals, s.seen = grow(s.keys, groups), grow(s.vals, groups), grow(s.seen, groups)
	out := NewVector(s.spec.t, 0)
	for g := range groups {
		v := s.vals[g]
		if !s.seen[g] {
			v = nullScalar
		}
		appendScalar(&out, g, v)
	}
	return &out
}

// compareScalar orders two non-null values of type t.
func compareScalar(x, y scalar, t Type) int {
	switch t.storage() {
	case storeInt:
		return cmpOrdered(x.i, y.i)
	case storeReal:
		return cmpOrdered(x.f, y.f)
	case storeStr:
		return cmpOrdered(x.s, y.s)
	case storeBool:
		return cmpOrdered(b2i(x.b), b2i(y.b))
	}
	return 0
}

// summarizeMore compiles the general summarize: aggregates that make
// several columns (arg_max, arg_min, percentiles) and expressions over
// aggregates, computed by a projection after the grouping.
func (c *compiler) summarizeMore(op *SummarizeOp) (stage, error) {
	st := &summarizeStage{}
	taken := map[string]bool{}
	auto := 0
	byNames := map[string]bool{}
	for _, b := range op.By {
		e, err := c.expr(b.Expr)
		if err != nil {
			return nil, err
		}
		if e.typ() == TypeDynamic {
			return nil, semanticErr(b.Expr.Pos(), "summarize: cannot group by a value of type dynamic")
		}
		name := b.Name
		if name == "" {
			name = uniqueName(autoName(b.Expr, &auto), taken)
		} else if taken[name] {
			return nil, semanticErr(b.Expr.Pos(), "summarize: a column named '%s' already exists", name)
		}
		taken[name] = true
		byNames[name] = true
		st.by = append(st.by, e)
		st.out = append(st.out, column{name, e.typ()})
	}
	// final lists the output columns: a slot of st.out, or an expression
	// over st.out's columns.
	type final struct {
		name string
		slot int
		expr Expr
	}
	var finals []final
	for _, b := range st.out {
		finals = append(finals, final{name: b.name, slot: len(finals)})
	}
	addAgg := func(name string, spec aggSpec) int {
		st.aggs = append(st.aggs, spec)
		st.out = append(st.out, column{name, spec.t})
		return len(st.out) - 1
	}
	hidden := 0
	for _, a := range op.Aggregates {
		call, isCall := a.Expr.(*CallExpr)
		switch {
		case isCall && (call.Name == "arg_max" || call.Name == "arg_min"):
			if len(call.Args) < 1 {
				return nil, semanticErr(call.At, "%s() expects at least 1 argument", call.Name)
			}
			key, err := c.expr(call.Args[0])
			if err != nil {
				return nil, err
			}
			if key.typ() == TypeDynamic {
				return nil, semanticErr(call.Args[0].Pos(), "%s() cannot order by a value of type dynamic", call.Name)
			}
			kind := "argmax"
			if call.Name == "arg_min" {
				kind = "argmin"
			}
			mk := func(ret cexpr, t Type) aggSpec {
				return aggSpec{kind: kind, arg: ret, t: t, more: &aggMore{key: key}}
			}
			kname := a.Name
			if kname == "" {
				if id, ok := call.Args[0].(*Ident); ok {
					kname = id.Name
				} else {
					kname = moreAggs[call.Name] + autoName(call.Args[0], &auto)
				}
			}
			kname = uniqueName(kname, taken)
			taken[kname] = true
			finals = append(finals, final{name: kname, slot: addAgg(kname, mk(nil, key.typ()))})
			for _, r := range call.Args[1:] {
				if _, star := r.(*Star); star {
					for i, col := range c.scope {
						if byNames[col.name] || taken[col.name] {
							continue
						}
						c.refs[i] = true
						taken[col.name] = true
						ref := &colRef{slot: i, t: col.t, name: col.name}
						finals = append(finals, final{name: col.name, slot: addAgg(col.name, mk(ref, col.t))})
					}
					continue
				}
				re, err := c.expr(r)
				if err != nil {
					return nil, err
				}
				name := uniqueName(autoName(r, &auto), taken)
				taken[name] = true
				finals = append(finals, final{name: name, slot: addAgg(name, mk(re, re.typ()))})
			}
		case isCall && call.Name == "percentiles":
			if len(call.Args) < 2 {
				return nil, semanticErr(call.At, "percentiles() expects a value and percentages")
			}
			x, err := c.expr(call.Args[0])
			if err != nil {
				return nil, err
			}
			for _, pe := range call.Args[1:] {
				p, err := c.expr(pe)
				if err != nil {
					return nil, err
				}
				spec, _, err := c.percentileSpec(call, x, p)
				if err != nil {
					return nil, err
				}
				base := "percentile_"
				if id, ok := call.Args[0].(*Ident); ok {
					base += id.Name
				}
				name := uniqueName(base+"_"+strconv.FormatFloat(spec.more.pct, 'f', -1, 64), taken)
				taken[name] = true
				finals = append(finals, final{name: name, slot: addAgg(name, spec)})
			}
		case isCall && isAggregate(call.Name):
			spec, err := c.aggregate(call)
			if err != nil {
				return nil, err
			}
			name := a.Name
			if name == "" {
				prefix := call.Name + "_"
				if p, ok := moreAggs[call.Name]; ok {
					prefix = p
				}
				name = prefix
				if len(call.Args) >= 1 && call.Name != "countif" {
					if id, ok := call.Args[0].(*Ident); ok {
						name += id.Name
					}
				}
				if call.Name == "percentile" && len(call.Args) == 2 {
					name += "_" + strconv.FormatFloat(spec.more.pct, 'f', -1, 64)
				}
				name = uniqueName(name, taken)
			} else if taken[name] {
				return nil, semanticErr(a.Expr.Pos(), "summarize: a column named '%s' already exists", name)
			}
			taken[name] = true
			finals = append(finals, final{name: name, slot: addAgg(name, spec)})
		default:
			// An expression over aggregates: each aggregate becomes a
			// hidden column, the expression a projection of them.
			var aggErr error
			found := false
			rewritten := rewriteCalls(a.Expr, func(call *CallExpr) Expr {
				if !isAggregate(call.Name) || aggErr != nil || call.Name == "arg_max" || call.Name == "arg_min" || call.Name == "percentiles" {
					return nil
				}
				spec, err := c.aggregate(call)
				if err != nil {
					aggErr = err
					return nil
				}
				found = true
				hname := "__agg" + strconv.Itoa(hidden)
				hidden++
				addAgg(hname, spec)
				return &Ident{At: call.At, Name: hname}
			})
			if aggErr != nil {
				return nil, aggErr
			}
			if !found {
				return nil, semanticErr(a.Expr.Pos(), "summarize: expected an aggregate function call such as count() or sum(x)")
			}
			name := a.Name
			if name == "" {
				name = uniqueName(autoName(a.Expr, &auto), taken)
			} else if taken[name] {
				return nil, semanticErr(a.Expr.Pos(), "summarize: a column named '%s' already exists", name)
			}
			taken[name] = true
			finals = append(finals, final{name: name, slot: -1, expr: rewritten})
		}
	}
	st.refs = c.refSlots()
	direct := hidden == 0
	for k, f := range finals {
		if f.slot != k {
			direct = false
		}
	}
	if direct {
		return st, nil
	}
	// Project the final columns from the grouped ones.
	sub := &compiler{now: c.now, scope: st.out, refs: map[int]bool{}, env: c.env}
	var cols []NamedExpr
	for _, f := range finals {
		e := f.expr
		if e == nil {
			e = &Ident{At: op.At, Name: st.out[f.slot].name}
		}
		cols = append(cols, NamedExpr{Name: f.name, Expr: e})
	}
	proj, err := sub.project(cols, false)
	if err != nil {
		return nil, err
	}
	return &seqStage{stages: []stage{st, proj}}, nil
}

// rewriteCalls returns e with the calls for which f returns an expression
// replaced by it, innermost last.
func rewriteCalls(e Expr, f func(*CallExpr) Expr) Expr {
	switch x := e.(type) {
	case *CallExpr:
		if r := f(x); r != nil {
			return r
		}
		n := *x
		n.Args = make([]Expr, len(x.Args))
		for i, a := range x.Args {
			n.Args[i] = rewriteCalls(a, f)
		}
		return &n
	case *BinaryExpr:
		n := *x
		n.Left, n.Right = rewriteCalls(x.Left, f), rewriteCalls(x.Right, f)
		return &n
	case *UnaryExpr:
		n := *x
		n.X = rewriteCalls(x.X, f)
		return &n
	case *InExpr:
		n := *x
		n.X = rewriteCalls(x.X, f)
		return &n
	case *BetweenExpr:
		n := *x
		n.X, n.Lo, n.Hi = rewriteCalls(x.X, f), rewriteCalls(x.Lo, f), rewriteCalls(x.Hi, f)
		return &n
	case *IndexExpr:
		n := *x
		n.X = rewriteCalls(x.X, f)
		return &n
	}
	return e
}

// uniqueName appends a numeric suffix to name when taken has it.
func uniqueName(name string, taken map[string]bool) string {
	if !taken[name] {
		return name
	}
	for i := 1; ; i++ {
		n := name + strconv.Itoa(i)
		if !taken[n] {
			return n
		}
	}
}
