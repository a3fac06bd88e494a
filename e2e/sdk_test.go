package e2e

import (
	"context"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/applicationinsights/armapplicationinsights"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/operationalinsights/armoperationalinsights/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"
)

// fastPoll keeps SDK pollers quick where the server sends no Retry-After.
var fastPoll = &runtime.PollUntilDoneOptions{Frequency: 50 * time.Millisecond}

// TestSDKResourceGroups drives resource groups with armresources as users do.
func TestSDKResourceGroups(t *testing.T) {
	t.Parallel()
	e := start(t, options{})
	ctx := context.Background()
	groups, err := armresources.NewResourceGroupsClient(e.boot.SubscriptionID, e.cred, e.armOptions())
	if err != nil {
		t.Fatal(err)
	}

	created, err := groups.CreateOrUpdate(ctx, "rg-sdk", armresources.ResourceGroup{
		Location: to.Ptr("East US"), Tags: map[string]*string{"team": to.Ptr("platform")},
	}, nil)
	if err != nil {
		t.Fatalf("CreateOrUpdate: %v", err)
	}
	if *created.Location != "eastus" || *created.Name != "rg-sdk" || *created.Properties.ProvisioningState != "Succeeded" {
		t.Fatalf("created group = %+v", created.ResourceGroup)
	}

	got, err := groups.Get(ctx, "rg-sdk", nil)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if !strings.EqualFold(*got.ID, e.groupPath("rg-sdk")) || *got.Tags["team"] != "platform" {
		t.Fatalf("group = %+v", got.ResourceGroup)
	}

	found := false
	for pager := groups.NewListPager(nil); pager.More(); {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatalf("list: %v", err)
		}
		for _, g := range page.Value {
			found = found || *g.Name == "rg-sdk"
		}
	}
	if !found {
		t.Fatal("rg-sdk not listed")
	}

	// A group that holds resources is not deleted.
	tok := e.token(e.cred)
	e.mkWorkspace(t, tok, "rg-sdk", "ws-blocker", "eastus")
	if p, err := groups.BeginDelete(ctx, "rg-sdk", nil); err == nil {
		_, err = p.PollUntilDone(ctx, fastPoll)
		expectSDKError(t, err, http.StatusConflict, "ResourceGroupDeletionBlocked")
	} else {
		expectSDKError(t, err, http.StatusConflict, "ResourceGroupDeletionBlocked")
	}
	r := e.do(http.MethodDelete, e.workspacePath("rg-sdk", "ws-blocker")+q(apiSDKMonitor)+"&force=true", tok, "")
	expect(t, r, http.StatusOK, "")

	poller, err := groups.BeginDelete(ctx, "rg-sdk", nil)
	if err != nil {
		t.Fatalf("BeginDelete: %v", err)
	}
	if _, err := poller.PollUntilDone(ctx, fastPoll); err != nil {
		t.Fatalf("delete: %v", err)
	}
	_, err = groups.Get(ctx, "rg-sdk", nil)
	expectSDKError(t, err, http.StatusNotFound, "ResourceGroupNotFound")
}

