package identity

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestIssueVerifyRoundTrip(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	now := f.clock.Now()

	tests := []struct {
		name       string
		principal  string
		audience   string // as issued
		verifyAs   string // as verified
		wantAud    string
		wantClient string
		wantMIRID  string
	}{
		{"service principal", spOID, armAud, armAud, armAud, spClient, ""},
		{"scope form", spOID, armAud + "/.default", armAud, armAud, spClient, ""},
		{"trailing slash insignificant", spOID, armAud + "/", armAud, armAud + "/", spClient, ""},
		{"trailing slash on verify", spOID, armAud, armAud + "/", armAud, spClient, ""},
		{"managed identity", miOID, vaultAud, vaultAud, vaultAud, miClient, miRes},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, expiresIn, err := f.svc.Issue(ctx, f.principal(tt.principal), tt.audience)
			if err != nil {
				t.Fatalf("Issue: %v", err)
			}
			if expiresIn != time.Hour {
				t.Errorf("expiresIn = %v, want 1h", expiresIn)
			}
			c, err := f.svc.Verify(ctx, tok, tt.verifyAs)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			want := Claims{
				TenantID:     tenantA,
				ObjectID:     tt.principal,
				AppID:        tt.wantClient,
				Audience:     tt.wantAud,
				Issuer:       authority + tenantA + "/v2.0",
				IdentityType: "app",
				ResourceID:   tt.wantMIRID,
				TokenID:      c.TokenID,
				IssuedAt:     now,
				NotBefore:    now,
				ExpiresAt:    now.Add(time.Hour),
			}
			if c.TokenID == "" {
				t.Error("no uti")
			}
			if !c.IssuedAt.Equal(want.IssuedAt) || !c.NotBefore.Equal(want.NotBefore) || !c.ExpiresAt.Equal(want.ExpiresAt) {
				t.Errorf("times = %v %v %v, want %v %v %v", c.IssuedAt, c.NotBefore, c.ExpiresAt,
					want.IssuedAt, want.NotBefore, want.ExpiresAt)
			}
			c.IssuedAt, c.NotBefore, c.ExpiresAt = want.IssuedAt, want.NotBefore, want.ExpiresAt
			if *c != want {
				t.Errorf("claims = %+v\nwant %+v", *c, want)
			}

			// The wire format: header and claim names are what Azure clients expect.
			header, payload := decodeParts(t, tok)
			if header["alg"] != "RS256" || header["kid"] != KeyID(&testKeys()[0].PublicKey) {
				t.Errorf("header = %v", header)
			}
			for k, v := range map[string]any{
				"iss": authority + tenantA + "/v2.0", "aud": tt.wantAud, "tid": tenantA, "oid": tt.principal,
				"sub": tt.principal, "appid": tt.wantClient, "azp": tt.wantClient, "idtyp": "app", "ver": "2.0",
				"exp": float64(now.Add(time.Hour).Unix()), "nbf": float64(now.Unix()), "iat": float64(now.Unix()),
			} {
				if payload[k] != v {
					t.Errorf("claim %s = %v, want %v", k, payload[k], v)
				}
			}
			if got, ok := payload["xms_mirid"]; ok != (tt.wantMIRID != "") || (ok && got != tt.wantMIRID) {
				t.Errorf("xms_mirid = %v (present %v), want %q", got, ok, tt.wantMIRID)
			}
		})
	}
}

func TestIssueRefusesAudience(t *testing.T) {
	f := newFixture(t)
	for _, aud := range []string{"https://graph.microsoft.com", "https://graph.microsoft.com/.default", "", "/.default"} {
		tok, _, err := f.svc.Issue(context.Background(), f.principal(spOID), aud)
		if !errors.Is(err, ErrAudienceNotAllowed) || tok != "" {
			t.Errorf("Issue(%q) = %q, %v; want ErrAudienceNotAllowed", aud, tok, err)
		}
	}
	// A nil AudienceAllowed refuses everything.
	svc := New(f.dir, Options{AuthorityHost: authority})
	if _, _, err := svc.Issue(context.Background(), f.principal(spOID), armAud); !errors.Is(err, ErrAudienceNotAllowed) {
		t.Errorf("nil AudienceAllowed: err = %v", err)
	}
}

func TestIssueUnknownTenant(t *testing.T) {
	f := newFixture(t)
	p := *f.principal(spOID)
	p.TenantID = "nope"
	if _, _, err := f.svc.Issue(context.Background(), &p, armAud); !errors.Is(err, ErrNotFound) {
		t.Errorf("err = %v, want ErrNotFound", err)
	}
}

