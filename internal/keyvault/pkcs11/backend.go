//go:build cgo

package pkcs11

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"math/big"
	"sync"

	p11 "github.com/miekg/pkcs11"

	"github.com/kustodian/kustodian/internal/keyvault"
)

// Key references: refVersion followed by the key's CKA_ID.
const (
	refVersion = 1
	idLen      = 16
	refLen     = 1 + idLen
)

// Backend is a keyvault.Backend whose keys live in a PKCS#11 token. Open
// creates it; it is safe for concurrent use.
type Backend struct {
	mod  *module
	slot uint

	// mu is held for reading by operations and for writing by Close, which
	// thus waits for them.
	mu     sync.RWMutex
	closed bool

	sem  chan struct{}          // a slot per session that may be in use
	idle chan p11.SessionHandle // open sessions not in use

	// rawOAEP holds an oaepKey for each OAEP variant the token refused to
	// do itself, so that it is not asked again.
	rawOAEP sync.Map
}

var _ keyvault.Backend = (*Backend)(nil)

// Open loads the PKCS#11 module cfg.ModulePath, finds the token labelled
// cfg.TokenLabel and logs in to it with cfg.PIN. The errors say which step
// failed (a missing module file wraps fs.ErrNotExist, an unknown label
// ErrTokenNotFound, a refused PIN ErrLoginFailed) and never contain the PIN.
func Open(cfg Config) (*Backend, error) {
	if cfg.TokenLabel == "" {
		return nil, errors.New("pkcs11: no token label configured")
	}
	if cfg.PIN == "" {
		return nil, errors.New("pkcs11: no PIN configured")
	}
	mod, err := acquireModule(cfg.ModulePath)
	if err != nil {
		return nil, err
	}
	b, err := open(mod, cfg)
	if err != nil {
		// The error of Open is the one that matters.
		_ = mod.release()
		return nil, err
	}
	return b, nil
}

func open(mod *module, cfg Config) (*Backend, error) {
	slot, ti, err := mod.findToken(cfg.TokenLabel)
	if err != nil {
		return nil, err
	}
	if ti.Flags&p11.CKF_USER_PIN_INITIALIZED == 0 {
		return nil, fmt.Errorf("%w: token %q has no user PIN set", ErrLoginFailed, cfg.TokenLabel)
	}
	if ti.Flags&p11.CKF_USER_PIN_LOCKED != 0 {
		return nil, fmt.Errorf("%w: token %q: the user PIN is locked", ErrLoginFailed, cfg.TokenLabel)
	}
	if err := mod.reserve(slot); err != nil {
		return nil, fmt.Errorf("pkcs11: token %q: %w", cfg.TokenLabel, err)
	}
	sh, err := mod.p.OpenSession(slot, p11.CKF_SERIAL_SESSION|p11.CKF_RW_SESSION)
	if err != nil {
		mod.unreserve(slot)
		return nil, fmt.Errorf("pkcs11: opening a session with token %q: %w", cfg.TokenLabel, err)
	}
	if err := mod.p.Login(sh, p11.CKU_USER, cfg.PIN); err != nil {
		_ = mod.p.CloseSession(sh)
		mod.unreserve(slot)
		// err is the token's return code (CKR_PIN_INCORRECT, ...): no PIN.
		return nil, fmt.Errorf("%w: token %q: %w", ErrLoginFailed, cfg.TokenLabel, err)
	}
	n := maxSessions(ti)
	b := &Backend{
		mod:  mod,
		slot: slot,
		sem:  make(chan struct{}, n),
		idle: make(chan p11.SessionHandle, n),
	}
	// The login belongs to the application and lasts while it has a
	// session open; the pool closes sessions only at Close or when the
	// token has dropped them.
	b.idle <- sh
	return b, nil
}

// Close waits for running operations, closes the sessions (which ends the
// login) and, if no other Backend uses the module, finalises and unloads
// it. Operations after Close fail with ErrClosed. Closing twice is a no-op.
func (b *Backend) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	var errs []error
	for done := false; !done; {
		select {
		case sh := <-b.idle:
			if err := b.mod.p.CloseSession(sh); err != nil {
				errs = append(errs, fmt.Errorf("pkcs11: closing a session: %w", err))
			}
		default:
			done = true
		}
	}
	b.mod.unreserve(b.slot)
	errs = append(errs, b.mod.release())
	return errors.Join(errs...)
}

