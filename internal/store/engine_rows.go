package store

import (
	"encoding/binary"
	"fmt"
	"time"
)

// Rows is a columnar batch of rows of one workspace table. TimeGenerated
// holds ticks (package datetime), each within Kusto's range, as do the
// values of DateTime columns; every column of Columns (not TimeGenerated
// itself) has len(TimeGenerated) values in the slice of its type's physical
// form, and Nulls is nil or has the same length.
type Rows struct {
	Workspace     string
	Table         string
	TimeGenerated []int64
	Columns       []Column
}

// block validates r and returns it as a Block (TimeGenerated first). The
// Block shares r's slices.
func (r *Rows) block() (*Block, error) {
	if r.Workspace == "" || r.Table == "" {
		return nil, fmt.Errorf("store: rows need a workspace and a table")
	}
	if len(r.TimeGenerated) > MaxBlockRows {
		return nil, fmt.Errorf("store: %d rows in one batch, at most %d", len(r.TimeGenerated), MaxBlockRows)
	}
	b := &Block{Rows: len(r.TimeGenerated), Columns: make([]Column, 0, len(r.Columns)+1)}
	b.Columns = append(b.Columns, Column{Name: TimeColumn, Type: TypeDateTime, Ints: r.TimeGenerated})
	for i := range r.Columns {
		if r.Columns[i].Name == TimeColumn {
			return nil, fmt.Errorf("store: table %q: %s goes in Rows.TimeGenerated, not Columns", r.Table, TimeColumn)
		}
		b.Columns = append(b.Columns, r.Columns[i])
	}
	if err := b.Validate(); err != nil {
		return nil, fmt.Errorf("store: table %q: %w", r.Table, err)
	}
	return b, nil
}

// WAL rows record versions: the same layout, the unit of the block's times
// differs. Version 1 (written by earlier versions) holds Unix nanoseconds
// and is converted to ticks on replay; version 2 holds ticks and is the only
// one written.
const (
	rowsRecordVersion1 = 1
	rowsRecordVersion2 = 2
)

// marshalRowsRecord encodes one WAL record: version byte 2, uvarint length
// + workspace, uvarint length + table, then the block (format v1, times in
// ticks). With nanos set (an engine writing earlier formats for upgrade
// tests) it writes version 1, times in Unix nanoseconds.
func marshalRowsRecord(dst []byte, ws, table string, b *Block, nanos bool) ([]byte, error) {
	version := byte(rowsRecordVersion2)
	if nanos {
		nb, err := b.nanosFromTicks()
		if err != nil {
			return nil, err
		}
		b, version = nb, rowsRecordVersion1
	}
	dst = append(dst, version)
	dst = binary.AppendUvarint(dst, uint64(len(ws)))
	dst = append(dst, ws...)
	dst = binary.AppendUvarint(dst, uint64(len(table)))
	dst = append(dst, table...)
	return b.marshal(dst), nil
}

// unmarshalRowsRecord decodes a WAL record of either version, with times in
// ticks.
func unmarshalRowsRecord(src []byte) (ws, table string, b *Block, err error) {
	if len(src) == 0 || src[0] != rowsRecordVersion1 && src[0] != rowsRecordVersion2 {
		return "", "", nil, fmt.Errorf("%w: WAL rows record version", ErrUnknownVersion)
	}
	d := &decoder{src: src[1:], ctx: "WAL rows record"}
	ws = string(d.bytes(d.uvarint()))
	table = string(d.bytes(d.uvarint()))
	if d.err != nil {
		return "", "", nil, d.err
	}
	b, err = unmarshalBlock(d.src, nil)
	if err != nil {
		return "", "", nil, err
	}
	if src[0] == rowsRecordVersion1 {
		b.ticksFromNanos()
	}
	if err := b.Validate(); err != nil {
		return "", "", nil, fmt.Errorf("%w: WAL rows record: %v", ErrCorrupt, err)
	}
	return ws, table, b, nil
}

// tkey names a table of a workspace.
type tkey struct{ ws, table string }

// tableSchema is the ordered column list of a table in one account.
type tableSchema struct {
	cols  []ColumnSchema
	types map[string]ColumnType
	dirty bool // changed since last sealed into the catalog
}

func (s *tableSchema) add(name string, t ColumnType) {
	if _, ok := s.types[name]; ok {
		return
	}
	s.types[name] = t
	s.cols = append(s.cols, ColumnSchema{Name: name, Type: t})
	s.dirty = true
}

// buffer holds the buffered rows of one table of one account, column by
// column. Rows are only ever appended; a snapshot is a prefix of every
// slice, which later appends do not modify.
type buffer struct {
	rows    int
	times   []int64
	cols    []Column
	idx     map[string]int
	firstAt time.Time
}

func newBuffer(now time.Time) *buffer {
	return &buffer{idx: map[string]int{}, firstAt: now}
}

