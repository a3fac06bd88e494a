package server

import (
	"context"
	"slices"

	"github.com/kustodian/kustodian/internal/identity"
	"github.com/kustodian/kustodian/internal/keyvault"
)

// Token audiences: each surface accepts every audience Azure accepts for
// the service it stands for, spelled as the clients ask for them (with or
// without a trailing "/": identity.SameAudience), and a token names the
// audience its client asked for.
var (
	// ResourceManagerAudiences: the SDKs ask for management.azure.com, the
	// Azure CLI and PowerShell for the classic management.core.windows.net.
	ResourceManagerAudiences = []string{ResourceManagerAudience, "https://management.core.windows.net"}
	// queryPublicAudiences: the Query API's documented audiences.
	queryPublicAudiences = []string{QueryAudience, "https://api.loganalytics.azure.com"}
)

// QueryAudiences returns the Query API's audiences on a server whose URL is
// endpoint: Azure's, and the endpoint itself, which clients given only an
// endpoint derive their audience from (the Python LogsQueryClient asks for
// "{endpoint}/.default").
func QueryAudiences(endpoint string) []string {
	return append(slices.Clone(queryPublicAudiences), endpoint)
}

// audienceSet is every audience the server issues tokens for.
type audienceSet [][]string

// allowed reports whether aud is one of the set's audiences.
func (s audienceSet) allowed(aud string) bool {
	for _, auds := range s {
		if slices.ContainsFunc(auds, func(a string) bool { return identity.SameAudience(aud, a) }) {
			return true
		}
	}
	return false
}

// newAudienceSet returns the audiences of Resource Manager, the Query API
// (on endpoint), the vaults (DNS suffix and listener port) and the Logs
// Ingestion API.
func newAudienceSet(endpoint, vaultDNSSuffix, port string) audienceSet {
	return audienceSet{ResourceManagerAudiences, QueryAudiences(endpoint), keyvault.Audiences(vaultDNSSuffix, port), {MonitorAudience}}
}

// verifier verifies tokens for one set of audiences, whatever audience the
// caller names: a surface's handler knows one spelling, the server all.
func verifier(ids *identity.Service, audiences []string) func(ctx context.Context, raw, _ string) (*identity.Claims, error) {
	return func(ctx context.Context, raw, _ string) (*identity.Claims, error) {
		return ids.Verify(ctx, raw, audiences...)
	}
}
