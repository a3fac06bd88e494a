package keyvault

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"

	"github.com/kustodian/kustodian/internal/seal"
)

// SoftwareBackendName is the Name of the software backend.
const SoftwareBackendName = "software"

// RSAImporter is implemented by backends that can take in an RSA private key
// supplied by a client (Key Vault's import). The backend takes custody of
// the key: the returned reference is what a key version stores, exactly as
// for GenerateRSA. The caller zeroes key afterwards.
type RSAImporter interface {
	ImportRSA(ctx context.Context, key *rsa.PrivateKey, label string) (ref []byte, err error)
}

// softwareRefVersion is the version of the software reference format.
const softwareRefVersion = 1

// softwareAADPrefix starts the aad a software private key is sealed with;
// the key's label follows, so a sealed key cannot be passed off as another.
const softwareAADPrefix = "kustodian/keyvault/software-rsa/v1\x00"

// softwareRef is what a software key version stores: the PKCS#1 private key
// sealed under the master key, and the label bound into the seal's aad.
type softwareRef struct {
	V      int    `json:"v"`
	Label  string `json:"label"`
	Sealed []byte `json:"sealed"`
}

// softwareBackend keeps RSA private keys sealed under the server master key.
// It has no state of its own: the sealed key is the reference.
type softwareBackend struct {
	sealer *seal.Sealer
	// generate creates a private key; tests substitute a faster source.
	generate func(bits int) (*rsa.PrivateKey, error)
}

// NewSoftwareBackend returns the software backend (Name "software", HSM
// false). Private keys are generated with crypto/rsa and kept only as the
// PKCS#1 encoding sealed by s with an aad naming their purpose and label;
// the reference stored by a key version is that sealed value. The backend
// also implements RSAImporter.
func NewSoftwareBackend(s *seal.Sealer) Backend {
	return &softwareBackend{sealer: s, generate: func(bits int) (*rsa.PrivateKey, error) {
		return rsa.GenerateKey(rand.Reader, bits)
	}}
}

// Name implements Backend.
func (b *softwareBackend) Name() string { return SoftwareBackendName }

// HSM implements Backend: software keys are not in hardware.
func (b *softwareBackend) HSM() bool { return false }

// GenerateRSA implements Backend.
func (b *softwareBackend) GenerateRSA(ctx context.Context, bits int, label string) (*rsa.PublicKey, []byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	key, err := b.generate(bits)
	if err != nil {
		return nil, nil, fmt.Errorf("keyvault: generating RSA-%d key: %w", bits, err)
	}
	defer zeroRSA(key)
	ref, err := b.seal(key, label)
	if err != nil {
		return nil, nil, err
	}
	return publicCopy(&key.PublicKey), ref, nil
}

// ImportRSA implements RSAImporter. The key is validated first.
func (b *softwareBackend) ImportRSA(ctx context.Context, key *rsa.PrivateKey, label string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := key.Validate(); err != nil {
		return nil, errors.New("keyvault: the RSA private key is not valid")
	}
	return b.seal(key, label)
}

// seal encodes key as PKCS#1, seals it and returns the reference.
func (b *softwareBackend) seal(key *rsa.PrivateKey, label string) ([]byte, error) {
	der := x509.MarshalPKCS1PrivateKey(key)
	defer clear(der)
	sealed, err := b.sealer.Seal(der, softwareAAD(label))
	if err != nil {
		return nil, fmt.Errorf("keyvault: sealing private key: %w", err)
	}
	ref, err := json.Marshal(softwareRef{V: softwareRefVersion, Label: label, Sealed: sealed})
	if err != nil {
		return nil, fmt.Errorf("keyvault: encoding key reference: %w", err)
	}
	return ref, nil
}

// open returns the private key of a reference. The caller zeroes it with
// zeroRSA.
func (b *softwareBackend) open(ref []byte) (*rsa.PrivateKey, error) {
	var r softwareRef
	if err := json.Unmarshal(ref, &r); err != nil || r.V != softwareRefVersion || len(r.Sealed) == 0 {
		return nil, fmt.Errorf("%w: not a software key reference", ErrKeyMaterialNotFound)
	}
	der, err := b.sealer.Open(r.Sealed, softwareAAD(r.Label))
	if err != nil {
		return nil, fmt.Errorf("keyvault: opening software key %q: %w", r.Label, err)
	}
	defer clear(der)
	key, err := x509.ParsePKCS1PrivateKey(der)
	if err != nil {
		// Never say more: the bytes are a private key.
		return nil, fmt.Errorf("keyvault: software key %q does not decode", r.Label)
	}
	return key, nil
}

// Encrypt implements Backend; it needs only the public key.
func (b *softwareBackend) Encrypt(ctx context.Context, ref []byte, pub *rsa.PublicKey, alg string, plaintext []byte) ([]byte, error) {
	return rsaEncrypt(pub, alg, plaintext)
}

