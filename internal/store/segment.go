package store

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/kustodian/kustodian/internal/datetime"
	"github.com/kustodian/kustodian/internal/store/vfs"
)

// Segment format versions. The footer and, from v2, every block directory
// carry the same version number as the header; all three must agree.
//
//	v1  whole-block envelopes (block format v1), times in Unix nanoseconds
//	v2  column envelopes (block format v2), times in Unix nanoseconds
//	v3  as v2, times (DateTime and TimeSpan values, block and footer time
//	    ranges) in ticks
//	v4  as v3, with sealed value filters of string columns in each block
//	    (block2.go, filter.go); the only version written
//
// v1 and v2 segments are still read: their times are converted to ticks as
// they are decoded (datetime.FromUnixNano), so callers only ever see ticks.
const (
	segMagic       = "KSSG"
	segVersion1    = 1
	segVersion2    = 2
	segVersion3    = 3
	segVersion4    = 4
	segHeaderSize  = 24
	trailerMagic   = "KSSE"
	trailerSize    = 16
	footerMagic    = "KSFT"
	footerVersion1 = 1
	footerVersion2 = 2
	footerVersion3 = 3
	footerVersion4 = 4
	// maxFooterSize bounds the sealed footer a reader will load.
	maxFooterSize = 64 << 20
)

// BlockMeta describes one block of a segment: where it is, how many rows it
// has and the range of their TimeGenerated, in ticks. DirLength is the
// length of a v2 or v3 block's directory envelope (zero in v1 segments).
type BlockMeta struct {
	Offset    int64
	Length    int64
	DirLength int64
	Rows      int
	MinTime   int64
	MaxTime   int64
}

// SegmentMeta describes a finished segment; it is the catalog entry the
// caller stores in the metadata store. Workspace and Table are what the
// writer was given; whether they go into the catalog in plaintext is the
// caller's decision (ids are fine, customer-chosen names are not).
type SegmentMeta struct {
	ID         FileID
	Generation uint32
	Workspace  string
	Table      string
	Size       int64
	Rows       int
	MinTime    int64 // ticks, of TimeGenerated
	MaxTime    int64 // ticks
	Blocks     []BlockMeta
}

// SegmentOptions configures CreateSegment.
type SegmentOptions struct {
	// Account is the storage account id bound into every envelope.
	Account string
	// ID is the segment id, unique within the account (see NewFileID).
	ID FileID
	// Workspace and Table are recorded in the sealed footer.
	Workspace string
	Table     string
	// AEK seals the blocks and footer. The writer does not zero it.
	AEK *AEK
	// Rand supplies salts and nonces; nil means crypto/rand.Reader. Tests
	// inject a deterministic source.
	Rand io.Reader
	// NoCompression stores blocks without zstd (for measurements only).
	NoCompression bool
	// format, if not zero, writes an earlier segment format (segVersion1
	// or segVersion2, times in Unix nanoseconds), so that tests can check
	// that segments written by earlier versions keep working. Only tests
	// of this package set it; zero writes the current format (v3).
	format byte
}

// SegmentWriter writes one segment file. It writes to path+".tmp" and
// renames it into place in Finish, so a segment is either complete at path
// or absent. It is not safe for concurrent use.
type SegmentWriter struct {
	fs        vfs.FS
	path      string
	tmp       string
	f         vfs.File
	opts      SegmentOptions
	off       int64
	blocks    []BlockMeta
	raw       []byte
	body      []byte
	sealed    []byte
	dir       []byte
	sealedDir []byte
	err       error
}

// CreateSegment starts a new segment at path.
func CreateSegment(fsys vfs.FS, path string, opts SegmentOptions) (*SegmentWriter, error) {
	if opts.AEK == nil {
		return nil, errors.New("store: CreateSegment: no AEK")
	}
	if opts.Rand == nil {
		opts.Rand = rand.Reader
	}
	switch opts.format {
	case 0:
		opts.format = segVersion4
	case segVersion1, segVersion2, segVersion3, segVersion4:
	default:
		return nil, fmt.Errorf("store: CreateSegment: unknown format %d", opts.format)
	}
	w := &SegmentWriter{fs: fsys, path: path, tmp: path + ".tmp", opts: opts}
	f, err := fsys.Create(w.tmp)
	if err != nil {
		return nil, fmt.Errorf("store: create segment %s: %w", opts.ID, err)
	}
	w.f = f
	hdr := make([]byte, 0, segHeaderSize)
	hdr = append(hdr, segMagic...)
	hdr = append(hdr, opts.format, 0, 0, 0)
	hdr = append(hdr, opts.ID[:]...)
	if err := w.write(hdr); err != nil {
		w.Abort()
		return nil, err
	}
	return w, nil
}

