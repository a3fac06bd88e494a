package store

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/kustodian/kustodian/internal/datetime"
)

// ColumnType is the logical type of a column, as Log Analytics names them.
type ColumnType uint8

// Column types. Each is stored in one of four physical forms: Ints (Long,
// Int, DateTime and TimeSpan as ticks: 100 ns units, a DateTime counted
// from the Unix epoch in UTC, see package datetime), Floats (Real), Bools
// (Bool) and Strings (String, GUID, Dynamic as JSON text). Formats written
// before ticks (v1 and v2 segments, WAL records of version 1) hold
// nanoseconds instead; readers convert them (Block.ticksFromNanos).
const (
	TypeString   ColumnType = 1
	TypeLong     ColumnType = 2
	TypeReal     ColumnType = 3
	TypeBool     ColumnType = 4
	TypeDateTime ColumnType = 5
	TypeTimeSpan ColumnType = 6
	TypeGUID     ColumnType = 7
	TypeDynamic  ColumnType = 8
	TypeInt      ColumnType = 9
)

// TimeColumn is the column every block must have: type DateTime, no nulls,
// every value a datetime of Kusto's range (datetime.Min to datetime.Max).
// Block time ranges and catalog pruning use it.
const TimeColumn = "TimeGenerated"

// MaxBlockRows bounds the rows of one block.
const MaxBlockRows = 1 << 20

type physical uint8

const (
	physInts physical = iota + 1
	physFloats
	physBools
	physStrings
)

func (t ColumnType) physical() physical {
	switch t {
	case TypeLong, TypeInt, TypeDateTime, TypeTimeSpan:
		return physInts
	case TypeReal:
		return physFloats
	case TypeBool:
		return physBools
	case TypeString, TypeGUID, TypeDynamic:
		return physStrings
	}
	return 0
}

// String returns the Log Analytics name of the type.
func (t ColumnType) String() string {
	switch t {
	case TypeString:
		return "string"
	case TypeLong:
		return "long"
	case TypeReal:
		return "real"
	case TypeBool:
		return "bool"
	case TypeDateTime:
		return "datetime"
	case TypeTimeSpan:
		return "timespan"
	case TypeGUID:
		return "guid"
	case TypeDynamic:
		return "dynamic"
	case TypeInt:
		return "int"
	}
	return fmt.Sprintf("ColumnType(%d)", uint8(t))
}

// Column is one column of a Block. Exactly one value slice, the one of the
// type's physical form, has one element per row; null rows hold the zero
// value there. Nulls is nil when no value is null, else one flag per row.
type Column struct {
	Name    string
	Type    ColumnType
	Nulls   []bool
	Ints    []int64
	Floats  []float64
	Bools   []bool
	Strings []string
}

func (c *Column) length() int {
	switch c.Type.physical() {
	case physInts:
		return len(c.Ints)
	case physFloats:
		return len(c.Floats)
	case physBools:
		return len(c.Bools)
	case physStrings:
		return len(c.Strings)
	}
	return -1
}

// Block is a set of rows of one table, stored column by column. MinTime and
// MaxTime are the range of TimeColumn in ticks; Validate sets them.
type Block struct {
	Rows    int
	MinTime int64
	MaxTime int64
	Columns []Column
}

// Column returns the column called name, or nil.
func (b *Block) Column(name string) *Column {
	for i := range b.Columns {
		if b.Columns[i].Name == name {
			return &b.Columns[i]
		}
	}
	return nil
}

// Validate checks that the block is well formed (row count, column lengths,
// unique names, known types, a non-null DateTime TimeColumn, every non-null
// DateTime value within Kusto's range) and sets MinTime and MaxTime.
func (b *Block) Validate() error {
	if b.Rows <= 0 || b.Rows > MaxBlockRows {
		return fmt.Errorf("store: block has %d rows, want 1..%d", b.Rows, MaxBlockRows)
	}
	seen := make(map[string]bool, len(b.Columns))
	for i := range b.Columns {
		c := &b.Columns[i]
		if c.Name == "" || seen[c.Name] {
			return fmt.Errorf("store: block column %d: empty or duplicate name", i)
		}
		seen[c.Name] = true
		if c.Type.physical() == 0 {
			return fmt.Errorf("store: block column %d: unknown type %d", i, c.Type)
		}
		if n := c.length(); n != b.Rows {
			return fmt.Errorf("store: block column %d (%s) has %d values, want %d", i, c.Type, n, b.Rows)
		}
		if c.Nulls != nil && len(c.Nulls) != b.Rows {
			return fmt.Errorf("store: block column %d has %d null flags, want %d", i, len(c.Nulls), b.Rows)
		}
		if c.Type == TypeDateTime {
			for r, t := range c.Ints {
				if !datetime.Valid(t) && (c.Nulls == nil || !c.Nulls[r]) {
					return fmt.Errorf("store: block column %d row %d: a datetime outside Kusto's range 0001-01-01 to 9999-12-31", i, r)
				}
			}
		}
	}
	tc := b.Column(TimeColumn)
	if tc == nil || tc.Type != TypeDateTime {
		return fmt.Errorf("store: block has no %s column of type datetime", TimeColumn)
	}
	for _, null := range tc.Nulls {
		if null {
			return fmt.Errorf("store: block has a null %s", TimeColumn)
		}
	}
	b.MinTime, b.MaxTime = math.MaxInt64, math.MinInt64
	for _, t := range tc.Ints {
		b.MinTime = min(b.MinTime, t)
		b.MaxTime = max(b.MaxTime, t)
	}
	return nil
}

