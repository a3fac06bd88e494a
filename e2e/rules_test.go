package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/kustodian/kustodian/internal/resources"
	"github.com/kustodian/kustodian/internal/server"
)

// TestRuleAPIVersion: a missing or unsupported api-version is refused; the
// seed's and the SDKs' versions are accepted.
func TestRuleAPIVersion(t *testing.T) {
	t.Parallel()
	e, tok := setup(t, options{}, "rg")
	e.mkWorkspace(t, tok, "rg", "ws-api", "eastus")
	sub := e.subPath()
	clusters := sub + "/resourcegroups/rg/providers/Microsoft.OperationalInsights/clusters"
	workspaces := sub + "/resourcegroups/rg/providers/Microsoft.OperationalInsights/workspaces"
	links := workspaces + "/ws-api/linkedServices"
	components := sub + "/resourceGroups/rg/providers/Microsoft.Insights/components"
	groups := sub + "/resourcegroups"

	for _, p := range []string{clusters, workspaces, links, components, groups, e.featurePath()} {
		r := e.do(http.MethodGet, p, tok, "")
		expect(t, r, http.StatusBadRequest, "MissingApiVersionParameter")
		r = e.do(http.MethodGet, p+"?api-version=", tok, "")
		expect(t, r, http.StatusBadRequest, "MissingApiVersionParameter")
		for _, v := range []string{"2099-01-01", "banana", "2015-11-01"} {
			r = e.do(http.MethodGet, p+q(v), tok, "")
			expect(t, r, http.StatusBadRequest, "InvalidApiVersionParameter")
		}
	}

	for _, c := range []struct{ name, path, version string }{
		{"seed clusters", clusters, apiSeedCluster},
		{"seed clusters by subscription", sub + "/providers/Microsoft.OperationalInsights/clusters", apiSeedCluster},
		{"seed linkedservices", links, apiSeedCluster},
		{"seed workspaces", workspaces, apiSeedWorkspace},
		{"seed workspace", workspaces + "/ws-api", apiSeedWorkspace},
		{"seed components", components, apiSeedComponent},
		{"sdk clusters", clusters, apiSDKMonitor},
		{"sdk workspaces", workspaces, apiSDKMonitor},
		{"sdk linkedservices", links, apiSDKMonitor},
		{"sdk components", components, apiSDKComponent},
		{"sdk resource groups", groups, apiSDKGroups},
		{"upper-case preview suffix", clusters, "2019-08-01-PREVIEW"},
	} {
		r := e.do(http.MethodGet, c.path+q(c.version), tok, "")
		if r.status != http.StatusOK {
			t.Errorf("%s (%s): %d %s", c.name, c.version, r.status, r.body)
		}
	}
}

// TestRuleCaseInsensitivity: paths, names and property names are
// case-insensitive, as in Resource Manager.
func TestRuleCaseInsensitivity(t *testing.T) {
	t.Parallel()
	e := start(t, options{})
	tok := e.token(e.cred)
	sub := e.subPath()
	r := e.do(http.MethodPost, strings.ToLower(e.featurePath())+"/REGISTER"+q(apiFeatures), tok, "")
	expect(t, r, http.StatusOK, "")

	r = e.do(http.MethodPut, sub+"/resourcegroups/rg-Case"+q(apiSDKGroups), tok, `{"LOCATION":"eastus"}`)
	expect(t, r, http.StatusCreated, "")
	for _, p := range []string{sub + "/resourceGroups/rg-case", sub + "/RESOURCEGROUPS/RG-CASE"} {
		r = e.do(http.MethodGet, p+q(apiSDKGroups), tok, "")
		expect(t, r, http.StatusOK, "")
		if n := r.json(t)["name"]; n != "rg-Case" {
			t.Fatalf("group name = %v", n)
		}
	}

	// Create with upper-case namespace and the seed's capitalised "Capacity".
	upper := sub + "/resourcegroups/RG-CASE/providers/MICROSOFT.OPERATIONALINSIGHTS/CLUSTERS/case-cluster"
	r = e.do(http.MethodPut, upper+q(apiSeedCluster), tok,
		`{"IDENTITY":{"Type":"systemassigned"},"Sku":{"NAME":"capacityreservation","Capacity":1200},"Properties":{"ClusterType":"loganalytics"},"Location":"EastUS"}`)
	expect(t, r, http.StatusAccepted, "")
	c := r.json(t)
	if at(t, c, "sku", "capacity") != float64(1200) || str(t, c, "properties", "clusterType") != "LogAnalytics" || c["location"] != "eastus" {
		t.Fatalf("created = %s", r.body)
	}
	mixed := sub + "/resourceGroups/rg-case/providers/microsoft.operationalInsights/Clusters/CASE-CLUSTER"
	r = e.do(http.MethodGet, mixed+q(apiSeedCluster), tok, "")
	expect(t, r, http.StatusOK, "")
	if str(t, r.json(t), "properties", "clusterId") != str(t, c, "properties", "clusterId") {
		t.Fatal("GET with other casing found another cluster")
	}
	e.waitCluster(t, tok, "rg-case", "case-cluster")
	vault := e.newVault(t, tok, "rg-Case", "case-kv", true, e.clusterPrincipal(t, tok, "rg-case", "case-cluster"))
	vaultURI := strings.TrimSuffix(vault.uri, "/")

	// KeyVaultProperties (seed) and keyVaultProperties (SDK) are the same member.
	for _, name := range []string{"KeyVaultProperties", "keyVaultProperties", "KEYVAULTPROPERTIES"} {
		version := e.createKey(t, vault, "cmk", 2048)
		r = e.do(http.MethodPut, mixed+q(apiSeedCluster), tok, `{
  "identity": {"type": "systemAssigned"},
  "sku": {"name": "capacityReservation", "capacity": 1200},
  "properties": {"`+name+`": {KeyVaultUri: "`+vaultURI+`", keyname: "cmk", KEYVERSION: "`+version+`"}},
  "location": "East US"
}`)
		expect(t, r, http.StatusOK, "")
		r = e.do(http.MethodGet, upper+q(apiSDKMonitor), tok, "")
		expect(t, r, http.StatusOK, "")
		kv, _ := at(t, r.json(t), "properties", "keyVaultProperties").(map[string]any)
		if kv == nil || kv["keyVersion"] != version || kv["keyName"] != "cmk" || kv["keyVaultUri"] != vaultURI {
			t.Fatalf("%s: keyVaultProperties = %v", name, kv)
		}
	}

	// Workspaces and linked services under other casings.
	r = e.do(http.MethodPut, sub+"/RESOURCEGROUPS/rg-case/PROVIDERS/microsoft.operationalinsights/WORKSPACES/Case-WS"+q(apiSeedWorkspace), tok,
		`{"location":"eastus"}`)
	expect(t, r, http.StatusCreated, "")
	r = e.do(http.MethodPut, sub+"/resourcegroups/rg-case/providers/microsoft.operationalinsights/workspaces/case-ws/LINKEDSERVICES/Cluster"+q(apiSeedCluster), tok,
		linkBody(strings.ToLower(e.clusterPath("rg-case", "case-cluster"))))
	if r.status != http.StatusAccepted && r.status != http.StatusOK {
		t.Fatalf("link: %d %s", r.status, r.body)
	}
	r = e.do(http.MethodGet, e.workspacePath("RG-CASE", "CASE-WS")+q(apiSDKMonitor), tok, "")
	expect(t, r, http.StatusOK, "")
	if got := str(t, r.json(t), "properties", "features", "clusterResourceId"); !strings.EqualFold(got, e.clusterPath("rg-case", "case-cluster")) {
		t.Fatalf("clusterResourceId = %q", got)
	}
}

