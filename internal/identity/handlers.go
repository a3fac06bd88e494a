package identity

import (
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// maxFormBytes bounds the size of a token request body.
const maxFormBytes = 64 << 10

// endpoint is one of the identity endpoints, by its path below the tenant.
type endpoint int

const (
	epTokenV2 endpoint = iota + 1
	epTokenV1
	epOIDCV2
	epOIDCV1
	epKeysV2
	epKeysV1
)

// endpoints maps the lower-case path below "/{tenant}/" to its endpoint.
var endpoints = map[string]endpoint{
	"oauth2/v2.0/token":                     epTokenV2,
	"oauth2/token":                          epTokenV1,
	"v2.0/.well-known/openid-configuration": epOIDCV2,
	".well-known/openid-configuration":      epOIDCV1,
	"discovery/v2.0/keys":                   epKeysV2,
	"discovery/keys":                        epKeysV1,
}

// route splits a request path into its tenant and endpoint.
func route(path string) (tenant string, ep endpoint, ok bool) {
	tenant, rest, ok := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	if !ok || tenant == "" {
		return "", 0, false
	}
	ep, ok = endpoints[strings.ToLower(rest)]
	return tenant, ep, ok
}

// IsIdentityPath reports whether a request path is one the identity Handler
// serves:
//
//	POST     /{tenant}/oauth2/v2.0/token
//	POST     /{tenant}/oauth2/token
//	GET/HEAD /{tenant}/v2.0/.well-known/openid-configuration
//	GET/HEAD /{tenant}/.well-known/openid-configuration
//	GET/HEAD /{tenant}/discovery/v2.0/keys
//	GET/HEAD /{tenant}/discovery/keys
//
// Paths are matched case-insensitively below the tenant. With
// Options.ADFSTenant set, the tenant segment "adfs" is the AD FS-style
// authority {AuthorityHost}adfs, which serves that tenant: the Azure CLI and
// MSAL discover it at /adfs/.well-known/openid-configuration and get tokens
// at /adfs/oauth2/token (with a v2.0 "scope" or a v1 "resource"). The server
// uses IsIdentityPath to send these requests to Handler and everything else
// to Resource Manager.
func IsIdentityPath(path string) bool {
	_, _, ok := route(path)
	return ok
}

// Handler returns the HTTP handler of the identity endpoints (see
// IsIdentityPath), to be mounted at the root of the HTTPS listener whose
// URL is Options.AuthorityHost. Any other path gets a 404.
func (s *Service) Handler() http.Handler {
	return http.HandlerFunc(s.serveHTTP)
}

func (s *Service) serveHTTP(w http.ResponseWriter, r *http.Request) {
	e := s.newOAuthError(r)
	tenantID, ep, ok := route(r.URL.Path)
	if !ok {
		e.write(w, http.StatusNotFound, "invalid_request", 0, "The requested endpoint was not found.")
		return
	}
	post := ep == epTokenV2 || ep == epTokenV1
	// The AD FS authority names no tenant: it serves Options.ADFSTenant.
	adfs := s.adfs != "" && strings.EqualFold(tenantID, adfsSegment)
	lookup := strings.ToLower(tenantID)
	if adfs {
		lookup = s.adfs
	}
	switch {
	case post && r.Method != http.MethodPost:
		w.Header().Set("Allow", http.MethodPost)
		e.write(w, http.StatusMethodNotAllowed, "invalid_request", 900561,
			fmt.Sprintf("The endpoint only accepts POST requests. Received a %s request.", r.Method))
		return
	case !post && r.Method != http.MethodGet && r.Method != http.MethodHead:
		w.Header().Set("Allow", "GET, HEAD")
		e.write(w, http.StatusMethodNotAllowed, "invalid_request", 900561,
			fmt.Sprintf("The endpoint only accepts GET requests. Received a %s request.", r.Method))
		return
	}

	t, err := s.dir.Tenant(r.Context(), lookup)
	switch {
	case errors.Is(err, ErrNotFound):
		status := http.StatusBadRequest
		if !post {
			status = http.StatusNotFound
		}
		e.write(w, status, "invalid_request", 90002, fmt.Sprintf(
			"Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.",
			tenantID))
		return
	case err != nil:
		s.serverError(w, e, "read tenant", err)
		return
	}

	switch {
	case ep == epTokenV1 && adfs:
		s.serveToken(w, r, e, t, formADFS)
	case ep == epTokenV2:
		s.serveToken(w, r, e, t, formV2)
	case ep == epTokenV1:
		s.serveToken(w, r, e, t, formV1)
	case ep == epOIDCV1 && adfs:
		writeJSON(w, http.StatusOK, s.adfsConfiguration(t.ID))
	case ep == epOIDCV2:
		writeJSON(w, http.StatusOK, s.openIDConfiguration(t.ID, "oauth2/v2.0/", "discovery/v2.0/keys"))
	case ep == epOIDCV1:
		writeJSON(w, http.StatusOK, s.openIDConfiguration(t.ID, "oauth2/", "discovery/keys"))
	default: // epKeysV2, epKeysV1
		if t.SigningKey == nil {
			s.serverError(w, e, "read tenant", fmt.Errorf("tenant %q has no signing key", t.ID))
			return
		}
		writeJSON(w, http.StatusOK, jwks{Keys: []jwk{s.publicJWK(t)}})
	}
}

// tokenRequest is a parsed client-credentials token request.
type tokenRequest struct {
	clientID, secret string
	basic            bool   // client authenticated with HTTP Basic
	audience         string // resource, without "/.default"
	resource         string // v1: the resource parameter as sent
}

// tokenForm is the form of a token request an endpoint accepts.
type tokenForm int

const (
	formV2   tokenForm = iota // the v2.0 endpoint: "scope"
	formV1                    // the v1 endpoint: "resource"
	formADFS                  // AD FS: "resource" (ADAL) or "scope" (MSAL)
)

// serveToken serves the client-credentials grant of a token endpoint. The
// answer has the shape of the form the request used: v1 (numbers as
// strings, the resource echoed) for "resource", v2.0 for "scope".
func (s *Service) serveToken(w http.ResponseWriter, r *http.Request, e *oauthError, t *Tenant, form tokenForm) {
	req, ok := s.parseTokenRequest(w, r, e, form)
	if !ok {
		return
	}
	ctx := r.Context()
	p, err := s.dir.PrincipalByClientID(ctx, t.ID, strings.ToLower(req.clientID))
	switch {
	case errors.Is(err, ErrNotFound):
		e.write(w, http.StatusBadRequest, "unauthorized_client", 700016, fmt.Sprintf(
			"Application with identifier '%s' was not found in the directory '%s'. This can happen if the application "+
				"has not been installed by the administrator of the tenant or consented to by any user in the tenant. "+
				"You may have sent your authentication request to the wrong tenant.", req.clientID, t.ID))
		return
	case err != nil:
		s.serverError(w, e, "read principal", err)
		return
	}
	if !secretMatches(p, req.secret) {
		if req.basic {
			w.Header().Set("WWW-Authenticate", `Basic realm="`+t.ID+`"`)
		}
		e.write(w, http.StatusUnauthorized, "invalid_client", 7000215, fmt.Sprintf(
			"Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, "+
				"not the client secret ID, for a secret added to app '%s'.", req.clientID))
		return
	}
	tok, expiresIn, err := s.Issue(ctx, p, req.audience)
	switch {
	case errors.Is(err, ErrAudienceNotAllowed):
		e.write(w, http.StatusBadRequest, "invalid_resource", 500011, fmt.Sprintf(
			"The resource principal named %s was not found in the tenant named %s. This can happen if the application "+
				"has not been installed by the administrator of the tenant or consented to by any user in the tenant. "+
				"You might have sent your authentication request to the wrong tenant.", req.audience, t.ID))
		return
	case err != nil:
		s.serverError(w, e, "issue token", err)
		return
	}
	// Like Entra ID, report one second less than the token's lifetime so a
	// client never holds a token it believes valid after exp.
	secs := max(int64(expiresIn/time.Second)-1, 1)
	if req.resource == "" {
		writeJSON(w, http.StatusOK, tokenResponseV2{
			TokenType: "Bearer", ExpiresIn: secs, ExtExpiresIn: secs, AccessToken: tok,
		})
		return
	}
	now := s.now().Unix()
	n := strconv.FormatInt(secs, 10)
	writeJSON(w, http.StatusOK, tokenResponseV1{
		TokenType:    "Bearer",
		ExpiresIn:    n,
		ExtExpiresIn: n,
		ExpiresOn:    strconv.FormatInt(now+secs, 10),
		NotBefore:    strconv.FormatInt(now, 10),
		Resource:     req.resource,
		AccessToken:  tok,
	})
}

// tokenResponseV2 is the v2.0 endpoint's success response; MSAL accepts
// expires_in as a number or a string, Entra ID sends numbers.
type tokenResponseV2 struct {
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	ExtExpiresIn int64  `json:"ext_expires_in"`
	AccessToken  string `json:"access_token"`
}

// tokenResponseV1 is the v1 endpoint's success response; Entra ID sends
// every number as a string there, and v1 clients (ADAL, go-autorest) parse
// them as such.
type tokenResponseV1 struct {
	TokenType    string `json:"token_type"`
	ExpiresIn    string `json:"expires_in"`
	ExtExpiresIn string `json:"ext_expires_in"`
	ExpiresOn    string `json:"expires_on"`
	NotBefore    string `json:"not_before"`
	Resource     string `json:"resource"`
	AccessToken  string `json:"access_token"`
}

// oidcScopes are the OpenID Connect scopes a client-credentials request may
// carry besides its resource scope (MSAL always adds the first three).
var oidcScopes = map[string]bool{"openid": true, "profile": true, "offline_access": true, "email": true}

// parseTokenRequest reads and checks a token request, writing the error
// response and reporting false if it is not acceptable.
func (s *Service) parseTokenRequest(w http.ResponseWriter, r *http.Request, e *oauthError, f tokenForm) (*tokenRequest, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		e.write(w, http.StatusBadRequest, "invalid_request", 9002313,
			"Invalid request. Request is malformed or invalid.")
		return nil, false
	}
	// Parameters come from the body only (never the query string), once.
	form := r.PostForm
	for k, v := range form {
		if len(v) > 1 {
			e.write(w, http.StatusBadRequest, "invalid_request", 9002313, fmt.Sprintf(
				"Invalid request. Request is malformed or invalid. The parameter '%s' is duplicated.", k))
			return nil, false
		}
	}
	missing := func(name string) {
		e.write(w, http.StatusBadRequest, "invalid_request", 900144, fmt.Sprintf(
			"The request body must contain the following parameter: '%s'.", name))
	}
	grant := form.Get("grant_type")
	switch grant {
	case "":
		missing("grant_type")
		return nil, false
	case "client_credentials":
	default:
		e.write(w, http.StatusBadRequest, "unsupported_grant_type", 70003, fmt.Sprintf(
			"The app requested an unsupported grant type '%s'.", grant))
		return nil, false
	}

	req := &tokenRequest{clientID: form.Get("client_id"), secret: form.Get("client_secret")}
	if id, secret, ok := basicClientAuth(r); ok {
		if req.secret != "" || (req.clientID != "" && req.clientID != id) {
			e.write(w, http.StatusBadRequest, "invalid_request", 9002313,
				"Invalid request. Request is malformed or invalid. The client used more than one authentication method.")
			return nil, false
		}
		req.clientID, req.secret, req.basic = id, secret, true
	}
	if req.clientID == "" {
		missing("client_id")
		return nil, false
	}
	if req.secret == "" {
		e.write(w, http.StatusUnauthorized, "invalid_client", 7000216,
			"'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.")
		return nil, false
	}

	if f == formV1 || (f == formADFS && form.Has("resource")) {
		req.resource = form.Get("resource")
		if req.resource == "" {
			missing("resource")
			return nil, false
		}
		req.audience = req.resource
		return req, true
	}
	scope := form.Get("scope")
	if strings.TrimSpace(scope) == "" {
		missing("scope")
		return nil, false
	}
	var resources []string
	for _, sc := range strings.Fields(scope) {
		if !oidcScopes[strings.ToLower(sc)] {
			resources = append(resources, sc)
		}
	}
	switch {
	case len(resources) > 1:
		e.write(w, http.StatusBadRequest, "invalid_scope", 70011, fmt.Sprintf(
			"The provided value for the input parameter 'scope' is not valid. The scope %s is not valid. "+
				"A client credentials request must name exactly one resource.", scope))
		return nil, false
	case len(resources) == 0 || !strings.HasSuffix(resources[0], defaultScopeSuffix) ||
		len(resources[0]) == len(defaultScopeSuffix):
		e.write(w, http.StatusBadRequest, "invalid_scope", 1002012, fmt.Sprintf(
			"The provided value for scope %s is not valid. Client credential flows must have a scope value with "+
				"/.default suffixed to the resource identifier (application ID URI).", scope))
		return nil, false
	}
	req.audience = strings.TrimSuffix(resources[0], defaultScopeSuffix)
	return req, true
}

