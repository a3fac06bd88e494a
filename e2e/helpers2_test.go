package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/google/uuid"

	"github.com/kustodian/kustodian/internal/server"
)

// api-versions used by the tests: the seed's and the SDKs'.
const (
	apiSeedCluster   = "2019-08-01-preview" // clusters and linked services in the seed
	apiSeedWorkspace = "2015-11-01-preview" // workspaces in the seed
	apiSeedComponent = "2015-05-01"         // components in the seed
	apiSDKMonitor    = "2025-07-01"         // armoperationalinsights/v2
	apiSDKComponent  = "2020-02-02"         // armapplicationinsights
	apiSDKGroups     = "2021-04-01"         // armresources
	apiAuthorization = "2022-04-01"
	apiFeatures      = "2021-07-01"
)

// Built-in role definition GUIDs.
const (
	roleOwner       = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
	roleContributor = "b24988ac-6180-42a0-ab88-20f7382dd24c"
	roleReader      = "acdd72a7-3d48-4b3d-a1ac-b75ea7cdf3d4"
)

// pollDeadline bounds every wait for an asynchronous state change.
const pollDeadline = 15 * time.Second

// subPath returns /subscriptions/{bootstrap subscription}.
func (e *env) subPath() string { return "/subscriptions/" + e.boot.SubscriptionID }

func (e *env) groupPath(rg string) string { return e.subPath() + "/resourceGroups/" + rg }

func (e *env) clusterPath(rg, name string) string {
	return e.groupPath(rg) + "/providers/Microsoft.OperationalInsights/clusters/" + name
}

func (e *env) workspacePath(rg, name string) string {
	return e.groupPath(rg) + "/providers/Microsoft.OperationalInsights/workspaces/" + name
}

func (e *env) componentPath(rg, name string) string {
	return e.groupPath(rg) + "/providers/Microsoft.Insights/components/" + name
}

func (e *env) featurePath() string {
	return e.subPath() + "/providers/Microsoft.Features/providers/Microsoft.OperationalInsights/features/CustomerManagedKey"
}

// registerFeature registers the CMK feature (auto approval) and checks that
// it is Registered.
func (e *env) registerFeature(t testing.TB, tok string) {
	t.Helper()
	r := e.do(http.MethodPost, e.featurePath()+"/register"+q(apiFeatures), tok, "")
	expect(t, r, http.StatusOK, "")
	if st := str(t, r.json(t), "properties", "state"); st != "Registered" {
		t.Fatalf("feature state after register = %q", st)
	}
}

// mkGroup creates a resource group.
func (e *env) mkGroup(t testing.TB, tok, rg, location string) {
	t.Helper()
	r := e.do(http.MethodPut, e.groupPath(rg)+q(apiSDKGroups), tok, fmt.Sprintf(`{"location":%q}`, location))
	if r.status != http.StatusCreated && r.status != http.StatusOK {
		t.Fatalf("create group %s: %d %s", rg, r.status, r.body)
	}
}

// clusterBody is a cluster PUT body in the seed's shape.
func clusterBody(location, clusterType string, capacity int) string {
	return fmt.Sprintf(`{"identity":{"type":"SystemAssigned"},"sku":{"name":"CapacityReservation","capacity":%d},"properties":{"clusterType":%q},"location":%q}`,
		capacity, clusterType, location)
}

// mkCluster starts the creation of a cluster (202) and returns its body.
func (e *env) mkCluster(t testing.TB, tok, rg, name, location, clusterType string) map[string]any {
	t.Helper()
	r := e.do(http.MethodPut, e.clusterPath(rg, name)+q(apiSeedCluster), tok, clusterBody(location, clusterType, 1000))
	expect(t, r, http.StatusAccepted, "")
	return r.json(t)
}