// Decrypt implements Backend.
func (b *softwareBackend) Decrypt(ctx context.Context, ref []byte, alg string, ciphertext []byte) ([]byte, error) {
	if !isEncryptionAlg(alg) {
		return nil, ErrUnsupportedAlgorithm
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	key, err := b.open(ref)
	if err != nil {
		return nil, err
	}
	defer zeroRSA(key)
	var out []byte
	switch alg {
	case AlgRSAOAEP:
		out, err = rsa.DecryptOAEP(sha1.New(), nil, key, ciphertext, nil)
	case AlgRSAOAEP256:
		out, err = rsa.DecryptOAEP(sha256.New(), nil, key, ciphertext, nil)
	case AlgRSA15:
		out, err = rsa.DecryptPKCS1v15(nil, key, ciphertext) //nolint:staticcheck // Key Vault's RSA1_5 is PKCS #1 v1.5 encryption.
	}
	if err != nil {
		return nil, ErrDecryption
	}
	return out, nil
}

// Sign implements Backend.
func (b *softwareBackend) Sign(ctx context.Context, ref []byte, alg string, digest []byte) ([]byte, error) {
	h, pss, ok := signatureHash(alg)
	if !ok {
		return nil, ErrUnsupportedAlgorithm
	}
	if len(digest) != h.Size() {
		return nil, fmt.Errorf("%w: %s needs a %d-byte digest", ErrUnsupportedAlgorithm, alg, h.Size())
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	key, err := b.open(ref)
	if err != nil {
		return nil, err
	}
	defer zeroRSA(key)
	if pss {
		return rsa.SignPSS(rand.Reader, key, h, digest, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	}
	return rsa.SignPKCS1v15(nil, key, h, digest)
}

// Destroy implements Backend. A software key exists only as its sealed
// reference, which the caller deletes; there is nothing else to destroy.
func (b *softwareBackend) Destroy(ctx context.Context, ref []byte) error { return nil }

// softwareAAD is the aad a software key with the given label is sealed with.
func softwareAAD(label string) []byte { return []byte(softwareAADPrefix + label) }

// rsaEncrypt encrypts with a public key; shared by every backend's callers.
func rsaEncrypt(pub *rsa.PublicKey, alg string, plaintext []byte) ([]byte, error) {
	var (
		out []byte
		err error
	)
	switch alg {
	case AlgRSAOAEP:
		out, err = rsa.EncryptOAEP(sha1.New(), rand.Reader, pub, plaintext, nil)
	case AlgRSAOAEP256:
		out, err = rsa.EncryptOAEP(sha256.New(), rand.Reader, pub, plaintext, nil)
	case AlgRSA15:
		out, err = rsa.EncryptPKCS1v15(rand.Reader, pub, plaintext)
	default:
		return nil, ErrUnsupportedAlgorithm
	}
	if errors.Is(err, rsa.ErrMessageTooLong) {
		return nil, errPlaintextTooLong
	}
	return out, err
}

// errPlaintextTooLong: the plaintext does not fit the key and padding.
var errPlaintextTooLong = errors.New("keyvault: plaintext too long for the key and algorithm")

// rsaVerify verifies a signature over a digest with a public key.
func rsaVerify(pub *rsa.PublicKey, alg string, digest, sig []byte) (bool, error) {
	h, pss, ok := signatureHash(alg)
	if !ok {
		return false, ErrUnsupportedAlgorithm
	}
	if len(digest) != h.Size() {
		return false, fmt.Errorf("%w: %s needs a %d-byte digest", ErrUnsupportedAlgorithm, alg, h.Size())
	}
	var err error
	if pss {
		err = rsa.VerifyPSS(pub, h, digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
	} else {
		err = rsa.VerifyPKCS1v15(pub, h, digest, sig)
	}
	return err == nil, nil
}

// isEncryptionAlg reports whether alg is an RSA encryption algorithm.
func isEncryptionAlg(alg string) bool {
	return alg == AlgRSAOAEP || alg == AlgRSAOAEP256 || alg == AlgRSA15
}

// signatureHash returns the digest of a signature algorithm and whether it
// uses PSS padding.
func signatureHash(alg string) (h crypto.Hash, pss, ok bool) {
	switch alg {
	case AlgRS256:
		return crypto.SHA256, false, true
	case AlgRS384:
		return crypto.SHA384, false, true
	case AlgRS512:
		return crypto.SHA512, false, true
	case AlgPS256:
		return crypto.SHA256, true, true
	case AlgPS384:
		return crypto.SHA384, true, true
	case AlgPS512:
		return crypto.SHA512, true, true
	}
	return 0, false, false
}

// publicCopy returns a copy of a public key that shares no memory with the
// private key it came from.
func publicCopy(pub *rsa.PublicKey) *rsa.PublicKey {
	return &rsa.PublicKey{N: new(big.Int).Set(pub.N), E: pub.E}
}

// zeroRSA overwrites the private parts of key (best effort: the
// precomputed values kept by crypto/rsa's internal implementation cannot be
// reached).
func zeroRSA(key *rsa.PrivateKey) {
	if key == nil {
		return
	}
	zeroInt := func(i *big.Int) {
		if i != nil {
			clear(i.Bits())
			i.SetInt64(0)
		}
	}
	zeroInt(key.D)
	for _, p := range key.Primes {
		zeroInt(p)
	}
	zeroInt(key.Precomputed.Dp)
	zeroInt(key.Precomputed.Dq)
	zeroInt(key.Precomputed.Qinv)
	for i := range key.Precomputed.CRTValues {
		zeroInt(key.Precomputed.CRTValues[i].Exp)
		zeroInt(key.Precomputed.CRTValues[i].Coeff)
		zeroInt(key.Precomputed.CRTValues[i].R)
	}
}
