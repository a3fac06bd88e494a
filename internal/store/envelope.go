package store

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
)

// FileID identifies a segment or WAL file. Segment ids are random; WAL file
// ids carry the file's sequence number (see walFileID). The id is bound into
// the AAD of every envelope in the file.
type FileID [16]byte

// NewFileID returns a random FileID read from r (crypto/rand.Reader if r is
// nil).
func NewFileID(r io.Reader) (FileID, error) {
	if r == nil {
		r = rand.Reader
	}
	var id FileID
	if _, err := io.ReadFull(r, id[:]); err != nil {
		return FileID{}, fmt.Errorf("store: new file id: %w", err)
	}
	return id, nil
}

// String returns the id as 32 lowercase hex digits.
func (id FileID) String() string { return hex.EncodeToString(id[:]) }

// ParseFileID parses the form String returns.
func ParseFileID(s string) (FileID, error) {
	var id FileID
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(id) {
		return FileID{}, fmt.Errorf("store: invalid file id %q", s)
	}
	copy(id[:], b)
	return id, nil
}

// Envelope kinds: what a sealed object is, bound into its AAD so that one
// kind can never be opened as another.
const (
	kindBlock     byte = 1 // a columnar block of a segment
	kindFooter    byte = 2 // the footer (index) of a segment
	kindWALRecord byte = 3 // a WAL record
	kindBlockDir  byte = 4 // the directory of a v2 block (its DEK's salt)
	kindColumn    byte = 5 // one column of a v2 block
	kindFilter    byte = 6 // the value filter of a column of a v4 block
)

const (
	envMagic      = "KSEN"
	envVersion1   = 1
	saltSize      = 32
	nonceSize     = 12
	tagSize       = 16
	envHeaderSize = 4 + 1 + 1 + 4 + saltSize + nonceSize // 54
	// envOverhead is what sealing adds to a plaintext.
	envOverhead = envHeaderSize + tagSize

	dekInfo   = "kustodian/dek/v1"
	aadTag    = "kustodian/envelope/v1\x00"
	colAADTag = "kustodian/column/v1\x00"
	fltAADTag = "kustodian/filter/v1\x00"
	// colOverhead is what sealing adds to a column: nonce and tag.
	colOverhead = nonceSize + tagSize
)

// envelopeHeader is the plaintext header of a sealed object (format v1):
//
//	[0:4]   magic "KSEN"
//	[4]     version, 1
//	[5]     kind (1 block, 2 segment footer, 3 WAL record)
//	[6:10]  AEK generation, big endian
//	[10:42] HKDF salt, 32 random bytes
//	[42:54] AES-GCM nonce, 12 random bytes
//
// followed by the AES-256-GCM ciphertext and its 16-byte tag.
type envelopeHeader struct {
	kind       byte
	generation uint32
	salt       [saltSize]byte
	nonce      [nonceSize]byte
}

func (h *envelopeHeader) marshal(dst []byte) []byte {
	dst = append(dst, envMagic...)
	dst = append(dst, envVersion1, h.kind)
	dst = binary.BigEndian.AppendUint32(dst, h.generation)
	dst = append(dst, h.salt[:]...)
	return append(dst, h.nonce[:]...)
}

func (h *envelopeHeader) unmarshal(src []byte) ([]byte, error) {
	if len(src) < 5 || string(src[:4]) != envMagic {
		return src, fmt.Errorf("%w: envelope: bad magic", ErrCorrupt)
	}
	if src[4] != envVersion1 {
		return src, fmt.Errorf("%w: envelope version %d", ErrUnknownVersion, src[4])
	}
	if len(src) < envHeaderSize+tagSize {
		return src, fmt.Errorf("%w: envelope: %d bytes is shorter than the minimum %d", ErrCorrupt, len(src), envHeaderSize+tagSize)
	}
	h.kind = src[5]
	h.generation = binary.BigEndian.Uint32(src[6:10])
	copy(h.salt[:], src[10:42])
	copy(h.nonce[:], src[42:54])
	return src[envHeaderSize:], nil
}