func (w *SegmentWriter) write(p []byte) error {
	if w.err != nil {
		return w.err
	}
	if _, err := w.f.Write(p); err != nil {
		w.err = fmt.Errorf("store: write segment %s: %w", w.opts.ID, err)
		return w.err
	}
	w.off += int64(len(p))
	return nil
}

func (w *SegmentWriter) binding(kind byte, index uint64) *binding {
	return &binding{account: w.opts.Account, kind: kind, file: w.opts.ID, index: index}
}

// Append validates, encodes, compresses, seals and writes b as the next
// block (block format v2 with filters, times in ticks: a v4 segment), and
// returns its metadata.
func (w *SegmentWriter) Append(b *Block) (BlockMeta, error) {
	if w.err != nil {
		return BlockMeta{}, w.err
	}
	if err := b.Validate(); err != nil {
		return BlockMeta{}, err
	}
	m := BlockMeta{Rows: b.Rows, MinTime: b.MinTime, MaxTime: b.MaxTime}
	if w.opts.format < segVersion3 {
		// An earlier format, for tests: the same block in nanoseconds.
		nb, err := b.nanosFromTicks()
		if err != nil {
			return BlockMeta{}, err
		}
		b = nb
	}
	var err error
	if w.opts.format == segVersion1 {
		err = w.appendV1(b, &m)
	} else {
		err = w.appendV2(b, &m)
	}
	if err != nil {
		return BlockMeta{}, err
	}
	w.blocks = append(w.blocks, m)
	return m, nil
}

// appendV1 writes b as a v1 block: the whole block in one envelope, and
// sets m's offset and length. Only v1 segments hold such blocks; the writer
// produces them only for tests (SegmentOptions.format) of the v1 reader.
func (w *SegmentWriter) appendV1(b *Block, m *BlockMeta) error {
	var err error
	w.raw = b.marshal(w.raw[:0])
	codec := codecZstd
	if w.opts.NoCompression {
		codec = codecNone
	}
	if w.body, err = compressBody(w.body[:0], w.raw, codec, false); err != nil {
		return err
	}
	idx := uint64(len(w.blocks))
	if w.sealed, err = sealEnvelope(w.sealed[:0], w.opts.Rand, w.opts.AEK, w.binding(kindBlock, idx), w.body); err != nil {
		return err
	}
	m.Offset, m.Length = w.off, int64(len(w.sealed))
	return w.write(w.sealed)
}

// Finish writes the sealed footer and the trailer, syncs the file, renames
// it into place and syncs the directory. The segment must have at least one
// block.
func (w *SegmentWriter) Finish() (*SegmentMeta, error) {
	if w.err != nil {
		return nil, w.err
	}
	if len(w.blocks) == 0 {
		return nil, errors.New("store: finish segment: no blocks")
	}
	meta := &SegmentMeta{ID: w.opts.ID, Generation: w.opts.AEK.Generation(),
		Workspace: w.opts.Workspace, Table: w.opts.Table, Blocks: w.blocks}
	for i, b := range w.blocks {
		meta.Rows += b.Rows
		if i == 0 || b.MinTime < meta.MinTime {
			meta.MinTime = b.MinTime
		}
		if i == 0 || b.MaxTime > meta.MaxTime {
			meta.MaxTime = b.MaxTime
		}
	}
	footer := marshalFooter(nil, meta, w.opts.format)
	sealed, err := sealEnvelope(nil, w.opts.Rand, w.opts.AEK, w.binding(kindFooter, 0), footer)
	if err != nil {
		return nil, err
	}
	footerOff := w.off
	trailer := binary.BigEndian.AppendUint64(nil, uint64(footerOff))
	trailer = binary.BigEndian.AppendUint32(trailer, uint32(len(sealed)))
	trailer = append(trailer, trailerMagic...)
	if err := w.write(append(sealed, trailer...)); err != nil {
		return nil, err
	}
	if err := w.f.Sync(); err != nil {
		w.err = fmt.Errorf("store: sync segment %s: %w", w.opts.ID, err)
		return nil, w.err
	}
	err = w.f.Close()
	w.f = nil
	if err != nil {
		w.err = fmt.Errorf("store: close segment %s: %w", w.opts.ID, err)
		return nil, w.err
	}
	if err := w.fs.Rename(w.tmp, w.path); err != nil {
		w.err = fmt.Errorf("store: rename segment %s: %w", w.opts.ID, err)
		return nil, w.err
	}
	if err := w.fs.SyncDir(filepath.Dir(w.path)); err != nil {
		w.err = fmt.Errorf("store: sync dir of segment %s: %w", w.opts.ID, err)
		return nil, w.err
	}
	meta.Size = w.off
	w.err = ErrClosed
	return meta, nil
}

