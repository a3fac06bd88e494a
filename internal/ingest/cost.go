package ingest

import "github.com/kustodian/kustodian/internal/admit"

// batchCost measures the memory a batch holds while it is decoded and keeps
// the request's admission grant at least that large, so a batch that turns
// out bigger than its first charge (sparse records over many columns cost
// far more per JSON byte than dense ones) is refused as it grows.
type batchCost struct {
	strings  int64 // bytes of the string values added so far
	rows     int   // rows since the last measurement
	measured int64 // strings at the last measurement
}

// Measurements happen every costRows rows or costStringBytes bytes of
// strings, whichever comes first: a batch outgrows its grant by at most
// that much before it is caught.
const (
	costRows        = 256
	costStringBytes = 1 << 20
	// stringOverhead is the header of a string in a slice plus the
	// average rounding of its allocation.
	stringOverhead = 16 + 8
)

// add accounts for one row's values and, now and then, resizes g.
func (c *batchCost) add(b *Batch, vals []value, g *admit.Grant) error {
	for i := range vals {
		if vals[i].typ == TypeString || vals[i].typ == TypeGUID {
			c.strings += int64(len(vals[i].s))
		}
	}
	if g == nil {
		return nil
	}
	c.rows++
	if c.rows < costRows && c.strings-c.measured < costStringBytes {
		return nil
	}
	c.rows, c.measured = 0, c.strings
	if n := c.bytes(b); n > g.Units() {
		return g.Resize(n)
	}
	return nil
}

// settle resizes g to the finished batch's size: it gives back what the
// first charge overestimated.
func (c *batchCost) settle(b *Batch, g *admit.Grant) error {
	if g == nil {
		return nil
	}
	return g.Resize(c.bytes(b))
}

// bytes estimates the memory the batch holds.
func (c *batchCost) bytes(b *Batch) int64 {
	n := int64(cap(b.TimeGenerated))*8 + c.strings
	for _, col := range b.Columns {
		n += int64(cap(col.Valid)) + int64(cap(col.Reals))*8 + int64(cap(col.Bools)) + int64(cap(col.Times))*8 +
			int64(cap(col.Strings))*stringOverhead
	}
	return n
}