// ticksFromNanos converts, in place, a block decoded from a format that
// holds times in Unix nanoseconds (v1 and v2 segments, WAL records of
// version 1) to ticks: MinTime, MaxTime and every DateTime value (rounded
// towards minus infinity, which keeps order and the block's range) and
// TimeSpan value (towards zero). Nanoseconds always fit: ticks are coarser.
func (b *Block) ticksFromNanos() {
	b.MinTime, b.MaxTime = datetime.FromUnixNano(b.MinTime), datetime.FromUnixNano(b.MaxTime)
	for i := range b.Columns {
		b.Columns[i].ticksFromNanos()
	}
}

// ticksFromNanos converts, in place, the values of a DateTime or TimeSpan
// column from Unix nanoseconds to ticks (see Block.ticksFromNanos).
func (c *Column) ticksFromNanos() {
	switch c.Type {
	case TypeDateTime:
		for j, v := range c.Ints {
			c.Ints[j] = datetime.FromUnixNano(v)
		}
	case TypeTimeSpan:
		for j, v := range c.Ints {
			c.Ints[j] = datetime.SpanFromNanos(v)
		}
	}
}

// nanosFromTicks returns a copy of the validated block b with its times in
// Unix nanoseconds, as the formats of earlier versions hold them. Only
// writers of those formats use it (tests of upgrades: this version never
// writes them). It fails for a time that nanoseconds cannot hold.
func (b *Block) nanosFromTicks() (*Block, error) {
	const lo, hi = math.MinInt64 / datetime.NanosPerTick, math.MaxInt64 / datetime.NanosPerTick
	conv := func(v int64) (int64, error) {
		if v < lo || v > hi {
			return 0, fmt.Errorf("store: %d ticks cannot be written in Unix nanoseconds (format of an earlier version)", v)
		}
		return v * datetime.NanosPerTick, nil
	}
	out := &Block{Rows: b.Rows, Columns: make([]Column, len(b.Columns))}
	var err error
	if out.MinTime, err = conv(b.MinTime); err != nil {
		return nil, err
	}
	if out.MaxTime, err = conv(b.MaxTime); err != nil {
		return nil, err
	}
	for i := range b.Columns {
		c := b.Columns[i]
		if c.Type == TypeDateTime || c.Type == TypeTimeSpan {
			ints := make([]int64, len(c.Ints))
			for j, v := range c.Ints {
				if ints[j], err = conv(v); err != nil {
					return nil, err
				}
			}
			c.Ints = ints
		}
		out.Columns[i] = c
	}
	return out, nil
}

const (
	blockMagic    = "KSBL"
	blockVersion1 = 1

	encPlain byte = 0
	encDelta byte = 1 // ints: first value, then differences
	encDict  byte = 1 // strings: dictionary, then per-row indexes
)

// marshal appends the uncompressed encoding of b (format v1) to dst. b must
// have passed Validate. Times are written as they are in b: the container
// says their unit (ticks in WAL records of version 2; Unix nanoseconds in
// WAL records of version 1 and v1 segments, which only earlier versions
// wrote).
//
//	magic "KSBL", version 1
//	uvarint rows, varint minTime, varint maxTime, uvarint column count
//	per column: uvarint name length, name, type byte,
//	            uvarint data length, data
//
// Column data: a null byte (0: no nulls; 1: a bitmap of ceil(rows/8) bytes
// follows, bit i set when row i is null, LSB first), an encoding byte, then
// the values of all rows:
//
//	ints    0 plain: zigzag varints; 1 delta: zigzag varint of the first
//	        value, then zigzag varints of successive differences
//	floats  0: IEEE 754 bits, 8 bytes little endian each
//	bools   0: bitmap as for nulls
//	strings 0 plain: uvarint length + bytes each; 1 dictionary: uvarint
//	        count, the distinct values as in plain, then a uvarint index
//	        per row
func (b *Block) marshal(dst []byte) []byte {
	dst = append(dst, blockMagic...)
	dst = append(dst, blockVersion1)
	dst = binary.AppendUvarint(dst, uint64(b.Rows))
	dst = binary.AppendVarint(dst, b.MinTime)
	dst = binary.AppendVarint(dst, b.MaxTime)
	dst = binary.AppendUvarint(dst, uint64(len(b.Columns)))
	var scratch []byte
	for i := range b.Columns {
		c := &b.Columns[i]
		dst = binary.AppendUvarint(dst, uint64(len(c.Name)))
		dst = append(dst, c.Name...)
		dst = append(dst, byte(c.Type))
		scratch = c.marshalData(scratch[:0])
		dst = binary.AppendUvarint(dst, uint64(len(scratch)))
		dst = append(dst, scratch...)
	}
	return dst
}

