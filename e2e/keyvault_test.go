package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/operationalinsights/armoperationalinsights/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"
)

// The Key Vault tests drive the embedded vault as a customer does: vaults
// with armkeyvault, keys with azkeys (default options but the transport,
// so challenge resource verification is on and the vault URL is the
// vaultUri the server returns), clusters with armoperationalinsights, and
// the seed's cluster update as a raw request with its body as printed.

// kvEnv is a running server with the clients the Key Vault tests use.
type kvEnv struct {
	*env
	tok      string // the bootstrap Owner's Resource Manager token
	oid      string // the bootstrap principal's object id
	vaults   *armkeyvault.VaultsClient
	clusters *armoperationalinsights.ClustersClient
}

// setupKV starts a server, registers the CMK feature, creates the groups
// (eastus) and the SDK clients.
func setupKV(t *testing.T, o options, groups ...string) *kvEnv {
	t.Helper()
	e, tok := setup(t, o, groups...)
	k := &kvEnv{env: e, tok: tok, oid: e.bootstrapObjectID(t, tok)}
	var err error
	if k.vaults, err = armkeyvault.NewVaultsClient(e.boot.SubscriptionID, e.cred, e.armOptions()); err != nil {
		t.Fatal(err)
	}
	if k.clusters, err = armoperationalinsights.NewClustersClient(e.boot.SubscriptionID, e.cred, e.armOptions()); err != nil {
		t.Fatal(err)
	}
	return k
}

// forT returns a copy of the env whose raw requests report to t (for
// parallel subtests).
func (k *kvEnv) forT(t *testing.T) *kvEnv {
	e := *k.env
	e.t = t
	c := *k
	c.env = &e
	return &c
}

// vaultSpec is a vault to create. The zero value is the seed's vault:
// premium, soft delete (7 days) and purge protection off.
type vaultSpec struct {
	sku             armkeyvault.SKUName // default premium
	noSoftDelete    bool
	purgeProtection bool
	retentionDays   int32 // default 7
	// policies grants key permissions to object ids, besides "all" for the
	// bootstrap principal.
	policies map[string][]armkeyvault.KeyPermissions
	tags     map[string]*string
}

// cmkPerms are the seed's permissions for the cluster's identity.
var cmkPerms = []armkeyvault.KeyPermissions{armkeyvault.KeyPermissionsGet, armkeyvault.KeyPermissionsWrapKey, armkeyvault.KeyPermissionsUnwrapKey}

func (k *kvEnv) policy(objectID string, perms ...armkeyvault.KeyPermissions) *armkeyvault.AccessPolicyEntry {
	return &armkeyvault.AccessPolicyEntry{
		TenantID: to.Ptr(k.boot.TenantID), ObjectID: to.Ptr(objectID),
		Permissions: &armkeyvault.Permissions{Keys: to.SliceOfPtrs(perms...)},
	}
}

// vaultParams returns the armkeyvault create parameters of a spec.
func (k *kvEnv) vaultParams(s vaultSpec) armkeyvault.VaultCreateOrUpdateParameters {
	if s.sku == "" {
		s.sku = armkeyvault.SKUNamePremium
	}
	if s.retentionDays == 0 {
		s.retentionDays = 7
	}
	policies := []*armkeyvault.AccessPolicyEntry{k.policy(k.oid, armkeyvault.KeyPermissionsAll)}
	for oid, perms := range s.policies {
		policies = append(policies, k.policy(oid, perms...))
	}
	props := &armkeyvault.VaultProperties{
		TenantID:                  to.Ptr(k.boot.TenantID),
		SKU:                       &armkeyvault.SKU{Family: to.Ptr(armkeyvault.SKUFamilyA), Name: to.Ptr(s.sku)},
		AccessPolicies:            policies,
		EnableSoftDelete:          to.Ptr(!s.noSoftDelete),
		SoftDeleteRetentionInDays: to.Ptr(s.retentionDays),
	}
	if s.purgeProtection {
		props.EnablePurgeProtection = to.Ptr(true)
	}
	return armkeyvault.VaultCreateOrUpdateParameters{Location: to.Ptr("eastus"), Properties: props, Tags: s.tags}
}

// createVault creates a vault with armkeyvault and returns it.
func (k *kvEnv) createVault(t *testing.T, rg, name string, s vaultSpec) armkeyvault.Vault {
	t.Helper()
	v, err := k.beginVault(rg, name, k.vaultParams(s))
	if err != nil {
		t.Fatalf("create vault %s: %v", name, err)
	}
	if v.Properties == nil || v.Properties.VaultURI == nil {
		t.Fatalf("vault %s without vaultUri: %+v", name, v)
	}
	return v
}

// beginVault runs BeginCreateOrUpdate to its end.
func (k *kvEnv) beginVault(rg, name string, p armkeyvault.VaultCreateOrUpdateParameters) (armkeyvault.Vault, error) {
	ctx := context.Background()
	poller, err := k.vaults.BeginCreateOrUpdate(ctx, rg, name, p, nil)
	if err != nil {
		return armkeyvault.Vault{}, err
	}
	resp, err := poller.PollUntilDone(ctx, fastPoll)
	return resp.Vault, err
}

// allow adds an access policy entry with armkeyvault's UpdateAccessPolicy.
func (k *kvEnv) allow(t *testing.T, rg, vault, objectID string, perms ...armkeyvault.KeyPermissions) {
	t.Helper()
	_, err := k.vaults.UpdateAccessPolicy(context.Background(), rg, vault, armkeyvault.AccessPolicyUpdateKindAdd,
		armkeyvault.VaultAccessPolicyParameters{Properties: &armkeyvault.VaultAccessPolicyProperties{
			AccessPolicies: []*armkeyvault.AccessPolicyEntry{k.policy(objectID, perms...)},
		}}, nil)
	if err != nil {
		t.Fatalf("UpdateAccessPolicy(add) on %s: %v", vault, err)
	}
}

