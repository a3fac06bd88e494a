package identity

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Defaults for Options.
const (
	// DefaultTokenLifetime is the lifetime of a token when
	// Options.TokenLifetime is zero.
	DefaultTokenLifetime = time.Hour
	// DefaultLeeway is the clock skew tolerated when Options.Leeway is zero.
	DefaultLeeway = time.Minute
)

// Options configures a Service.
type Options struct {
	// AuthorityHost is the URL clients use as their Microsoft Entra
	// authority host, e.g. "https://127.0.0.1:8443/". It is the prefix of
	// every issuer and endpoint the service publishes. Required; a missing
	// trailing "/" is added.
	AuthorityHost string
	// AudienceAllowed reports whether tokens may be issued for a resource
	// audience, e.g. "https://management.azure.com" (as requested, so it may
	// or may not end with "/": SameAudience compares them). A nil
	// AudienceAllowed refuses every audience.
	AudienceAllowed func(aud string) bool
	// TokenLifetime is how long an issued token is valid; zero means
	// DefaultTokenLifetime.
	TokenLifetime time.Duration
	// Leeway is the clock skew tolerated when checking exp and nbf; zero
	// means DefaultLeeway, a negative value means none.
	Leeway time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives internal failures of the HTTP handlers (a directory
	// that cannot be read, say); nil means slog.Default(). Tokens and
	// secrets are never logged.
	Logger *slog.Logger
	// ADFSTenant, if set, is the tenant served by the AD FS-style authority
	// "{AuthorityHost}adfs": the form of authority for which the Azure CLI
	// and MSAL skip Microsoft's instance discovery and take the tenant from
	// the authority itself. Empty: no such authority (its paths answer 404).
	ADFSTenant string
}

// Service issues and verifies access tokens and serves the token, discovery
// and key endpoints (Handler). It is safe for concurrent use.
type Service struct {
	dir       Directory
	authority string
	allowed   func(string) bool
	lifetime  time.Duration
	leeway    time.Duration
	now       func() time.Time
	log       *slog.Logger
	adfs      string // the AD FS authority's tenant; "" none
}

// New returns a token service reading tenants and principals from dir. It
// panics if opts.AuthorityHost is empty.
func New(dir Directory, opts Options) *Service {
	if opts.AuthorityHost == "" {
		panic("identity: Options.AuthorityHost is required")
	}
	s := &Service{
		dir:       dir,
		authority: opts.AuthorityHost,
		allowed:   opts.AudienceAllowed,
		lifetime:  opts.TokenLifetime,
		leeway:    opts.Leeway,
		now:       opts.Now,
		log:       opts.Logger,
		adfs:      strings.ToLower(opts.ADFSTenant),
	}
	if !strings.HasSuffix(s.authority, "/") {
		s.authority += "/"
	}
	if s.allowed == nil {
		s.allowed = func(string) bool { return false }
	}
	if s.lifetime <= 0 {
		s.lifetime = DefaultTokenLifetime
	}
	switch {
	case s.leeway == 0:
		s.leeway = DefaultLeeway
	case s.leeway < 0:
		s.leeway = 0
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	return s
}

// Issuer returns the issuer ("iss") of the tokens of a tenant:
// "{AuthorityHost}{tenantID}/v2.0".
func (s *Service) Issuer(tenantID string) string {
	return s.authority + tenantID + "/v2.0"
}

// ErrAudienceNotAllowed is returned by Issue when Options.AudienceAllowed
// refuses the audience.
var ErrAudienceNotAllowed = errors.New("identity: audience not allowed")

// ErrInvalidToken is wrapped by every error Verify returns for a token that
// is not acceptable (as opposed to a failure to read the directory).
var ErrInvalidToken = errors.New("invalid token")

// TokenError is why Verify refused a token. Every TokenError wraps
// ErrInvalidToken; Verify returns one of the Err* values of this type below,
// so callers can branch with errors.Is. Reason is safe to show to clients.
type TokenError struct {
	Reason string
}

// Error implements error.
func (e *TokenError) Error() string { return "invalid token: " + e.Reason }

// Unwrap returns ErrInvalidToken.
func (e *TokenError) Unwrap() error { return ErrInvalidToken }

// Reasons Verify refuses a token for.
var (
	// ErrMalformedToken: the token is not a well-formed JWT with the claims
	// this service issues.
	ErrMalformedToken = &TokenError{Reason: "malformed token"}
	// ErrUnsupportedAlgorithm: the token is not signed with RS256.
	ErrUnsupportedAlgorithm = &TokenError{Reason: "unsupported signing algorithm"}
	// ErrUnknownTenant: the token's tenant (tid) does not exist.
	ErrUnknownTenant = &TokenError{Reason: "unknown tenant"}
	// ErrUnknownKey: the token's key id (kid) is not its tenant's.
	ErrUnknownKey = &TokenError{Reason: "unknown signing key"}
	// ErrInvalidSignature: the signature does not verify with the tenant's
	// key.
	ErrInvalidSignature = &TokenError{Reason: "invalid signature"}
	// ErrTokenExpired: the token's exp is past (beyond the leeway).
	ErrTokenExpired = &TokenError{Reason: "token expired"}
	// ErrTokenNotYetValid: the token's nbf is ahead (beyond the leeway).
	ErrTokenNotYetValid = &TokenError{Reason: "token not yet valid"}
	// ErrIssuerMismatch: the token's iss is not its tenant's issuer.
	ErrIssuerMismatch = &TokenError{Reason: "issuer mismatch"}
	// ErrAudienceMismatch: the token was issued for another audience.
	ErrAudienceMismatch = &TokenError{Reason: "audience mismatch"}
	// ErrUnknownPrincipal: the token's principal (oid) no longer exists.
	ErrUnknownPrincipal = &TokenError{Reason: "unknown principal"}
)

// Claims are the verified claims of an access token.
type Claims struct {
	TenantID string // tid
	ObjectID string // oid, also sub
	AppID    string // appid and azp: the client id
	Audience string // aud, as issued
	Issuer   string // iss
	// IdentityType is idtyp: "app" for every token this service issues.
	IdentityType string
	// ResourceID is xms_mirid: for a managed identity, the ARM id of the
	// resource owning it; empty otherwise.
	ResourceID string
	// TokenID is uti, a unique id of the token.
	TokenID   string
	IssuedAt  time.Time
	NotBefore time.Time
	ExpiresAt time.Time
}

// jwtClaims is the JSON payload of an access token. aud is a single string,
// as Microsoft Entra writes it.
type jwtClaims struct {
	Issuer          string           `json:"iss"`
	Subject         string           `json:"sub"`
	Audience        string           `json:"aud"`
	ExpiresAt       *jwt.NumericDate `json:"exp,omitempty"`
	NotBefore       *jwt.NumericDate `json:"nbf,omitempty"`
	IssuedAt        *jwt.NumericDate `json:"iat,omitempty"`
	TenantID        string           `json:"tid"`
	ObjectID        string           `json:"oid"`
	AppID           string           `json:"appid"`
	AuthorizedParty string           `json:"azp"`
	IdentityType    string           `json:"idtyp"`
	Version         string           `json:"ver"`
	ResourceID      string           `json:"xms_mirid,omitempty"`
	TokenID         string           `json:"uti,omitempty"`
}

// GetExpirationTime implements jwt.Claims.
func (c *jwtClaims) GetExpirationTime() (*jwt.NumericDate, error) { return c.ExpiresAt, nil }

// GetNotBefore implements jwt.Claims.
func (c *jwtClaims) GetNotBefore() (*jwt.NumericDate, error) { return c.NotBefore, nil }

// GetIssuedAt implements jwt.Claims.
func (c *jwtClaims) GetIssuedAt() (*jwt.NumericDate, error) { return c.IssuedAt, nil }

// GetIssuer implements jwt.Claims.
func (c *jwtClaims) GetIssuer() (string, error) { return c.Issuer, nil }

// GetSubject implements jwt.Claims.
func (c *jwtClaims) GetSubject() (string, error) { return c.Subject, nil }

// GetAudience implements jwt.Claims.
func (c *jwtClaims) GetAudience() (jwt.ClaimStrings, error) {
	return jwt.ClaimStrings{c.Audience}, nil
}

// defaultScopeSuffix ends a client-credentials scope ("{resource}/.default").
const defaultScopeSuffix = "/.default"

// SameAudience reports whether two audiences are the same resource: they
// are compared case-insensitively and a trailing "/" is insignificant, so
// "https://management.azure.com" and "https://management.azure.com/" match.
func SameAudience(a, b string) bool {
	a, b = strings.TrimRight(a, "/"), strings.TrimRight(b, "/")
	return a != "" && strings.EqualFold(a, b)
}

// tenant returns the tenant with the given id and its signing key, or an
// error wrapping ErrNotFound.
func (s *Service) tenant(ctx context.Context, tenantID string) (*Tenant, error) {
	t, err := s.dir.Tenant(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	if t == nil || t.SigningKey == nil {
		return nil, fmt.Errorf("identity: tenant %q has no signing key", tenantID)
	}
	return t, nil
}

// Issue issues an access token for principal p and the resource audience
// (a trailing "/.default" is removed, so a scope may be passed too). It
// returns the token and how long it is valid. It returns an error wrapping
// ErrAudienceNotAllowed if Options.AudienceAllowed refuses the audience, and
// one wrapping ErrNotFound if p's tenant does not exist. Issue does not
// authenticate p: callers must have done so.
func (s *Service) Issue(ctx context.Context, p *Principal, audience string) (token string, expiresIn time.Duration, err error) {
	if p == nil || p.ObjectID == "" || p.TenantID == "" {
		return "", 0, errors.New("identity: issue: principal without object or tenant id")
	}
	audience = strings.TrimSuffix(audience, defaultScopeSuffix)
	if audience == "" || !s.allowed(audience) {
		return "", 0, fmt.Errorf("%w: %q", ErrAudienceNotAllowed, audience)
	}
	t, err := s.tenant(ctx, p.TenantID)
	if err != nil {
		return "", 0, fmt.Errorf("identity: issue: %w", err)
	}
	now := s.now().Truncate(time.Second)
	exp := now.Add(s.lifetime)
	c := &jwtClaims{
		Issuer:          s.Issuer(t.ID),
		Subject:         p.ObjectID,
		Audience:        audience,
		ExpiresAt:       jwt.NewNumericDate(exp),
		NotBefore:       jwt.NewNumericDate(now),
		IssuedAt:        jwt.NewNumericDate(now),
		TenantID:        t.ID,
		ObjectID:        p.ObjectID,
		AppID:           p.ClientID,
		AuthorizedParty: p.ClientID,
		IdentityType:    "app",
		Version:         "2.0",
		TokenID:         newTokenID(),
	}
	if p.Kind == KindManagedIdentity {
		c.ResourceID = p.ResourceID
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
	tok.Header["kid"] = KeyID(&t.SigningKey.PublicKey)
	signed, err := tok.SignedString(t.SigningKey)
	if err != nil {
		return "", 0, fmt.Errorf("identity: sign token: %w", err)
	}
	return signed, exp.Sub(now), nil
}

// MintForManagedIdentity issues a token for the managed identity with the
// given object id in a tenant, for the audience (e.g.
// "https://vault.azure.net"). It is what the server uses when a resource's
// managed identity calls another service, e.g. a cluster's system-assigned
// identity calling Key Vault. It fails if the principal does not exist
// (ErrNotFound) or is not a managed identity.
func (s *Service) MintForManagedIdentity(ctx context.Context, tenantID, objectID, audience string) (string, error) {
	p, err := s.dir.PrincipalByObjectID(ctx, tenantID, objectID)
	if err != nil {
		return "", fmt.Errorf("identity: managed identity %s: %w", objectID, err)
	}
	if p.Kind != KindManagedIdentity {
		return "", fmt.Errorf("identity: principal %s is not a managed identity", objectID)
	}
	tok, _, err := s.Issue(ctx, p, audience)
	return tok, err
}

// Verify verifies an access token for a service and returns its claims.
// audiences are every audience the service accepts (Resource Manager's
// "https://management.azure.com" and "https://management.core.windows.net",
// say); the token must name one of them (compared with SameAudience). The
// token must be an RS256 JWT signed with the key of its own tenant (tid)
// under that key's id, issued by that tenant's issuer, within its validity
// period (with Options.Leeway), and its principal (oid) must still exist. A
// refused token gives an error wrapping ErrInvalidToken (one of the Err*
// *TokenError values); any other error is a failure to read the directory.
func (s *Service) Verify(ctx context.Context, raw string, audiences ...string) (*Claims, error) {
	if raw == "" {
		return nil, ErrMalformedToken
	}
	// First pass, unverified: find the tenant whose key must have signed it.
	var pre jwtClaims
	unverified, _, err := jwt.NewParser().ParseUnverified(raw, &pre)
	switch {
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		return nil, ErrUnsupportedAlgorithm // alg missing or unknown
	case err != nil:
		return nil, ErrMalformedToken
	}
	if unverified.Method != jwt.SigningMethodRS256 {
		return nil, ErrUnsupportedAlgorithm
	}
	if pre.TenantID == "" || pre.ObjectID == "" {
		return nil, ErrMalformedToken
	}
	t, err := s.tenant(ctx, pre.TenantID)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrUnknownTenant
	} else if err != nil {
		return nil, fmt.Errorf("identity: verify: %w", err)
	}
	if kid, _ := unverified.Header["kid"].(string); kid != KeyID(&t.SigningKey.PublicKey) {
		return nil, ErrUnknownKey
	}

	// Second pass: signature and time, issuer.
	var c jwtClaims
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodRS256.Alg()}),
		jwt.WithStrictDecoding(),
		jwt.WithExpirationRequired(),
		jwt.WithIssuer(s.Issuer(t.ID)),
		jwt.WithLeeway(s.leeway),
		jwt.WithTimeFunc(s.now),
	)
	_, err = parser.ParseWithClaims(raw, &c, func(*jwt.Token) (any, error) {
		return &t.SigningKey.PublicKey, nil
	})
	switch {
	case err == nil:
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return nil, ErrInvalidSignature
	case errors.Is(err, jwt.ErrTokenExpired):
		return nil, ErrTokenExpired
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return nil, ErrTokenNotYetValid
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return nil, ErrIssuerMismatch
	default:
		return nil, ErrMalformedToken
	}
	if c.TenantID != pre.TenantID || c.ObjectID != pre.ObjectID {
		return nil, ErrMalformedToken // cannot happen: same bytes, parsed twice
	}
	if !slices.ContainsFunc(audiences, func(a string) bool { return SameAudience(c.Audience, a) }) {
		return nil, ErrAudienceMismatch
	}
	p, err := s.dir.PrincipalByObjectID(ctx, t.ID, c.ObjectID)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrUnknownPrincipal
	} else if err != nil {
		return nil, fmt.Errorf("identity: verify: %w", err)
	}
	if !strings.EqualFold(p.ClientID, c.AppID) {
		return nil, ErrUnknownPrincipal
	}
	out := &Claims{
		TenantID:     c.TenantID,
		ObjectID:     c.ObjectID,
		AppID:        c.AppID,
		Audience:     c.Audience,
		Issuer:       c.Issuer,
		IdentityType: c.IdentityType,
		ResourceID:   c.ResourceID,
		TokenID:      c.TokenID,
		ExpiresAt:    c.ExpiresAt.Time,
	}
	if c.IssuedAt != nil {
		out.IssuedAt = c.IssuedAt.Time
	}
	if c.NotBefore != nil {
		out.NotBefore = c.NotBefore.Time
	}
	return out, nil
}

// BearerToken returns the token of an "Authorization: Bearer <token>"
// header; the scheme is case-insensitive. It reports false if the header is
// missing, has another scheme, or carries no token.
func BearerToken(r *http.Request) (string, bool) {
	h := strings.TrimSpace(r.Header.Get("Authorization"))
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	if tok == "" || strings.ContainsAny(tok, " \t") {
		return "", false
	}
	return tok, true
}

// newTokenID returns a random unique token id.
func newTokenID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

var _ jwt.Claims = (*jwtClaims)(nil)
