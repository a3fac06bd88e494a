//go:build cgo

package pkcs11

import (
	"crypto"
	_ "crypto/sha1" // OAEP hashes, for crypto.Hash.New
	_ "crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"errors"
)

// errOAEPDecode is the one error of oaepDecode, whatever went wrong.
var errOAEPDecode = errors.New("pkcs11: OAEP decoding failed")

// oaepDecode undoes EME-OAEP encoding (RFC 8017, section 7.1.2, step 3)
// with hash h for MGF1 and the label hash, and an empty label. em is the
// k-byte result of the raw RSA decryption primitive. It is used when the
// token does the RSA private-key operation but not the OAEP variant asked
// for (SoftHSM 2.6 does OAEP with SHA-1 only).
//
// The checks run in constant time and fail alike, so that callers cannot
// learn which one failed (Manger's attack): only the position of the
// message, which the caller is given anyway, shapes the timing.
func oaepDecode(h crypto.Hash, em []byte) ([]byte, error) {
	hLen := h.Size()
	k := len(em)
	if k < 2*hLen+2 {
		return nil, errOAEPDecode
	}
	lHash := h.New().Sum(nil)

	y := em[0]
	seed := make([]byte, hLen)
	copy(seed, em[1:1+hLen])
	db := make([]byte, k-hLen-1)
	copy(db, em[1+hLen:])
	defer clear(seed)

	mgf1XOR(seed, h, db)
	mgf1XOR(db, h, seed)

	good := subtle.ConstantTimeByteEq(y, 0)
	good &= subtle.ConstantTimeCompare(db[:hLen], lHash)

	// DB = lHash' || PS || 0x01 || M, PS being zero bytes: find the 0x01
	// without branching on the bytes.
	rest := db[hLen:]
	looking, index, invalid := 1, 0, 0
	for i, c := range rest {
		isZero := subtle.ConstantTimeByteEq(c, 0)
		isOne := subtle.ConstantTimeByteEq(c, 1)
		index = subtle.ConstantTimeSelect(looking&isOne, i, index)
		looking = subtle.ConstantTimeSelect(isOne, 0, looking)
		invalid = subtle.ConstantTimeSelect(looking&^isZero, 1, invalid)
	}
	good &= ^invalid & ^looking & 1
	if good != 1 {
		clear(db)
		return nil, errOAEPDecode
	}
	msg := make([]byte, len(rest)-index-1)
	copy(msg, rest[index+1:])
	clear(db)
	return msg, nil
}

// mgf1XOR XORs out with MGF1(seed) (RFC 8017, appendix B.2.1) using h.
func mgf1XOR(out []byte, h crypto.Hash, seed []byte) {
	d := h.New()
	var counter [4]byte
	var sum []byte
	for done := 0; done < len(out); {
		d.Reset()
		d.Write(seed)
		d.Write(counter[:])
		sum = d.Sum(sum[:0])
		done += subtle.XORBytes(out[done:], out[done:], sum)
		binary.BigEndian.PutUint32(counter[:], binary.BigEndian.Uint32(counter[:])+1)
	}
	clear(sum)
}
