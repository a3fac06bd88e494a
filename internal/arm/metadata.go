package arm

import (
	"net/http"
	"strings"
)

// CloudMetadata is what a Resource Manager endpoint tells clients about its
// cloud at GET /metadata/endpoints: where to sign in, which audience to ask
// Resource Manager tokens for, and the other services' addresses. Azure
// serves it without a token, and so do Azure Stack Hub and Kustodian; it is
// how `az cloud register --endpoint-resource-manager URL` and Azure
// PowerShell's Add-AzEnvironment -ARMEndpoint configure themselves.
type CloudMetadata struct {
	// Name names the cloud ("Kustodian").
	Name string
	// ResourceManager is the Resource Manager endpoint, ending in "/".
	ResourceManager string
	// LoginEndpoint is the authority clients sign in at. An AD FS authority
	// ("https://host/adfs") makes the Azure CLI and MSAL skip Microsoft's
	// instance discovery.
	LoginEndpoint string
	// Tenant is the tenant clients sign in to by default ("adfs" for an AD FS
	// authority, "common" for Microsoft Entra ID).
	Tenant string
	// IdentityProvider is "ADFS" or "AAD".
	IdentityProvider string
	// Audiences are Resource Manager's token audiences; the Azure CLI asks
	// for the first.
	Audiences []string
	// Portal, Gallery: the portal and gallery addresses, if any.
	Portal, Gallery string
	// Graph is the (Azure AD) Graph audience; the Azure CLI requires one.
	Graph string
	// KeyVaultDNS is the suffix of vault addresses: vault NAME is at
	// https://NAME.{KeyVaultDNS}/ (a port may be part of it).
	KeyVaultDNS string
	// LogAnalytics is the Log Analytics Query API's audience.
	LogAnalytics string
}

// MetadataAPIVersions are the api-versions of /metadata/endpoints, each
// with its own shape: "1.0" (Azure Stack Hub's) and 2015-01-01 answer the
// original document; 2019-05-01 and 2020-06-01 a list of clouds; 2022-09-01
// one cloud.
var MetadataAPIVersions = []string{"1.0", "2015-01-01", "2019-05-01", "2020-06-01", "2022-09-01"}

// IsMetadataPath reports whether a request path is /metadata/endpoints
// (case-insensitively, and with the double slash the Azure CLI sends after
// a Resource Manager URL that ends in "/").
func IsMetadataPath(path string) bool {
	return strings.EqualFold(strings.TrimLeft(path, "/"), "metadata/endpoints")
}

// ServeHTTP answers GET and HEAD /metadata/endpoints?api-version=V without
// authentication, in the shape of V.
func (m *CloudMetadata) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		WriteError(w, Errorf(http.StatusMethodNotAllowed, "MethodNotAllowed",
			"The requested resource does not support http method '%s'.", r.Method), "")
		return
	}
	version := r.URL.Query().Get("api-version")
	var body any
	switch strings.ToLower(version) {
	case "":
		WriteError(w, ErrMissingAPIVersion, "")
		return
	case "1.0", "2015-01-01":
		body = m.original()
	case "2019-05-01", "2020-06-01":
		body = []map[string]any{m.cloud()}
	case "2022-09-01":
		body = m.cloud()
	default:
		WriteError(w, BadRequest("InvalidApiVersionParameter", "The api-version '%s' is invalid. The supported versions are '%s'.",
			version, strings.Join(MetadataAPIVersions, ",")), "")
		return
	}
	WriteJSON(w, http.StatusOK, body)
}

// original is the 2015-01-01 document.
func (m *CloudMetadata) original() map[string]any {
	return map[string]any{
		"galleryEndpoint": m.Gallery,
		"graphEndpoint":   m.Graph,
		"portalEndpoint":  m.Portal,
		"authentication": map[string]any{
			"loginEndpoint": m.LoginEndpoint,
			"audiences":     m.Audiences,
		},
	}
}

// cloud is one cloud of the 2019-05-01 and 2022-09-01 documents.
func (m *CloudMetadata) cloud() map[string]any {
	out := map[string]any{
		"name":            m.Name,
		"resourceManager": m.ResourceManager,
		"portal":          m.Portal,
		"gallery":         m.Gallery,
		"graph":           m.Graph,
		"graphAudience":   m.Graph,
		"authentication": map[string]any{
			"loginEndpoint":    m.LoginEndpoint,
			"audiences":        m.Audiences,
			"tenant":           m.Tenant,
			"identityProvider": m.IdentityProvider,
		},
		"suffixes": map[string]any{"keyVaultDns": m.KeyVaultDNS},
	}
	if m.LogAnalytics != "" {
		out["logAnalyticsResourceId"] = m.LogAnalytics
	}
	return out
}
