package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The seed's procedure in slices through the Azure SDK for JavaScript, the
// versions js/package-lock.json pins (the newest that run on Node.js 20):
// @azure/identity at the tenant's authority, @azure/arm-operationalinsights
// for the cluster, the workspace, the key, the link and a read-modify-write,
// @azure/keyvault-keys for the key and a wrap/unwrap round trip,
// @azure/monitor-query for the query. The feature, the group and the vault
// are made with raw requests (those packages are not among the four).
func TestNodeSDK(t *testing.T) {
	node := requireClient(t, envNode, "node", "apt-get install nodejs npm; cd e2e/js && npm ci")
	jsDir, err := filepath.Abs("js")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(jsDir, "node_modules", "@azure", "identity")); err != nil {
		t.Fatalf("%s is set but e2e/js has no node_modules: run npm ci in e2e/js (%v)", envNode, err)
	}
	e, tok := setup(t, options{}, "rg-js")
	slice := func(name string, input map[string]any) map[string]any {
		t.Helper()
		in, _ := json.Marshal(input)
		out := runClient(t, 3*time.Minute, clientEnv(
			"KUSTODIAN_BOOTSTRAP="+filepath.Join(e.dataDir, "bootstrap.json"),
			"KUSTODIAN_INPUT="+string(in),
			"NODE_EXTRA_CA_CERTS="+e.boot.CACertFile,
			"NODE_OPTIONS=--require "+filepath.Join(jsDir, "vault-names.cjs"),
		), jsDir, node, "cmk.mjs", name)
		return jsonOf[map[string]any](t, out)
	}

	cluster := slice("arm-cluster", nil)
	if cluster["clusterState"] != "Succeeded" || !isGUID(fmt.Sprint(cluster["principalId"])) {
		t.Fatalf("arm-cluster: %v", cluster)
	}
	v := e.newVault(t, tok, "rg-js", "kv-js", true, cluster["principalId"].(string))

	keys := slice("keys", map[string]any{"vaultUri": v.uri})
	if keys["sameKey"] != true || keys["roundTrip"] != true {
		t.Fatalf("keys: %v", keys)
	}

	withKey := slice("arm-key", map[string]any{"vaultUri": v.uri, "version": keys["version"]})
	if withKey["keyVersion"] != keys["version"] || withKey["sku"] != "LACluster" || withKey["retention"] != float64(120) ||
		!strings.EqualFold(fmt.Sprint(withKey["clusterResourceId"]), fmt.Sprint(cluster["clusterId"])) {
		t.Fatalf("arm-key: %v", withKey)
	}

	customerID := cluster["workspaceId"].(string)
	now := time.Now().UTC().Format(time.RFC3339)
	expect(t, e.postLogs(t, customerID, withKey["sharedKey"].(string), "JsTest",
		fmt.Sprintf(`[{"level":"error","ts":%q},{"level":"info","ts":%q},{"level":"error","ts":%q}]`, now, now, now)),
		http.StatusOK, "")
	res := slice("query", map[string]any{"workspaceId": customerID,
		"query": "JsTest_CL | summarize n = count() by level_s | order by level_s asc"})
	if got := fmt.Sprint(res["rows"]); got != "[[error 2] [info 1]]" {
		t.Fatalf("query rows = %s: %v", got, res)
	}
}
