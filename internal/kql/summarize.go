package kql

import (
	"encoding/binary"
	"math"
	"math/bits"
)

// summarizeOp groups rows and updates aggregate states column-at-a-time:
// first a group id per selected row, then one pass per aggregate. The
// memory of the groups and states is charged after each batch.
type summarizeOp struct {
	s       *summarizeStage
	g       grouper
	aggs    []aggState
	gids    []int32
	charged int64
	next    operator
}

func (s *summarizeStage) operator(next operator) operator {
	o := &summarizeOp{s: s, next: next}
	o.g.init(s.by)
	for _, spec := range s.aggs {
		o.aggs = append(o.aggs, newAggState(spec))
	}
	return o
}

// account charges the change in the memory the operator holds.
func (o *summarizeOp) account(a *arena) bool {
	held := o.g.held + 4*int64(cap(o.gids))
	for _, st := range o.aggs {
		held += st.bytes()
	}
	ok := a.b.charge(held-o.charged, "summarize")
	o.charged = held
	return ok
}

func (o *summarizeOp) push(a *arena, c *chunk) (bool, error) {
	defer a.leave(a.enter("summarize"))
	sel := selection(a, c)
	keys := make([]*Vector, len(o.s.by))
	for i, e := range o.s.by {
		keys[i] = e.eval(a, c, sel)
	}
	if a.b.err != nil {
		return false, a.b.err
	}
	o.gids = o.g.assign(keys, sel, o.gids[:0])
	for _, st := range o.aggs {
		st.update(a, c, sel, o.gids, o.g.n)
	}
	if !o.account(a) {
		return false, a.b.err
	}
	return true, nil
}

func (o *summarizeOp) finish(a *arena) error {
	n := o.g.n
	if len(o.s.by) == 0 && n == 0 {
		// Without grouping, summarize yields one row even for no input.
		n = 1
		for _, st := range o.aggs {
			st.update(a, &chunk{}, nil, nil, 1)
		}
	}
	cols := make([]*Vector, 0, len(o.s.out))
	cols = append(cols, o.g.keys...)
	var results int64
	for _, st := range o.aggs {
		v := st.result(n)
		results += vectorBytes(v)
		cols = append(cols, v)
	}
	if !a.b.charge(results, "summarize") {
		return a.b.err
	}
	if n > 0 {
		if _, err := o.next.push(a, &chunk{n: n, cols: cols}); err != nil {
			return err
		}
	}
	// What follows copied the rows it keeps.
	a.b.charge(-results-o.charged, "summarize")
	o.g, o.aggs, o.gids, o.charged = grouper{}, nil, nil, 0
	return o.next.finish(a)
}

// grouper maps key tuples to dense group ids and keeps each group's key.
type grouper struct {
	n    int
	keys []*Vector // one value per group per key
	strs map[string]int32
	// recent caches string keys seen lately, by length and first byte, in
	// front of strs. Values decoded from a column dictionary share their
	// bytes, so the equality check usually ends at the pointer; it is
	// still a comparison of contents, so a stale entry is only a miss.
	recent [256]strGroup
	// words groups a single int or real key by its 64 bits (a real's
	// IEEE bits, as encodeKey does), with wrecent, a direct-mapped cache
	// of recent keys, in front.
	words   map[uint64]int32
	wrecent [64]wordGroup
	null    int32 // group of the null key in the single-word path, or -1
	multi   map[string]int32
	buf     []byte
	one     [1]int32
	held    int64 // bytes of keys and map entries
}

// mapEntryBytes estimates the memory of a map entry beyond its key's
// contents.
const mapEntryBytes = 48

// wordGroup is an entry of grouper.wrecent.
type wordGroup struct {
	key uint64
	id  int32
	ok  bool
}

// strGroup is an entry of grouper.recent.
type strGroup struct {
	key string
	id  int32
	ok  bool
}

func (g *grouper) init(by []cexpr) {
	g.null = -1
	for _, e := range by {
		v := NewVector(e.typ(), 0)
		g.keys = append(g.keys, &v)
	}
	switch {
	case len(by) == 1 && by[0].typ().storage() == storeStr:
		g.strs = map[string]int32{}
	case len(by) == 1 && (by[0].typ().storage() == storeInt || by[0].typ().storage() == storeReal):
		g.words = map[uint64]int32{}
	default:
		g.multi = map[string]int32{}
	}
}

