package server

import "testing"

func TestAudienceSet(t *testing.T) {
	s := newAudienceSet("https://127.0.0.1:8443/", "vault.localhost", "8443")
	tests := map[string]bool{
		"https://management.azure.com":         true,
		"https://management.azure.com/":        true,
		"https://management.core.windows.net/": true,
		"https://management.core.windows.net":  true,
		"https://api.loganalytics.io":          true,
		"https://api.loganalytics.io/":         true,
		"https://api.loganalytics.azure.com":   true,
		"https://127.0.0.1:8443":               true,
		"https://127.0.0.1:8443/":              true,
		"https://vault.localhost:8443":         true,
		"https://vault.localhost":              true,
		"https://vault.azure.net":              true,
		"https://vault.azure.net/":             true,
		"https://graph.microsoft.com":          false,
		"https://127.0.0.1:9443":               false,
		"https://vault.localhost:9443":         false,
		"https://api.applicationinsights.io":   false,
		"":                                     false,
	}
	for aud, want := range tests {
		if got := s.allowed(aud); got != want {
			t.Errorf("allowed(%q) = %v, want %v", aud, got, want)
		}
	}
}
