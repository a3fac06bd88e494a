package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/operationalinsights/armoperationalinsights/v2"
)

// tamperPayload re-encodes a JWT's payload after edit, keeping the original
// header and signature (which no longer match).
func tamperPayload(t testing.TB, tok string, edit func(claims map[string]any)) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(raw, &claims); err != nil {
		t.Fatal(err)
	}
	edit(claims)
	raw, err = json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	parts[1] = base64.RawURLEncoding.EncodeToString(raw)
	return strings.Join(parts, ".")
}

// flipSignature changes one character in the middle of a JWT's signature.
func flipSignature(tok string) string {
	i := strings.LastIndexByte(tok, '.')
	sig := []byte(tok[i+1:])
	j := len(sig) / 2
	if sig[j] == 'A' {
		sig[j] = 'B'
	} else {
		sig[j] = 'A'
	}
	return tok[:i+1] + string(sig)
}

// TestAuthTokens: every Resource Manager request needs a valid bearer token
// of this server's tenant for the Resource Manager audience.
func TestAuthTokens(t *testing.T) {
	t.Parallel()
	e := start(t, options{})
	other := start(t, options{}) // another tenant, another signing key
	valid := e.token(e.cred)
	queryTok, err := e.cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{e.boot.QueryAudience + "/.default"}})
	if err != nil {
		t.Fatalf("query token: %v", err)
	}

	path := e.subPath() + "/providers/Microsoft.OperationalInsights/clusters" + q(apiSeedCluster)
	expect(t, e.do(http.MethodGet, path, valid, ""), http.StatusOK, "")

	cases := []struct {
		name, token, code string
	}{
		{"no token", "", "AuthenticationFailed"},
		{"garbage", "not-a-token", "InvalidAuthenticationToken"},
		{"three garbage parts", "abc.def.ghi", "InvalidAuthenticationToken"},
		{"altered signature", flipSignature(valid), "InvalidAuthenticationToken"},
		{"no signature", valid[:strings.LastIndexByte(valid, '.')+1], "InvalidAuthenticationToken"},
		{"expired (payload edited)", tamperPayload(t, valid, func(c map[string]any) {
			c["exp"] = time.Now().Add(-time.Hour).Unix()
		}), "InvalidAuthenticationToken"},
		{"extended (payload edited)", tamperPayload(t, valid, func(c map[string]any) {
			c["exp"] = time.Now().Add(24 * time.Hour).Unix()
		}), "InvalidAuthenticationToken"},
		{"other principal (payload edited)", tamperPayload(t, valid, func(c map[string]any) {
			c["oid"] = other.boot.ClientID
		}), "InvalidAuthenticationToken"},
		{"query audience", queryTok.Token, "InvalidAuthenticationToken"},
		{"unknown tenant", other.token(other.cred), "InvalidAuthenticationToken"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, m := range []struct{ method, path, body string }{
				{http.MethodGet, path, ""},
				{http.MethodPut, e.groupPath("rg-auth") + q(apiSDKGroups), `{"location":"eastus"}`},
				{http.MethodPost, e.featurePath() + "/register" + q(apiFeatures), ""},
			} {
				r := e.do(m.method, m.path, c.token, m.body)
				expect(t, r, http.StatusUnauthorized, c.code)
				if h := r.header.Get("WWW-Authenticate"); !strings.HasPrefix(h, "Bearer") {
					t.Fatalf("WWW-Authenticate = %q", h)
				}
			}
		})
	}
	// Nothing was created by the refused requests.
	expect(t, e.do(http.MethodGet, e.groupPath("rg-auth")+q(apiSDKGroups), valid, ""), http.StatusNotFound, "ResourceGroupNotFound")

	// Other schemes are no bearer tokens.
	for _, h := range []string{"Basic dXNlcjpwYXNz", "Bearer", "bearer  " + valid + " extra", valid} {
		req, err := http.NewRequest(http.MethodGet, e.endpoint+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", h)
		resp, err := e.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("Authorization %.12q...: %d %v", h, resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
		}
	}
	// The scheme is case-insensitive.
	req, _ := http.NewRequest(http.MethodGet, e.endpoint+path, nil)
	req.Header.Set("Authorization", "bearer "+valid)
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("lower-case bearer scheme: %d", resp.StatusCode)
	}
}

