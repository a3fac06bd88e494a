package store

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
)

// AEKSize is the length in bytes of an account encryption key.
const AEKSize = 32

// AEK is an unwrapped account encryption key of one generation of one
// storage account. Its String, GoString and LogValue methods redact the key,
// so it cannot be printed by accident. Zero wipes the key; an AEK that has
// been zeroed refuses to derive keys (ErrKeyZeroed) instead of encrypting
// under zeros. The zero value is not usable; make one with NewAEK.
//
// An AEK is safe for concurrent use: Zero waits for derivations in flight.
type AEK struct {
	gen    uint32
	mu     sync.RWMutex
	key    [AEKSize]byte
	zeroed bool
}

// NewAEK returns an AEK of the given generation holding a copy of key, which
// must be AEKSize bytes. The caller should wipe its own copy of key.
func NewAEK(generation uint32, key []byte) (*AEK, error) {
	if len(key) != AEKSize {
		return nil, fmt.Errorf("store: AEK of generation %d has %d bytes, want %d", generation, len(key), AEKSize)
	}
	k := &AEK{gen: generation}
	copy(k.key[:], key)
	return k, nil
}

// Generation returns the generation number of the key.
func (k *AEK) Generation() uint32 { return k.gen }

// Zero wipes the key material. It is idempotent.
func (k *AEK) Zero() {
	k.mu.Lock()
	defer k.mu.Unlock()
	clear(k.key[:])
	k.zeroed = true
}

// String implements fmt.Stringer without revealing the key.
func (k *AEK) String() string { return fmt.Sprintf("AEK(generation=%d, redacted)", k.gen) }

// GoString implements fmt.GoStringer without revealing the key.
func (k *AEK) GoString() string { return k.String() }

// LogValue implements slog.LogValuer without revealing the key.
func (k *AEK) LogValue() slog.Value {
	return slog.GroupValue(slog.Uint64("generation", uint64(k.gen)), slog.String("key", "redacted"))
}

// with calls fn with the key bytes while holding a read lock; fn must not
// retain the slice.
func (k *AEK) with(fn func(key []byte) error) error {
	k.mu.RLock()
	defer k.mu.RUnlock()
	if k.zeroed {
		return fmt.Errorf("store: AEK generation %d: %w", k.gen, ErrKeyZeroed)
	}
	return fn(k.key[:])
}

// Keyring hands out unwrapped AEKs. It is implemented by the key layer
// (internal/kek), which owns the AEKs it returns: the store never zeroes or
// retains them beyond one operation, and asks again for every block it opens
// so that a revocation takes effect at once. Errors are passed through
// unchanged (wrapped with %w), so errors.Is works for the key layer's
// sentinel errors such as a revoked key.
type Keyring interface {
	// AEK returns the AEK of the given generation of a storage account.
	AEK(ctx context.Context, account string, generation uint32) (*AEK, error)
}
