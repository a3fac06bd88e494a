// Package seal owns the server master key and the encryption of secrets at
// rest with it: tenant signing keys, workspace shared keys and the private
// keys of software Key Vault keys are stored only in sealed form.
//
// The master key is 32 random bytes kept in a file of its own
// (LoadOrCreateKeyFile), stored as one line of standard, padded base64
// (44 characters, optionally followed by whitespace). The file must not be
// accessible by group or others.
//
// Sealed format, version 1 (all offsets in bytes):
//
//	[0:2]   magic "ks"
//	[2]     version, 0x01
//	[3:11]  key id: first 8 bytes of SHA-256("kustodian/seal/v1 key id\x00" || master key)
//	[11:23] 96-bit random nonce
//	[23:]   AES-256-GCM ciphertext followed by its 16-byte tag
//
// The AES key is derived from the master key with HKDF-SHA256 (no salt, info
// "kustodian/seal/v1 aes-256-gcm"). The GCM additional data is bytes [0:11]
// followed by the caller's aad, so the header cannot be altered and a value
// sealed for one purpose (aad such as "tenant/<id>/signing-key") cannot be
// opened for another.
//
// Invariants:
//   - The format above never changes for version 1: values sealed once must
//     open forever (testdata/golden-v1.json pins it). A new layout gets a new
//     version byte.
//   - Open distinguishes, with sentinel errors for errors.Is: ErrWrongKey
//     (the key id does not match the loaded master key), ErrUnknownVersion
//     (a version this code does not know) and ErrCorrupt (everything else:
//     not a sealed value, truncated, tampered with, or a different aad). A
//     tampered key id is reported as ErrWrongKey, since it is
//     indistinguishable from a value sealed under another key.
//   - Error messages never contain plaintext or key bytes.
//   - A Sealer never retains the master key itself, only the derived AES key,
//     which Close zeroes (best effort: the expanded AES key schedule inside
//     crypto/aes cannot be cleared).
//   - With random nonces one master key must not seal more than 2^32 values;
//     secrets at rest stay far below that.
//
// Secret is a byte slice for key material that redacts itself in fmt, slog
// and encoding/json output.
package seal
