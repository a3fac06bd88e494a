package kql

// pool hands out scratch slices that live until the next reset. The
// executor resets it between batches, so steady-state evaluation does not
// allocate.
type pool[T any] struct {
	bufs [][]T
	used int
}

func (p *pool[T]) get(n int) []T {
	if p.used < len(p.bufs) && cap(p.bufs[p.used]) >= n {
		b := p.bufs[p.used][:n]
		p.used++
		return b
	}
	b := make([]T, n, max(n, 1024))
	if p.used < len(p.bufs) {
		p.bufs[p.used] = b
	} else {
		p.bufs = append(p.bufs, b)
	}
	p.used++
	return b
}

func (p *pool[T]) reset() { p.used = 0 }

// arena is the per-run scratch memory of the executor.
type arena struct {
	ints   pool[int64]
	reals  pool[float64]
	strs   pool[string]
	bools  pool[bool]
	words  pool[uint64]
	sels   pool[int32]
	vecs   pool[Vector]
	ident  []int32
	consts map[*constNode]*Vector
	env    *runEnv // the run's context, source and caches (pipeline.go)
}

func (a *arena) reset() {
	a.ints.reset()
	a.reals.reset()
	a.strs.reset()
	a.bools.reset()
	a.words.reset()
	a.sels.reset()
	a.vecs.reset()
	clear(a.consts)
}

// vec returns a scratch vector of type t with n (garbage) values.
func (a *arena) vec(t Type, n int) *Vector {
	vs := a.vecs.get(1)
	v := &vs[0]
	*v = Vector{Type: t}
	switch t.storage() {
	case storeInt:
		v.Int = a.ints.get(n)
	case storeReal:
		v.Real = a.reals.get(n)
	case storeStr:
		v.Str = a.strs.get(n)
	case storeBool:
		v.Bool = a.bools.get(n)
	}
	return v
}

// nulls returns a zeroed scratch bitmap for n rows.
func (a *arena) nulls(n int) Bitmap {
	b := a.words.get((n + 63) >> 6)
	clear(b)
	return b
}

// sel returns an empty scratch selection with capacity n.
func (a *arena) sel(n int) []int32 { return a.sels.get(n)[:0] }

// all returns the identity selection 0..n-1. It must not be modified.
func (a *arena) all(n int) []int32 {
	if len(a.ident) < n {
		a.ident = make([]int32, max(n, 8192))
		for i := range a.ident {
			a.ident[i] = int32(i)
		}
	}
	return a.ident[:n]
}