// newGroup records the key of row i as a new group.
func (g *grouper) newGroup(vecs []*Vector, i int32) int32 {
	id := int32(g.n)
	g.one[0] = i
	for k, v := range vecs {
		g.held += appendValues(g.keys[k], v, g.one[:], g.n)
	}
	g.held += mapEntryBytes
	g.n++
	return id
}

func (g *grouper) assign(vecs []*Vector, sel []int32, out []int32) []int32 {
	switch {
	case len(vecs) == 0:
		if g.n == 0 {
			g.n = 1
		}
		for range sel {
			out = append(out, 0)
		}
	case g.strs != nil:
		v := vecs[0]
		for _, i := range sel {
			s := v.Str[i]
			slot := len(s) & 0xff
			if len(s) > 0 {
				slot ^= int(s[0])
			}
			if r := &g.recent[slot]; r.ok && r.key == s {
				out = append(out, r.id)
				continue
			}
			id, ok := g.strs[s]
			if !ok {
				id = g.newGroup(vecs, i)
				g.strs[s] = id
			}
			g.recent[slot] = strGroup{key: s, id: id, ok: true}
			out = append(out, id)
		}
	case g.words != nil:
		v := vecs[0]
		real := v.Type.storage() == storeReal
		for _, i := range sel {
			if v.Nulls != nil && v.Nulls.Get(int(i)) {
				if g.null < 0 {
					g.null = g.newGroup(vecs, i)
				}
				out = append(out, g.null)
				continue
			}
			var k uint64
			if real {
				k = math.Float64bits(v.Real[i])
			} else {
				k = uint64(v.Int[i])
			}
			r := &g.wrecent[(k*0x9e3779b97f4a7c15)>>58]
			if r.ok && r.key == k {
				out = append(out, r.id)
				continue
			}
			id, ok := g.words[k]
			if !ok {
				id = g.newGroup(vecs, i)
				g.words[k] = id
			}
			*r = wordGroup{key: k, id: id, ok: true}
			out = append(out, id)
		}
	default:
		for _, i := range sel {
			g.buf = encodeKey(g.buf[:0], vecs, int(i))
			id, ok := g.multi[string(g.buf)]
			if !ok {
				id = g.newGroup(vecs, i)
				g.multi[string(g.buf)] = id
				g.held += int64(len(g.buf))
			}
			out = append(out, id)
		}
	}
	return out
}

// encodeKey appends an unambiguous encoding of row i of vecs.
func encodeKey(dst []byte, vecs []*Vector, i int) []byte {
	for _, v := range vecs {
		if v.IsNull(i) {
			dst = append(dst, 0)
			continue
		}
		dst = append(dst, 1)
		switch v.Type.storage() {
		case storeInt:
			dst = binary.LittleEndian.AppendUint64(dst, uint64(v.Int[i]))
		case storeReal:
			dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(v.Real[i]))
		case storeStr:
			dst = binary.AppendUvarint(dst, uint64(len(v.Str[i])))
			dst = append(dst, v.Str[i]...)
		case storeBool:
			dst = append(dst, byte(b2i(v.Bool[i])))
		}
	}
	return dst
}

// aggState is the running state of one aggregate over all groups.
type aggState interface {
	// update folds the selected rows in; gids[k] is the group of sel[k]
	// and groups is the current group count.
	update(a *arena, c *chunk, sel []int32, gids []int32, groups int)
	// result returns one value per group.
	result(groups int) *Vector
	// bytes estimates the memory the state holds.
	bytes() int64
}

func newAggState(spec aggSpec) aggState {
	switch spec.kind {
	case "count":
		return &countAgg{}
	case "countif":
		return &countAgg{pred: spec.arg}
	case "sum", "avg":
		return &sumAgg{spec: spec}
	case "min", "max":
		return &minMaxAgg{spec: spec, max: spec.kind == "max"}
	}
	if st := newAggStateMore(spec); st != nil {
		return st // aggs_more.go
	}
	switch {
	default: // dcount
		return &dcountAgg{arg: spec.arg}
	}
}

func grow[T any](s []T, n int) []T {
	for len(s) < n {
		var zero T
		s = append(s, zero)
	}
	return s
}