// add appends the rows of b (validated, TimeGenerated first). Columns new to
// the buffer are null in earlier rows and vice versa. A column whose type
// differs from the buffer's is dropped (Append rejects that before writing
// the WAL; this is only reachable on replay of inconsistent data).
func (f *buffer) add(b *Block) {
	n := b.Rows
	seen := make([]bool, len(f.cols))
	for i := range b.Columns {
		c := &b.Columns[i]
		if c.Name == TimeColumn {
			f.times = append(f.times, c.Ints...)
			continue
		}
		j, ok := f.idx[c.Name]
		if !ok {
			j = len(f.cols)
			f.idx[c.Name] = j
			f.cols = append(f.cols, Column{Name: c.Name, Type: c.Type})
			seen = append(seen, false)
			padColumn(&f.cols[j], f.rows)
		}
		dst := &f.cols[j]
		if dst.Type != c.Type {
			continue
		}
		seen[j] = true
		if c.Nulls != nil || dst.Nulls != nil {
			if dst.Nulls == nil {
				dst.Nulls = make([]bool, f.rows, f.rows+n)
			}
			if c.Nulls != nil {
				dst.Nulls = append(dst.Nulls, c.Nulls...)
			} else {
				dst.Nulls = append(dst.Nulls, make([]bool, n)...)
			}
		}
		dst.Ints = append(dst.Ints, c.Ints...)
		dst.Floats = append(dst.Floats, c.Floats...)
		dst.Bools = append(dst.Bools, c.Bools...)
		dst.Strings = append(dst.Strings, c.Strings...)
	}
	f.rows += n
	for j, ok := range seen {
		if !ok {
			padColumn(&f.cols[j], f.rows)
		}
	}
}

// padColumn extends c with null rows up to n rows.
func padColumn(c *Column, n int) {
	have := c.length()
	if have >= n {
		return
	}
	k := n - have
	if c.Nulls == nil {
		c.Nulls = make([]bool, have, n)
	}
	for range k {
		c.Nulls = append(c.Nulls, true)
	}
	switch c.Type.physical() {
	case physInts:
		c.Ints = append(c.Ints, make([]int64, k)...)
	case physFloats:
		c.Floats = append(c.Floats, make([]float64, k)...)
	case physBools:
		c.Bools = append(c.Bools, make([]bool, k)...)
	case physStrings:
		c.Strings = append(c.Strings, make([]string, k)...)
	}
}

// sliceColumn returns rows [lo, hi) of c, sharing memory.
func sliceColumn(c *Column, lo, hi int) Column {
	out := Column{Name: c.Name, Type: c.Type}
	if c.Nulls != nil {
		out.Nulls = c.Nulls[lo:hi:hi]
	}
	switch c.Type.physical() {
	case physInts:
		out.Ints = c.Ints[lo:hi:hi]
	case physFloats:
		out.Floats = c.Floats[lo:hi:hi]
	case physBools:
		out.Bools = c.Bools[lo:hi:hi]
	case physStrings:
		out.Strings = c.Strings[lo:hi:hi]
	}
	return out
}

// gatherColumn returns the rows idx of c, copied.
func gatherColumn(c *Column, idx []int) Column {
	out := Column{Name: c.Name, Type: c.Type}
	if c.Nulls != nil {
		out.Nulls = make([]bool, len(idx))
		for k, i := range idx {
			out.Nulls[k] = c.Nulls[i]
		}
	}
	switch c.Type.physical() {
	case physInts:
		out.Ints = make([]int64, len(idx))
		for k, i := range idx {
			out.Ints[k] = c.Ints[i]
		}
	case physFloats:
		out.Floats = make([]float64, len(idx))
		for k, i := range idx {
			out.Floats[k] = c.Floats[i]
		}
	case physBools:
		out.Bools = make([]bool, len(idx))
		for k, i := range idx {
			out.Bools[k] = c.Bools[i]
		}
	case physStrings:
		out.Strings = make([]string, len(idx))
		for k, i := range idx {
			out.Strings[k] = c.Strings[i]
		}
	}
	return out
}

// bufView is an immutable snapshot of a buffer: the first rows rows.
type bufView struct {
	key   tkey
	rows  int
	times []int64
	cols  []Column
}

func (f *buffer) view(k tkey) bufView {
	v := bufView{key: k, rows: f.rows, times: f.times[:f.rows:f.rows], cols: make([]Column, len(f.cols))}
	for i := range f.cols {
		v.cols[i] = sliceColumn(&f.cols[i], 0, f.rows)
	}
	return v
}

// block returns rows [lo, hi) of the view as a Block with TimeGenerated and
// the named columns (all if cols is nil). Columns share the view's memory.
func (v *bufView) block(lo, hi int, cols map[string]bool) *Block {
	b := &Block{Rows: hi - lo}
	t := v.times[lo:hi:hi]
	b.Columns = append(b.Columns, Column{Name: TimeColumn, Type: TypeDateTime, Ints: t})
	for i := range v.cols {
		if cols == nil || cols[v.cols[i].Name] {
			b.Columns = append(b.Columns, sliceColumn(&v.cols[i], lo, hi))
		}
	}
	b.MinTime, b.MaxTime = t[0], t[0]
	for _, x := range t {
		b.MinTime = min(b.MinTime, x)
		b.MaxTime = max(b.MaxTime, x)
	}
	return b
}

// gather returns the rows idx of the view, in that order, as a Block with
// TimeGenerated and every column (copied).
func (v *bufView) gather(idx []int) *Block {
	b := &Block{Rows: len(idx), Columns: make([]Column, 0, len(v.cols)+1)}
	tc := Column{Name: TimeColumn, Type: TypeDateTime, Ints: make([]int64, len(idx))}
	for j, i := range idx {
		tc.Ints[j] = v.times[i]
	}
	b.Columns = append(b.Columns, tc)
	for c := range v.cols {
		b.Columns = append(b.Columns, gatherColumn(&v.cols[c], idx))
	}
	return b
}
