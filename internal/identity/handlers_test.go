package identity

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// tokenCall is a token request to the handler.
type tokenCall struct {
	method      string // default POST
	path        string
	form        url.Values
	query       string
	contentType string // default form
	basicID     string // HTTP Basic client auth when set
	basicSecret string
	requestID   string // client-request-id header
}

func (c tokenCall) do(t *testing.T, h http.Handler) *httptest.ResponseRecorder {
	t.Helper()
	method := c.method
	if method == "" {
		method = http.MethodPost
	}
	target := "https://login.kustodian.test" + c.path
	if c.query != "" {
		target += "?" + c.query
	}
	r := httptest.NewRequest(method, target, strings.NewReader(c.form.Encode()))
	ct := c.contentType
	if ct == "" {
		ct = "application/x-www-form-urlencoded; charset=utf-8"
	}
	r.Header.Set("Content-Type", ct)
	if c.basicID != "" {
		r.SetBasicAuth(url.QueryEscape(c.basicID), url.QueryEscape(c.basicSecret))
	}
	if c.requestID != "" {
		r.Header.Set("client-request-id", c.requestID)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func v2Path(tenant string) string { return "/" + tenant + "/oauth2/v2.0/token" }
func v1Path(tenant string) string { return "/" + tenant + "/oauth2/token" }

func clientForm(clientID, secret, scope string) url.Values {
	v := url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "scope": {scope}}
	if secret != "" {
		v.Set("client_secret", secret)
	}
	return v
}

func decodeJSON(t *testing.T, w *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q", ct)
	}
	var m map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
		t.Fatalf("body %q: %v", w.Body, err)
	}
	return m
}

func TestTokenEndpointV2(t *testing.T) {
	f := newFixture(t)
	h := f.svc.Handler()
	msalScope := armAud + "/.default openid offline_access profile"

	// A service principal whose secret needs form-encoding in HTTP Basic.
	odd := "p@ss:w+rd/~%"
	f.dir.principals[spOID].SecretHash = HashSecret(odd)

	tests := []struct {
		name string
		call tokenCall
	}{
		{"client_secret_post", tokenCall{path: v2Path(tenantA), form: clientForm(spClient, odd, msalScope)}},
		{"client_secret_basic", tokenCall{path: v2Path(tenantA), form: clientForm("", "", armAud+"/.default"),
			basicID: spClient, basicSecret: odd}},
		{"basic with matching client_id in body", tokenCall{path: v2Path(tenantA),
			form: clientForm(spClient, "", armAud+"/.default"), basicID: spClient, basicSecret: odd}},
		{"tenant and client id case-insensitive", tokenCall{path: v2Path(strings.ToUpper(tenantA)),
			form: clientForm(strings.ToUpper(spClient), odd, armAud+"/.default")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.call.form.Get("client_id") == "" {
				tt.call.form.Del("client_id")
			}
			w := tt.call.do(t, h)
			if w.Code != http.StatusOK {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			if cc := w.Header().Get("Cache-Control"); !strings.Contains(cc, "no-store") {
				t.Errorf("Cache-Control = %q", cc)
			}
			// Numbers, exactly the fields Entra ID sends.
			var raw map[string]json.RawMessage
			if err := json.Unmarshal(w.Body.Bytes(), &raw); err != nil {
				t.Fatal(err)
			}
			if string(raw["expires_in"]) != "3599" || string(raw["ext_expires_in"]) != "3599" ||
				string(raw["token_type"]) != `"Bearer"` || len(raw) != 4 {
				t.Errorf("response = %s", w.Body)
			}
			var tok string
			if err := json.Unmarshal(raw["access_token"], &tok); err != nil {
				t.Fatal(err)
			}
			c, err := f.svc.Verify(context.Background(), tok, armAud)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if c.ObjectID != spOID || c.AppID != spClient || c.Audience != armAud || c.TenantID != tenantA {
				t.Errorf("claims = %+v", c)
			}
		})
	}
}

func TestTokenEndpointV1(t *testing.T) {
	f := newFixture(t)
	resource := "https://management.core.windows.net/"
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {spClient},
		"client_secret": {f.secret}, "resource": {resource}}
	w := tokenCall{path: v1Path(tenantA), form: form}.do(t, f.svc.Handler())
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	m := decodeJSON(t, w)
	now := f.clock.Now().Unix()
	want := map[string]any{
		"token_type": "Bearer", "expires_in": "3599", "ext_expires_in": "3599",
		"expires_on": strconv.FormatInt(now+3599, 10), "not_before": strconv.FormatInt(now, 10),
		"resource": resource,
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %#v, want %#v", k, m[k], v)
		}
	}
	tok, _ := m["access_token"].(string)
	c, err := f.svc.Verify(context.Background(), tok, resource)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if c.Audience != resource {
		t.Errorf("aud = %q", c.Audience)
	}
	if _, err := f.svc.Verify(context.Background(), tok, "https://management.core.windows.net"); err != nil {
		t.Errorf("Verify without trailing slash: %v", err)
	}
}