// binding is where a sealed object belongs; it is not stored but bound into
// the AAD, so an object opens only at the place it was sealed for.
type binding struct {
	account string
	kind    byte
	file    FileID
	index   uint64
}

// appendAAD appends the additional authenticated data of an envelope: a
// domain tag, the first 10 header bytes (magic, version, kind, generation),
// the account id (uvarint length + bytes), the file id and the index.
func (b *binding) appendAAD(dst []byte, header []byte) []byte {
	dst = append(dst, aadTag...)
	dst = append(dst, header[:10]...)
	dst = binary.AppendUvarint(dst, uint64(len(b.account)))
	dst = append(dst, b.account...)
	dst = append(dst, b.file[:]...)
	return binary.BigEndian.AppendUint64(dst, b.index)
}

// newGCM derives the DEK for salt from aek and returns its AES-256-GCM. The
// derived key bytes are wiped; the expanded key schedule inside crypto/aes
// cannot be.
func newGCM(aek *AEK, salt []byte) (cipher.AEAD, error) {
	if benchNullCipher {
		return nullAEAD{}, nil
	}
	var g cipher.AEAD
	err := aek.with(func(key []byte) error {
		dek, err := hkdf.Key(sha256.New, key, salt, dekInfo, 32)
		if err != nil {
			return err
		}
		defer clear(dek)
		blk, err := aes.NewCipher(dek)
		if err != nil {
			return err
		}
		g, err = cipher.NewGCM(blk)
		return err
	})
	return g, err
}

// sealEnvelope appends to dst the envelope of plaintext sealed under aek for
// binding b, with salt and nonce read from rnd.
func sealEnvelope(dst []byte, rnd io.Reader, aek *AEK, b *binding, plaintext []byte) ([]byte, error) {
	h := envelopeHeader{kind: b.kind, generation: aek.Generation()}
	var rb [saltSize + nonceSize]byte
	if _, err := io.ReadFull(rnd, rb[:]); err != nil {
		return dst, fmt.Errorf("store: seal: random source: %w", err)
	}
	copy(h.salt[:], rb[:saltSize])
	copy(h.nonce[:], rb[saltSize:])
	g, err := newGCM(aek, h.salt[:])
	if err != nil {
		return dst, fmt.Errorf("store: seal: %w", err)
	}
	start := len(dst)
	dst = h.marshal(dst)
	var aadBuf [128]byte
	aad := b.appendAAD(aadBuf[:0], dst[start:])
	return g.Seal(dst, h.nonce[:], plaintext, aad), nil
}

// envelopeGeneration returns the AEK generation an envelope was sealed
// under, checking its magic and version.
func envelopeGeneration(sealed []byte) (uint32, error) {
	var h envelopeHeader
	if _, err := h.unmarshal(sealed); err != nil {
		return 0, err
	}
	return h.generation, nil
}

// openEnvelope authenticates and decrypts sealed, which must have been
// sealed for binding b under aek, and appends the plaintext to dst.
func openEnvelope(dst []byte, aek *AEK, b *binding, sealed []byte) ([]byte, error) {
	var h envelopeHeader
	ct, err := h.unmarshal(sealed)
	if err != nil {
		return dst, err
	}
	if h.kind != b.kind {
		return dst, fmt.Errorf("%w: envelope kind %d, want %d", ErrCorrupt, h.kind, b.kind)
	}
	if h.generation != aek.Generation() {
		return dst, fmt.Errorf("store: open: envelope of generation %d given AEK of generation %d", h.generation, aek.Generation())
	}
	g, err := newGCM(aek, h.salt[:])
	if err != nil {
		return dst, fmt.Errorf("store: open: %w", err)
	}
	var aadBuf [128]byte
	aad := b.appendAAD(aadBuf[:0], sealed)
	out, err := g.Open(dst, h.nonce[:], ct, aad)
	if err != nil {
		return dst, fmt.Errorf("%w: envelope (kind %d, file %s, index %d) failed authentication", ErrCorrupt, b.kind, b.file, b.index)
	}
	return out, nil
}