// TestSDKClusters drives the cluster lifecycle with armoperationalinsights.
func TestSDKClusters(t *testing.T) {
	t.Parallel()
	e, _ := setup(t, options{}, "rg-sdk")
	ctx := context.Background()
	clusters, err := armoperationalinsights.NewClustersClient(e.boot.SubscriptionID, e.cred, e.armOptions())
	if err != nil {
		t.Fatal(err)
	}

	poller, err := clusters.BeginCreateOrUpdate(ctx, "rg-sdk", "sdk-cluster", armoperationalinsights.Cluster{
		Location: to.Ptr("East US"),
		Identity: &armoperationalinsights.ManagedServiceIdentity{Type: to.Ptr(armoperationalinsights.ManagedServiceIdentityTypeSystemAssigned)},
		SKU: &armoperationalinsights.ClusterSKU{
			Name: to.Ptr(armoperationalinsights.ClusterSKUNameEnumCapacityReservation), Capacity: to.Ptr[int64](1000),
		},
		Tags: map[string]*string{"env": to.Ptr("test")},
	}, nil)
	if err != nil {
		t.Fatalf("BeginCreateOrUpdate: %v", err)
	}
	created, err := poller.PollUntilDone(ctx, fastPoll)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if *created.Properties.ProvisioningState != armoperationalinsights.ClusterEntityStatusSucceeded {
		t.Fatalf("state after PollUntilDone = %s", *created.Properties.ProvisioningState)
	}

	got, err := clusters.Get(ctx, "rg-sdk", "sdk-cluster", nil)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	c := got.Cluster
	switch {
	case c.Identity == nil || *c.Identity.Type != armoperationalinsights.ManagedServiceIdentityTypeSystemAssigned:
		t.Fatalf("identity = %+v", c.Identity)
	case !isGUID(*c.Identity.PrincipalID) || *c.Identity.TenantID != e.boot.TenantID:
		t.Fatalf("identity principal %v tenant %v", *c.Identity.PrincipalID, *c.Identity.TenantID)
	case *c.Properties.ProvisioningState != armoperationalinsights.ClusterEntityStatusSucceeded:
		t.Fatalf("provisioningState = %s", *c.Properties.ProvisioningState)
	case *c.SKU.Capacity != 1000 || *c.SKU.Name != armoperationalinsights.ClusterSKUNameEnumCapacityReservation:
		t.Fatalf("sku = %v %v", *c.SKU.Name, *c.SKU.Capacity)
	case !isGUID(*c.Properties.ClusterID) || *c.Location != "eastus" || *c.Name != "sdk-cluster":
		t.Fatalf("cluster = %+v %+v", c, c.Properties)
	case *c.Type != "Microsoft.OperationalInsights/clusters" || *c.Tags["env"] != "test":
		t.Fatalf("type %v tags %v", *c.Type, c.Tags)
	case c.Properties.CapacityReservationProperties == nil || c.Properties.CapacityReservationProperties.LastSKUUpdate == nil:
		t.Fatalf("capacityReservationProperties = %+v", c.Properties.CapacityReservationProperties)
	}
	firstSKUUpdate := *c.Properties.CapacityReservationProperties.LastSKUUpdate

	listed := 0
	for pager := clusters.NewListByResourceGroupPager("rg-sdk", nil); pager.More(); {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatalf("list by group: %v", err)
		}
		for _, c := range page.Value {
			if *c.Name == "sdk-cluster" {
				listed++
			}
		}
	}
	for pager := clusters.NewListPager(nil); pager.More(); {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatalf("list: %v", err)
		}
		for _, c := range page.Value {
			if *c.Name == "sdk-cluster" {
				listed++
			}
		}
	}
	if listed != 2 {
		t.Fatalf("the cluster was listed %d times in two lists", listed)
	}

	time.Sleep(10 * time.Millisecond) // so that lastSkuUpdate visibly moves
	up, err := clusters.BeginUpdate(ctx, "rg-sdk", "sdk-cluster", armoperationalinsights.ClusterPatch{
		SKU: &armoperationalinsights.ClusterSKU{
			Name: to.Ptr(armoperationalinsights.ClusterSKUNameEnumCapacityReservation), Capacity: to.Ptr[int64](1100),
		},
		Tags: map[string]*string{"env": to.Ptr("prod"), "owner": to.Ptr("ops")},
	}, nil)
	if err != nil {
		t.Fatalf("BeginUpdate: %v", err)
	}
	updated, err := up.PollUntilDone(ctx, fastPoll)
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	if *updated.SKU.Capacity != 1100 || *updated.Tags["env"] != "prod" || *updated.Tags["owner"] != "ops" {
		t.Fatalf("updated = sku %v tags %v", *updated.SKU.Capacity, updated.Tags)
	}
	got, err = clusters.Get(ctx, "rg-sdk", "sdk-cluster", nil)
	if err != nil {
		t.Fatal(err)
	}
	if *got.SKU.Capacity != 1100 || !got.Properties.CapacityReservationProperties.LastSKUUpdate.After(firstSKUUpdate) {
		t.Fatalf("after update: capacity %d lastSkuUpdate %v (was %v)", *got.SKU.Capacity,
			*got.Properties.CapacityReservationProperties.LastSKUUpdate, firstSKUUpdate)
	}
	if *got.Properties.ClusterID != *c.Properties.ClusterID || *got.Identity.PrincipalID != *c.Identity.PrincipalID {
		t.Fatal("the update changed the cluster's identity")
	}

	del, err := clusters.BeginDelete(ctx, "rg-sdk", "sdk-cluster", nil)
	if err != nil {
		t.Fatalf("BeginDelete: %v", err)
	}
	if _, err := del.PollUntilDone(ctx, fastPoll); err != nil {
		t.Fatalf("delete: %v", err)
	}
	_, err = clusters.Get(ctx, "rg-sdk", "sdk-cluster", nil)
	expectSDKError(t, err, http.StatusNotFound, "ResourceNotFound")
}