// keys returns an azkeys client for a vault URL: default options except the
// transport, which trusts the development CA and dials *.vault.localhost to
// the server.
func (k *kvEnv) keys(t *testing.T, vaultURL string, cred azcore.TokenCredential) *azkeys.Client {
	t.Helper()
	c, err := azkeys.NewClient(vaultURL, cred, &azkeys.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: k.client}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// createKey creates an RSA (or RSA-HSM) key version with azkeys and returns
// its version.
func createKey(t *testing.T, c *azkeys.Client, name string, size int32, kty azkeys.KeyType) string {
	t.Helper()
	resp, err := c.CreateKey(context.Background(), name, azkeys.CreateKeyParameters{Kty: to.Ptr(kty), KeySize: to.Ptr(size)}, nil)
	if err != nil {
		t.Fatalf("CreateKey %s (%s %d): %v", name, kty, size, err)
	}
	if resp.Key == nil || resp.Key.KID == nil || resp.Key.Kty == nil || *resp.Key.Kty != kty {
		t.Fatalf("CreateKey %s: key = %+v", name, resp.Key)
	}
	return resp.Key.KID.Version()
}

// testKey is an RSA key generated once per test binary for the keys that
// are imported (azkeys ImportKey, as a customer brings a software key)
// rather than created: RSA key generation is slow, and most tests need a
// key, not a new one.
var testKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// importKey imports testKey as a new version of a software RSA key with the
// given attributes (nil: none) and operations (none: the default) and
// returns the version.
func importKey(t *testing.T, c *azkeys.Client, name string, attrs *azkeys.KeyAttributes, ops ...azkeys.KeyOperation) string {
	t.Helper()
	priv := testKey()
	jwk := &azkeys.JSONWebKey{
		Kty: to.Ptr(azkeys.KeyTypeRSA), N: priv.N.Bytes(), E: big.NewInt(int64(priv.E)).Bytes(), D: priv.D.Bytes(),
		P: priv.Primes[0].Bytes(), Q: priv.Primes[1].Bytes(),
		DP: priv.Precomputed.Dp.Bytes(), DQ: priv.Precomputed.Dq.Bytes(), QI: priv.Precomputed.Qinv.Bytes(),
	}
	if len(ops) > 0 {
		jwk.KeyOps = to.SliceOfPtrs(ops...)
	}
	resp, err := c.ImportKey(context.Background(), name, azkeys.ImportKeyParameters{Key: jwk, KeyAttributes: attrs}, nil)
	if err != nil {
		t.Fatalf("ImportKey %s: %v", name, err)
	}
	if resp.Key == nil || resp.Key.KID == nil || *resp.Key.Kty != azkeys.KeyTypeRSA || len(resp.Key.D) != 0 ||
		!bytes.Equal(resp.Key.N, priv.N.Bytes()) {
		t.Fatalf("ImportKey %s: key = %+v", name, resp.Key)
	}
	return resp.Key.KID.Version()
}

// setEnabled enables or disables a key version with azkeys.
func setEnabled(t *testing.T, c *azkeys.Client, name, version string, enabled bool) {
	t.Helper()
	resp, err := c.UpdateKey(context.Background(), name, version, azkeys.UpdateKeyParameters{
		KeyAttributes: &azkeys.KeyAttributes{Enabled: to.Ptr(enabled)}}, nil)
	if err != nil {
		t.Fatalf("UpdateKey %s/%s enabled=%v: %v", name, version, enabled, err)
	}
	if resp.Attributes == nil || resp.Attributes.Enabled == nil || *resp.Attributes.Enabled != enabled {
		t.Fatalf("UpdateKey %s/%s: attributes = %+v", name, version, resp.Attributes)
	}
}

// roundTrip wraps and unwraps random bytes with a key version.
func roundTrip(t *testing.T, c *azkeys.Client, name, version string) {
	t.Helper()
	ctx := context.Background()
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		t.Fatal(err)
	}
	alg := azkeys.EncryptionAlgorithmRSAOAEP256
	w, err := c.WrapKey(ctx, name, version, azkeys.KeyOperationParameters{Algorithm: &alg, Value: secret}, nil)
	if err != nil {
		t.Fatalf("WrapKey %s/%s: %v", name, version, err)
	}
	if len(w.Result) == 0 || bytes.Equal(w.Result, secret) {
		t.Fatalf("WrapKey %s/%s returned %d bytes", name, version, len(w.Result))
	}
	u, err := c.UnwrapKey(ctx, name, version, azkeys.KeyOperationParameters{Algorithm: &alg, Value: w.Result}, nil)
	if err != nil {
		t.Fatalf("UnwrapKey %s/%s: %v", name, version, err)
	}
	if !bytes.Equal(u.Result, secret) {
		t.Fatalf("UnwrapKey %s/%s did not give back the wrapped bytes", name, version)
	}
}

// newCluster creates a cluster with armoperationalinsights, polls it to the
// end and returns its identity's principalId.
func (k *kvEnv) newCluster(t *testing.T, rg, name string) string {
	t.Helper()
	ctx := context.Background()
	poller, err := k.clusters.BeginCreateOrUpdate(ctx, rg, name, armoperationalinsights.Cluster{
		Location: to.Ptr("eastus"),
		Identity: &armoperationalinsights.ManagedServiceIdentity{Type: to.Ptr(armoperationalinsights.ManagedServiceIdentityTypeSystemAssigned)},
		SKU: &armoperationalinsights.ClusterSKU{
			Name: to.Ptr(armoperationalinsights.ClusterSKUNameEnumCapacityReservation), Capacity: to.Ptr[int64](1000),
		},
	}, nil)
	if err != nil {
		t.Fatalf("create cluster %s: %v", name, err)
	}
	c, err := poller.PollUntilDone(ctx, fastPoll)
	if err != nil {
		t.Fatalf("poll cluster %s: %v", name, err)
	}
	if c.Properties == nil || c.Properties.ProvisioningState == nil || *c.Properties.ProvisioningState != armoperationalinsights.ClusterEntityStatusSucceeded {
		t.Fatalf("cluster %s after polling: %+v", name, c.Properties)
	}
	if c.Identity == nil || c.Identity.PrincipalID == nil || !isGUID(*c.Identity.PrincipalID) {
		t.Fatalf("cluster %s identity = %+v", name, c.Identity)
	}
	return *c.Identity.PrincipalID
}

// readyClusterPrincipal creates a cluster with the seed's request, polls it
// until it is provisioned and returns its principalId.
func (k *kvEnv) readyClusterPrincipal(t *testing.T, rg, name string) string {
	t.Helper()
	k.readyCluster(t, k.tok, rg, name, "eastus", "LogAnalytics")
	return k.clusterPrincipal(t, k.tok, rg, name)
}

// seedKeyBody is the seed's "Update Cluster resource with Key identifier
// details" body as printed (unquoted property names, trailing comma, the
// seed's spacing) with its placeholders filled in; rsaSize > 0 adds a
// KeyRsaSize line in the same style.
func seedKeyBody(vaultURI, keyName, keyVersion string, rsaSize int) string {
	size := ""
	if rsaSize > 0 {
		size = fmt.Sprintf("\n       KeyRsaSize: %d,", rsaSize)
	}
	return `{
   "identity": { 
     "type": "systemAssigned" 
     },
   "sku": {
     "name": "capacityReservation",
     "capacity": 1000
     },
   "properties": {
     "KeyVaultProperties": {` + size + `
       KeyVaultUri: "` + vaultURI + `",
       KeyName: "` + keyName + `",
       KeyVersion: "` + keyVersion + `"
       },
   },
   "location":"eastus"
}`
}

// setClusterKey sends the seed's cluster update (PUT, api-version
// 2019-08-01-preview).
func (k *kvEnv) setClusterKey(rg, cluster, body string) response {
	return k.do(http.MethodPut, k.clusterPath(rg, cluster)+q(apiSeedCluster), k.tok, body)
}

// clusterKey returns the cluster's keyVaultProperties as the seed's GET
// shows them (nil when absent).
func (k *kvEnv) clusterKey(t *testing.T, rg, cluster string) map[string]any {
	t.Helper()
	r := k.do(http.MethodGet, k.clusterPath(rg, cluster)+q(apiSeedCluster), k.tok, "")
	expect(t, r, http.StatusOK, "")
	kv, _ := at(t, r.json(t), "properties", "keyVaultProperties").(map[string]any)
	return kv
}

// expectKey checks a cluster's keyVaultProperties.
func expectKey(t *testing.T, kv map[string]any, uri, name, version string) {
	t.Helper()
	if kv == nil || kv["keyVaultUri"] != uri || kv["keyName"] != name || kv["keyVersion"] != version {
		t.Fatalf("keyVaultProperties = %v; want %s %s version %q", kv, uri, name, version)
	}
}