// TestRuleCaseInsensitiveRoot: the first segment of a Resource Manager path
// is case-insensitive too ("/Subscriptions/..." appears in ids Azure itself
// returns, and tools send them back as they are).
func TestRuleCaseInsensitiveRoot(t *testing.T) {
	t.Parallel()
	e, tok := setup(t, options{}, "rg")
	for _, root := range []string{"/Subscriptions/", "/SUBSCRIPTIONS/"} {
		p := root + e.boot.SubscriptionID + "/resourceGroups/rg"
		r := e.do(http.MethodGet, p+q(apiSDKGroups), tok, "")
		if r.status != http.StatusOK {
			t.Errorf("GET %s: %d %s", p, r.status, r.body)
		}
		p = root + e.boot.SubscriptionID + "/providers/Microsoft.OperationalInsights/clusters"
		r = e.do(http.MethodGet, p+q(apiSDKMonitor), tok, "")
		if r.status != http.StatusOK {
			t.Errorf("GET %s: %d %s", p, r.status, r.body)
		}
	}
}

// TestRuleMalformedJSON: bodies that are not JSON, even by the lenient
// reader, are refused with the position of the error; the seed's bodies
// are accepted.
func TestRuleMalformedJSON(t *testing.T) {
	t.Parallel()
	e, tok := setup(t, options{}, "rg")
	cluster := e.clusterPath("rg", "json-cluster") + q(apiSeedCluster)
	workspace := e.workspacePath("rg", "json-ws") + q(apiSeedWorkspace)
	group := e.groupPath("rg-json") + q(apiSDKGroups)
	link := e.workspacePath("rg", "json-ws") + "/linkedservices/cluster" + q(apiSeedCluster)
	component := e.componentPath("rg", "json-app") + q(apiSeedComponent)

	for _, c := range []struct{ name, body string }{
		{"double comma", `{"location": "eastus",, "properties": {}}`},
		{"bare word value", `{"location": eastus}`},
		{"unterminated object", `{"location": "eastus", "sku": {"name": "capacityReservation"`},
		{"unterminated string", `{"location": "eastus}`},
		{"missing colon", "{\n  \"location\" \"eastus\"\n}"},
		{"text after the value", `{"location": "eastus"} x`},
		{"leading zero", `{"location": "eastus", "sku": {"capacity": 01000}}`},
		{"empty element", `{"tags": {"a": "b"}, "x": [1,,2]}`},
	} {
		for _, path := range []string{cluster, workspace, group, link, component} {
			r := e.do(http.MethodPut, path, tok, c.body)
			expect(t, r, http.StatusBadRequest, "InvalidRequestContent")
			msg := str(t, r.json(t), "error", "message")
			if !strings.Contains(msg, "line") || !strings.Contains(msg, "position") {
				t.Errorf("%s on %s: message %q has no line and position", c.name, path, msg)
			}
		}
	}
	for _, path := range []string{cluster, workspace, group} {
		for _, body := range []string{`[]`, `"eastus"`, `42`} {
			r := e.do(http.MethodPut, path, tok, body)
			expect(t, r, http.StatusBadRequest, "InvalidRequestContent")
		}
	}

	// The seed's relaxations: trailing commas, unquoted names, single quotes.
	r := e.do(http.MethodPut, group, tok, "{\n  location: 'East US',\n  tags: {team: 'ops',},\n}")
	expect(t, r, http.StatusCreated, "")
	r = e.do(http.MethodPut, workspace, tok, `{
  "location": "eastus",
  "properties": {
    "sku": {"name": "PerGB2018",},
    retentionInDays: 60,
    },
}`)
	expect(t, r, http.StatusCreated, "")
	if got := at(t, r.json(t), "properties", "retentionInDays"); got != float64(60) {
		t.Fatalf("retentionInDays = %v", got)
	}
	r = e.do(http.MethodPut, cluster, tok, `{
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
  "location": "<region-name>",
}`)
	expect(t, r, http.StatusBadRequest, "LocationNotAvailableForResourceType")
	r = e.do(http.MethodPut, cluster, tok, `{
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
  "location": "eastus",
}`)
	expect(t, r, http.StatusAccepted, "")
}