func TestTokenEndpointErrors(t *testing.T) {
	const scope = armAud + "/.default"
	tests := []struct {
		name   string
		call   func(f *fixture) tokenCall
		status int
		err    string
		code   int
	}{
		{"unknown tenant", func(f *fixture) tokenCall {
			return tokenCall{path: v2Path("contoso.onmicrosoft.com"), form: clientForm(spClient, f.secret, scope)}
		}, 400, "invalid_request", 90002},
		{"missing grant_type", func(f *fixture) tokenCall {
			v := clientForm(spClient, f.secret, scope)
			v.Del("grant_type")
			return tokenCall{path: v2Path(tenantA), form: v}
		}, 400, "invalid_request", 900144},
		{"unsupported grant_type", func(f *fixture) tokenCall {
			v := clientForm(spClient, f.secret, scope)
			v.Set("grant_type", "password")
			return tokenCall{path: v2Path(tenantA), form: v}
		}, 400, "unsupported_grant_type", 70003},
		{"missing client_id", func(f *fixture) tokenCall {
			v := clientForm(spClient, f.secret, scope)
			v.Del("client_id")
			return tokenCall{path: v2Path(tenantA), form: v}
		}, 400, "invalid_request", 900144},
		{"missing client_secret", func(f *fixture) tokenCall {
			return tokenCall{path: v2Path(tenantA), form: clientForm(spClient, "", scope)}
		}, 401, "invalid_client", 7000216},
		{"secret in query string is ignored", func(f *fixture) tokenCall {
			return tokenCall{path: v2Path(tenantA), form: clientForm(spClient, "", scope),
				query: "client_secret=" + url.QueryEscape(f.secret)}
		}, 401, "invalid_client", 7000216},
		{"unknown client", func(f *fixture) tokenCall {
			return tokenCall{path: v2Path(tenantA), form: clientForm("dddddddd-0000-0000-0000-000000000000", f.secret, scope)}
		}, 400, "unauthorized_client", 700016},
		{"client of another tenant", func(f *fixture) tokenCall {
			return tokenCall{path: v2Path(tenantA), form: clientForm(spBClient, f.secret, scope)}
		}, 400, "unauthorized_client", 700016},
		{"wrong secret", func(f *fixture) tokenCall {
			return tokenCall{path: v2Path(tenantA), form: clientForm(spClient, f.secret+"x", scope)}
		}, 401, "invalid_client", 7000215},
		{"wrong secret, basic", func(f *fixture) tokenCall {
			return tokenCall{path: v2Path(tenantA), form: clientForm("", "", scope), basicID: spClient, basicSecret: "nope"}
		}, 401, "invalid_client", 7000215},
		{"managed identity cannot use the token endpoint", func(f *fixture) tokenCall {
			return tokenCall{path: v2Path(tenantA), form: clientForm(miClient, f.secret, scope)}
		}, 401, "invalid_client", 7000215},
		{"managed identity even with a secret hash", func(f *fixture) tokenCall {
			f.dir.principals[miOID].SecretHash = HashSecret("x")
			return tokenCall{path: v2Path(tenantA), form: clientForm(miClient, "x", scope)}
		}, 401, "invalid_client", 7000215},
		{"basic and body secret", func(f *fixture) tokenCall {
			return tokenCall{path: v2Path(tenantA), form: clientForm(spClient, f.secret, scope),
				basicID: spClient, basicSecret: f.secret}
		}, 400, "invalid_request", 9002313},
		{"basic and other client_id in body", func(f *fixture) tokenCall {
			return tokenCall{path: v2Path(tenantA), form: clientForm(spBClient, "", scope),
				basicID: spClient, basicSecret: f.secret}
		}, 400, "invalid_request", 9002313},
		{"duplicated parameter", func(f *fixture) tokenCall {
			v := clientForm(spClient, f.secret, scope)
			v.Add("client_secret", "other")
			return tokenCall{path: v2Path(tenantA), form: v}
		}, 400, "invalid_request", 9002313},
		{"JSON body", func(f *fixture) tokenCall {
			return tokenCall{path: v2Path(tenantA), form: clientForm(spClient, f.secret, scope), contentType: "application/json"}
		}, 400, "invalid_request", 900144},
		{"missing scope", func(f *fixture) tokenCall {
			v := clientForm(spClient, f.secret, scope)
			v.Del("scope")
			return tokenCall{path: v2Path(tenantA), form: v}
		}, 400, "invalid_request", 900144},
		{"scope without /.default", func(f *fixture) tokenCall {
			return tokenCall{path: v2Path(tenantA), form: clientForm(spClient, f.secret, armAud+"/user_impersonation")}
		}, 400, "invalid_scope", 1002012},
		{"only OpenID scopes", func(f *fixture) tokenCall {
			return tokenCall{path: v2Path(tenantA), form: clientForm(spClient, f.secret, "openid profile offline_access")}
		}, 400, "invalid_scope", 1002012},
		{"bare /.default", func(f *fixture) tokenCall {
			return tokenCall{path: v2Path(tenantA), form: clientForm(spClient, f.secret, "/.default")}
		}, 400, "invalid_scope", 1002012},
		{"two resources", func(f *fixture) tokenCall {
			return tokenCall{path: v2Path(tenantA), form: clientForm(spClient, f.secret, scope+" "+vaultAud+"/.default")}
		}, 400, "invalid_scope", 70011},
		{"audience not allowed", func(f *fixture) tokenCall {
			return tokenCall{path: v2Path(tenantA), form: clientForm(spClient, f.secret, "https://graph.microsoft.com/.default")}
		}, 400, "invalid_resource", 500011},
		{"v1 missing resource", func(f *fixture) tokenCall {
			return tokenCall{path: v1Path(tenantA), form: clientForm(spClient, f.secret, scope)}
		}, 400, "invalid_request", 900144},
		{"v1 resource not allowed", func(f *fixture) tokenCall {
			v := clientForm(spClient, f.secret, "")
			v.Set("resource", "https://graph.microsoft.com/")
			return tokenCall{path: v1Path(tenantA), form: v}
		}, 400, "invalid_resource", 500011},
		{"v1 wrong secret", func(f *fixture) tokenCall {
			v := clientForm(spClient, "wrong", "")
			v.Set("resource", armAud)
			return tokenCall{path: v1Path(tenantA), form: v}
		}, 401, "invalid_client", 7000215},
		{"GET", func(f *fixture) tokenCall {
			return tokenCall{method: http.MethodGet, path: v2Path(tenantA)}
		}, 405, "invalid_request", 900561},
		{"directory failure", func(f *fixture) tokenCall {
			f.dir.fail = errors.New("database is locked")
			return tokenCall{path: v2Path(tenantA), form: clientForm(spClient, f.secret, scope)}
		}, 500, "server_error", 50000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			call := tt.call(f)
			if call.form != nil && call.form.Get("client_id") == "" {
				call.form.Del("client_id")
			}
			if call.form != nil && call.form.Get("scope") == "" {
				call.form.Del("scope")
			}
			call.requestID = "5a6f7c1e-0b1d-4b59-9d41-9f3a3d6f8a10"
			w := call.do(t, f.svc.Handler())
			if w.Code != tt.status {
				t.Fatalf("status = %d, want %d: %s", w.Code, tt.status, w.Body)
			}
			m := decodeJSON(t, w)
			if m["error"] != tt.err {
				t.Errorf("error = %v, want %s", m["error"], tt.err)
			}
			codes, _ := m["error_codes"].([]any)
			if len(codes) != 1 || codes[0] != float64(tt.code) {
				t.Errorf("error_codes = %v, want [%d]", m["error_codes"], tt.code)
			}
			desc, _ := m["error_description"].(string)
			if !strings.HasPrefix(desc, fmt.Sprintf("AADSTS%d: ", tt.code)) {
				t.Errorf("error_description = %q", desc)
			}
			if strings.Contains(w.Body.String(), f.secret) {
				t.Error("response contains the secret")
			}
			if m["correlation_id"] != call.requestID {
				t.Errorf("correlation_id = %v", m["correlation_id"])
			}
			if id, _ := m["trace_id"].(string); id == "" || w.Header().Get("x-ms-request-id") != id {
				t.Errorf("trace_id = %v", m["trace_id"])
			}
			if ts, _ := m["timestamp"].(string); ts != "2025-03-14 15:09:26Z" {
				t.Errorf("timestamp = %q", ts)
			}
			if _, ok := m["access_token"]; ok {
				t.Error("error response carries a token")
			}
		})
	}
}