// expectKeyRefused checks a refused key: 400 with the kek.Failure
// condition as the ARM error code and, if set, a message containing want.
func expectKeyRefused(t *testing.T, r response, code, want string) {
	t.Helper()
	expect(t, r, http.StatusBadRequest, code)
	msg := str(t, r.json(t), "error", "message")
	if want != "" && !strings.Contains(msg, want) {
		t.Fatalf("%s message %q does not contain %q", code, msg, want)
	}
}

// expectKVError checks a Key Vault data-plane error from azkeys.
func expectKVError(t *testing.T, err error, status int, code, msgContains string) {
	t.Helper()
	expectSDKError(t, err, status, code)
	if msgContains != "" && !strings.Contains(err.Error(), msgContains) {
		t.Fatalf("error does not mention %q: %v", msgContains, err)
	}
}

// vaultBase returns a vault URI without its trailing slash, as the seed
// writes keyVaultUri.
func vaultBase(v armkeyvault.Vault) string { return strings.TrimSuffix(*v.Properties.VaultURI, "/") }

// TestKeyVaultSeedProcedure runs the seed's whole key procedure through the
// SDKs: a premium vault with soft delete and purge protection
// (armkeyvault), an RSA key (azkeys), a cluster created and polled
// (armoperationalinsights), an access policy for the cluster's principalId
// (armkeyvault UpdateAccessPolicy add), then the seed's cluster update as
// printed, which the server validates as the cluster's identity.
func TestKeyVaultSeedProcedure(t *testing.T) {
	t.Parallel()
	k := setupKV(t, options{}, "rg-cmk")
	ctx := context.Background()

	// 2. The vault and the key.
	v := k.createVault(t, "rg-cmk", "contoso-cmk", vaultSpec{purgeProtection: true})
	port := k.endpoint[strings.LastIndexByte(k.endpoint, ':')+1:]
	if want := "https://contoso-cmk.vault.localhost:" + port + "/"; *v.Properties.VaultURI != want {
		t.Fatalf("vaultUri = %s, want %s", *v.Properties.VaultURI, want)
	}
	if !*v.Properties.EnableSoftDelete || v.Properties.EnablePurgeProtection == nil || !*v.Properties.EnablePurgeProtection ||
		*v.Properties.SKU.Name != armkeyvault.SKUNamePremium {
		t.Fatalf("vault properties = %+v", v.Properties)
	}
	keys := k.keys(t, *v.Properties.VaultURI, k.cred)
	version := createKey(t, keys, "cmk", 2048, azkeys.KeyTypeRSA)
	got, err := keys.GetKey(ctx, "cmk", "", nil)
	if err != nil {
		t.Fatalf("GetKey: %v", err)
	}
	if got.Key.KID.Version() != version || got.Attributes.RecoveryLevel == nil || *got.Attributes.RecoveryLevel != "CustomizedRecoverable" {
		t.Fatalf("key = %s, recovery level %v", *got.Key.KID, got.Attributes.RecoveryLevel)
	}

	// 3 and 4. The cluster, polled until provisioned.
	principal := k.newCluster(t, "rg-cmk", "cluster-cmk")

	// 5. The access policy for the cluster's identity.
	k.allow(t, "rg-cmk", "contoso-cmk", principal, cmkPerms...)
	vg, err := k.vaults.Get(ctx, "rg-cmk", "contoso-cmk", nil)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range vg.Properties.AccessPolicies {
		if *p.ObjectID == principal {
			found = len(p.Permissions.Keys) == 3
		}
	}
	if !found {
		t.Fatalf("the cluster's access policy is not on the vault: %+v", vg.Properties.AccessPolicies)
	}

	// 6. The seed's update, as printed.
	r := k.setClusterKey("rg-cmk", "cluster-cmk", seedKeyBody(vaultBase(v), "cmk", version, 0))
	expect(t, r, http.StatusOK, "")
	expectKey(t, at(t, r.json(t), "properties", "keyVaultProperties").(map[string]any), vaultBase(v), "cmk", version)
	expectKey(t, k.clusterKey(t, "rg-cmk", "cluster-cmk"), vaultBase(v), "cmk", version)

	// The SDK sees the same key.
	c, err := k.clusters.Get(ctx, "rg-cmk", "cluster-cmk", nil)
	if err != nil {
		t.Fatal(err)
	}
	if kv := c.Properties.KeyVaultProperties; kv == nil || *kv.KeyVaultURI != vaultBase(v) || *kv.KeyName != "cmk" || *kv.KeyVersion != version {
		t.Fatalf("SDK keyVaultProperties = %+v", kv)
	}
}

// TestKeyVaultShutdownAfterKeyValidation: validating a cluster's key makes
// the server open a connection to its own listener (its Key Vault client);
// a graceful stop must not wait on that idle connection. (Fails today: the
// stop takes the HTTP/2 server's 1 s GOAWAY grace period, because nothing
// closes the server's own idle HTTP/2 client connection.)
func TestKeyVaultShutdownAfterKeyValidation(t *testing.T) {
	t.Parallel()
	k := setupKV(t, options{}, "rg-stop")
	principal := k.readyClusterPrincipal(t, "rg-stop", "cluster-stop")
	v := k.createVault(t, "rg-stop", "kv-stop", vaultSpec{purgeProtection: true,
		policies: map[string][]armkeyvault.KeyPermissions{principal: cmkPerms}})
	version := importKey(t, k.keys(t, *v.Properties.VaultURI, k.cred), "cmk", nil)
	expect(t, k.setClusterKey("rg-stop", "cluster-stop", seedKeyBody(vaultBase(v), "cmk", version, 0)), http.StatusOK, "")
	k.client.CloseIdleConnections() // the test's own connections are not the point
	start := time.Now()
	k.stop()
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("the server took %v to stop after a key validation; want well under a second", d)
	}
}