// basicClientAuth returns the client credentials of an HTTP Basic
// Authorization header, form-urlencoded as RFC 6749 section 2.3.1 requires.
func basicClientAuth(r *http.Request) (id, secret string, ok bool) {
	id, secret, ok = r.BasicAuth()
	if !ok {
		return "", "", false
	}
	var err1, err2 error
	id, err1 = url.QueryUnescape(id)
	secret, err2 = url.QueryUnescape(secret)
	if err1 != nil || err2 != nil {
		return "", "", false
	}
	return id, secret, true
}

// unusableHash is compared against when a principal has no secret, so that
// the comparison takes the same time either way.
var unusableHash = make([]byte, 32)

// secretMatches reports, in constant time, whether secret is p's client
// secret. Managed identities have none.
func secretMatches(p *Principal, secret string) bool {
	want, usable := p.SecretHash, p.Kind != KindManagedIdentity && len(p.SecretHash) == len(unusableHash)
	if !usable {
		want = unusableHash
	}
	match := subtle.ConstantTimeCompare(HashSecret(secret), want) == 1
	return match && usable
}

// adfsSegment is the first path segment of the AD FS-style authority.
const adfsSegment = "adfs"

// adfsConfiguration returns the OpenID Connect discovery document of the
// AD FS-style authority, shaped like AD FS's own: its issuer is the
// authority, its endpoints are below it, and access_token_issuer says which
// issuer the access tokens carry (the tenant's, as from every other
// endpoint, so every service verifies them the same way).
func (s *Service) adfsConfiguration(tenantID string) map[string]any {
	base := s.authority + adfsSegment + "/"
	return map[string]any{
		"issuer":                                s.authority + adfsSegment,
		"access_token_issuer":                   s.Issuer(tenantID),
		"token_endpoint":                        base + "oauth2/token",
		"authorization_endpoint":                base + "oauth2/authorize",
		"device_authorization_endpoint":         base + "oauth2/devicecode",
		"end_session_endpoint":                  base + "oauth2/logout",
		"jwks_uri":                              base + "discovery/keys",
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "client_secret_basic"},
		"grant_types_supported":                 []string{"client_credentials"},
		"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
		"response_modes_supported":              []string{"query", "fragment", "form_post"},
		"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"claims_supported": []string{
			"sub", "iss", "aud", "exp", "iat", "nbf", "tid", "oid", "appid", "azp", "idtyp", "ver", "xms_mirid",
		},
		"microsoft_multi_refresh_token": true,
	}
}

