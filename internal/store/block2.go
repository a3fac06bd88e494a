package store

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"sync"

	"github.com/kustodian/kustodian/internal/datetime"
)

// Block format v2 (segments of versions 2 and 3): a block is a directory
// envelope followed by one sealed column per column of the block, so a
// reader decrypts and decompresses only the columns a query needs.
//
//	directory  envelope kind 4, bound to (account, segment, block index);
//	           its salt derives the block's DEK
//	column j   nonce ‖ AES-256-GCM(compressed body of the column data v2)
//	           ‖ tag, under the block's DEK, AAD binding the generation,
//	           account, segment, block index and j
//
// Directory plaintext:
//
//	magic "KSBL", version (the segment's: 2 or 3)
//	uvarint rows, varint minTime, varint maxTime, uvarint column count
//	per column: uvarint name length, name, type byte, uvarint sealed length
//
// The directory's version is the segment's and says the unit of every time
// in the block: in version 3 the time range and all DateTime and TimeSpan
// column values are ticks, in version 2 Unix nanoseconds (converted to
// ticks as they are read). The version is authenticated with the
// directory, so a block cannot be read in the other unit. The sealed
// columns follow the directory in column order and tile the rest of the
// block. The footer (v2, v3) records each block's directory length.
//
// Version 4 (segments of version 4) adds value filters (filter.go): after
// the column entries,
//
//	uvarint filter count, per filter: uvarint column index (ascending,
//	of a string column), uvarint sealed length
//
// and the sealed filters follow the sealed columns in that order, each
// nonce ‖ AES-256-GCM(filter plaintext) ‖ tag under the block's DEK with
// AAD "kustodian/filter/v1\x00" ‖ "KSEN" ‖ 1 ‖ 6 ‖ generation ‖ account ‖
// segment id ‖ block index ‖ column index. Columns and filters together
// tile the block.
const (
	blockVersion2 = 2
	blockVersion3 = 3
	blockVersion4 = 4
)

// dirFilter is one filter entry of a v4 block directory.
type dirFilter struct {
	col    int   // index into blockDir.cols
	offset int64 // from the start of the block
	length int64 // sealed length
}

// dirColumn is one column entry of a v2 block directory.
type dirColumn struct {
	name   string
	typ    ColumnType
	offset int64 // from the start of the block
	length int64 // sealed length
}

// blockDir is a decoded v2 block directory.
type blockDir struct {
	rows     int
	min, max int64
	cols     []dirColumn
	filters  []dirFilter
}

// appendV2 writes b (validated, its times in the unit of the segment's
// format) as a block of format v2 with the directory version of the
// segment, and sets m's offset and lengths.
func (w *SegmentWriter) appendV2(b *Block, m *BlockMeta) error {
	idx := uint64(len(w.blocks))
	bind := w.binding(kindBlockDir, idx)
	key, err := newBlockKey(w.opts.Rand, w.opts.AEK)
	if err != nil {
		return err
	}
	codec := codecZstd
	if w.opts.NoCompression {
		codec = codecNone
	}
	dir := append(w.dir[:0], blockMagic...)
	dir = append(dir, w.opts.format) // blockVersion2, 3 or 4
	dir = binary.AppendUvarint(dir, uint64(b.Rows))
	dir = binary.AppendVarint(dir, b.MinTime)
	dir = binary.AppendVarint(dir, b.MaxTime)
	dir = binary.AppendUvarint(dir, uint64(len(b.Columns)))
	cols := w.sealed[:0]
	var dicts [][]string // of string columns, for their filters
	if w.opts.format >= blockVersion4 {
		dicts = make([][]string, len(b.Columns))
	}
	for j := range b.Columns {
		c := &b.Columns[j]
		var dict []string
		w.raw, dict = appendColumnV2Dict(w.raw[:0], c)
		if dicts != nil {
			dicts[j] = dict
		}
		if w.body, err = compressColumn(w.body[:0], w.raw, codec); err != nil {
			return err
		}
		n := len(cols)
		if cols, err = key.sealColumn(cols, w.opts.Rand, bind, uint32(j), w.body); err != nil {
			return err
		}
		dir = binary.AppendUvarint(dir, uint64(len(c.Name)))
		dir = append(dir, c.Name...)
		dir = append(dir, byte(c.Type))
		dir = binary.AppendUvarint(dir, uint64(len(cols)-n))
	}
	if w.opts.format >= blockVersion4 {
		var fcols []int
		var flens []int
		for j := range b.Columns {
			f := columnFilter(&b.Columns[j], b.Rows, dicts[j])
			if f == nil {
				continue
			}
			w.raw = f.marshal(w.raw[:0])
			n := len(cols)
			if cols, err = key.sealFilter(cols, w.opts.Rand, bind, uint32(j), w.raw); err != nil {
				return err
			}
			fcols = append(fcols, j)
			flens = append(flens, len(cols)-n)
		}
		dir = binary.AppendUvarint(dir, uint64(len(fcols)))
		for i, j := range fcols {
			dir = binary.AppendUvarint(dir, uint64(j))
			dir = binary.AppendUvarint(dir, uint64(flens[i]))
		}
	}
	w.dir = dir
	w.sealed = cols
	sealedDir, err := key.sealDir(w.sealedDir[:0], w.opts.Rand, bind, dir)
	if err != nil {
		return err
	}
	w.sealedDir = sealedDir
	m.Offset, m.Length, m.DirLength = w.off, int64(len(sealedDir)+len(cols)), int64(len(sealedDir))
	if err := w.write(sealedDir); err != nil {
		return err
	}
	return w.write(cols)
}

