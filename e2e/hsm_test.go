package e2e

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"
)

// RSA-HSM keys. The PKCS#11 backend allows one login per token and
// process, so the tests of this file never run in parallel (none calls
// t.Parallel, and each stops its server before another opens the token).

// softHSMSetup is how to get the token the HSM tests use.
const softHSMSetup = `eval "$(bash .ci/softhsm-setup.sh /tmp/kustodian-softhsm)"`

// hsmOptions returns server options with the PKCS#11 token named by the
// environment .ci/softhsm-setup.sh prints. Without KUSTODIAN_TEST_PKCS11 the
// test is skipped; with KUSTODIAN_TEST_PKCS11=1 a missing setting fails it.
func hsmOptions(t *testing.T) options {
	t.Helper()
	v := os.Getenv("KUSTODIAN_TEST_PKCS11")
	if v == "" {
		t.Skip("KUSTODIAN_TEST_PKCS11 is not set; to run the HSM tests against SoftHSM, set up a token with .ci/softhsm-setup.sh: " + softHSMSetup)
	}
	on, err := strconv.ParseBool(v)
	if err != nil {
		t.Fatalf("KUSTODIAN_TEST_PKCS11=%q: want 1 (or 0 to skip)", v)
	}
	if !on {
		t.Skip("KUSTODIAN_TEST_PKCS11 is off; to run the HSM tests: " + softHSMSetup)
	}
	o := options{
		pkcs11Module:     os.Getenv("KUSTODIAN_PKCS11_MODULE"),
		pkcs11TokenLabel: os.Getenv("KUSTODIAN_PKCS11_TOKEN_LABEL"),
		pkcs11PIN:        os.Getenv("KUSTODIAN_PKCS11_PIN"),
	}
	var missing []string
	for _, s := range []struct{ name, val string }{
		{"KUSTODIAN_PKCS11_MODULE", o.pkcs11Module},
		{"KUSTODIAN_PKCS11_TOKEN_LABEL", o.pkcs11TokenLabel},
		{"KUSTODIAN_PKCS11_PIN", o.pkcs11PIN},
	} {
		if s.val == "" {
			missing = append(missing, s.name)
		}
	}
	if len(missing) > 0 {
		t.Fatalf("KUSTODIAN_TEST_PKCS11 is set but not: %s; run %s", strings.Join(missing, ", "), softHSMSetup)
	}
	return o
}

// wrapWith wraps plaintext with RSA-OAEP-256.
func wrapWith(t *testing.T, c *azkeys.Client, name, version string, plaintext []byte) []byte {
	t.Helper()
	alg := azkeys.EncryptionAlgorithmRSAOAEP256
	w, err := c.WrapKey(context.Background(), name, version, azkeys.KeyOperationParameters{Algorithm: &alg, Value: plaintext}, nil)
	if err != nil {
		t.Fatalf("WrapKey %s/%s: %v", name, version, err)
	}
	return w.Result
}

// unwrapWith unwraps RSA-OAEP-256 wrapped bytes.
func unwrapWith(t *testing.T, c *azkeys.Client, name, version string, wrapped []byte) []byte {
	t.Helper()
	alg := azkeys.EncryptionAlgorithmRSAOAEP256
	u, err := c.UnwrapKey(context.Background(), name, version, azkeys.KeyOperationParameters{Algorithm: &alg, Value: wrapped}, nil)
	if err != nil {
		t.Fatalf("UnwrapKey %s/%s: %v", name, version, err)
	}
	return u.Result
}

// expectHSMOnStandardRefused checks that a standard vault refuses RSA-HSM.
func expectHSMOnStandardRefused(t *testing.T, k *kvEnv, rg string) {
	t.Helper()
	std := k.createVault(t, rg, "kv-hsm-standard", vaultSpec{sku: armkeyvault.SKUNameStandard})
	_, err := k.keys(t, *std.Properties.VaultURI, k.cred).CreateKey(context.Background(), "hsm",
		azkeys.CreateKeyParameters{Kty: to.Ptr(azkeys.KeyTypeRSAHSM), KeySize: to.Ptr[int32](2048)}, nil)
	expectKVError(t, err, http.StatusForbidden, "Forbidden", "standard vault")
}

