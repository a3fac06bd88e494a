package keyvault

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/kustodian/kustodian/internal/identity"
)

// challenge is the WWW-Authenticate value azkeys' challenge policy parses:
// the authority to get a token from (the vault's tenant) and the resource
// to get it for.
func (s *Service) challenge(tenantID, host string) string {
	return fmt.Sprintf(`Bearer authorization="%s%s", resource="%s"`, s.authority, tenantID, s.Audience(host))
}

// unauthorized is a 401 carrying the challenge.
func (s *Service) unauthorized(c *call, msg string) *apiError {
	return &apiError{Status: http.StatusUnauthorized, Code: CodeUnauthorized, Message: msg,
		Challenge: s.challenge(c.vault.TenantID, c.r.Host)}
}

// authenticate verifies the request's bearer token for the vault: issued
// for one of Audiences(host), in the vault's tenant.
func (s *Service) authenticate(c *call) *apiError {
	raw, ok := identity.BearerToken(c.r)
	if !ok {
		return s.unauthorized(c, "AKV10000: Request is missing a Bearer or PoP token.")
	}
	aud := s.Audience(c.r.Host)
	claims, err := s.verify(c.ctx, raw, s.Audiences(c.r.Host)...)
	if err != nil {
		var te *identity.TokenError
		switch {
		case errors.As(err, &te):
			return s.unauthorized(c, "AKV10022: The access token was refused: "+te.Reason+
				". Get a token for "+aud+" in tenant "+c.vault.TenantID+".")
		case errors.Is(err, identity.ErrInvalidToken):
			return s.unauthorized(c, "AKV10022: The access token was refused. Get a token for "+aud+
				" in tenant "+c.vault.TenantID+".")
		default:
			s.log.Error("keyvault: verifying a token failed", "vault", c.vaultName, "err", err)
			return errInternal
		}
	}
	if !strings.EqualFold(claims.TenantID, c.vault.TenantID) {
		return s.unauthorized(c, fmt.Sprintf("AKV10032: Invalid issuer. The token was issued by tenant %s; "+
			"vault %s belongs to tenant %s.", claims.TenantID, c.vaultName, c.vault.TenantID))
	}
	c.claims = claims
	return nil
}

// allowed reports whether the caller holds a key permission in the vault's
// access policies. A policy applies when its object id is the caller's and,
// if it names an application (compound identity), that application is the
// caller's client; "all" grants every permission.
func allowed(v *VaultConfig, claims *identity.Claims, perm string) bool {
	for _, p := range v.AccessPolicies {
		if !strings.EqualFold(p.ObjectID, claims.ObjectID) {
			continue
		}
		if p.TenantID != "" && !strings.EqualFold(p.TenantID, claims.TenantID) {
			continue
		}
		if p.ApplicationID != "" && !strings.EqualFold(p.ApplicationID, claims.AppID) {
			continue
		}
		for _, k := range p.Keys {
			if strings.EqualFold(k, perm) || strings.EqualFold(k, PermAll) {
				return true
			}
		}
	}
	return false
}

// accessDenied is Key Vault's 403 for a missing access-policy permission.
func accessDenied(v *VaultConfig, claims *identity.Claims, perm string) *apiError {
	vault := v.Name
	if v.Location != "" {
		vault += ";location=" + v.Location
	}
	return forbidden(InnerAccessDenied, "The user, group or application 'appid=%s;oid=%s;iss=%s' does not have keys %s permission "+
		"on key vault '%s'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287",
		claims.AppID, claims.ObjectID, claims.Issuer, perm, vault)
}
