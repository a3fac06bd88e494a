package kql

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
)

// Result is the table a query produces, with JSON-ready values.
type Result struct {
	Columns []ResultColumn
	// Rows holds one []any per row, aligned with Columns. Values are nil
	// (null), bool, int64 (int, long), float64 (real; NaN and infinities
	// as the strings "NaN", "Infinity", "-Infinity"), or string (string,
	// guid, dynamic JSON text, datetime as ISO 8601 UTC with "Z",
	// timespan as [-][d.]hh:mm:ss[.fffffff]).
	Rows [][]any
	// Truncated is set when the result reached Limits.MaxResultRows or
	// Limits.MaxResultBytes: Rows then holds the rows up to the limit, and
	// the Query API reports the error beside them, as Azure does.
	Truncated *LimitError
	// PeakMemoryBytes is the most memory the run held at once, as charged
	// against Limits.MaxMemoryBytes (the Query API's statistics).
	PeakMemoryBytes int64
}

// ResultColumn is a result column's name and Query API type name.
type ResultColumn struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// operator is a runtime tabular operator: chunks are pushed in, finish is
// called once at the end. A chunk's vectors, and the arena's scratch, are
// valid only during the push: an operator that keeps rows copies them.
type operator interface {
	// push consumes a chunk; it returns false when it needs no more input.
	push(a *arena, c *chunk) (bool, error)
	finish(a *arena) error
}

