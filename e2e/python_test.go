package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The seed's procedure in slices through the Azure SDK for Python as Debian
// packages it (python3-azure: azure-identity 1.13, azure-mgmt-loganalytics
// 13, azure-mgmt-keyvault 10, azure-mgmt-resource 22, azure-keyvault-keys
// 4.8, azure-monitor-query 1.1), each slice a function of python/cmk.py:
// Resource Manager setup with the tenant's authority, keys at the package's
// default api-version (7.4-preview.1) and at 7.0 through the AD FS
// authority, the key on the cluster and a linked workspace's
// read-modify-write, and a LogsQueryClient given only the endpoint.
func TestPythonSDK(t *testing.T) {
	python := requireClient(t, envPython, "python3", "apt-get install python3-azure")
	e := start(t, options{})
	dir := t.TempDir()
	pythonVaultNames(t, dir)
	script, err := filepath.Abs(filepath.Join("python", "cmk.py"))
	if err != nil {
		t.Fatal(err)
	}
	slice := func(name string, input map[string]any) map[string]any {
		t.Helper()
		in, _ := json.Marshal(input)
		out := runClient(t, 3*time.Minute, clientEnv(
			"KUSTODIAN_BOOTSTRAP="+filepath.Join(e.dataDir, "bootstrap.json"),
			"KUSTODIAN_INPUT="+string(in),
			"REQUESTS_CA_BUNDLE="+e.boot.CACertFile,
			"PYTHONPATH="+dir,
			"PYTHONDONTWRITEBYTECODE=1",
		), dir, python, script, name)
		return jsonOf[map[string]any](t, out)
	}

	setup := slice("arm-setup", nil)
	if setup["feature"] != "Registered" || setup["clusterState"] != "Succeeded" || !isGUID(fmt.Sprint(setup["workspaceId"])) {
		t.Fatalf("arm-setup: %v", setup)
	}
	if want := "https://kv-py.vault.localhost" + portOf(e) + "/"; setup["vaultUri"] != want {
		t.Fatalf("vaultUri = %v, want %s", setup["vaultUri"], want)
	}

	keys := slice("keys", map[string]any{"vaultUri": setup["vaultUri"]})
	if keys["apiVersion"] != "7.4-preview.1" || keys["sameKey"] != true || keys["roundTrip"] != true ||
		keys["oldApiVersion"] != true || keys["recoveryLevel"] != "Recoverable" {
		t.Fatalf("keys: %v", keys)
	}

	withKey := slice("arm-key", map[string]any{"vaultUri": setup["vaultUri"], "version": keys["version"]})
	if withKey["keyVersion"] != keys["version"] || withKey["sku"] != "LACluster" || withKey["retention"] != float64(90) ||
		!strings.EqualFold(fmt.Sprint(withKey["clusterResourceId"]), fmt.Sprint(setup["clusterId"])) {
		t.Fatalf("arm-key: %v", withKey)
	}

	customerID := setup["workspaceId"].(string)
	now := time.Now().UTC().Format(time.RFC3339)
	expect(t, e.postLogs(t, customerID, withKey["sharedKey"].(string), "PyTest",
		fmt.Sprintf(`[{"level":"error","ts":%q},{"level":"info","ts":%q},{"level":"error","ts":%q}]`, now, now, now)),
		http.StatusOK, "")
	res := slice("query", map[string]any{"workspaceId": customerID,
		"query": "PyTest_CL | summarize n = count() by level_s | order by level_s asc"})
	if got := fmt.Sprint(res["rows"]); got != "[[error 2] [info 1]]" {
		t.Fatalf("query rows = %s: %v", got, res)
	}
}