func TestOpenIDConfiguration(t *testing.T) {
	f := newFixture(t)
	h := f.svc.Handler()
	base := authority + tenantA + "/"
	tests := []struct {
		path      string
		tokenPath string
		keysPath  string
	}{
		{"/" + tenantA + "/v2.0/.well-known/openid-configuration", "oauth2/v2.0/token", "discovery/v2.0/keys"},
		{"/" + tenantA + "/.well-known/openid-configuration", "oauth2/token", "discovery/keys"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, tt.path, nil))
			if w.Code != http.StatusOK {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			m := decodeJSON(t, w)
			if m["issuer"] != base+"v2.0" || m["token_endpoint"] != base+tt.tokenPath || m["jwks_uri"] != base+tt.keysPath {
				t.Errorf("doc = %v", m)
			}
			for _, k := range []string{"authorization_endpoint", "device_authorization_endpoint", "tenant_region_scope",
				"token_endpoint_auth_methods_supported", "response_types_supported", "subject_types_supported",
				"id_token_signing_alg_values_supported"} {
				if m[k] == nil || m[k] == "" {
					t.Errorf("%s missing", k)
				}
			}
		})
	}

	for _, path := range []string{
		"/nope/v2.0/.well-known/openid-configuration",
		"/nope/.well-known/openid-configuration",
		"/nope/discovery/v2.0/keys",
		"/nope/discovery/keys",
	} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		if w.Code != http.StatusNotFound {
			t.Errorf("%s: status %d", path, w.Code)
		}
		if m := decodeJSON(t, w); m["error"] != "invalid_request" {
			t.Errorf("%s: %v", path, m)
		}
	}

	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, tests[0].path, nil))
	if w.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST discovery: status %d", w.Code)
	}
	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/"+tenantA+"/oauth2/v2.0/authorize", nil))
	if w.Code != http.StatusNotFound {
		t.Errorf("unknown endpoint: status %d", w.Code)
	}
}