// compressColumn compresses one column's data, storing it uncompressed when
// zstd does not make it smaller (random identifiers, tiny columns).
func compressColumn(dst, raw []byte, codec byte) ([]byte, error) {
	start := len(dst)
	if codec == codecZstd {
		zstdInit()
		if zstdErr != nil {
			return dst, fmt.Errorf("store: zstd: %w", zstdErr)
		}
		dst = append(dst, codecZstd)
		dst = binary.AppendUvarint(dst, uint64(len(raw)))
		dst = zstdEncCol.EncodeAll(raw, dst)
		if len(dst)-start < len(raw)+1+binary.MaxVarintLen64 {
			return dst, nil
		}
		dst = dst[:start]
	}
	return compressBody(dst, raw, codecNone, false)
}

// parseBlockDir decodes a directory of version want (the segment's: 2 or
// 3) whose block is blockLen bytes long with a directory envelope of dirLen
// bytes. Its time range is returned as stored (nanoseconds in version 2).
func parseBlockDir(src []byte, want byte, dirLen, blockLen int64) (*blockDir, error) {
	if len(src) < 5 || string(src[:4]) != blockMagic {
		return nil, fmt.Errorf("%w: block directory: bad magic", ErrCorrupt)
	}
	if src[4] < blockVersion2 || src[4] > blockVersion4 {
		return nil, fmt.Errorf("%w: block directory version %d", ErrUnknownVersion, src[4])
	}
	if src[4] != want {
		return nil, fmt.Errorf("%w: block directory version %d in a segment of version %d", ErrCorrupt, src[4], want)
	}
	d := &decoder{src: src[5:], ctx: "block directory"}
	rows := d.uvarint()
	bd := &blockDir{min: d.varint(), max: d.varint()}
	n := d.uvarint()
	if d.err == nil && (rows == 0 || rows > MaxBlockRows) {
		d.fail(fmt.Sprintf("%d rows", rows))
	}
	if d.err == nil && n > uint64(len(d.src)) {
		d.fail("column count beyond data")
	}
	bd.rows = int(rows)
	off := dirLen
	for j := uint64(0); j < n && d.err == nil; j++ {
		c := dirColumn{name: string(d.bytes(d.uvarint())), typ: ColumnType(d.byte1()), offset: off}
		l := d.uvarint()
		if d.err != nil {
			break
		}
		if c.typ.physical() == 0 {
			d.fail(fmt.Sprintf("column %d: unknown type %d", j, c.typ))
			break
		}
		if l < colOverhead || l > uint64(blockLen-off) {
			d.fail(fmt.Sprintf("column %d: sealed length %d outside the block", j, l))
			break
		}
		c.length = int64(l)
		off += c.length
		bd.cols = append(bd.cols, c)
	}
	if d.err == nil && want >= blockVersion4 {
		nf := d.uvarint()
		if d.err == nil && nf > uint64(len(bd.cols)) {
			d.fail("more filters than columns")
		}
		for i := uint64(0); i < nf && d.err == nil; i++ {
			j, l := d.uvarint(), d.uvarint()
			if d.err != nil {
				break
			}
			if j >= uint64(len(bd.cols)) || (len(bd.filters) > 0 && int(j) <= bd.filters[len(bd.filters)-1].col) {
				d.fail(fmt.Sprintf("filter %d: column %d out of order", i, j))
				break
			}
			if bd.cols[j].typ != TypeString {
				d.fail(fmt.Sprintf("filter %d: column %d is not a string column", i, j))
				break
			}
			if l < colOverhead || l > uint64(blockLen-off) {
				d.fail(fmt.Sprintf("filter %d: sealed length %d outside the block", i, l))
				break
			}
			bd.filters = append(bd.filters, dirFilter{col: int(j), offset: off, length: int64(l)})
			off += int64(l)
		}
	}
	if d.err == nil && len(d.src) != 0 {
		d.fail("trailing bytes")
	}
	if d.err == nil && off != blockLen {
		d.fail("columns and filters do not tile the block")
	}
	if d.err != nil {
		return nil, d.err
	}
	return bd, nil
}