// TestSDKWorkspacesAndSharedKeys drives workspaces and their shared keys.
func TestSDKWorkspacesAndSharedKeys(t *testing.T) {
	t.Parallel()
	e, _ := setup(t, options{}, "rg-sdk")
	ctx := context.Background()
	workspaces, err := armoperationalinsights.NewWorkspacesClient(e.boot.SubscriptionID, e.cred, e.armOptions())
	if err != nil {
		t.Fatal(err)
	}
	keys, err := armoperationalinsights.NewSharedKeysClient(e.boot.SubscriptionID, e.cred, e.armOptions())
	if err != nil {
		t.Fatal(err)
	}

	poller, err := workspaces.BeginCreateOrUpdate(ctx, "rg-sdk", "sdk-ws", armoperationalinsights.Workspace{
		Location: to.Ptr("eastus"),
		Properties: &armoperationalinsights.WorkspaceProperties{
			SKU:             &armoperationalinsights.WorkspaceSKU{Name: to.Ptr(armoperationalinsights.WorkspaceSKUNameEnumPerGB2018)},
			RetentionInDays: to.Ptr[int32](30),
		},
	}, nil)
	if err != nil {
		t.Fatalf("BeginCreateOrUpdate: %v", err)
	}
	created, err := poller.PollUntilDone(ctx, fastPoll)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	customerID := *created.Properties.CustomerID
	if !isGUID(customerID) {
		t.Fatalf("customerId %q is not a GUID", customerID)
	}

	got, err := workspaces.Get(ctx, "rg-sdk", "sdk-ws", nil)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if *got.Properties.CustomerID != customerID || *got.Properties.RetentionInDays != 30 ||
		*got.Properties.SKU.Name != armoperationalinsights.WorkspaceSKUNameEnumPerGB2018 || *got.Location != "eastus" {
		t.Fatalf("workspace = %+v", got.Properties)
	}

	found := 0
	for pager := workspaces.NewListByResourceGroupPager("rg-sdk", nil); pager.More(); {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range page.Value {
			if *w.Name == "sdk-ws" {
				found++
			}
		}
	}
	for pager := workspaces.NewListPager(nil); pager.More(); {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range page.Value {
			if *w.Name == "sdk-ws" {
				found++
			}
		}
	}
	if found != 2 {
		t.Fatalf("the workspace was listed %d times in two lists", found)
	}

	upd, err := workspaces.Update(ctx, "rg-sdk", "sdk-ws", armoperationalinsights.WorkspacePatch{
		Properties: &armoperationalinsights.WorkspaceProperties{RetentionInDays: to.Ptr[int32](90)},
	}, nil)
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	if *upd.Properties.RetentionInDays != 90 || *upd.Properties.CustomerID != customerID {
		t.Fatalf("updated = %+v", upd.Properties)
	}

	// Shared keys: two different base64 keys of 64 bytes.
	sk, err := keys.GetSharedKeys(ctx, "rg-sdk", "sdk-ws", nil)
	if err != nil {
		t.Fatalf("GetSharedKeys: %v", err)
	}
	checkKeys := func(primary, secondary string) {
		t.Helper()
		for _, k := range []string{primary, secondary} {
			b, err := base64.StdEncoding.DecodeString(k)
			if err != nil || len(b) != 64 {
				t.Fatalf("shared key %q: %d bytes, %v", k, len(b), err)
			}
		}
		if primary == secondary {
			t.Fatal("primary and secondary keys are equal")
		}
	}
	checkKeys(*sk.PrimarySharedKey, *sk.SecondarySharedKey)
	again, err := keys.GetSharedKeys(ctx, "rg-sdk", "sdk-ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	if *again.PrimarySharedKey != *sk.PrimarySharedKey || *again.SecondarySharedKey != *sk.SecondarySharedKey {
		t.Fatal("shared keys changed without regeneration")
	}
	regen, err := keys.Regenerate(ctx, "rg-sdk", "sdk-ws", nil)
	if err != nil {
		t.Fatalf("Regenerate: %v", err)
	}
	checkKeys(*regen.PrimarySharedKey, *regen.SecondarySharedKey)
	if *regen.PrimarySharedKey == *sk.PrimarySharedKey || *regen.SecondarySharedKey == *sk.SecondarySharedKey {
		t.Fatal("regenerated keys equal the old ones")
	}
	after, err := keys.GetSharedKeys(ctx, "rg-sdk", "sdk-ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	if *after.PrimarySharedKey != *regen.PrimarySharedKey || *after.SecondarySharedKey != *regen.SecondarySharedKey {
		t.Fatal("GetSharedKeys does not return the regenerated keys")
	}

	del, err := workspaces.BeginDelete(ctx, "rg-sdk", "sdk-ws", nil)
	if err != nil {
		t.Fatalf("BeginDelete: %v", err)
	}
	if _, err := del.PollUntilDone(ctx, fastPoll); err != nil {
		t.Fatalf("delete: %v", err)
	}
	_, err = workspaces.Get(ctx, "rg-sdk", "sdk-ws", nil)
	expectSDKError(t, err, http.StatusNotFound, "ResourceNotFound")

	// A soft-deleted workspace is recovered by creating it again: same
	// customerId and keys. A forced delete is final.
	recreate := func() string {
		t.Helper()
		p, err := workspaces.BeginCreateOrUpdate(ctx, "rg-sdk", "sdk-ws", armoperationalinsights.Workspace{Location: to.Ptr("eastus")}, nil)
		if err != nil {
			t.Fatalf("recreate: %v", err)
		}
		w, err := p.PollUntilDone(ctx, fastPoll)
		if err != nil {
			t.Fatalf("recreate poll: %v", err)
		}
		return *w.Properties.CustomerID
	}
	if got := recreate(); got != customerID {
		t.Fatalf("recovered workspace has customerId %s, was %s", got, customerID)
	}
	recovered, err := keys.GetSharedKeys(ctx, "rg-sdk", "sdk-ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	if *recovered.PrimarySharedKey != *regen.PrimarySharedKey {
		t.Fatal("recovered workspace has other shared keys")
	}
	del, err = workspaces.BeginDelete(ctx, "rg-sdk", "sdk-ws", &armoperationalinsights.WorkspacesClientBeginDeleteOptions{Force: to.Ptr(true)})
	if err != nil {
		t.Fatalf("forced delete: %v", err)
	}
	if _, err := del.PollUntilDone(ctx, fastPoll); err != nil {
		t.Fatalf("forced delete: %v", err)
	}
	if got := recreate(); got == customerID {
		t.Fatal("a force-deleted workspace came back with its customerId")
	}
}

