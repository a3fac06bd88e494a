//go:build cgo

package pkcs11

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	_ "crypto/sha512" // registers SHA-384 and SHA-512 for crypto.Hash.New
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	p11 "github.com/miekg/pkcs11"

	"github.com/kustodian/kustodian/internal/keyvault"
)

// cipherCases are the encryption algorithms, with how a Key Vault client
// encrypts for each in software.
var cipherCases = []struct {
	alg      string
	overhead int // bytes of the modulus the padding takes
	encrypt  func(pub *rsa.PublicKey, msg []byte) ([]byte, error)
}{
	{keyvault.AlgRSAOAEP, 2*sha1.Size + 2, func(pub *rsa.PublicKey, msg []byte) ([]byte, error) {
		return rsa.EncryptOAEP(sha1.New(), rand.Reader, pub, msg, nil)
	}},
	{keyvault.AlgRSAOAEP256, 2*sha256.Size + 2, func(pub *rsa.PublicKey, msg []byte) ([]byte, error) {
		return rsa.EncryptOAEP(sha256.New(), rand.Reader, pub, msg, nil)
	}},
	{keyvault.AlgRSA15, 11, func(pub *rsa.PublicKey, msg []byte) ([]byte, error) {
		return rsa.EncryptPKCS1v15(rand.Reader, pub, msg) //nolint:staticcheck // Key Vault's RSA1_5 is PKCS #1 v1.5 encryption.
	}},
}

// signCases are the signature algorithms.
var signCases = []struct {
	alg  string
	hash crypto.Hash
	pss  bool
}{
	{keyvault.AlgRS256, crypto.SHA256, false},
	{keyvault.AlgRS384, crypto.SHA384, false},
	{keyvault.AlgRS512, crypto.SHA512, false},
	{keyvault.AlgPS256, crypto.SHA256, true},
	{keyvault.AlgPS384, crypto.SHA384, true},
	{keyvault.AlgPS512, crypto.SHA512, true},
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func digestOf(h crypto.Hash, msg []byte) []byte {
	w := h.New()
	w.Write(msg)
	return w.Sum(nil)
}

// verify checks a signature with crypto/rsa, as a Key Vault client would.
func verify(pub *rsa.PublicKey, h crypto.Hash, pss bool, digest, sig []byte) error {
	if pss {
		// EqualsHash, not Auto: the salt must be exactly the hash length.
		return rsa.VerifyPSS(pub, h, digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	}
	return rsa.VerifyPKCS1v15(pub, h, digest, sig)
}

func TestIdentity(t *testing.T) {
	var b Backend
	if b.Name() != "pkcs11" || !b.HSM() {
		t.Errorf("Name, HSM = %q, %v; want pkcs11, true", b.Name(), b.HSM())
	}
}

func TestParseRef(t *testing.T) {
	id := randomBytes(idLen)
	good := append([]byte{refVersion}, id...)
	if got, err := parseRef(good); err != nil || !bytes.Equal(got, id) {
		t.Errorf("parseRef(good) = %x, %v", got, err)
	}
	for name, ref := range map[string][]byte{
		"nil":           nil,
		"empty":         {},
		"version only":  {refVersion},
		"short":         good[:refLen-1],
		"long":          append(append([]byte{}, good...), 0),
		"other version": append([]byte{2}, id...),
		"software ref":  []byte(`{"v":1,"label":"x","sealed":"AAAA"}`),
	} {
		if _, err := parseRef(ref); !errors.Is(err, keyvault.ErrKeyMaterialNotFound) {
			t.Errorf("parseRef(%s) = %v; want ErrKeyMaterialNotFound", name, err)
		}
	}
}

// TestOpenBadModule needs no token: it checks the errors for a module that
// is missing or not a PKCS#11 library, and that they do not carry the PIN.
func TestOpenBadModule(t *testing.T) {
	const pin = "secret-test-pin-4711"
	dir := t.TempDir()
	notLib := filepath.Join(dir, "not-a-library.so")
	if err := os.WriteFile(notLib, []byte("not an ELF file"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.so")
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"missing file", Config{ModulePath: missing, TokenLabel: "t", PIN: pin}, missing},
		{"not a library", Config{ModulePath: notLib, TokenLabel: "t", PIN: pin}, "not a PKCS#11 library"},
		{"no module", Config{TokenLabel: "t", PIN: pin}, "no module path"},
		{"no label", Config{ModulePath: missing, PIN: pin}, "no token label"},
		{"no PIN", Config{ModulePath: missing, TokenLabel: "t"}, "no PIN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Open(tc.cfg)
			if err == nil {
				b.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Open: %v; want it to mention %q", err, tc.want)
			}
			if strings.Contains(err.Error(), pin) {
				t.Errorf("Open: %v: the error shows the PIN", err)
			}
			if tc.name == "missing file" && !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("Open: %v; want fs.ErrNotExist", err)
			}
		})
	}
	if n := len(modules.m); n != 0 {
		t.Errorf("%d modules still loaded after failed Opens", n)
	}
}