// TestRuleMissingScope: resources in a missing group or an unknown
// subscription are 404 with the scope's code.
func TestRuleMissingScope(t *testing.T) {
	t.Parallel()
	e, tok := setup(t, options{}, "rg")
	e.mkWorkspace(t, tok, "rg", "ws-scope", "eastus")
	cluster := clusterBody("eastus", "LogAnalytics", 1000)

	cases := []struct {
		name, method, path, body string
	}{
		{"cluster PUT", http.MethodPut, e.clusterPath("nope", "clu1") + q(apiSeedCluster), cluster},
		{"cluster GET", http.MethodGet, e.clusterPath("nope", "clu1") + q(apiSeedCluster), ""},
		{"cluster list", http.MethodGet, e.groupPath("nope") + "/providers/Microsoft.OperationalInsights/clusters" + q(apiSDKMonitor), ""},
		{"workspace PUT", http.MethodPut, e.workspacePath("nope", "wsp1") + q(apiSeedWorkspace), `{"location":"eastus"}`},
		{"workspace GET", http.MethodGet, e.workspacePath("nope", "wsp1") + q(apiSDKMonitor), ""},
		{"workspace list", http.MethodGet, e.groupPath("nope") + "/providers/Microsoft.OperationalInsights/workspaces" + q(apiSDKMonitor), ""},
		{"link", http.MethodPut, e.workspacePath("nope", "wsp1") + "/linkedservices/cluster" + q(apiSeedCluster), linkBody(e.clusterPath("rg", "clu1"))},
		{"component PUT", http.MethodPut, e.componentPath("nope", "app") + q(apiSeedComponent), `{"location":"eastus","kind":"web"}`},
		{"group GET", http.MethodGet, e.groupPath("nope") + q(apiSDKGroups), ""},
	}
	for _, c := range cases {
		r := e.do(c.method, c.path, tok, c.body)
		if r.status != http.StatusNotFound || r.errorCode(t) != "ResourceGroupNotFound" {
			t.Errorf("%s in a missing group: %d %s", c.name, r.status, r.body)
		}
	}

	other := "/subscriptions/" + uuid.NewString()
	for _, c := range cases {
		path := strings.Replace(c.path, e.subPath(), other, 1)
		body := strings.Replace(c.body, e.subPath(), other, 1)
		r := e.do(c.method, path, tok, body)
		if r.status != http.StatusNotFound || r.errorCode(t) != "SubscriptionNotFound" {
			t.Errorf("%s in an unknown subscription: %d %s", c.name, r.status, r.body)
		}
	}
	for _, p := range []string{
		other + "/resourcegroups" + q(apiSDKGroups),
		other + "/providers/Microsoft.OperationalInsights/clusters" + q(apiSDKMonitor),
		other + "/providers/Microsoft.OperationalInsights/workspaces" + q(apiSDKMonitor),
		other + "/providers/Microsoft.Insights/components" + q(apiSDKComponent),
	} {
		r := e.do(http.MethodGet, p, tok, "")
		if r.status != http.StatusNotFound || r.errorCode(t) != "SubscriptionNotFound" {
			t.Errorf("GET %s: %d %s", p, r.status, r.body)
		}
	}
	r := e.do(http.MethodPost, strings.Replace(e.featurePath(), e.subPath(), other, 1)+"/register"+q(apiFeatures), tok, "")
	if r.status != http.StatusNotFound || r.errorCode(t) != "SubscriptionNotFound" {
		t.Errorf("feature register in an unknown subscription: %d %s", r.status, r.body)
	}
}

// TestRuleLocations: display names are normalised, unknown regions refused.
func TestRuleLocations(t *testing.T) {
	t.Parallel()
	e, tok := setup(t, options{})
	r := e.do(http.MethodPut, e.groupPath("rg-loc")+q(apiSDKGroups), tok, `{"location":"East US"}`)
	expect(t, r, http.StatusCreated, "")
	if loc := r.json(t)["location"]; loc != "eastus" {
		t.Fatalf("group location = %v", loc)
	}

	for _, c := range []struct{ name, path, body string }{
		{"cluster", e.clusterPath("rg-loc", "loc-cluster") + q(apiSeedCluster), clusterBody("East US", "LogAnalytics", 1000)},
		{"workspace", e.workspacePath("rg-loc", "loc-ws") + q(apiSeedWorkspace), `{"location":"EAST US"}`},
		{"component", e.componentPath("rg-loc", "loc-app") + q(apiSeedComponent), `{"location":"east us","kind":"web"}`},
	} {
		r := e.do(http.MethodPut, c.path, tok, c.body)
		if r.status/100 != 2 {
			t.Fatalf("%s: %d %s", c.name, r.status, r.body)
		}
		if loc := r.json(t)["location"]; loc != "eastus" {
			t.Errorf("%s location = %v", c.name, loc)
		}
		r = e.do(http.MethodGet, c.path, tok, "")
		if loc := r.json(t)["location"]; loc != "eastus" {
			t.Errorf("%s location after GET = %v", c.name, loc)
		}
	}

	for _, c := range []struct{ name, path, body, code string }{
		{"group", e.groupPath("rg-atl") + q(apiSDKGroups), `{"location":"Atlantis"}`, "LocationNotAvailableForResourceGroup"},
		{"cluster", e.clusterPath("rg-loc", "atl-cluster") + q(apiSeedCluster), clusterBody("Atlantis", "LogAnalytics", 1000), "LocationNotAvailableForResourceType"},
		{"workspace", e.workspacePath("rg-loc", "atl-ws") + q(apiSeedWorkspace), `{"location":"atlantis"}`, "LocationNotAvailableForResourceType"},
		{"component", e.componentPath("rg-loc", "atl-app") + q(apiSeedComponent), `{"location":"Atlantis","kind":"web"}`, "LocationNotAvailableForResourceType"},
		{"group without location", e.groupPath("rg-none") + q(apiSDKGroups), `{}`, "LocationRequired"},
		{"cluster without location", e.clusterPath("rg-loc", "none-cluster") + q(apiSeedCluster), `{"identity":{"type":"SystemAssigned"},"sku":{"name":"CapacityReservation","capacity":1000}}`, "LocationRequired"},
		{"workspace without location", e.workspacePath("rg-loc", "none-ws") + q(apiSeedWorkspace), `{"properties":{}}`, "LocationRequired"},
	} {
		r := e.do(http.MethodPut, c.path, tok, c.body)
		if r.status != http.StatusBadRequest || r.errorCode(t) != c.code {
			t.Errorf("%s: %d %s; want 400 %s", c.name, r.status, r.body, c.code)
		}
	}
}

