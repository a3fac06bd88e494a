package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// accountState returns the key state of a cluster's storage account, as the
// operator API reports it after a forced refresh.
func (e *env) accountState(t *testing.T, tok, clusterID string) string {
	t.Helper()
	r := e.do(http.MethodPost, "/admin/accounts/refresh", tok, "")
	expect(t, r, http.StatusOK, "")
	var out struct {
		Value []struct{ Account, State, Cause string }
	}
	if err := json.Unmarshal(r.body, &out); err != nil {
		t.Fatal(err)
	}
	for _, a := range out.Value {
		if a.Account == "cluster/"+strings.ToLower(clusterID) {
			return a.State
		}
	}
	t.Fatalf("no account for cluster %s in %s", clusterID, r.body)
	return ""
}

// TestRevocationThroughTheVault: disabling the key, removing the cluster's
// access policy, deleting the key or a full PUT without KeyVaultProperties
// revoke the cluster's storage account; restoring access makes it
// Available again. Each through the real vault and the refresh the server
// runs every interval.
func TestRevocationThroughTheVault(t *testing.T) {
	t.Parallel()
	e, tok := setup(t, options{}, "rg")
	c := e.readyCluster(t, tok, "rg", "revoked", "eastus", "LogAnalytics")
	clusterID := str(t, c, "properties", "clusterId")
	principal := e.clusterPrincipal(t, tok, "rg", "revoked")
	vault := e.newVault(t, tok, "rg", "revoke-kv", true, principal)
	v1 := e.createKey(t, vault, "cmk", 2048)
	uri := strings.TrimSuffix(vault.uri, "/")
	withKey := `{"identity":{"type":"SystemAssigned"},"sku":{"name":"CapacityReservation","capacity":1000},"location":"eastus",
"properties":{"keyVaultProperties":{"keyVaultUri":"` + uri + `","keyName":"cmk","keyVersion":"` + v1 + `"}}}`
	path := e.clusterPath("rg", "revoked")
	expect(t, e.do(http.MethodPut, path+q("2025-07-01"), tok, withKey), http.StatusOK, "")
	if st := e.accountState(t, tok, clusterID); st != "Available" {
		t.Fatalf("state with the key set = %s", st)
	}

	// Disable, then enable the key.
	e.setKeyEnabled(t, vault, "cmk", v1, false)
	if st := e.accountState(t, tok, clusterID); st != "Revoked" {
		t.Fatalf("state with the key disabled = %s", st)
	}
	e.setKeyEnabled(t, vault, "cmk", v1, true)
	if st := e.accountState(t, tok, clusterID); st != "Available" {
		t.Fatalf("state with the key enabled again = %s", st)
	}

	// Remove, then restore the cluster identity's access policy.
	body := `{"properties":{"accessPolicies":[{"tenantId":"` + e.boot.TenantID + `","objectId":"` + principal + `","permissions":{"keys":[]}}]}}`
	expect(t, e.do(http.MethodPut, "/subscriptions/"+e.boot.SubscriptionID+"/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/revoke-kv/accessPolicies/remove"+q("2024-11-01"), tok, body), http.StatusOK, "")
	if st := e.accountState(t, tok, clusterID); st != "Revoked" {
		t.Fatalf("state without the access policy = %s", st)
	}
	e.grant(t, tok, "rg", vault, principal)
	if st := e.accountState(t, tok, clusterID); st != "Available" {
		t.Fatalf("state with the access policy back = %s", st)
	}

	// The seed's warning: a full PUT without KeyVaultProperties revokes at once.
	expect(t, e.do(http.MethodPut, path+q("2019-08-01-preview"), tok, clusterBody("eastus", "LogAnalytics", 1000)), http.StatusOK, "")
	if st := e.accountState(t, tok, clusterID); st != "Revoked" {
		t.Fatalf("state after a full PUT without the key = %s", st)
	}
	expect(t, e.do(http.MethodPut, path+q("2025-07-01"), tok, withKey), http.StatusOK, "")
	if st := e.accountState(t, tok, clusterID); st != "Available" {
		t.Fatalf("state with the key set again = %s", st)
	}

	// Deleting the key (soft delete) revokes; recovering it restores.
	expect(t, e.do(http.MethodDelete, vault.uri+"keys/cmk?api-version=7.5", e.vaultToken(t), ""), http.StatusOK, "")
	if st := e.accountState(t, tok, clusterID); st != "Revoked" {
		t.Fatalf("state with the key deleted = %s", st)
	}
	expect(t, e.do(http.MethodPost, vault.uri+"deletedkeys/cmk/recover?api-version=7.5", e.vaultToken(t), ""), http.StatusOK, "")
	if st := e.accountState(t, tok, clusterID); st != "Available" {
		t.Fatalf("state with the key recovered = %s", st)
	}
}