// readBlockV2 reads block i of a v2 or v3 segment: the directory, then only
// the requested columns (all when cols is nil), with times in ticks.
// If a predicate of eq is ruled out by the block's filter of its column
// (v4; unless filtered says the caller has consulted the filters), it
// returns nil and no error without reading the columns; else it
// returns only the rows that satisfy the predicates on columns it read.
func (s *Segment) readBlockV2(ctx context.Context, i int, cols []string, eq []Equal, filtered bool) (*Block, error) {
	bm := s.meta.Blocks[i]
	sealedDir, err := readFull(s.f, bm.Offset, bm.DirLength)
	if err != nil {
		return nil, err
	}
	gen, err := envelopeGeneration(sealedDir)
	if err != nil {
		return nil, err
	}
	if gen != s.meta.Generation {
		return nil, fmt.Errorf("%w: generation %d in a segment of generation %d", ErrCorrupt, gen, s.meta.Generation)
	}
	aek, err := s.kr.AEK(ctx, s.account, gen)
	if err != nil {
		return nil, fmt.Errorf("AEK generation %d: %w", gen, err)
	}
	bind := &binding{account: s.account, kind: kindBlockDir, file: s.meta.ID, index: uint64(i)}
	plain, key, err := openBlockDir(aek, bind, sealedDir)
	if err != nil {
		return nil, err
	}
	bd, err := parseBlockDir(plain, s.version, bm.DirLength, bm.Length)
	if err != nil {
		return nil, err
	}
	nanos := s.version == segVersion2
	if nanos {
		bd.min, bd.max = datetime.FromUnixNano(bd.min), datetime.FromUnixNano(bd.max)
	}
	if bd.rows != bm.Rows || bd.min != bm.MinTime || bd.max != bm.MaxTime {
		return nil, fmt.Errorf("%w: block directory disagrees with footer", ErrCorrupt)
	}
	if len(eq) > 0 && len(bd.filters) > 0 && !filtered {
		skip, err := s.ruledOut(i, bm, bind, key, bd, eq)
		if err != nil || skip {
			return nil, err
		}
	}
	var want map[string]bool
	if cols != nil {
		want = make(map[string]bool, len(cols))
		for _, c := range cols {
			want[c] = true
		}
	}
	b := &Block{Rows: bd.rows, MinTime: bd.min, MaxTime: bd.max}
	// Columns with an equality are decoded first: when no row satisfies
	// it, the others are not decrypted at all; else they are cut down to
	// the rows that do.
	var first, rest []int
	seen := make(map[string]bool, len(bd.cols))
	for j, dc := range bd.cols {
		if seen[dc.name] {
			return nil, fmt.Errorf("%w: block has column %q twice", ErrCorrupt, dc.name)
		}
		seen[dc.name] = true
		if want != nil && !want[dc.name] {
			continue
		}
		if dc.typ.physical() == physStrings && slices.ContainsFunc(eq, func(e Equal) bool { return e.Column == dc.name }) {
			first = append(first, j)
		} else {
			rest = append(rest, j)
		}
	}
	bufs := colBufPool.Get().(*colBufs)
	defer colBufPool.Put(bufs)
	sealed, body, raw := bufs.sealed, bufs.body, bufs.raw
	defer func() { bufs.sealed, bufs.body, bufs.raw = sealed[:0], body[:0], raw[:0] }()
	var sel []int     // rows satisfying the equalities so far
	all := true       // no equality applied yet
	narrowed := false // columns are decoded (or cut down) to sel
	for n, j := range append(first, rest...) {
		dc := bd.cols[j]
		if int64(cap(sealed)) < dc.length {
			sealed = make([]byte, dc.length)
		}
		sealed = sealed[:dc.length]
		if k, err := s.f.ReadAt(sealed, bm.Offset+dc.offset); int64(k) != dc.length {
			if err == nil {
				err = fmt.Errorf("%w: short read", ErrCorrupt)
			}
			return nil, fmt.Errorf("column %d: %w", j, err)
		}
		if body, err = key.openColumn(body[:0], bind, uint32(j), sealed); err != nil {
			return nil, err
		}
		if raw, err = decompressBody(raw[:0], body); err != nil {
			return nil, fmt.Errorf("column %d: %w", j, err)
		}
		c := Column{Name: dc.name, Type: dc.typ}
		cd := &decoder{src: raw, ctx: fmt.Sprintf("block column %d", j)}
		switch {
		case n == 0 && len(first) == 1 && countEqual(eq, dc.name) == 1:
			// One equality on one column, the usual case: match it as it
			// is decoded; the other columns are read at its rows only.
			sel = c.readColumnV2Match(cd, b.Rows, eqValue(eq, dc.name))
			narrowed = true
		case narrowed:
			c.readColumnV2At(cd, b.Rows, sel)
		default:
			c.readColumnV2(cd, b.Rows)
		}
		if cd.err == nil && len(cd.src) != 0 {
			cd.fail("trailing bytes")
		}
		if cd.err != nil {
			return nil, cd.err
		}
		if nanos {
			c.ticksFromNanos()
		}
		if narrowed {
			if len(sel) == 0 {
				return nil, nil // no row matches: no other column is read
			}
		} else if n < len(first) {
			for _, e := range eq {
				if e.Column == dc.name {
					sel, all = matchRows(c.Strings, e.Value, sel, all)
				}
			}
			if !all && len(sel) == 0 {
				return nil, nil
			}
		}
		b.Columns = append(b.Columns, c)
	}
	if !narrowed && (all || len(sel) == b.Rows) {
		return b, nil
	}
	out := &Block{Rows: len(sel), MinTime: b.MinTime, MaxTime: b.MaxTime, Columns: b.Columns}
	if !narrowed {
		out.Columns = make([]Column, len(b.Columns))
		for i := range b.Columns {
			out.Columns[i] = gatherColumn(&b.Columns[i], sel)
		}
	}
	if tc := out.Column(TimeColumn); tc != nil {
		out.MinTime, out.MaxTime = tc.Ints[0], tc.Ints[0]
		for _, t := range tc.Ints {
			out.MinTime = min(out.MinTime, t)
			out.MaxTime = max(out.MaxTime, t)
		}
	}
	return out, nil
}

