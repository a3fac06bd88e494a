package keyvault

import "strings"

// apiVersion is a data plane api-version and what its requests may do and
// its responses carry, where versions differ.
type apiVersion struct {
	name string
	// customizedRecovery: attributes.recoverableDays and the
	// CustomizedRecoverable recovery levels (7.1 on); earlier versions know
	// only Recoverable and Purgeable.
	customizedRecovery bool
	// exportable: attributes.exportable and release policies (7.3 on).
	exportable bool
	// rotation: rotate, rotationpolicy and rng (7.3 on).
	rotation bool
}

// apiVersions are every key data plane api-version Azure Key Vault serves,
// previews included, oldest first. 2015-06-01 (before soft delete) is not
// served.
var apiVersions = []apiVersion{
	{name: "2016-10-01"},
	{name: "7.0"},
	{name: "7.1-preview", customizedRecovery: true},
	{name: "7.1", customizedRecovery: true},
	{name: "7.2-preview", customizedRecovery: true},
	{name: "7.2", customizedRecovery: true},
	{name: "7.3-preview", customizedRecovery: true, exportable: true, rotation: true},
	{name: "7.3", customizedRecovery: true, exportable: true, rotation: true},
	{name: "7.4-preview.1", customizedRecovery: true, exportable: true, rotation: true},
	{name: "7.4", customizedRecovery: true, exportable: true, rotation: true},
	{name: "7.5-preview.1", customizedRecovery: true, exportable: true, rotation: true},
	{name: "7.5", customizedRecovery: true, exportable: true, rotation: true},
	{name: "7.6-preview.1", customizedRecovery: true, exportable: true, rotation: true},
	{name: "7.6-preview.2", customizedRecovery: true, exportable: true, rotation: true},
	{name: "7.6", customizedRecovery: true, exportable: true, rotation: true},
	{name: "2025-06-01-preview", customizedRecovery: true, exportable: true, rotation: true},
	{name: "2025-07-01-preview", customizedRecovery: true, exportable: true, rotation: true},
	{name: "2025-07-01", customizedRecovery: true, exportable: true, rotation: true},
	{name: "2026-01-01-preview", customizedRecovery: true, exportable: true, rotation: true},
}

// APIVersions are the data plane api-versions served, oldest first.
var APIVersions = func() []string {
	out := make([]string, len(apiVersions))
	for i, v := range apiVersions {
		out[i] = v.name
	}
	return out
}()

// lookupAPIVersion returns the api-version named v (case-insensitively).
func lookupAPIVersion(v string) (apiVersion, bool) {
	for _, a := range apiVersions {
		if strings.EqualFold(a.name, v) {
			return a, true
		}
	}
	return apiVersion{}, false
}

// rotationOperations need apiVersion.rotation.
var rotationOperations = map[string]bool{
	"RotateKey": true, "GetKeyRotationPolicy": true, "UpdateKeyRotationPolicy": true, "GetRandomBytes": true,
}
