package store

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/kustodian/kustodian/internal/store/vfs"
)

const (
	walMagic      = "KSWL"
	walVersion1   = 1
	walHeaderSize = 24
	walSuffix     = ".wal"
	frameHeader   = 12 // uint32 length, CRC-32C of the length, CRC-32C of the record

	// maxWALRecord bounds one sealed record.
	maxWALRecord = maxBodySize + 1024

	// DefaultWALFileSize is the rotation threshold when WALOptions.MaxFileSize
	// is zero.
	DefaultWALFileSize = 64 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// WALOptions configures OpenWAL.
type WALOptions struct {
	// Account is the storage account id bound into every record.
	Account string
	// Keyring supplies AEKs: the write generation's for Append, and the
	// generation each record names for Replay.
	Keyring Keyring
	// Generation is the AEK generation new records are sealed under; see
	// also WAL.SetGeneration.
	Generation uint32
	// MaxFileSize is the size after which Append starts a new file; zero
	// means DefaultWALFileSize.
	MaxFileSize int64
	// Rand supplies file ids, salts and nonces; nil means crypto/rand.Reader.
	Rand io.Reader
	// Logger receives torn-tail repairs; nil means slog.Default().
	Logger *slog.Logger
	// NoCompression stores record payloads without zstd.
	NoCompression bool
}

// WAL is the write-ahead log of one storage account: a directory of
// append-only files of sealed records. Use OpenWAL, then Replay once, then
// Append from any number of goroutines.
type WAL struct {
	fs   vfs.FS
	dir  string
	opts WALOptions
	gen  atomic.Uint32

	// syncMu is held by the goroutine that syncs (the group commit leader)
	// and by rotation; lock order is syncMu, then mu.
	syncMu sync.Mutex

	mu       sync.Mutex
	files    []uint64 // sequence numbers of the files on disk, ascending
	replayed bool
	cur      vfs.File
	curSeq   uint64
	curID    FileID
	curSize  int64
	curIndex uint64
	written  uint64 // records written (to the OS) since open
	durable  uint64 // records known synced
	err      error  // sticky: a failed write or sync poisons the WAL
}

// OpenWAL opens (creating if needed) the WAL in dir. It reads nothing yet:
// call Replay before Append.
func OpenWAL(fsys vfs.FS, dir string, opts WALOptions) (*WAL, error) {
	if opts.Keyring == nil {
		return nil, errors.New("store: OpenWAL: no keyring")
	}
	if opts.MaxFileSize <= 0 {
		opts.MaxFileSize = DefaultWALFileSize
	}
	if opts.Rand == nil {
		opts.Rand = rand.Reader
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if err := fsys.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: open WAL: %w", err)
	}
	names, err := fsys.List(dir)
	if err != nil {
		return nil, fmt.Errorf("store: open WAL: %w", err)
	}
	w := &WAL{fs: fsys, dir: dir, opts: opts}
	w.gen.Store(opts.Generation)
	for _, n := range names {
		if !strings.HasSuffix(n, walSuffix) {
			continue
		}
		seq, err := strconv.ParseUint(strings.TrimSuffix(n, walSuffix), 16, 64)
		if err != nil || walName(seq) != n {
			return nil, fmt.Errorf("store: open WAL: unexpected file %q", n)
		}
		w.files = append(w.files, seq)
	}
	return w, nil
}

func walName(seq uint64) string { return fmt.Sprintf("%016x%s", seq, walSuffix) }

func (w *WAL) path(seq uint64) string { return filepath.Join(w.dir, walName(seq)) }

func walFileID(seq uint64, salt []byte) FileID {
	var id FileID
	binary.BigEndian.PutUint64(id[:8], seq)
	copy(id[8:], salt)
	return id
}

// SetGeneration makes later Appends seal under AEK generation gen.
func (w *WAL) SetGeneration(gen uint32) { w.gen.Store(gen) }

// Replay reads every record of every WAL file in order and calls fn with the
// file's sequence number and the records of each Append, in append order. A
// torn tail of the last file (a record cut short by a crash) is truncated
// away and logged; damage anywhere else is an error wrapping ErrCorrupt, and
// an AEK the keyring cannot give is an error wrapping the keyring's. After a
// successful Replay the WAL starts a new file for Append.
func (w *WAL) Replay(ctx context.Context, fn func(fileSeq uint64, records [][]byte) error) error {
	w.syncMu.Lock()
	defer w.syncMu.Unlock()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.replayed {
		return errors.New("store: WAL already replayed")
	}
	keys := map[uint32]*AEK{}
	for i, seq := range w.files {
		if err := w.replayFile(ctx, seq, i == len(w.files)-1, keys, fn); err != nil {
			return err
		}
	}
	next := uint64(1)
	if n := len(w.files); n > 0 {
		next = w.files[n-1] + 1
	}
	if err := w.startFileLocked(next); err != nil {
		return err
	}
	w.replayed = true
	return nil
}

func (w *WAL) replayFile(ctx context.Context, seq uint64, last bool, keys map[uint32]*AEK, fn func(uint64, [][]byte) error) error {
	name := w.path(seq)
	f, err := w.fs.Open(name)
	if err != nil {
		return fmt.Errorf("store: replay WAL: %w", err)
	}
	size, err := f.Size()
	if err != nil {
		f.Close()
		return fmt.Errorf("store: replay WAL %s: %w", name, err)
	}
	data, err := readFull(f, 0, size)
	f.Close()
	if err != nil {
		return fmt.Errorf("store: replay WAL %s: %w", name, err)
	}
	corrupt := func(off int, format string, args ...any) error {
		return fmt.Errorf("store: replay WAL %s at offset %d: %w: %s", name, off, ErrCorrupt, fmt.Sprintf(format, args...))
	}
	if len(data) < walHeaderSize {
		if last {
			return w.truncateTail(seq, 0, size, "incomplete file header")
		}
		return corrupt(0, "incomplete file header")
	}
	if string(data[:4]) != walMagic {
		return corrupt(0, "bad magic")
	}
	if data[4] != walVersion1 {
		return fmt.Errorf("store: replay WAL %s: %w: version %d", name, ErrUnknownVersion, data[4])
	}
	if data[5]|data[6]|data[7] != 0 {
		return corrupt(5, "reserved header bytes are not zero")
	}
	if got := binary.BigEndian.Uint64(data[8:16]); got != seq {
		return corrupt(8, "header holds sequence %d", got)
	}
	id := walFileID(seq, data[16:24])
	off := walHeaderSize
	for index := uint64(0); off < len(data); index++ {
		rest := data[off:]
		if len(rest) < frameHeader {
			if last {
				return w.truncateTail(seq, int64(off), size, "partial frame header")
			}
			return corrupt(off, "partial frame header")
		}
		n := int(binary.BigEndian.Uint32(rest[0:4]))
		if crc32.Checksum(rest[0:4], castagnoli) != binary.BigEndian.Uint32(rest[4:8]) {
			// A torn write shortens a file or leaves zeros; it does not
			// change a length that was written.
			if last && allZero(rest) {
				return w.truncateTail(seq, int64(off), size, "zeroed tail")
			}
			return corrupt(off, "checksum mismatch in the length of record %d", index)
		}
		if n == 0 || n > maxWALRecord {
			return corrupt(off, "bad record length %d", n)
		}
		if n > len(rest)-frameHeader {
			if last {
				return w.truncateTail(seq, int64(off), size, "partial record")
			}
			return corrupt(off, "record %d extends past the end of the file", index)
		}
		sum := binary.BigEndian.Uint32(rest[8:12])
		sealed := rest[frameHeader : frameHeader+n]
		if crc32.Checksum(sealed, castagnoli) != sum {
			// A crash can leave sectors of the last record unwritten: they
			// read back as zeros. A complete record with other bytes
			// changed was altered after it was acknowledged.
			if last && off+frameHeader+n == len(data) && hasZeroSector(data, off+frameHeader, len(data)) {
				return w.truncateTail(seq, int64(off), size, "checksum mismatch in last record, unwritten sector")
			}
			return corrupt(off, "checksum mismatch in record %d", index)
		}
		gen, err := envelopeGeneration(sealed)
		if err != nil {
			return fmt.Errorf("store: replay WAL %s record %d: %w", name, index, err)
		}
		aek := keys[gen]
		if aek == nil {
			if aek, err = w.opts.Keyring.AEK(ctx, w.opts.Account, gen); err != nil {
				return fmt.Errorf("store: replay WAL %s record %d: AEK generation %d: %w", name, index, gen, err)
			}
			keys[gen] = aek
		}
		body, err := openEnvelope(nil, aek, &binding{account: w.opts.Account, kind: kindWALRecord, file: id, index: index}, sealed)
		if err != nil {
			return fmt.Errorf("store: replay WAL %s record %d: %w", name, index, err)
		}
		raw, err := decompressBody(nil, body)
		if err != nil {
			return fmt.Errorf("store: replay WAL %s record %d: %w", name, index, err)
		}
		recs, err := unmarshalRecords(raw)
		if err != nil {
			return fmt.Errorf("store: replay WAL %s record %d: %w", name, index, err)
		}
		if err := fn(seq, recs); err != nil {
			return err
		}
		off += frameHeader + n
	}
	return nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func (w *WAL) truncateTail(seq uint64, off, size int64, why string) error {
	name := w.path(seq)
	w.opts.Logger.Warn("store: truncating torn WAL tail", "file", name, "offset", off, "dropped_bytes", size-off, "reason", why)
	f, err := w.fs.OpenForAppend(name)
	if err != nil {
		return fmt.Errorf("store: truncate WAL tail %s: %w", name, err)
	}
	defer f.Close()
	if err := f.Truncate(off); err != nil {
		return fmt.Errorf("store: truncate WAL tail %s: %w", name, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("store: truncate WAL tail %s: %w", name, err)
	}
	return nil
}

// startFileLocked creates file seq, makes its header and directory entry
// durable, and makes it current. w.mu (and syncMu) must be held.
func (w *WAL) startFileLocked(seq uint64) error {
	var salt [8]byte
	if _, err := io.ReadFull(w.opts.Rand, salt[:]); err != nil {
		return fmt.Errorf("store: new WAL file: random source: %w", err)
	}
	name := w.path(seq)
	f, err := w.fs.Create(name)
	if err != nil {
		return fmt.Errorf("store: new WAL file: %w", err)
	}
	hdr := make([]byte, 0, walHeaderSize)
	hdr = append(hdr, walMagic...)
	hdr = append(hdr, walVersion1, 0, 0, 0)
	hdr = binary.BigEndian.AppendUint64(hdr, seq)
	hdr = append(hdr, salt[:]...)
	if _, err = f.Write(hdr); err == nil {
		if err = f.Sync(); err == nil {
			err = w.fs.SyncDir(w.dir)
		}
	}
	if err != nil {
		f.Close()
		return fmt.Errorf("store: new WAL file %s: %w", name, err)
	}
	w.cur, w.curSeq, w.curID = f, seq, walFileID(seq, salt[:])
	w.curSize, w.curIndex = walHeaderSize, 0
	if n := len(w.files); n == 0 || w.files[n-1] != seq {
		w.files = append(w.files, seq)
	}
	return nil
}

// rotateLocked syncs and closes the current file and starts the next one.
// Both syncMu and mu must be held.
func (w *WAL) rotateLocked() error {
	if err := w.cur.Sync(); err != nil {
		w.err = fmt.Errorf("store: sync WAL: %w", err)
		return w.err
	}
	w.durable = w.written
	if err := w.cur.Close(); err != nil {
		w.err = fmt.Errorf("store: close WAL: %w", err)
		return w.err
	}
	w.cur = nil
	if err := w.startFileLocked(w.curSeq + 1); err != nil {
		w.err = err
		return err
	}
	return nil
}

func (w *WAL) usable() error {
	if w.err != nil {
		return w.err
	}
	if !w.replayed {
		return errors.New("store: WAL: Append before Replay")
	}
	if w.cur == nil {
		return ErrClosed
	}
	return nil
}

// Append seals records as one WAL record under the current generation's AEK
// and returns once it is durable (fsynced). Concurrent Appends share one
// fsync (group commit). An error from the keyring is returned before
// anything is written; after a failed write or sync the WAL is poisoned and
// every later call fails: reopen and Replay. The context is consulted only
// before writing.
func (w *WAL) Append(ctx context.Context, records [][]byte) error {
	if len(records) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	raw := marshalRecords(nil, records)
	codec := codecZstd
	if w.opts.NoCompression {
		codec = codecNone
	}
	body, err := compressBody(nil, raw, codec, true)
	if err != nil {
		return err
	}
	gen := w.gen.Load()
	aek, err := w.opts.Keyring.AEK(ctx, w.opts.Account, gen)
	if err != nil {
		return fmt.Errorf("store: WAL append: AEK generation %d: %w", gen, err)
	}
	frameLen := int64(frameHeader + envOverhead + len(body))
	if frameLen > maxWALRecord {
		return fmt.Errorf("store: WAL append: record of %d bytes exceeds %d", frameLen, maxWALRecord)
	}

	w.mu.Lock()
	if err := w.usable(); err != nil {
		w.mu.Unlock()
		return err
	}
	if w.curIndex > 0 && w.curSize+frameLen > w.opts.MaxFileSize {
		w.mu.Unlock()
		w.syncMu.Lock()
		w.mu.Lock()
		err := w.usable()
		if err == nil && w.curIndex > 0 && w.curSize+frameLen > w.opts.MaxFileSize {
			err = w.rotateLocked()
		}
		w.syncMu.Unlock()
		if err != nil {
			w.mu.Unlock()
			return err
		}
	}
	frame := make([]byte, frameHeader, frameLen)
	frame, err = sealEnvelope(frame, w.opts.Rand, aek, &binding{account: w.opts.Account, kind: kindWALRecord, file: w.curID, index: w.curIndex}, body)
	if err != nil {
		w.mu.Unlock()
		return err
	}
	binary.BigEndian.PutUint32(frame[0:4], uint32(len(frame)-frameHeader))
	binary.BigEndian.PutUint32(frame[4:8], crc32.Checksum(frame[0:4], castagnoli))
	binary.BigEndian.PutUint32(frame[8:12], crc32.Checksum(frame[frameHeader:], castagnoli))
	if _, err := w.cur.Write(frame); err != nil {
		werr := fmt.Errorf("store: write WAL %s: %w", w.path(w.curSeq), err)
		w.err = werr
		w.mu.Unlock()
		return werr
	}
	w.curSize += int64(len(frame))
	w.curIndex++
	w.written++
	ticket := w.written
	w.mu.Unlock()
	return w.waitDurable(ticket)
}

// waitDurable returns once record number ticket is synced. The first waiter
// to get syncMu syncs everything written so far, for all waiters.
func (w *WAL) waitDurable(ticket uint64) error {
	w.syncMu.Lock()
	defer w.syncMu.Unlock()
	w.mu.Lock()
	if w.durable >= ticket {
		w.mu.Unlock()
		return nil
	}
	if w.err != nil {
		err := w.err
		w.mu.Unlock()
		return err
	}
	f, target := w.cur, w.written
	w.mu.Unlock()
	// Writers keep appending to the OS while this sync runs; they are covered
	// by the next one.
	err := f.Sync()
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		w.err = fmt.Errorf("store: sync WAL %s: %w", w.path(w.curSeq), err)
		return w.err
	}
	w.durable = max(w.durable, target)
	return nil
}

// Rotate syncs the current file and starts a new one, returning the new
// file's sequence number. Every Append that returned before Rotate was
// called is in a file with a smaller sequence number; once the caller has
// flushed all of those records into segments it calls RemoveBefore with the
// returned number.
func (w *WAL) Rotate() (uint64, error) {
	w.syncMu.Lock()
	defer w.syncMu.Unlock()
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usable(); err != nil {
		return 0, err
	}
	if err := w.rotateLocked(); err != nil {
		return 0, err
	}
	return w.curSeq, nil
}

// RemoveBefore deletes the WAL files whose sequence number is below seq
// (never the current file) and syncs the directory.
func (w *WAL) RemoveBefore(seq uint64) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	keep := w.files[:0]
	var err error
	removed := false
	for _, s := range w.files {
		if s < seq && (w.cur == nil || s != w.curSeq) && err == nil {
			if err = w.fs.Remove(w.path(s)); err == nil {
				removed = true
				continue
			}
		}
		keep = append(keep, s)
	}
	w.files = keep
	if removed {
		if serr := w.fs.SyncDir(w.dir); err == nil {
			err = serr
		}
	}
	if err != nil {
		return fmt.Errorf("store: remove WAL files: %w", err)
	}
	return nil
}

// Files returns the sequence numbers of the WAL files on disk.
func (w *WAL) Files() []uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]uint64(nil), w.files...)
}

