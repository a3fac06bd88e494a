package kql

import (
	"errors"
	"fmt"
	"io"
	"slices"
)

// Result is the table a query produces, with JSON-ready values.
type Result struct {
	Columns []ResultColumn
	// Rows holds one []any per row, aligned with Columns. Values are nil
	// (null), bool, int64 (int, long), float64 (real; NaN and infinities
	// as the strings "NaN", "Infinity", "-Infinity"), or string (string,
	// guid, dynamic JSON text, datetime as RFC 3339 UTC with "Z",
	// timespan as [-][d.]hh:mm:ss[.fffffff]).
	Rows [][]any
}

// ResultColumn is a result column's name and Query API type name.
type ResultColumn struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// operator is a runtime tabular operator: chunks are pushed in, finish is
// called once at the end.
type operator interface {
	// push consumes a chunk; it returns false when it needs no more input.
	push(a *arena, c *chunk) (bool, error)
	finish(a *arena) error
}

// runInto executes the plan against env's source, pushing its rows into
// sink (Run, in pipeline.go, makes the sink of results).
func (p *Plan) runInto(env *runEnv, sink operator) error {
	ctx, src := env.ctx, env.src
	var head operator = sink
	for i := len(p.stages) - 1; i >= 0; i-- {
		head = p.stages[i].operator(head)
	}
	if p.gen != nil {
		return p.runGen(env, head) // pipeline.go
	}
	it, err := src.Scan(ctx, p.Scan())
	if err != nil {
		return fmt.Errorf("kql: scanning %s: %w", p.table.Name, err)
	}
	defer it.Close()
	a := arena{env: env}
	cols := make([]*Vector, len(p.input))
	vecs := make([]Vector, len(p.inputSlots))
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		b, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("kql: scanning %s: %w", p.table.Name, err)
		}
		if b == nil || b.Len == 0 {
			continue
		}
		a.reset()
		for k, slot := range p.inputSlots {
			col := p.input[slot]
			v, ok := b.Columns[col.name]
			if !ok {
				v = nullVector(&a, col.t, b.Len)
			} else if v.Type != col.t || v.Len() < b.Len {
				return fmt.Errorf("kql: scanning %s: column %s: got %d %s values for %d rows of type %s",
					p.table.Name, col.name, v.Len(), v.Type, b.Len, col.t)
			}
			vecs[k] = v
			cols[slot] = &vecs[k]
		}
		more, err := head.push(&a, &chunk{n: b.Len, cols: cols})
		if err != nil {
			return err
		}
		if !more {
			break
		}
	}
	a.reset()
	if err := head.finish(&a); err != nil {
		return err
	}
	return nil
}

// nullVector returns n nulls of type t (empty strings for strings).
func nullVector(a *arena, t Type, n int) Vector {
	v := *a.vec(t, n)
	switch t.storage() {
	case storeInt:
		clear(v.Int)
	case storeReal:
		clear(v.Real)
	case storeStr:
		clear(v.Str)
		return v
	case storeBool:
		clear(v.Bool)
	}
	v.Nulls = a.nulls(n)
	for i := range n {
		v.Nulls.Set(i)
	}
	return v
}

func selection(a *arena, c *chunk) []int32 {
	if c.sel != nil {
		return c.sel
	}
	return a.all(c.n)
}

// whereOp filters.
type whereOp struct {
	pred cexpr
	next operator
}

func (s *whereStage) operator(next operator) operator { return &whereOp{s.pred, next} }

func (o *whereOp) push(a *arena, c *chunk) (bool, error) {
	sel := filter(a, o.pred, c, selection(a, c))
	if len(sel) == 0 {
		return true, nil
	}
	return o.next.push(a, &chunk{n: c.n, cols: c.cols, sel: sel})
}

func (o *whereOp) finish(a *arena) error { return o.next.finish(a) }

// takeOp passes the first n rows.
type takeOp struct {
	left int64
	next operator
}

