package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"
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

// TestOutageBufferUnderPlatformKey is the seed's live-site outage: past the
// grace the cluster's account is Unavailable, queries fail, ingestion is
// kept under the platform key; when the vault returns, the buffer is
// re-encrypted under the customer's key, its platform copy destroyed, and
// every row is queryable. With --outage-buffering reject, ingestion is
// refused (503) instead.
func TestOutageBufferUnderPlatformKey(t *testing.T) {
	for _, mode := range []string{"platform", "reject"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			e, tok := setup(t, options{keyOutageGrace: time.Millisecond, outageBuffering: mode}, "rg")
			c := e.readyCluster(t, tok, "rg", "buf-cluster", "eastus", "LogAnalytics")
			clusterID := str(t, c, "properties", "clusterId")
			vault := e.newVault(t, tok, "rg", "buf-kv-"+mode, true, e.clusterPrincipal(t, tok, "rg", "buf-cluster"))
			v1 := e.createKey(t, vault, "cmk", 2048)
			body := `{"identity":{"type":"SystemAssigned"},"sku":{"name":"CapacityReservation","capacity":1000},"location":"eastus",
"properties":{"keyVaultProperties":{"keyVaultUri":"` + strings.TrimSuffix(vault.uri, "/") + `","keyName":"cmk","keyVersion":"` + v1 + `"}}}`
			expect(t, e.do(http.MethodPut, e.clusterPath("rg", "buf-cluster")+q("2025-07-01"), tok, body), http.StatusOK, "")
			e.mkWorkspace(t, tok, "rg", "ws-buf", "eastus")
			lr := e.link(tok, "rg", "ws-buf", e.clusterPath("rg", "buf-cluster"))
			if lr.status != http.StatusOK && lr.status != http.StatusAccepted {
				t.Fatalf("link: %d %s", lr.status, lr.body)
			}
			ws, key := e.workspaceKeys(t, tok, "rg", "ws-buf")
			expect(t, e.postLogs(t, ws, key, "Buf", `[{"a":1},{"a":2}]`), http.StatusOK, "")

			expect(t, e.do(http.MethodPost, "/admin/outages", tok, `{"vault":"buf-kv-`+mode+`","duration":"5m"}`), http.StatusOK, "")
			if st := e.accountState(t, tok, clusterID); st != "Unavailable" {
				t.Fatalf("state past the grace = %s", st)
			}
			logs := e.logsClient(t)
			if _, err := e.count(t, logs, ws, "Buf_CL | count"); err == nil {
				t.Fatal("a query succeeded while the key is unavailable")
			}
			r := e.postLogs(t, ws, key, "Buf", `[{"a":3},{"a":4},{"a":5}]`)
			if mode == "reject" {
				expect(t, r, http.StatusServiceUnavailable, "")
			} else {
				expect(t, r, http.StatusOK, "")
			}

			expect(t, e.do(http.MethodDelete, "/admin/outages/buf-kv-"+mode, tok, ""), http.StatusOK, "")
			if st := e.accountState(t, tok, clusterID); st != "Available" {
				t.Fatalf("state after the outage = %s", st)
			}
			want := int64(5)
			if mode == "reject" {
				want = 2
			}
			if n, err := e.count(t, logs, ws, "Buf_CL | count"); err != nil || n != want {
				t.Fatalf("count after the outage = %d, %v (want %d)", n, err, want)
			}
			// The platform copy is gone.
			r = e.do(http.MethodGet, "/admin/accounts", tok, "")
			if strings.Contains(string(r.body), "outage/") {
				t.Fatalf("the outage buffer survived the drain: %s", r.body)
			}
		})
	}
}