// TestHSMKeys runs RSA-HSM keys in a PKCS#11 token (SoftHSM in CI): create,
// wrap/unwrap, the standard-vault refusal, purge, a restart that finds the
// keys in the token again, and a cluster that validates such a key through
// the seed's procedure, before and after a rotation in the token.
func TestHSMKeys(t *testing.T) {
	o := hsmOptions(t)
	o.dataDir = t.TempDir()
	k := setupKV(t, o, "rg-hsm")
	ctx := context.Background()

	v := k.createVault(t, "rg-hsm", "kv-hsm", vaultSpec{purgeProtection: true})
	keys := k.keys(t, *v.Properties.VaultURI, k.cred)
	version := createKey(t, keys, "cmk", 2048, azkeys.KeyTypeRSAHSM)
	got, err := keys.GetKey(ctx, "cmk", version, nil)
	if err != nil {
		t.Fatalf("GetKey: %v", err)
	}
	if *got.Key.Kty != azkeys.KeyTypeRSAHSM || len(got.Key.N) != 256 || len(got.Key.D) != 0 || len(got.Key.P) != 0 {
		t.Fatalf("HSM key = kty %s, %d-byte modulus, private parts %d/%d bytes", *got.Key.Kty, len(got.Key.N), len(got.Key.D), len(got.Key.P))
	}
	roundTrip(t, keys, "cmk", version)

	expectHSMOnStandardRefused(t, k, "rg-hsm")

	// Delete and purge an HSM key (a vault without purge protection): the
	// token object goes with it.
	scratch := k.createVault(t, "rg-hsm", "kv-hsm-scratch", vaultSpec{})
	sk := k.keys(t, *scratch.Properties.VaultURI, k.cred)
	createKey(t, sk, "tmp", 2048, azkeys.KeyTypeRSAHSM)
	if _, err := sk.DeleteKey(ctx, "tmp", nil); err != nil {
		t.Fatalf("DeleteKey: %v", err)
	}
	if _, err := sk.PurgeDeletedKey(ctx, "tmp", nil); err != nil {
		t.Fatalf("PurgeDeletedKey: %v", err)
	}
	_, err = sk.GetDeletedKey(ctx, "tmp", nil)
	expectKVError(t, err, http.StatusNotFound, "KeyNotFound", "")

	// A restart opens the token again (after the first server let it go)
	// and finds the key: what was wrapped before unwraps after.
	secret := []byte("account encryption key, 32 bytes")
	wrapped := wrapWith(t, keys, "cmk", version, secret)
	k.stop()
	k = setupKV(t, o)
	rv, err := k.vaults.Get(ctx, "rg-hsm", "kv-hsm", nil)
	if err != nil {
		t.Fatalf("Get vault after restart: %v", err)
	}
	v = rv.Vault
	keys = k.keys(t, *v.Properties.VaultURI, k.cred)
	if back := unwrapWith(t, keys, "cmk", version, wrapped); !bytes.Equal(back, secret) {
		t.Fatal("the HSM key unwraps to other bytes after a restart")
	}

	// The seed's procedure with the HSM-protected key.
	principal := k.readyClusterPrincipal(t, "rg-hsm", "cluster-hsm")
	k.allow(t, "rg-hsm", "kv-hsm", principal, cmkPerms...)
	expect(t, k.setClusterKey("rg-hsm", "cluster-hsm", seedKeyBody(vaultBase(v), "cmk", version, 2048)), http.StatusOK, "")
	expectKey(t, k.clusterKey(t, "rg-hsm", "cluster-hsm"), vaultBase(v), "cmk", version)

	// Rotation generates the new version in the token too.
	rotated, err := keys.RotateKey(ctx, "cmk", nil)
	if err != nil {
		t.Fatalf("RotateKey: %v", err)
	}
	if *rotated.Key.Kty != azkeys.KeyTypeRSAHSM || rotated.Key.KID.Version() == version {
		t.Fatalf("rotated key = %s %s", *rotated.Key.Kty, *rotated.Key.KID)
	}
	r := k.setClusterKey("rg-hsm", "cluster-hsm", seedKeyBody(vaultBase(v), "cmk", rotated.Key.KID.Version(), 0))
	expect(t, r, http.StatusOK, "")
	expectKey(t, k.clusterKey(t, "rg-hsm", "cluster-hsm"), vaultBase(v), "cmk", rotated.Key.KID.Version())
}

// TestHSMRefusedWithoutModule: a server without a PKCS#11 module (and
// without the software fallback) refuses RSA-HSM keys with a clear error.
// It opens no token.
func TestHSMRefusedWithoutModule(t *testing.T) {
	k := setupKV(t, options{}, "rg-nohsm")
	v := k.createVault(t, "rg-nohsm", "kv-nohsm", vaultSpec{})
	keys := k.keys(t, *v.Properties.VaultURI, k.cred)
	_, err := keys.CreateKey(context.Background(), "hsm", azkeys.CreateKeyParameters{
		Kty: to.Ptr(azkeys.KeyTypeRSAHSM), KeySize: to.Ptr[int32](2048)}, nil)
	expectKVError(t, err, http.StatusBadRequest, "BadParameter", "no HSM backend")
	_, err = keys.ImportKey(context.Background(), "hsm", azkeys.ImportKeyParameters{HSM: to.Ptr(true), Key: &azkeys.JSONWebKey{
		Kty: to.Ptr(azkeys.KeyTypeRSA), N: []byte{1}, E: []byte{1, 0, 1}}}, nil)
	expectKVError(t, err, http.StatusBadRequest, "BadParameter", "no HSM backend")
	// Software keys are served as usual.
	roundTrip(t, keys, "soft", importKey(t, keys, "soft", nil))
}

// TestHSMSoftwareFallback: with the explicit software fallback, RSA-HSM keys
// are served (by the software backend) in premium vaults only. It opens no
// token.
func TestHSMSoftwareFallback(t *testing.T) {
	k := setupKV(t, options{softwareHSM: true}, "rg-swhsm")
	v := k.createVault(t, "rg-swhsm", "kv-swhsm", vaultSpec{})
	keys := k.keys(t, *v.Properties.VaultURI, k.cred)
	version := createKey(t, keys, "hsm", 2048, azkeys.KeyTypeRSAHSM)
	roundTrip(t, keys, "hsm", version)
	expectHSMOnStandardRefused(t, k, "rg-swhsm")
}
