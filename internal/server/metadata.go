package server

import (
	"net"

	"github.com/kustodian/kustodian/internal/arm"
)

// cloudMetadata is the server's answer to GET /metadata/endpoints: what
// `az cloud register --endpoint-resource-manager ENDPOINT` needs to
// configure the Azure CLI with nothing else. Sign-in is at the AD FS-style
// authority {endpoint}adfs (the bootstrap tenant), so the CLI and MSAL
// ask no Microsoft service about it; Resource Manager tokens are for
// Azure's audiences, the classic one first as in Azure's own document.
// Kustodian serves no portal, gallery or Graph: the first two name the
// endpoint, Graph Azure's audience (the CLI requires one).
func cloudMetadata(endpoint, vaultDNSSuffix, port string) *arm.CloudMetadata {
	return &arm.CloudMetadata{
		Name:             "Kustodian",
		ResourceManager:  endpoint,
		LoginEndpoint:    endpoint + "adfs",
		Tenant:           "adfs",
		IdentityProvider: "ADFS",
		Audiences:        []string{"https://management.core.windows.net/", ResourceManagerAudience + "/"},
		Portal:           endpoint,
		Gallery:          endpoint,
		Graph:            "https://graph.windows.net/",
		// With the port, so that a client building https://NAME.{suffix}/
		// reaches the vault.
		KeyVaultDNS:  net.JoinHostPort(vaultDNSSuffix, port),
		LogAnalytics: QueryAudience,
	}
}
