package e2e

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// The discovery chain of `az cloud register` and `az login
// --service-principal`, by hand: the Resource Manager endpoint's metadata
// (no token, the CLI's double slash), the AD FS authority it names, its
// OpenID configuration, a token there for the first audience, and a
// Resource Manager call with it.
func TestCloudMetadataLeadsToLogin(t *testing.T) {
	e := start(t, options{})
	r := e.do(http.MethodGet, e.endpoint+"//metadata/endpoints?api-version=2015-01-01", "", "")
	expect(t, r, http.StatusOK, "")
	doc := r.json(t)
	login := str(t, doc, "authentication", "loginEndpoint")
	if login != e.endpoint+"/adfs" {
		t.Fatalf("loginEndpoint = %s", login)
	}
	audience := at(t, doc, "authentication", "audiences").([]any)[0].(string)

	r = e.do(http.MethodGet, login+"/.well-known/openid-configuration", "", "")
	expect(t, r, http.StatusOK, "")
	tokenEndpoint := str(t, r.json(t), "token_endpoint")

	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {e.boot.ClientID},
		"client_secret": {e.boot.ClientSecret}, "scope": {audience + "/.default offline_access openid profile"}}
	resp, err := e.client.Post(tokenEndpoint, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || resp.StatusCode != http.StatusOK || tok.AccessToken == "" {
		t.Fatalf("token: %d %v", resp.StatusCode, err)
	}
	expect(t, e.do(http.MethodGet, "/subscriptions"+q("2022-12-01"), tok.AccessToken, ""), http.StatusOK, "")

	// The newer documents: a list of clouds, one cloud.
	r = e.do(http.MethodGet, "/metadata/endpoints"+q("2019-05-01"), "", "")
	expect(t, r, http.StatusOK, "")
	var clouds []map[string]any
	if err := json.Unmarshal(r.body, &clouds); err != nil || len(clouds) != 1 || clouds[0]["resourceManager"] != e.boot.Endpoint {
		t.Errorf("2019-05-01: %s", r.body)
	}
	r = e.do(http.MethodGet, "/metadata/endpoints"+q("2022-09-01"), "", "")
	expect(t, r, http.StatusOK, "")
	if kv := str(t, r.json(t), "suffixes", "keyVaultDns"); kv != "vault.localhost"+portOf(e) {
		t.Errorf("keyVaultDns = %s", kv)
	}
	expect(t, e.do(http.MethodGet, "/metadata/endpoints"+q("2014-04-01"), "", ""), http.StatusBadRequest, "InvalidApiVersionParameter")
}
