package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/kustodian/kustodian/internal/server"
)

// env is a running server and what a user needs to talk to it.
type env struct {
	t        testing.TB
	dataDir  string
	boot     server.BootstrapFile
	client   *http.Client // trusts the development CA
	cred     azcore.TokenCredential
	cancel   context.CancelFunc
	done     chan error
	endpoint string // without trailing slash
}

type options struct {
	provisioningDelay time.Duration
	featureApproval   string
	dataDir           string
	listen            string // default 127.0.0.1:0
	// HSM backend of RSA-HSM keys (server.Config's fields of the same names).
	pkcs11Module, pkcs11TokenLabel, pkcs11PIN string
	softwareHSM                               bool
	// clusterRetention and purgeInterval shorten soft delete for purge tests.
	clusterRetention, purgeInterval time.Duration
	// keyOutageGrace and outageBuffering as in server.Config.
	keyOutageGrace  time.Duration
	outageBuffering string
	// compactInterval as in server.Config (zero: compaction off).
	compactInterval time.Duration
	// keyRefreshInterval as server.Config.KeyRefreshInterval (0: default).
	keyRefreshInterval time.Duration
	// Admission and body pace as in server.Config (0: defaults).
	ingestBodyBytes, ingestBatchBytes int64
	admissionClientShare              int
	admissionWait                     time.Duration
	bodyMinRate                       int64
	bodyReadGrace                     time.Duration
	replayProtection                  bool
}

func start(t testing.TB, o options) *env {
	t.Helper()
	if o.dataDir == "" {
		o.dataDir = t.TempDir()
	}
	if o.listen == "" {
		o.listen = "127.0.0.1:0"
	}
	if o.provisioningDelay == 0 {
		o.provisioningDelay = 300 * time.Millisecond
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, server.Config{
		Listen: o.listen, DataDir: o.dataDir, ProvisioningDelay: o.provisioningDelay,
		FeatureApproval: o.featureApproval, Log: log,
		PKCS11Module: o.pkcs11Module, PKCS11TokenLabel: o.pkcs11TokenLabel, PKCS11PIN: o.pkcs11PIN, SoftwareHSM: o.softwareHSM,
		ClusterSoftDeleteRetention: o.clusterRetention, PurgeInterval: o.purgeInterval,
		KeyOutageGrace: o.keyOutageGrace, OutageBuffering: o.outageBuffering, CompactInterval: o.compactInterval,
		KeyRefreshInterval: o.keyRefreshInterval,
		IngestBodyBytes:    o.ingestBodyBytes, IngestBatchBytes: o.ingestBatchBytes, AdmissionClientShare: o.admissionClientShare,
		AdmissionWait: o.admissionWait, BodyMinRate: o.bodyMinRate, BodyReadGrace: o.bodyReadGrace,
		CollectorReplayProtection: o.replayProtection,
	})
	if err != nil {
		cancel()
		t.Fatalf("start server: %v", err)
	}
	e := &env{t: t, dataDir: o.dataDir, cancel: cancel, done: make(chan error, 1)}
	go func() { e.done <- srv.Serve(ctx) }()
	t.Cleanup(e.stop)

	data, err := os.ReadFile(filepath.Join(o.dataDir, "bootstrap.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &e.boot); err != nil {
		t.Fatal(err)
	}
	e.endpoint = strings.TrimSuffix(e.boot.Endpoint, "/")
	e.initClient(t)
	e.cred = e.credential(e.boot.ClientID, e.boot.ClientSecret)
	waitReady(t, e)
	return e
}

// initClient builds the HTTP client users of this server need: it trusts
// the development CA and sends vault names to the server.
func (e *env) initClient(t testing.TB) {
	t.Helper()
	pem, err := os.ReadFile(e.boot.CACertFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("bad CA file")
	}
	// Vault names (*.vault.localhost) do not resolve here: send them to the
	// server, as a user's hosts file or DNS would.
	serverAddr := strings.TrimPrefix(e.endpoint, "https://")
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	e.client = &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool},
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if host, _, err := net.SplitHostPort(addr); err == nil && strings.HasSuffix(host, ".vault.localhost") {
				addr = serverAddr
			}
			return dialer.DialContext(ctx, network, addr)
		},
	}, Timeout: 30 * time.Second}
}