// runInto executes the plan against env's source, pushing its rows into
// sink (Run, in pipeline.go, makes the sink of results). It stops with
// the budget's error when the run needs more memory than its limit or its
// deadline passes.
func (p *Plan) runInto(env *runEnv, sink operator) error {
	b := env.b
	ctx, src := env.ctx, env.src
	var head operator = sink
	for i := len(p.stages) - 1; i >= 0; i-- {
		head = p.stages[i].operator(head)
	}
	if err := b.check(); err != nil {
		return err
	}
	if p.gen != nil {
		return p.runGen(env, head) // pipeline.go
	}
	it, err := src.Scan(ctx, p.Scan())
	if err != nil {
		if cerr := b.check(); cerr != nil {
			return cerr
		}
		return fmt.Errorf("kql: scanning %s: %w", p.table.Name, err)
	}
	defer it.Close()
	a := &arena{b: b, env: env}
	cols := make([]*Vector, len(p.input))
	vecs := make([]Vector, len(p.inputSlots))
	for {
		if err := b.check(); err != nil {
			return err
		}
		bt, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if cerr := b.check(); cerr != nil {
				return cerr
			}
			return fmt.Errorf("kql: scanning %s: %w", p.table.Name, err)
		}
		if bt == nil || bt.Len == 0 {
			continue
		}
		a.reset()
		for k, slot := range p.inputSlots {
			col := p.input[slot]
			v, ok := bt.Columns[col.name]
			if !ok {
				v = nullVector(a, col.t, bt.Len)
			} else if v.Type != col.t || v.Len() < bt.Len {
				return fmt.Errorf("kql: scanning %s: column %s: got %d %s values for %d rows of type %s",
					p.table.Name, col.name, v.Len(), v.Type, bt.Len, col.t)
			}
			vecs[k] = v
			cols[slot] = &vecs[k]
		}
		more, err := head.push(a, &chunk{n: bt.Len, cols: cols})
		if err != nil {
			return err
		}
		if b.err != nil {
			return b.err
		}
		if !more {
			break
		}
	}
	a.reset()
	if err := head.finish(a); err != nil {
		return err
	}
	return b.err
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
	defer a.leave(a.enter("where"))
	sel := filter(a, o.pred, c, selection(a, c))
	if len(sel) == 0 || a.b.err != nil {
		return a.b.err == nil, a.b.err
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

// projectScratch bounds the scratch values a projection evaluates at once
// (8 bytes each for numbers): a projection wider than that, such as an
// extend of thousands of columns, evaluates a few rows at a time.
const projectScratch = 1 << 19

// projectOp computes the live columns of a project or extend.
type projectOp struct {
	s    *projectStage
	name string
	cols []*Vector // the output columns, reused between pushes
	next operator
}

func (s *projectStage) operator(next operator) operator {
	name := "project"
	if s.extend {
		name = "extend"
	}
	return &projectOp{s: s, name: name, next: next}
}

func (o *projectOp) push(a *arena, c *chunk) (bool, error) {
	defer a.leave(a.enter(o.name))
	sel := selection(a, c)
	if o.s.scratch*c.n <= projectScratch {
		return o.eval(a, c, sel)
	}
	// Evaluate rows in turn on dense copies, so that scratch follows the
	// rows evaluated, not the width of the batch.
	step := max(1, projectScratch/o.s.scratch)
	for j := 0; j < len(sel); j += step {
		if !a.ok() {
			return false, a.b.err
		}
		m := a.mark()
		dense := gather(a, c, sel[j:min(j+step, len(sel))])
		more, err := o.eval(a, dense, a.all(dense.n))
		a.release(m)
		if err != nil || !more {
			return more, err
		}
	}
	return true, nil
}

// eval computes the live columns at the rows sel of c and pushes them on.
func (o *projectOp) eval(a *arena, c *chunk, sel []int32) (bool, error) {
	if o.cols == nil {
		o.cols = make([]*Vector, len(o.s.out))
	}
	cols := o.cols
	clear(cols)
	if o.s.extend {
		copy(cols, c.cols)
	}
	for k, e := range o.s.exprs {
		slot := k
		if o.s.extend {
			slot = o.s.target[k]
		}
		if !o.s.live[k] {
			cols[slot] = nil
			continue
		}
		if !a.ok() {
			return false, a.b.err
		}
		cols[slot] = e.eval(a, c, sel)
	}
	if a.b.err != nil {
		return false, a.b.err
	}
	return o.next.push(a, &chunk{n: c.n, cols: cols, sel: c.sel})
}

func (o *projectOp) finish(a *arena) error { return o.next.finish(a) }

// gather copies rows of c into dense scratch vectors: row k of the result
// is row rows[k] of c.
func gather(a *arena, c *chunk, rows []int32) *chunk {
	cols := a.ptrs(len(c.cols))
	for i, v := range c.cols {
		if v == nil {
			cols[i] = nil
			continue
		}
		d := a.vec(v.Type, len(rows))
		switch v.Type.storage() {
		case storeInt:
			for k, r := range rows {
				d.Int[k] = v.Int[r]
			}
		case storeReal:
			for k, r := range rows {
				d.Real[k] = v.Real[r]
			}
		case storeStr:
			for k, r := range rows {
				d.Str[k] = v.Str[r]
			}
		case storeBool:
			for k, r := range rows {
				d.Bool[k] = v.Bool[r]
			}
		}
		if v.Nulls != nil {
			d.Nulls = a.nulls(len(rows))
			for k, r := range rows {
				if v.Nulls.Get(int(r)) {
					d.Nulls.Set(k)
				}
			}
		}
		cols[i] = d
	}
	return &chunk{n: len(rows), cols: cols}
}

// table is a materialized set of rows owned by an operator. bytes is the
// memory charged for it.
type table struct {
	n     int
	cols  []*Vector
	bytes int64
}

// appendRows copies the selected rows of c; nil columns (not needed
// downstream) stay empty. It returns the bytes the table grew by.
func (t *table) appendRows(c *chunk, sel []int32) int64 {
	var grew int64
	for i, dst := range t.cols {
		src := c.cols[i]
		if src == nil || dst == nil {
			continue
		}
		grew += appendValues(dst, src, sel, t.n)
	}
	t.n += len(sel)
	t.bytes += grew
	return grew
}

// appendValues appends src[sel] to dst, which holds base values. It
// returns the bytes dst grew by: the capacity its slices gained and the
// length of the strings appended.
func appendValues(dst, src *Vector, sel []int32, base int) int64 {
	before := vectorBytes(dst)
	var strs int64
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
			s := src.Str[i]
			strs += int64(len(s))
			dst.Str = append(dst.Str, s)
		}
	case storeBool:
		for _, i := range sel {
			dst.Bool = append(dst.Bool, src.Bool[i])
		}
	}
	if src.Nulls != nil || dst.Nulls != nil {
		need := (base + len(sel) + 63) >> 6
		for len(dst.Nulls) < need {
			dst.Nulls = append(dst.Nulls, 0)
		}
		if src.Nulls != nil {
			for k, i := range sel {
				if src.Nulls.Get(int(i)) {
					dst.Nulls.Set(base + k)
				}
			}
		}
	}
	return vectorBytes(dst) - before + strs
}

// stringBytes sums the lengths of a vector's strings.
func stringBytes(v *Vector) int64 {
	var n int64
	for _, s := range v.Str {
		n += int64(len(s))
	}
	return n
}

// chunk returns the table as a chunk of all its rows.
func (t *table) chunk() *chunk { return &chunk{n: t.n, cols: t.cols} }

// sortOp materializes, orders and (for top) truncates.
type sortOp struct {
	s    *sortStage
	name string
	buf  *table
	next operator
}

func (s *sortStage) operator(next operator) operator {
	name := "sort"
	if s.limit >= 0 {
		name = "top"
	}
	return &sortOp{s: s, name: name, next: next}
}

