package keyvault

import (
	"context"
	"crypto/rsa"
	"errors"
)

// Key wrapping and encryption algorithms (JWA names, as Key Vault uses them).
const (
	AlgRSAOAEP    = "RSA-OAEP"     // RSAES-OAEP with SHA-1 and MGF1-SHA-1
	AlgRSAOAEP256 = "RSA-OAEP-256" // RSAES-OAEP with SHA-256 and MGF1-SHA-256
	AlgRSA15      = "RSA1_5"       // RSAES-PKCS1-v1_5
)

// Signature algorithms over a digest computed by the caller.
const (
	AlgRS256 = "RS256"
	AlgRS384 = "RS384"
	AlgRS512 = "RS512"
	AlgPS256 = "PS256"
	AlgPS384 = "PS384"
	AlgPS512 = "PS512"
)

// Errors a Backend returns; the HTTP layer maps them to Key Vault errors.
var (
	// ErrUnsupportedAlgorithm: the algorithm is unknown or not valid for the key.
	ErrUnsupportedAlgorithm = errors.New("keyvault: unsupported algorithm")
	// ErrDecryption: the ciphertext does not decrypt under the key (wrong
	// key, tampered or malformed input). It never says more than that.
	ErrDecryption = errors.New("keyvault: decryption failed")
	// ErrKeyMaterialNotFound: the backend has no key for the reference.
	ErrKeyMaterialNotFound = errors.New("keyvault: key material not found")
)

// Backend holds private key material and performs the private-key
// operations. A key version stores only the opaque reference the backend
// returns (for the software backend: the private key sealed under the master
// key; for PKCS#11: the token object's id); the private key itself never
// leaves the backend. Public-key operations that a backend does not need to
// run (verify) are done by the caller with the public key.
type Backend interface {
	// Name identifies the backend ("software", "pkcs11").
	Name() string
	// HSM reports whether keys live in hardware (kty RSA-HSM).
	HSM() bool
	// GenerateRSA creates an RSA key of bits bits. label names the key for
	// operators (vault/key/version); it is not secret.
	GenerateRSA(ctx context.Context, bits int, label string) (pub *rsa.PublicKey, ref []byte, err error)
	// Encrypt encrypts (wraps) plaintext with the key's public part using alg.
	Encrypt(ctx context.Context, ref []byte, pub *rsa.PublicKey, alg string, plaintext []byte) ([]byte, error)
	// Decrypt decrypts (unwraps) ciphertext with the private key using alg.
	Decrypt(ctx context.Context, ref []byte, alg string, ciphertext []byte) ([]byte, error)
	// Sign signs a digest with the private key using alg.
	Sign(ctx context.Context, ref []byte, alg string, digest []byte) ([]byte, error)
	// Destroy deletes the key material for good (purge).
	Destroy(ctx context.Context, ref []byte) error
}
