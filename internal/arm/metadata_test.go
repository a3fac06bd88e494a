package arm

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

func testMetadata() *CloudMetadata {
	return &CloudMetadata{
		Name: "Kustodian", ResourceManager: "https://127.0.0.1:8443/", LoginEndpoint: "https://127.0.0.1:8443/adfs",
		Tenant: "adfs", IdentityProvider: "ADFS",
		Audiences: []string{"https://management.core.windows.net/", "https://management.azure.com/"},
		Portal:    "https://127.0.0.1:8443/", Gallery: "https://127.0.0.1:8443/", Graph: "https://graph.windows.net/",
		KeyVaultDNS: "vault.localhost:8443", LogAnalytics: "https://api.loganalytics.io",
	}
}

func TestCloudMetadataShapes(t *testing.T) {
	m := testMetadata()
	// What the clients read: the 2015-01-01 document (the Azure CLI's cloud
	// registration, Azure PowerShell), a list of clouds (the Azure CLI's
	// ARM_CLOUD_METADATA_URL), one cloud (Terraform's go-azure-sdk).
	original := func(t *testing.T, doc map[string]any) {
		auth := doc["authentication"].(map[string]any)
		if auth["loginEndpoint"] != m.LoginEndpoint || auth["audiences"].([]any)[0] != m.Audiences[0] ||
			doc["graphEndpoint"] != m.Graph || doc["portalEndpoint"] != m.Portal || doc["galleryEndpoint"] != m.Gallery {
			t.Errorf("document = %v", doc)
		}
	}
	cloud := func(t *testing.T, doc map[string]any) {
		auth := doc["authentication"].(map[string]any)
		if doc["name"] != m.Name || doc["resourceManager"] != m.ResourceManager || auth["loginEndpoint"] != m.LoginEndpoint ||
			auth["audiences"].([]any)[1] != m.Audiences[1] || auth["tenant"] != "adfs" || auth["identityProvider"] != "ADFS" ||
			doc["suffixes"].(map[string]any)["keyVaultDns"] != m.KeyVaultDNS || doc["logAnalyticsResourceId"] != m.LogAnalytics ||
			doc["graphAudience"] != m.Graph {
			t.Errorf("cloud = %v", doc)
		}
	}
	tests := []struct {
		target string
		check  func(t *testing.T, body []byte)
	}{
		{"/metadata/endpoints?api-version=2015-01-01", func(t *testing.T, b []byte) { original(t, object(t, b)) }},
		{"/metadata/endpoints?api-version=1.0", func(t *testing.T, b []byte) { original(t, object(t, b)) }},
		{"//metadata/endpoints?api-version=2015-01-01", func(t *testing.T, b []byte) { original(t, object(t, b)) }},
		{"/Metadata/Endpoints?api-version=2019-05-01", func(t *testing.T, b []byte) { cloud(t, list(t, b)) }},
		{"/metadata/endpoints?api-version=2020-06-01", func(t *testing.T, b []byte) { cloud(t, list(t, b)) }},
		{"/metadata/endpoints?api-version=2022-09-01", func(t *testing.T, b []byte) { cloud(t, object(t, b)) }},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			if !IsMetadataPath(httptest.NewRequest(http.MethodGet, "https://h"+tt.target, nil).URL.Path) {
				t.Fatal("not a metadata path")
			}
			w := httptest.NewRecorder()
			m.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "https://h"+tt.target, nil))
			if w.Code != http.StatusOK {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			tt.check(t, w.Body.Bytes())
		})
	}
}

func object(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return m
}

func list(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var l []map[string]any
	if err := json.Unmarshal(b, &l); err != nil || len(l) != 1 {
		t.Fatalf("%s: %v", b, err)
	}
	return l[0]
}

func TestCloudMetadataErrors(t *testing.T) {
	m := testMetadata()
	tests := []struct {
		method, target string
		status         int
		code           string
	}{
		{http.MethodGet, "/metadata/endpoints", http.StatusBadRequest, "MissingApiVersionParameter"},
		{http.MethodGet, "/metadata/endpoints?api-version=2014-01-01", http.StatusBadRequest, "InvalidApiVersionParameter"},
		{http.MethodPost, "/metadata/endpoints?api-version=2015-01-01", http.StatusMethodNotAllowed, "MethodNotAllowed"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.target, func(t *testing.T) {
			w := httptest.NewRecorder()
			m.ServeHTTP(w, httptest.NewRequest(tt.method, "https://h"+tt.target, nil))
			if w.Code != tt.status {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			if got := object(t, w.Body.Bytes())["error"].(map[string]any)["code"]; got != tt.code {
				t.Errorf("code = %v, want %s", got, tt.code)
			}
		})
	}
	for path, want := range map[string]bool{"/metadata/endpoints/x": false, "/metadata": false, "/x/metadata/endpoints": false} {
		if IsMetadataPath(path) != want {
			t.Errorf("IsMetadataPath(%q) = %v", path, !want)
		}
	}
}
