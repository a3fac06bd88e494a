// Package kek is the client side of key wrapping: how Kustodian's storage
// reaches a customer's key encryption key (KEK) in a Key Vault.
//
// Client is the narrow interface storage and the control plane consume
// (get a key's properties, wrap, unwrap); VaultClient implements it with the
// Key Vault protocol through the official azkeys client, so the same code
// talks to the embedded vault and to any Azure-compatible vault. Other KEK
// providers (a KMIP server, a cloud KMS) can implement Client later.
//
// Errors are classified for the key availability state machine of
// DESIGN.md: ErrRevoked (the customer took access away: 401/403, disabled or
// deleted key) and ErrTransient (timeouts, connection and DNS errors, 429,
// 5xx). Validate checks a key as a cluster's identity will use it, naming
// the condition that failed.
//
// Invariants: wrapped and unwrapped key bytes are never logged or put in an
// error; callers own (and zero) what Unwrap returns.
package kek
