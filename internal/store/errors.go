package store

import "errors"

// Errors callers can test with errors.Is. Every error the store returns for
// bad data wraps ErrCorrupt or ErrUnknownVersion; errors from the Keyring
// and the filesystem are wrapped unchanged.
var (
	// ErrCorrupt means stored bytes failed a check: a bad magic number, a
	// checksum or authentication failure, a truncated file, a block read
	// from the wrong position, segment, file or account. Data that fails a
	// check is never returned.
	ErrCorrupt = errors.New("store: corrupt or tampered data")
	// ErrUnknownVersion means a header carries a format version this code
	// does not know (written by a newer release, or damaged).
	ErrUnknownVersion = errors.New("store: unknown format version")
	// ErrKeyZeroed means an AEK was used after Zero.
	ErrKeyZeroed = errors.New("store: AEK has been zeroed")
	// ErrClosed means the WAL or segment was used after Close or after a
	// write or sync failure poisoned it.
	ErrClosed = errors.New("store: closed")
)