// claimsFor returns the claims the service would issue for the service
// principal of tenant A, as a map to tamper with.
func claimsFor(f *fixture) jwt.MapClaims {
	now := f.clock.Now()
	return jwt.MapClaims{
		"iss": authority + tenantA + "/v2.0", "aud": armAud, "tid": tenantA, "oid": spOID, "sub": spOID,
		"appid": spClient, "azp": spClient, "idtyp": "app", "ver": "2.0",
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	}
}

// forge signs claims with method and key; kid is set in the header unless
// empty.
func forge(t *testing.T, method jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("forge: %v", err)
	}
	return s
}

func decodeParts(t *testing.T, tok string) (header, payload map[string]any) {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	for i, dst := range []*map[string]any{&header, &payload} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, dst); err != nil {
			t.Fatal(err)
		}
	}
	return header, payload
}

func TestVerifyFailures(t *testing.T) {
	keyA, keyB := testKeys()[0], testKeys()[1]
	kidA, kidB := KeyID(&keyA.PublicKey), KeyID(&keyB.PublicKey)
	with := func(f *fixture, k string, v any) jwt.MapClaims {
		c := claimsFor(f)
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}

	tests := []struct {
		name string
		// token returns the token to verify; it may move the clock or change
		// the directory.
		token    func(t *testing.T, f *fixture) string
		audience string
		want     error
	}{
		{
			name: "control: valid forged-by-hand token",
			token: func(t *testing.T, f *fixture) string {
				return forge(t, jwt.SigningMethodRS256, keyA, kidA, claimsFor(f))
			},
			want: nil,
		},
		{
			name: "expired",
			token: func(t *testing.T, f *fixture) string {
				tok := issue(t, f)
				f.clock.Add(time.Hour + time.Minute + time.Second)
				return tok
			},
			want: ErrTokenExpired,
		},
		{
			name: "expired but within leeway",
			token: func(t *testing.T, f *fixture) string {
				tok := issue(t, f)
				f.clock.Add(time.Hour + 30*time.Second)
				return tok
			},
			want: nil,
		},
		{
			name: "not yet valid",
			token: func(t *testing.T, f *fixture) string {
				tok := issue(t, f)
				f.clock.Add(-time.Minute - time.Second)
				return tok
			},
			want: ErrTokenNotYetValid,
		},
		{
			name: "not yet valid but within leeway",
			token: func(t *testing.T, f *fixture) string {
				tok := issue(t, f)
				f.clock.Add(-30 * time.Second)
				return tok
			},
			want: nil,
		},
		{
			name:     "wrong audience",
			token:    issue,
			audience: vaultAud,
			want:     ErrAudienceMismatch,
		},
		{
			name:     "audience prefix is not the audience",
			token:    issue,
			audience: armAud + "/x",
			want:     ErrAudienceMismatch,
		},
		{
			name: "other tenant's key and kid with forged tid",
			token: func(t *testing.T, f *fixture) string {
				return forge(t, jwt.SigningMethodRS256, keyB, kidB, claimsFor(f))
			},
			want: ErrUnknownKey,
		},
		{
			name: "other tenant's key under this tenant's kid",
			token: func(t *testing.T, f *fixture) string {
				return forge(t, jwt.SigningMethodRS256, keyB, kidA, claimsFor(f))
			},
			want: ErrInvalidSignature,
		},
		{
			name: "other tenant's token relabelled",
			token: func(t *testing.T, f *fixture) string {
				c := claimsFor(f)
				c["tid"], c["iss"], c["oid"], c["sub"], c["appid"] = tenantB, authority+tenantB+"/v2.0", spOID, spOID, spClient
				// Signed by B for B, then the payload's tid is switched to A.
				tok := forge(t, jwt.SigningMethodRS256, keyB, kidB, c)
				c["tid"], c["iss"] = tenantA, authority+tenantA+"/v2.0"
				return replacePayload(t, tok, c)
			},
			want: ErrUnknownKey,
		},
		{
			name: "alg none",
			token: func(t *testing.T, f *fixture) string {
				return forge(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, kidA, claimsFor(f))
			},
			want: ErrUnsupportedAlgorithm,
		},
		{
			name: "HS256 with the public key as secret",
			token: func(t *testing.T, f *fixture) string {
				der, err := x509.MarshalPKIXPublicKey(&keyA.PublicKey)
				if err != nil {
					t.Fatal(err)
				}
				return forge(t, jwt.SigningMethodHS256, der, kidA, claimsFor(f))
			},
			want: ErrUnsupportedAlgorithm,
		},
		{
			name: "RS512 with the right key",
			token: func(t *testing.T, f *fixture) string {
				return forge(t, jwt.SigningMethodRS512, keyA, kidA, claimsFor(f))
			},
			want: ErrUnsupportedAlgorithm,
		},
		{
			name: "PS256 with the right key",
			token: func(t *testing.T, f *fixture) string {
				return forge(t, jwt.SigningMethodPS256, keyA, kidA, claimsFor(f))
			},
			want: ErrUnsupportedAlgorithm,
		},
		{
			name: "unknown alg",
			token: func(t *testing.T, f *fixture) string {
				tok := issue(t, f)
				h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"XX999","kid":"` + kidA + `"}`))
				return h + tok[strings.IndexByte(tok, '.'):]
			},
			want: ErrUnsupportedAlgorithm,
		},
		{
			name: "tampered payload",
			token: func(t *testing.T, f *fixture) string {
				c := claimsFor(f)
				c["aud"] = vaultAud
				return replacePayload(t, issue(t, f), c)
			},
			audience: vaultAud,
			want:     ErrInvalidSignature,
		},
		{
			name: "tampered signature",
			token: func(t *testing.T, f *fixture) string {
				tok := []byte(issue(t, f))
				i := len(tok) - 10
				if tok[i] == 'A' {
					tok[i] = 'B'
				} else {
					tok[i] = 'A'
				}
				return string(tok)
			},
			want: ErrInvalidSignature,
		},
		{
			name: "unknown kid",
			token: func(t *testing.T, f *fixture) string {
				return forge(t, jwt.SigningMethodRS256, keyA, "not-a-key", claimsFor(f))
			},
			want: ErrUnknownKey,
		},
		{
			name: "no kid",
			token: func(t *testing.T, f *fixture) string {
				return forge(t, jwt.SigningMethodRS256, keyA, "", claimsFor(f))
			},
			want: ErrUnknownKey,
		},
		{
			name: "unknown tenant",
			token: func(t *testing.T, f *fixture) string {
				return forge(t, jwt.SigningMethodRS256, keyA, kidA, with(f, "tid", "99999999-0000-0000-0000-000000000000"))
			},
			want: ErrUnknownTenant,
		},
		{
			name: "wrong issuer",
			token: func(t *testing.T, f *fixture) string {
				return forge(t, jwt.SigningMethodRS256, keyA, kidA,
					with(f, "iss", "https://login.microsoftonline.com/"+tenantA+"/v2.0"))
			},
			want: ErrIssuerMismatch,
		},
		{
			name: "no exp",
			token: func(t *testing.T, f *fixture) string {
				return forge(t, jwt.SigningMethodRS256, keyA, kidA, with(f, "exp", nil))
			},
			want: ErrMalformedToken,
		},
		{
			name: "no oid",
			token: func(t *testing.T, f *fixture) string {
				return forge(t, jwt.SigningMethodRS256, keyA, kidA, with(f, "oid", nil))
			},
			want: ErrMalformedToken,
		},
		{
			name: "audience array",
			token: func(t *testing.T, f *fixture) string {
				return forge(t, jwt.SigningMethodRS256, keyA, kidA, with(f, "aud", []string{armAud}))
			},
			want: ErrMalformedToken,
		},
		{
			name: "principal of another tenant",
			token: func(t *testing.T, f *fixture) string {
				return forge(t, jwt.SigningMethodRS256, keyA, kidA, with(f, "oid", spBOID))
			},
			want: ErrUnknownPrincipal,
		},
		{
			name: "appid not the principal's",
			token: func(t *testing.T, f *fixture) string {
				return forge(t, jwt.SigningMethodRS256, keyA, kidA, with(f, "appid", miClient))
			},
			want: ErrUnknownPrincipal,
		},
		{
			name: "deleted principal",
			token: func(t *testing.T, f *fixture) string {
				tok := issue(t, f)
				f.dir.delete(spOID)
				return tok
			},
			want: ErrUnknownPrincipal,
		},
		{name: "empty", token: func(*testing.T, *fixture) string { return "" }, want: ErrMalformedToken},
		{name: "garbage", token: func(*testing.T, *fixture) string { return "garbage" }, want: ErrMalformedToken},
		{name: "three garbage parts", token: func(*testing.T, *fixture) string { return "a.b.c" }, want: ErrMalformedToken},
		{name: "four parts", token: func(t *testing.T, f *fixture) string { return issue(t, f) + ".x" }, want: ErrMalformedToken},
		{
			name: "JSON garbage",
			token: func(*testing.T, *fixture) string {
				e := base64.RawURLEncoding.EncodeToString
				return e([]byte(`{"alg":"RS256"}`)) + "." + e([]byte(`[1,2]`)) + "." + e([]byte("sig"))
			},
			want: ErrMalformedToken,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			raw := tt.token(t, f)
			aud := tt.audience
			if aud == "" {
				aud = armAud
			}
			c, err := f.svc.Verify(context.Background(), raw, aud)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			if c != nil {
				t.Errorf("claims = %+v, want nil", c)
			}
			if !errors.Is(err, tt.want) || !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if raw != "" && strings.Contains(err.Error(), raw) {
				t.Error("error contains the token")
			}
		})
	}
}

func TestVerifyDirectoryFailureIsNotInvalidToken(t *testing.T) {
	f := newFixture(t)
	tok := issue(t, f)
	f.dir.fail = errors.New("disk on fire")
	_, err := f.svc.Verify(context.Background(), tok, armAud)
	if err == nil || errors.Is(err, ErrInvalidToken) {
		t.Fatalf("err = %v, want a non-token error", err)
	}
}

func issue(t *testing.T, f *fixture) string {
	t.Helper()
	tok, _, err := f.svc.Issue(context.Background(), f.principal(spOID), armAud)
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	return tok
}

// replacePayload swaps the payload of a signed token, keeping its header and
// signature.
func replacePayload(t *testing.T, tok string, c jwt.MapClaims) string {
	t.Helper()
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok, ".")
	parts[1] = base64.RawURLEncoding.EncodeToString(b)
	return strings.Join(parts, ".")
}

func TestMintForManagedIdentity(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	tok, err := f.svc.MintForManagedIdentity(ctx, tenantA, miOID, vaultAud)
	if err != nil {
		t.Fatalf("Mint: %v", err)
	}
	c, err := f.svc.Verify(ctx, tok, vaultAud)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if c.ObjectID != miOID || c.AppID != miClient || c.ResourceID != miRes {
		t.Errorf("claims = %+v", c)
	}

	if _, err := f.svc.MintForManagedIdentity(ctx, tenantA, spOID, vaultAud); err == nil {
		t.Error("minted for a service principal")
	}
	if _, err := f.svc.MintForManagedIdentity(ctx, tenantA, "nope", vaultAud); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown identity: err = %v", err)
	}
	if _, err := f.svc.MintForManagedIdentity(ctx, tenantB, miOID, vaultAud); !errors.Is(err, ErrNotFound) {
		t.Errorf("wrong tenant: err = %v", err)
	}
	if _, err := f.svc.MintForManagedIdentity(ctx, tenantA, miOID, "https://storage.azure.com"); !errors.Is(err, ErrAudienceNotAllowed) {
		t.Errorf("refused audience: err = %v", err)
	}
}

func TestBearerToken(t *testing.T) {
	tests := []struct {
		header string
		want   string
		ok     bool
	}{
		{"Bearer abc.def.ghi", "abc.def.ghi", true},
		{"bearer abc", "abc", true},
		{"BEARER   abc  ", "abc", true},
		{"", "", false},
		{"Bearer", "", false},
		{"Bearer ", "", false},
		{"Basic dXNlcjpwYXNz", "", false},
		{"Bearerabc", "", false},
		{"Bearer a b", "", false},
	}
	for _, tt := range tests {
		r, _ := http.NewRequest(http.MethodGet, "https://x/", nil)
		if tt.header != "" {
			r.Header.Set("Authorization", tt.header)
		}
		got, ok := BearerToken(r)
		if got != tt.want || ok != tt.ok {
			t.Errorf("BearerToken(%q) = %q, %v; want %q, %v", tt.header, got, ok, tt.want, tt.ok)
		}
	}
}

func TestSecrets(t *testing.T) {
	s1, h1 := NewSecret()
	s2, _ := NewSecret()
	if len(s1) != 40 || s1 == s2 {
		t.Errorf("secrets %q %q", s1, s2)
	}
	if strings.Trim(s1, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
		t.Errorf("secret %q is not URL-safe", s1)
	}
	if string(h1) != string(HashSecret(s1)) || len(h1) != 32 {
		t.Error("hash is not SHA-256 of the secret")
	}
	if string(HashSecret(s1)) == string(HashSecret(s2)) {
		t.Error("hashes collide")
	}
}

func TestSameAudience(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{armAud, armAud, true},
		{armAud, armAud + "/", true},
		{"HTTPS://Management.Azure.com/", armAud, true},
		{armAud, vaultAud, false},
		{armAud, armAud + "/x", false},
		{"", "", false},
		{"/", "", false},
	}
	for _, tt := range tests {
		if got := SameAudience(tt.a, tt.b); got != tt.want {
			t.Errorf("SameAudience(%q, %q) = %v", tt.a, tt.b, got)
		}
	}
}
