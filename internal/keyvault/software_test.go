package keyvault

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/kustodian/kustodian/internal/seal"
)

func TestSoftwareBackendEncryptDecrypt(t *testing.T) {
	ctx := context.Background()
	b := newTestSoftware(testSealer(t))
	if b.Name() != "software" || b.HSM() {
		t.Fatalf("Name %q HSM %v", b.Name(), b.HSM())
	}
	pub, ref, err := b.GenerateRSA(ctx, 2048, "kv1/k/v1")
	if err != nil {
		t.Fatal(err)
	}
	if pub.N.BitLen() != 2048 || pub.E != 65537 {
		t.Fatalf("got a %d-bit key with e=%d", pub.N.BitLen(), pub.E)
	}
	if bytes.Contains(ref, pub.N.Bytes()[:16]) {
		t.Fatal("the reference holds key bytes in the clear")
	}
	secret := []byte("0123456789abcdef0123456789abcdef")
	for _, alg := range []string{AlgRSAOAEP, AlgRSAOAEP256, AlgRSA15} {
		t.Run(alg, func(t *testing.T) {
			ct, err := b.Encrypt(ctx, ref, pub, alg, secret)
			if err != nil {
				t.Fatal(err)
			}
			pt, err := b.Decrypt(ctx, ref, alg, ct)
			if err != nil || !bytes.Equal(pt, secret) {
				t.Fatalf("round trip: %v", err)
			}
			if alg != AlgRSA15 {
				// A wrapped value decrypted under the wrong padding fails.
				other := AlgRSAOAEP
				if alg == AlgRSAOAEP {
					other = AlgRSAOAEP256
				}
				if _, err := b.Decrypt(ctx, ref, other, ct); !errors.Is(err, ErrDecryption) {
					t.Fatalf("decrypt with %s: %v, want ErrDecryption", other, err)
				}
			}
			for _, i := range []int{0, 1, 100, len(ct) - 1} {
				bad := bytes.Clone(ct)
				bad[i] ^= 0x5a
				if alg == AlgRSA15 {
					// No integrity in PKCS#1 v1.5 (a flipped byte passes the
					// padding check with probability ~2^-16): tamper
					// deterministically with a value above the modulus or zero.
					bad = bytes.Repeat([]byte{0xff * byte(i%2)}, len(ct)) // above the modulus, or zero
				}
				pt, err := b.Decrypt(ctx, ref, alg, bad)
				if !errors.Is(err, ErrDecryption) || pt != nil {
					t.Fatalf("tampered byte %d: %v (%d bytes), want ErrDecryption", i, err, len(pt))
				}
			}
			if _, err := b.Decrypt(ctx, ref, alg, ct[:len(ct)-1]); !errors.Is(err, ErrDecryption) {
				t.Fatalf("truncated: %v", err)
			}
		})
	}
	if _, err := b.Decrypt(ctx, ref, "A256KW", []byte("x")); !errors.Is(err, ErrUnsupportedAlgorithm) {
		t.Fatalf("unknown alg: %v", err)
	}
	if _, err := b.Encrypt(ctx, ref, pub, AlgRSAOAEP256, make([]byte, 300)); !errors.Is(err, errPlaintextTooLong) {
		t.Fatalf("long plaintext: %v", err)
	}
	if err := b.Destroy(ctx, ref); err != nil {
		t.Fatal(err)
	}
}