// TestRuleFeatureRegistration: clusters need the registered feature; with
// manual approval, registration stays Pending until the operator approves.
func TestRuleFeatureRegistration(t *testing.T) {
	t.Parallel()
	t.Run("auto", func(t *testing.T) {
		t.Parallel()
		e := start(t, options{})
		tok := e.token(e.cred)
		e.mkGroup(t, tok, "rg", "eastus")
		r := e.do(http.MethodGet, e.featurePath()+q(apiFeatures), tok, "")
		expect(t, r, http.StatusOK, "")
		if st := str(t, r.json(t), "properties", "state"); st != "NotRegistered" {
			t.Fatalf("initial state = %q", st)
		}
		r = e.do(http.MethodPut, e.clusterPath("rg", "early")+q(apiSeedCluster), tok, clusterBody("eastus", "LogAnalytics", 1000))
		expect(t, r, http.StatusBadRequest, "FeatureNotRegistered")
		// Workspaces do not need the feature.
		e.mkWorkspace(t, tok, "rg", "ws-nofeature", "eastus")

		e.registerFeature(t, tok)
		r = e.do(http.MethodPut, e.clusterPath("rg", "early")+q(apiSeedCluster), tok, clusterBody("eastus", "LogAnalytics", 1000))
		expect(t, r, http.StatusAccepted, "")

		// Unregistering blocks new clusters again (existing ones stay).
		r = e.do(http.MethodPost, e.featurePath()+"/unregister"+q(apiFeatures), tok, "")
		expect(t, r, http.StatusOK, "")
		r = e.do(http.MethodPut, e.clusterPath("rg", "late")+q(apiSeedCluster), tok, clusterBody("eastus", "LogAnalytics", 1000))
		expect(t, r, http.StatusBadRequest, "FeatureNotRegistered")
		r = e.do(http.MethodGet, e.clusterPath("rg", "early")+q(apiSeedCluster), tok, "")
		expect(t, r, http.StatusOK, "")
	})
	t.Run("manual", func(t *testing.T) {
		t.Parallel()
		e := start(t, options{featureApproval: "manual"})
		tok := e.token(e.cred)
		e.mkGroup(t, tok, "rg", "eastus")
		r := e.do(http.MethodPost, e.featurePath()+"/register"+q("2015-12-01"), tok, "")
		expect(t, r, http.StatusOK, "")
		if st := str(t, r.json(t), "properties", "state"); st != "Pending" {
			t.Fatalf("state after register = %q", st)
		}
		r = e.do(http.MethodPost, e.featurePath()+"/register"+q(apiFeatures), tok, "")
		if st := str(t, r.json(t), "properties", "state"); st != "Pending" {
			t.Fatalf("state after a second register = %q", st)
		}
		r = e.do(http.MethodPut, e.clusterPath("rg", "waiting")+q(apiSeedCluster), tok, clusterBody("eastus", "LogAnalytics", 1000))
		expect(t, r, http.StatusBadRequest, "FeatureNotRegistered")

		// The operator approves, as the admin CLI does, while the server runs.
		ctx := context.Background()
		st, err := server.OpenState(ctx, e.dataDir, "")
		if err != nil {
			t.Fatal(err)
		}
		err = resources.ApproveFeature(ctx, st.Store, time.Now(), e.boot.SubscriptionID, "Microsoft.OperationalInsights", "CustomerManagedKey")
		if cerr := st.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			t.Fatalf("approve: %v", err)
		}

		r = e.do(http.MethodGet, e.featurePath()+q(apiFeatures), tok, "")
		expect(t, r, http.StatusOK, "")
		if st := str(t, r.json(t), "properties", "state"); st != "Registered" {
			t.Fatalf("state after approval = %q", st)
		}
		r = e.do(http.MethodPut, e.clusterPath("rg", "waiting")+q(apiSeedCluster), tok, clusterBody("eastus", "LogAnalytics", 1000))
		expect(t, r, http.StatusAccepted, "")
	})
}

// TestRuleCapacity: 1000 to 2000 GB/day in steps of 100.
func TestRuleCapacity(t *testing.T) {
	t.Parallel()
	e, tok := setup(t, options{}, "rg")
	for _, c := range []struct {
		capacity int
		status   int
	}{
		{999, http.StatusBadRequest}, {1050, http.StatusBadRequest}, {2100, http.StatusBadRequest},
		{0, http.StatusBadRequest}, {-1000, http.StatusBadRequest}, {100000, http.StatusBadRequest},
		{1000, http.StatusAccepted}, {1500, http.StatusAccepted}, {2000, http.StatusAccepted},
	} {
		name := "cap-" + strconv.Itoa(c.capacity)
		r := e.do(http.MethodPut, e.clusterPath("rg", name)+q(apiSeedCluster), tok, clusterBody("eastus", "LogAnalytics", c.capacity))
		if r.status != c.status {
			t.Fatalf("capacity %d: %d %s", c.capacity, r.status, r.body)
		}
		if c.status != http.StatusAccepted {
			if code := r.errorCode(t); code != "InvalidCapacityReservation" {
				t.Fatalf("capacity %d: code %s", c.capacity, code)
			}
			continue
		}
		if got := at(t, r.json(t), "sku", "capacity"); got != float64(c.capacity) {
			t.Fatalf("capacity %d: created with %v", c.capacity, got)
		}
		// Soft-delete it, so that the next ones fit in the 2-cluster limit.
		expect(t, e.do(http.MethodDelete, e.clusterPath("rg", name)+q(apiSeedCluster), tok, ""), http.StatusOK, "")
	}
	for _, body := range []string{
		`{"identity":{"type":"SystemAssigned"},"sku":{"name":"CapacityReservation"},"location":"eastus"}`,
		`{"identity":{"type":"SystemAssigned"},"sku":{"name":"CapacityReservation","capacity":"lots"},"location":"eastus"}`,
		`{"identity":{"type":"SystemAssigned"},"sku":{"name":"CapacityReservation","capacity":1000.5},"location":"eastus"}`,
		`{"identity":{"type":"SystemAssigned"},"location":"eastus"}`,
		`{"identity":{"type":"SystemAssigned"},"sku":{"name":"PerGB2018","capacity":1000},"location":"eastus"}`,
	} {
		r := e.do(http.MethodPut, e.clusterPath("rg", "cap-bad")+q(apiSeedCluster), tok, body)
		if r.status != http.StatusBadRequest {
			t.Errorf("body %s: %d %s", body, r.status, r.body)
		} else {
			r.errorCode(t)
		}
	}

	// Updates: in steps of 100, by PATCH and by full PUT.
	e.readyCluster(t, tok, "rg", "cap-steps", "eastus", "LogAnalytics")
	path := e.clusterPath("rg", "cap-steps")
	patch := func(capacity int) response {
		return e.do(http.MethodPatch, path+q(apiSDKMonitor), tok, fmt.Sprintf(`{"sku":{"name":"CapacityReservation","capacity":%d}}`, capacity))
	}
	put := func(capacity int) response {
		return e.do(http.MethodPut, path+q(apiSeedCluster), tok, clusterBody("eastus", "LogAnalytics", capacity))
	}
	for _, s := range []struct {
		via      func(int) response
		capacity int
		status   int
	}{
		{patch, 1100, http.StatusOK}, {patch, 1150, http.StatusBadRequest}, {patch, 1200, http.StatusOK},
		{put, 1900, http.StatusOK}, {put, 1950, http.StatusBadRequest}, {put, 2100, http.StatusBadRequest},
		{patch, 2000, http.StatusOK}, {patch, 900, http.StatusBadRequest}, {put, 1000, http.StatusOK},
	} {
		r := s.via(s.capacity)
		code := ""
		if s.status != http.StatusOK {
			code = "InvalidCapacityReservation"
		}
		expect(t, r, s.status, code)
	}
	r := e.do(http.MethodGet, path+q(apiSeedCluster), tok, "")
	if got := at(t, r.json(t), "sku", "capacity"); got != float64(1000) {
		t.Fatalf("capacity after the updates = %v", got)
	}
}