// TestVerifyWithJWKSOnly follows the discovery chain an outside verifier
// would: OpenID configuration, then jwks_uri, then the key by kid.
func TestVerifyWithJWKSOnly(t *testing.T) {
	f, srv := newTLSFixture(t)
	client := srv.Client()
	getJSON := func(u string, v any) {
		t.Helper()
		resp, err := client.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s", u, resp.Status)
		}
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatal(err)
		}
	}

	for _, doc := range []string{"/v2.0/.well-known/openid-configuration", "/.well-known/openid-configuration"} {
		var oidc struct {
			Issuer  string `json:"issuer"`
			JWKSURI string `json:"jwks_uri"`
		}
		getJSON(srv.URL+"/"+tenantA+doc, &oidc)
		var set struct {
			Keys []struct {
				Kty, Use, Kid, N, E string
			} `json:"keys"`
		}
		getJSON(oidc.JWKSURI, &set)
		if len(set.Keys) != 1 || set.Keys[0].Kty != "RSA" || set.Keys[0].Use != "sig" {
			t.Fatalf("keys = %+v", set.Keys)
		}
		keys := map[string]*rsa.PublicKey{}
		for _, k := range set.Keys {
			n, err1 := base64.RawURLEncoding.DecodeString(k.N)
			e, err2 := base64.RawURLEncoding.DecodeString(k.E)
			if err1 != nil || err2 != nil {
				t.Fatalf("bad key %+v", k)
			}
			keys[k.Kid] = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
		}

		tok := issue(t, f)
		parsed, err := jwt.Parse(tok, func(tk *jwt.Token) (any, error) {
			kid, _ := tk.Header["kid"].(string)
			if k, ok := keys[kid]; ok {
				return k, nil
			}
			return nil, errors.New("unknown kid")
		}, jwt.WithValidMethods([]string{"RS256"}), jwt.WithIssuer(oidc.Issuer), jwt.WithAudience(armAud),
			jwt.WithTimeFunc(f.clock.Now))
		if err != nil || !parsed.Valid {
			t.Fatalf("%s: token does not verify with the published key: %v", doc, err)
		}

		// Tenant B's JWKS does not verify tenant A's tokens.
		var other struct {
			Keys []struct{ Kid string } `json:"keys"`
		}
		getJSON(srv.URL+"/"+tenantB+"/discovery/v2.0/keys", &other)
		if len(other.Keys) != 1 || keys[other.Keys[0].Kid] != nil {
			t.Errorf("tenants share a key id: %+v", other.Keys)
		}
	}
}