func (o *sortOp) push(a *arena, c *chunk) (bool, error) {
	defer a.leave(a.enter(o.name))
	if o.buf == nil {
		o.buf = &table{cols: make([]*Vector, len(c.cols))}
		for i, v := range c.cols {
			if v != nil {
				nv := NewVector(v.Type, 0)
				o.buf.cols[i] = &nv
			}
		}
	}
	if !a.b.charge(o.buf.appendRows(c, selection(a, c)), o.name) {
		return false, a.b.err
	}
	// For top, keep memory bounded by truncating now and then.
	if o.s.limit >= 0 && int64(o.buf.n) > max(2*o.s.limit, 1<<16) {
		if err := o.sort(a); err != nil {
			return false, err
		}
	}
	return true, nil
}

// sort orders the buffer in place, truncating it to the limit. Besides
// the buffer it holds the keys, a permutation and one column at a time.
func (o *sortOp) sort(a *arena) error {
	t := o.buf
	c := t.chunk()
	all := a.all(t.n)
	keys := make([]*Vector, len(o.s.keys))
	var extra int64 // memory held while sorting
	for i, k := range o.s.keys {
		if ref, ok := k.e.(*colRef); ok {
			keys[i] = t.cols[ref.slot]
			continue
		}
		keys[i] = materialize(k.e.eval(a, c, all), t.n)
		extra += vectorBytes(keys[i]) + stringBytes(keys[i])
	}
	perm := make([]int32, t.n)
	extra += 4 * int64(t.n)
	if !a.b.charge(extra, o.name) {
		return a.b.err
	}
	defer a.b.charge(-extra, o.name)
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
	if err := a.b.check(); err != nil {
		return err
	}
	if o.s.limit >= 0 && int64(len(perm)) > o.s.limit {
		perm = perm[:o.s.limit]
	}
	// Replace the columns one at a time.
	var held int64
	for i, v := range t.cols {
		if v == nil {
			continue
		}
		nv := NewVector(v.Type, 0)
		size := appendValues(&nv, v, perm, 0)
		if !a.b.charge(size, o.name) {
			return a.b.err
		}
		old := vectorBytes(v) + stringBytes(v)
		a.b.charge(-old, o.name)
		t.cols[i] = &nv
		held += size
	}
	t.n = len(perm)
	t.bytes = held
	return nil
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
		prev := a.enter(o.name)
		err := o.sort(a)
		a.leave(prev)
		if err != nil {
			return err
		}
		a.reset()
		if _, err := o.next.push(a, o.buf.chunk()); err != nil {
			return err
		}
		a.b.charge(-o.buf.bytes, o.name)
		o.buf = nil
	}
	return o.next.finish(a)
}

// resultSink converts chunks to result rows, up to the result limits.
type resultSink struct {
	res   *Result
	types []column
	b     *budget
	bytes int64 // the result's estimated JSON size
	buf   []byte
}

func (o *resultSink) push(a *arena, c *chunk) (bool, error) {
	if o.res.Truncated != nil {
		return false, nil
	}
	defer a.leave(a.enter("result"))
	lim := o.b.limits
	for _, i := range selection(a, c) {
		if int64(len(o.res.Rows)) >= lim.MaxResultRows {
			o.res.Truncated = &LimitError{Kind: LimitResultRows, Limit: lim.MaxResultRows}
			return false, nil
		}
		row := make([]any, len(c.cols))
		size := int64(2) // [], and a comma after each value or row
		mem := int64(24 + 16*len(row))
		for k, v := range c.cols {
			row[k] = jsonValue(v, int(i))
			var js, m int64
			js, m, o.buf = valueSize(row[k], o.buf)
			size += js + 1
			mem += m
		}
		if o.bytes+size > lim.MaxResultBytes {
			o.res.Truncated = &LimitError{Kind: LimitResultBytes, Limit: lim.MaxResultBytes}
			return false, nil
		}
		if !o.b.ok() || !o.b.charge(mem, "result") {
			return false, o.b.err
		}
		o.bytes += size
		o.res.Rows = append(o.res.Rows, row)
	}
	return true, nil
}

// valueSize estimates the length in JSON of a result value and the memory
// it holds beyond its slot in the row. buf is scratch for formatting reals.
func valueSize(v any, buf []byte) (js, mem int64, _ []byte) {
	switch v := v.(type) {
	case nil:
		return 4, 0, buf
	case bool:
		if v {
			return 4, 0, buf
		}
		return 5, 0, buf
	case int64:
		buf = strconv.AppendInt(buf[:0], v, 10)
		return int64(len(buf)), 8, buf
	case float64:
		buf = strconv.AppendFloat(buf[:0], v, 'g', -1, 64)
		return int64(len(buf)), 8, buf
	case string:
		n := int64(len(v)) + 2
		for i := 0; i < len(v); i++ {
			if c := v[i]; c < 0x20 || c == '"' || c == '\\' {
				n += 5 // at most \u00XX
			}
		}
		return n, int64(len(v)) + 16, buf
	}
	return 4, 0, buf
}

func (o *resultSink) finish(a *arena) error { return nil }
