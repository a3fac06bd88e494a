//go:build cgo

package pkcs11

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"math/big"
	"testing"
)

// rawDecrypt is the RSA decryption primitive, as CKM_RSA_X_509 computes
// it, returning k bytes.
func rawDecrypt(key *rsa.PrivateKey, c []byte) []byte {
	m := new(big.Int).Exp(new(big.Int).SetBytes(c), key.D, key.N)
	return m.FillBytes(make([]byte, key.Size()))
}

// TestOAEPDecode checks the software OAEP decoding, which needs no token,
// against crypto/rsa's encoding.
func TestOAEPDecode(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []crypto.Hash{crypto.SHA1, crypto.SHA256} {
		t.Run(h.String(), func(t *testing.T) {
			maxLen := key.Size() - 2*h.Size() - 2
			for _, n := range []int{0, 1, 32, maxLen} {
				msg := randomBytes(n)
				ct, err := rsa.EncryptOAEP(h.New(), rand.Reader, &key.PublicKey, msg, nil)
				if err != nil {
					t.Fatal(err)
				}
				em := rawDecrypt(key, ct)
				got, err := oaepDecode(h, em)
				if err != nil || !bytes.Equal(got, msg) {
					t.Fatalf("oaepDecode(%d-byte message) = %d bytes, %v", n, len(got), err)
				}
			}

			ct, err := rsa.EncryptOAEP(h.New(), rand.Reader, &key.PublicKey, []byte("key"), nil)
			if err != nil {
				t.Fatal(err)
			}
			em := rawDecrypt(key, ct)
			other := crypto.SHA256
			if h == crypto.SHA256 {
				other = crypto.SHA1
			}
			// The encoded message's layout: 0x00 || maskedSeed || maskedDB.
			for name, bad := range map[string][]byte{
				"first byte not zero": func() []byte { e := bytes.Clone(em); e[0] = 1; return e }(),
				"seed changed":        func() []byte { e := bytes.Clone(em); e[1] ^= 1; return e }(),
				"label hash changed":  func() []byte { e := bytes.Clone(em); e[1+h.Size()] ^= 1; return e }(),
				"last byte changed":   func() []byte { e := bytes.Clone(em); e[len(e)-1] ^= 1; return e }(),
				"all zero":            make([]byte, len(em)),
				"too short":           em[:2*h.Size()+1],
			} {
				if got, err := oaepDecode(h, bad); err == nil {
					t.Errorf("%s: decoded to %q", name, got)
				}
			}
			if _, err := oaepDecode(other, em); err == nil {
				t.Errorf("decoding with %v succeeded for %v", other, h)
			}
		})
	}
}

// TestMGF1 checks mgf1XOR on the length boundaries against a direct
// computation of RFC 8017's MGF1.
func TestMGF1(t *testing.T) {
	seed := []byte("seed")
	for _, n := range []int{0, 1, sha1.Size, sha256.Size, sha256.Size + 1, 200} {
		var want []byte
		for c := byte(0); len(want) < n; c++ {
			sum := sha256.Sum256(append(bytes.Clone(seed), 0, 0, 0, c))
			want = append(want, sum[:]...)
		}
		got := make([]byte, n)
		mgf1XOR(got, crypto.SHA256, seed)
		if !bytes.Equal(got, want[:n]) {
			t.Errorf("MGF1-SHA256(%d) = %x; want %x", n, got, want[:n])
		}
	}
}
