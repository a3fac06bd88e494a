package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/kustodian/kustodian/internal/arm"
	"github.com/kustodian/kustodian/internal/identity"
	"github.com/kustodian/kustodian/internal/kek"
	"github.com/kustodian/kustodian/internal/monitor"
)

// managedIdentityCredential is a cluster's system-assigned identity as an
// azcore credential: the server mints its tokens itself, as Azure's
// instance metadata service does for a resource.
type managedIdentityCredential struct {
	ids      *identity.Service
	tenantID string
	objectID string
}

func (c managedIdentityCredential) GetToken(ctx context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	if len(opts.Scopes) != 1 {
		return azcore.AccessToken{}, fmt.Errorf("managed identity: want one scope, got %d", len(opts.Scopes))
	}
	if opts.TenantID != "" && !strings.EqualFold(opts.TenantID, c.tenantID) {
		return azcore.AccessToken{}, fmt.Errorf("managed identity of tenant %s cannot get a token in tenant %s", c.tenantID, opts.TenantID)
	}
	aud := strings.TrimSuffix(opts.Scopes[0], "/.default")
	tok, err := c.ids.MintForManagedIdentity(ctx, c.tenantID, c.objectID, aud)
	if err != nil {
		return azcore.AccessToken{}, err
	}
	// Minted tokens live an hour; refresh well before.
	return azcore.AccessToken{Token: tok, ExpiresOn: time.Now().Add(45 * time.Minute)}, nil
}

// vaultHTTPClient returns the HTTP client the server uses to reach key
// vaults: it trusts the system roots plus caFile (the development CA), and
// it sends names under the embedded vault's DNS suffix, which need not
// resolve, to the server's own listener.
func vaultHTTPClient(caFile, suffix, listenAddr string) (*http.Client, error) {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, err
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("no certificate in %s", caFile)
		}
	}
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	tr := &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     90 * time.Second,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, _, err := net.SplitHostPort(addr)
			if err == nil && strings.HasSuffix(strings.ToLower(host), "."+suffix) {
				addr = listenAddr
			}
			return dialer.DialContext(ctx, network, addr)
		},
	}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}, nil
}

// keyValidator validates a cluster's keyVaultProperties as the cluster's
// managed identity, through the Key Vault protocol.
func keyValidator(ids *identity.Service, client *http.Client) monitor.KeyValidator {
	return func(ctx context.Context, tenantID, principalID string, kv monitor.KeyVaultProperties) error {
		c := kek.NewVaultClient(managedIdentityCredential{ids: ids, tenantID: tenantID, objectID: principalID}, client)
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		_, err := kek.Validate(ctx, c, kek.KeyRef{VaultURI: kv.KeyVaultURI, Name: kv.KeyName, Version: kv.KeyVersion}, int(kv.KeyRsaSize))
		var f *kek.Failure
		if errors.As(err, &f) {
			return arm.BadRequest(f.Condition, "The cluster's key cannot be used: %s", f.Message)
		}
		return err
	}
}
