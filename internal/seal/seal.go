package seal

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
)

// KeySize is the size in bytes of a master key.
const KeySize = 32

// Sealed format, version 1; see the package documentation.
const (
	magic0, magic1 = 'k', 's'
	version1       = 0x01
	keyIDLen       = 8
	headerLen      = 3 + keyIDLen // magic, version, key id
	nonceLen       = 12
	tagLen         = 16
	minSealedLen   = headerLen + nonceLen + tagLen

	hkdfInfo    = "kustodian/seal/v1 aes-256-gcm"
	keyIDDomain = "kustodian/seal/v1 key id\x00"
)

// Errors returned by Open (wrapped; test with errors.Is).
var (
	// ErrWrongKey means the value was sealed under a different master key.
	ErrWrongKey = errors.New("seal: sealed with a different master key")
	// ErrCorrupt means the value is not a sealed value, is truncated, was
	// tampered with, or was sealed with a different aad.
	ErrCorrupt = errors.New("seal: sealed value is corrupt, truncated or bound to a different purpose")
	// ErrUnknownVersion means the value was sealed in a format version this
	// code does not know, for example by a newer Kustodian.
	ErrUnknownVersion = errors.New("seal: unknown sealed format version")
	// ErrClosed is returned by Seal and Open after Close.
	ErrClosed = errors.New("seal: sealer is closed")
)

// Sealer encrypts and decrypts values under a master key. It is safe for
// concurrent use, including Close.
type Sealer struct {
	keyID [keyIDLen]byte

	mu     sync.RWMutex
	subkey []byte      // HKDF-derived AES-256 key; nil after Close
	aead   cipher.AEAD // AES-256-GCM with random nonces; nil after Close
}

// New returns a Sealer for the 32-byte master key. It does not retain key
// (it keeps only a key derived from it), so the caller may zero key
// afterwards.
func New(key []byte) (*Sealer, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("seal: master key is %d bytes, want %d", len(key), KeySize)
	}
	subkey, err := hkdf.Key(sha256.New, key, nil, hkdfInfo, 32)
	if err != nil {
		return nil, fmt.Errorf("seal: deriving key: %w", err)
	}
	block, err := aes.NewCipher(subkey)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	s := &Sealer{subkey: subkey, aead: aead}
	h := sha256.New()
	h.Write([]byte(keyIDDomain))
	h.Write(key)
	copy(s.keyID[:], h.Sum(nil))
	return s, nil
}

// Seal encrypts plaintext with AES-256-GCM under a subkey derived with
// HKDF-SHA256 from the master key. The output is self-describing: magic and
// version bytes, a key id (so that opening with a wrong master key is
// reported as such), a 96-bit random nonce, then ciphertext and tag; see the
// package documentation for the exact layout. aad binds the sealed value to
// its purpose or location (for example "tenant/<id>/signing-key"): Open with
// a different aad fails (nil and empty aad are the same). aad is not stored
// in the output.
func (s *Sealer) Seal(plaintext, aad []byte) ([]byte, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.aead == nil {
		return nil, ErrClosed
	}
	out := make([]byte, headerLen, minSealedLen+len(plaintext))
	out[0], out[1], out[2] = magic0, magic1, version1
	copy(out[3:headerLen], s.keyID[:])
	// The AEAD writes nonce || ciphertext || tag after the header.
	return s.aead.Seal(out, nil, plaintext, gcmAAD(out[:headerLen], aad)), nil
}

// Open decrypts a value produced by Seal with the same master key and aad.
// It returns an error matching ErrWrongKey, ErrCorrupt or ErrUnknownVersion
// (see the package documentation), or ErrClosed. The returned plaintext does
// not share memory with sealed.
func (s *Sealer) Open(sealed, aad []byte) ([]byte, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.aead == nil {
		return nil, ErrClosed
	}
	if len(sealed) < 2 || sealed[0] != magic0 || sealed[1] != magic1 {
		return nil, fmt.Errorf("%w: not a sealed value", ErrCorrupt)
	}
	if len(sealed) < 3 {
		return nil, fmt.Errorf("%w: truncated", ErrCorrupt)
	}
	if v := sealed[2]; v != version1 {
		return nil, fmt.Errorf("%w %d", ErrUnknownVersion, v)
	}
	if len(sealed) < minSealedLen {
		return nil, fmt.Errorf("%w: truncated", ErrCorrupt)
	}
	if id := sealed[3:headerLen]; !bytes.Equal(id, s.keyID[:]) {
		return nil, fmt.Errorf("%w (value key id %x, loaded key id %x)", ErrWrongKey, id, s.keyID)
	}
	plaintext, err := s.aead.Open(nil, nil, sealed[headerLen:], gcmAAD(sealed[:headerLen], aad))
	if err != nil {
		return nil, fmt.Errorf("%w: authentication failed", ErrCorrupt)
	}
	return plaintext, nil
}

// Close zeroes the key material held by s. Seal and Open return ErrClosed
// afterwards. Close is idempotent.
func (s *Sealer) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.subkey)
	s.subkey = nil
	s.aead = nil
}

// gcmAAD returns the GCM additional data: the fixed-length header followed by
// the caller's aad (no length prefix is needed since the header length is
// fixed).
func gcmAAD(header, aad []byte) []byte {
	b := make([]byte, 0, len(header)+len(aad))
	return append(append(b, header...), aad...)
}
