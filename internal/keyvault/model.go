package keyvault

import (
	"bytes"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"math/big"
	"strconv"
	"time"
)

// Key types this data plane serves.
const (
	KtyRSA    = "RSA"
	KtyRSAHSM = "RSA-HSM"
)

// Key operations a key's key_ops may list (JWK "key_ops", Key Vault's
// casing).
const (
	OpEncrypt   = "encrypt"
	OpDecrypt   = "decrypt"
	OpSign      = "sign"
	OpVerify    = "verify"
	OpWrapKey   = "wrapKey"
	OpUnwrapKey = "unwrapKey"
	OpImport    = "import"
	OpExport    = "export"
)

// defaultKeyOps are the operations of an RSA key created without key_ops.
var defaultKeyOps = []string{OpEncrypt, OpDecrypt, OpSign, OpVerify, OpWrapKey, OpUnwrapKey}

// knownKeyOps maps the lower-case spelling of every accepted key operation
// to its canonical spelling.
var knownKeyOps = map[string]string{
	"encrypt": OpEncrypt, "decrypt": OpDecrypt, "sign": OpSign, "verify": OpVerify,
	"wrapkey": OpWrapKey, "unwrapkey": OpUnwrapKey, "import": OpImport, "export": OpExport,
}

// Document kinds in the metadata store.
const (
	docKindKey     = "keyvault.key"        // key: "{vault}/{name}" (lower case)
	docKindVersion = "keyvault.keyversion" // key: "{vault}/{name}/{version}"
)

// keyRecord is the per-name state of a key: which version is current,
// whether it is soft-deleted, its rotation policy.
type keyRecord struct {
	// Name is the key's name as first created (names compare
	// case-insensitively).
	Name    string     `json:"name"`
	Latest  string     `json:"latest"`
	Deleted *deletion  `json:"deleted,omitempty"`
	Policy  *rotPolicy `json:"rotationPolicy,omitempty"`
}

// deletion is the soft-delete state of a key.
type deletion struct {
	DeletedAt time.Time `json:"deletedAt"`
	PurgeAt   time.Time `json:"purgeAt"`
}

// versionRecord is one version of a key: its public key, attributes and
// the backend reference to its private key.
type versionRecord struct {
	Version   string            `json:"version"`
	Kty       string            `json:"kty"`
	N         []byte            `json:"n"`
	E         int               `json:"e"`
	KeyOps    []string          `json:"keyOps"`
	Enabled   bool              `json:"enabled"`
	NotBefore *int64            `json:"nbf,omitempty"`
	Expires   *int64            `json:"exp,omitempty"`
	Created   int64             `json:"created"`
	Updated   int64             `json:"updated"`
	Tags      map[string]string `json:"tags,omitempty"`
	Backend   string            `json:"backend"`
	Ref       []byte            `json:"ref"`
}

// publicKey returns the version's RSA public key.
func (v *versionRecord) publicKey() *rsa.PublicKey {
	return &rsa.PublicKey{N: new(big.Int).SetBytes(v.N), E: v.E}
}

// bits returns the modulus size.
func (v *versionRecord) bits() int { return new(big.Int).SetBytes(v.N).BitLen() }

// hasOp reports whether op is in the version's key_ops.
func (v *versionRecord) hasOp(op string) bool {
	for _, o := range v.KeyOps {
		if o == op {
			return true
		}
	}
	return false
}

// b64 is binary data in JSON as base64url without padding (Key Vault's
// encoding). Decoding also accepts padding and the standard alphabet.
type b64 []byte

// MarshalJSON implements json.Marshaler.
func (b b64) MarshalJSON() ([]byte, error) {
	return json.Marshal(base64.RawURLEncoding.EncodeToString(b))
}

// UnmarshalJSON implements json.Unmarshaler.
func (b *b64) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		*b = nil
		return nil
	}
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return errors.New("expected a base64url string")
	}
	out, err := decodeB64(s)
	if err != nil {
		return err
	}
	*b = out
	return nil
}

// decodeB64 decodes base64url or standard base64, with or without padding.
func decodeB64(s string) ([]byte, error) {
	s = string(bytes.TrimRight([]byte(s), "="))
	if out, err := base64.RawURLEncoding.DecodeString(s); err == nil {
		return out, nil
	}
	out, err := base64.RawStdEncoding.DecodeString(s)
	if err != nil {
		return nil, errors.New("not valid base64url")
	}
	return out, nil
}

// unixTime is a time in Unix seconds; decoding accepts integers and
// numbers with a fraction (truncated).
type unixTime int64

// UnmarshalJSON implements json.Unmarshaler.
func (u *unixTime) UnmarshalJSON(data []byte) error {
	var n json.Number
	if err := json.Unmarshal(data, &n); err != nil {
		return errors.New("expected a time in Unix seconds")
	}
	if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
		*u = unixTime(i)
		return nil
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1e15 {
		return errors.New("expected a time in Unix seconds")
	}
	*u = unixTime(int64(f))
	return nil
}