// TestRuleClusterTypeAndIdentity: clusterType is fixed at creation and must
// be valid; a new cluster needs a system-assigned identity.
func TestRuleClusterTypeAndIdentity(t *testing.T) {
	t.Parallel()
	e, tok := setup(t, options{}, "rg")
	path := e.clusterPath("rg", "typed")
	for _, c := range []struct{ name, body, code string }{
		{"invalid clusterType", clusterBody("eastus", "Kusto", 1000), "InvalidClusterType"},
		{"UserAssigned identity", `{"identity":{"type":"UserAssigned"},"sku":{"name":"CapacityReservation","capacity":1000},"location":"eastus"}`, "InvalidIdentity"},
		{"SystemAssigned,UserAssigned identity", `{"identity":{"type":"SystemAssigned,UserAssigned"},"sku":{"name":"CapacityReservation","capacity":1000},"location":"eastus"}`, "InvalidIdentity"},
		{"None identity", `{"identity":{"type":"None"},"sku":{"name":"CapacityReservation","capacity":1000},"location":"eastus"}`, "InvalidIdentity"},
		{"no identity", `{"sku":{"name":"CapacityReservation","capacity":1000},"location":"eastus"}`, "InvalidIdentity"},
		{"identity without type", `{"identity":{},"sku":{"name":"CapacityReservation","capacity":1000},"location":"eastus"}`, "InvalidIdentity"},
	} {
		r := e.do(http.MethodPut, path+q(apiSeedCluster), tok, c.body)
		if r.status != http.StatusBadRequest || r.errorCode(t) != c.code {
			t.Errorf("%s: %d %s; want 400 %s", c.name, r.status, r.body, c.code)
		}
	}
	// Nothing was created by the refused requests.
	expect(t, e.do(http.MethodGet, path+q(apiSeedCluster), tok, ""), http.StatusNotFound, "ResourceNotFound")

	e.mkCluster(t, tok, "rg", "typed", "eastus", "LogAnalytics")
	r := e.do(http.MethodPut, path+q(apiSeedCluster), tok, clusterBody("eastus", "ApplicationInsights", 1000))
	expect(t, r, http.StatusBadRequest, "ClusterTypeCannotBeChanged")
	r = e.do(http.MethodPatch, path+q(apiSDKMonitor), tok, `{"properties":{"clusterType":"ApplicationInsights"}}`)
	expect(t, r, http.StatusBadRequest, "ClusterTypeCannotBeChanged")
	r = e.do(http.MethodPut, path+q(apiSeedCluster), tok, clusterBody("eastus", "Kusto", 1000))
	expect(t, r, http.StatusBadRequest, "InvalidClusterType")
	// The same type again, or none at all, is fine.
	expect(t, e.do(http.MethodPut, path+q(apiSeedCluster), tok, clusterBody("eastus", "LogAnalytics", 1000)), http.StatusOK, "")
	r = e.do(http.MethodPut, path+q(apiSeedCluster), tok, `{"identity":{"type":"SystemAssigned"},"sku":{"name":"CapacityReservation","capacity":1000},"location":"eastus"}`)
	expect(t, r, http.StatusOK, "")
	if ct := str(t, r.json(t), "properties", "clusterType"); ct != "LogAnalytics" {
		t.Fatalf("clusterType = %q", ct)
	}
	// A cluster cannot move to another region by PUT.
	r = e.do(http.MethodPut, path+q(apiSeedCluster), tok, clusterBody("westus", "LogAnalytics", 1000))
	expect(t, r, http.StatusBadRequest, "LocationCannotBeChanged")

	// An ApplicationInsights cluster keeps its type too.
	e.mkCluster(t, tok, "rg", "ai-typed", "eastus", "ApplicationInsights")
	r = e.do(http.MethodPut, e.clusterPath("rg", "ai-typed")+q(apiSeedCluster), tok, clusterBody("eastus", "LogAnalytics", 1000))
	expect(t, r, http.StatusBadRequest, "ClusterTypeCannotBeChanged")
}

// TestRuleClusterLimit: at most 2 clusters per subscription, soft-deleted
// ones not counted.
func TestRuleClusterLimit(t *testing.T) {
	t.Parallel()
	e, tok := setup(t, options{}, "rg-a", "rg-b")
	e.mkCluster(t, tok, "rg-a", "one-cluster", "eastus", "LogAnalytics")
	e.mkCluster(t, tok, "rg-b", "two-cluster", "westus", "ApplicationInsights")
	for _, rg := range []string{"rg-a", "rg-b"} {
		r := e.do(http.MethodPut, e.clusterPath(rg, "three-cluster")+q(apiSeedCluster), tok, clusterBody("eastus", "LogAnalytics", 1000))
		expect(t, r, http.StatusConflict, "ClusterQuotaExceeded")
	}
	expect(t, e.do(http.MethodDelete, e.clusterPath("rg-a", "one-cluster")+q(apiSeedCluster), tok, ""), http.StatusOK, "")
	r := e.do(http.MethodPut, e.clusterPath("rg-a", "three-cluster")+q(apiSeedCluster), tok, clusterBody("eastus", "LogAnalytics", 1000))
	expect(t, r, http.StatusAccepted, "")
	// Recovering the deleted one would make three.
	r = e.do(http.MethodPut, e.clusterPath("rg-a", "one-cluster")+q(apiSeedCluster), tok, clusterBody("eastus", "LogAnalytics", 1000))
	expect(t, r, http.StatusConflict, "ClusterQuotaExceeded")
	r = e.do(http.MethodGet, e.subPath()+"/providers/Microsoft.OperationalInsights/clusters"+q(apiSDKMonitor), tok, "")
	expect(t, r, http.StatusOK, "")
	if n := len(r.json(t)["value"].([]any)); n != 2 {
		t.Fatalf("%d clusters listed", n)
	}
}

