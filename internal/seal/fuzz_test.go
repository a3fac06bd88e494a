package seal

import (
	"encoding/base64"
	"errors"
	"testing"
)

// FuzzOpen checks that Open never panics and only ever fails with one of its
// documented errors.
func FuzzOpen(f *testing.F) {
	key, g := loadGolden(f)
	s := mustNew(f, key)
	for _, v := range g.Vectors {
		sealed, err := base64.StdEncoding.DecodeString(v.Sealed)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(sealed, []byte(v.AAD))
		f.Add(sealed[:len(sealed)-1], []byte(v.AAD))
		f.Add(sealed[:minSealedLen], []byte(v.AAD))
	}
	f.Add([]byte{}, []byte{})
	f.Add([]byte("ks"), []byte{})
	f.Add([]byte("ks\x02"), []byte("a"))
	f.Add(mustSeal(f, mustNew(f, testKey(1)), []byte("other key"), nil), []byte{})

	f.Fuzz(func(t *testing.T, sealed, aad []byte) {
		plaintext, err := s.Open(sealed, aad)
		if err == nil {
			// Only genuine values open; re-sealing must round-trip.
			again := mustSeal(t, s, plaintext, aad)
			if _, err := s.Open(again, aad); err != nil {
				t.Fatalf("re-sealed value does not open: %v", err)
			}
			return
		}
		if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrWrongKey) && !errors.Is(err, ErrUnknownVersion) {
			t.Fatalf("undocumented error: %v", err)
		}
	})
}
