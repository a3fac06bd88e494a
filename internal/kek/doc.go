// Package kek is the client side of key wrapping: how Kustodian's storage
// reaches a customer's key encryption key (KEK) in a Key Vault, and the
// account encryption keys (AEKs) it wraps.
//
// Client is the narrow interface storage and the control plane consume
// (get a key's properties, wrap, unwrap); VaultClient implements it with the
// Key Vault protocol through the official azkeys client, so the same code
// talks to the embedded vault and to any Azure-compatible vault. Other KEK
// providers (a KMIP server, a cloud KMS) can implement Client later.
// Validate checks a key as a cluster's identity will use it, naming the
// condition that failed.
//
// Errors are classified for the key availability state machine of
// DESIGN.md: ErrRevoked (the customer took access away: 401/403, disabled or
// deleted key) and ErrTransient (timeouts, connection and DNS errors, 429,
// 5xx).
//
// Manager owns every storage account's AEKs: generations stored only
// wrapped (GenerationStore), the Authority that wraps new generations
// (PlatformAuthority or a cluster's CustomerAuthority), the in-memory cache
// of unwrapped keys, and the availability state machine (Available,
// Revoked, Unavailable) driven by a refresh every RefreshInterval.
//
// Decisions DESIGN.md leaves open, taken here:
//   - The platform key (the seed's "Microsoft key") is the server's master
//     key through seal.Sealer, not a key in a system vault: it never has
//     transient failures. Moving it into a system vault is possible behind
//     the same Authority interface.
//   - Setting the first customer key starts a new generation wrapped only
//     by it; earlier (platform) generations keep their wrap. Rotation
//     rewraps every customer generation with the new version and replaces
//     the stored wraps in one transaction; data bytes are never touched.
//   - Revocation and unavailability apply to the whole account, including
//     its platform generations written before the customer key was set: the
//     seed says the storage "becomes unavailable", and a half-readable
//     account would answer queries with silently partial results.
//   - A transient failure keeps the cached keys for OutageGrace counted
//     from the last successful unwrap; a cold start (no success yet) has no
//     grace.
//   - AEK and WriteKey return copies the caller zeroes: the manager zeroes
//     its own copies when an account leaves Available, without racing
//     readers.
//
// Invariants: wrapped and unwrapped key bytes are never logged or put in an
// error or audit event; unwrapped keys exist only in memory.
package kek
