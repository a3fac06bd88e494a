package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// azCLI runs the Azure CLI against a test server with a configuration
// directory of its own.
type azCLI struct {
	t   *testing.T
	az  string
	env []string
}

// run runs az with args and returns its JSON output (nil for none).
func (c *azCLI) run(args ...string) []byte {
	c.t.Helper()
	return runClient(c.t, 3*time.Minute, c.env, "", c.az, append(args, "--only-show-errors", "--output", "json")...)
}

// object runs az and decodes its output as a JSON object.
func (c *azCLI) object(args ...string) map[string]any {
	c.t.Helper()
	return jsonOf[map[string]any](c.t, c.run(args...))
}

// The seed's procedure through the Azure CLI only (Debian's azure-cli 2.45
// as .ci/run installs it), as the README's "Use it with the Azure CLI"
// tells a user to: register the cloud from the Resource Manager endpoint
// alone, sign in as the bootstrap service principal, register the feature,
// create the group, the cluster, the vault with purge protection and its
// key, grant the cluster's identity, set the key on the cluster, create and
// link a workspace, update it (read-modify-write), and query it.
//
// Debian's 2.45 has no `az keyvault key` (its data-plane module is not
// packaged): the key is created with `az rest`. The records are sent with
// the Data Collector API from Go (the CLI has no command for it).
func TestAzureCLI(t *testing.T) {
	az := requireClient(t, envAzCLI, "az", "apt-get install azure-cli")
	e := start(t, options{})
	dir := t.TempDir()
	pythonVaultNames(t, dir)
	c := &azCLI{t: t, az: az, env: clientEnv(
		"AZURE_CONFIG_DIR="+filepath.Join(dir, "azure"),
		"REQUESTS_CA_BUNDLE="+e.boot.CACertFile, // trust the development CA
		"PYTHONPATH="+dir,                       // resolve *.vault.localhost
		"AZURE_CORE_COLLECT_TELEMETRY=false",
		"AZURE_CORE_NO_COLOR=true",
	)}
	port := strings.TrimPrefix(portOf(e), ":")
	endpoint := e.boot.Endpoint // ends in "/"

	// 2.45's MSAL HTTP cache cannot be read back (a circular import while
	// unpickling it): every command after the first would fail.
	c.run("config", "set", "core.use_msal_http_cache=false")
	c.run("cloud", "register", "--name", "kustodian", "--endpoint-resource-manager", endpoint)
	cloud := c.object("cloud", "show", "--name", "kustodian")
	if got := at(t, cloud, "endpoints", "activeDirectory"); got != endpoint+"adfs" {
		t.Errorf("activeDirectory = %v", got)
	}
	if got := at(t, cloud, "endpoints", "activeDirectoryResourceId"); got != "https://management.core.windows.net/" {
		t.Errorf("activeDirectoryResourceId = %v", got)
	}
	// The 2015-01-01 document the CLI reads has no place for these two,
	// which only `az keyvault` needs: the vaults' DNS suffix and a Microsoft
	// Graph resource (2.45 builds a Graph client even with --no-self-perms).
	c.run("cloud", "update", "--name", "kustodian", "--suffix-keyvault-dns", ".vault.localhost:"+port)
	c.run("cloud", "update", "--name", "kustodian", "--cloud-config", `{"endpoints":{"microsoftGraphResourceId":"https://graph.microsoft.com/"}}`)
	c.run("cloud", "set", "--name", "kustodian")
	login := jsonOf[[]map[string]any](t, c.run("login", "--service-principal", "--username", e.boot.ClientID,
		"--password="+e.boot.ClientSecret, "--tenant", e.boot.TenantID)) // "=": a secret may start with '-'
	if len(login) != 1 || login[0]["id"] != e.boot.SubscriptionID {
		t.Fatalf("login: %v", login)
	}

	// 1. Subscription "whitelisting".
	f := c.object("feature", "register", "--namespace", "Microsoft.OperationalInsights", "--name", "CustomerManagedKey")
	if st := at(t, f, "properties", "state"); st != "Registered" {
		t.Errorf("feature state = %v", st)
	}
	c.run("group", "create", "--name", "rg1", "--location", "eastus")

	// 3-4. The cluster: the CLI waits for the long-running operation.
	cl := c.object("monitor", "log-analytics", "cluster", "create", "--resource-group", "rg1", "--name", "cluster1",
		"--sku-capacity", "1000", "--location", "eastus")
	clusterID := cl["id"].(string)
	cl = c.object("monitor", "log-analytics", "cluster", "show", "--resource-group", "rg1", "--name", "cluster1")
	if cl["provisioningState"] != "Succeeded" {
		t.Fatalf("cluster: %v", cl)
	}
	principal := at(t, cl, "identity", "principalId").(string)

	// 2. The vault, with soft delete and purge protection, and a key. The
	// signed-in principal's object id is in its token (2.45 would ask
	// Microsoft Graph for it).
	tok := c.object("account", "get-access-token")
	me := e.bootstrapObjectID(t, tok["accessToken"].(string))
	kv := c.object("keyvault", "create", "--resource-group", "rg1", "--name", "kv-cli", "--location", "eastus",
		"--enable-purge-protection", "true", "--no-self-perms")
	vaultURI := at(t, kv, "properties", "vaultUri").(string)
	if vaultURI != "https://kv-cli.vault.localhost:"+port+"/" || at(t, kv, "properties", "enableSoftDelete") != true ||
		at(t, kv, "properties", "enablePurgeProtection") != true {
		t.Fatalf("vault: %v", kv)
	}
	c.run("keyvault", "set-policy", "--name", "kv-cli", "--object-id", me, "--key-permissions", "all")
	key := c.object("rest", "--method", "post", "--url", vaultURI+"keys/cmk/create?api-version=7.4",
		"--resource", "https://vault.localhost:"+port, "--body", `{"kty":"RSA","key_size":2048}`)
	kid := at(t, key, "key", "kid").(string)
	version := kid[strings.LastIndexByte(kid, '/')+1:]

	// 5. The cluster's identity gets get, wrapKey and unwrapKey; the key is
	// set on the cluster (Kustodian checks it as the cluster's identity).
	c.run("keyvault", "set-policy", "--name", "kv-cli", "--object-id", principal, "--key-permissions", "get", "wrapKey", "unwrapKey")
	cl = c.object("monitor", "log-analytics", "cluster", "update", "--resource-group", "rg1", "--name", "cluster1",
		"--key-vault-uri", strings.TrimSuffix(vaultURI, "/"), "--key-name", "cmk", "--key-version", version)
	if got := at(t, cl, "keyVaultProperties", "keyVersion"); got != version {
		t.Fatalf("keyVaultProperties: %v", cl["keyVaultProperties"])
	}

	// 6. A workspace linked to the cluster, then updated: the CLI reads it
	// (sku LACluster) and writes it back with the change.
	c.run("monitor", "log-analytics", "workspace", "create", "--resource-group", "rg1", "--workspace-name", "ws-cli", "--location", "eastus")
	c.run("monitor", "log-analytics", "workspace", "linked-service", "create", "--resource-group", "rg1",
		"--workspace-name", "ws-cli", "--name", "cluster", "--write-access-resource-id", clusterID)
	ws := c.object("monitor", "log-analytics", "workspace", "update", "--resource-group", "rg1", "--workspace-name", "ws-cli",
		"--retention-time", "60")
	if ws["retentionInDays"] != float64(60) || at(t, ws, "sku", "name") != "LACluster" ||
		!strings.EqualFold(at(t, ws, "features", "clusterResourceId").(string), clusterID) {
		t.Fatalf("workspace after update: %v", ws)
	}
	customerID := ws["customerId"].(string)
	tables := jsonOf[[]map[string]any](t, c.run("monitor", "log-analytics", "workspace", "table", "list", "--resource-group", "rg1", "--workspace-name", "ws-cli"))
	names := map[string]bool{}
	for _, tb := range tables {
		names[fmt.Sprint(tb["name"])] = true
	}
	if len(tables) < 500 || !names["Heartbeat"] || !names["SecurityEvent"] {
		t.Fatalf("workspace table list: %d tables (Heartbeat %v)", len(tables), names["Heartbeat"])
	}
	keys := c.object("monitor", "log-analytics", "workspace", "get-shared-keys", "--resource-group", "rg1", "--workspace-name", "ws-cli")

	// Records under the customer's key, then a query with `az rest` and a
	// token for the Query API's audience.
	expect(t, e.postLogs(t, customerID, keys["primarySharedKey"].(string), "CliTest",
		fmt.Sprintf(`[{"msg":"a","ts":%q},{"msg":"b","ts":%q}]`, time.Now().UTC().Format(time.RFC3339), time.Now().UTC().Format(time.RFC3339))),
		http.StatusOK, "")
	res := c.object("rest", "--method", "post", "--url", endpoint+"v1/workspaces/"+customerID+"/query",
		"--resource", "https://api.loganalytics.io", "--body", `{"query":"CliTest_CL | count","timespan":"PT1H"}`)
	rows := at(t, res["tables"].([]any)[0].(map[string]any), "rows").([]any)
	if n := rows[0].([]any)[0]; n != float64(2) {
		t.Fatalf("count = %v, want 2: %v", n, res)
	}
	if _, err := os.Stat(filepath.Join(dir, "azure", "msal_http_cache.bin")); err == nil {
		t.Error("the MSAL HTTP cache was written despite core.use_msal_http_cache=false")
	}
}