// countAgg is count() and countif(pred).
type countAgg struct {
	pred   cexpr
	counts []int64
}

func (s *countAgg) update(a *arena, c *chunk, sel []int32, gids []int32, groups int) {
	s.counts = grow(s.counts, groups)
	if s.pred == nil {
		for _, g := range gids {
			s.counts[g]++
		}
		return
	}
	if len(sel) == 0 {
		return
	}
	pos := 0
	for _, i := range filter(a, s.pred, c, sel) {
		for sel[pos] != i {
			pos++
		}
		s.counts[gids[pos]]++
	}
}

func (s *countAgg) bytes() int64 { return 8 * int64(cap(s.counts)) }

func (s *countAgg) result(groups int) *Vector {
	s.counts = grow(s.counts, groups)
	return &Vector{Type: TypeLong, Int: s.counts[:groups]}
}

// sumAgg is sum() and avg(), skipping nulls. Timespans are summed in 128
// bits, so that avg is exact and a sum beyond the timespan range is null.
type sumAgg struct {
	spec  aggSpec
	ints  []int64 // long sums; low words of timespan sums
	his   []int64 // high words of timespan sums
	reals []float64
	n     []int64
}

func (s *sumAgg) grow(groups int) {
	s.ints, s.reals, s.n = grow(s.ints, groups), grow(s.reals, groups), grow(s.n, groups)
	if s.spec.arg.typ() == TypeTimespan {
		s.his = grow(s.his, groups)
	}
}

func (s *sumAgg) bytes() int64 {
	return 8 * int64(cap(s.ints)+cap(s.his)+cap(s.reals)+cap(s.n))
}

func (s *sumAgg) update(a *arena, c *chunk, sel []int32, gids []int32, groups int) {
	s.grow(groups)
	if len(sel) == 0 {
		return
	}
	v := s.spec.arg.eval(a, c, sel)
	isReal := v.Type.storage() == storeReal
	isSpan := v.Type == TypeTimespan
	for k, i := range sel {
		if v.IsNull(int(i)) {
			continue
		}
		g := gids[k]
		s.n[g]++
		switch {
		case isReal:
			s.reals[g] += v.Real[i]
		case isSpan:
			s.his[g], s.ints[g] = add128(s.his[g], s.ints[g], v.Int[i])
		default:
			s.ints[g] += v.Int[i]
		}
	}
}

// add128 adds x to the 128-bit two's-complement integer hi:lo.
func add128(hi, lo, x int64) (int64, int64) {
	sum, carry := bits.Add64(uint64(lo), uint64(x), 0)
	return hi + int64(carry) + x>>63, int64(sum)
}

// div128 divides hi:lo by n > 0, truncating toward zero; the quotient must
// fit in an int64, as the mean of int64 values does.
func div128(hi, lo, n int64) int64 {
	neg := hi < 0
	uhi, ulo := uint64(hi), uint64(lo)
	if neg {
		ulo, uhi = -ulo, ^uhi
		if ulo == 0 {
			uhi++
		}
	}
	// The quotient's high word, uhi/n, is zero.
	qlo, _ := bits.Div64(uhi%uint64(n), ulo, uint64(n))
	if neg {
		return -int64(qlo)
	}
	return int64(qlo)
}

func (s *sumAgg) result(groups int) *Vector {
	s.grow(groups)
	out := NewVector(s.spec.t, groups)
	isReal := s.spec.arg.typ() == TypeReal
	isSpan := s.spec.arg.typ() == TypeTimespan
	setNull := func(g int) {
		if out.Nulls == nil {
			out.Nulls = NewBitmap(groups)
		}
		out.Nulls.Set(g)
	}
	for g := range groups {
		if s.spec.kind == "sum" {
			switch {
			case isReal:
				out.Real[g] = s.reals[g]
			case isSpan && s.his[g] != s.ints[g]>>63:
				setNull(g) // beyond the timespan range
			default:
				out.Int[g] = s.ints[g]
			}
			continue
		}
		if s.n[g] == 0 {
			setNull(g)
			continue
		}
		switch {
		case isSpan:
			out.Int[g] = div128(s.his[g], s.ints[g], s.n[g])
		case isReal:
			out.Real[g] = s.reals[g] / float64(s.n[g])
		default:
			out.Real[g] = float64(s.ints[g]) / float64(s.n[g])
		}
	}
	return &out
}