// waitCluster polls a cluster until it is Succeeded and returns it (in the
// seed's api-version).
func (e *env) waitCluster(t testing.TB, tok, rg, name string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(pollDeadline)
	for {
		r := e.do(http.MethodGet, e.clusterPath(rg, name)+q(apiSeedCluster), tok, "")
		expect(t, r, http.StatusOK, "")
		c := r.json(t)
		st := str(t, c, "properties", "provisioningState")
		if st == "Succeeded" {
			return c
		}
		if st != "ProvisioningAccount" || time.Now().After(deadline) {
			t.Fatalf("cluster %s state = %q", name, st)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// readyCluster creates a cluster and waits until it is provisioned.
func (e *env) readyCluster(t testing.TB, tok, rg, name, location, clusterType string) map[string]any {
	t.Helper()
	e.mkCluster(t, tok, rg, name, location, clusterType)
	return e.waitCluster(t, tok, rg, name)
}

// mkWorkspace creates a workspace (201) and returns its body.
func (e *env) mkWorkspace(t testing.TB, tok, rg, name, location string) map[string]any {
	t.Helper()
	r := e.do(http.MethodPut, e.workspacePath(rg, name)+q(apiSeedWorkspace), tok,
		fmt.Sprintf(`{"location":%q,"properties":{"sku":{"name":"PerGB2018"}}}`, location))
	expect(t, r, http.StatusCreated, "")
	return r.json(t)
}

// linkBody is the seed's linked service body for a cluster id.
func linkBody(clusterID string) string {
	return fmt.Sprintf(`{"properties":{"WriteAccessResourceId":%q}}`, clusterID)
}

// link links a workspace to a cluster with the seed's request.
func (e *env) link(tok, rg, ws, clusterID string) response {
	return e.do(http.MethodPut, e.workspacePath(rg, ws)+"/linkedservices/cluster"+q(apiSeedCluster), tok, linkBody(clusterID))
}

// setup starts a server, registers the CMK feature and creates resource
// groups (all in eastus); it returns the env and the bootstrap Owner's token.
func setup(t testing.TB, o options, groups ...string) (*env, string) {
	t.Helper()
	e := start(t, o)
	tok := e.token(e.cred)
	e.registerFeature(t, tok)
	for _, g := range groups {
		e.mkGroup(t, tok, g, "eastus")
	}
	return e, tok
}

// at walks nested JSON objects.
func at(t testing.TB, m map[string]any, keys ...string) any {
	t.Helper()
	var v any = m
	for i, k := range keys {
		o, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("%s is not an object in %v", strings.Join(keys[:i], "."), m)
		}
		v = o[k]
	}
	return v
}

// str returns a nested string member ("" when absent).
func str(t testing.TB, m map[string]any, keys ...string) string {
	t.Helper()
	s, _ := at(t, m, keys...).(string)
	return s
}

func isGUID(s string) bool {
	_, err := uuid.Parse(s)
	return err == nil && len(s) == 36
}

// statusOf returns the HTTP status and ARM error code of an SDK error.
func statusOf(err error) (int, string) {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode, re.ErrorCode
	}
	return 0, ""
}

// expectSDKError fails unless err is a ResponseError with the status (and
// code, when set).
func expectSDKError(t testing.TB, err error, status int, code string) {
	t.Helper()
	st, c := statusOf(err)
	if st != status || (code != "" && c != code) {
		t.Fatalf("error = %v; want %d %s", err, status, code)
	}
}

// createPrincipal creates a service principal in the running server's data
// directory, as the admin CLI does, and returns its client id, secret and
// object id.
func (e *env) createPrincipal(t testing.TB, name string) (clientID, secret, objectID string) {
	t.Helper()
	ctx := context.Background()
	st, err := server.OpenState(ctx, e.dataDir, "")
	if err != nil {
		t.Fatal(err)
	}
	clientID, secret, objectID, err = st.CreatePrincipal(ctx, name, time.Now())
	if cerr := st.Close(); cerr != nil && err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	return clientID, secret, objectID
}

// newPrincipal creates a service principal and returns its credential and
// object id.
func (e *env) newPrincipal(t testing.TB, name string) (azcore.TokenCredential, string) {
	t.Helper()
	clientID, secret, objectID := e.createPrincipal(t, name)
	return e.credential(clientID, secret), objectID
}

// assign grants a built-in role to a principal at a scope, as tok.
func (e *env) assign(t testing.TB, tok, scope, role, principalID string) response {
	t.Helper()
	body := fmt.Sprintf(`{"properties":{"roleDefinitionId":"%s/providers/Microsoft.Authorization/roleDefinitions/%s","principalId":%q}}`,
		e.subPath(), role, principalID)
	return e.do(http.MethodPut, scope+"/providers/Microsoft.Authorization/roleAssignments/"+uuid.NewString()+q(apiAuthorization), tok, body)
}
