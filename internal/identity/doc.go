// Package identity is Kustodian's identity service: the token issuer every
// other part of the control plane trusts, and the role-based access check
// Resource Manager requests go through.
//
// It owns:
//   - the Directory contract it consumes (tenants with their signing keys,
//     service principals and managed identities), implemented by the
//     metadata store (directory.go);
//   - issuing and verifying RS256 JWT access tokens shaped like the
//     Microsoft identity platform's v2.0 app-only tokens (token.go);
//   - the HTTP endpoints the official Azure SDK credentials talk to: the
//     OAuth 2.0 client-credentials token endpoints (v2.0 and v1), the OpenID
//     Connect discovery documents and the JSON Web Key Sets (handlers.go),
//     per tenant and, for one tenant (Options.ADFSTenant), under the AD
//     FS-style authority {AuthorityHost}adfs that the Azure CLI and MSAL use
//     without asking Microsoft's instance discovery;
//   - built-in Azure role definitions and the authorization check
//     (rbac.go).
//
// Invariants:
//   - client secrets are stored only as SHA-256 hashes (HashSecret) and are
//     compared in constant time; a secret is never logged, stored or put in
//     an error;
//   - signing keys never leave this package except through Directory; only
//     their public halves are published (JWKS);
//   - a token is verified with its own tenant's key only, with RS256 only:
//     "none", HMAC and every other algorithm are refused, as is a key id that
//     is not the tenant's;
//   - a token is valid only while its principal still exists in the
//     directory;
//   - a token names the audience its client asked for; a service accepts
//     every audience Azure accepts for it (Verify takes the set);
//   - error messages may carry a reason (they may be shown to clients) but
//     never the token itself;
//   - this package keeps no metrics and no state of its own: everything it
//     knows comes from Directory and AssignmentSource on each call.
package identity