func TestIsIdentityPath(t *testing.T) {
	tests := map[string]bool{
		"/" + tenantA + "/oauth2/v2.0/token":                     true,
		"/" + tenantA + "/OAuth2/V2.0/Token":                     true,
		"/" + tenantA + "/oauth2/token":                          true,
		"/" + tenantA + "/v2.0/.well-known/openid-configuration": true,
		"/" + tenantA + "/.well-known/openid-configuration":      true,
		"/" + tenantA + "/discovery/v2.0/keys":                   true,
		"/" + tenantA + "/discovery/keys":                        true,
		"/subscriptions/s/resourceGroups/rg":                     false,
		"/providers/Microsoft.OperationalInsights/operations":    false,
		"//oauth2/token":                       false,
		"/oauth2/token":                        false,
		"/":                                    false,
		"/" + tenantA + "/oauth2/v2.0/token/x": false,
	}
	for p, want := range tests {
		if got := IsIdentityPath(p); got != want {
			t.Errorf("IsIdentityPath(%q) = %v", p, got)
		}
	}
}

func TestNewRequiresAuthorityHost(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	New(&fakeDir{}, Options{})
}

func TestAuthorityHostSlashAdded(t *testing.T) {
	svc := New(&fakeDir{}, Options{AuthorityHost: "https://h:8443", Leeway: -1, Now: func() time.Time { return time.Time{} }})
	if got := svc.Issuer("t"); got != "https://h:8443/t/v2.0" {
		t.Errorf("Issuer = %q", got)
	}
}