func appendBitmap(dst []byte, bits []bool) []byte {
	start := len(dst)
	dst = append(dst, make([]byte, (len(bits)+7)/8)...)
	for i, v := range bits {
		if v {
			dst[start+i/8] |= 1 << (i % 8)
		}
	}
	return dst
}

func (c *Column) marshalData(dst []byte) []byte {
	hasNull := false
	for _, n := range c.Nulls {
		hasNull = hasNull || n
	}
	if hasNull {
		dst = append(dst, 1)
		dst = appendBitmap(dst, c.Nulls)
	} else {
		dst = append(dst, 0)
	}
	switch c.Type.physical() {
	case physInts:
		// Choose the smaller of plain and delta encoding.
		plain, delta := 0, 0
		var prev int64
		var tmp [binary.MaxVarintLen64]byte
		for _, v := range c.Ints {
			plain += binary.PutVarint(tmp[:], v)
			delta += binary.PutVarint(tmp[:], v-prev)
			prev = v
		}
		if delta < plain {
			dst = append(dst, encDelta)
			prev = 0
			for _, v := range c.Ints {
				dst = binary.AppendVarint(dst, v-prev)
				prev = v
			}
		} else {
			dst = append(dst, encPlain)
			for _, v := range c.Ints {
				dst = binary.AppendVarint(dst, v)
			}
		}
	case physFloats:
		dst = append(dst, encPlain)
		for _, v := range c.Floats {
			dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(v))
		}
	case physBools:
		dst = append(dst, encPlain)
		dst = appendBitmap(dst, c.Bools)
	case physStrings:
		dst = marshalStrings(dst, c.Strings)
	}
	return dst
}

// maxDict bounds dictionary size; a column uses a dictionary when it has at
// most min(maxDict, rows/2) distinct values.
const maxDict = 1 << 16

func marshalStrings(dst []byte, vals []string) []byte {
	limit := min(maxDict, len(vals)/2)
	dict := make(map[string]uint32)
	var order []string
	for _, v := range vals {
		if _, ok := dict[v]; !ok {
			if len(order) >= limit {
				order = nil
				break
			}
			dict[v] = uint32(len(order))
			order = append(order, v)
		}
	}
	if order == nil {
		dst = append(dst, encPlain)
		for _, v := range vals {
			dst = binary.AppendUvarint(dst, uint64(len(v)))
			dst = append(dst, v...)
		}
		return dst
	}
	dst = append(dst, encDict)
	dst = binary.AppendUvarint(dst, uint64(len(order)))
	for _, v := range order {
		dst = binary.AppendUvarint(dst, uint64(len(v)))
		dst = append(dst, v...)
	}
	for _, v := range vals {
		dst = binary.AppendUvarint(dst, uint64(dict[v]))
	}
	return dst
}

// decoder reads the primitives of the block format, remembering the first
// error.
type decoder struct {
	src []byte
	err error
	ctx string
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s: %s", ErrCorrupt, d.ctx, what)
	}
	d.src = nil
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.src)
	if n <= 0 {
		d.fail("bad uvarint")
		return 0
	}
	d.src = d.src[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.src)
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.src = d.src[n:]
	return v
}

func (d *decoder) bytes(n uint64) []byte {
	if n > uint64(len(d.src)) {
		d.fail("length beyond end of data")
		return nil
	}
	b := d.src[:n]
	d.src = d.src[n:]
	return b
}

func (d *decoder) byte1() byte {
	b := d.bytes(1)
	if b == nil {
		return 0
	}
	return b[0]
}

func (d *decoder) bitmap(rows int) []bool {
	raw := d.bytes(uint64((rows + 7) / 8))
	if raw == nil && rows > 0 {
		return nil
	}
	bits := make([]bool, rows)
	for i := range bits {
		bits[i] = raw[i/8]&(1<<(i%8)) != 0
	}
	return bits
}