// TestRuleKeyVaultProperties: no key on create; set after provisioning; a
// full PUT without the key removes it.
func TestRuleKeyVaultProperties(t *testing.T) {
	t.Parallel()
	e, tok := setup(t, options{provisioningDelay: time.Second}, "rg")
	path := e.clusterPath("rg", "kv-cluster")
	vault := e.newVault(t, tok, "rg", "contoso-kv1", true)
	vaultURI := strings.TrimSuffix(vault.uri, "/")
	versions := map[string]string{"v1": e.createKey(t, vault, "cmk", 2048), "v2": e.createKey(t, vault, "cmk", 2048)}
	withKey := func(version string) string {
		return `{
  "identity": {"type": "systemAssigned"},
  "sku": {"name": "capacityReservation", "capacity": 1000},
  "properties": {
    "KeyVaultProperties": {KeyVaultUri: "` + vaultURI + `", KeyName: "cmk", KeyVersion: "` + versions[version] + `"},
  },
  "location": "eastus"
}`
	}
	r := e.do(http.MethodPut, path+q(apiSeedCluster), tok, withKey("v1"))
	expect(t, r, http.StatusBadRequest, "KeyVaultPropertiesNotAllowedOnCreate")
	r = e.do(http.MethodPut, path+q(apiSDKMonitor), tok,
		`{"identity":{"type":"SystemAssigned"},"sku":{"name":"CapacityReservation","capacity":1000},"location":"eastus","properties":{"keyVaultProperties":{"keyVaultUri":"https://contoso.vault.azure.net","keyName":"cmk"}}}`)
	expect(t, r, http.StatusBadRequest, "KeyVaultPropertiesNotAllowedOnCreate")

	e.mkCluster(t, tok, "rg", "kv-cluster", "eastus", "LogAnalytics")
	// While provisioning, the key cannot be set yet.
	r = e.do(http.MethodPut, path+q(apiSeedCluster), tok, withKey("v1"))
	expect(t, r, http.StatusConflict, "ClusterNotProvisioned")
	e.waitCluster(t, tok, "rg", "kv-cluster")
	e.grant(t, tok, "rg", vault, e.clusterPrincipal(t, tok, "rg", "kv-cluster"))

	keyOf := func() map[string]any {
		r := e.do(http.MethodGet, path+q(apiSeedCluster), tok, "")
		expect(t, r, http.StatusOK, "")
		kv, _ := at(t, r.json(t), "properties", "keyVaultProperties").(map[string]any)
		return kv
	}
	r = e.do(http.MethodPut, path+q(apiSeedCluster), tok, withKey("v1"))
	expect(t, r, http.StatusOK, "")
	if kv := keyOf(); kv == nil || kv["keyVersion"] != versions["v1"] || kv["keyName"] != "cmk" {
		t.Fatalf("key after update = %v", kv)
	}
	// Rotation by PATCH (SDK shape).
	r = e.do(http.MethodPatch, path+q(apiSDKMonitor), tok,
		`{"properties":{"keyVaultProperties":{"keyVaultUri":"`+vaultURI+`","keyName":"cmk","keyVersion":"`+versions["v2"]+`"}}}`)
	expect(t, r, http.StatusOK, "")
	if kv := keyOf(); kv == nil || kv["keyVersion"] != versions["v2"] {
		t.Fatalf("key after PATCH = %v", kv)
	}
	// A PATCH without the key keeps it.
	expect(t, e.do(http.MethodPatch, path+q(apiSDKMonitor), tok, `{"tags":{"a":"b"}}`), http.StatusOK, "")
	if kv := keyOf(); kv == nil || kv["keyVersion"] != versions["v2"] {
		t.Fatalf("key after a PATCH of tags = %v", kv)
	}
	// Invalid key properties.
	for _, kv := range []string{
		`{"keyVaultUri":"http://contoso.vault.azure.net","keyName":"cmk"}`,
		`{"keyVaultUri":"https://contoso.vault.azure.net"}`,
		`{"keyName":"cmk","keyVersion":"v3"}`,
	} {
		r = e.do(http.MethodPatch, path+q(apiSDKMonitor), tok, `{"properties":{"keyVaultProperties":`+kv+`}}`)
		expect(t, r, http.StatusBadRequest, "InvalidKeyVaultProperties")
	}
	// The seed's warning: a full PUT without KeyVaultProperties removes the key.
	r = e.do(http.MethodPut, path+q(apiSeedCluster), tok, clusterBody("eastus", "LogAnalytics", 1000))
	expect(t, r, http.StatusOK, "")
	if _, ok := at(t, r.json(t), "properties").(map[string]any)["keyVaultProperties"]; ok {
		t.Fatalf("PUT answer still has the key: %s", r.body)
	}
	if kv := keyOf(); kv != nil {
		t.Fatalf("key after a full PUT without it = %v", kv)
	}
	r = e.do(http.MethodGet, path+q(apiSDKMonitor), tok, "")
	if _, ok := at(t, r.json(t), "properties").(map[string]any)["keyVaultProperties"]; ok {
		t.Fatalf("GET (%s) still has the key: %s", apiSDKMonitor, r.body)
	}
	// A full PUT must carry the identity and the sku.
	r = e.do(http.MethodPut, path+q(apiSeedCluster), tok, `{"identity":{"type":"SystemAssigned"},"location":"eastus"}`)
	expect(t, r, http.StatusBadRequest, "InvalidSku")
}