// blockKey is the DEK of one v2 block, derived from the AEK and the salt
// stored in the block's directory envelope. It seals the directory (a
// standard envelope carrying the salt) and every column of the block (nonce
// ‖ ciphertext ‖ tag, with the header bound through the AAD instead of
// stored).
type blockKey struct {
	generation uint32
	salt       [saltSize]byte
	aead       cipher.AEAD
}

// newBlockKey draws a fresh salt from rnd and derives the block's DEK.
func newBlockKey(rnd io.Reader, aek *AEK) (*blockKey, error) {
	k := &blockKey{generation: aek.Generation()}
	if _, err := io.ReadFull(rnd, k.salt[:]); err != nil {
		return nil, fmt.Errorf("store: seal: random source: %w", err)
	}
	g, err := newGCM(aek, k.salt[:])
	if err != nil {
		return nil, fmt.Errorf("store: seal: %w", err)
	}
	k.aead = g
	return k, nil
}

// sealDir appends the directory envelope (kind kindBlockDir, the block
// key's salt, a fresh nonce) of plaintext for binding b.
func (k *blockKey) sealDir(dst []byte, rnd io.Reader, b *binding, plaintext []byte) ([]byte, error) {
	h := envelopeHeader{kind: kindBlockDir, generation: k.generation, salt: k.salt}
	if _, err := io.ReadFull(rnd, h.nonce[:]); err != nil {
		return dst, fmt.Errorf("store: seal: random source: %w", err)
	}
	start := len(dst)
	dst = h.marshal(dst)
	var aadBuf [128]byte
	aad := b.appendAAD(aadBuf[:0], dst[start:])
	return k.aead.Seal(dst, h.nonce[:], plaintext, aad), nil
}

// openBlockDir authenticates and decrypts a directory envelope sealed for
// binding b (kind kindBlockDir) and returns its plaintext and the block key
// that opens the block's columns.
func openBlockDir(aek *AEK, b *binding, sealed []byte) ([]byte, *blockKey, error) {
	var h envelopeHeader
	ct, err := h.unmarshal(sealed)
	if err != nil {
		return nil, nil, err
	}
	if h.kind != kindBlockDir || b.kind != kindBlockDir {
		return nil, nil, fmt.Errorf("%w: envelope kind %d, want %d", ErrCorrupt, h.kind, kindBlockDir)
	}
	if h.generation != aek.Generation() {
		return nil, nil, fmt.Errorf("store: open: envelope of generation %d given AEK of generation %d", h.generation, aek.Generation())
	}
	g, err := newGCM(aek, h.salt[:])
	if err != nil {
		return nil, nil, fmt.Errorf("store: open: %w", err)
	}
	var aadBuf [128]byte
	aad := b.appendAAD(aadBuf[:0], sealed)
	plain, err := g.Open(nil, h.nonce[:], ct, aad)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: block directory (file %s, block %d) failed authentication", ErrCorrupt, b.file, b.index)
	}
	return plain, &blockKey{generation: h.generation, salt: h.salt, aead: g}, nil
}

// columnAAD is "kustodian/column/v1\x00" ‖ "KSEN" ‖ version 1 ‖ kind 5 ‖
// generation (4 bytes, big endian) ‖ uvarint(len(account)) ‖ account ‖ file
// id ‖ block index (8 bytes) ‖ column index (4 bytes), both big endian.
func (k *blockKey) columnAAD(dst []byte, b *binding, col uint32) []byte {
	return k.sectionAAD(dst, colAADTag, kindColumn, b, col)
}

// filterAAD is columnAAD with "kustodian/filter/v1\x00" and kind 6: a
// filter cannot be opened as a column or as the filter of another column.
func (k *blockKey) filterAAD(dst []byte, b *binding, col uint32) []byte {
	return k.sectionAAD(dst, fltAADTag, kindFilter, b, col)
}

func (k *blockKey) sectionAAD(dst []byte, tag string, kind byte, b *binding, col uint32) []byte {
	dst = append(dst, tag...)
	dst = append(dst, envMagic...)
	dst = append(dst, envVersion1, kind)
	dst = binary.BigEndian.AppendUint32(dst, k.generation)
	dst = binary.AppendUvarint(dst, uint64(len(b.account)))
	dst = append(dst, b.account...)
	dst = append(dst, b.file[:]...)
	dst = binary.BigEndian.AppendUint64(dst, b.index)
	return binary.BigEndian.AppendUint32(dst, col)
}