func TestSoftwareBackendReferenceBinding(t *testing.T) {
	ctx := context.Background()
	s := testSealer(t)
	b := newTestSoftware(s)
	pub, ref, err := b.GenerateRSA(ctx, 2048, "kv1/k/v1")
	if err != nil {
		t.Fatal(err)
	}
	ct, _ := b.Encrypt(ctx, ref, pub, AlgRSAOAEP256, []byte("aek"))

	var r softwareRef
	if err := json.Unmarshal(ref, &r); err != nil {
		t.Fatal(err)
	}
	if r.Label != "kv1/k/v1" || r.V != 1 {
		t.Fatalf("ref %+v", r)
	}
	relabel := func(label string) []byte {
		r2 := r
		r2.Label = label
		out, _ := json.Marshal(r2)
		return out
	}
	flipped := r
	flipped.Sealed = bytes.Clone(r.Sealed)
	flipped.Sealed[len(flipped.Sealed)-5] ^= 1
	flippedRef, _ := json.Marshal(flipped)

	other := newTestSoftware(mustSealer(t, 9))
	for name, tc := range map[string]struct {
		b   *softwareBackend
		ref []byte
	}{
		"other label":      {b, relabel("kv1/other/v1")},
		"tampered seal":    {b, flippedRef},
		"not a reference":  {b, []byte("garbage")},
		"other master key": {other, ref},
	} {
		t.Run(name, func(t *testing.T) {
			pt, err := tc.b.Decrypt(ctx, tc.ref, AlgRSAOAEP256, ct)
			if err == nil || pt != nil {
				t.Fatal("a reference that is not the key's own opened")
			}
			if errors.Is(err, ErrDecryption) {
				t.Fatalf("a bad reference reported as a bad ciphertext: %v", err)
			}
			if strings.Contains(err.Error(), string(r.Sealed)) {
				t.Fatal("error carries the sealed key")
			}
		})
	}
}

// mustSealer returns a sealer whose master key is 32 bytes of fill.
func mustSealer(t testing.TB, fill byte) *seal.Sealer {
	t.Helper()
	s, err := seal.New(bytes.Repeat([]byte{fill}, seal.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSoftwareBackendSign(t *testing.T) {
	ctx := context.Background()
	b := newTestSoftware(testSealer(t))
	pub, ref, err := b.GenerateRSA(ctx, 2048, "kv1/s/v1")
	if err != nil {
		t.Fatal(err)
	}
	for _, alg := range []string{AlgRS256, AlgRS384, AlgRS512, AlgPS256, AlgPS384, AlgPS512} {
		t.Run(alg, func(t *testing.T) {
			h, _, _ := signatureHash(alg)
			d := h.New()
			d.Write([]byte("message"))
			digest := d.Sum(nil)
			sig, err := b.Sign(ctx, ref, alg, digest)
			if err != nil {
				t.Fatal(err)
			}
			if ok, err := rsaVerify(pub, alg, digest, sig); !ok || err != nil {
				t.Fatalf("verify: %v %v", ok, err)
			}
			digest[0] ^= 1
			if ok, _ := rsaVerify(pub, alg, digest, sig); ok {
				t.Fatal("a signature verified over another digest")
			}
			if _, err := b.Sign(ctx, ref, alg, digest[:5]); !errors.Is(err, ErrUnsupportedAlgorithm) {
				t.Fatalf("short digest: %v", err)
			}
		})
	}
	if _, err := b.Sign(ctx, ref, "ES256", make([]byte, 32)); !errors.Is(err, ErrUnsupportedAlgorithm) {
		t.Fatalf("ES256: %v", err)
	}
}

func TestSoftwareBackendImport(t *testing.T) {
	ctx := context.Background()
	b := newTestSoftware(testSealer(t))
	key, err := poolKey(2048)
	if err != nil {
		t.Fatal(err)
	}
	pub := publicCopy(&key.PublicKey)
	ref, err := b.ImportRSA(ctx, key, "kv1/imp/v1")
	if err != nil {
		t.Fatal(err)
	}
	ct, _ := rsa.EncryptOAEP(crypto.SHA256.New(), rand.Reader, pub, []byte("hello"), nil)
	pt, err := b.Decrypt(ctx, ref, AlgRSAOAEP256, ct)
	if err != nil || string(pt) != "hello" {
		t.Fatalf("decrypt imported: %q %v", pt, err)
	}
	broken, _ := poolKey(2048)
	broken.D.Add(broken.D, broken.D)
	if _, err := b.ImportRSA(ctx, broken, "kv1/imp/v2"); err == nil {
		t.Fatal("an invalid key was imported")
	} else if strings.Contains(err.Error(), fmt.Sprint(broken.D)) {
		t.Fatal("error carries the private exponent")
	}
}

func TestZeroRSA(t *testing.T) {
	key, err := poolKey(2048)
	if err != nil {
		t.Fatal(err)
	}
	zeroRSA(key)
	if key.D.Sign() != 0 || key.Primes[0].Sign() != 0 || key.Primes[1].Sign() != 0 || key.Precomputed.Dp.Sign() != 0 {
		t.Fatal("private parts survive zeroRSA")
	}
	zeroRSA(nil)
}