// Abort abandons the segment and removes its temporary file.
func (w *SegmentWriter) Abort() error {
	var err error
	if w.f != nil {
		err = w.f.Close()
		w.f = nil
		if rerr := w.fs.Remove(w.tmp); err == nil {
			err = rerr
		}
	}
	w.err = ErrClosed
	return err
}

// marshalFooter encodes the footer of a segment of format version (v3; v2
// holds nanoseconds instead of ticks; v1 also lacks the directory length):
//
//	magic "KSFT", version 3
//	uvarint length + workspace, uvarint length + table
//	uvarint block count
//	per block: uvarint offset, uvarint length, uvarint directory length,
//	           uvarint rows, varint min time, varint max time (ticks)
//
// m's times are ticks; for v1 and v2 (written only by tests) they have
// already been checked to fit nanoseconds (Block.nanosFromTicks).
func marshalFooter(dst []byte, m *SegmentMeta, version byte) []byte {
	dst = append(dst, footerMagic...)
	dst = append(dst, version) // footer versions are segment versions
	dst = binary.AppendUvarint(dst, uint64(len(m.Workspace)))
	dst = append(dst, m.Workspace...)
	dst = binary.AppendUvarint(dst, uint64(len(m.Table)))
	dst = append(dst, m.Table...)
	dst = binary.AppendUvarint(dst, uint64(len(m.Blocks)))
	unit := int64(1)
	if version < footerVersion3 {
		unit = datetime.NanosPerTick
	}
	for _, b := range m.Blocks {
		dst = binary.AppendUvarint(dst, uint64(b.Offset))
		dst = binary.AppendUvarint(dst, uint64(b.Length))
		if version != footerVersion1 {
			dst = binary.AppendUvarint(dst, uint64(b.DirLength))
		}
		dst = binary.AppendUvarint(dst, uint64(b.Rows))
		dst = binary.AppendVarint(dst, b.MinTime*unit)
		dst = binary.AppendVarint(dst, b.MaxTime*unit)
	}
	return dst
}

// unmarshalFooter decodes a footer of a segment of version segVersion; the
// footer's version must match it. Times come back in ticks, converted from
// the nanoseconds of v1 and v2 footers.
func unmarshalFooter(src []byte, segVersion byte, m *SegmentMeta) error {
	if len(src) < 5 || string(src[:4]) != footerMagic {
		return fmt.Errorf("%w: footer: bad magic", ErrCorrupt)
	}
	want := segVersion // footer versions are segment versions
	if src[4] < footerVersion1 || src[4] > footerVersion4 {
		return fmt.Errorf("%w: footer version %d", ErrUnknownVersion, src[4])
	}
	if src[4] != want {
		return fmt.Errorf("%w: footer version %d in a segment of version %d", ErrCorrupt, src[4], segVersion)
	}
	times := func(v int64) int64 { return v }
	if want < footerVersion3 {
		times = datetime.FromUnixNano
	}
	d := &decoder{src: src[5:], ctx: "footer"}
	m.Workspace = string(d.bytes(d.uvarint()))
	m.Table = string(d.bytes(d.uvarint()))
	n := d.uvarint()
	if d.err == nil && n > uint64(len(d.src)) {
		d.fail("block count beyond data")
	}
	for i := uint64(0); i < n && d.err == nil; i++ {
		b := BlockMeta{Offset: int64(d.uvarint()), Length: int64(d.uvarint())}
		if want != footerVersion1 {
			b.DirLength = int64(d.uvarint())
		}
		b.Rows = int(d.uvarint())
		b.MinTime = times(d.varint())
		b.MaxTime = times(d.varint())
		m.Blocks = append(m.Blocks, b)
	}
	if d.err == nil && len(d.src) != 0 {
		d.fail("trailing bytes")
	}
	return d.err
}

