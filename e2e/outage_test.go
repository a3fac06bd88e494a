package e2e

import (
	"net/http"
	"strings"
	"testing"
)

// TestOutageDrill: the operator API makes an embedded vault answer 503;
// the cluster's storage account keeps its cached key within the outage
// grace (Available), key validation reports the vault down, and ending the
// drill restores the vault. Only the operator may use the API.
func TestOutageDrill(t *testing.T) {
	t.Parallel()
	e, tok := setup(t, options{}, "rg")
	e.readyCluster(t, tok, "rg", "drill", "eastus", "LogAnalytics")
	vault := e.newVault(t, tok, "rg", "drill-kv", true, e.clusterPrincipal(t, tok, "rg", "drill"))
	v1 := e.createKey(t, vault, "cmk", 2048)
	uri := strings.TrimSuffix(vault.uri, "/")
	body := `{"identity":{"type":"SystemAssigned"},"sku":{"name":"CapacityReservation","capacity":1000},"location":"eastus",
"properties":{"keyVaultProperties":{"keyVaultUri":"` + uri + `","keyName":"cmk","keyVersion":"` + v1 + `"}}}`
	expect(t, e.do(http.MethodPut, e.clusterPath("rg", "drill")+q("2025-07-01"), tok, body), http.StatusOK, "")

	// Not the operator: refused.
	cred, _ := e.newPrincipal(t, "not-operator")
	r := e.do(http.MethodPost, "/admin/outages", e.token(cred), `{"vault":"drill-kv","duration":"5m"}`)
	expect(t, r, http.StatusForbidden, "AuthorizationFailed")
	expect(t, e.do(http.MethodGet, "/admin/outages", "", ""), http.StatusUnauthorized, "AuthenticationFailed")

	r = e.do(http.MethodPost, "/admin/outages", tok, `{"vault":"drill-kv","duration":"5m"}`)
	expect(t, r, http.StatusOK, "")
	// The data plane answers 503 in the Key Vault error shape.
	r = e.do(http.MethodGet, vault.uri+"keys/cmk?api-version=7.5", e.vaultToken(t), "")
	if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" {
		t.Fatalf("vault during the drill: %d %s", r.status, r.body)
	}
	// A new key setting cannot be validated while the vault is down.
	v2 := "0123456789abcdef0123456789abcdef"
	r = e.do(http.MethodPut, e.clusterPath("rg", "drill")+q("2025-07-01"), tok, strings.Replace(body, v1, v2, 1))
	if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "503") {
		t.Fatalf("validation during the drill: %d %s", r.status, r.body)
	}
	// The account keeps its cached key within the grace.
	r = e.do(http.MethodGet, "/admin/accounts", tok, "")
	expect(t, r, http.StatusOK, "")
	if !strings.Contains(string(r.body), `"state":"Available"`) || strings.Contains(string(r.body), "Unavailable") {
		t.Fatalf("accounts during the drill: %s", r.body)
	}
	// A forced refresh during the drill is a transient failure: still
	// Available within the grace.
	r = e.do(http.MethodPost, "/admin/accounts/refresh", tok, "")
	expect(t, r, http.StatusOK, "")
	if strings.Contains(string(r.body), "Unavailable") || strings.Contains(string(r.body), "Revoked") {
		t.Fatalf("accounts after a refresh during the drill: %s", r.body)
	}
	expect(t, e.do(http.MethodDelete, "/admin/outages/drill-kv", tok, ""), http.StatusOK, "")
	r = e.do(http.MethodGet, vault.uri+"keys/cmk?api-version=7.5", e.vaultToken(t), "")
	expect(t, r, http.StatusOK, "")
}