func countEqual(eq []Equal, col string) int {
	n := 0
	for _, e := range eq {
		if e.Column == col {
			n++
		}
	}
	return n
}

func eqValue(eq []Equal, col string) string {
	for _, e := range eq {
		if e.Column == col {
			return e.Value
		}
	}
	return ""
}

// colBufs are the buffers readBlockV2 reads, opens and decompresses a
// column into; decoding copies what it keeps, so they are reused across
// blocks (a scan reads many, on several goroutines).
type colBufs struct{ sealed, body, raw []byte }

var colBufPool = sync.Pool{New: func() any { return new(colBufs) }}

// matchRows narrows sel (all rows when all is set) to the rows whose value
// is v, compared whole as the query engine compares strings.
func matchRows(vals []string, v string, sel []int, all bool) ([]int, bool) {
	if all {
		for i, s := range vals {
			if s == v {
				sel = append(sel, i)
			}
		}
		return sel, false
	}
	k := 0
	for _, i := range sel {
		if vals[i] == v {
			sel[k] = i
			k++
		}
	}
	return sel[:k], false
}

// ruledOut reports whether the block's filters show that some predicate of
// eq holds for none of its rows.
func (s *Segment) ruledOut(i int, bm BlockMeta, bind *binding, key *blockKey, bd *blockDir, eq []Equal) (bool, error) {
	for _, f := range bd.filters {
		name := bd.cols[f.col].name
		var vf *valueFilter
		for _, e := range eq {
			if e.Column != name {
				continue
			}
			if vf == nil {
				sealed, err := readFull(s.f, bm.Offset+f.offset, f.length)
				if err != nil {
					return false, fmt.Errorf("filter of column %d: %w", f.col, err)
				}
				plain, err := key.openFilter(nil, bind, uint32(f.col), sealed)
				if err != nil {
					return false, err
				}
				if vf, err = unmarshalFilter(plain); err != nil {
					return false, fmt.Errorf("filter of column %d: %w", f.col, err)
				}
				if s.onFilter != nil {
					s.onFilter(i, name, vf)
				}
			}
			if !vf.mayContain(e.Value) {
				return true, nil
			}
		}
	}
	return false, nil
}
