package keyvault

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"

	"github.com/kustodian/kustodian/internal/devtls"
)

// fakeCredential returns a fixed token and records what it was asked for.
type fakeCredential struct {
	token   string
	mu      sync.Mutex
	scopes  []string
	tenants []string
}

func (c *fakeCredential) GetToken(ctx context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.scopes = append(c.scopes, o.Scopes...)
	c.tenants = append(c.tenants, o.TenantID)
	return azcore.AccessToken{Token: c.token, ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// startTLS serves the env's data plane over TLS with a development
// certificate for *.vault.localhost, and returns a client that sends every
// *.vault.localhost name to it and the listener's port.
func startTLS(t *testing.T, e *env) (*http.Client, string) {
	t.Helper()
	m, err := devtls.Ensure(t.TempDir(), []string{"*.vault.localhost", "localhost"}, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !e.svc.Match(r) {
			http.NotFound(w, r)
			return
		}
		e.svc.Handler().ServeHTTP(w, r)
	}))
	srv.TLS = devtls.ServerTLSConfig(m)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	addr := srv.Listener.Addr().String()
	_, port, _ := net.SplitHostPort(addr)
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: m.CAPool, MinVersion: tls.VersionTLS12},
		DialContext: func(ctx context.Context, network, a string) (net.Conn, error) {
			host, _, err := net.SplitHostPort(a)
			if err != nil {
				return nil, err
			}
			if !strings.HasSuffix(host, ".vault.localhost") && host != "localhost" {
				return nil, fmt.Errorf("test dialer: unexpected host %s", host)
			}
			return dialer.DialContext(ctx, network, addr)
		},
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}, port
}

