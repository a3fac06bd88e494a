package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// testVault is a vault of the embedded Key Vault.
type testVault struct {
	name string
	uri  string // vaultUri, ending in "/"
}

// vaultAudience is the audience of data-plane tokens for this server.
func (e *env) vaultAudience() string {
	return "https://vault.localhost:" + e.endpoint[strings.LastIndexByte(e.endpoint, ':')+1:]
}

// vaultToken returns a data-plane token of the bootstrap principal.
func (e *env) vaultToken(t testing.TB) string {
	t.Helper()
	tk, err := e.cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{e.vaultAudience() + "/.default"}})
	if err != nil {
		t.Fatalf("vault token: %v", err)
	}
	return tk.Token
}

// newVault creates a premium vault in group rg (which must exist) with soft
// delete and, if purgeProtection, purge protection; the bootstrap principal
// gets every key permission and each of grantees gets get, wrapKey and
// unwrapKey (the seed's access policy for a cluster).
func (e *env) newVault(t testing.TB, tok, rg, name string, purgeProtection bool, grantees ...string) testVault {
	t.Helper()
	policies := []map[string]any{{"tenantId": e.boot.TenantID, "objectId": e.bootstrapObjectID(t, tok),
		"permissions": map[string]any{"keys": []string{"all"}}}}
	for _, g := range grantees {
		policies = append(policies, map[string]any{"tenantId": e.boot.TenantID, "objectId": g,
			"permissions": map[string]any{"keys": []string{"get", "wrapKey", "unwrapKey"}}})
	}
	props := map[string]any{"tenantId": e.boot.TenantID, "sku": map[string]any{"family": "A", "name": "premium"},
		"accessPolicies": policies, "enableSoftDelete": true, "softDeleteRetentionInDays": 7}
	if purgeProtection {
		props["enablePurgeProtection"] = true
	}
	body, _ := json.Marshal(map[string]any{"location": "eastus", "properties": props})
	r := e.do(http.MethodPut, "/subscriptions/"+e.boot.SubscriptionID+"/resourceGroups/"+rg+"/providers/Microsoft.KeyVault/vaults/"+name+q("2024-11-01"), tok, string(body))
	if r.status != http.StatusCreated && r.status != http.StatusOK {
		t.Fatalf("create vault %s: %d %s", name, r.status, r.body)
	}
	uri := at(t, r.json(t), "properties", "vaultUri").(string)
	return testVault{name: name, uri: uri}
}

// grant gives principal get, wrapKey and unwrapKey on a vault's keys.
func (e *env) grant(t testing.TB, tok, rg string, v testVault, principal string, perms ...string) {
	t.Helper()
	if perms == nil {
		perms = []string{"get", "wrapKey", "unwrapKey"}
	}
	body, _ := json.Marshal(map[string]any{"properties": map[string]any{"accessPolicies": []map[string]any{{
		"tenantId": e.boot.TenantID, "objectId": principal, "permissions": map[string]any{"keys": perms}}}}})
	r := e.do(http.MethodPut, "/subscriptions/"+e.boot.SubscriptionID+"/resourceGroups/"+rg+"/providers/Microsoft.KeyVault/vaults/"+v.name+"/accessPolicies/add"+q("2024-11-01"), tok, string(body))
	expect(t, r, http.StatusOK, "")
}

// createKey creates (or adds a version to) an RSA key through the data plane
// and returns the new version.
func (e *env) createKey(t testing.TB, v testVault, name string, size int) string {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"kty": "RSA", "key_size": size})
	r := e.do(http.MethodPost, v.uri+"keys/"+name+"/create?api-version=7.5", e.vaultToken(t), string(body))
	expect(t, r, http.StatusOK, "")
	kid := at(t, r.json(t), "key", "kid").(string)
	return kid[strings.LastIndexByte(kid, '/')+1:]
}

// setKeyEnabled enables or disables a key version through the data plane.
func (e *env) setKeyEnabled(t testing.TB, v testVault, name, version string, enabled bool) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"attributes": map[string]any{"enabled": enabled}})
	r := e.do(http.MethodPatch, v.uri+"keys/"+name+"/"+version+"?api-version=7.5", e.vaultToken(t), string(body))
	expect(t, r, http.StatusOK, "")
}

// bootstrapObjectID returns the object id of the bootstrap principal, read
// from its token.
func (e *env) bootstrapObjectID(t testing.TB, tok string) string {
	t.Helper()
	claims := map[string]any{}
	tamperPayload(t, tok, func(c map[string]any) { claims = c })
	oid, _ := claims["oid"].(string)
	if oid == "" {
		t.Fatal("token has no oid")
	}
	return oid
}

// clusterPrincipal returns a cluster's identity.principalId.
func (e *env) clusterPrincipal(t testing.TB, tok, rg, cluster string) string {
	t.Helper()
	r := e.do(http.MethodGet, "/subscriptions/"+e.boot.SubscriptionID+"/resourceGroups/"+rg+"/providers/Microsoft.OperationalInsights/clusters/"+cluster+q("2025-07-01"), tok, "")
	expect(t, r, http.StatusOK, "")
	return at(t, r.json(t), "identity", "principalId").(string)
}