// TestKeyVaultKeyValidation: each condition a cluster's key must meet is
// refused with 400 and the failed condition as the error code.
func TestKeyVaultKeyValidation(t *testing.T) {
	t.Parallel()
	k := setupKV(t, options{}, "rg-val")
	principal := k.readyClusterPrincipal(t, "rg-val", "cluster-val")
	good := k.createVault(t, "rg-val", "kv-val-good", vaultSpec{purgeProtection: true,
		policies: map[string][]armkeyvault.KeyPermissions{principal: cmkPerms}})
	keys := k.keys(t, *good.Properties.VaultURI, k.cred)
	v2048 := importKey(t, keys, "cmk", nil)
	off := importKey(t, keys, "off", nil)
	setEnabled(t, keys, "off", off, false)
	// Versions outside their validity window, and one whose key_ops do not
	// allow wrapping.
	expired := importKey(t, keys, "expired", &azkeys.KeyAttributes{Expires: to.Ptr(time.Now().Add(-time.Hour))})
	future := importKey(t, keys, "future", &azkeys.KeyAttributes{NotBefore: to.Ptr(time.Now().Add(time.Hour))})
	signOnly := importKey(t, keys, "signonly", nil, azkeys.KeyOperationSign, azkeys.KeyOperationVerify)

	// A vault configured as a case asks, holding a 2048-bit key "cmk"; it
	// returns the seed's body naming that key.
	vaultCase := func(t *testing.T, name string, s vaultSpec) string {
		t.Helper()
		v := k.createVault(t, "rg-val", name, s)
		version := importKey(t, k.keys(t, *v.Properties.VaultURI, k.cred), "cmk", nil)
		return seedKeyBody(vaultBase(v), "cmk", version, 0)
	}
	only := func(perms ...armkeyvault.KeyPermissions) map[string][]armkeyvault.KeyPermissions {
		return map[string][]armkeyvault.KeyPermissions{principal: perms}
	}
	get, wrap, unwrap := armkeyvault.KeyPermissionsGet, armkeyvault.KeyPermissionsWrapKey, armkeyvault.KeyPermissionsUnwrapKey

	cases := []struct {
		name, code, msg string
		body            func(t *testing.T) string
	}{
		{"no access policy for the cluster", "KeyVaultAccessDenied", "may not get", func(t *testing.T) string {
			return vaultCase(t, "kv-val-nopolicy", vaultSpec{purgeProtection: true})
		}},
		{"policy without wrapKey", "KeyVaultAccessDenied", "may not wrapKey", func(t *testing.T) string {
			return vaultCase(t, "kv-val-nowrap", vaultSpec{purgeProtection: true, policies: only(get, unwrap)})
		}},
		{"policy without unwrapKey", "KeyVaultAccessDenied", "may not unwrapKey", func(t *testing.T) string {
			return vaultCase(t, "kv-val-nounwrap", vaultSpec{purgeProtection: true, policies: only(get, wrap)})
		}},
		{"vault without purge protection", "KeyVaultNotRecoverable", `recovery level "CustomizedRecoverable+Purgeable"`, func(t *testing.T) string {
			return vaultCase(t, "kv-val-nopp", vaultSpec{policies: only(cmkPerms...)})
		}},
		{"vault without soft delete", "KeyVaultNotRecoverable", `recovery level "Purgeable"`, func(t *testing.T) string {
			return vaultCase(t, "kv-val-nosd", vaultSpec{noSoftDelete: true, policies: only(cmkPerms...)})
		}},
		{"key version disabled", "KeyDisabled", off, func(*testing.T) string {
			return seedKeyBody(vaultBase(good), "off", off, 0)
		}},
		{"latest version disabled (automatic rotation)", "KeyDisabled", off, func(*testing.T) string {
			return seedKeyBody(vaultBase(good), "off", "", 0)
		}},
		{"key missing", "KeyNotFound", "missing", func(*testing.T) string {
			return seedKeyBody(vaultBase(good), "missing", "", 0)
		}},
		{"key version missing", "KeyNotFound", "", func(*testing.T) string {
			return seedKeyBody(vaultBase(good), "cmk", "0123456789abcdef0123456789abcdef", 0)
		}},
		{"keyRsaSize 3072 with a 2048-bit key", "KeySizeTooSmall", "3072", func(*testing.T) string {
			return seedKeyBody(vaultBase(good), "cmk", v2048, 3072)
		}},
		{"key expired", "KeyExpired", expired, func(*testing.T) string {
			return seedKeyBody(vaultBase(good), "expired", expired, 0)
		}},
		{"key not yet valid", "KeyNotYetValid", future, func(*testing.T) string {
			return seedKeyBody(vaultBase(good), "future", future, 0)
		}},
		// The identity has get, wrapKey and unwrapKey; the key's own key_ops
		// forbid wrapping. That is not an access policy problem, and the
		// answer must not send the customer to the access policies.
		{"key_ops without wrapKey and unwrapKey", "KeyOperationNotAllowed", "key_ops", func(*testing.T) string {
			return seedKeyBody(vaultBase(good), "signonly", signOnly, 0)
		}},
		{"unreachable vault", "KeyVaultUnreachable", "nowhere.invalid", func(*testing.T) string {
			return seedKeyBody("https://nowhere.invalid", "cmk", v2048, 0)
		}},
	}
	// The refusals run in parallel; the group ends when all have.
	t.Run("refused", func(t *testing.T) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				k := k.forT(t)
				expectKeyRefused(t, k.setClusterKey("rg-val", "cluster-val", c.body(t)), c.code, c.msg)
			})
		}

		t.Run("EC key", func(t *testing.T) {
			t.Parallel()
			// This vault serves RSA and RSA-HSM keys only: an EC key is
			// refused at creation, so no cluster can point at one here. The
			// cluster's KeyTypeNotSupported refusal of a vault that has EC
			// keys is tested against a fake vault in internal/kek.
			_, err := keys.CreateKey(context.Background(), "ec", azkeys.CreateKeyParameters{
				Kty: to.Ptr(azkeys.KeyTypeEC), Curve: to.Ptr(azkeys.CurveNameP256)}, nil)
			expectSDKError(t, err, http.StatusBadRequest, "BadParameter")
		})

		t.Run("key set at cluster creation", func(t *testing.T) {
			t.Parallel()
			k := k.forT(t)
			body := `{"identity":{"type":"SystemAssigned"},"sku":{"name":"CapacityReservation","capacity":1000},` +
				`"properties":{"keyVaultProperties":{"keyVaultUri":"` + vaultBase(good) + `","keyName":"cmk","keyVersion":"` + v2048 + `"}},"location":"eastus"}`
			r := k.do(http.MethodPut, k.clusterPath("rg-val", "cluster-val-new")+q(apiSeedCluster), k.tok, body)
			expectKeyRefused(t, r, "KeyVaultPropertiesNotAllowedOnCreate", "")
			expect(t, k.do(http.MethodGet, k.clusterPath("rg-val", "cluster-val-new")+q(apiSeedCluster), k.tok, ""), http.StatusNotFound, "")
		})
	})

	// No refusal stored anything; the good key then validates.
	if kv := k.clusterKey(t, "rg-val", "cluster-val"); kv != nil {
		t.Fatalf("refused updates left keyVaultProperties %v", kv)
	}
	r := k.setClusterKey("rg-val", "cluster-val", seedKeyBody(vaultBase(good), "cmk", v2048, 2048))
	expect(t, r, http.StatusOK, "")
	expectKey(t, k.clusterKey(t, "rg-val", "cluster-val"), vaultBase(good), "cmk", v2048)
}