// minMaxAgg is min() and max(), skipping nulls.
type minMaxAgg struct {
	spec aggSpec
	max  bool
	vals *Vector
	seen []bool
	strs int64 // bytes of the string values kept
}

func (s *minMaxAgg) bytes() int64 {
	n := int64(cap(s.seen)) + s.strs
	if s.vals != nil {
		n += vectorBytes(s.vals)
	}
	return n
}

func (s *minMaxAgg) update(a *arena, c *chunk, sel []int32, gids []int32, groups int) {
	if s.vals == nil {
		v := NewVector(s.spec.t, 0)
		s.vals = &v
	}
	s.seen = grow(s.seen, groups)
	switch v := s.vals; v.Type.storage() {
	case storeInt:
		v.Int = grow(v.Int, groups)
	case storeReal:
		v.Real = grow(v.Real, groups)
	case storeStr:
		v.Str = grow(v.Str, groups)
	case storeBool:
		v.Bool = grow(v.Bool, groups)
	}
	if len(sel) == 0 {
		return
	}
	v := s.spec.arg.eval(a, c, sel)
	want := 1
	if !s.max {
		want = -1
	}
	for k, i := range sel {
		if v.IsNull(int(i)) {
			continue
		}
		g := gids[k]
		if !s.seen[g] || compareAcross(v, int(i), s.vals, int(g)) == want {
			s.seen[g] = true
			if v.Type.storage() == storeStr {
				s.strs += int64(len(v.Str[i]) - len(s.vals.Str[g]))
			}
			setValue(s.vals, int(g), v, int(i))
		}
	}
}

// compareAcross compares x[i] with y[j] (same storage, non-null).
func compareAcross(x *Vector, i int, y *Vector, j int) int {
	switch x.Type.storage() {
	case storeInt:
		return cmpOrdered(x.Int[i], y.Int[j])
	case storeReal:
		return cmpOrdered(x.Real[i], y.Real[j])
	case storeStr:
		return cmpOrdered(x.Str[i], y.Str[j])
	case storeBool:
		return cmpOrdered(b2i(x.Bool[i]), b2i(y.Bool[j]))
	}
	return 0
}

func setValue(dst *Vector, j int, src *Vector, i int) {
	switch src.Type.storage() {
	case storeInt:
		dst.Int[j] = src.Int[i]
	case storeReal:
		dst.Real[j] = src.Real[i]
	case storeStr:
		dst.Str[j] = src.Str[i]
	case storeBool:
		dst.Bool[j] = src.Bool[i]
	}
}

func (s *minMaxAgg) result(groups int) *Vector {
	s.update(nil, nil, nil, nil, groups)
	out := *s.vals
	for g := range groups {
		if !s.seen[g] {
			if out.Nulls == nil {
				out.Nulls = NewBitmap(groups)
			}
			out.Nulls.Set(g)
		}
	}
	return &out
}

// dcountAgg counts distinct non-null values exactly.
type dcountAgg struct {
	arg  cexpr
	sets []map[string]struct{}
	buf  []byte
	held int64 // bytes of the sets' entries
}

func (s *dcountAgg) bytes() int64 { return 8*int64(cap(s.sets)) + s.held }

func (s *dcountAgg) update(a *arena, c *chunk, sel []int32, gids []int32, groups int) {
	s.sets = grow(s.sets, groups)
	if len(sel) == 0 {
		return
	}
	v := s.arg.eval(a, c, sel)
	vecs := []*Vector{v}
	for k, i := range sel {
		if v.IsNull(int(i)) {
			continue
		}
		g := gids[k]
		if s.sets[g] == nil {
			s.sets[g] = map[string]struct{}{}
			s.held += mapEntryBytes
		}
		s.buf = encodeKey(s.buf[:0], vecs, int(i))
		if _, ok := s.sets[g][string(s.buf)]; !ok {
			s.sets[g][string(s.buf)] = struct{}{}
			s.held += mapEntryBytes + int64(len(s.buf))
		}
	}
}

func (s *dcountAgg) result(groups int) *Vector {
	s.sets = grow(s.sets, groups)
	out := NewVector(TypeLong, groups)
	for g := range groups {
		out.Int[g] = int64(len(s.sets[g]))
	}
	return &out
}