// Name returns "pkcs11".
func (b *Backend) Name() string { return Name }

// HSM returns true: keys live in the token.
func (b *Backend) HSM() bool { return true }

// GenerateRSA generates an RSA key pair of bits bits (2048, 3072 or 4096)
// with public exponent 65537 inside the token, as token objects sharing a
// random CKA_ID and with CKA_LABEL label. The private key is private,
// sensitive and not extractable, and may decrypt, sign and unwrap; the
// public key may encrypt, verify and wrap. The reference returned
// identifies the pair.
func (b *Backend) GenerateRSA(ctx context.Context, bits int, label string) (*rsa.PublicKey, []byte, error) {
	switch bits {
	case 2048, 3072, 4096:
	default:
		return nil, nil, fmt.Errorf("pkcs11: unsupported RSA key size %d (want 2048, 3072 or 4096)", bits)
	}
	id := make([]byte, idLen)
	rand.Read(id) // never fails (crypto/rand, Go 1.24+)

	common := func(class uint) []*p11.Attribute {
		return []*p11.Attribute{
			p11.NewAttribute(p11.CKA_CLASS, class),
			p11.NewAttribute(p11.CKA_KEY_TYPE, p11.CKK_RSA),
			p11.NewAttribute(p11.CKA_TOKEN, true),
			p11.NewAttribute(p11.CKA_ID, id),
			p11.NewAttribute(p11.CKA_LABEL, label),
		}
	}
	pubTmpl := append(common(p11.CKO_PUBLIC_KEY),
		p11.NewAttribute(p11.CKA_PRIVATE, false),
		p11.NewAttribute(p11.CKA_MODULUS_BITS, bits),
		p11.NewAttribute(p11.CKA_PUBLIC_EXPONENT, []byte{0x01, 0x00, 0x01}),
		p11.NewAttribute(p11.CKA_ENCRYPT, true),
		p11.NewAttribute(p11.CKA_VERIFY, true),
		p11.NewAttribute(p11.CKA_WRAP, true),
		p11.NewAttribute(p11.CKA_VERIFY_RECOVER, false),
		p11.NewAttribute(p11.CKA_DERIVE, false),
	)
	privTmpl := append(common(p11.CKO_PRIVATE_KEY),
		p11.NewAttribute(p11.CKA_PRIVATE, true),
		p11.NewAttribute(p11.CKA_SENSITIVE, true),
		p11.NewAttribute(p11.CKA_EXTRACTABLE, false),
		p11.NewAttribute(p11.CKA_DECRYPT, true),
		p11.NewAttribute(p11.CKA_SIGN, true),
		p11.NewAttribute(p11.CKA_UNWRAP, true),
		p11.NewAttribute(p11.CKA_SIGN_RECOVER, false),
		p11.NewAttribute(p11.CKA_DERIVE, false),
	)
	mech := []*p11.Mechanism{p11.NewMechanism(p11.CKM_RSA_PKCS_KEY_PAIR_GEN, nil)}

	var pub *rsa.PublicKey
	err := b.do(ctx, func(sh p11.SessionHandle) error {
		pubObj, privObj, err := b.mod.p.GenerateKeyPair(sh, mech, pubTmpl, privTmpl)
		if err != nil {
			return fmt.Errorf("pkcs11: generating an RSA-%d key pair: %w", bits, err)
		}
		pub, err = b.checkGenerated(sh, pubObj, privObj, bits)
		if err != nil {
			// Do not leave a key behind that nobody has a reference to.
			_ = b.mod.p.DestroyObject(sh, privObj)
			_ = b.mod.p.DestroyObject(sh, pubObj)
			return err
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	ref := make([]byte, 0, refLen)
	ref = append(append(ref, refVersion), id...)
	return pub, ref, nil
}

// checkGenerated reads the public key of a new pair and checks that the
// token gave the private key the protection asked for.
func (b *Backend) checkGenerated(sh p11.SessionHandle, pubObj, privObj p11.ObjectHandle, bits int) (*rsa.PublicKey, error) {
	attrs, err := b.mod.p.GetAttributeValue(sh, privObj, []*p11.Attribute{
		p11.NewAttribute(p11.CKA_TOKEN, nil),
		p11.NewAttribute(p11.CKA_PRIVATE, nil),
		p11.NewAttribute(p11.CKA_SENSITIVE, nil),
		p11.NewAttribute(p11.CKA_EXTRACTABLE, nil),
	})
	if err != nil {
		return nil, fmt.Errorf("pkcs11: reading the new private key's attributes: %w", err)
	}
	want := []bool{true, true, true, false}
	for i, a := range attrs {
		if !bytes.Equal(a.Value, []byte{boolByte(want[i])}) {
			return nil, fmt.Errorf("pkcs11: token did not honour the private key template (attribute 0x%x)", a.Type)
		}
	}
	pub, err := b.publicKey(sh, pubObj)
	if err != nil {
		return nil, err
	}
	if pub.N.BitLen() != bits || pub.E != 65537 {
		return nil, fmt.Errorf("pkcs11: token generated an unexpected key (%d-bit modulus, exponent %d)", pub.N.BitLen(), pub.E)
	}
	return pub, nil
}

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

// parseRef returns the CKA_ID in a reference that GenerateRSA returned.
func parseRef(ref []byte) ([]byte, error) {
	if len(ref) != refLen || ref[0] != refVersion {
		return nil, fmt.Errorf("%w: not a pkcs11 key reference", keyvault.ErrKeyMaterialNotFound)
	}
	return ref[1:], nil
}

// Encrypt encrypts plaintext inside the token with the key's public key
// object, using RSA-OAEP, RSA-OAEP-256 or RSA1_5. pub is the key's public
// key as GenerateRSA returned it, or nil; it serves only to reject a
// plaintext that is too long (rsa.ErrMessageTooLong) before asking the
// token, whose own copy of the key is the one used.
//
// A token that cannot do OAEP with the algorithm's hash itself (SoftHSM 2.6
// has OAEP with SHA-1 only) gets the encryption done with crypto/rsa and
// the public key read from its public key object: a public-key operation
// needs no secret, so this moves nothing out of the token.
func (b *Backend) Encrypt(ctx context.Context, ref []byte, pub *rsa.PublicKey, alg string, plaintext []byte) ([]byte, error) {
	spec, err := cipherAlgorithm(alg)
	if err != nil {
		return nil, err
	}
	id, err := parseRef(ref)
	if err != nil {
		return nil, err
	}
	tooLong := fmt.Errorf("pkcs11: %s: %w", alg, rsa.ErrMessageTooLong)
	if pub != nil && len(plaintext) > pub.Size()-spec.overhead {
		return nil, tooLong
	}
	var out []byte
	err = b.do(ctx, func(sh p11.SessionHandle) error {
		obj, err := b.findKey(sh, p11.CKO_PUBLIC_KEY, id)
		if err != nil {
			return err
		}
		if pub == nil {
			tokenPub, err := b.publicKey(sh, obj)
			if err != nil {
				return err
			}
			if len(plaintext) > tokenPub.Size()-spec.overhead {
				return tooLong
			}
		}
		if spec.oaep() && b.noNativeOAEP(false, spec.hash) {
			out, err = b.encryptOAEPSoftware(sh, obj, spec, plaintext)
			return err
		}
		if err := b.mod.p.EncryptInit(sh, spec.mechanism(), obj); err != nil {
			if spec.oaep() && paramsRejected(err) {
				b.rawOAEP.Store(oaepKey{false, spec.hash}, true)
				out, err = b.encryptOAEPSoftware(sh, obj, spec, plaintext)
				return err
			}
			return initError("encrypt", alg, err)
		}
		out, err = b.mod.p.Encrypt(sh, plaintext)
		switch {
		case errors.Is(err, p11.Error(p11.CKR_DATA_LEN_RANGE)):
			return tooLong
		case err != nil:
			return fmt.Errorf("pkcs11: encrypting: %w", err)
		}
		return nil
	})
	return out, err
}

// encryptOAEPSoftware encrypts with crypto/rsa and the public key of the
// token's public key object obj.
func (b *Backend) encryptOAEPSoftware(sh p11.SessionHandle, obj p11.ObjectHandle, spec cipherSpec, plaintext []byte) ([]byte, error) {
	pub, err := b.publicKey(sh, obj)
	if err != nil {
		return nil, err
	}
	out, err := rsa.EncryptOAEP(spec.hash.New(), rand.Reader, pub, plaintext, nil)
	if err != nil {
		return nil, fmt.Errorf("pkcs11: %s: %w", spec.alg, err)
	}
	return out, nil
}

// Decrypt decrypts ciphertext inside the token with the key's private key
// object. Whatever makes decryption fail (tampered or malformed input, a
// ciphertext for another key) yields keyvault.ErrDecryption and nothing
// more.
//
// A token that cannot do OAEP with the algorithm's hash itself (SoftHSM 2.6
// has OAEP with SHA-1 only) does the raw RSA private-key operation
// (CKM_RSA_X_509) and the OAEP padding is removed here, in constant time.
// The private key stays in the token either way.
func (b *Backend) Decrypt(ctx context.Context, ref []byte, alg string, ciphertext []byte) ([]byte, error) {
	spec, err := cipherAlgorithm(alg)
	if err != nil {
		return nil, err
	}
	id, err := parseRef(ref)
	if err != nil {
		return nil, err
	}
	var out []byte
	err = b.do(ctx, func(sh p11.SessionHandle) error {
		obj, err := b.findKey(sh, p11.CKO_PRIVATE_KEY, id)
		if err != nil {
			return err
		}
		if spec.oaep() && b.noNativeOAEP(true, spec.hash) {
			out, err = b.decryptOAEPRaw(sh, obj, spec, ciphertext)
			return err
		}
		if err := b.mod.p.DecryptInit(sh, spec.mechanism(), obj); err != nil {
			if spec.oaep() && paramsRejected(err) {
				b.rawOAEP.Store(oaepKey{true, spec.hash}, true)
				out, err = b.decryptOAEPRaw(sh, obj, spec, ciphertext)
				return err
			}
			return initError("decrypt", alg, err)
		}
		out, err = b.mod.p.Decrypt(sh, ciphertext)
		return decryptError(err)
	})
	return out, err
}

// decryptOAEPRaw decrypts with the raw RSA primitive in the token and
// removes the OAEP padding.
func (b *Backend) decryptOAEPRaw(sh p11.SessionHandle, obj p11.ObjectHandle, spec cipherSpec, ciphertext []byte) ([]byte, error) {
	attrs, err := b.mod.p.GetAttributeValue(sh, obj, []*p11.Attribute{p11.NewAttribute(p11.CKA_MODULUS, nil)})
	if err != nil {
		return nil, fmt.Errorf("pkcs11: reading the modulus: %w", err)
	}
	k := (new(big.Int).SetBytes(attrs[0].Value).BitLen() + 7) / 8
	if len(ciphertext) != k {
		return nil, keyvault.ErrDecryption
	}
	raw := []*p11.Mechanism{p11.NewMechanism(p11.CKM_RSA_X_509, nil)}
	if err := b.mod.p.DecryptInit(sh, raw, obj); err != nil {
		if paramsRejected(err) {
			return nil, fmt.Errorf("%w: the token can do neither %s nor raw RSA: %w", keyvault.ErrUnsupportedAlgorithm, spec.alg, err)
		}
		return nil, initError("decrypt", spec.alg, err)
	}
	em, err := b.mod.p.Decrypt(sh, ciphertext)
	if err != nil {
		return nil, decryptError(err)
	}
	defer clear(em)
	if len(em) > k {
		return nil, keyvault.ErrDecryption
	}
	if len(em) < k { // the token may drop leading zero bytes
		padded := make([]byte, k)
		copy(padded[k-len(em):], em)
		clear(em)
		em = padded
	}
	msg, err := oaepDecode(spec.hash, em)
	if err != nil {
		return nil, keyvault.ErrDecryption
	}
	return msg, nil
}

// decryptError maps the error of C_Decrypt: anything but the loss of the
// session is the ciphertext's fault, and is reported as no more than that.
func decryptError(err error) error {
	switch {
	case err == nil:
		return nil
	case sessionLost(err):
		return fmt.Errorf("pkcs11: decrypting: %w", err)
	default:
		return keyvault.ErrDecryption
	}
}

// oaepKey names an operation (decrypt or not) and an OAEP hash.
type oaepKey struct {
	decrypt bool
	hash    crypto.Hash
}

// noNativeOAEP reports whether the token has refused to do OAEP with hash
// itself for decryption (decrypt) or encryption.
func (b *Backend) noNativeOAEP(decrypt bool, hash crypto.Hash) bool {
	_, ok := b.rawOAEP.Load(oaepKey{decrypt, hash})
	return ok
}

// publicKey reads the RSA public key of a token key object.
func (b *Backend) publicKey(sh p11.SessionHandle, obj p11.ObjectHandle) (*rsa.PublicKey, error) {
	attrs, err := b.mod.p.GetAttributeValue(sh, obj, []*p11.Attribute{
		p11.NewAttribute(p11.CKA_MODULUS, nil),
		p11.NewAttribute(p11.CKA_PUBLIC_EXPONENT, nil),
	})
	if err != nil {
		return nil, fmt.Errorf("pkcs11: reading the public key: %w", err)
	}
	n := new(big.Int).SetBytes(attrs[0].Value)
	e := new(big.Int).SetBytes(attrs[1].Value)
	if n.Sign() <= 0 || !e.IsInt64() || e.Int64() < 3 || e.Int64() > 1<<31-1 {
		return nil, errors.New("pkcs11: the token's public key is not a valid RSA key")
	}
	return &rsa.PublicKey{N: n, E: int(e.Int64())}, nil
}

// Sign signs digest inside the token with the key's private key object:
// RS256/384/512 with RSASSA-PKCS1-v1_5, PS256/384/512 with RSASSA-PSS and a
// salt as long as the hash. A digest whose length is not the hash's gives
// keyvault.ErrUnsupportedAlgorithm, as with the software backend.
func (b *Backend) Sign(ctx context.Context, ref []byte, alg string, digest []byte) ([]byte, error) {
	mech, in, err := signMechanism(alg, digest)
	if err != nil {
		return nil, err
	}
	id, err := parseRef(ref)
	if err != nil {
		return nil, err
	}
	var sig []byte
	err = b.do(ctx, func(sh p11.SessionHandle) error {
		obj, err := b.findKey(sh, p11.CKO_PRIVATE_KEY, id)
		if err != nil {
			return err
		}
		if err := b.mod.p.SignInit(sh, []*p11.Mechanism{mech}, obj); err != nil {
			return initError("sign", alg, err)
		}
		sig, err = b.mod.p.Sign(sh, in)
		if err != nil {
			return fmt.Errorf("pkcs11: signing: %w", err)
		}
		return nil
	})
	return sig, err
}

// Destroy deletes the key's private and public objects from the token. A
// reference with neither object gives keyvault.ErrKeyMaterialNotFound.
func (b *Backend) Destroy(ctx context.Context, ref []byte) error {
	id, err := parseRef(ref)
	if err != nil {
		return err
	}
	return b.do(ctx, func(sh p11.SessionHandle) error {
		var objs []p11.ObjectHandle
		// Private first: once it is gone the key is unusable even if
		// deleting the public half failed.
		for _, class := range []uint{p11.CKO_PRIVATE_KEY, p11.CKO_PUBLIC_KEY} {
			o, err := b.findObjects(sh, class, id)
			if err != nil {
				return err
			}
			objs = append(objs, o...)
		}
		if len(objs) == 0 {
			return keyvault.ErrKeyMaterialNotFound
		}
		for _, o := range objs {
			err := b.mod.p.DestroyObject(sh, o)
			if err != nil && !errors.Is(err, p11.Error(p11.CKR_OBJECT_HANDLE_INVALID)) {
				return fmt.Errorf("pkcs11: destroying key: %w", err)
			}
		}
		return nil
	})
}

// initError classifies the failure of C_EncryptInit, C_DecryptInit or
// C_SignInit.
func initError(op, alg string, err error) error {
	var rv p11.Error
	if errors.As(err, &rv) {
		switch rv {
		case p11.CKR_MECHANISM_INVALID, p11.CKR_MECHANISM_PARAM_INVALID,
			p11.CKR_KEY_TYPE_INCONSISTENT, p11.CKR_KEY_FUNCTION_NOT_PERMITTED,
			p11.CKR_KEY_SIZE_RANGE:
			return fmt.Errorf("%w: the token cannot %s with %s: %w", keyvault.ErrUnsupportedAlgorithm, op, alg, err)
		case p11.CKR_KEY_HANDLE_INVALID, p11.CKR_OBJECT_HANDLE_INVALID:
			// Destroyed between finding and using it.
			return keyvault.ErrKeyMaterialNotFound
		}
	}
	return fmt.Errorf("pkcs11: starting to %s: %w", op, err)
}