// Segment is an open segment file for reading. It is safe for concurrent
// use.
type Segment struct {
	// onFilter, if set, is told of every value filter the segment opens
	// (the engine caches them; see segEntry.filters).
	onFilter func(block int, col string, f *valueFilter)
	f        vfs.File
	version  byte
	account  string
	kr       Keyring
	meta     SegmentMeta
}

// OpenSegment opens the segment at path, which the caller's catalog says is
// segment id of account, and authenticates its footer with the AEK the
// keyring gives for the generation it was written under.
func OpenSegment(ctx context.Context, fsys vfs.FS, path, account string, id FileID, kr Keyring) (*Segment, error) {
	f, err := fsys.Open(path)
	if err != nil {
		return nil, fmt.Errorf("store: open segment %s: %w", id, err)
	}
	s := &Segment{f: f, account: account, kr: kr}
	if err := s.load(ctx, id); err != nil {
		f.Close()
		return nil, fmt.Errorf("store: open segment %s: %w", id, err)
	}
	return s, nil
}

func readFull(f vfs.File, off, n int64) ([]byte, error) {
	buf := make([]byte, n)
	k, err := f.ReadAt(buf, off)
	if int64(k) == n {
		return buf, nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: short read of %d bytes at %d", ErrCorrupt, n, off)
	}
	return nil, err
}

func (s *Segment) load(ctx context.Context, id FileID) error {
	size, err := s.f.Size()
	if err != nil {
		return err
	}
	if size < segHeaderSize+trailerSize {
		return fmt.Errorf("%w: %d bytes is too short for a segment", ErrCorrupt, size)
	}
	hdr, err := readFull(s.f, 0, segHeaderSize)
	if err != nil {
		return err
	}
	if string(hdr[:4]) != segMagic {
		return fmt.Errorf("%w: not a segment (bad magic)", ErrCorrupt)
	}
	if hdr[4] < segVersion1 || hdr[4] > segVersion4 {
		return fmt.Errorf("%w: segment version %d", ErrUnknownVersion, hdr[4])
	}
	s.version = hdr[4]
	if hdr[5]|hdr[6]|hdr[7] != 0 {
		return fmt.Errorf("%w: reserved header bytes are not zero", ErrCorrupt)
	}
	if FileID(hdr[8:24]) != id {
		return fmt.Errorf("%w: file holds segment %s", ErrCorrupt, FileID(hdr[8:24]))
	}
	tr, err := readFull(s.f, size-trailerSize, trailerSize)
	if err != nil {
		return err
	}
	if string(tr[12:16]) != trailerMagic {
		return fmt.Errorf("%w: bad trailer (truncated segment?)", ErrCorrupt)
	}
	footOff := int64(binary.BigEndian.Uint64(tr[0:8]))
	footLen := int64(binary.BigEndian.Uint32(tr[8:12]))
	if footOff < segHeaderSize || footLen > maxFooterSize || footOff+footLen != size-trailerSize {
		return fmt.Errorf("%w: trailer points outside the file", ErrCorrupt)
	}
	sealed, err := readFull(s.f, footOff, footLen)
	if err != nil {
		return err
	}
	gen, err := envelopeGeneration(sealed)
	if err != nil {
		return fmt.Errorf("footer: %w", err)
	}
	aek, err := s.kr.AEK(ctx, s.account, gen)
	if err != nil {
		return fmt.Errorf("footer: AEK generation %d: %w", gen, err)
	}
	plain, err := openEnvelope(nil, aek, &binding{account: s.account, kind: kindFooter, file: id}, sealed)
	if err != nil {
		return fmt.Errorf("footer: %w", err)
	}
	m := SegmentMeta{ID: id, Generation: gen, Size: size}
	if err := unmarshalFooter(plain, s.version, &m); err != nil {
		return err
	}
	// Blocks tile the file between header and footer.
	next := int64(segHeaderSize)
	for i, b := range m.Blocks {
		minLen := int64(envOverhead)
		if s.version != segVersion1 {
			minLen = b.DirLength
			if b.DirLength < envOverhead || b.DirLength > b.Length {
				return fmt.Errorf("%w: footer entry %d is inconsistent", ErrCorrupt, i)
			}
		}
		if b.Offset != next || b.Length < minLen || b.Rows <= 0 {
			return fmt.Errorf("%w: footer entry %d is inconsistent", ErrCorrupt, i)
		}
		next += b.Length
		m.Rows += b.Rows
		if i == 0 || b.MinTime < m.MinTime {
			m.MinTime = b.MinTime
		}
		if i == 0 || b.MaxTime > m.MaxTime {
			m.MaxTime = b.MaxTime
		}
	}
	if next != footOff || len(m.Blocks) == 0 {
		return fmt.Errorf("%w: footer does not cover the file", ErrCorrupt)
	}
	s.meta = m
	return nil
}