// TestKeyVaultRotationAndDisable runs on one cluster: a new key version
// (RotateKey, or CreateKey again) set on the cluster is the seed's
// rotation, after which the old version can be disabled; an empty
// keyVersion is automatic rotation; a cluster update to a disabled key
// version fails (PUT and PATCH) and succeeds once it is enabled again.
func TestKeyVaultRotationAndDisable(t *testing.T) {
	t.Parallel()
	k := setupKV(t, options{}, "rg-rot")
	ctx := context.Background()
	principal := k.readyClusterPrincipal(t, "rg-rot", "cluster-rot")
	v := k.createVault(t, "rg-rot", "kv-rot", vaultSpec{purgeProtection: true,
		policies: map[string][]armkeyvault.KeyPermissions{principal: cmkPerms}})
	keys := k.keys(t, *v.Properties.VaultURI, k.cred)

	t.Run("rotation", func(t *testing.T) {
		k := k.forT(t)
		v1 := createKey(t, keys, "cmk", 2048, azkeys.KeyTypeRSA)
		expect(t, k.setClusterKey("rg-rot", "cluster-rot", seedKeyBody(vaultBase(v), "cmk", v1, 0)), http.StatusOK, "")

		rotated, err := keys.RotateKey(ctx, "cmk", nil)
		if err != nil {
			t.Fatalf("RotateKey: %v", err)
		}
		v2 := rotated.Key.KID.Version()
		if v2 == "" || v2 == v1 || *rotated.Key.Kty != azkeys.KeyTypeRSA {
			t.Fatalf("RotateKey gave %s (old %s)", *rotated.Key.KID, v1)
		}
		r := k.setClusterKey("rg-rot", "cluster-rot", seedKeyBody(vaultBase(v), "cmk", v2, 0))
		expect(t, r, http.StatusOK, "")
		expectKey(t, at(t, r.json(t), "properties", "keyVaultProperties").(map[string]any), vaultBase(v), "cmk", v2)

		// The old version is no longer needed by the cluster: disable it.
		setEnabled(t, keys, "cmk", v1, false)
		expectKey(t, k.clusterKey(t, "rg-rot", "cluster-rot"), vaultBase(v), "cmk", v2)
		// ... and it can no longer be chosen.
		expectKeyRefused(t, k.setClusterKey("rg-rot", "cluster-rot", seedKeyBody(vaultBase(v), "cmk", v1, 0)), "KeyDisabled", v1)

		// A second rotation by creating the key again.
		v3 := createKey(t, keys, "cmk", 2048, azkeys.KeyTypeRSA)
		if v3 == v2 {
			t.Fatal("CreateKey did not give a new version")
		}
		expect(t, k.setClusterKey("rg-rot", "cluster-rot", seedKeyBody(vaultBase(v), "cmk", v3, 2048)), http.StatusOK, "")
		expectKey(t, k.clusterKey(t, "rg-rot", "cluster-rot"), vaultBase(v), "cmk", v3)

		// Versions: all three, v1 disabled.
		enabled := map[string]bool{}
		for pager := keys.NewListKeyPropertiesVersionsPager("cmk", nil); pager.More(); {
			page, err := pager.NextPage(ctx)
			if err != nil {
				t.Fatalf("list versions: %v", err)
			}
			for _, kp := range page.Value {
				enabled[kp.KID.Version()] = *kp.Attributes.Enabled
			}
		}
		if len(enabled) != 3 || enabled[v1] || !enabled[v2] || !enabled[v3] {
			t.Fatalf("versions = %v (v1 %s, v2 %s, v3 %s)", enabled, v1, v2, v3)
		}
	})

	t.Run("automatic rotation", func(t *testing.T) {
		k := k.forT(t)
		r := k.setClusterKey("rg-rot", "cluster-rot", seedKeyBody(vaultBase(v), "cmk", "", 0))
		expect(t, r, http.StatusOK, "")
		expectKey(t, k.clusterKey(t, "rg-rot", "cluster-rot"), vaultBase(v), "cmk", "")
		c, err := k.clusters.Get(ctx, "rg-rot", "cluster-rot", nil)
		if err != nil {
			t.Fatal(err)
		}
		if kv := c.Properties.KeyVaultProperties; kv == nil || (kv.KeyVersion != nil && *kv.KeyVersion != "") {
			t.Fatalf("SDK keyVaultProperties = %+v", kv)
		}
	})

	t.Run("disable and enable", func(t *testing.T) {
		k := k.forT(t)
		before := k.clusterKey(t, "rg-rot", "cluster-rot")
		version := createKey(t, keys, "dis", 2048, azkeys.KeyTypeRSA)
		body := seedKeyBody(vaultBase(v), "dis", version, 0)

		setEnabled(t, keys, "dis", version, false)
		expectKeyRefused(t, k.setClusterKey("rg-rot", "cluster-rot", body), "KeyDisabled", version)
		// A PATCH (the SDK's BeginUpdate) is validated the same way.
		_, err := k.clusters.BeginUpdate(ctx, "rg-rot", "cluster-rot", armoperationalinsights.ClusterPatch{
			Properties: &armoperationalinsights.ClusterPatchProperties{KeyVaultProperties: &armoperationalinsights.KeyVaultProperties{
				KeyVaultURI: to.Ptr(vaultBase(v)), KeyName: to.Ptr("dis"), KeyVersion: to.Ptr(version)}},
		}, nil)
		expectSDKError(t, err, http.StatusBadRequest, "KeyDisabled")
		expectKey(t, k.clusterKey(t, "rg-rot", "cluster-rot"), before["keyVaultUri"].(string), before["keyName"].(string), before["keyVersion"].(string))
		// A disabled key refuses cryptographic operations to its owner too.
		alg := azkeys.EncryptionAlgorithmRSAOAEP256
		_, err = keys.WrapKey(ctx, "dis", version, azkeys.KeyOperationParameters{Algorithm: &alg, Value: []byte("0123456789abcdef")}, nil)
		expectKVError(t, err, http.StatusForbidden, "Forbidden", "disabled")

		setEnabled(t, keys, "dis", version, true)
		expect(t, k.setClusterKey("rg-rot", "cluster-rot", body), http.StatusOK, "")
		expectKey(t, k.clusterKey(t, "rg-rot", "cluster-rot"), vaultBase(v), "dis", version)

		// Disabling the key the cluster uses (the seed's revocation) is the
		// customer's right: the vault allows it, the cluster keeps its
		// setting.
		setEnabled(t, keys, "dis", version, false)
		expectKey(t, k.clusterKey(t, "rg-rot", "cluster-rot"), vaultBase(v), "dis", version)
		setEnabled(t, keys, "dis", version, true)
		roundTrip(t, keys, "dis", version)
	})
}