func (s *takeStage) operator(next operator) operator { return &takeOp{s.n, next} }

func (o *takeOp) push(a *arena, c *chunk) (bool, error) {
	if o.left <= 0 {
		return false, nil
	}
	sel := selection(a, c)
	if int64(len(sel)) > o.left {
		sel = sel[:o.left]
	}
	o.left -= int64(len(sel))
	more, err := o.next.push(a, &chunk{n: c.n, cols: c.cols, sel: sel})
	return more && o.left > 0, err
}

func (o *takeOp) finish(a *arena) error { return o.next.finish(a) }

// countOp counts rows.
type countOp struct {
	n    int64
	next operator
}

func (s *countStage) operator(next operator) operator { return &countOp{next: next} }

func (o *countOp) push(a *arena, c *chunk) (bool, error) {
	if c.sel != nil {
		o.n += int64(len(c.sel))
	} else {
		o.n += int64(c.n)
	}
	return true, nil
}

func (o *countOp) finish(a *arena) error {
	v := &Vector{Type: TypeLong, Int: []int64{o.n}}
	if _, err := o.next.push(a, &chunk{n: 1, cols: []*Vector{v}}); err != nil {
		return err
	}
	return o.next.finish(a)
}

// projectOp computes columns.
type projectOp struct {
	s    *projectStage
	next operator
}

func (s *projectStage) operator(next operator) operator { return &projectOp{s, next} }

func (o *projectOp) push(a *arena, c *chunk) (bool, error) {
	sel := selection(a, c)
	cols := make([]*Vector, len(o.s.out))
	if o.s.extend {
		copy(cols, c.cols)
	}
	for k, e := range o.s.exprs {
		v := e.eval(a, c, sel)
		if o.s.extend {
			cols[o.s.target[k]] = v
		} else {
			cols[k] = v
		}
	}
	return o.next.push(a, &chunk{n: c.n, cols: cols, sel: c.sel})
}

func (o *projectOp) finish(a *arena) error { return o.next.finish(a) }

// table is a materialized set of rows owned by an operator.
type table struct {
	n    int
	cols []*Vector
}

func newTable(schema []column) *table {
	t := &table{cols: make([]*Vector, len(schema))}
	for i, c := range schema {
		v := NewVector(c.t, 0)
		t.cols[i] = &v
	}
	return t
}

// appendRows copies the selected rows of c; nil columns (not needed
// downstream) stay empty.
func (t *table) appendRows(c *chunk, sel []int32) {
	for i, dst := range t.cols {
		src := c.cols[i]
		if src == nil {
			continue
		}
		appendValues(dst, src, sel, t.n)
	}
	t.n += len(sel)
}

// appendValues appends src[sel] to dst, which holds base values.
func appendValues(dst, src *Vector, sel []int32, base int) {
	switch src.Type.storage() {
	case storeInt:
		for _, i := range sel {
			dst.Int = append(dst.Int, src.Int[i])
		}
	case storeReal:
		for _, i := range sel {
			dst.Real = append(dst.Real, src.Real[i])
		}
	case storeStr:
		for _, i := range sel {
			dst.Str = append(dst.Str, src.Str[i])
		}
	case storeBool:
		for _, i := range sel {
			dst.Bool = append(dst.Bool, src.Bool[i])
		}
	}
	if src.Nulls == nil && dst.Nulls == nil {
		return
	}
	need := (base + len(sel) + 63) >> 6
	for len(dst.Nulls) < need {
		dst.Nulls = append(dst.Nulls, 0)
	}
	if src.Nulls == nil {
		return
	}
	for k, i := range sel {
		if src.Nulls.Get(int(i)) {
			dst.Nulls.Set(base + k)
		}
	}
}

// chunk returns the table as a chunk of all its rows.
func (t *table) chunk() *chunk { return &chunk{n: t.n, cols: t.cols} }

// sortOp materializes, orders and (for top) truncates.
type sortOp struct {
	s    *sortStage
	buf  *table
	next operator
}

