//go:build cgo

package pkcs11

import (
	"crypto"
	"errors"
	"fmt"

	p11 "github.com/miekg/pkcs11"

	"github.com/kustodian/kustodian/internal/keyvault"
)

// hashMech gives the PKCS#11 hash mechanism and MGF1 variant of a hash.
var hashMech = map[crypto.Hash]struct{ hash, mgf uint }{
	crypto.SHA1:   {p11.CKM_SHA_1, p11.CKG_MGF1_SHA1},
	crypto.SHA256: {p11.CKM_SHA256, p11.CKG_MGF1_SHA256},
	crypto.SHA384: {p11.CKM_SHA384, p11.CKG_MGF1_SHA384},
	crypto.SHA512: {p11.CKM_SHA512, p11.CKG_MGF1_SHA512},
}

// cipherSpec describes an encryption algorithm.
type cipherSpec struct {
	alg      string
	hash     crypto.Hash // OAEP's hash (for the label and MGF1); 0 for RSA1_5
	overhead int         // bytes of the modulus that the padding takes
}

// cipherAlgorithm returns the spec of an encryption algorithm.
func cipherAlgorithm(alg string) (cipherSpec, error) {
	switch alg {
	case keyvault.AlgRSAOAEP:
		return cipherSpec{alg, crypto.SHA1, 2*crypto.SHA1.Size() + 2}, nil
	case keyvault.AlgRSAOAEP256:
		return cipherSpec{alg, crypto.SHA256, 2*crypto.SHA256.Size() + 2}, nil
	case keyvault.AlgRSA15:
		return cipherSpec{alg, 0, 11}, nil
	}
	return cipherSpec{}, fmt.Errorf("%w: %q is not an encryption algorithm", keyvault.ErrUnsupportedAlgorithm, alg)
}

// oaep reports whether the algorithm is a variant of RSAES-OAEP.
func (s cipherSpec) oaep() bool { return s.hash != 0 }

// mechanism returns the PKCS#11 mechanism for the algorithm.
func (s cipherSpec) mechanism() []*p11.Mechanism {
	if !s.oaep() {
		return []*p11.Mechanism{p11.NewMechanism(p11.CKM_RSA_PKCS, nil)}
	}
	hm := hashMech[s.hash]
	params := p11.NewOAEPParams(hm.hash, hm.mgf, p11.CKZ_DATA_SPECIFIED, nil)
	return []*p11.Mechanism{p11.NewMechanism(p11.CKM_RSA_PKCS_OAEP, params)}
}

// paramsRejected reports whether a C_EncryptInit or C_DecryptInit error
// means that the token does not support the mechanism or its parameters
// (SoftHSM 2.6 answers CKR_ARGUMENTS_BAD to OAEP with SHA-256).
func paramsRejected(err error) bool {
	return errors.Is(err, p11.Error(p11.CKR_ARGUMENTS_BAD)) ||
		errors.Is(err, p11.Error(p11.CKR_MECHANISM_PARAM_INVALID)) ||
		errors.Is(err, p11.Error(p11.CKR_MECHANISM_INVALID))
}

// DER encodings of the DigestInfo that precedes the digest in an
// RSASSA-PKCS1-v1_5 signature (RFC 8017, section 9.2, note 1): an
// AlgorithmIdentifier with NULL parameters and the OCTET STRING header.
var digestInfoPrefix = map[crypto.Hash][]byte{
	crypto.SHA256: {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20},
	crypto.SHA384: {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30},
	crypto.SHA512: {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40},
}

// signAlgorithms maps the signature algorithms to their hash and padding.
var signAlgorithms = map[string]struct {
	hash crypto.Hash
	pss  bool
}{
	keyvault.AlgRS256: {crypto.SHA256, false},
	keyvault.AlgRS384: {crypto.SHA384, false},
	keyvault.AlgRS512: {crypto.SHA512, false},
	keyvault.AlgPS256: {crypto.SHA256, true},
	keyvault.AlgPS384: {crypto.SHA384, true},
	keyvault.AlgPS512: {crypto.SHA512, true},
}

// signMechanism returns the mechanism for a signature algorithm and the
// input to give C_Sign for digest.
func signMechanism(alg string, digest []byte) (*p11.Mechanism, []byte, error) {
	spec, ok := signAlgorithms[alg]
	if !ok {
		return nil, nil, fmt.Errorf("%w: %q is not a signature algorithm", keyvault.ErrUnsupportedAlgorithm, alg)
	}
	if len(digest) != spec.hash.Size() {
		return nil, nil, fmt.Errorf("%w: %s needs a %d-byte digest, got %d bytes", keyvault.ErrUnsupportedAlgorithm, alg, spec.hash.Size(), len(digest))
	}
	if spec.pss {
		// CKM_RSA_PKCS_PSS pads a digest computed outside the token; the
		// salt is as long as the hash, as JWA (RFC 7518, 3.5) requires.
		hm := hashMech[spec.hash]
		params := p11.NewPSSParams(hm.hash, hm.mgf, uint(spec.hash.Size()))
		return p11.NewMechanism(p11.CKM_RSA_PKCS_PSS, params), digest, nil
	}
	// CKM_RSA_PKCS only pads: the DigestInfo is ours to add.
	prefix := digestInfoPrefix[spec.hash]
	in := make([]byte, 0, len(prefix)+len(digest))
	in = append(append(in, prefix...), digest...)
	return p11.NewMechanism(p11.CKM_RSA_PKCS, nil), in, nil
}
