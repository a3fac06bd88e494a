package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/operationalinsights/armoperationalinsights/v2"
)

// TestRestart: a server restarted on the same data directory keeps its
// identities, its credentials and its resources.
func TestRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	e1, tok1 := setup(t, options{dataDir: dir}, "rg")
	cluster := e1.readyCluster(t, tok1, "rg", "durable", "eastus", "LogAnalytics")
	ws := e1.mkWorkspace(t, tok1, "rg", "ws-durable", "eastus")
	expect(t, e1.link(tok1, "rg", "ws-durable", cluster["id"].(string)), http.StatusAccepted, "")
	r := e1.do(http.MethodPost, e1.workspacePath("rg", "ws-durable")+"/sharedKeys"+q(apiSDKMonitor), tok1, "")
	expect(t, r, http.StatusOK, "")
	keys := r.json(t)
	readerClient, readerSecret, readerID := e1.createPrincipal(t, "reader")
	expect(t, e1.assign(t, tok1, e1.subPath(), roleReader, readerID), http.StatusCreated, "")
	readerTok := e1.token(e1.credential(readerClient, readerSecret))
	oldCred := e1.cred
	e1.stop()

	// Same data directory, same address: the issuer of the old tokens.
	e2 := start(t, options{dataDir: dir, listen: strings.TrimPrefix(e1.endpoint, "https://")})
	if e2.endpoint != e1.endpoint {
		t.Fatalf("endpoint %s, was %s", e2.endpoint, e1.endpoint)
	}
	b1, b2 := e1.boot, e2.boot
	if b1.TenantID != b2.TenantID || b1.SubscriptionID != b2.SubscriptionID || b1.ClientID != b2.ClientID || b1.ClientSecret != b2.ClientSecret {
		t.Fatalf("bootstrap changed across the restart:\nbefore %+v\nafter  %+v", b1, b2)
	}

	// Tokens issued before the restart still verify; the old credential
	// object (with its cached token) still works with the SDK.
	expect(t, e2.do(http.MethodGet, e2.clusterPath("rg", "durable")+q(apiSeedCluster), tok1, ""), http.StatusOK, "")
	expect(t, e2.do(http.MethodGet, e2.clusterPath("rg", "durable")+q(apiSeedCluster), readerTok, ""), http.StatusOK, "")
	clusters, err := armoperationalinsights.NewClustersClient(b2.SubscriptionID, oldCred, e2.armOptions())
	if err != nil {
		t.Fatal(err)
	}
	got, err := clusters.Get(context.Background(), "rg", "durable", nil)
	if err != nil {
		t.Fatalf("Get with the old credential: %v", err)
	}
	if *got.Properties.ClusterID != str(t, cluster, "properties", "clusterId") ||
		*got.Identity.PrincipalID != str(t, cluster, "identity", "principalId") ||
		*got.Properties.ProvisioningState != armoperationalinsights.ClusterEntityStatusSucceeded ||
		len(got.Properties.AssociatedWorkspaces) != 1 {
		t.Fatalf("cluster after restart = %+v", got.Properties)
	}

	// New tokens of the same client id and secret, and of the reader.
	tok2 := e2.token(e2.cred)
	r = e2.do(http.MethodGet, e2.workspacePath("rg", "ws-durable")+q(apiSDKMonitor), tok2, "")
	expect(t, r, http.StatusOK, "")
	w := r.json(t)
	if str(t, w, "properties", "customerId") != str(t, ws, "properties", "customerId") ||
		str(t, w, "properties", "features", "clusterResourceId") == "" {
		t.Fatalf("workspace after restart = %s", r.body)
	}
	r = e2.do(http.MethodPost, e2.workspacePath("rg", "ws-durable")+"/sharedKeys"+q(apiSDKMonitor), tok2, "")
	expect(t, r, http.StatusOK, "")
	if after := r.json(t); after["primarySharedKey"] != keys["primarySharedKey"] || after["secondarySharedKey"] != keys["secondarySharedKey"] {
		t.Fatal("shared keys changed across the restart")
	}
	r = e2.do(http.MethodGet, e2.featurePath()+q(apiFeatures), tok2, "")
	if st := str(t, r.json(t), "properties", "state"); st != "Registered" {
		t.Fatalf("feature state after restart = %q", st)
	}
	// The reader's role survived: reads yes, writes no.
	readerTok2 := e2.token(e2.credential(readerClient, readerSecret))
	expect(t, e2.do(http.MethodGet, e2.workspacePath("rg", "ws-durable")+q(apiSDKMonitor), readerTok2, ""), http.StatusOK, "")
	r = e2.do(http.MethodPut, e2.workspacePath("rg", "ws-other")+q(apiSDKMonitor), readerTok2, `{"location":"eastus"}`)
	expect(t, r, http.StatusForbidden, "AuthorizationFailed")

	// The restarted server keeps working: new resources, and the soft-delete
	// rules over the old ones.
	e2.mkWorkspace(t, tok2, "rg", "ws-new", "eastus")
	expect(t, e2.do(http.MethodDelete, e2.clusterPath("rg", "durable")+q(apiSeedCluster), tok2, ""), http.StatusConflict, "ClusterHasLinkedWorkspaces")
	e2.stop()

	// On another address the bootstrap client id and secret still work.
	e3 := start(t, options{dataDir: dir})
	if e3.boot.ClientSecret != b1.ClientSecret || e3.boot.ClientID != b1.ClientID {
		t.Fatal("bootstrap credential changed on a restart on another address")
	}
	tok3 := e3.token(e3.credential(b1.ClientID, b1.ClientSecret))
	r = e3.do(http.MethodGet, e3.subPath()+"/providers/Microsoft.OperationalInsights/workspaces"+q(apiSDKMonitor), tok3, "")
	expect(t, r, http.StatusOK, "")
	if n := len(r.json(t)["value"].([]any)); n != 2 {
		t.Fatalf("%d workspaces after the second restart", n)
	}
}
