package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestSeedProcedureRaw replays the seed's REST requests, with its bodies
// exactly as printed (trailing commas, unquoted property names), against a
// real server: register the feature, create a cluster, poll it until it is
// provisioned, set its key identifier, create a workspace, link it and
// verify the link.
func TestSeedProcedureRaw(t *testing.T) {
	e := start(t, options{})
	tok := e.token(e.cred)
	sub := e.boot.SubscriptionID
	base := "/subscriptions/" + sub

	// 1. Subscription whitelisting: the feature registration.
	r := e.do(http.MethodPost, base+"/providers/Microsoft.Features/providers/Microsoft.OperationalInsights/features/CustomerManagedKey/register"+q("2015-12-01"), tok, "")
	expect(t, r, http.StatusOK, "")
	if st := r.json(t)["properties"].(map[string]any)["state"]; st != "Registered" {
		t.Fatalf("feature state = %v", st)
	}

	r = e.do(http.MethodPut, base+"/resourcegroups/rg-seed"+q("2021-04-01"), tok, `{"location":"East US"}`)
	if r.status != http.StatusCreated {
		t.Fatalf("create group: %d %s", r.status, r.body)
	}

	// 3. Create the cluster with the seed's body, trailing commas and all.
	clusterPath := base + "/resourceGroups/rg-seed/providers/Microsoft.OperationalInsights/clusters/cluster-seed"
	createBody := `{
  "identity": {
    "type": "systemAssigned"
    },
  "sku": {
    "name": "capacityReservation",
    "Capacity": 1000
    },
  "properties": {
    "clusterType": "LogAnalytics",
    },
  "location": "East US",
}`
	r = e.do(http.MethodPut, clusterPath+q("2019-08-01-preview"), tok, createBody)
	expect(t, r, http.StatusAccepted, "")
	if r.header.Get("Azure-AsyncOperation") == "" || r.header.Get("Retry-After") == "" {
		t.Fatalf("202 without async headers: %v", r.header)
	}
	opURL := r.header.Get("Azure-AsyncOperation")

	// 4. GET shows ProvisioningAccount and the identity.
	r = e.do(http.MethodGet, clusterPath+q("2019-08-01-preview"), tok, "")
	expect(t, r, http.StatusOK, "")
	c := r.json(t)
	props := c["properties"].(map[string]any)
	if props["provisioningState"] != "ProvisioningAccount" {
		t.Fatalf("new cluster state = %v", props["provisioningState"])
	}
	identity := c["identity"].(map[string]any)
	if identity["type"] != "SystemAssigned" || identity["principalId"] == "" || identity["tenantId"] != e.boot.TenantID {
		t.Fatalf("identity = %v", identity)
	}
	sku := c["sku"].(map[string]any)
	if sku["capacity"] != float64(1000) || sku["name"] != "capacityReservation" {
		t.Fatalf("sku = %v", sku)
	}
	if _, err := time.Parse(http.TimeFormat, sku["lastSkuUpdate"].(string)); err != nil {
		t.Fatalf("lastSkuUpdate %q is not in the seed's format: %v", sku["lastSkuUpdate"], err)
	}
	if c["location"] != "eastus" || c["type"] != "Microsoft.OperationalInsights/clusters" || c["name"] != "cluster-seed" {
		t.Fatalf("cluster = %v", c)
	}
	if props["clusterType"] != "LogAnalytics" || props["clusterId"] == "" {
		t.Fatalf("properties = %v", props)
	}

	// Linking before provisioning completes is refused (the seed would drop data).
	wsPath := base + "/resourcegroups/rg-seed/providers/microsoft.operationalinsights/workspaces/ws-seed"
	r = e.do(http.MethodPut, wsPath+q("2015-11-01-preview"), tok, `{"location":"eastus","properties":{"sku":{"name":"PerGB2018"}}}`)
	if r.status != http.StatusCreated && r.status != http.StatusOK {
		t.Fatalf("create workspace: %d %s", r.status, r.body)
	}
	linkBody := `{
  "properties": {
    "WriteAccessResourceId": "/subscriptions/` + sub + `/resourcegroups/rg-seed/providers/microsoft.operationalinsights/clusters/cluster-seed"
    }
}`
	r = e.do(http.MethodPut, wsPath+"/linkedservices/cluster"+q("2019-08-01-preview"), tok, linkBody)
	expect(t, r, http.StatusConflict, "ClusterNotProvisioned")

	// 5. Poll until Succeeded, through the operation status resource.
	deadline := time.Now().Add(10 * time.Second)
	for {
		r = e.do(http.MethodGet, opURL, tok, "")
		expect(t, r, http.StatusOK, "")
		st := r.json(t)["status"]
		if st == "Succeeded" {
			break
		}
		if st != "InProgress" || time.Now().After(deadline) {
			t.Fatalf("operation status = %v", st)
		}
		time.Sleep(50 * time.Millisecond)
	}
	r = e.do(http.MethodGet, clusterPath+q("2019-08-01-preview"), tok, "")
	if st := r.json(t)["properties"].(map[string]any)["provisioningState"]; st != "Succeeded" {
		t.Fatalf("state after the operation = %v", st)
	}

	// 2 and 5. The key in a recoverable vault, and the access policy that
	// grants the cluster's identity get, wrapKey and unwrapKey.
	vault := e.newVault(t, tok, "rg-seed", "contoso-kv", true, identity["principalId"].(string))
	version := e.createKey(t, vault, "cmk", 2048)
	vaultURI := strings.TrimSuffix(vault.uri, "/")

	// 6. Update the cluster with the key identifier, the seed's body as printed.
	updateBody := `{
   "identity": { 
     "type": "systemAssigned" 
     },
   "sku": {
     "name": "capacityReservation",
     "capacity": 1000
     },
   "properties": {
     "KeyVaultProperties": {
       KeyVaultUri: "` + vaultURI + `",
       KeyName: "cmk",
       KeyVersion: "` + version + `"
       },
   },
   "location":"East US"
}`
	r = e.do(http.MethodPut, clusterPath+q("2019-08-01-preview"), tok, updateBody)
	expect(t, r, http.StatusOK, "")
	kv := r.json(t)["properties"].(map[string]any)["keyVaultProperties"].(map[string]any)
	if kv["keyVaultUri"] != vaultURI || kv["keyName"] != "cmk" || kv["keyVersion"] != version {
		t.Fatalf("keyVaultProperties = %v", kv)
	}

	// 7. Associate the workspace.
	r = e.do(http.MethodPut, wsPath+"/linkedservices/cluster"+q("2019-08-01-preview"), tok, linkBody)
	if r.status != http.StatusAccepted && r.status != http.StatusOK {
		t.Fatalf("link: %d %s", r.status, r.body)
	}
	ls := r.json(t)
	if ls["name"] != "ws-seed/cluster" || !strings.EqualFold(ls["properties"].(map[string]any)["writeAccessResourceId"].(string), base+"/resourceGroups/rg-seed/providers/Microsoft.OperationalInsights/clusters/cluster-seed") {
		t.Fatalf("linked service = %s", r.body)
	}

	// 8. Verify the association on the workspace, in the seed's api-version.
	r = e.do(http.MethodGet, strings.Replace(wsPath, "microsoft.operationalinsights", "microsoft.operationalInsights", 1)+q("2015-11-01-preview"), tok, "")
	expect(t, r, http.StatusOK, "")
	features := r.json(t)["properties"].(map[string]any)["features"].(map[string]any)
	if !strings.EqualFold(features["clusterResourceId"].(string), clusterPath) {
		t.Fatalf("workspace features = %v", features)
	}

	// Listing clusters by group and by subscription, as the seed shows.
	for _, p := range []string{base + "/resourceGroups/rg-seed/providers/Microsoft.OperationalInsights/clusters", base + "/providers/Microsoft.OperationalInsights/clusters"} {
		r = e.do(http.MethodGet, p+q("2019-08-01-preview"), tok, "")
		expect(t, r, http.StatusOK, "")
		if v := r.json(t)["value"].([]any); len(v) != 1 {
			t.Fatalf("list %s = %d clusters", p, len(v))
		}
	}

	// A cluster with linked workspaces cannot be deleted.
	r = e.do(http.MethodDelete, clusterPath+q("2019-08-01-preview"), tok, "")
	expect(t, r, http.StatusConflict, "ClusterHasLinkedWorkspaces")
}
