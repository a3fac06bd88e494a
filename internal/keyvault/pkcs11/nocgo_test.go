//go:build !cgo

package pkcs11

import (
	"errors"
	"testing"
)

func TestOpenWithoutCgo(t *testing.T) {
	if _, err := Open(Config{ModulePath: "/usr/lib/softhsm/libsofthsm2.so", TokenLabel: "t", PIN: "p"}); !errors.Is(err, ErrCgoRequired) {
		t.Errorf("Open: %v; want ErrCgoRequired", err)
	}
	var b Backend
	if b.Name() != "pkcs11" || !b.HSM() {
		t.Errorf("Name, HSM = %q, %v", b.Name(), b.HSM())
	}
}