// openIDConfiguration returns a tenant's OpenID Connect discovery document;
// oauth2 is the prefix of its token endpoints ("oauth2/v2.0/" or "oauth2/").
func (s *Service) openIDConfiguration(tenantID, oauth2, keys string) map[string]any {
	base := s.authority + tenantID + "/"
	return map[string]any{
		"issuer":                                s.Issuer(tenantID),
		"token_endpoint":                        base + oauth2 + "token",
		"authorization_endpoint":                base + oauth2 + "authorize",
		"device_authorization_endpoint":         base + oauth2 + "devicecode",
		"end_session_endpoint":                  base + oauth2 + "logout",
		"jwks_uri":                              base + keys,
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "client_secret_basic"},
		"grant_types_supported":                 []string{"client_credentials"},
		"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
		"response_modes_supported":              []string{"query", "fragment", "form_post"},
		"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"claims_supported": []string{
			"sub", "iss", "aud", "exp", "iat", "nbf", "tid", "oid", "appid", "azp", "idtyp", "ver", "xms_mirid",
		},
		"request_uri_parameter_supported": false,
		"tenant_region_scope":             "WW",
		"cloud_instance_name":             strings.TrimSuffix(strings.TrimPrefix(s.authority, "https://"), "/"),
	}
}

// jwks is a JSON Web Key Set.
type jwks struct {
	Keys []jwk `json:"keys"`
}

