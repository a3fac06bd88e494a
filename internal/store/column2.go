package store

import (
	"encoding/binary"
	"encoding/hex"
	"math"
	"math/bits"
	"slices"
)

// Column data format v2 (the plaintext of one column envelope of a v2
// block, before compression). It is laid out for an entropy coder: values
// of one kind are contiguous and numbers are split into byte planes, so
// zstd's Huffman stage sees each byte position's own distribution instead
// of varint noise.
//
//	null byte: 0 no nulls; 1 a bitmap of ceil(rows/8) bytes follows (bit i
//	           set when row i is null, LSB first)
//	encoding byte, then the values of all rows (null rows hold zero values):
//
//	ints    1: an int sequence of the values
//	floats  1: an int sequence of the IEEE 754 bits
//	        2: decimal: a scale byte k (0..maxDecimalScale), then an int
//	           sequence of v×10^k, used when every value is exactly
//	           float64(n)/10^k for an integer |n| < 2^53
//	bools   1: a bitmap as for nulls
//	strings 1 plain: an int sequence of lengths, then the bytes of all values
//	        2 dictionary: uvarint count, an int sequence of the sorted
//	          distinct values' lengths, their bytes, then an int sequence of
//	          per-row indexes
//	        3 hex: every value is lowercase hexadecimal of even length; an
//	          int sequence of decoded lengths, then the decoded bytes
//
// An int sequence of n values is: a mode byte (0 values, 1 deltas), varint
// base, for mode 1 a varint first value, a width byte w (0..8), then w byte
// planes of n bytes each: plane k holds byte k (little endian) of
// u[i] = x[i] − base computed modulo 2^64, where x[i] is the value (mode 0)
// or, for i ≥ 1, the difference from the previous value (mode 1, with
// u[0] = 0). base is the minimum of the x[i], so w is the fewest bytes that
// hold the range. The writer picks the mode with the smaller width.
const (
	enc2Ints         byte = 1
	enc2FloatBits    byte = 1
	enc2FloatDecimal byte = 2
	enc2Bools        byte = 1
	enc2StrPlain     byte = 1
	enc2StrDict      byte = 2
	enc2StrHex       byte = 3

	maxDecimalScale = 6
)

var pow10 = [maxDecimalScale + 1]float64{1, 10, 100, 1000, 1e4, 1e5, 1e6}

// appendColumnV2 appends the v2 encoding of c's data to dst.
func appendColumnV2(dst []byte, c *Column) []byte {
	dst, _ = appendColumnV2Dict(dst, c)
	return dst
}

// appendColumnV2Dict is appendColumnV2 that also returns, for a string
// column encoded with a dictionary, its distinct values (sorted).
func appendColumnV2Dict(dst []byte, c *Column) ([]byte, []string) {
	var dict []string
	if slices.Contains(c.Nulls, true) {
		dst = append(dst, 1)
		dst = appendBitmap(dst, c.Nulls)
	} else {
		dst = append(dst, 0)
	}
	switch c.Type.physical() {
	case physInts:
		dst = append(dst, enc2Ints)
		dst = appendIntSeq(dst, c.Ints)
	case physFloats:
		if k, ints, ok := decimalInts(c.Floats); ok {
			dst = append(dst, enc2FloatDecimal, byte(k))
			dst = appendIntSeq(dst, ints)
		} else {
			ints := make([]int64, len(c.Floats))
			for i, f := range c.Floats {
				ints[i] = int64(math.Float64bits(f))
			}
			dst = append(dst, enc2FloatBits)
			dst = appendIntSeq(dst, ints)
		}
	case physBools:
		dst = append(dst, enc2Bools)
		dst = appendBitmap(dst, c.Bools)
	case physStrings:
		dst, dict = appendStringsV2(dst, c.Strings)
	}
	return dst, dict
}

