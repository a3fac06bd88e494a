// Package pkcs11 is the keyvault.Backend for HSM-backed keys (kty RSA-HSM):
// it keeps RSA private keys inside a PKCS#11 token and runs every operation
// with them there.
//
// The package owns the connection to one token: it loads the vendor's
// PKCS#11 module (a shared library, dlopen'ed at run time, so building the
// program needs no HSM software), finds the token by its label, logs in as
// the normal user and keeps a pool of sessions to it. A key version stores
// only the reference that GenerateRSA returns: a version byte followed by
// the random 16-byte CKA_ID shared by the key's public and private objects.
//
// Invariants:
//
//   - Keys are generated inside the token, as token objects, and the private
//     half is created private (login needed to use it), sensitive and not
//     extractable: its secret components cannot be read with
//     C_GetAttributeValue nor wrapped out of the token, and because
//     PKCS#11 lets these two attributes change only towards the safer value,
//     nobody can make them readable later. GenerateRSA reads the attributes
//     back and refuses (deleting the pair) a token that did not honour them.
//   - Private-key operations (decrypt/unwrap, sign) run inside the token.
//     Encrypt/wrap also runs there, with the public key object, so that the
//     token's copy of the key is authoritative. A token that does not
//     support OAEP with the hash asked for (SoftHSM 2.6 has OAEP with SHA-1
//     only, so RSA-OAEP-256 needs this) still does the RSA private-key
//     operation, as raw RSA (CKM_RSA_X_509), and the package removes the
//     OAEP padding in constant time; encryption, which needs no secret, is
//     then done with crypto/rsa and the public key read from the token.
//   - The PIN is used once, to log in. It is never logged and never part of
//     an error; the Backend does not keep it.
//   - Decryption failures surface as keyvault.ErrDecryption with no detail,
//     so that callers cannot tell a padding error from any other failure.
//
// A Backend is safe for concurrent use. Each operation takes a session from
// the pool (opening one if fewer than the limit exist) and returns it
// afterwards; login state is shared by all sessions of the process, so the
// pool never logs in again. Only one Backend per token may be open in a
// process at a time, because PKCS#11 login state is per process: a second
// Open of the same token would otherwise ride on the first one's login
// without its PIN being checked.
//
// Without cgo the package still builds, but Open always fails with
// ErrCgoRequired.
package pkcs11