// TestKeyVaultKeySoftDelete: keys are soft-deleted, can be read and
// recovered while deleted, and purge is refused under purge protection.
func TestKeyVaultKeySoftDelete(t *testing.T) {
	t.Parallel()
	k := setupKV(t, options{}, "rg-ksd")
	ctx := context.Background()

	t.Run("purge protection", func(t *testing.T) {
		v := k.createVault(t, "rg-ksd", "kv-ksd-pp", vaultSpec{purgeProtection: true})
		keys := k.keys(t, *v.Properties.VaultURI, k.cred)
		version := importKey(t, keys, "k", nil)
		before := time.Now()
		del, err := keys.DeleteKey(ctx, "k", nil)
		if err != nil {
			t.Fatalf("DeleteKey: %v", err)
		}
		if del.RecoveryID == nil || !strings.HasSuffix(*del.RecoveryID, "/deletedkeys/k") || del.Key.KID.Version() != version {
			t.Fatalf("deleted key = recoveryId %v kid %v", del.RecoveryID, del.Key.KID)
		}
		if del.ScheduledPurgeDate == nil || del.ScheduledPurgeDate.Sub(before) < 7*24*time.Hour-time.Minute || del.ScheduledPurgeDate.Sub(before) > 7*24*time.Hour+time.Minute {
			t.Fatalf("scheduledPurgeDate = %v, want 7 days after %v", del.ScheduledPurgeDate, before)
		}

		_, err = keys.GetKey(ctx, "k", "", nil)
		expectKVError(t, err, http.StatusNotFound, "KeyNotFound", "")
		got, err := keys.GetDeletedKey(ctx, "k", nil)
		if err != nil {
			t.Fatalf("GetDeletedKey: %v", err)
		}
		if got.Key.KID.Version() != version || *got.Attributes.RecoveryLevel != "CustomizedRecoverable" {
			t.Fatalf("deleted key = %s, %s", *got.Key.KID, *got.Attributes.RecoveryLevel)
		}
		listed := false
		for pager := keys.NewListDeletedKeyPropertiesPager(nil); pager.More(); {
			page, err := pager.NextPage(ctx)
			if err != nil {
				t.Fatalf("list deleted keys: %v", err)
			}
			for _, d := range page.Value {
				listed = listed || d.KID.Name() == "k"
			}
		}
		if !listed {
			t.Fatal("the deleted key is not listed")
		}
		// The name is held by the deleted key.
		_, err = keys.CreateKey(ctx, "k", azkeys.CreateKeyParameters{Kty: to.Ptr(azkeys.KeyTypeRSA)}, nil)
		expectKVError(t, err, http.StatusConflict, "Conflict", "deleted")

		rec, err := keys.RecoverDeletedKey(ctx, "k", nil)
		if err != nil {
			t.Fatalf("RecoverDeletedKey: %v", err)
		}
		if rec.Key.KID.Version() != version {
			t.Fatalf("recovered %s", *rec.Key.KID)
		}
		roundTrip(t, keys, "k", version)

		if _, err := keys.DeleteKey(ctx, "k", nil); err != nil {
			t.Fatalf("DeleteKey again: %v", err)
		}
		_, err = keys.PurgeDeletedKey(ctx, "k", nil)
		expectKVError(t, err, http.StatusForbidden, "Forbidden", "purge protection")
		if _, err := keys.GetDeletedKey(ctx, "k", nil); err != nil {
			t.Fatalf("the refused purge removed the key: %v", err)
		}
	})

	t.Run("without purge protection", func(t *testing.T) {
		v := k.createVault(t, "rg-ksd", "kv-ksd-np", vaultSpec{})
		keys := k.keys(t, *v.Properties.VaultURI, k.cred)
		old := importKey(t, keys, "k", nil)
		del, err := keys.DeleteKey(ctx, "k", nil)
		if err != nil {
			t.Fatalf("DeleteKey: %v", err)
		}
		if *del.Attributes.RecoveryLevel != "CustomizedRecoverable+Purgeable" {
			t.Fatalf("recovery level = %s", *del.Attributes.RecoveryLevel)
		}
		if _, err := keys.PurgeDeletedKey(ctx, "k", nil); err != nil {
			t.Fatalf("PurgeDeletedKey: %v", err)
		}
		_, err = keys.GetDeletedKey(ctx, "k", nil)
		expectKVError(t, err, http.StatusNotFound, "KeyNotFound", "")
		_, err = keys.RecoverDeletedKey(ctx, "k", nil)
		expectKVError(t, err, http.StatusNotFound, "KeyNotFound", "")
		// The name is free again, for a new key.
		fresh := importKey(t, keys, "k", nil)
		_, err = keys.GetKey(ctx, "k", old, nil)
		expectKVError(t, err, http.StatusNotFound, "KeyNotFound", "")
		roundTrip(t, keys, "k", fresh)
	})

	t.Run("without soft delete", func(t *testing.T) {
		v := k.createVault(t, "rg-ksd", "kv-ksd-nosd", vaultSpec{noSoftDelete: true})
		keys := k.keys(t, *v.Properties.VaultURI, k.cred)
		importKey(t, keys, "k", nil)
		if _, err := keys.DeleteKey(ctx, "k", nil); err != nil {
			t.Fatalf("DeleteKey: %v", err)
		}
		_, err := keys.GetDeletedKey(ctx, "k", nil)
		expectKVError(t, err, http.StatusNotFound, "KeyNotFound", "")
		_, err = keys.GetKey(ctx, "k", "", nil)
		expectKVError(t, err, http.StatusNotFound, "KeyNotFound", "")
	})
}

