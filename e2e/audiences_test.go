package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// Each surface accepts every audience Azure accepts for its service, as the
// clients spell them, and refuses the other surfaces' audiences; a token
// names the audience it was asked for.
func TestAudiencesPerSurface(t *testing.T) {
	e, tok := setup(t, options{}, "rg1")
	e.mkWorkspace(t, tok, "rg1", "ws-aud", "eastus")
	customerID, _ := e.workspaceKeys(t, tok, "rg1", "ws-aud")
	v := e.newVault(t, tok, "rg1", "kv-aud", true)
	e.createKey(t, v, "k", 2048)

	surfaces := map[string]func(tok string) response{
		"arm": func(tok string) response {
			return e.do(http.MethodGet, e.subPath()+"/resourcegroups"+q("2021-04-01"), tok, "")
		},
		"query": func(tok string) response {
			return e.do(http.MethodPost, "/v1/workspaces/"+customerID+"/query", tok, `{"query":"Heartbeat | count"}`)
		},
		"vault": func(tok string) response { return e.do(http.MethodGet, v.uri+"keys/k?api-version=7.4", tok, "") },
	}
	tests := []struct {
		scope   string // as the client asks
		surface string // the one surface that accepts it
	}{
		{"https://management.azure.com/.default", "arm"},                          // the Go, Python and JS SDKs
		{"https://management.azure.com//.default", "arm"},                         // a resource with its slash
		{"https://management.core.windows.net//.default", "arm"},                  // the Azure CLI
		{"https://api.loganalytics.io/.default", "query"},                         // azlogs
		{"https://api.loganalytics.azure.com/.default", "query"},                  // the documented newer audience
		{e.endpoint + "/.default", "query"},                                       // Python LogsQueryClient given an endpoint
		{e.vaultAudience() + "/.default", "vault"},                                // the challenge's resource
		{strings.TrimSuffix(e.vaultAudience(), portOf(e)) + "/.default", "vault"}, // the DNS suffix alone
		{"https://vault.azure.net/.default", "vault"},                             // Azure's own
	}
	for _, tt := range tests {
		t.Run(tt.scope, func(t *testing.T) {
			tk, err := e.cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{tt.scope}})
			if err != nil {
				t.Fatalf("token: %v", err)
			}
			claims := map[string]any{}
			tamperPayload(t, tk.Token, func(c map[string]any) { claims = c })
			if want := strings.TrimSuffix(tt.scope, "/.default"); claims["aud"] != want {
				t.Errorf("aud = %v, want %s", claims["aud"], want)
			}
			for name, call := range surfaces {
				r := call(tk.Token)
				if want := name == tt.surface; (r.status == http.StatusOK) != want {
					t.Errorf("%s: status %d, accepted want %v: %s", name, r.status, want, r.body)
				}
			}
		})
	}

	// A service Kustodian does not serve has no token.
	if _, err := e.cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{"https://graph.microsoft.com/.default"}}); err == nil {
		t.Error("token for Microsoft Graph issued")
	}
}

// portOf returns ":PORT" of the server's endpoint.
func portOf(e *env) string { return e.endpoint[strings.LastIndexByte(e.endpoint, ':'):] }

// azidentity works against the AD FS-style authority as well as against the
// tenant's: tenant "adfs", the same authority host.
func TestADFSAuthorityWithAzidentity(t *testing.T) {
	e := start(t, options{})
	cred, err := azidentity.NewClientSecretCredential("adfs", e.boot.ClientID, e.boot.ClientSecret, &azidentity.ClientSecretCredentialOptions{
		ClientOptions:            azcore.ClientOptions{Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: e.boot.AuthorityHost}, Transport: e.client},
		DisableInstanceDiscovery: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	tok := e.token(cred)
	expect(t, e.do(http.MethodGet, e.subPath()+q("2022-12-01"), tok, ""), http.StatusOK, "")
	claims := map[string]any{}
	tamperPayload(t, tok, func(c map[string]any) { claims = c })
	if claims["tid"] != e.boot.TenantID {
		t.Errorf("tid = %v, want the bootstrap tenant", claims["tid"])
	}
}