// TestSDKLinkedServices links and unlinks a workspace with the SDK and checks
// both sides of the association.
func TestSDKLinkedServices(t *testing.T) {
	t.Parallel()
	e, tok := setup(t, options{}, "rg-sdk")
	ctx := context.Background()
	opts := e.armOptions()
	clusters, _ := armoperationalinsights.NewClustersClient(e.boot.SubscriptionID, e.cred, opts)
	workspaces, _ := armoperationalinsights.NewWorkspacesClient(e.boot.SubscriptionID, e.cred, opts)
	links, err := armoperationalinsights.NewLinkedServicesClient(e.boot.SubscriptionID, e.cred, opts)
	if err != nil {
		t.Fatal(err)
	}
	cluster := e.readyCluster(t, tok, "rg-sdk", "sdk-cluster", "eastus", "LogAnalytics")
	clusterID := cluster["id"].(string)
	ws := e.mkWorkspace(t, tok, "rg-sdk", "sdk-ws", "eastus")
	customerID := str(t, ws, "properties", "customerId")

	poller, err := links.BeginCreateOrUpdate(ctx, "rg-sdk", "sdk-ws", "cluster", armoperationalinsights.LinkedService{
		Properties: &armoperationalinsights.LinkedServiceProperties{WriteAccessResourceID: to.Ptr(clusterID)},
	}, nil)
	if err != nil {
		t.Fatalf("link: %v", err)
	}
	linked, err := poller.PollUntilDone(ctx, fastPoll)
	if err != nil {
		t.Fatalf("link poll: %v", err)
	}
	if !strings.EqualFold(*linked.Properties.WriteAccessResourceID, clusterID) || *linked.Name != "sdk-ws/cluster" {
		t.Fatalf("linked service = %+v %+v", linked.LinkedService, linked.Properties)
	}

	got, err := links.Get(ctx, "rg-sdk", "sdk-ws", "cluster", nil)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if !strings.EqualFold(*got.Properties.WriteAccessResourceID, clusterID) ||
		*got.Properties.ProvisioningState != armoperationalinsights.LinkedServiceEntityStatusSucceeded {
		t.Fatalf("linked service = %+v", got.Properties)
	}
	n := 0
	for pager := links.NewListByWorkspacePager("rg-sdk", "sdk-ws", nil); pager.More(); {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n += len(page.Value)
	}
	if n != 1 {
		t.Fatalf("%d linked services listed", n)
	}

	w, err := workspaces.Get(ctx, "rg-sdk", "sdk-ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	if w.Properties.Features == nil || w.Properties.Features.ClusterResourceID == nil ||
		!strings.EqualFold(*w.Properties.Features.ClusterResourceID, clusterID) {
		t.Fatalf("workspace features after link = %+v", w.Properties.Features)
	}
	c, err := clusters.Get(ctx, "rg-sdk", "sdk-cluster", nil)
	if err != nil {
		t.Fatal(err)
	}
	if a := c.Properties.AssociatedWorkspaces; len(a) != 1 || *a[0].WorkspaceID != customerID ||
		*a[0].WorkspaceName != "sdk-ws" || !strings.EqualFold(*a[0].ResourceID, e.workspacePath("rg-sdk", "sdk-ws")) {
		t.Fatalf("associatedWorkspaces = %v", a)
	}

	del, err := links.BeginDelete(ctx, "rg-sdk", "sdk-ws", "cluster", nil)
	if err != nil {
		t.Fatalf("unlink: %v", err)
	}
	if _, err := del.PollUntilDone(ctx, fastPoll); err != nil {
		t.Fatalf("unlink poll: %v", err)
	}
	w, err = workspaces.Get(ctx, "rg-sdk", "sdk-ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	if w.Properties.Features != nil && w.Properties.Features.ClusterResourceID != nil {
		t.Fatalf("workspace still shows clusterResourceId %s", *w.Properties.Features.ClusterResourceID)
	}
	c, err = clusters.Get(ctx, "rg-sdk", "sdk-cluster", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Properties.AssociatedWorkspaces) != 0 {
		t.Fatalf("cluster still shows associated workspaces %v", c.Properties.AssociatedWorkspaces)
	}
	_, err = links.Get(ctx, "rg-sdk", "sdk-ws", "cluster", nil)
	expectSDKError(t, err, http.StatusNotFound, "")
}

// TestSDKComponents drives Application Insights components with
// armapplicationinsights, and their association with clusters with the
// seed's request.
func TestSDKComponents(t *testing.T) {
	t.Parallel()
	e, tok := setup(t, options{}, "rg-ai")
	ctx := context.Background()
	components, err := armapplicationinsights.NewComponentsClient(e.boot.SubscriptionID, e.cred, e.armOptions())
	if err != nil {
		t.Fatal(err)
	}
	// Start the clusters first: they provision while the SDK works.
	e.mkCluster(t, tok, "rg-ai", "ai-cluster", "eastus", "ApplicationInsights")
	e.mkCluster(t, tok, "rg-ai", "la-cluster", "eastus", "LogAnalytics")

	created, err := components.CreateOrUpdate(ctx, "rg-ai", "sdk-app", armapplicationinsights.Component{
		Kind: to.Ptr("web"), Location: to.Ptr("East US"),
		Properties: &armapplicationinsights.ComponentProperties{ApplicationType: to.Ptr(armapplicationinsights.ApplicationTypeWeb)},
	}, nil)
	if err != nil {
		t.Fatalf("CreateOrUpdate: %v", err)
	}
	p := created.Properties
	switch {
	case !isGUID(*p.AppID) || !isGUID(*p.InstrumentationKey):
		t.Fatalf("AppId %q InstrumentationKey %q", *p.AppID, *p.InstrumentationKey)
	case !strings.Contains(*p.ConnectionString, "InstrumentationKey="+*p.InstrumentationKey):
		t.Fatalf("ConnectionString %q", *p.ConnectionString)
	case *p.ApplicationType != armapplicationinsights.ApplicationTypeWeb || *created.Kind != "web" || *created.Location != "eastus":
		t.Fatalf("component = %+v", created.Component)
	}

	got, err := components.Get(ctx, "rg-ai", "sdk-app", nil)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if *got.Properties.AppID != *p.AppID || *got.Properties.InstrumentationKey != *p.InstrumentationKey {
		t.Fatal("Get returns other keys than CreateOrUpdate")
	}
	n := 0
	for pager := components.NewListPager(nil); pager.More(); {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range page.Value {
			if *c.Name == "sdk-app" {
				n++
			}
		}
	}
	if n != 1 {
		t.Fatalf("component listed %d times", n)
	}

	// Association, with the seed's request.
	ai := e.waitCluster(t, tok, "rg-ai", "ai-cluster")
	la := e.waitCluster(t, tok, "rg-ai", "la-cluster")
	assoc := func(clusterID string) response {
		return e.do(http.MethodPut, e.componentPath("rg-ai", "sdk-app")+q(apiSeedComponent), tok, `{
  "properties": {
    "clusterDefinitionId": "`+clusterID+`"
  },
  "location": "eastus",
  "kind": "web"
}`)
	}
	r := assoc(str(t, la, "properties", "clusterId"))
	expect(t, r, http.StatusBadRequest, "InvalidClusterType")
	r = assoc(str(t, ai, "properties", "clusterId"))
	expect(t, r, http.StatusOK, "")
	if got := str(t, r.json(t), "properties", "clusterDefinitionId"); got != str(t, ai, "properties", "clusterId") {
		t.Fatalf("clusterDefinitionId = %q", got)
	}
	r = e.do(http.MethodGet, e.componentPath("rg-ai", "sdk-app")+q(apiSeedComponent), tok, "")
	expect(t, r, http.StatusOK, "")
	if got := str(t, r.json(t), "properties", "clusterDefinitionId"); got != str(t, ai, "properties", "clusterId") {
		t.Fatalf("clusterDefinitionId after GET = %q", got)
	}

	if _, err := components.Delete(ctx, "rg-ai", "sdk-app", nil); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	_, err = components.Get(ctx, "rg-ai", "sdk-app", nil)
	expectSDKError(t, err, http.StatusNotFound, "ResourceNotFound")
}