// unmarshalBlock decodes a block encoded by marshal, keeping only the
// columns named in cols (all columns if cols is nil). Requested columns the
// block does not have are absent from the result.
func unmarshalBlock(src []byte, cols []string) (*Block, error) {
	d := &decoder{src: src, ctx: "block"}
	if len(src) < 5 || string(src[:4]) != blockMagic {
		return nil, fmt.Errorf("%w: block: bad magic", ErrCorrupt)
	}
	if src[4] != blockVersion1 {
		return nil, fmt.Errorf("%w: block version %d", ErrUnknownVersion, src[4])
	}
	d.src = src[5:]
	rows := d.uvarint()
	b := &Block{MinTime: d.varint(), MaxTime: d.varint()}
	ncols := d.uvarint()
	if d.err != nil {
		return nil, d.err
	}
	if rows == 0 || rows > MaxBlockRows {
		return nil, fmt.Errorf("%w: block has %d rows", ErrCorrupt, rows)
	}
	if ncols > uint64(len(d.src)) {
		return nil, fmt.Errorf("%w: block has %d columns in %d bytes", ErrCorrupt, ncols, len(d.src))
	}
	b.Rows = int(rows)
	var want map[string]bool
	if cols != nil {
		want = make(map[string]bool, len(cols))
		for _, c := range cols {
			want[c] = true
		}
	}
	for i := uint64(0); i < ncols && d.err == nil; i++ {
		name := string(d.bytes(d.uvarint()))
		typ := ColumnType(d.byte1())
		data := d.bytes(d.uvarint())
		if d.err != nil {
			break
		}
		if typ.physical() == 0 {
			return nil, fmt.Errorf("%w: block column %d: unknown type %d", ErrCorrupt, i, typ)
		}
		if want != nil && !want[name] {
			continue
		}
		c := Column{Name: name, Type: typ}
		cd := &decoder{src: data, ctx: "block column " + fmt.Sprint(i)}
		c.unmarshalData(cd, b.Rows)
		if cd.err == nil && len(cd.src) != 0 {
			cd.fail("trailing bytes")
		}
		if cd.err != nil {
			return nil, cd.err
		}
		b.Columns = append(b.Columns, c)
	}
	if d.err != nil {
		return nil, d.err
	}
	if len(d.src) != 0 {
		return nil, fmt.Errorf("%w: block: %d trailing bytes", ErrCorrupt, len(d.src))
	}
	return b, nil
}

// nulls reads a column's null flag and, if set, its null bitmap.
func (d *decoder) nulls(rows int) []bool {
	switch d.byte1() {
	case 0:
	case 1:
		return d.bitmap(rows)
	default:
		d.fail("bad null flag")
	}
	return nil
}

func (c *Column) unmarshalData(d *decoder, rows int) {
	c.Nulls = d.nulls(rows)
	enc := d.byte1()
	if d.err != nil {
		return
	}
	switch c.Type.physical() {
	case physInts:
		if enc != encPlain && enc != encDelta {
			d.fail("bad int encoding")
			return
		}
		if rows > len(d.src) { // every varint takes at least one byte
			d.fail("too few bytes for ints")
			return
		}
		c.Ints = make([]int64, rows)
		var prev int64
		for i := range c.Ints {
			v := d.varint()
			if enc == encDelta {
				v += prev
				prev = v
			}
			c.Ints[i] = v
		}
	case physFloats:
		raw := d.bytes(uint64(rows) * 8)
		if enc != encPlain || raw == nil {
			d.fail("bad floats")
			return
		}
		c.Floats = make([]float64, rows)
		for i := range c.Floats {
			c.Floats[i] = math.Float64frombits(binary.LittleEndian.Uint64(raw[i*8:]))
		}
	case physBools:
		if enc != encPlain {
			d.fail("bad bool encoding")
			return
		}
		c.Bools = d.bitmap(rows)
	case physStrings:
		c.Strings = unmarshalStrings(d, enc, rows)
	}
}

func unmarshalStrings(d *decoder, enc byte, rows int) []string {
	if rows > len(d.src) {
		d.fail("too few bytes for strings")
		return nil
	}
	out := make([]string, rows)
	switch enc {
	case encPlain:
		for i := range out {
			out[i] = string(d.bytes(d.uvarint()))
		}
	case encDict:
		n := d.uvarint()
		if n > uint64(len(d.src)) || n > maxDict {
			d.fail("bad dictionary size")
			return nil
		}
		dict := make([]string, n)
		for i := range dict {
			dict[i] = string(d.bytes(d.uvarint()))
		}
		for i := range out {
			idx := d.uvarint()
			if idx >= n {
				d.fail("dictionary index out of range")
				return nil
			}
			out[i] = dict[idx]
		}
	default:
		d.fail("bad string encoding")
	}
	return out
}