// decimalInts returns the values as integers scaled by 10^k for the
// smallest k that represents every value exactly, or ok false.
func decimalInts(vals []float64) (k int, out []int64, ok bool) {
	const limit = 1 << 53
scales:
	for k = 0; k <= maxDecimalScale; k++ {
		p := pow10[k]
		out = slices.Grow(out[:0], len(vals))
		for _, v := range vals {
			r := math.Round(v * p)
			if !(math.Abs(r) < limit) {
				continue scales
			}
			// Compare bits of what the reader computes: this rejects
			// -0 (the integer 0 reads back as +0), NaN and rounding.
			n := int64(r)
			if math.Float64bits(float64(n)/p) != math.Float64bits(v) {
				continue scales
			}
			out = append(out, n)
		}
		return k, out, true
	}
	return 0, nil, false
}

// byteWidth returns the bytes needed for u (0 for 0).
func byteWidth(u uint64) int { return (bits.Len64(u) + 7) / 8 }

// appendIntSeq appends an int sequence (see the format above).
func appendIntSeq(dst []byte, vals []int64) []byte {
	n := len(vals)
	if n == 0 {
		return append(append(dst, 0), 0, 0) // mode 0, base 0, width 0
	}
	vmin, vmax := vals[0], vals[0]
	for _, v := range vals {
		vmin, vmax = min(vmin, v), max(vmax, v)
	}
	vw := byteWidth(uint64(vmax) - uint64(vmin))
	var dmin, dmax int64
	if n > 1 {
		dmin, dmax = vals[1]-vals[0], vals[1]-vals[0]
		for i := 2; i < n; i++ {
			d := vals[i] - vals[i-1]
			dmin, dmax = min(dmin, d), max(dmax, d)
		}
	}
	// Deltas may wrap around in int64 (a range wider than 2^63); their
	// modular range still decides the width, but a wrapped delta's min/max
	// are meaningless, so only use deltas when no subtraction overflowed.
	dw := 9
	if n > 1 && !deltasOverflow(vals) {
		dw = byteWidth(uint64(dmax) - uint64(dmin))
	}
	if dw < vw {
		dst = append(dst, 1)
		dst = binary.AppendVarint(dst, dmin)
		dst = binary.AppendVarint(dst, vals[0])
		dst = append(dst, byte(dw))
		start := len(dst)
		dst = append(dst, make([]byte, dw*n)...)
		planes := dst[start:]
		for i := 1; i < n; i++ {
			u := uint64(vals[i]-vals[i-1]) - uint64(dmin)
			for k := 0; k < dw; k++ {
				planes[k*n+i] = byte(u >> (8 * k))
			}
		}
		return dst
	}
	dst = append(dst, 0)
	dst = binary.AppendVarint(dst, vmin)
	dst = append(dst, byte(vw))
	start := len(dst)
	dst = append(dst, make([]byte, vw*n)...)
	planes := dst[start:]
	for i, v := range vals {
		u := uint64(v) - uint64(vmin)
		for k := 0; k < vw; k++ {
			planes[k*n+i] = byte(u >> (8 * k))
		}
	}
	return dst
}

func deltasOverflow(vals []int64) bool {
	for i := 1; i < len(vals); i++ {
		a, b := vals[i], vals[i-1]
		d := a - b
		if (a >= b) != (d >= 0) {
			return true
		}
	}
	return false
}

// readIntSeq decodes an int sequence of n values.
func (d *decoder) readIntSeq(n int) []int64 {
	mode := d.byte1()
	base := d.varint()
	var first int64
	if mode == 1 {
		first = d.varint()
	}
	w := int(d.byte1())
	if d.err != nil {
		return nil
	}
	if mode > 1 || w > 8 {
		d.fail("bad int sequence header")
		return nil
	}
	planes := d.bytes(uint64(w) * uint64(n))
	if d.err != nil {
		return nil
	}
	// out holds u[i] first (two's complement makes the int64 bit
	// operations the uint64 ones), then the values.
	out := make([]int64, n)
	for k := 0; k < w; k++ {
		p := planes[k*n : (k+1)*n]
		sh := uint(8 * k)
		for i, b := range p {
			out[i] |= int64(b) << sh
		}
	}
	if mode == 0 {
		for i := range out {
			out[i] += base
		}
		return out
	}
	if n == 0 {
		return out
	}
	out[0] = first
	for i := 1; i < n; i++ {
		out[i] += out[i-1] + base
	}
	return out
}

