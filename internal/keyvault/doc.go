// Package keyvault is Kustodian's embedded Key Vault: the data plane of
// Azure Key Vault for keys, served to the official azkeys client unchanged
// except for the vault URL, and the key backends that hold the private key
// material.
//
// It owns:
//   - the Backend contract (backend.go) and the software backend
//     (NewSoftwareBackend), which keeps RSA private keys only sealed under
//     the server master key; the PKCS#11 backend lives in the pkcs11
//     subpackage;
//   - the vault contract it consumes from the management plane (Vaults,
//     VaultConfig, AccessPolicy; vault.go);
//   - the HTTP data plane (Service, Handler): keys and their versions,
//     create/import/get/list/update/delete, soft delete, recover, purge,
//     rotation and rotation policies, backup/restore, and the cryptographic
//     operations wrapkey/unwrapkey/encrypt/decrypt/sign/verify, with
//     Key Vault's challenge-based bearer authentication, access-policy
//     authorization and error shapes;
//   - the persistence of key metadata in the metadata store's generic
//     documents (kinds "keyvault.key" and "keyvault.keyversion").
//
// Vaults are served virtual-host style at https://{vault}.{DNSSuffix}[:port]/
// and path style under /keyvault/{vault}/ for clients that cannot resolve
// the vault's name (Service.Match tells the server which requests are the
// data plane's). Key identifiers (kid) always use the virtual-host form.
//
// Invariants:
//   - private key material never leaves a Backend: the data plane sees only
//     public keys and opaque references; operations that need the private
//     key (unwrap, decrypt, sign) run inside the backend;
//   - private key material is never logged, never put in an error message
//     or metric label, and is stored only sealed (software keys: the PKCS#1
//     private key sealed with an aad binding it to its purpose and label;
//     backups: the whole blob sealed again); plaintext private keys are
//     zeroed after use where the Go runtime allows it;
//   - a failed decrypt or unwrap answers one generic 400 message whatever
//     the cause (no padding oracle); wrong bytes are never returned;
//   - every request is authenticated (bearer token for one of
//     Audiences(host): the challenge's Audience(host), the DNS suffix alone,
//     or Azure's https://vault.azure.net; issued in the vault's tenant) and
//     authorized by the vault's access policies before any key is looked up;
//   - every api-version Azure serves is served (2016-10-01, 7.0 to today,
//     previews included), each with its own response shape (apiversion.go);
//   - bad input never yields a 500: every refusal is a Key Vault error
//     {"error":{"code","message","innererror"}} with a 4xx status.
//
// Behaviour choices where Azure is silent or not reproducible:
//   - only RSA and RSA-HSM keys (2048, 3072, 4096 bits, exponent 65537);
//     EC and oct keys are refused with a clear 400;
//   - RSA-HSM keys need a premium vault and an HSM backend, or the
//     operator's explicit opt-in to serve them from the software backend
//     (Options.SoftwareHSM);
//   - outside the nbf/exp window a key refuses encrypt, wrapKey and sign but
//     still decrypts, unwraps and verifies, as Azure documents for
//     date-time controlled operations; a disabled key refuses every
//     cryptographic operation;
//   - deleted keys whose scheduled purge date has passed, and keys whose
//     rotation policy says they are due, are handled by Maintain, which the
//     server calls periodically (driven by Options.Now).
package keyvault
