package identity

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

// The AD FS-style authority {authority}adfs: what the Azure CLI and MSAL
// ask of it, in the order they ask.
func TestADFSAuthority(t *testing.T) {
	f := newFixture(t)
	h := f.svc.Handler()
	base := authority + "adfs/"

	// Tenant discovery: MSAL reads token_endpoint and authorization_endpoint
	// and takes the tenant ("adfs") from the token endpoint's first segment.
	for _, path := range []string{"/adfs/.well-known/openid-configuration", "/ADFS/.well-known/openid-configuration"} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		if w.Code != http.StatusOK {
			t.Fatalf("%s: status %d: %s", path, w.Code, w.Body)
		}
		m := decodeJSON(t, w)
		want := map[string]any{
			"issuer":                 authority + "adfs",
			"access_token_issuer":    authority + tenantA + "/v2.0",
			"token_endpoint":         base + "oauth2/token",
			"authorization_endpoint": base + "oauth2/authorize",
			"jwks_uri":               base + "discovery/keys",
		}
		for k, v := range want {
			if m[k] != v {
				t.Errorf("%s: %s = %v, want %v", path, k, m[k], v)
			}
		}
	}

	// Tokens, as MSAL asks (scope) and as ADAL asks (resource): both are
	// the ADFS tenant's, for the audience asked for.
	tests := []struct {
		name    string
		form    url.Values
		wantAud string
		wantV1  bool
	}{
		{"MSAL scope", clientForm(spClient, f.secret, "https://management.core.windows.net//.default openid profile offline_access"),
			"https://management.core.windows.net/", false},
		{"ADAL resource", url.Values{"grant_type": {"client_credentials"}, "client_id": {spClient},
			"client_secret": {f.secret}, "resource": {armAud}}, armAud, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := tokenCall{path: "/adfs/oauth2/token", form: tt.form}.do(t, h)
			if w.Code != http.StatusOK {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			var raw map[string]json.RawMessage
			if err := json.Unmarshal(w.Body.Bytes(), &raw); err != nil {
				t.Fatal(err)
			}
			if _, v1 := raw["resource"]; v1 != tt.wantV1 {
				t.Errorf("response = %s, want the v1 shape: %v", w.Body, tt.wantV1)
			}
			var tok string
			if err := json.Unmarshal(raw["access_token"], &tok); err != nil {
				t.Fatal(err)
			}
			c, err := f.svc.Verify(context.Background(), tok, armAud, "https://management.core.windows.net")
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if c.TenantID != tenantA || c.ObjectID != spOID || c.Audience != tt.wantAud {
				t.Errorf("claims = %+v", c)
			}
		})
	}

	// The keys are the tenant's.
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/adfs/discovery/keys", nil))
	var set jwks
	if err := json.Unmarshal(w.Body.Bytes(), &set); err != nil || w.Code != http.StatusOK || len(set.Keys) != 1 ||
		set.Keys[0].KeyID != KeyID(&f.dir.tenants[tenantA].SigningKey.PublicKey) {
		t.Errorf("keys: status %d: %s", w.Code, w.Body)
	}
}

func TestADFSAuthorityFailures(t *testing.T) {
	f := newFixture(t)
	noADFS := New(f.dir, Options{AuthorityHost: authority, AudienceAllowed: func(string) bool { return true }})
	tests := []struct {
		name    string
		svc     *Service
		call    tokenCall
		status  int
		wantErr string
	}{
		{"no AD FS tenant configured: discovery", noADFS,
			tokenCall{method: http.MethodGet, path: "/adfs/.well-known/openid-configuration"}, http.StatusNotFound, "invalid_request"},
		{"no AD FS tenant configured: token", noADFS,
			tokenCall{path: "/adfs/oauth2/token", form: clientForm(spClient, f.secret, armAud+"/.default")}, http.StatusBadRequest, "invalid_request"},
		{"client of another tenant", f.svc,
			tokenCall{path: "/adfs/oauth2/token", form: clientForm(spBClient, f.secret, armAud+"/.default")}, http.StatusBadRequest, "unauthorized_client"},
		{"wrong secret", f.svc,
			tokenCall{path: "/adfs/oauth2/token", form: clientForm(spClient, f.secret+"x", armAud+"/.default")}, http.StatusUnauthorized, "invalid_client"},
		{"neither scope nor resource", f.svc,
			tokenCall{path: "/adfs/oauth2/token", form: url.Values{"grant_type": {"client_credentials"}, "client_id": {spClient}, "client_secret": {f.secret}}},
			http.StatusBadRequest, "invalid_request"},
		{"empty resource", f.svc,
			tokenCall{path: "/adfs/oauth2/token", form: url.Values{"grant_type": {"client_credentials"}, "client_id": {spClient},
				"client_secret": {f.secret}, "resource": {""}}}, http.StatusBadRequest, "invalid_request"},
		{"audience not served", f.svc,
			tokenCall{path: "/adfs/oauth2/token", form: clientForm(spClient, f.secret, "https://graph.microsoft.com/.default")},
			http.StatusBadRequest, "invalid_resource"},
		{"GET token", f.svc, tokenCall{method: http.MethodGet, path: "/adfs/oauth2/token"}, http.StatusMethodNotAllowed, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := tt.call.do(t, tt.svc.Handler())
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.status, w.Body)
			}
			if m := decodeJSON(t, w); m["error"] != tt.wantErr {
				t.Errorf("error = %v, want %s", m["error"], tt.wantErr)
			}
		})
	}
}

// Verify accepts a token for any of a service's audiences and refuses it for
// another service's.
func TestVerifyAudienceSets(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	arm := []string{"https://management.azure.com", "https://management.core.windows.net"}
	tests := []struct {
		issued string
		verify []string
		want   error
	}{
		{"https://management.azure.com", arm, nil},
		{"https://management.azure.com/", arm, nil},
		{"https://management.core.windows.net/", arm, nil},
		{"https://management.core.windows.net", arm, nil},
		{vaultAud, arm, ErrAudienceMismatch},
		{armAud, nil, ErrAudienceMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.issued, func(t *testing.T) {
			tok, _, err := f.svc.Issue(ctx, f.principal(spOID), tt.issued)
			if err != nil {
				t.Fatal(err)
			}
			c, err := f.svc.Verify(ctx, tok, tt.verify...)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if err == nil && c.Audience != tt.issued {
				t.Errorf("aud = %q, want the audience asked for, %q", c.Audience, tt.issued)
			}
		})
	}
}
