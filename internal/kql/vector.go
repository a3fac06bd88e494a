package kql

// Vector is a typed column of values. Exactly one of the value slices is
// used, chosen by Type:
//
//	Int   int, long, datetime, timespan
//	Real  real
//	Str   string, guid (canonical lower-case text), dynamic (JSON text)
//	Bool  bool
//
// A datetime is a count of 100-nanosecond ticks since the Unix epoch (UTC)
// between MinDatetimeTicks and MaxDatetimeTicks (see TicksFromTime and
// TimeFromTicks); a timespan is a count of ticks.
//
// Nulls marks null values; a nil bitmap means no value is null. Strings are
// never null in Kusto: a string column's null is the empty string.
type Vector struct {
	Type  Type
	Int   []int64
	Real  []float64
	Str   []string
	Bool  []bool
	Nulls Bitmap
}

// Bitmap is a bit set indexed by row: bit i of word i/64 is row i.
type Bitmap []uint64

// Get reports whether bit i is set. It is false beyond the bitmap's end.
func (b Bitmap) Get(i int) bool {
	w := i >> 6
	return w < len(b) && b[w]&(1<<(uint(i)&63)) != 0
}

// Set sets bit i. The bitmap must be long enough (see NewBitmap).
func (b Bitmap) Set(i int) { b[i>>6] |= 1 << (uint(i) & 63) }

// NewBitmap returns a zeroed bitmap able to hold n bits.
func NewBitmap(n int) Bitmap { return make(Bitmap, (n+63)>>6) }

// NewVector returns a vector of type t with n zero, non-null values.
func NewVector(t Type, n int) Vector {
	v := Vector{Type: t}
	switch t.storage() {
	case storeInt:
		v.Int = make([]int64, n)
	case storeReal:
		v.Real = make([]float64, n)
	case storeStr:
		v.Str = make([]string, n)
	case storeBool:
		v.Bool = make([]bool, n)
	}
	return v
}

// IsNull reports whether value i is null.
func (v *Vector) IsNull(i int) bool { return v.Nulls != nil && v.Nulls.Get(i) }

// Len returns the number of values the vector holds.
func (v *Vector) Len() int {
	switch v.Type.storage() {
	case storeInt:
		return len(v.Int)
	case storeReal:
		return len(v.Real)
	case storeStr:
		return len(v.Str)
	case storeBool:
		return len(v.Bool)
	}
	return 0
}