func waitReady(t testing.TB, e *env) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := e.client.Get(e.endpoint + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("server not ready")
}

func (e *env) stop() {
	if e.cancel == nil {
		return
	}
	e.cancel()
	if err := <-e.done; err != nil {
		e.t.Errorf("server stopped with error: %v", err)
	}
	e.cancel = nil
}

// credential returns an azidentity credential for a service principal,
// configured as a user would configure it for Kustodian.
func (e *env) credential(clientID, secret string) azcore.TokenCredential {
	e.t.Helper()
	cred, err := azidentity.NewClientSecretCredential(e.boot.TenantID, clientID, secret, &azidentity.ClientSecretCredentialOptions{
		ClientOptions: azcore.ClientOptions{
			Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: e.boot.AuthorityHost},
			Transport: e.client,
		},
		DisableInstanceDiscovery: true,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return cred
}

// armOptions are the client options of the Resource Manager SDK clients.
func (e *env) armOptions() *arm.ClientOptions {
	return &arm.ClientOptions{ClientOptions: azcore.ClientOptions{
		Cloud: cloud.Configuration{
			ActiveDirectoryAuthorityHost: e.boot.AuthorityHost,
			Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
				cloud.ResourceManager: {Endpoint: e.endpoint, Audience: e.boot.ResourceManagerAudience},
			},
		},
		Transport: e.client,
		Retry:     policy.RetryOptions{MaxRetries: -1},
	}}
}

// token returns a Resource Manager token of cred.
func (e *env) token(cred azcore.TokenCredential) string {
	e.t.Helper()
	tk, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{e.boot.ResourceManagerAudience + "/.default"}})
	if err != nil {
		e.t.Fatalf("get token: %v", err)
	}
	return tk.Token
}

// response is a raw HTTP answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response %d is not JSON: %v: %s", r.status, err, r.body)
	}
	return m
}

// errorCode returns the ARM error code of a response.
func (r response) errorCode(t testing.TB) string {
	t.Helper()
	m := r.json(t)
	e, ok := m["error"].(map[string]any)
	if !ok {
		t.Fatalf("no error envelope in %d response: %s", r.status, r.body)
	}
	if _, ok := e["message"].(string); !ok {
		t.Fatalf("error without message: %s", r.body)
	}
	code, _ := e["code"].(string)
	return code
}

// do sends a raw request with a bearer token ("" for none). path may be
// relative to the endpoint.
func (e *env) do(method, path, token string, body string) response {
	e.t.Helper()
	u := path
	if strings.HasPrefix(path, "/") {
		u = e.endpoint + path
	}
	var rd io.Reader
	if body != "" {
		rd = bytes.NewBufferString(body)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// expect fails the test unless the response has the wanted status (and ARM
// error code, when wantCode is set).
func expect(t testing.TB, r response, status int, wantCode string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d; body: %s", r.status, status, r.body)
	}
	if wantCode != "" {
		if got := r.errorCode(t); got != wantCode {
			t.Fatalf("error code = %q, want %q; body: %s", got, wantCode, r.body)
		}
	}
}

func q(apiVersion string) string { return "?api-version=" + url.QueryEscape(apiVersion) }

// freeAddr returns a loopback address with a free port, for tests that
// restart a server on the same address.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// segmentPaths lists the segment files under a server's data directory.
func segmentPaths(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(filepath.Join(dir, "data"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".seg") {
			out = append(out, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// segmentBytes is the size of the segment files under a data directory.
func segmentBytes(t testing.TB, dir string) int64 {
	t.Helper()
	var n int64
	for _, p := range segmentPaths(t, dir) {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		n += fi.Size()
	}
	return n
}