// Close syncs and closes the current file. Later calls fail with ErrClosed.
func (w *WAL) Close() error {
	w.syncMu.Lock()
	defer w.syncMu.Unlock()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cur == nil {
		return nil
	}
	err := w.cur.Sync()
	if cerr := w.cur.Close(); err == nil {
		err = cerr
	}
	w.cur = nil
	if w.err == nil {
		w.err = ErrClosed
	}
	return err
}

// marshalRecords encodes the records of one Append (inside the envelope):
// uvarint count, then uvarint length + bytes per record.
func marshalRecords(dst []byte, recs [][]byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(recs)))
	for _, r := range recs {
		dst = binary.AppendUvarint(dst, uint64(len(r)))
		dst = append(dst, r...)
	}
	return dst
}

func unmarshalRecords(src []byte) ([][]byte, error) {
	d := &decoder{src: src, ctx: "WAL record"}
	n := d.uvarint()
	if d.err == nil && n > uint64(len(d.src)) {
		d.fail("record count beyond data")
	}
	var recs [][]byte
	for i := uint64(0); i < n && d.err == nil; i++ {
		recs = append(recs, d.bytes(d.uvarint()))
	}
	if d.err == nil && len(d.src) != 0 {
		d.fail("trailing bytes")
	}
	return recs, d.err
}

// sectorSize is the unit a torn write leaves written or not.
const sectorSize = 512

// hasZeroSector reports whether, for some sector of the file (aligned to
// file offsets), the part of data[start:end] inside it is all zeros: what
// a sector that never reached the disk reads back as. The record's bytes
// are ciphertext, so a zero run of a real record is negligible.
func hasZeroSector(data []byte, start, end int) bool {
	for s := start - start%sectorSize; s < end; s += sectorSize {
		if allZero(data[max(start, s):min(end, s+sectorSize)]) {
			return true
		}
	}
	return false
}
