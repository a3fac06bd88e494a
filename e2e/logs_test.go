package e2e

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/monitor/query/azlogs"
)

// workspaceKeys returns a workspace's customer id and primary shared key.
func (e *env) workspaceKeys(t testing.TB, tok, rg, name string) (string, string) {
	t.Helper()
	r := e.do(http.MethodGet, e.workspacePath(rg, name)+q("2025-07-01"), tok, "")
	expect(t, r, http.StatusOK, "")
	id := str(t, r.json(t), "properties", "customerId")
	r = e.do(http.MethodPost, e.workspacePath(rg, name)+"/sharedKeys"+q("2025-07-01"), tok, "")
	expect(t, r, http.StatusOK, "")
	return id, r.json(t)["primarySharedKey"].(string)
}

// postLogs sends records through the HTTP Data Collector API, signed as
// Azure's samples sign them.
func (e *env) postLogs(t testing.TB, customerID, key, logType, body string) response {
	t.Helper()
	r, err := e.postLogsRaw(customerID, key, logType, body)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// postLogsErr is postLogs for callers that expect the server to vanish.
func (e *env) postLogsErr(customerID, key, logType, body string) (int, error) {
	r, err := e.postLogsRaw(customerID, key, logType, body)
	return r.status, err
}

func (e *env) postLogsRaw(customerID, key, logType, body string) (response, error) {
	date := time.Now().UTC().Format(http.TimeFormat)
	k, _ := base64.StdEncoding.DecodeString(key)
	mac := hmac.New(sha256.New, k)
	mac.Write([]byte("POST\n" + strconv.Itoa(len(body)) + "\napplication/json\nx-ms-date:" + date + "\n/api/logs"))
	req, err := http.NewRequest(http.MethodPost, e.endpoint+"/api/logs?api-version=2016-04-01", strings.NewReader(body))
	if err != nil {
		return response{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Log-Type", logType)
	req.Header.Set("x-ms-date", date)
	req.Header.Set("time-generated-field", "ts")
	req.Header.Set("Authorization", "SharedKey "+customerID+":"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	resp, err := e.client.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, err
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// logsClient is the official query client configured for this server.
func (e *env) logsClient(t testing.TB) *azlogs.Client {
	t.Helper()
	c, err := azlogs.NewClient(e.cred, &azlogs.ClientOptions{ClientOptions: azcore.ClientOptions{
		Cloud: cloud.Configuration{
			ActiveDirectoryAuthorityHost: e.boot.AuthorityHost,
			Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
				azlogs.ServiceName: {Audience: e.boot.QueryAudience, Endpoint: e.endpoint + "/v1"},
			},
		},
		Transport: e.client,
		// Tests expect 503s: no waiting out the client's retries.
		Retry: policy.RetryOptions{MaxRetries: -1},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (e *env) count(t testing.TB, c *azlogs.Client, customerID, kql string) (int64, error) {
	t.Helper()
	resp, err := c.QueryWorkspace(context.Background(), customerID, azlogs.QueryBody{Query: &kql}, nil)
	if err != nil {
		return 0, err
	}
	if len(resp.Tables) != 1 || len(resp.Tables[0].Rows) != 1 {
		t.Fatalf("count answer = %+v", resp.Tables)
	}
	return int64(resp.Tables[0].Rows[0][0].(float64)), nil
}

// TestDataBeforeAndAfterCMK is the seed's data lifecycle: data sent before
// the workspace is linked stays under the platform key, data after goes to
// the cluster under the customer's key, queries span both; revoking the key
// stops ingestion (403, the sender keeps its data) and queries; restoring
// it brings everything back.
func TestDataBeforeAndAfterCMK(t *testing.T) {
	t.Parallel()
	e, tok := setup(t, options{}, "rg")
	e.mkWorkspace(t, tok, "rg", "ws-data", "eastus")
	ws, key := e.workspaceKeys(t, tok, "rg", "ws-data")
	logs := e.logsClient(t)
	now := time.Now().UTC()
	rec := func(i int, level string) string {
		return `{"ts":"` + now.Add(-time.Duration(i)*time.Minute).Format(time.RFC3339) + `","level":"` + level + `","n":` + strconv.Itoa(i) + `}`
	}

	r := e.postLogs(t, ws, key, "MyApp", "["+rec(1, "info")+","+rec(2, "error")+","+rec(3, "info")+"]")
	expect(t, r, http.StatusOK, "")
	if n, err := e.count(t, logs, ws, "MyApp_CL | count"); err != nil || n != 3 {
		t.Fatalf("count before CMK = %d, %v", n, err)
	}

	// CMK: cluster, key, link.
	c := e.readyCluster(t, tok, "rg", "data-cluster", "eastus", "LogAnalytics")
	clusterID := str(t, c, "properties", "clusterId")
	vault := e.newVault(t, tok, "rg", "data-kv", true, e.clusterPrincipal(t, tok, "rg", "data-cluster"))
	v1 := e.createKey(t, vault, "cmk", 2048)
	body := `{"identity":{"type":"SystemAssigned"},"sku":{"name":"CapacityReservation","capacity":1000},"location":"eastus",
"properties":{"keyVaultProperties":{"keyVaultUri":"` + strings.TrimSuffix(vault.uri, "/") + `","keyName":"cmk","keyVersion":"` + v1 + `"}}}`
	expect(t, e.do(http.MethodPut, e.clusterPath("rg", "data-cluster")+q("2025-07-01"), tok, body), http.StatusOK, "")
	lr := e.link(tok, "rg", "ws-data", e.clusterPath("rg", "data-cluster"))
	if lr.status != http.StatusOK && lr.status != http.StatusAccepted {
		t.Fatalf("link: %d %s", lr.status, lr.body)
	}

	expect(t, e.postLogs(t, ws, key, "MyApp", "["+rec(4, "error")+","+rec(5, "warn")+"]"), http.StatusOK, "")
	if n, err := e.count(t, logs, ws, "MyApp_CL | count"); err != nil || n != 5 {
		t.Fatalf("count across both accounts = %d, %v", n, err)
	}
	if n, err := e.count(t, logs, ws, "MyApp_CL | where level_s == 'error' | count"); err != nil || n != 2 {
		t.Fatalf("filtered count = %d, %v", n, err)
	}

	// Revoke: disable the key.
	e.setKeyEnabled(t, vault, "cmk", v1, false)
	if st := e.accountState(t, tok, clusterID); st != "Revoked" {
		t.Fatalf("state = %s", st)
	}
	r = e.postLogs(t, ws, key, "MyApp", "["+rec(6, "info")+"]")
	if r.status != http.StatusForbidden || !strings.Contains(string(r.body), "CustomerManagedKeyRevoked") {
		t.Fatalf("ingestion while revoked: %d %s", r.status, r.body)
	}
	_, err := e.count(t, logs, ws, "MyApp_CL | count")
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.StatusCode != http.StatusForbidden || re.ErrorCode != "CustomerManagedKeyRevoked" {
		t.Fatalf("query while revoked: %v", err)
	}

	// Restore.
	e.setKeyEnabled(t, vault, "cmk", v1, true)
	if st := e.accountState(t, tok, clusterID); st != "Available" {
		t.Fatalf("state after restore = %s", st)
	}
	expect(t, e.postLogs(t, ws, key, "MyApp", "["+rec(6, "info")+"]"), http.StatusOK, "")
	if n, err := e.count(t, logs, ws, "MyApp_CL | count"); err != nil || n != 6 {
		t.Fatalf("count after restore = %d, %v", n, err)
	}
}

// TestDataSurvivesRestartAndStaysLockedWhileRevoked: acknowledged data is
// there after a restart (replayed from the encrypted WAL or read from
// segments); a restart while the customer key is revoked does not read the
// cluster's data, and restoring the key brings it back intact.
func TestDataSurvivesRestartAndStaysLockedWhileRevoked(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	e1, tok := setup(t, options{dataDir: dir}, "rg")
	c := e1.readyCluster(t, tok, "rg", "restart-cluster", "eastus", "LogAnalytics")
	clusterID := str(t, c, "properties", "clusterId")
	vault := e1.newVault(t, tok, "rg", "restart-kv", true, e1.clusterPrincipal(t, tok, "rg", "restart-cluster"))
	v1 := e1.createKey(t, vault, "cmk", 2048)
	body := `{"identity":{"type":"SystemAssigned"},"sku":{"name":"CapacityReservation","capacity":1000},"location":"eastus",
"properties":{"keyVaultProperties":{"keyVaultUri":"` + strings.TrimSuffix(vault.uri, "/") + `","keyName":"cmk","keyVersion":"` + v1 + `"}}}`
	expect(t, e1.do(http.MethodPut, e1.clusterPath("rg", "restart-cluster")+q("2025-07-01"), tok, body), http.StatusOK, "")
	e1.mkWorkspace(t, tok, "rg", "ws-restart", "eastus")
	lr := e1.link(tok, "rg", "ws-restart", e1.clusterPath("rg", "restart-cluster"))
	if lr.status != http.StatusOK && lr.status != http.StatusAccepted {
		t.Fatalf("link: %d %s", lr.status, lr.body)
	}
	ws, key := e1.workspaceKeys(t, tok, "rg", "ws-restart")
	var recs []string
	for i := 0; i < 50; i++ {
		recs = append(recs, `{"ts":"`+time.Now().UTC().Add(-time.Duration(i)*time.Second).Format(time.RFC3339)+`","i":`+strconv.Itoa(i)+`}`)
	}
	expect(t, e1.postLogs(t, ws, key, "Durable", "["+strings.Join(recs, ",")+"]"), http.StatusOK, "")
	listen := strings.TrimPrefix(e1.endpoint, "https://")
	e1.stop()

	e2 := start(t, options{dataDir: dir, listen: listen})
	tok = e2.token(e2.cred)
	if n, err := e2.count(t, e2.logsClient(t), ws, "Durable_CL | count"); err != nil || n != 50 {
		t.Fatalf("count after restart = %d, %v", n, err)
	}
	// Revoke, restart while revoked: nothing is readable.
	e2.setKeyEnabled(t, vault, "cmk", v1, false)
	if st := e2.accountState(t, tok, clusterID); st != "Revoked" {
		t.Fatalf("state = %s", st)
	}
	e2.stop()
	e3 := start(t, options{dataDir: dir, listen: listen})
	tok = e3.token(e3.cred)
	if _, err := e3.count(t, e3.logsClient(t), ws, "Durable_CL | count"); err == nil {
		t.Fatal("a server restarted while the key is revoked answered a query")
	}
	expect(t, e3.postLogs(t, ws, key, "Durable", `{"i":99}`), http.StatusForbidden, "")
	e3.setKeyEnabled(t, vault, "cmk", v1, true)
	if st := e3.accountState(t, tok, clusterID); st != "Available" {
		t.Fatalf("state after restore = %s", st)
	}
	// The engine retries accounts it could not load at the next refresh.
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, err := e3.count(t, e3.logsClient(t), ws, "Durable_CL | count")
		if err == nil && n == 50 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("count after restoring the key = %d, %v", n, err)
		}
		e3.do(http.MethodPost, "/admin/accounts/refresh", tok, "")
		time.Sleep(100 * time.Millisecond)
	}
}

// dataBytes sums the sizes of the storage engine's files (WAL and
// segments) under a data directory.
func dataBytes(t testing.TB, dir string) int64 {
	t.Helper()
	var n int64
	err := filepath.Walk(filepath.Join(dir, "data"), func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if !fi.IsDir() {
			n += fi.Size()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestRotationRewrapsWithoutRewritingData: a new key version on the cluster
// rewraps the AEK; not one byte of stored data is written; afterwards the
// old version can be disabled and all data stays readable.
func TestRotationRewrapsWithoutRewritingData(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	e, tok := setup(t, options{dataDir: dir}, "rg")
	e.readyCluster(t, tok, "rg", "rot-cluster", "eastus", "LogAnalytics")
	vault := e.newVault(t, tok, "rg", "rot-kv", true, e.clusterPrincipal(t, tok, "rg", "rot-cluster"))
	v1 := e.createKey(t, vault, "cmk", 2048)
	uri := strings.TrimSuffix(vault.uri, "/")
	withKey := func(v string) string {
		return `{"identity":{"type":"SystemAssigned"},"sku":{"name":"CapacityReservation","capacity":1000},"location":"eastus",
"properties":{"keyVaultProperties":{"keyVaultUri":"` + uri + `","keyName":"cmk","keyVersion":"` + v + `"}}}`
	}
	expect(t, e.do(http.MethodPut, e.clusterPath("rg", "rot-cluster")+q("2025-07-01"), tok, withKey(v1)), http.StatusOK, "")
	e.mkWorkspace(t, tok, "rg", "ws-rot", "eastus")
	lr := e.link(tok, "rg", "ws-rot", e.clusterPath("rg", "rot-cluster"))
	if lr.status != http.StatusOK && lr.status != http.StatusAccepted {
		t.Fatalf("link: %d %s", lr.status, lr.body)
	}
	ws, key := e.workspaceKeys(t, tok, "rg", "ws-rot")
	expect(t, e.postLogs(t, ws, key, "Rot", `[{"a":"x"},{"a":"y"},{"a":"z"}]`), http.StatusOK, "")
	before := dataBytes(t, dir)

	v2 := e.createKey(t, vault, "cmk", 2048)
	expect(t, e.do(http.MethodPut, e.clusterPath("rg", "rot-cluster")+q("2025-07-01"), tok, withKey(v2)), http.StatusOK, "")
	if after := dataBytes(t, dir); after != before {
		t.Fatalf("rotation wrote %d bytes of data (before %d, after %d)", after-before, before, after)
	}
	e.setKeyEnabled(t, vault, "cmk", v1, false)
	if n, err := e.count(t, e.logsClient(t), ws, "Rot_CL | count"); err != nil || n != 3 {
		t.Fatalf("count after rotation with the old version disabled = %d, %v", n, err)
	}
	// The refresh unwraps with the new version only: still Available.
	r := e.do(http.MethodPost, "/admin/accounts/refresh", tok, "")
	if strings.Contains(string(r.body), "Revoked") {
		t.Fatalf("accounts after rotation: %s", r.body)
	}
	expect(t, e.postLogs(t, ws, key, "Rot", `{"a":"w"}`), http.StatusOK, "")
	if n, err := e.count(t, e.logsClient(t), ws, "Rot_CL | count"); err != nil || n != 4 {
		t.Fatalf("count after more data = %d, %v", n, err)
	}
}

// TestPurgeShredsKeysAndData: a workspace deleted with force=true loses its
// data; a cluster purged after its soft-delete retention loses its storage
// account's keys and files (crypto-shredding).
func TestPurgeShredsKeysAndData(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	e, tok := setup(t, options{dataDir: dir, clusterRetention: time.Second, purgeInterval: 100 * time.Millisecond}, "rg")
	c := e.readyCluster(t, tok, "rg", "shred-cluster", "eastus", "LogAnalytics")
	clusterID := str(t, c, "properties", "clusterId")
	vault := e.newVault(t, tok, "rg", "shred-kv", true, e.clusterPrincipal(t, tok, "rg", "shred-cluster"))
	v1 := e.createKey(t, vault, "cmk", 2048)
	body := `{"identity":{"type":"SystemAssigned"},"sku":{"name":"CapacityReservation","capacity":1000},"location":"eastus",
"properties":{"keyVaultProperties":{"keyVaultUri":"` + strings.TrimSuffix(vault.uri, "/") + `","keyName":"cmk","keyVersion":"` + v1 + `"}}}`
	expect(t, e.do(http.MethodPut, e.clusterPath("rg", "shred-cluster")+q("2025-07-01"), tok, body), http.StatusOK, "")
	for _, name := range []string{"ws-keep", "ws-gone"} {
		e.mkWorkspace(t, tok, "rg", name, "eastus")
		lr := e.link(tok, "rg", name, e.clusterPath("rg", "shred-cluster"))
		if lr.status != http.StatusOK && lr.status != http.StatusAccepted {
			t.Fatalf("link: %d %s", lr.status, lr.body)
		}
	}
	keep, keepKey := e.workspaceKeys(t, tok, "rg", "ws-keep")
	gone, goneKey := e.workspaceKeys(t, tok, "rg", "ws-gone")
	expect(t, e.postLogs(t, keep, keepKey, "S", `[{"a":1},{"a":2}]`), http.StatusOK, "")
	expect(t, e.postLogs(t, gone, goneKey, "S", `[{"a":3}]`), http.StatusOK, "")

	// Workspace purge: its data is dropped, the other workspace's stays.
	expect(t, e.do(http.MethodDelete, e.workspacePath("rg", "ws-gone")+q("2025-07-01")+"&force=true", tok, ""), http.StatusOK, "")
	logs := e.logsClient(t)
	if n, err := e.count(t, logs, keep, "S_CL | count"); err != nil || n != 2 {
		t.Fatalf("kept workspace count = %d, %v", n, err)
	}
	if _, err := e.count(t, logs, gone, "S_CL | count"); err == nil {
		t.Fatal("a purged workspace still answers queries")
	}

	// Cluster purge: unlink, delete, wait for the retention to pass.
	for _, name := range []string{"ws-keep"} {
		expect(t, e.do(http.MethodDelete, e.workspacePath("rg", name)+"/linkedServices/cluster"+q("2025-07-01"), tok, ""), http.StatusOK, "")
	}
	expect(t, e.do(http.MethodDelete, e.clusterPath("rg", "shred-cluster")+q("2025-07-01"), tok, ""), http.StatusOK, "")
	account := "cluster/" + strings.ToLower(clusterID)
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := e.do(http.MethodGet, "/admin/accounts", tok, "")
		if !strings.Contains(string(r.body), account) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the purged cluster's account still has keys: %s", r.body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The cluster's data went with it: the kept workspace's rows were in
	// the cluster's account (written while linked).
	if n, err := e.count(t, logs, keep, "S_CL | count"); err == nil && n != 0 {
		t.Fatalf("rows of a shredded account are still readable: %d", n)
	}
}