func (s *sortStage) operator(next operator) operator { return &sortOp{s: s, next: next} }

func (o *sortOp) push(a *arena, c *chunk) (bool, error) {
	if o.buf == nil {
		o.buf = &table{cols: make([]*Vector, len(c.cols))}
		for i, v := range c.cols {
			if v != nil {
				nv := NewVector(v.Type, 0)
				o.buf.cols[i] = &nv
			}
		}
	}
	o.buf.appendRows(c, selection(a, c))
	// For top, keep memory bounded by truncating now and then.
	if o.s.limit >= 0 && int64(o.buf.n) > max(2*o.s.limit, 1<<16) {
		o.buf = o.sorted(a)
	}
	return true, nil
}

// sorted returns the buffer in key order, truncated to the limit.
func (o *sortOp) sorted(a *arena) *table {
	t := o.buf
	c := t.chunk()
	all := a.all(t.n)
	keys := make([]*Vector, len(o.s.keys))
	for i, k := range o.s.keys {
		keys[i] = materialize(k.e.eval(a, c, all), t.n)
	}
	perm := make([]int32, t.n)
	for i := range perm {
		perm[i] = int32(i)
	}
	slices.SortStableFunc(perm, func(x, y int32) int {
		for i, k := range o.s.keys {
			if r := compareRows(keys[i], int(x), int(y), k.asc, k.nullsFirst); r != 0 {
				return r
			}
		}
		return 0
	})
	if o.s.limit >= 0 && int64(len(perm)) > o.s.limit {
		perm = perm[:o.s.limit]
	}
	out := &table{n: len(perm), cols: make([]*Vector, len(t.cols))}
	for i, v := range t.cols {
		if v == nil {
			continue
		}
		nv := NewVector(v.Type, 0)
		appendValues(&nv, v, perm, 0)
		out.cols[i] = &nv
	}
	return out
}

// materialize copies a scratch vector so that it survives arena resets.
func materialize(v *Vector, n int) *Vector {
	nv := NewVector(v.Type, 0)
	appendValues(&nv, v, identity(n), 0)
	return &nv
}

func identity(n int) []int32 {
	s := make([]int32, n)
	for i := range s {
		s[i] = int32(i)
	}
	return s
}

// compareRows orders rows x and y of v.
func compareRows(v *Vector, x, y int, asc, nullsFirst bool) int {
	xn, yn := v.IsNull(x), v.IsNull(y)
	switch {
	case xn && yn:
		return 0
	case xn:
		if nullsFirst {
			return -1
		}
		return 1
	case yn:
		if nullsFirst {
			return 1
		}
		return -1
	}
	var r int
	switch v.Type.storage() {
	case storeInt:
		r = cmpOrdered(v.Int[x], v.Int[y])
	case storeReal:
		r = cmpOrdered(v.Real[x], v.Real[y])
	case storeStr:
		r = cmpOrdered(v.Str[x], v.Str[y])
	case storeBool:
		r = cmpOrdered(b2i(v.Bool[x]), b2i(v.Bool[y]))
	}
	if !asc {
		r = -r
	}
	return r
}

func cmpOrdered[T int64 | float64 | string | int](x, y T) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (o *sortOp) finish(a *arena) error {
	if o.buf != nil && o.buf.n > 0 {
		t := o.sorted(a)
		a.reset()
		if _, err := o.next.push(a, t.chunk()); err != nil {
			return err
		}
	}
	return o.next.finish(a)
}

// resultSink converts chunks to result rows.
type resultSink struct {
	res   *Result
	types []column
}

func (o *resultSink) push(a *arena, c *chunk) (bool, error) {
	for _, i := range selection(a, c) {
		row := make([]any, len(c.cols))
		for k, v := range c.cols {
			row[k] = jsonValue(v, int(i))
		}
		o.res.Rows = append(o.res.Rows, row)
	}
	return true, nil
}

func (o *resultSink) finish(a *arena) error { return nil }