// sealColumn appends nonce ‖ AES-256-GCM(plaintext) for column col of the
// block at binding b.
func (k *blockKey) sealColumn(dst []byte, rnd io.Reader, b *binding, col uint32, plaintext []byte) ([]byte, error) {
	start := len(dst)
	dst = append(dst, make([]byte, nonceSize)...)
	if _, err := io.ReadFull(rnd, dst[start:]); err != nil {
		return dst[:start], fmt.Errorf("store: seal: random source: %w", err)
	}
	var aadBuf [128]byte
	return k.aead.Seal(dst, dst[start:start+nonceSize], plaintext, k.columnAAD(aadBuf[:0], b, col)), nil
}

// sealFilter appends nonce ‖ AES-256-GCM(plaintext) for the filter of
// column col of the block at binding b.
func (k *blockKey) sealFilter(dst []byte, rnd io.Reader, b *binding, col uint32, plaintext []byte) ([]byte, error) {
	start := len(dst)
	dst = append(dst, make([]byte, nonceSize)...)
	if _, err := io.ReadFull(rnd, dst[start:]); err != nil {
		return dst[:start], fmt.Errorf("store: seal: random source: %w", err)
	}
	var aadBuf [128]byte
	return k.aead.Seal(dst, dst[start:start+nonceSize], plaintext, k.filterAAD(aadBuf[:0], b, col)), nil
}

// openFilter authenticates and decrypts the filter of column col of the
// block at binding b and appends the plaintext to dst.
func (k *blockKey) openFilter(dst []byte, b *binding, col uint32, sealed []byte) ([]byte, error) {
	if len(sealed) < colOverhead {
		return dst, fmt.Errorf("%w: filter of column %d of block %d: %d bytes is too short", ErrCorrupt, col, b.index, len(sealed))
	}
	var aadBuf [128]byte
	out, err := k.aead.Open(dst, sealed[:nonceSize], sealed[nonceSize:], k.filterAAD(aadBuf[:0], b, col))
	if err != nil {
		return dst, fmt.Errorf("%w: filter of column %d of block %d (file %s) failed authentication", ErrCorrupt, col, b.index, b.file)
	}
	return out, nil
}

// openColumn authenticates and decrypts column col of the block at binding
// b and appends the plaintext to dst.
func (k *blockKey) openColumn(dst []byte, b *binding, col uint32, sealed []byte) ([]byte, error) {
	if len(sealed) < colOverhead {
		return dst, fmt.Errorf("%w: column %d of block %d: %d bytes is too short", ErrCorrupt, col, b.index, len(sealed))
	}
	var aadBuf [128]byte
	out, err := k.aead.Open(dst, sealed[:nonceSize], sealed[nonceSize:], k.columnAAD(aadBuf[:0], b, col))
	if err != nil {
		return dst, fmt.Errorf("%w: column %d of block %d (file %s) failed authentication", ErrCorrupt, col, b.index, b.file)
	}
	return out, nil
}

// benchNullCipher replaces key derivation and AES-GCM by a copy (with a
// zero tag of the same size) so that a benchmark can measure the engine
// with and without encryption in one run. Only tests of this package set
// it; nothing else can reach it.
var benchNullCipher bool

// nullAEAD is the cipher of benchNullCipher: same sizes as AES-256-GCM, no
// secrecy, no authentication.
type nullAEAD struct{}

func (nullAEAD) NonceSize() int { return nonceSize }
func (nullAEAD) Overhead() int  { return tagSize }
func (nullAEAD) Seal(dst, _, plaintext, _ []byte) []byte {
	dst = append(dst, plaintext...)
	return append(dst, make([]byte, tagSize)...)
}
func (nullAEAD) Open(dst, _, ciphertext, _ []byte) ([]byte, error) {
	if len(ciphertext) < tagSize {
		return dst, ErrCorrupt
	}
	return append(dst, ciphertext[:len(ciphertext)-tagSize]...), nil
}
