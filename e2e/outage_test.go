package e2e

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"path/filepath"
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
// re-encrypted under the customer's key, its platform copy destroyed (keys
// and files), and every row is queryable exactly once, also after a
// restart. With --outage-buffering reject, ingestion is refused (503)
// instead.
func TestOutageBufferUnderPlatformKey(t *testing.T) {
	for _, mode := range []string{"platform", "reject"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			addr := freeAddr(t)
			opts := options{dataDir: dir, listen: addr, keyOutageGrace: time.Millisecond, outageBuffering: mode}
			e, tok := setup(t, opts, "rg")
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
				// A column the cluster account has not seen yet.
				expect(t, e.postLogs(t, ws, key, "Buf", `[{"a":6,"note":"outage"},{"a":7,"note":"outage"}]`), http.StatusOK, "")
			}
			outageDir := filepath.Join(dir, "data", "outage%2F"+strings.ToLower(clusterID))
			if mode == "platform" && len(filesUnder(t, outageDir)) == 0 {
				t.Fatal("no outage buffer on disk")
			}

			expect(t, e.do(http.MethodDelete, "/admin/outages/buf-kv-"+mode, tok, ""), http.StatusOK, "")
			if st := e.accountState(t, tok, clusterID); st != "Available" {
				t.Fatalf("state after the outage = %s", st)
			}
			want, wantNotes := int64(7), int64(2)
			if mode == "reject" {
				want, wantNotes = 2, 0
			}
			check := func() {
				t.Helper()
				logs := e.logsClient(t)
				if n, err := e.count(t, logs, ws, "Buf_CL | count"); err != nil || n != want {
					t.Fatalf("count after the outage = %d, %v (want %d)", n, err, want)
				}
				// Every row once: no row copied twice by the drain.
				for a := int64(1); a <= 7; a++ {
					wantA := int64(1)
					if a > want {
						wantA = 0
					}
					if n, err := e.count(t, logs, ws, fmt.Sprintf("Buf_CL | where a_d == %d | count", a)); err != nil || n != wantA {
						t.Fatalf("rows with a = %d: %d, %v (want %d)", a, n, err, wantA)
					}
				}
				if mode == "platform" {
					if n, err := e.count(t, logs, ws, `Buf_CL | where note_s == "outage" | count`); err != nil || n != wantNotes {
						t.Fatalf("rows with the outage's new column: %d, %v (want %d)", n, err, wantNotes)
					}
				}
				// The platform copy is gone: keys and files.
				r := e.do(http.MethodGet, "/admin/accounts", tok, "")
				if strings.Contains(string(r.body), "outage/") {
					t.Fatalf("the outage buffer survived the drain: %s", r.body)
				}
				if files := filesUnder(t, outageDir); len(files) != 0 {
					t.Fatalf("the outage buffer's files survived the drain: %v", files)
				}
			}
			check()
			// A restart finds nothing more to drain and nothing twice.
			e.stop()
			e = start(t, opts)
			check()
		})
	}
}

// filesUnder returns the files (not directories) under dir, which may not
// exist.
func filesUnder(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err == nil && !d.IsDir() {
			out = append(out, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