func isLowerHex(s string) bool {
	if len(s)%2 != 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// appendStringsV2 appends the encoding of vals and returns the dictionary
// (the distinct values, sorted) if it used one.
func appendStringsV2(dst []byte, vals []string) ([]byte, []string) {
	limit := min(maxDict, len(vals)/2)
	dict := make(map[string]int64)
	for _, v := range vals {
		if _, ok := dict[v]; !ok {
			if len(dict) >= limit {
				dict = nil
				break
			}
			dict[v] = 0
		}
	}
	if dict != nil {
		order := make([]string, 0, len(dict))
		for v := range dict {
			order = append(order, v)
		}
		slices.Sort(order)
		for i, v := range order {
			dict[v] = int64(i)
		}
		dst = append(dst, enc2StrDict)
		dst = binary.AppendUvarint(dst, uint64(len(order)))
		dst = appendPlainStrings(dst, order)
		idx := make([]int64, len(vals))
		for i, v := range vals {
			idx[i] = dict[v]
		}
		return appendIntSeq(dst, idx), order
	}
	hexOK := true
	for _, v := range vals {
		if !isLowerHex(v) {
			hexOK = false
			break
		}
	}
	if hexOK {
		dst = append(dst, enc2StrHex)
		lens := make([]int64, len(vals))
		total := 0
		for i, v := range vals {
			lens[i] = int64(len(v) / 2)
			total += len(v) / 2
		}
		dst = appendIntSeq(dst, lens)
		start := len(dst)
		dst = append(dst, make([]byte, total)...)
		out := dst[start:]
		for _, v := range vals {
			n, _ := hex.Decode(out, []byte(v))
			out = out[n:]
		}
		return dst, nil
	}
	dst = append(dst, enc2StrPlain)
	return appendPlainStrings(dst, vals), nil
}

func appendPlainStrings(dst []byte, vals []string) []byte {
	lens := make([]int64, len(vals))
	for i, v := range vals {
		lens[i] = int64(len(v))
	}
	dst = appendIntSeq(dst, lens)
	for _, v := range vals {
		dst = append(dst, v...)
	}
	return dst
}

// readPlainStrings decodes n plain strings. They share one backing string,
// so decoding allocates twice, not once per value.
func (d *decoder) readPlainStrings(n int) []string {
	lens := d.readIntSeq(n)
	if d.err != nil {
		return nil
	}
	total, ok := sumLengths(lens, len(d.src))
	if !ok {
		d.fail("string lengths beyond data")
		return nil
	}
	all := string(d.bytes(uint64(total)))
	out := make([]string, n)
	off := 0
	for i, l := range lens {
		out[i] = all[off : off+int(l)]
		off += int(l)
	}
	return out
}

// sumLengths adds lengths, failing when one is negative or the sum exceeds
// limit.
func sumLengths(lens []int64, limit int) (int, bool) {
	total := 0
	for _, l := range lens {
		if l < 0 || l > int64(limit-total) {
			return 0, false
		}
		total += int(l)
	}
	return total, true
}

// readColumnV2 decodes the data of a column of type c.Type with rows rows.
func (c *Column) readColumnV2(d *decoder, rows int) {
	c.Nulls = d.nulls(rows)
	enc := d.byte1()
	if d.err != nil {
		return
	}
	switch c.Type.physical() {
	case physInts:
		if enc != enc2Ints {
			d.fail("bad int encoding")
			return
		}
		c.Ints = d.readIntSeq(rows)
	case physFloats:
		switch enc {
		case enc2FloatBits:
			ints := d.readIntSeq(rows)
			if d.err != nil {
				return
			}
			c.Floats = make([]float64, rows)
			for i, v := range ints {
				c.Floats[i] = math.Float64frombits(uint64(v))
			}
		case enc2FloatDecimal:
			k := int(d.byte1())
			if d.err == nil && k > maxDecimalScale {
				d.fail("bad decimal scale")
			}
			ints := d.readIntSeq(rows)
			if d.err != nil {
				return
			}
			p := pow10[k]
			c.Floats = make([]float64, rows)
			for i, v := range ints {
				c.Floats[i] = float64(v) / p
			}
		default:
			d.fail("bad float encoding")
		}
	case physBools:
		if enc != enc2Bools {
			d.fail("bad bool encoding")
			return
		}
		c.Bools = d.bitmap(rows)
	case physStrings:
		c.Strings = d.readStringsV2(enc, rows)
	}
}

func (d *decoder) readStringsV2(enc byte, rows int) []string {
	switch enc {
	case enc2StrPlain:
		return d.readPlainStrings(rows)
	case enc2StrDict:
		n := d.uvarint()
		if d.err == nil && (n > maxDict || n > uint64(rows)) {
			d.fail("bad dictionary size")
		}
		if d.err != nil {
			return nil
		}
		dict := d.readPlainStrings(int(n))
		idx := d.readIntSeq(rows)
		if d.err != nil {
			return nil
		}
		out := make([]string, rows)
		for i, x := range idx {
			if x < 0 || x >= int64(n) {
				d.fail("dictionary index out of range")
				return nil
			}
			out[i] = dict[x]
		}
		return out
	case enc2StrHex:
		lens := d.readIntSeq(rows)
		if d.err != nil {
			return nil
		}
		total, ok := sumLengths(lens, len(d.src))
		if !ok {
			d.fail("hex lengths beyond data")
			return nil
		}
		raw := d.bytes(uint64(total))
		buf := make([]byte, 2*total)
		hex.Encode(buf, raw)
		all := string(buf)
		out := make([]string, rows)
		off := 0
		for i, l := range lens {
			out[i] = all[off : off+2*int(l)]
			off += 2 * int(l)
		}
		return out
	}
	d.fail("bad string encoding")
	return nil
}

// readColumnV2Match decodes a string column of rows values keeping only
// the rows whose value is v (compared whole, nulls as their stored value),
// and returns their indexes. A dictionary column is matched on its indexes
// without building the strings of the other rows.
func (c *Column) readColumnV2Match(d *decoder, rows int, v string) []int {
	nulls := d.nulls(rows)
	enc := d.byte1()
	if d.err != nil {
		return nil
	}
	var sel []int
	switch enc {
	case enc2StrHex:
		// Compare the needle's bytes with the stored bytes: no hex text
		// is built for the other rows.
		lens := d.readIntSeq(rows)
		if d.err != nil {
			return nil
		}
		total, ok := sumLengths(lens, len(d.src))
		if !ok {
			d.fail("hex lengths beyond data")
			return nil
		}
		raw := d.bytes(uint64(total))
		want, err := hex.DecodeString(v)
		can := err == nil && isLowerHex(v) // else no stored value (lowercase hex) equals v
		off := 0
		for i, l := range lens {
			if can && int(l) == len(want) && string(raw[off:off+int(l)]) == string(want) {
				sel = append(sel, i)
			}
			off += int(l)
		}
	case enc2StrDict:
		n := d.uvarint()
		if d.err == nil && (n > maxDict || n > uint64(rows)) {
			d.fail("bad dictionary size")
		}
		if d.err != nil {
			return nil
		}
		dict := d.readPlainStrings(int(n))
		idx := d.readIntSeq(rows)
		if d.err != nil {
			return nil
		}
		// The writer's dictionary holds each value once; a reader does
		// not rely on it.
		k, more := int64(-1), false
		for i, s := range dict {
			if s == v {
				if k >= 0 {
					more = true
				} else {
					k = int64(i)
				}
			}
		}
		for i, x := range idx {
			if x < 0 || x >= int64(n) {
				d.fail("dictionary index out of range")
				return nil
			}
			if x == k || more && dict[x] == v {
				sel = append(sel, i)
			}
		}
	default:
		all := d.readStringsV2(enc, rows)
		if d.err != nil {
			return nil
		}
		for i, s := range all {
			if s == v {
				sel = append(sel, i)
			}
		}
	}
	c.Strings = make([]string, len(sel))
	for i := range c.Strings {
		c.Strings[i] = v
	}
	if nulls != nil {
		c.Nulls = make([]bool, len(sel))
		for j, i := range sel {
			c.Nulls[j] = nulls[i]
		}
	}
	return sel
}

// readIntSeqAt is readIntSeq returning only the values of rows sel
// (ascending, each below n): a frame-of-reference sequence (mode 0) is
// read at those rows alone; a delta sequence is decoded whole.
func (d *decoder) readIntSeqAt(n int, sel []int) []int64 {
	if len(d.src) == 0 || d.src[0] != 0 {
		all := d.readIntSeq(n)
		if d.err != nil {
			return nil
		}
		out := make([]int64, len(sel))
		for k, i := range sel {
			out[k] = all[i]
		}
		return out
	}
	d.byte1() // mode 0
	base := d.varint()
	w := int(d.byte1())
	if d.err != nil {
		return nil
	}
	if w > 8 {
		d.fail("bad int sequence header")
		return nil
	}
	planes := d.bytes(uint64(w) * uint64(n))
	if d.err != nil {
		return nil
	}
	out := make([]int64, len(sel))
	for k, i := range sel {
		var u uint64
		for p := 0; p < w; p++ {
			u |= uint64(planes[p*n+i]) << (8 * p)
		}
		out[k] = int64(u) + base
	}
	return out
}

// readColumnV2At decodes the column's values at rows sel only (ascending,
// each below rows). Numbers are read at those rows where their encoding
// allows; other columns are decoded whole and cut down.
func (c *Column) readColumnV2At(d *decoder, rows int, sel []int) {
	if c.Type.physical() != physInts && c.Type.physical() != physFloats {
		c.readColumnV2(d, rows)
		if d.err == nil {
			*c = gatherColumn(c, sel)
		}
		return
	}
	nulls := d.nulls(rows)
	enc := d.byte1()
	if d.err != nil {
		return
	}
	if nulls != nil {
		c.Nulls = make([]bool, len(sel))
		for k, i := range sel {
			c.Nulls[k] = nulls[i]
		}
	}
	switch {
	case c.Type.physical() == physInts:
		if enc != enc2Ints {
			d.fail("bad int encoding")
			return
		}
		c.Ints = d.readIntSeqAt(rows, sel)
	case enc == enc2FloatBits:
		ints := d.readIntSeqAt(rows, sel)
		if d.err != nil {
			return
		}
		c.Floats = make([]float64, len(sel))
		for k, v := range ints {
			c.Floats[k] = math.Float64frombits(uint64(v))
		}
	case enc == enc2FloatDecimal:
		k := int(d.byte1())
		if d.err == nil && k > maxDecimalScale {
			d.fail("bad decimal scale")
		}
		ints := d.readIntSeqAt(rows, sel)
		if d.err != nil {
			return
		}
		p := pow10[k]
		c.Floats = make([]float64, len(sel))
		for j, v := range ints {
			c.Floats[j] = float64(v) / p
		}
	default:
		d.fail("bad float encoding")
	}
}