// TestRuleSoftDelete: a deleted cluster is gone, its name reserved, and a PUT
// of the same name, subscription, group and region recovers it.
func TestRuleSoftDelete(t *testing.T) {
	t.Parallel()
	e, tok := setup(t, options{}, "rg-a", "rg-b")
	c := e.readyCluster(t, tok, "rg-a", "reserved", "eastus", "LogAnalytics")
	clusterID := str(t, c, "properties", "clusterId")
	principalID := str(t, c, "identity", "principalId")
	path := e.clusterPath("rg-a", "reserved")

	r := e.do(http.MethodDelete, path+q(apiSeedCluster), tok, "")
	expect(t, r, http.StatusOK, "")
	expect(t, e.do(http.MethodGet, path+q(apiSeedCluster), tok, ""), http.StatusNotFound, "ResourceNotFound")
	r = e.do(http.MethodGet, e.groupPath("rg-a")+"/providers/Microsoft.OperationalInsights/clusters"+q(apiSeedCluster), tok, "")
	expect(t, r, http.StatusOK, "")
	if n := len(r.json(t)["value"].([]any)); n != 0 {
		t.Fatalf("deleted cluster still listed: %s", r.body)
	}
	// Deleting again is a no-op.
	r = e.do(http.MethodDelete, path+q(apiSeedCluster), tok, "")
	if r.status != http.StatusNoContent && r.status != http.StatusOK {
		t.Fatalf("second delete: %d %s", r.status, r.body)
	}

	// The name is reserved: not in another group, not in another region.
	r = e.do(http.MethodPut, e.clusterPath("rg-b", "reserved")+q(apiSeedCluster), tok, clusterBody("eastus", "LogAnalytics", 1000))
	expect(t, r, http.StatusConflict, "ClusterNameReserved")
	r = e.do(http.MethodPut, e.clusterPath("rg-b", "RESERVED")+q(apiSDKMonitor), tok, clusterBody("eastus", "LogAnalytics", 1000))
	expect(t, r, http.StatusConflict, "ClusterNameReserved")
	r = e.do(http.MethodPut, path+q(apiSeedCluster), tok, clusterBody("westus", "LogAnalytics", 1000))
	expect(t, r, http.StatusConflict, "ClusterNameReserved")

	// Recovery.
	r = e.do(http.MethodPut, path+q(apiSeedCluster), tok, clusterBody("East US", "LogAnalytics", 1200))
	expect(t, r, http.StatusAccepted, "")
	rec := e.waitCluster(t, tok, "rg-a", "reserved")
	if got := str(t, rec, "properties", "clusterId"); got != clusterID {
		t.Fatalf("recovered clusterId %s, was %s", got, clusterID)
	}
	if got := str(t, rec, "identity", "principalId"); got != principalID {
		t.Fatalf("recovered principalId %s, was %s", got, principalID)
	}
	if got := at(t, rec, "sku", "capacity"); got != float64(1200) {
		t.Fatalf("recovered capacity %v", got)
	}
}

// TestRuleLinking: the conditions of a workspace link.
func TestRuleLinking(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		delay time.Duration
		run   func(t *testing.T, e *env, tok string)
	}{
		{"cluster not provisioned", time.Hour, func(t *testing.T, e *env, tok string) {
			c := e.mkCluster(t, tok, "rg", "slow", "eastus", "LogAnalytics")
			e.mkWorkspace(t, tok, "rg", "ws-1", "eastus")
			expect(t, e.link(tok, "rg", "ws-1", c["id"].(string)), http.StatusConflict, "ClusterNotProvisioned")
			r := e.do(http.MethodGet, e.workspacePath("rg", "ws-1")+q(apiSDKMonitor), tok, "")
			if str(t, r.json(t), "properties", "features", "clusterResourceId") != "" {
				t.Fatal("refused link left the workspace linked")
			}
		}},
		{"ApplicationInsights cluster", 0, func(t *testing.T, e *env, tok string) {
			c := e.readyCluster(t, tok, "rg", "ai-cluster", "eastus", "ApplicationInsights")
			e.mkWorkspace(t, tok, "rg", "ws-1", "eastus")
			expect(t, e.link(tok, "rg", "ws-1", c["id"].(string)), http.StatusBadRequest, "InvalidClusterType")
		}},
		{"other region", 0, func(t *testing.T, e *env, tok string) {
			c := e.readyCluster(t, tok, "rg", "west", "westus", "LogAnalytics")
			e.mkWorkspace(t, tok, "rg", "ws-1", "eastus")
			expect(t, e.link(tok, "rg", "ws-1", c["id"].(string)), http.StatusBadRequest, "LocationMismatch")
		}},
		{"already linked to another cluster", 0, func(t *testing.T, e *env, tok string) {
			c1 := e.mkCluster(t, tok, "rg", "first", "eastus", "LogAnalytics")
			c2 := e.mkCluster(t, tok, "rg", "second", "eastus", "LogAnalytics")
			e.waitCluster(t, tok, "rg", "first")
			e.waitCluster(t, tok, "rg", "second")
			e.mkWorkspace(t, tok, "rg", "ws-1", "eastus")
			expect(t, e.link(tok, "rg", "ws-1", c1["id"].(string)), http.StatusAccepted, "")
			expect(t, e.link(tok, "rg", "ws-1", c2["id"].(string)), http.StatusConflict, "WorkspaceAlreadyLinked")
			// Linking again to the same cluster is idempotent.
			expect(t, e.link(tok, "rg", "ws-1", c1["id"].(string)), http.StatusOK, "")
			r := e.do(http.MethodGet, e.clusterPath("rg", "second")+q(apiSDKMonitor), tok, "")
			if n := len(at(t, r.json(t), "properties", "associatedWorkspaces").([]any)); n != 0 {
				t.Fatalf("second cluster has %d workspaces", n)
			}
			r = e.do(http.MethodGet, e.clusterPath("rg", "first")+q(apiSDKMonitor), tok, "")
			if n := len(at(t, r.json(t), "properties", "associatedWorkspaces").([]any)); n != 1 {
				t.Fatalf("first cluster has %d workspaces", n)
			}
		}},
		{"linked service name other than cluster", 0, func(t *testing.T, e *env, tok string) {
			c := e.readyCluster(t, tok, "rg", "named", "eastus", "LogAnalytics")
			e.mkWorkspace(t, tok, "rg", "ws-1", "eastus")
			for _, name := range []string{"automation", "clusters", "Cluster2"} {
				r := e.do(http.MethodPut, e.workspacePath("rg", "ws-1")+"/linkedservices/"+name+q(apiSeedCluster), tok, linkBody(c["id"].(string)))
				expect(t, r, http.StatusBadRequest, "InvalidLinkedServiceName")
			}
		}},
		{"target is not a cluster", 0, func(t *testing.T, e *env, tok string) {
			e.mkWorkspace(t, tok, "rg", "ws-1", "eastus")
			e.mkWorkspace(t, tok, "rg", "ws-2", "eastus")
			for _, target := range []string{e.workspacePath("rg", "ws-2"), "not-an-id", ""} {
				expect(t, e.link(tok, "rg", "ws-1", target), http.StatusBadRequest, "InvalidLinkedService")
			}
			expect(t, e.link(tok, "rg", "ws-1", e.clusterPath("rg", "missing")), http.StatusNotFound, "ResourceNotFound")
			expect(t, e.link(tok, "rg", "ws-missing", e.clusterPath("rg", "missing")), http.StatusNotFound, "ResourceNotFound")
		}},
		{"cluster with linked workspaces cannot be deleted", 0, func(t *testing.T, e *env, tok string) {
			c := e.readyCluster(t, tok, "rg", "busy", "eastus", "LogAnalytics")
			e.mkWorkspace(t, tok, "rg", "ws-1", "eastus")
			expect(t, e.link(tok, "rg", "ws-1", c["id"].(string)), http.StatusAccepted, "")
			path := e.clusterPath("rg", "busy") + q(apiSeedCluster)
			expect(t, e.do(http.MethodDelete, path, tok, ""), http.StatusConflict, "ClusterHasLinkedWorkspaces")
			expect(t, e.do(http.MethodGet, path, tok, ""), http.StatusOK, "")
			// Unlinking (allowed, as in today's Azure) frees it.
			r := e.do(http.MethodDelete, e.workspacePath("rg", "ws-1")+"/linkedServices/cluster"+q(apiSeedCluster), tok, "")
			expect(t, r, http.StatusOK, "")
			expect(t, e.do(http.MethodDelete, path, tok, ""), http.StatusOK, "")
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e, tok := setup(t, options{provisioningDelay: c.delay}, "rg")
			c.run(t, e, tok)
		})
	}
}