// Meta returns the segment's metadata as authenticated from its footer.
func (s *Segment) Meta() SegmentMeta { return s.meta }

// ReadBlock reads, authenticates, decrypts and decompresses block i and
// decodes the named columns (all columns if cols is nil). It asks the
// keyring for the AEK on every call, so a revoked key stops reads at once.
func (s *Segment) ReadBlock(ctx context.Context, i int, cols []string) (*Block, error) {
	return s.ReadBlockMatch(ctx, i, cols, nil)
}

// Equal is a predicate Column == Value on a string column (exact, case
// sensitive; a null compares as ""). See ReadBlockMatch and ScanRequest.
type Equal struct {
	Column, Value string
}

// ReadBlockMatch is ReadBlock for a reader that wants only rows satisfying
// every predicate of eq: if the block's sealed filters (segments of version
// 4) show that one of them holds for none of its rows, it returns nil and
// no error. Otherwise it drops the rows that fail a predicate on a column
// it read (nil if none is left) and returns the rest, which may still
// fail predicates on columns it did not read (and v1 blocks are returned
// whole): the caller still applies the predicates.
func (s *Segment) ReadBlockMatch(ctx context.Context, i int, cols []string, eq []Equal) (*Block, error) {
	return s.readBlockMatch(ctx, i, cols, eq, false)
}

// readBlockMatch is ReadBlockMatch; filtered says the caller has already
// consulted the block's filters for eq (see segEntry.filters).
func (s *Segment) readBlockMatch(ctx context.Context, i int, cols []string, eq []Equal, filtered bool) (*Block, error) {
	if i < 0 || i >= len(s.meta.Blocks) {
		return nil, fmt.Errorf("store: segment %s has no block %d", s.meta.ID, i)
	}
	if s.version != segVersion1 {
		b, err := s.readBlockV2(ctx, i, cols, eq, filtered)
		if err != nil {
			return nil, fmt.Errorf("store: segment %s block %d: %w", s.meta.ID, i, err)
		}
		return b, nil
	}
	bm := s.meta.Blocks[i]
	sealed, err := readFull(s.f, bm.Offset, bm.Length)
	if err != nil {
		return nil, fmt.Errorf("store: segment %s block %d: %w", s.meta.ID, i, err)
	}
	gen, err := envelopeGeneration(sealed)
	if err != nil {
		return nil, fmt.Errorf("store: segment %s block %d: %w", s.meta.ID, i, err)
	}
	if gen != s.meta.Generation {
		return nil, fmt.Errorf("store: segment %s block %d: %w: generation %d in a segment of generation %d", s.meta.ID, i, ErrCorrupt, gen, s.meta.Generation)
	}
	aek, err := s.kr.AEK(ctx, s.account, gen)
	if err != nil {
		return nil, fmt.Errorf("store: segment %s block %d: AEK generation %d: %w", s.meta.ID, i, gen, err)
	}
	body, err := openEnvelope(nil, aek, &binding{account: s.account, kind: kindBlock, file: s.meta.ID, index: uint64(i)}, sealed)
	if err != nil {
		return nil, fmt.Errorf("store: segment %s block %d: %w", s.meta.ID, i, err)
	}
	raw, err := decompressBody(nil, body)
	if err != nil {
		return nil, fmt.Errorf("store: segment %s block %d: %w", s.meta.ID, i, err)
	}
	b, err := unmarshalBlock(raw, cols)
	if err != nil {
		return nil, fmt.Errorf("store: segment %s block %d: %w", s.meta.ID, i, err)
	}
	b.ticksFromNanos() // v1 segments hold nanoseconds
	if b.Rows != bm.Rows || b.MinTime != bm.MinTime || b.MaxTime != bm.MaxTime {
		return nil, fmt.Errorf("store: segment %s block %d: %w: block header disagrees with footer", s.meta.ID, i, ErrCorrupt)
	}
	return b, nil
}

// Close closes the file.
func (s *Segment) Close() error { return s.f.Close() }