// TestAuthRoles: the role-based authorization matrix.
func TestAuthRoles(t *testing.T) {
	t.Parallel()
	e, owner := setup(t, options{}, "rg-a", "rg-b")
	e.mkCluster(t, owner, "rg-a", "cluster-a", "eastus", "LogAnalytics")
	e.mkCluster(t, owner, "rg-b", "cluster-b", "eastus", "LogAnalytics")
	e.mkWorkspace(t, owner, "rg-a", "ws-a", "eastus")
	e.mkWorkspace(t, owner, "rg-b", "ws-b", "eastus")
	clusterA := e.waitCluster(t, owner, "rg-a", "cluster-a")["id"].(string)
	clusterB := e.waitCluster(t, owner, "rg-b", "cluster-b")["id"].(string)

	readerCred, readerID := e.newPrincipal(t, "reader")
	contribCred, contribID := e.newPrincipal(t, "contributor")
	reader, contrib := e.token(readerCred), e.token(contribCred)

	clusterList := e.subPath() + "/providers/Microsoft.OperationalInsights/clusters" + q(apiSeedCluster)
	clusterUpdate := func(tok, rg, name string) response {
		return e.do(http.MethodPut, e.clusterPath(rg, name)+q(apiSeedCluster), tok, clusterBody("eastus", "LogAnalytics", 1000))
	}
	denied := func(t *testing.T, r response) {
		t.Helper()
		expect(t, r, http.StatusForbidden, "AuthorizationFailed")
	}

	t.Run("no role", func(t *testing.T) {
		denied(t, e.do(http.MethodGet, clusterList, reader, ""))
		denied(t, clusterUpdate(reader, "rg-a", "cluster-a"))
		denied(t, clusterUpdate(reader, "rg-a", "new-cluster"))
		denied(t, e.do(http.MethodGet, e.clusterPath("rg-a", "cluster-a")+q(apiSeedCluster), reader, ""))
		denied(t, e.do(http.MethodGet, e.groupPath("rg-a")+q(apiSDKGroups), reader, ""))
		denied(t, e.do(http.MethodPut, e.groupPath("rg-c")+q(apiSDKGroups), reader, `{"location":"eastus"}`))
		denied(t, e.assign(t, reader, e.subPath(), roleOwner, readerID))
		// The SDK surfaces the same 403.
		clusters, err := armoperationalinsights.NewClustersClient(e.boot.SubscriptionID, readerCred, e.armOptions())
		if err != nil {
			t.Fatal(err)
		}
		_, err = clusters.Get(context.Background(), "rg-a", "cluster-a", nil)
		expectSDKError(t, err, http.StatusForbidden, "AuthorizationFailed")
		// Lists of groups are filtered, not refused.
		r := e.do(http.MethodGet, e.subPath()+"/resourcegroups"+q(apiSDKGroups), reader, "")
		expect(t, r, http.StatusOK, "")
		if n := len(r.json(t)["value"].([]any)); n != 0 {
			t.Fatalf("a principal without roles sees %d groups", n)
		}
	})

	// Reader at subscription scope, granted by the bootstrap Owner.
	expect(t, e.assign(t, owner, e.subPath(), roleReader, readerID), http.StatusCreated, "")
	t.Run("reader at subscription", func(t *testing.T) {
		r := e.do(http.MethodGet, clusterList, reader, "")
		expect(t, r, http.StatusOK, "")
		if n := len(r.json(t)["value"].([]any)); n != 2 {
			t.Fatalf("reader lists %d clusters", n)
		}
		for _, p := range []string{
			e.clusterPath("rg-a", "cluster-a") + q(apiSeedCluster),
			e.clusterPath("rg-b", "cluster-b") + q(apiSDKMonitor),
			e.workspacePath("rg-b", "ws-b") + q(apiSeedWorkspace),
			e.workspacePath("rg-a", "ws-a") + "/linkedServices" + q(apiSDKMonitor),
			e.groupPath("rg-a") + q(apiSDKGroups),
			e.featurePath() + q(apiFeatures),
			e.subPath() + "/providers/Microsoft.Authorization/roleAssignments" + q(apiAuthorization),
		} {
			expect(t, e.do(http.MethodGet, p, reader, ""), http.StatusOK, "")
		}
		denied(t, clusterUpdate(reader, "rg-a", "cluster-a"))
		denied(t, e.do(http.MethodPatch, e.clusterPath("rg-a", "cluster-a")+q(apiSDKMonitor), reader, `{"tags":{"x":"y"}}`))
		denied(t, e.do(http.MethodDelete, e.clusterPath("rg-a", "cluster-a")+q(apiSeedCluster), reader, ""))
		denied(t, e.do(http.MethodPut, e.workspacePath("rg-a", "ws-new")+q(apiSeedWorkspace), reader, `{"location":"eastus"}`))
		denied(t, e.do(http.MethodPost, e.workspacePath("rg-a", "ws-a")+"/sharedKeys"+q(apiSDKMonitor), reader, ""))
		denied(t, e.do(http.MethodPost, e.workspacePath("rg-a", "ws-a")+"/regenerateSharedKey"+q(apiSDKMonitor), reader, ""))
		denied(t, e.link(reader, "rg-a", "ws-a", clusterA))
		denied(t, e.do(http.MethodPost, e.featurePath()+"/register"+q(apiFeatures), reader, ""))
		denied(t, e.assign(t, reader, e.groupPath("rg-a"), roleContributor, readerID))
		// The denial did not change anything.
		r = e.do(http.MethodGet, e.clusterPath("rg-a", "cluster-a")+q(apiSeedCluster), owner, "")
		expect(t, r, http.StatusOK, "")
	})

	// Contributor on rg-a only.
	expect(t, e.assign(t, owner, e.groupPath("rg-a"), roleContributor, contribID), http.StatusCreated, "")
	t.Run("contributor at group", func(t *testing.T) {
		r := e.do(http.MethodPut, e.workspacePath("rg-a", "ws-contrib")+q(apiSeedWorkspace), contrib, `{"location":"eastus"}`)
		expect(t, r, http.StatusCreated, "")
		// The grant applies whatever the casing of the path.
		r = e.do(http.MethodPut, e.subPath()+"/resourcegroups/RG-A/providers/microsoft.operationalinsights/workspaces/ws-upper"+q(apiSDKMonitor), contrib, `{"location":"eastus"}`)
		expect(t, r, http.StatusCreated, "")
		expect(t, clusterUpdate(contrib, "rg-a", "cluster-a"), http.StatusOK, "")
		expect(t, e.do(http.MethodPost, e.workspacePath("rg-a", "ws-a")+"/sharedKeys"+q(apiSDKMonitor), contrib, ""), http.StatusOK, "")
		expect(t, e.do(http.MethodGet, e.clusterPath("rg-a", "cluster-a")+q(apiSeedCluster), contrib, ""), http.StatusOK, "")

		denied(t, e.do(http.MethodPut, e.workspacePath("rg-b", "ws-contrib")+q(apiSeedWorkspace), contrib, `{"location":"eastus"}`))
		denied(t, clusterUpdate(contrib, "rg-b", "cluster-b"))
		denied(t, e.do(http.MethodGet, e.clusterPath("rg-b", "cluster-b")+q(apiSeedCluster), contrib, ""))
		denied(t, e.do(http.MethodPost, e.workspacePath("rg-b", "ws-b")+"/sharedKeys"+q(apiSDKMonitor), contrib, ""))
		// Contributor cannot manage access, even in its own group.
		denied(t, e.assign(t, contrib, e.groupPath("rg-a"), roleReader, readerID))
		denied(t, e.assign(t, contrib, e.groupPath("rg-a"), roleOwner, contribID))

		// Linking needs write on the workspace and on the cluster.
		r = e.link(contrib, "rg-a", "ws-a", clusterB)
		denied(t, r)
		if msg := str(t, r.json(t), "error", "message"); !strings.Contains(strings.ToLower(msg), "clusters/cluster-b") {
			t.Fatalf("the 403 does not name the cluster: %s", msg)
		}
		denied(t, e.link(contrib, "rg-b", "ws-b", clusterA))
		r = e.do(http.MethodGet, e.workspacePath("rg-a", "ws-a")+q(apiSDKMonitor), owner, "")
		if str(t, r.json(t), "properties", "features", "clusterResourceId") != "" {
			t.Fatal("a refused link linked the workspace")
		}
		// With write on both (same group), the link works.
		r = e.link(contrib, "rg-a", "ws-a", clusterA)
		if r.status != http.StatusAccepted {
			t.Fatalf("link with write on both: %d %s", r.status, r.body)
		}
		// Unlinking needs write on the workspace only.
		denied(t, e.do(http.MethodDelete, e.workspacePath("rg-a", "ws-a")+"/linkedServices/cluster"+q(apiSDKMonitor), reader, ""))
		expect(t, e.do(http.MethodDelete, e.workspacePath("rg-a", "ws-a")+"/linkedServices/cluster"+q(apiSDKMonitor), contrib, ""), http.StatusOK, "")
	})

	// Removing the assignment removes the access.
	t.Run("revoked", func(t *testing.T) {
		r := e.do(http.MethodGet, e.groupPath("rg-a")+"/providers/Microsoft.Authorization/roleAssignments"+q(apiAuthorization)+"&$filter=principalId+eq+'"+contribID+"'", owner, "")
		expect(t, r, http.StatusOK, "")
		var id string
		for _, a := range r.json(t)["value"].([]any) {
			a := a.(map[string]any)
			if strings.EqualFold(str(t, a, "properties", "scope"), e.groupPath("rg-a")) {
				id = a["id"].(string)
			}
		}
		if id == "" {
			t.Fatalf("contributor assignment not listed: %s", r.body)
		}
		expect(t, e.do(http.MethodDelete, id+q(apiAuthorization), owner, ""), http.StatusOK, "")
		denied(t, e.do(http.MethodPut, e.workspacePath("rg-a", "ws-late")+q(apiSeedWorkspace), contrib, `{"location":"eastus"}`))
	})
}

