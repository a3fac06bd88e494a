// Package devtls owns the development TLS material that `kustodian serve`
// creates on first start, so that Azure SDKs and tools, which insist on HTTPS,
// can talk to a local Kustodian without any manual certificate work.
//
// Under one directory it keeps:
//   - ca.pem and ca-key.pem: a development certificate authority
//     ("Kustodian Development CA", ECDSA P-256, valid 10 years) that users
//     add to their trust store once;
//   - server.pem and server-key.pem: a server certificate (ECDSA P-256, valid
//     1 year, server authentication only) signed by that CA and covering the
//     names the server is reachable under, including wildcards such as
//     "*.vault.localhost" for one Key Vault per subdomain.
//
// Invariants:
//   - The server certificate always covers at least localhost, 127.0.0.1 and
//     ::1.
//   - The CA is long-lived and kept across restarts: Ensure only ever replaces
//     the server certificate (when it misses a requested name, expires within
//     30 days, does not match its key or was not signed by the CA on disk), so
//     clients that trust ca.pem keep working. The CA itself is replaced only
//     when it is missing (no ca.pem) or expires within 30 days.
//   - Private keys are written with mode 0600, certificates with mode 0644,
//     the directory is created with mode 0700, and every file is written
//     atomically (temporary file, fsync, rename, fsync of the directory), so
//     a crash never leaves a half-written file. The key of a pair is written
//     before its certificate; a crash in between leaves a mismatched pair,
//     which the next Ensure detects and repairs.
//   - Files that exist but cannot be parsed are reported as errors naming the
//     file and the remedy; they are never silently replaced, and a damaged or
//     missing CA key is never replaced while ca.pem exists (that would break
//     every client that trusts it).
//
// Ensure is not safe for concurrent use by several processes on the same
// directory; readers never see partial files, but two concurrent first starts
// may each create a CA and the last one wins.
//
// This material is for development only: the CA key sits unencrypted next to
// the certificates, and anyone who can read it can impersonate any host to
// machines that trust the CA.
package devtls