// TestRuleMoveCluster: moving a cluster is refused.
func TestRuleMoveCluster(t *testing.T) {
	t.Parallel()
	e, tok := setup(t, options{}, "rg-a", "rg-b")
	c := e.mkCluster(t, tok, "rg-a", "stay", "eastus", "LogAnalytics")
	body := fmt.Sprintf(`{"resources":[%q],"targetResourceGroup":%q}`, c["id"], e.groupPath("rg-b"))
	for _, action := range []string{"moveResources", "validateMoveResources"} {
		r := e.do(http.MethodPost, e.groupPath("rg-a")+"/"+action+q(apiSDKGroups), tok, body)
		expect(t, r, http.StatusBadRequest, "ResourceMoveNotSupported")
	}
	expect(t, e.do(http.MethodGet, e.clusterPath("rg-a", "stay")+q(apiSeedCluster), tok, ""), http.StatusOK, "")
	expect(t, e.do(http.MethodGet, e.clusterPath("rg-b", "stay")+q(apiSeedCluster), tok, ""), http.StatusNotFound, "ResourceNotFound")
}

// TestRuleLongRunningOperation: the 202 of a cluster creation and the two
// polling resources it names.
func TestRuleLongRunningOperation(t *testing.T) {
	t.Parallel()
	e, tok := setup(t, options{provisioningDelay: 1500 * time.Millisecond}, "rg")
	r := e.do(http.MethodPut, e.clusterPath("rg", "lro-cluster")+q(apiSDKMonitor), tok, clusterBody("eastus", "LogAnalytics", 1000))
	expect(t, r, http.StatusAccepted, "")
	asyncURL, locURL := r.header.Get("Azure-AsyncOperation"), r.header.Get("Location")
	if !strings.HasPrefix(asyncURL, e.endpoint+"/") || !strings.HasPrefix(locURL, e.endpoint+"/") {
		t.Fatalf("Azure-AsyncOperation %q Location %q", asyncURL, locURL)
	}
	if n, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || n < 1 {
		t.Fatalf("Retry-After %q", r.header.Get("Retry-After"))
	}
	if st := str(t, r.json(t), "properties", "provisioningState"); st != "ProvisioningAccount" {
		t.Fatalf("202 body state = %q", st)
	}

	r = e.do(http.MethodGet, asyncURL, tok, "")
	expect(t, r, http.StatusOK, "")
	op := r.json(t)
	if op["status"] != "InProgress" || op["name"] == "" || op["startTime"] == nil || op["endTime"] != nil {
		t.Fatalf("operation status = %s", r.body)
	}
	r = e.do(http.MethodGet, locURL, tok, "")
	expect(t, r, http.StatusAccepted, "")
	if r.header.Get("Location") == "" || r.header.Get("Retry-After") == "" {
		t.Fatalf("operation result 202 without Location/Retry-After: %v", r.header)
	}

	// The operation resources need a token, and a known id.
	expect(t, e.do(http.MethodGet, asyncURL, "", ""), http.StatusUnauthorized, "AuthenticationFailed")
	bogus := e.subPath() + "/providers/Microsoft.OperationalInsights/locations/eastus/operationStatuses/" + uuid.NewString() + q(apiSDKMonitor)
	expect(t, e.do(http.MethodGet, bogus, tok, ""), http.StatusNotFound, "OperationNotFound")

	deadline := time.Now().Add(pollDeadline)
	for {
		r = e.do(http.MethodGet, asyncURL, tok, "")
		expect(t, r, http.StatusOK, "")
		op = r.json(t)
		if op["status"] == "Succeeded" {
			break
		}
		if op["status"] != "InProgress" || time.Now().After(deadline) {
			t.Fatalf("operation status = %s", r.body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if op["endTime"] == nil || op["error"] != nil {
		t.Fatalf("finished operation = %s", r.body)
	}
	r = e.do(http.MethodGet, locURL, tok, "")
	if r.status != http.StatusOK && r.status != http.StatusNoContent {
		t.Fatalf("operation result after success: %d %s", r.status, r.body)
	}
	r = e.do(http.MethodGet, e.clusterPath("rg", "lro-cluster")+q(apiSDKMonitor), tok, "")
	if st := str(t, r.json(t), "properties", "provisioningState"); st != "Succeeded" {
		t.Fatalf("cluster state after the operation = %q", st)
	}
}
