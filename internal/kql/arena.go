package kql

import "unsafe"

// pool hands out scratch slices that live until the next reset, or until
// a release to a mark taken before them. The executor resets it between
// batches, so steady-state evaluation does not allocate. Slices are sized
// to the request (rounded up to a power of two below 1024), so that a
// small chunk costs little scratch.
type pool[T any] struct {
	bufs [][]T
	used int
}

// get returns a slice of n (garbage) values and the bytes newly allocated.
func (p *pool[T]) get(n int) ([]T, int64) {
	if p.used < len(p.bufs) && cap(p.bufs[p.used]) >= n {
		b := p.bufs[p.used][:n]
		p.used++
		return b, 0
	}
	c := n
	if c < 1024 {
		c = 8
		for c < n {
			c *= 2
		}
	}
	b := make([]T, n, c)
	var zero T
	size := int64(c) * int64(unsafe.Sizeof(zero))
	if p.used < len(p.bufs) {
		size -= int64(cap(p.bufs[p.used])) * int64(unsafe.Sizeof(zero))
		p.bufs[p.used] = b
	} else {
		p.bufs = append(p.bufs, b)
	}
	p.used++
	return b, size
}

// slab hands out single values, such as vector headers, from chunks.
type slab[T any] struct {
	chunks [][]T
	used   int
}

const slabChunk = 256

func (s *slab[T]) get() (*T, int64) {
	c, i := s.used/slabChunk, s.used%slabChunk
	var size int64
	if c == len(s.chunks) {
		s.chunks = append(s.chunks, make([]T, slabChunk))
		var zero T
		size = slabChunk * int64(unsafe.Sizeof(zero))
	}
	s.used++
	p := &s.chunks[c][i]
	var zero T
	*p = zero
	return p, size
}

// arena is the per-run scratch memory of the executor. What it allocates
// is charged to the run's budget (none at compile time, when constants
// are folded) and held until the run ends, as it is reused.
type arena struct {
	ints  pool[int64]
	reals pool[float64]
	strs  pool[string]
	bools pool[bool]
	words pool[uint64]
	sels  pool[int32]
	vptrs pool[*Vector]
	vecs  slab[Vector]
	ident []int32
	// consts holds constants expanded to vectors, for the whole run: they
	// are not scratch, so that a release cannot reclaim them.
	consts map[*constNode]*Vector
	env    *runEnv // the run's context, source and caches (pipeline.go)
	b      *budget
	op     string // the operator at work, named in memory LimitErrors
	// failed is where allocation stood when the budget ran out: from then
	// on the arena hands out the same memory again (see grew).
	failed *mark
}

// mark is a point in the arena's allocations to release back to.
type mark struct{ ints, reals, strs, bools, words, sels, ptrs, vecs int }

// mark returns the current point of allocation.
func (a *arena) mark() mark {
	return mark{a.ints.used, a.reals.used, a.strs.used, a.bools.used, a.words.used, a.sels.used, a.vptrs.used, a.vecs.used}
}

// release makes everything allocated since m reusable. Nothing allocated
// since m may be used afterwards.
func (a *arena) release(m mark) {
	a.ints.used, a.reals.used, a.strs.used, a.bools.used = m.ints, m.reals, m.strs, m.bools
	a.words.used, a.sels.used, a.vptrs.used, a.vecs.used = m.words, m.sels, m.ptrs, m.vecs
}

func (a *arena) reset() { a.release(mark{}) }

// grew charges n newly allocated bytes of scratch. Once the budget is
// exceeded, the arena stops growing: the run is failing, and until its
// operators notice, every allocation reuses the memory of those made
// since the failure, so that an expression being evaluated cannot
// allocate much more. Their results are garbage, and never returned.
func (a *arena) grew(n int64) {
	if n == 0 || a.b == nil {
		return
	}
	if !a.b.charge(n, a.op) && a.failed == nil {
		m := a.mark()
		a.failed = &m
	}
}

// recycle rewinds allocation to the point of failure, if the run failed.
func (a *arena) recycle() {
	if a.failed != nil {
		a.release(*a.failed)
	}
}

// enter names the operator at work and returns the one it replaces, for
// leave: defer a.leave(a.enter("sort")).
func (a *arena) enter(op string) string {
	prev := a.op
	a.op = op
	return prev
}

func (a *arena) leave(prev string) { a.op = prev }

// ok reports whether the run may go on (see budget.ok).
func (a *arena) ok() bool { return a.b.ok() }

// vec returns a scratch vector of type t with n (garbage) values.
func (a *arena) vec(t Type, n int) *Vector {
	a.recycle()
	v, size := a.vecs.get()
	v.Type = t
	var more int64
	switch t.storage() {
	case storeInt:
		v.Int, more = a.ints.get(n)
	case storeReal:
		v.Real, more = a.reals.get(n)
	case storeStr:
		v.Str, more = a.strs.get(n)
	case storeBool:
		v.Bool, more = a.bools.get(n)
	}
	a.grew(size + more)
	return v
}

// nulls returns a zeroed scratch bitmap for n rows.
func (a *arena) nulls(n int) Bitmap {
	a.recycle()
	b, size := a.words.get((n + 63) >> 6)
	a.grew(size)
	clear(b)
	return b
}

// sel returns an empty scratch selection with capacity n.
func (a *arena) sel(n int) []int32 {
	s, size := a.sels.get(n)
	a.grew(size)
	return s[:0]
}

// ptrs returns n (garbage) scratch vector pointers.
func (a *arena) ptrs(n int) []*Vector {
	a.recycle()
	p, size := a.vptrs.get(n)
	a.grew(size)
	return p
}

// all returns the identity selection 0..n-1. It must not be modified.
func (a *arena) all(n int) []int32 {
	if len(a.ident) < n {
		old := cap(a.ident)
		a.ident = make([]int32, max(n, 8192))
		for i := range a.ident {
			a.ident[i] = int32(i)
		}
		a.grew(4 * int64(cap(a.ident)-old))
	}
	return a.ident[:n]
}

// constant returns the vector of at least n values of constant e, made
// once per run and grown as needed.
func (a *arena) constant(e *constNode, n int) *Vector {
	if v, ok := a.consts[e]; ok && v.Len() >= n {
		return v
	}
	n = max(n, 8)
	v := NewVector(e.t, n)
	size := vectorBytes(&v)
	if e.v.null {
		v.Nulls = NewBitmap(n)
		for i := range n {
			v.Nulls.Set(i)
		}
		size += 8 * int64(len(v.Nulls))
	}
	switch e.t.storage() {
	case storeInt:
		for i := range v.Int {
			v.Int[i] = e.v.i
		}
	case storeReal:
		for i := range v.Real {
			v.Real[i] = e.v.f
		}
	case storeStr:
		for i := range v.Str {
			v.Str[i] = e.v.s
		}
		size += int64(len(e.v.s)) // shared by every value
	case storeBool:
		for i := range v.Bool {
			v.Bool[i] = e.v.b
		}
	}
	if a.consts == nil {
		a.consts = make(map[*constNode]*Vector)
	}
	if old, ok := a.consts[e]; ok {
		size -= vectorBytes(old)
	}
	a.consts[e] = &v
	a.grew(size)
	return &v
}

// vectorBytes estimates the memory of a vector's value slices by their
// capacity; string contents are not counted.
func vectorBytes(v *Vector) int64 {
	return 8*int64(cap(v.Int)) + 8*int64(cap(v.Real)) + 16*int64(cap(v.Str)) + int64(cap(v.Bool)) + 8*int64(cap(v.Nulls))
}