// jwk is an RSA signing key in JSON Web Key form.
type jwk struct {
	KeyType string `json:"kty"`
	Use     string `json:"use"`
	Alg     string `json:"alg"`
	KeyID   string `json:"kid"`
	N       string `json:"n"`
	E       string `json:"e"`
	Issuer  string `json:"issuer"`
}

// publicJWK returns the public half of a tenant's signing key.
func (s *Service) publicJWK(t *Tenant) jwk {
	pub := &t.SigningKey.PublicKey
	return jwk{
		KeyType: "RSA",
		Use:     "sig",
		Alg:     "RS256",
		KeyID:   KeyID(pub),
		N:       base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		E:       base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
		Issuer:  s.Issuer(t.ID),
	}
}

// oauthError writes errors in the Microsoft identity platform's shape.
type oauthError struct {
	traceID, correlationID, timestamp, authority string
}

// newOAuthError prepares the error response of a request: its correlation
// id is the client's client-request-id when that is a UUID, as MSAL sends.
func (s *Service) newOAuthError(r *http.Request) *oauthError {
	corr := r.Header.Get("client-request-id")
	if _, err := uuid.Parse(corr); err != nil {
		corr = uuid.NewString()
	}
	return &oauthError{
		traceID:       uuid.NewString(),
		correlationID: corr,
		timestamp:     s.now().UTC().Format("2006-01-02 15:04:05Z"),
		authority:     s.authority,
	}
}

