package keyvault

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// Every api-version Azure serves works, and the key bundle has that
// version's shape: recoverableDays and CustomizedRecoverable from 7.1,
// exportable from 7.3; rotation from 7.3.
func TestAPIVersions(t *testing.T) {
	e := newEnv(t, envOptions{})
	// A custom retention shows the CustomizedRecoverable levels where the
	// version knows them.
	v := e.vaults.vaults["kv1"]
	v.SoftDeleteRetentionDays = 30
	e.create("k", nil)
	tests := []struct {
		version      string
		wantLevel    string
		wantDays     bool
		wantExport   bool
		wantRotation bool
	}{
		{"2016-10-01", "Recoverable", false, false, false},
		{"7.0", "Recoverable", false, false, false},
		{"7.1", "CustomizedRecoverable", true, false, false},
		{"7.2-preview", "CustomizedRecoverable", true, false, false},
		{"7.2", "CustomizedRecoverable", true, false, false},
		{"7.3-preview", "CustomizedRecoverable", true, true, true},
		{"7.3", "CustomizedRecoverable", true, true, true},
		{"7.4-preview.1", "CustomizedRecoverable", true, true, true},
		{"7.4", "CustomizedRecoverable", true, true, true},
		{"7.5-preview.1", "CustomizedRecoverable", true, true, true},
		{"7.5", "CustomizedRecoverable", true, true, true},
		{"7.6-preview.2", "CustomizedRecoverable", true, true, true},
		{"7.6", "CustomizedRecoverable", true, true, true},
		{"2025-07-01", "CustomizedRecoverable", true, true, true},
		{"2026-01-01-preview", "CustomizedRecoverable", true, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.version, func(t *testing.T) {
			q := "?api-version=" + tt.version
			// Create, get, wrap: what a CMK client does.
			name := "k" + strings.NewReplacer(".", "-").Replace(tt.version)
			created := e.must(e.do("POST", "/keys/"+name+"/create"+q, adminTok, map[string]any{"kty": "RSA"}), http.StatusOK)
			got := e.must(e.do("GET", "/keys/k"+q, adminTok, nil), http.StatusOK)
			for _, r := range []resp{created, got} {
				var b struct {
					Attributes map[string]json.RawMessage `json:"attributes"`
				}
				r.json(t, &b)
				var level string
				if err := json.Unmarshal(b.Attributes["recoveryLevel"], &level); err != nil || level != tt.wantLevel {
					t.Errorf("recoveryLevel = %s, want %s", b.Attributes["recoveryLevel"], tt.wantLevel)
				}
				if _, ok := b.Attributes["recoverableDays"]; ok != tt.wantDays {
					t.Errorf("recoverableDays present = %v, want %v", ok, tt.wantDays)
				}
				if _, ok := b.Attributes["exportable"]; ok != tt.wantExport {
					t.Errorf("exportable present = %v, want %v", ok, tt.wantExport)
				}
			}
			e.must(e.do("POST", "/keys/k/wrapkey"+q, adminTok, map[string]any{"alg": "RSA-OAEP-256", "value": "AAAA"}), http.StatusOK)
			status := http.StatusBadRequest
			if tt.wantRotation {
				status = http.StatusOK
			}
			e.must(e.do("GET", "/keys/k/rotationpolicy"+q, adminTok, nil), status)
		})
	}
	if len(tests) > len(APIVersions) {
		t.Errorf("more versions tested than served")
	}
}

// The data plane accepts every audience Key Vault clients ask for: the
// challenge's (suffix and port), the suffix alone, and Azure's own.
func TestAudiences(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.create("k", nil)
	for _, aud := range []string{"https://vault.localhost:8443", "https://vault.localhost", "https://vault.azure.net"} {
		t.Run(aud, func(t *testing.T) {
			e.audience = aud
			defer func() { e.audience = testAud }()
			e.must(e.do("GET", "/keys/k", adminTok, nil), http.StatusOK)
		})
	}
	if got := Audiences("vault.localhost", ""); len(got) != 2 || got[0] != "https://vault.localhost" {
		t.Errorf("Audiences without a port = %v", got)
	}
}