// TestKeyVaultVaultSoftDelete: vaults are soft-deleted with their keys,
// listed and read as deleted vaults, keep their name reserved, are
// recovered with createMode recover, and are purged only without purge
// protection.
func TestKeyVaultVaultSoftDelete(t *testing.T) {
	t.Parallel()
	k := setupKV(t, options{}, "rg-vsd", "rg-vsd2")
	ctx := context.Background()

	// Purge protection: delete, read, list, purge refused, name reserved,
	// recover with the keys.
	pp := k.createVault(t, "rg-vsd", "kv-vsd-pp", vaultSpec{purgeProtection: true, tags: map[string]*string{"team": to.Ptr("sec")}})
	keys := k.keys(t, *pp.Properties.VaultURI, k.cred)
	version := importKey(t, keys, "cmk", nil)
	before := time.Now().Add(-time.Second)
	if _, err := k.vaults.Delete(ctx, "rg-vsd", "kv-vsd-pp", nil); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	_, err := k.vaults.Get(ctx, "rg-vsd", "kv-vsd-pp", nil)
	expectSDKError(t, err, http.StatusNotFound, "")
	_, err = keys.GetKey(ctx, "cmk", version, nil)
	expectSDKError(t, err, http.StatusNotFound, "")
	for pager := k.vaults.NewListBySubscriptionPager(nil); pager.More(); {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatalf("ListBySubscription: %v", err)
		}
		for _, lv := range page.Value {
			if *lv.Name == "kv-vsd-pp" {
				t.Fatal("a deleted vault is listed among live vaults")
			}
		}
	}
	_, err = k.vaults.Update(ctx, "rg-vsd", "kv-vsd-pp", armkeyvault.VaultPatchParameters{Tags: map[string]*string{"a": to.Ptr("b")}}, nil)
	expectSDKError(t, err, http.StatusNotFound, "")
	_, err = k.vaults.UpdateAccessPolicy(ctx, "rg-vsd", "kv-vsd-pp", armkeyvault.AccessPolicyUpdateKindAdd,
		armkeyvault.VaultAccessPolicyParameters{Properties: &armkeyvault.VaultAccessPolicyProperties{
			AccessPolicies: []*armkeyvault.AccessPolicyEntry{k.policy(k.oid, armkeyvault.KeyPermissionsGet)}}}, nil)
	expectSDKError(t, err, http.StatusNotFound, "")

	d, err := k.vaults.GetDeleted(ctx, "kv-vsd-pp", "eastus", nil)
	if err != nil {
		t.Fatalf("GetDeleted: %v", err)
	}
	p := d.Properties
	if *d.Name != "kv-vsd-pp" || !strings.EqualFold(*p.VaultID, *pp.ID) || *p.Location != "eastus" || !*p.PurgeProtectionEnabled ||
		p.DeletionDate.Before(before) || p.ScheduledPurgeDate.Sub(*p.DeletionDate) != 7*24*time.Hour || *p.Tags["team"] != "sec" {
		t.Fatalf("deleted vault = %s %+v", *d.ID, p)
	}
	listed := 0
	for pager := k.vaults.NewListDeletedPager(nil); pager.More(); {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatalf("list deleted: %v", err)
		}
		for _, dv := range page.Value {
			if *dv.Name == "kv-vsd-pp" {
				listed++
			}
		}
	}
	if listed != 1 {
		t.Fatalf("deleted vault listed %d times", listed)
	}

	_, err = k.vaults.BeginPurgeDeleted(ctx, "kv-vsd-pp", "eastus", nil)
	expectSDKError(t, err, http.StatusConflict, "")
	if !strings.Contains(err.Error(), "purge protection") {
		t.Fatalf("purge refusal does not name purge protection: %v", err)
	}
	if _, err := k.vaults.GetDeleted(ctx, "kv-vsd-pp", "eastus", nil); err != nil {
		t.Fatalf("the refused purge removed the vault: %v", err)
	}

	// The name stays reserved while deleted, in any group.
	for _, rg := range []string{"rg-vsd", "rg-vsd2"} {
		_, err = k.beginVault(rg, "kv-vsd-pp", k.vaultParams(vaultSpec{purgeProtection: true}))
		expectSDKError(t, err, http.StatusConflict, "")
	}

	// Recover: the vault comes back with its settings and its keys.
	params := k.vaultParams(vaultSpec{})
	params.Properties.CreateMode = to.Ptr(armkeyvault.CreateModeRecover)
	rv, err := k.beginVault("rg-vsd", "kv-vsd-pp", params)
	if err != nil {
		t.Fatalf("recover: %v", err)
	}
	if rv.Properties.EnablePurgeProtection == nil || !*rv.Properties.EnablePurgeProtection || *rv.Properties.VaultURI != *pp.Properties.VaultURI {
		t.Fatalf("recovered vault = %+v", rv.Properties)
	}
	roundTrip(t, keys, "cmk", version)
	_, err = k.vaults.GetDeleted(ctx, "kv-vsd-pp", "eastus", nil)
	expectSDKError(t, err, http.StatusNotFound, "")
	// Recovering a live vault is refused.
	_, err = k.beginVault("rg-vsd", "kv-vsd-pp", params)
	expectSDKError(t, err, http.StatusConflict, "")

	// Without purge protection: purge destroys the vault and its keys and
	// frees the name.
	np := k.createVault(t, "rg-vsd", "kv-vsd-np", vaultSpec{})
	npKeys := k.keys(t, *np.Properties.VaultURI, k.cred)
	importKey(t, npKeys, "cmk", nil)
	if _, err := k.vaults.Delete(ctx, "rg-vsd", "kv-vsd-np", nil); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	poller, err := k.vaults.BeginPurgeDeleted(ctx, "kv-vsd-np", "eastus", nil)
	if err != nil {
		t.Fatalf("BeginPurgeDeleted: %v", err)
	}
	if _, err := poller.PollUntilDone(ctx, fastPoll); err != nil {
		t.Fatalf("purge: %v", err)
	}
	_, err = k.vaults.GetDeleted(ctx, "kv-vsd-np", "eastus", nil)
	expectSDKError(t, err, http.StatusNotFound, "")
	k.createVault(t, "rg-vsd2", "kv-vsd-np", vaultSpec{})
	_, err = npKeys.GetKey(ctx, "cmk", "", nil)
	expectSDKError(t, err, http.StatusNotFound, "KeyNotFound")

	// Without soft delete: a delete is final, keys included.
	nosd := k.createVault(t, "rg-vsd", "kv-vsd-nosd", vaultSpec{noSoftDelete: true})
	nosdKeys := k.keys(t, *nosd.Properties.VaultURI, k.cred)
	importKey(t, nosdKeys, "cmk", nil)
	if _, err := k.vaults.Delete(ctx, "rg-vsd", "kv-vsd-nosd", nil); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	_, err = k.vaults.GetDeleted(ctx, "kv-vsd-nosd", "eastus", nil)
	expectSDKError(t, err, http.StatusNotFound, "")
	k.createVault(t, "rg-vsd", "kv-vsd-nosd", vaultSpec{noSoftDelete: true})
	_, err = nosdKeys.GetKey(ctx, "cmk", "", nil)
	expectSDKError(t, err, http.StatusNotFound, "KeyNotFound")
}

// TestKeyVaultAccessDenied: Resource Manager roles do not open the data
// plane; only the vault's access policies do, permission by permission.
func TestKeyVaultAccessDenied(t *testing.T) {
	t.Parallel()
	k := setupKV(t, options{}, "rg-deny")
	ctx := context.Background()
	v := k.createVault(t, "rg-deny", "kv-deny", vaultSpec{})
	version := importKey(t, k.keys(t, *v.Properties.VaultURI, k.cred), "cmk", nil)

	cred, oid := k.newPrincipal(t, "kv-reader")
	expect(t, k.assign(t, k.tok, k.groupPath("rg-deny"), roleContributor, oid), http.StatusCreated, "")
	// The Contributor can read the vault through Resource Manager...
	contributor, err := armkeyvault.NewVaultsClient(k.boot.SubscriptionID, cred, k.armOptions())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := contributor.Get(ctx, "rg-deny", "kv-deny", nil); err != nil {
		t.Fatalf("Contributor Get vault: %v", err)
	}
	// ... but not use its keys.
	keys := k.keys(t, *v.Properties.VaultURI, cred)
	alg := azkeys.EncryptionAlgorithmRSAOAEP256
	wrap := func() error {
		_, err := keys.WrapKey(ctx, "cmk", version, azkeys.KeyOperationParameters{Algorithm: &alg, Value: []byte("0123456789abcdef")}, nil)
		return err
	}
	_, err = keys.GetKey(ctx, "cmk", "", nil)
	expectKVError(t, err, http.StatusForbidden, "Forbidden", "get")
	expectKVError(t, wrap(), http.StatusForbidden, "Forbidden", "wrapKey")

	// An access policy with get only.
	k.allow(t, "rg-deny", "kv-deny", oid, armkeyvault.KeyPermissionsGet)
	got, err := keys.GetKey(ctx, "cmk", "", nil)
	if err != nil {
		t.Fatalf("GetKey with get: %v", err)
	}
	if got.Key.KID.Version() != version {
		t.Fatalf("GetKey = %s", *got.Key.KID)
	}
	expectKVError(t, wrap(), http.StatusForbidden, "Forbidden", "wrapKey")

	// Removing the policy takes get away again.
	_, err = k.vaults.UpdateAccessPolicy(ctx, "rg-deny", "kv-deny", armkeyvault.AccessPolicyUpdateKindRemove,
		armkeyvault.VaultAccessPolicyParameters{Properties: &armkeyvault.VaultAccessPolicyProperties{
			AccessPolicies: []*armkeyvault.AccessPolicyEntry{k.policy(oid, armkeyvault.KeyPermissionsGet)},
		}}, nil)
	if err != nil {
		t.Fatalf("UpdateAccessPolicy(remove): %v", err)
	}
	_, err = keys.GetKey(ctx, "cmk", "", nil)
	expectKVError(t, err, http.StatusForbidden, "Forbidden", "get")
}

