//go:build !cgo

package pkcs11

import (
	"context"
	"crypto/rsa"

	"github.com/kustodian/kustodian/internal/keyvault"
)

// Backend is a keyvault.Backend whose keys live in a PKCS#11 token. In this
// build, made without cgo, it cannot be opened.
type Backend struct{}

var _ keyvault.Backend = (*Backend)(nil)

// Open fails with ErrCgoRequired: this build has no cgo.
func Open(cfg Config) (*Backend, error) { return nil, ErrCgoRequired }

// Close does nothing.
func (b *Backend) Close() error { return nil }

// Name returns "pkcs11".
func (b *Backend) Name() string { return Name }

// HSM returns true.
func (b *Backend) HSM() bool { return true }

// GenerateRSA fails with ErrCgoRequired.
func (b *Backend) GenerateRSA(ctx context.Context, bits int, label string) (*rsa.PublicKey, []byte, error) {
	return nil, nil, ErrCgoRequired
}

// Encrypt fails with ErrCgoRequired.
func (b *Backend) Encrypt(ctx context.Context, ref []byte, pub *rsa.PublicKey, alg string, plaintext []byte) ([]byte, error) {
	return nil, ErrCgoRequired
}

// Decrypt fails with ErrCgoRequired.
func (b *Backend) Decrypt(ctx context.Context, ref []byte, alg string, ciphertext []byte) ([]byte, error) {
	return nil, ErrCgoRequired
}

// Sign fails with ErrCgoRequired.
func (b *Backend) Sign(ctx context.Context, ref []byte, alg string, digest []byte) ([]byte, error) {
	return nil, ErrCgoRequired
}

// Destroy fails with ErrCgoRequired.
func (b *Backend) Destroy(ctx context.Context, ref []byte) error { return ErrCgoRequired }