// jsonWebKey is a JWK as Key Vault sends and receives it. The private
// members are only ever read (import) and are zeroed after use.
type jsonWebKey struct {
	KID    string   `json:"kid,omitempty"`
	Kty    string   `json:"kty,omitempty"`
	KeyOps []string `json:"key_ops,omitempty"`
	N      b64      `json:"n,omitempty"`
	E      b64      `json:"e,omitempty"`
	D      b64      `json:"d,omitempty"`
	P      b64      `json:"p,omitempty"`
	Q      b64      `json:"q,omitempty"`
	DP     b64      `json:"dp,omitempty"`
	DQ     b64      `json:"dq,omitempty"`
	QI     b64      `json:"qi,omitempty"`
	Crv    string   `json:"crv,omitempty"`
	X      b64      `json:"x,omitempty"`
	Y      b64      `json:"y,omitempty"`
	K      b64      `json:"k,omitempty"`
	T      b64      `json:"key_hsm,omitempty"`
}

// zero clears the private members.
func (k *jsonWebKey) zero() {
	for _, b := range [][]byte{k.D, k.P, k.Q, k.DP, k.DQ, k.QI, k.K, k.T} {
		clear(b)
	}
}

// keyAttributesIn is the "attributes" object of a request.
type keyAttributesIn struct {
	Enabled    *bool     `json:"enabled"`
	NotBefore  *unixTime `json:"nbf"`
	Expires    *unixTime `json:"exp"`
	Exportable *bool     `json:"exportable"`
}

// keyAttributesOut is the "attributes" object of a response.
type keyAttributesOut struct {
	Enabled         bool   `json:"enabled"`
	NotBefore       *int64 `json:"nbf,omitempty"`
	Expires         *int64 `json:"exp,omitempty"`
	Created         int64  `json:"created"`
	Updated         int64  `json:"updated"`
	RecoveryLevel   string `json:"recoveryLevel"`
	RecoverableDays *int   `json:"recoverableDays,omitempty"`
	// Exportable is set from 7.3 on (apiVersion.exportable).
	Exportable *bool `json:"exportable,omitempty"`
}

// keyBundle is a key version as Key Vault returns it; the deleted fields
// are set for a DeletedKeyBundle.
type keyBundle struct {
	Key                jsonWebKey        `json:"key"`
	Attributes         keyAttributesOut  `json:"attributes"`
	Tags               map[string]string `json:"tags,omitempty"`
	RecoveryID         string            `json:"recoveryId,omitempty"`
	DeletedDate        *int64            `json:"deletedDate,omitempty"`
	ScheduledPurgeDate *int64            `json:"scheduledPurgeDate,omitempty"`
}

// keyItem is a key in a list; the deleted fields are set for deleted keys.
type keyItem struct {
	KID                string            `json:"kid"`
	Attributes         keyAttributesOut  `json:"attributes"`
	Tags               map[string]string `json:"tags,omitempty"`
	RecoveryID         string            `json:"recoveryId,omitempty"`
	DeletedDate        *int64            `json:"deletedDate,omitempty"`
	ScheduledPurgeDate *int64            `json:"scheduledPurgeDate,omitempty"`
}

// listResult is a page of a list.
type listResult struct {
	Value    []keyItem `json:"value"`
	NextLink *string   `json:"nextLink"`
}

// createKeyRequest is the body of POST /keys/{name}/create.
type createKeyRequest struct {
	Kty            string            `json:"kty"`
	KeySize        *int              `json:"key_size"`
	PublicExponent *int              `json:"public_exponent"`
	Crv            string            `json:"crv"`
	KeyOps         []string          `json:"key_ops"`
	Attributes     *keyAttributesIn  `json:"attributes"`
	Tags           map[string]string `json:"tags"`
	ReleasePolicy  json.RawMessage   `json:"release_policy"`
}

// importKeyRequest is the body of PUT /keys/{name}.
type importKeyRequest struct {
	HSM           *bool             `json:"Hsm"`
	Key           *jsonWebKey       `json:"key"`
	Attributes    *keyAttributesIn  `json:"attributes"`
	Tags          map[string]string `json:"tags"`
	ReleasePolicy json.RawMessage   `json:"release_policy"`
}

// updateKeyRequest is the body of PATCH /keys/{name}/{version}.
type updateKeyRequest struct {
	KeyOps        []string          `json:"key_ops"`
	Attributes    *keyAttributesIn  `json:"attributes"`
	Tags          map[string]string `json:"tags"`
	ReleasePolicy json.RawMessage   `json:"release_policy"`
}

// keyOperationRequest is the body of encrypt, decrypt, wrapkey, unwrapkey
// and sign.
type keyOperationRequest struct {
	Alg   string `json:"alg"`
	Value *b64   `json:"value"`
	IV    b64    `json:"iv"`
	AAD   b64    `json:"aad"`
	Tag   b64    `json:"tag"`
}

// keyOperationResult is the answer of encrypt, decrypt, wrapkey, unwrapkey
// and sign.
type keyOperationResult struct {
	KID   string `json:"kid"`
	Value b64    `json:"value"`
}

// verifyRequest is the body of verify.
type verifyRequest struct {
	Alg    string `json:"alg"`
	Digest *b64   `json:"digest"`
	Value  *b64   `json:"value"`
}

// verifyResult is the answer of verify.
type verifyResult struct {
	Value bool `json:"value"`
}

// backupResult is the answer of backup; the body of restore.
type backupResult struct {
	Value b64 `json:"value"`
}

// restoreRequest is the body of restore.
type restoreRequest struct {
	Value *b64 `json:"value"`
}

// randomRequest is the body of POST /rng.
type randomRequest struct {
	Count *int `json:"count"`
}

// unixPtr returns a pointer to t's Unix seconds.
func unixPtr(t time.Time) *int64 {
	u := t.Unix()
	return &u
}

// boolPtr returns a pointer to b.
func boolPtr(b bool) *bool { return &b }
