//go:build cgo

package pkcs11

import (
	"context"
	"crypto/rsa"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/kustodian/kustodian/internal/keyvault"
)

// setupHint tells how to get a token for the tests.
const setupHint = `eval "$(bash .ci/softhsm-setup.sh /tmp/kustodian-softhsm)"`

// testConfig returns the token to test with, from the environment that
// .ci/softhsm-setup.sh prints. Without KUSTODIAN_TEST_PKCS11 the test is
// skipped; with it, a missing setting fails the test, as does (in the
// callers) a token that cannot be opened.
func testConfig(tb testing.TB) Config {
	tb.Helper()
	v := os.Getenv("KUSTODIAN_TEST_PKCS11")
	on, err := strconv.ParseBool(v)
	switch {
	case v == "":
		tb.Skip("KUSTODIAN_TEST_PKCS11 is not set; to run the PKCS#11 tests against SoftHSM: " + setupHint)
	case err != nil:
		tb.Fatalf("KUSTODIAN_TEST_PKCS11=%q: want 1 (or 0 to skip)", v)
	case !on:
		tb.Skip("KUSTODIAN_TEST_PKCS11 is off; to run the PKCS#11 tests against SoftHSM: " + setupHint)
	}
	cfg := Config{
		ModulePath: os.Getenv("KUSTODIAN_PKCS11_MODULE"),
		TokenLabel: os.Getenv("KUSTODIAN_PKCS11_TOKEN_LABEL"),
		PIN:        os.Getenv("KUSTODIAN_PKCS11_PIN"),
	}
	var missing []string
	for _, v := range []struct{ name, val string }{
		{"KUSTODIAN_PKCS11_MODULE", cfg.ModulePath},
		{"KUSTODIAN_PKCS11_TOKEN_LABEL", cfg.TokenLabel},
		{"KUSTODIAN_PKCS11_PIN", cfg.PIN},
	} {
		if v.val == "" {
			missing = append(missing, v.name)
		}
	}
	if len(missing) > 0 {
		tb.Fatalf("KUSTODIAN_TEST_PKCS11 is set but these are not: %s; run %s", strings.Join(missing, ", "), setupHint)
	}
	return cfg
}

// openTest opens the test token, closing it when the test ends.
func openTest(tb testing.TB) *Backend {
	tb.Helper()
	b, err := Open(testConfig(tb))
	if err != nil {
		tb.Fatalf("Open: %v (set up the token with %s)", err, setupHint)
	}
	tb.Cleanup(func() {
		if err := b.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return b
}

// newKey generates a key in the token and destroys it when the test ends,
// so that the token does not fill up with test keys.
func newKey(tb testing.TB, b *Backend, bits int) (*rsa.PublicKey, []byte) {
	tb.Helper()
	pub, ref, err := b.GenerateRSA(context.Background(), bits, "kustodian-test/"+tb.Name())
	if err != nil {
		tb.Fatalf("GenerateRSA(%d): %v", bits, err)
	}
	tb.Cleanup(func() {
		err := b.Destroy(context.Background(), ref)
		if err != nil && !errors.Is(err, keyvault.ErrKeyMaterialNotFound) {
			tb.Errorf("Destroy: %v", err)
		}
	})
	return pub, ref
}