func TestOpenUnknownLabel(t *testing.T) {
	cfg := testConfig(t)
	cfg.TokenLabel = "kustodian-no-such-token"
	b, err := Open(cfg)
	if err == nil {
		b.Close()
		t.Fatal("Open succeeded with an unknown label")
	}
	if !errors.Is(err, ErrTokenNotFound) || !strings.Contains(err.Error(), cfg.TokenLabel) {
		t.Errorf("Open: %v; want ErrTokenNotFound naming the label", err)
	}
	if strings.Contains(err.Error(), cfg.PIN) {
		t.Errorf("Open: %v: the error shows the PIN", err)
	}
}

func TestOpenWrongPIN(t *testing.T) {
	cfg := testConfig(t)
	wrong := cfg
	wrong.PIN = "wrong-" + cfg.PIN
	b, err := Open(wrong)
	if err == nil {
		b.Close()
		t.Fatal("Open succeeded with a wrong PIN")
	}
	if !errors.Is(err, ErrLoginFailed) || !errors.Is(err, p11.Error(p11.CKR_PIN_INCORRECT)) {
		t.Errorf("Open: %v; want ErrLoginFailed with CKR_PIN_INCORRECT", err)
	}
	if strings.Contains(err.Error(), cfg.PIN) {
		t.Errorf("Open: %v: the error shows the PIN", err)
	}
	// The failure left nothing behind: the right PIN works (and resets
	// the token's count of failed logins).
	openTest(t)
}