// TestAuthFilteredSubscriptionLists: as in Resource Manager, a principal with
// rights on one resource group only may list a resource type at subscription
// scope and sees the resources it may read (the SDKs' NewListPager); it is
// not refused outright.
func TestAuthFilteredSubscriptionLists(t *testing.T) {
	t.Parallel()
	e, owner := setup(t, options{}, "rg-a", "rg-b")
	e.mkCluster(t, owner, "rg-a", "cluster-a", "eastus", "LogAnalytics")
	e.mkCluster(t, owner, "rg-b", "cluster-b", "eastus", "LogAnalytics")
	e.mkWorkspace(t, owner, "rg-a", "ws-a", "eastus")
	e.mkWorkspace(t, owner, "rg-b", "ws-b", "eastus")
	cred, id := e.newPrincipal(t, "group-reader")
	expect(t, e.assign(t, owner, e.groupPath("rg-a"), roleReader, id), http.StatusCreated, "")
	tok := e.token(cred)

	for _, c := range []struct{ path, want string }{
		{e.subPath() + "/providers/Microsoft.OperationalInsights/clusters" + q(apiSDKMonitor), "cluster-a"},
		{e.subPath() + "/providers/Microsoft.OperationalInsights/workspaces" + q(apiSDKMonitor), "ws-a"},
		{e.subPath() + "/resourcegroups" + q(apiSDKGroups), "rg-a"},
	} {
		r := e.do(http.MethodGet, c.path, tok, "")
		if r.status != http.StatusOK {
			t.Errorf("GET %s: %d %s", c.path, r.status, r.body)
			continue
		}
		v := r.json(t)["value"].([]any)
		if len(v) != 1 || v[0].(map[string]any)["name"] != c.want {
			t.Errorf("GET %s lists %s; want only %s", c.path, r.body, c.want)
		}
	}
}