func TestAzkeysClient(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.vaults.update("kv1", func(v *VaultConfig) { v.PurgeProtection = false })
	client, port := startTLS(t, e)
	e.audience = "https://vault.localhost:" + port
	cred := &fakeCredential{token: adminTok}
	vaultURL := e.svc.VaultURI("kv1", port)
	kc, err := azkeys.NewClient(vaultURL, cred, &azkeys.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: client}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()

	created, err := kc.CreateKey(ctx, "cmk", azkeys.CreateKeyParameters{
		Kty: to.Ptr(azkeys.KeyTypeRSA), KeySize: to.Ptr[int32](2048),
		KeyOps: []*azkeys.KeyOperation{to.Ptr(azkeys.KeyOperationWrapKey), to.Ptr(azkeys.KeyOperationUnwrapKey)},
		Tags:   map[string]*string{"owner": to.Ptr("team")},
	}, nil)
	if err != nil {
		t.Fatalf("CreateKey: %v", err)
	}
	cred.mu.Lock()
	scopes, tenants := cred.scopes, cred.tenants
	cred.mu.Unlock()
	if len(scopes) == 0 || scopes[0] != "https://vault.localhost:"+port+"/.default" || tenants[0] != tenantA {
		t.Fatalf("credential asked for scopes %v tenants %v", scopes, tenants)
	}
	kid := *created.Key.KID
	version := kid.Version()
	if kid.Name() != "cmk" || len(version) != 32 || !strings.HasPrefix(string(kid), vaultURL+"keys/cmk/") {
		t.Fatalf("kid %s", kid)
	}
	if *created.Key.Kty != azkeys.KeyTypeRSA || len(created.Key.N) != 256 || *created.Attributes.Enabled != true ||
		*created.Attributes.RecoveryLevel != "Recoverable+Purgeable" || *created.Tags["owner"] != "team" ||
		created.Attributes.Created == nil || created.Attributes.Created.Unix() != e.clock.Now().Unix() {
		t.Fatalf("created %+v %+v", created.Key, created.Attributes)
	}

	got, err := kc.GetKey(ctx, "cmk", "", nil)
	if err != nil || *got.Key.KID != kid {
		t.Fatalf("GetKey: %v", err)
	}
	if _, err := kc.GetKey(ctx, "cmk", version, nil); err != nil {
		t.Fatalf("GetKey version: %v", err)
	}

	// Paging: the default page is 25 keys.
	for i := range 26 {
		if _, err := kc.CreateKey(ctx, fmt.Sprintf("bulk-%02d", i), azkeys.CreateKeyParameters{Kty: to.Ptr(azkeys.KeyTypeRSA)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	pager := kc.NewListKeyPropertiesPager(nil)
	var names []string
	pages := 0
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatalf("NextPage: %v", err)
		}
		pages++
		for _, k := range page.Value {
			names = append(names, k.KID.Name())
		}
	}
	if len(names) != 27 || pages != 2 || names[0] != "bulk-00" || names[26] != "cmk" {
		t.Fatalf("listed %d keys in %d pages: %v", len(names), pages, names)
	}

	// Wrap/unwrap round trip, every algorithm.
	aek := []byte("0123456789abcdef0123456789abcdef")
	for _, alg := range []azkeys.EncryptionAlgorithm{azkeys.EncryptionAlgorithmRSAOAEP256, azkeys.EncryptionAlgorithmRSAOAEP, azkeys.EncryptionAlgorithmRSA15} {
		w, err := kc.WrapKey(ctx, "cmk", version, azkeys.KeyOperationParameters{Algorithm: to.Ptr(alg), Value: aek}, nil)
		if err != nil {
			t.Fatalf("WrapKey %s: %v", alg, err)
		}
		if *w.KID != kid {
			t.Errorf("wrap kid %s", *w.KID)
		}
		u, err := kc.UnwrapKey(ctx, "cmk", "", azkeys.KeyOperationParameters{Algorithm: to.Ptr(alg), Value: w.Result}, nil)
		if err != nil || string(u.Result) != string(aek) {
			t.Fatalf("UnwrapKey %s: %v", alg, err)
		}
	}

	// Disable: wrapping is refused with 403.
	if _, err := kc.UpdateKey(ctx, "cmk", "", azkeys.UpdateKeyParameters{KeyAttributes: &azkeys.KeyAttributes{Enabled: to.Ptr(false)}}, nil); err != nil {
		t.Fatalf("UpdateKey: %v", err)
	}
	_, err = kc.WrapKey(ctx, "cmk", "", azkeys.KeyOperationParameters{Algorithm: to.Ptr(azkeys.EncryptionAlgorithmRSAOAEP256), Value: aek}, nil)
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.StatusCode != 403 || re.ErrorCode != "Forbidden" {
		t.Fatalf("WrapKey on a disabled key: %v", err)
	}

	rotated, err := kc.RotateKey(ctx, "cmk", nil)
	if err != nil || rotated.Key.KID.Version() == version || !*rotated.Attributes.Enabled {
		t.Fatalf("RotateKey: %v", err)
	}
	if _, err := kc.WrapKey(ctx, "cmk", "", azkeys.KeyOperationParameters{Algorithm: to.Ptr(azkeys.EncryptionAlgorithmRSAOAEP256), Value: aek}, nil); err != nil {
		t.Fatalf("WrapKey with the rotated version: %v", err)
	}
	versions := 0
	for vp := kc.NewListKeyPropertiesVersionsPager("cmk", nil); vp.More(); {
		page, err := vp.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		versions += len(page.Value)
	}
	if versions != 2 {
		t.Errorf("%d versions", versions)
	}
	if _, err := kc.UpdateKeyRotationPolicy(ctx, "cmk", azkeys.KeyRotationPolicy{
		LifetimeActions: []*azkeys.LifetimeAction{{
			Action:  &azkeys.LifetimeActionType{Type: to.Ptr(azkeys.KeyRotationPolicyActionRotate)},
			Trigger: &azkeys.LifetimeActionTrigger{TimeAfterCreate: to.Ptr("P90D")},
		}},
		Attributes: &azkeys.KeyRotationPolicyAttributes{ExpiryTime: to.Ptr("P1Y")},
	}, nil); err != nil {
		t.Fatalf("UpdateKeyRotationPolicy: %v", err)
	}
	pol, err := kc.GetKeyRotationPolicy(ctx, "cmk", nil)
	if err != nil || *pol.Attributes.ExpiryTime != "P1Y" || *pol.LifetimeActions[0].Trigger.TimeAfterCreate != "P90D" {
		t.Fatalf("GetKeyRotationPolicy: %v", err)
	}

	backup, err := kc.BackupKey(ctx, "cmk", nil)
	if err != nil || len(backup.Value) == 0 {
		t.Fatalf("BackupKey: %v", err)
	}

	deleted, err := kc.DeleteKey(ctx, "cmk", nil)
	if err != nil || deleted.RecoveryID == nil || deleted.ScheduledPurgeDate == nil ||
		!deleted.ScheduledPurgeDate.Equal(deleted.DeletedDate.AddDate(0, 0, 90)) {
		t.Fatalf("DeleteKey: %v %+v", err, deleted)
	}
	if _, err := kc.GetKey(ctx, "cmk", "", nil); !errors.As(err, &re) || re.StatusCode != 404 || re.ErrorCode != "KeyNotFound" {
		t.Fatalf("GetKey of a deleted key: %v", err)
	}
	gd, err := kc.GetDeletedKey(ctx, "cmk", nil)
	if err != nil || *gd.Key.KID != *rotated.Key.KID {
		t.Fatalf("GetDeletedKey: %v", err)
	}
	deletedCount := 0
	for dp := kc.NewListDeletedKeyPropertiesPager(nil); dp.More(); {
		page, err := dp.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		deletedCount += len(page.Value)
	}
	if deletedCount != 1 {
		t.Errorf("%d deleted keys", deletedCount)
	}
	if _, err := kc.CreateKey(ctx, "cmk", azkeys.CreateKeyParameters{Kty: to.Ptr(azkeys.KeyTypeRSA)}, nil); !errors.As(err, &re) || re.StatusCode != 409 {
		t.Fatalf("CreateKey over a deleted key: %v", err)
	}
	rec, err := kc.RecoverDeletedKey(ctx, "cmk", nil)
	if err != nil || *rec.Key.KID != *rotated.Key.KID {
		t.Fatalf("RecoverDeletedKey: %v", err)
	}
	if _, err := kc.DeleteKey(ctx, "cmk", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := kc.PurgeDeletedKey(ctx, "cmk", nil); err != nil {
		t.Fatalf("PurgeDeletedKey: %v", err)
	}
	if _, err := kc.GetDeletedKey(ctx, "cmk", nil); !errors.As(err, &re) || re.StatusCode != 404 {
		t.Fatalf("GetDeletedKey after purge: %v", err)
	}
	restored, err := kc.RestoreKey(ctx, azkeys.RestoreKeyParameters{KeyBackup: backup.Value}, nil)
	if err != nil || *restored.Key.KID != *rotated.Key.KID {
		t.Fatalf("RestoreKey: %v", err)
	}

	// A principal without an access policy is refused with 403.
	other := &fakeCredential{token: token(tenantA, userOID)}
	oc, err := azkeys.NewClient(vaultURL, other, &azkeys.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: client}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := oc.GetKey(ctx, "cmk", "", nil); !errors.As(err, &re) || re.StatusCode != 403 || re.ErrorCode != "Forbidden" {
		t.Fatalf("GetKey without a policy: %v", err)
	}
}
