package identity

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
)

// ErrNotFound is returned by a Directory when a tenant or principal does not
// exist.
var ErrNotFound = errors.New("identity: not found")

// Principal kinds.
const (
	// KindServicePrincipal is an application's service principal; it
	// authenticates at the token endpoint with a client secret.
	KindServicePrincipal = "ServicePrincipal"
	// KindManagedIdentity is a resource's managed identity; it has no secret
	// and gets tokens only from the server itself (MintForManagedIdentity).
	KindManagedIdentity = "ManagedIdentity"
)

// Tenant is a directory tenant and the key its tokens are signed with.
type Tenant struct {
	ID         string
	SigningKey *rsa.PrivateKey
}

// Principal is a service principal or managed identity.
type Principal struct {
	ObjectID    string
	TenantID    string
	ClientID    string
	DisplayName string
	// Kind is KindServicePrincipal or KindManagedIdentity.
	Kind string
	// SecretHash is the SHA-256 of the client secret (HashSecret); empty for
	// managed identities.
	SecretHash []byte
	// ResourceID is, for a managed identity, the ARM id of the resource
	// owning it.
	ResourceID string
}

// Directory is the identity service's view of the metadata store. Lookups
// return an error wrapping ErrNotFound when the tenant or principal does not
// exist; any other error is treated as an internal failure. Tenant is called
// on every Issue and Verify, so implementations should cache the parsed key.
type Directory interface {
	// Tenant returns the tenant with the given id.
	Tenant(ctx context.Context, tenantID string) (*Tenant, error)
	// PrincipalByClientID returns the principal of a tenant with the given
	// client (application) id.
	PrincipalByClientID(ctx context.Context, tenantID, clientID string) (*Principal, error)
	// PrincipalByObjectID returns the principal of a tenant with the given
	// object id.
	PrincipalByObjectID(ctx context.Context, tenantID, objectID string) (*Principal, error)
}

// secretBytes is the entropy of a generated client secret: 30 bytes encode
// to 40 URL-safe base64 characters.
const secretBytes = 30

// NewSecret returns a new cryptographically random client secret (40
// URL-safe characters) and its hash, which is what the store keeps. The
// secret is shown to the caller once and never stored.
func NewSecret() (secret string, hash []byte) {
	b := make([]byte, secretBytes)
	// crypto/rand.Read never returns an error (it panics if the system
	// source fails).
	_, _ = rand.Read(b)
	secret = base64.RawURLEncoding.EncodeToString(b)
	return secret, HashSecret(secret)
}

// HashSecret returns the SHA-256 hash of a client secret.
func HashSecret(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// NewSigningKey returns a new 2048-bit RSA key for signing a tenant's tokens.
func NewSigningKey() (*rsa.PrivateKey, error) {
	return rsa.GenerateKey(rand.Reader, 2048)
}

// KeyID returns the key id ("kid") of a public key: the unpadded base64url
// SHA-256 of its PKIX DER encoding.
func KeyID(pub *rsa.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		// Only unsupported key types fail; an *rsa.PublicKey never does.
		panic("identity: marshal RSA public key: " + err.Error())
	}
	sum := sha256.Sum256(der)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