// oauthErrorBody is the JSON body of an error response.
type oauthErrorBody struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
	ErrorCodes       []int  `json:"error_codes,omitempty"`
	Timestamp        string `json:"timestamp"`
	TraceID          string `json:"trace_id"`
	CorrelationID    string `json:"correlation_id"`
	ErrorURI         string `json:"error_uri,omitempty"`
}

// write writes an error response; code is the AADSTS number, 0 for none.
func (e *oauthError) write(w http.ResponseWriter, status int, errCode string, code int, msg string) {
	b := oauthErrorBody{
		Error:         errCode,
		Timestamp:     e.timestamp,
		TraceID:       e.traceID,
		CorrelationID: e.correlationID,
	}
	desc := msg
	if code != 0 {
		desc = fmt.Sprintf("AADSTS%d: %s", code, msg)
		b.ErrorCodes = []int{code}
		b.ErrorURI = fmt.Sprintf("%serror?code=%d", e.authority, code)
	}
	b.ErrorDescription = fmt.Sprintf("%s Trace ID: %s Correlation ID: %s Timestamp: %s",
		desc, e.traceID, e.correlationID, e.timestamp)
	w.Header().Set("x-ms-request-id", e.traceID)
	writeJSON(w, status, b)
}

// serverError logs an internal failure and writes a 500 that does not
// describe it.
func (s *Service) serverError(w http.ResponseWriter, e *oauthError, what string, err error) {
	s.log.Error("identity request failed", "op", what, "correlationId", e.correlationID, "err", err)
	e.write(w, http.StatusInternalServerError, "server_error", 50000,
		"There was an error issuing a token or an issue with our sign-in service.")
}

// writeJSON writes v as a JSON response that must not be cached.
func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store, no-cache")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client went away: nothing to do
}