// TestKeyVaultVaultsClient drives Microsoft.KeyVault/vaults with
// armkeyvault's VaultsClient: get, the three lists, tag updates, and the
// one-way and ranged properties.
func TestKeyVaultVaultsClient(t *testing.T) {
	t.Parallel()
	k := setupKV(t, options{}, "rg-kv1", "rg-kv2")
	ctx := context.Background()
	k.createVault(t, "rg-kv1", "kv-list-a", vaultSpec{purgeProtection: true, retentionDays: 90})
	k.createVault(t, "rg-kv1", "kv-list-b", vaultSpec{sku: armkeyvault.SKUNameStandard, tags: map[string]*string{"env": to.Ptr("dev")}})
	k.createVault(t, "rg-kv2", "kv-list-c", vaultSpec{})

	got, err := k.vaults.Get(ctx, "rg-kv1", "kv-list-a", nil)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	p := got.Properties
	port := k.endpoint[strings.LastIndexByte(k.endpoint, ':')+1:]
	if *got.Name != "kv-list-a" || *got.Type != "Microsoft.KeyVault/vaults" || *got.Location != "eastus" ||
		!strings.EqualFold(*got.ID, k.groupPath("rg-kv1")+"/providers/Microsoft.KeyVault/vaults/kv-list-a") ||
		*p.VaultURI != "https://kv-list-a.vault.localhost:"+port+"/" || *p.TenantID != k.boot.TenantID ||
		*p.SKU.Name != armkeyvault.SKUNamePremium || !*p.EnableSoftDelete || *p.SoftDeleteRetentionInDays != 90 ||
		!*p.EnablePurgeProtection || len(p.AccessPolicies) != 1 || *p.AccessPolicies[0].ObjectID != k.oid {
		t.Fatalf("vault = %s %+v", *got.ID, p)
	}

	names := func(list []*armkeyvault.Vault) []string {
		var out []string
		for _, v := range list {
			out = append(out, *v.Name)
		}
		slices.Sort(out)
		return out
	}
	var inGroup, inSub, generic []string
	for pager := k.vaults.NewListByResourceGroupPager("rg-kv1", nil); pager.More(); {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatalf("ListByResourceGroup: %v", err)
		}
		inGroup = append(inGroup, names(page.Value)...)
	}
	for pager := k.vaults.NewListBySubscriptionPager(nil); pager.More(); {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatalf("ListBySubscription: %v", err)
		}
		inSub = append(inSub, names(page.Value)...)
	}
	for pager := k.vaults.NewListPager(nil); pager.More(); {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		for _, r := range page.Value {
			if *r.Type != "Microsoft.KeyVault/vaults" {
				t.Fatalf("List returned a %s", *r.Type)
			}
			generic = append(generic, *r.Name)
		}
	}
	slices.Sort(inSub)
	slices.Sort(generic)
	if want := []string{"kv-list-a", "kv-list-b"}; !slices.Equal(inGroup, want) {
		t.Fatalf("ListByResourceGroup = %v, want %v", inGroup, want)
	}
	want := []string{"kv-list-a", "kv-list-b", "kv-list-c"}
	if !slices.Equal(inSub, want) || !slices.Equal(generic, want) {
		t.Fatalf("ListBySubscription = %v, List = %v, want %v", inSub, generic, want)
	}

	// PATCH tags: the rest is kept.
	up, err := k.vaults.Update(ctx, "rg-kv1", "kv-list-b", armkeyvault.VaultPatchParameters{
		Tags: map[string]*string{"env": to.Ptr("prod"), "owner": to.Ptr("sec")}}, nil)
	if err != nil {
		t.Fatalf("Update tags: %v", err)
	}
	if len(up.Tags) != 2 || *up.Tags["env"] != "prod" || *up.Properties.SKU.Name != armkeyvault.SKUNameStandard || len(up.Properties.AccessPolicies) != 1 {
		t.Fatalf("updated vault = tags %v %+v", up.Tags, up.Properties)
	}
	again, err := k.vaults.Get(ctx, "rg-kv1", "kv-list-b", nil)
	if err != nil {
		t.Fatal(err)
	}
	if *again.Tags["owner"] != "sec" {
		t.Fatalf("tags after Update = %v", again.Tags)
	}

	// One-way switches and the fixed retention.
	patch := func(p armkeyvault.VaultPatchProperties) error {
		_, err := k.vaults.Update(ctx, "rg-kv1", "kv-list-a", armkeyvault.VaultPatchParameters{Properties: &p}, nil)
		return err
	}
	expectSDKError(t, patch(armkeyvault.VaultPatchProperties{EnablePurgeProtection: to.Ptr(false)}), http.StatusBadRequest, "")
	expectSDKError(t, patch(armkeyvault.VaultPatchProperties{EnableSoftDelete: to.Ptr(false)}), http.StatusBadRequest, "")
	expectSDKError(t, patch(armkeyvault.VaultPatchProperties{SoftDeleteRetentionInDays: to.Ptr[int32](30)}), http.StatusBadRequest, "")
	params := k.vaultParams(vaultSpec{retentionDays: 90})
	params.Properties.EnablePurgeProtection = to.Ptr(false)
	_, err = k.beginVault("rg-kv1", "kv-list-a", params)
	expectSDKError(t, err, http.StatusBadRequest, "")
	after, err := k.vaults.Get(ctx, "rg-kv1", "kv-list-a", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !*after.Properties.EnablePurgeProtection || !*after.Properties.EnableSoftDelete || *after.Properties.SoftDeleteRetentionInDays != 90 {
		t.Fatalf("refused updates changed the vault: %+v", after.Properties)
	}
	// Turning purge protection on is allowed, and then final.
	if err := patch(armkeyvault.VaultPatchProperties{}); err != nil {
		t.Fatalf("empty PATCH: %v", err)
	}
	b, err := k.vaults.Update(ctx, "rg-kv1", "kv-list-b", armkeyvault.VaultPatchParameters{
		Properties: &armkeyvault.VaultPatchProperties{EnablePurgeProtection: to.Ptr(true)}}, nil)
	if err != nil || b.Properties.EnablePurgeProtection == nil || !*b.Properties.EnablePurgeProtection {
		t.Fatalf("enable purge protection: %v", err)
	}

	// Purge protection needs soft delete; names are 3-24 letters, digits
	// and single hyphens, starting with a letter.
	_, err = k.beginVault("rg-kv2", "kv-pp-nosd", k.vaultParams(vaultSpec{noSoftDelete: true, purgeProtection: true}))
	expectSDKError(t, err, http.StatusBadRequest, "")
	for _, name := range []string{"kv", "1kv-digit-first", "kv--double", "kv-ends-with-", "kv-name-that-is-25-chars0"} {
		_, err = k.beginVault("rg-kv2", name, k.vaultParams(vaultSpec{}))
		expectSDKError(t, err, http.StatusBadRequest, "VaultNameNotValid")
	}

	// softDeleteRetentionInDays is 7 to 90.
	for _, days := range []int32{6, 91, 365} {
		_, err := k.beginVault("rg-kv2", fmt.Sprintf("kv-ret-%d", days), k.vaultParams(vaultSpec{retentionDays: days}))
		expectSDKError(t, err, http.StatusBadRequest, "")
	}
	for _, days := range []int32{7, 90} {
		v := k.createVault(t, "rg-kv2", fmt.Sprintf("kv-ret-%d", days), vaultSpec{retentionDays: days})
		if *v.Properties.SoftDeleteRetentionInDays != days {
			t.Fatalf("retention = %d, want %d", *v.Properties.SoftDeleteRetentionInDays, days)
		}
	}
}
