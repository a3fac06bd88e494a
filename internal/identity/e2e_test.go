package identity

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// TestAzidentityClientSecretCredential runs the official client, unchanged
// but for its authority host, transport and instance discovery, against the
// handlers.
func TestAzidentityClientSecretCredential(t *testing.T) {
	f, srv := newTLSFixture(t)
	// MSAL checks token expiry against the real clock: let the fake one
	// start at the real time.
	f.clock.Set(time.Now())

	credential := func(t *testing.T, tenant, clientID, secret string) *azidentity.ClientSecretCredential {
		t.Helper()
		cred, err := azidentity.NewClientSecretCredential(tenant, clientID, secret, &azidentity.ClientSecretCredentialOptions{
			ClientOptions: azcore.ClientOptions{
				Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: srv.URL + "/"},
				Transport: srv.Client(),
			},
			DisableInstanceDiscovery: true,
		})
		if err != nil {
			t.Fatalf("NewClientSecretCredential: %v", err)
		}
		return cred
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	scopes := policy.TokenRequestOptions{Scopes: []string{armAud + "/.default"}}

	t.Run("success", func(t *testing.T) {
		tok, err := credential(t, tenantA, spClient, f.secret).GetToken(ctx, scopes)
		if err != nil {
			t.Fatalf("GetToken: %v", err)
		}
		c, err := f.svc.Verify(ctx, tok.Token, armAud)
		if err != nil {
			t.Fatalf("Verify: %v", err)
		}
		if c.ObjectID != spOID || c.TenantID != tenantA {
			t.Errorf("claims = %+v", c)
		}
		if d := time.Until(tok.ExpiresOn); d < 55*time.Minute || d > time.Hour {
			t.Errorf("ExpiresOn in %v", d)
		}
	})

	t.Run("wrong secret", func(t *testing.T) {
		_, err := credential(t, tenantA, spClient, "wrong").GetToken(ctx, scopes)
		var afe *azidentity.AuthenticationFailedError
		if !errors.As(err, &afe) {
			t.Fatalf("err = %v, want AuthenticationFailedError", err)
		}
		if afe.RawResponse == nil || afe.RawResponse.StatusCode != http.StatusUnauthorized ||
			!strings.Contains(err.Error(), "AADSTS7000215") {
			t.Errorf("err = %v", err)
		}
	})

	t.Run("audience not allowed", func(t *testing.T) {
		_, err := credential(t, tenantA, spClient, f.secret).GetToken(ctx,
			policy.TokenRequestOptions{Scopes: []string{"https://graph.microsoft.com/.default"}})
		if err == nil || !strings.Contains(err.Error(), "AADSTS500011") {
			t.Errorf("err = %v, want AADSTS500011", err)
		}
	})

	t.Run("unknown tenant", func(t *testing.T) {
		_, err := credential(t, "99999999-0000-0000-0000-000000000000", spClient, f.secret).GetToken(ctx, scopes)
		if err == nil {
			t.Error("got a token from an unknown tenant")
		}
	})
}