func TestOpenTwice(t *testing.T) {
	cfg := testConfig(t)
	b := openTest(t)
	b2, err := Open(cfg)
	if err == nil {
		b2.Close()
		t.Fatal("second Open of the same token succeeded")
	}
	if !errors.Is(err, ErrTokenInUse) {
		t.Errorf("second Open: %v; want ErrTokenInUse", err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	b3, err := Open(cfg)
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	if err := b3.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func TestClosed(t *testing.T) {
	b := openTest(t)
	ctx := context.Background()
	ref, ct := func() ([]byte, []byte) {
		// Not newKey: its cleanup would run after Close.
		pub, ref, err := b.GenerateRSA(ctx, 2048, "kustodian-test/"+t.Name())
		if err != nil {
			t.Fatal(err)
		}
		defer func() {
			if err := b.Destroy(ctx, ref); err != nil {
				t.Error(err)
			}
		}()
		ct, err := b.Encrypt(ctx, ref, pub, keyvault.AlgRSAOAEP256, []byte("k"))
		if err != nil {
			t.Fatal(err)
		}
		return ref, ct
	}()
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := b.Decrypt(ctx, ref, keyvault.AlgRSAOAEP256, ct); !errors.Is(err, ErrClosed) {
		t.Errorf("Decrypt after Close: %v; want ErrClosed", err)
	}
	if _, _, err := b.GenerateRSA(ctx, 2048, "x"); !errors.Is(err, ErrClosed) {
		t.Errorf("GenerateRSA after Close: %v; want ErrClosed", err)
	}
}

func TestGenerateRSA(t *testing.T) {
	b := openTest(t)
	if _, _, err := b.GenerateRSA(context.Background(), 1024, "too-small"); err == nil {
		t.Error("GenerateRSA(1024) succeeded")
	}
	pub1, ref1 := newKey(t, b, 2048)
	pub2, ref2 := newKey(t, b, 2048)
	if len(ref1) != refLen || ref1[0] != refVersion {
		t.Errorf("ref = %x; want version %d and a %d-byte id", ref1, refVersion, idLen)
	}
	if bytes.Equal(ref1, ref2) || pub1.N.Cmp(pub2.N) == 0 {
		t.Error("two generated keys share their reference or modulus")
	}
}

func TestEncryptDecrypt(t *testing.T) {
	b := openTest(t)
	ctx := context.Background()
	for _, bits := range []int{2048, 3072} {
		t.Run(fmt.Sprint(bits), func(t *testing.T) {
			pub, ref := newKey(t, b, bits)
			if pub.N.BitLen() != bits || pub.E != 65537 {
				t.Fatalf("public key: %d-bit modulus, exponent %d", pub.N.BitLen(), pub.E)
			}
			for _, tc := range cipherCases {
				t.Run(tc.alg, func(t *testing.T) {
					for _, msg := range [][]byte{
						randomBytes(32), // an AES-256 key: what wrapKey carries
						{0x00},
						randomBytes(pub.Size() - tc.overhead), // the longest that fits
					} {
						// In the token and back.
						ct, err := b.Encrypt(ctx, ref, pub, tc.alg, msg)
						if err != nil {
							t.Fatalf("Encrypt(%d bytes): %v", len(msg), err)
						}
						if len(ct) != pub.Size() {
							t.Errorf("ciphertext is %d bytes; want %d", len(ct), pub.Size())
						}
						pt, err := b.Decrypt(ctx, ref, tc.alg, ct)
						if err != nil || !bytes.Equal(pt, msg) {
							t.Fatalf("Decrypt(Encrypt(%d bytes)) = %d bytes, %v", len(msg), len(pt), err)
						}
						again, err := b.Encrypt(ctx, ref, pub, tc.alg, msg)
						if err != nil || bytes.Equal(again, ct) {
							t.Errorf("encrypting twice gave the same ciphertext (%v): padding not randomised", err)
						}
						// Encrypted by a client with the public key alone.
						ct, err = tc.encrypt(pub, msg)
						if err != nil {
							t.Fatalf("software encrypt: %v", err)
						}
						pt, err = b.Decrypt(ctx, ref, tc.alg, ct)
						if err != nil || !bytes.Equal(pt, msg) {
							t.Fatalf("Decrypt(software ciphertext of %d bytes) = %d bytes, %v", len(msg), len(pt), err)
						}
					}
					tooLong := randomBytes(pub.Size() - tc.overhead + 1)
					if _, err := b.Encrypt(ctx, ref, pub, tc.alg, tooLong); !errors.Is(err, rsa.ErrMessageTooLong) {
						t.Errorf("Encrypt(too long): %v; want rsa.ErrMessageTooLong", err)
					}
					// Without pub the token itself rejects it.
					if _, err := b.Encrypt(ctx, ref, nil, tc.alg, tooLong); !errors.Is(err, rsa.ErrMessageTooLong) {
						t.Errorf("Encrypt(too long, no pub): %v; want rsa.ErrMessageTooLong", err)
					}
				})
			}
		})
	}
}

func TestSign(t *testing.T) {
	b := openTest(t)
	ctx := context.Background()
	for _, bits := range []int{2048, 3072} {
		t.Run(fmt.Sprint(bits), func(t *testing.T) {
			pub, ref := newKey(t, b, bits)
			for _, tc := range signCases {
				t.Run(tc.alg, func(t *testing.T) {
					digest := digestOf(tc.hash, []byte("kustodian "+tc.alg))
					sig, err := b.Sign(ctx, ref, tc.alg, digest)
					if err != nil {
						t.Fatalf("Sign: %v", err)
					}
					if len(sig) != pub.Size() {
						t.Errorf("signature is %d bytes; want %d", len(sig), pub.Size())
					}
					if err := verify(pub, tc.hash, tc.pss, digest, sig); err != nil {
						t.Errorf("crypto/rsa does not verify the token's signature: %v", err)
					}
					other := bytes.Clone(digest)
					other[0] ^= 1
					if verify(pub, tc.hash, tc.pss, other, sig) == nil {
						t.Error("the signature verifies for another digest")
					}
					if _, err := b.Sign(ctx, ref, tc.alg, digest[1:]); !errors.Is(err, keyvault.ErrUnsupportedAlgorithm) {
						t.Errorf("Sign(short digest): %v; want ErrUnsupportedAlgorithm", err)
					}
				})
			}
		})
	}
}

func TestDecryptFailure(t *testing.T) {
	b := openTest(t)
	ctx := context.Background()
	pub, ref := newKey(t, b, 2048)
	otherPub, _ := newKey(t, b, 2048)
	msg := randomBytes(32)
	for _, tc := range cipherCases {
		t.Run(tc.alg, func(t *testing.T) {
			ct, err := b.Encrypt(ctx, ref, pub, tc.alg, msg)
			if err != nil {
				t.Fatal(err)
			}
			forOther, err := tc.encrypt(otherPub, msg)
			if err != nil {
				t.Fatal(err)
			}
			flip := func(i int) []byte {
				c := bytes.Clone(ct)
				c[i] ^= 0x01
				return c
			}
			wrongAlg := keyvault.AlgRSAOAEP256
			if tc.alg == keyvault.AlgRSAOAEP256 {
				wrongAlg = keyvault.AlgRSAOAEP
			}
			wrongAlgCT, err := b.Encrypt(ctx, ref, pub, wrongAlg, msg)
			if err != nil {
				t.Fatal(err)
			}
			for name, in := range map[string][]byte{
				"tampered first byte":  flip(0),
				"tampered middle byte": flip(len(ct) / 2),
				"tampered last byte":   flip(len(ct) - 1),
				"truncated":            ct[:len(ct)-1],
				"extended":             append(bytes.Clone(ct), 0),
				"empty":                nil,
				"all 0xff (>= n)":      bytes.Repeat([]byte{0xff}, len(ct)),
				"zero":                 make([]byte, len(ct)),
				"for another key":      forOther,
				"other padding":        wrongAlgCT,
			} {
				pt, err := b.Decrypt(ctx, ref, tc.alg, in)
				if err == nil && tc.alg == keyvault.AlgRSA15 && !bytes.Equal(pt, msg) && name != "empty" {
					// PKCS #1 v1.5 has no integrity check: about one
					// random block in 2^16 passes as well formed.
					t.Logf("%s: RSA1_5 decrypted garbage to a well-formed block, as it may", name)
					continue
				}
				if err != keyvault.ErrDecryption {
					t.Errorf("%s: Decrypt = %d bytes, %v; want exactly keyvault.ErrDecryption", name, len(pt), err)
				}
			}
			// The failures did not upset the backend.
			if pt, err := b.Decrypt(ctx, ref, tc.alg, ct); err != nil || !bytes.Equal(pt, msg) {
				t.Errorf("Decrypt after failures: %v", err)
			}
		})
	}
}

func TestUnsupportedAlgorithm(t *testing.T) {
	b := openTest(t)
	ctx := context.Background()
	pub, ref := newKey(t, b, 2048)
	digest := digestOf(crypto.SHA256, []byte("x"))
	for _, alg := range []string{"", "A256KW", "RSA-OAEP-384", "rsa-oaep", keyvault.AlgRS256} {
		if _, err := b.Encrypt(ctx, ref, pub, alg, []byte("k")); !errors.Is(err, keyvault.ErrUnsupportedAlgorithm) {
			t.Errorf("Encrypt(%q): %v; want ErrUnsupportedAlgorithm", alg, err)
		}
		if _, err := b.Decrypt(ctx, ref, alg, make([]byte, pub.Size())); !errors.Is(err, keyvault.ErrUnsupportedAlgorithm) {
			t.Errorf("Decrypt(%q): %v; want ErrUnsupportedAlgorithm", alg, err)
		}
	}
	for _, alg := range []string{"", "ES256", "HS256", "rs256", keyvault.AlgRSAOAEP} {
		if _, err := b.Sign(ctx, ref, alg, digest); !errors.Is(err, keyvault.ErrUnsupportedAlgorithm) {
			t.Errorf("Sign(%q): %v; want ErrUnsupportedAlgorithm", alg, err)
		}
	}
}

func TestDestroy(t *testing.T) {
	b := openTest(t)
	ctx := context.Background()
	pub, ref := newKey(t, b, 2048)
	ct, err := b.Encrypt(ctx, ref, pub, keyvault.AlgRSAOAEP256, []byte("key"))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Destroy(ctx, ref); err != nil {
		t.Fatalf("Destroy: %v", err)
	}
	if _, err := b.Decrypt(ctx, ref, keyvault.AlgRSAOAEP256, ct); !errors.Is(err, keyvault.ErrKeyMaterialNotFound) {
		t.Errorf("Decrypt after Destroy: %v; want ErrKeyMaterialNotFound", err)
	}
	if _, err := b.Encrypt(ctx, ref, pub, keyvault.AlgRSAOAEP256, []byte("key")); !errors.Is(err, keyvault.ErrKeyMaterialNotFound) {
		t.Errorf("Encrypt after Destroy: %v; want ErrKeyMaterialNotFound", err)
	}
	if _, err := b.Sign(ctx, ref, keyvault.AlgPS256, digestOf(crypto.SHA256, nil)); !errors.Is(err, keyvault.ErrKeyMaterialNotFound) {
		t.Errorf("Sign after Destroy: %v; want ErrKeyMaterialNotFound", err)
	}
	if err := b.Destroy(ctx, ref); !errors.Is(err, keyvault.ErrKeyMaterialNotFound) {
		t.Errorf("second Destroy: %v; want ErrKeyMaterialNotFound", err)
	}
	// Both objects are gone from the token.
	err = b.do(ctx, func(sh p11.SessionHandle) error {
		for _, class := range []uint{p11.CKO_PRIVATE_KEY, p11.CKO_PUBLIC_KEY} {
			objs, err := b.findObjects(sh, class, ref[1:])
			if err != nil {
				return err
			}
			if len(objs) != 0 {
				t.Errorf("%d objects of class %d left after Destroy", len(objs), class)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// References that were never issued.
	unknown := append([]byte{refVersion}, randomBytes(idLen)...)
	for name, r := range map[string][]byte{"unknown id": unknown, "nil": nil, "garbage": []byte("garbage")} {
		if _, err := b.Decrypt(ctx, r, keyvault.AlgRSAOAEP256, ct); !errors.Is(err, keyvault.ErrKeyMaterialNotFound) {
			t.Errorf("Decrypt(%s): %v; want ErrKeyMaterialNotFound", name, err)
		}
		if _, err := b.Sign(ctx, r, keyvault.AlgRS256, digestOf(crypto.SHA256, nil)); !errors.Is(err, keyvault.ErrKeyMaterialNotFound) {
			t.Errorf("Sign(%s): %v; want ErrKeyMaterialNotFound", name, err)
		}
		if err := b.Destroy(ctx, r); !errors.Is(err, keyvault.ErrKeyMaterialNotFound) {
			t.Errorf("Destroy(%s): %v; want ErrKeyMaterialNotFound", name, err)
		}
	}
}

// TestPrivateKeyNotExtractable proves, by asking the token directly, that
// the private key cannot be read out: its secret components are sensitive,
// it cannot be wrapped, and neither property can be undone.
func TestPrivateKeyNotExtractable(t *testing.T) {
	b := openTest(t)
	ctx := context.Background()
	label := "kustodian-test/" + t.Name()
	pub, ref := newKey(t, b, 2048)
	id := ref[1:]
	p := b.mod.p

	getAttr := func(sh p11.SessionHandle, o p11.ObjectHandle, typ uint) ([]byte, error) {
		a, err := p.GetAttributeValue(sh, o, []*p11.Attribute{p11.NewAttribute(typ, nil)})
		if err != nil {
			return nil, err
		}
		return a[0].Value, nil
	}
	checkBools := func(sh p11.SessionHandle, o p11.ObjectHandle, what string, want map[uint]bool) {
		for typ, w := range want {
			v, err := getAttr(sh, o, typ)
			if err != nil || !bytes.Equal(v, []byte{boolByte(w)}) {
				t.Errorf("%s attribute 0x%x = %x, %v; want %v", what, typ, v, err, w)
			}
		}
	}

	err := b.do(ctx, func(sh p11.SessionHandle) error {
		priv, err := b.findKey(sh, p11.CKO_PRIVATE_KEY, id)
		if err != nil {
			return err
		}
		pubObj, err := b.findKey(sh, p11.CKO_PUBLIC_KEY, id)
		if err != nil {
			return err
		}

		checkBools(sh, priv, "private key", map[uint]bool{
			p11.CKA_TOKEN:             true,
			p11.CKA_PRIVATE:           true,
			p11.CKA_SENSITIVE:         true,
			p11.CKA_ALWAYS_SENSITIVE:  true, // sensitive since it was made
			p11.CKA_EXTRACTABLE:       false,
			p11.CKA_NEVER_EXTRACTABLE: true, // and never extractable
			p11.CKA_LOCAL:             true, // generated in the token
			p11.CKA_DECRYPT:           true,
			p11.CKA_SIGN:              true,
			p11.CKA_UNWRAP:            true,
		})
		checkBools(sh, pubObj, "public key", map[uint]bool{
			p11.CKA_TOKEN:   true,
			p11.CKA_ENCRYPT: true,
			p11.CKA_VERIFY:  true,
			p11.CKA_WRAP:    true,
		})
		for _, o := range []p11.ObjectHandle{priv, pubObj} {
			if v, err := getAttr(sh, o, p11.CKA_LABEL); err != nil || string(v) != label {
				t.Errorf("CKA_LABEL = %q, %v; want %q", v, err, label)
			}
			if v, err := getAttr(sh, o, p11.CKA_ID); err != nil || !bytes.Equal(v, id) {
				t.Errorf("CKA_ID = %x, %v; want %x", v, err, id)
			}
		}

		// Reading works, and it is this key: the modulus is public.
		if n, err := getAttr(sh, priv, p11.CKA_MODULUS); err != nil || !bytes.Equal(n, pub.N.Bytes()) {
			t.Errorf("private key CKA_MODULUS = %d bytes, %v; want the public modulus", len(n), err)
		}
		// The secret parts are not.
		for _, a := range []struct {
			typ  uint
			name string
		}{
			{p11.CKA_PRIVATE_EXPONENT, "CKA_PRIVATE_EXPONENT"},
			{p11.CKA_PRIME_1, "CKA_PRIME_1"},
			{p11.CKA_PRIME_2, "CKA_PRIME_2"},
			{p11.CKA_EXPONENT_1, "CKA_EXPONENT_1"},
			{p11.CKA_EXPONENT_2, "CKA_EXPONENT_2"},
			{p11.CKA_COEFFICIENT, "CKA_COEFFICIENT"},
		} {
			v, err := getAttr(sh, priv, a.typ)
			if !errors.Is(err, p11.Error(p11.CKR_ATTRIBUTE_SENSITIVE)) {
				t.Errorf("reading %s: %d bytes, %v; want CKR_ATTRIBUTE_SENSITIVE", a.name, len(v), err)
			}
		}
		// An RSA private key has no CKA_VALUE; either way nothing comes out.
		if v, err := getAttr(sh, priv, p11.CKA_VALUE); !errors.Is(err, p11.Error(p11.CKR_ATTRIBUTE_SENSITIVE)) &&
			!errors.Is(err, p11.Error(p11.CKR_ATTRIBUTE_TYPE_INVALID)) {
			t.Errorf("reading CKA_VALUE: %d bytes, %v; want CKR_ATTRIBUTE_SENSITIVE or CKR_ATTRIBUTE_TYPE_INVALID", len(v), err)
		}

		// The protection cannot be lifted, neither on the key nor on a copy.
		for _, a := range []*p11.Attribute{
			p11.NewAttribute(p11.CKA_EXTRACTABLE, true),
			p11.NewAttribute(p11.CKA_SENSITIVE, false),
		} {
			if err := p.SetAttributeValue(sh, priv, []*p11.Attribute{a}); err == nil {
				t.Errorf("setting attribute 0x%x on the private key succeeded", a.Type)
			}
			cp, err := p.CopyObject(sh, priv, []*p11.Attribute{p11.NewAttribute(p11.CKA_TOKEN, false), a})
			if err == nil {
				_ = p.DestroyObject(sh, cp)
				t.Errorf("copying the private key with attribute 0x%x changed succeeded", a.Type)
			}
		}
		checkBools(sh, priv, "private key after the attempts", map[uint]bool{
			p11.CKA_SENSITIVE:   true,
			p11.CKA_EXTRACTABLE: false,
		})

		// It cannot be wrapped out under a key we hold either.
		kek, err := p.GenerateKey(sh, []*p11.Mechanism{p11.NewMechanism(p11.CKM_AES_KEY_GEN, nil)}, []*p11.Attribute{
			p11.NewAttribute(p11.CKA_CLASS, p11.CKO_SECRET_KEY),
			p11.NewAttribute(p11.CKA_KEY_TYPE, p11.CKK_AES),
			p11.NewAttribute(p11.CKA_VALUE_LEN, 32),
			p11.NewAttribute(p11.CKA_TOKEN, false),
			p11.NewAttribute(p11.CKA_WRAP, true),
			p11.NewAttribute(p11.CKA_EXTRACTABLE, true),
		})
		if err != nil {
			return fmt.Errorf("generating a wrapping key: %w", err)
		}
		defer p.DestroyObject(sh, kek)
		wrapped, err := p.WrapKey(sh, []*p11.Mechanism{p11.NewMechanism(p11.CKM_AES_KEY_WRAP_PAD, nil)}, kek, priv)
		if !errors.Is(err, p11.Error(p11.CKR_KEY_UNEXTRACTABLE)) {
			t.Errorf("wrapping the private key: %d bytes, %v; want CKR_KEY_UNEXTRACTABLE", len(wrapped), err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestCanceledContext(t *testing.T) {
	b := openTest(t)
	pub, ref := newKey(t, b, 2048)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := b.Encrypt(ctx, ref, pub, keyvault.AlgRSAOAEP256, []byte("k")); !errors.Is(err, context.Canceled) {
		t.Errorf("Encrypt: %v; want context.Canceled", err)
	}
	if _, _, err := b.GenerateRSA(ctx, 2048, "x"); !errors.Is(err, context.Canceled) {
		t.Errorf("GenerateRSA: %v; want context.Canceled", err)
	}
}

// TestConcurrent runs more goroutines than the pool has sessions; run it
// with -race.
func TestConcurrent(t *testing.T) {
	b := openTest(t)
	ctx := context.Background()
	pub, ref := newKey(t, b, 2048)
	var wg sync.WaitGroup
	for g := range defaultMaxSessions + 8 {
		wg.Go(func() {
			for i := range 4 {
				msg := []byte(fmt.Sprintf("goroutine %d message %d", g, i))
				ct, err := b.Encrypt(ctx, ref, pub, keyvault.AlgRSAOAEP256, msg)
				if err != nil {
					t.Errorf("Encrypt: %v", err)
					return
				}
				pt, err := b.Decrypt(ctx, ref, keyvault.AlgRSAOAEP256, ct)
				if err != nil || !bytes.Equal(pt, msg) {
					t.Errorf("Decrypt: %q, %v", pt, err)
					return
				}
				digest := digestOf(crypto.SHA256, msg)
				sig, err := b.Sign(ctx, ref, keyvault.AlgPS256, digest)
				if err != nil {
					t.Errorf("Sign: %v", err)
					return
				}
				if err := verify(pub, crypto.SHA256, true, digest, sig); err != nil {
					t.Errorf("verify: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := len(b.idle); n > cap(b.sem) {
		t.Errorf("%d idle sessions; the pool holds at most %d", n, cap(b.sem))
	}
}

// benchKey opens the token and makes an RSA-2048 key for a benchmark.
func benchKey(b *testing.B) (*Backend, *rsa.PublicKey, []byte) {
	be := openTest(b)
	pub, ref := newKey(b, be, 2048)
	return be, pub, ref
}

// wrapAlgs are the algorithms the wrap benchmarks run: RSA-OAEP-256 first,
// the one that matters; RSA-OAEP for comparison, as SoftHSM 2.6 does only
// that one entirely in the token.
var wrapAlgs = []string{keyvault.AlgRSAOAEP256, keyvault.AlgRSAOAEP}

// BenchmarkWrap is wrapKey of an AES-256 key with an RSA-2048 key in the
// token.
func BenchmarkWrap(b *testing.B) {
	be, pub, ref := benchKey(b)
	ctx := context.Background()
	key := randomBytes(32)
	for _, alg := range wrapAlgs {
		b.Run(alg, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := be.Encrypt(ctx, ref, pub, alg, key); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
		})
	}
}

// BenchmarkUnwrap is unwrapKey of an AES-256 key with an RSA-2048 key in
// the token.
func BenchmarkUnwrap(b *testing.B) {
	be, pub, ref := benchKey(b)
	ctx := context.Background()
	for _, alg := range wrapAlgs {
		b.Run(alg, func(b *testing.B) {
			ct, err := be.Encrypt(ctx, ref, pub, alg, randomBytes(32))
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := be.Decrypt(ctx, ref, alg, ct); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
		})
	}
}

// BenchmarkUnwrapParallel is BenchmarkUnwrap/RSA-OAEP-256 from GOMAXPROCS
// goroutines, through the session pool.
func BenchmarkUnwrapParallel(b *testing.B) {
	be, pub, ref := benchKey(b)
	ctx := context.Background()
	ct, err := be.Encrypt(ctx, ref, pub, keyvault.AlgRSAOAEP256, randomBytes(32))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := be.Decrypt(ctx, ref, keyvault.AlgRSAOAEP256, ct); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

// TestOAEPWithoutTokenSupport runs both OAEP algorithms through the path
// taken when the token cannot do the OAEP variant itself (raw RSA in the
// token, padding removed in software; encryption with crypto/rsa), whatever
// the token under test supports.
func TestOAEPWithoutTokenSupport(t *testing.T) {
	b := openTest(t)
	ctx := context.Background()
	pub, ref := newKey(t, b, 2048)
	// Find out, and report, what the token does itself.
	for _, alg := range []string{keyvault.AlgRSAOAEP, keyvault.AlgRSAOAEP256} {
		ct, err := b.Encrypt(ctx, ref, pub, alg, []byte("probe"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.Decrypt(ctx, ref, alg, ct); err != nil {
			t.Fatal(err)
		}
		spec, _ := cipherAlgorithm(alg)
		t.Logf("%s in the token: encrypt %v, decrypt %v", alg, !b.noNativeOAEP(false, spec.hash), !b.noNativeOAEP(true, spec.hash))
	}
	b.rawOAEP.Store(oaepKey{false, crypto.SHA1}, true)
	b.rawOAEP.Store(oaepKey{true, crypto.SHA1}, true)
	b.rawOAEP.Store(oaepKey{false, crypto.SHA256}, true)
	b.rawOAEP.Store(oaepKey{true, crypto.SHA256}, true)
	for _, tc := range cipherCases[:2] {
		t.Run(tc.alg, func(t *testing.T) {
			for _, msg := range [][]byte{randomBytes(32), randomBytes(pub.Size() - tc.overhead)} {
				ct, err := b.Encrypt(ctx, ref, pub, tc.alg, msg)
				if err != nil {
					t.Fatalf("Encrypt: %v", err)
				}
				if pt, err := b.Decrypt(ctx, ref, tc.alg, ct); err != nil || !bytes.Equal(pt, msg) {
					t.Fatalf("Decrypt(Encrypt) = %d bytes, %v", len(pt), err)
				}
				sct, err := tc.encrypt(pub, msg)
				if err != nil {
					t.Fatal(err)
				}
				if pt, err := b.Decrypt(ctx, ref, tc.alg, sct); err != nil || !bytes.Equal(pt, msg) {
					t.Fatalf("Decrypt(software ciphertext) = %d bytes, %v", len(pt), err)
				}
				bad := bytes.Clone(ct)
				bad[len(bad)/2] ^= 1
				for name, in := range map[string][]byte{"tampered": bad, "truncated": ct[1:], "empty": nil, "all 0xff": bytes.Repeat([]byte{0xff}, len(ct))} {
					if _, err := b.Decrypt(ctx, ref, tc.alg, in); err != keyvault.ErrDecryption {
						t.Errorf("Decrypt(%s): %v; want exactly keyvault.ErrDecryption", name, err)
					}
				}
			}
			if _, err := b.Encrypt(ctx, ref, nil, tc.alg, randomBytes(pub.Size()-tc.overhead+1)); !errors.Is(err, rsa.ErrMessageTooLong) {
				t.Errorf("Encrypt(too long): %v; want rsa.ErrMessageTooLong", err)
			}
		})
	}
}
