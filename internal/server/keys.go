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
	"sync"
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

// vaultClients hands out one Key Vault client per managed identity, shared
// by key validation and the key manager, so an identity learns a vault's
// authentication challenge once rather than once per key configuration.
type vaultClients struct {
	ids    *identity.Service
	client *http.Client
	mu     sync.Mutex
	m      map[string]*kek.VaultClient // by tenant "/" principal
}

func newVaultClients(ids *identity.Service, client *http.Client) *vaultClients {
	return &vaultClients{ids: ids, client: client, m: map[string]*kek.VaultClient{}}
}

// get returns the client of the managed identity principalID of tenantID.
func (v *vaultClients) get(tenantID, principalID string) *kek.VaultClient {
	v.mu.Lock()
	defer v.mu.Unlock()
	k := tenantID + "/" + principalID
	c := v.m[k]
	if c == nil {
		c = kek.NewVaultClient(managedIdentityCredential{ids: v.ids, tenantID: tenantID, objectID: principalID}, v.client)
		v.m[k] = c
	}
	return c
}

// keyValidator validates a cluster's keyVaultProperties as the cluster's
// managed identity, through the Key Vault protocol.
func keyValidator(vcs *vaultClients) monitor.KeyValidator {
	return func(ctx context.Context, tenantID, principalID string, kv monitor.KeyVaultProperties) error {
		c := vcs.get(tenantID, principalID)
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
