package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kustodian/kustodian/internal/server"
)

// serveInBackground runs "kustodian serve" in-process until the test ends
// and returns its bootstrap file.
func serveInBackground(t *testing.T, dataDir string, extra ...string) (server.BootstrapFile, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var stderr bytes.Buffer
	// A restart rewrites bootstrap.json with the new port: wait for new content.
	old, _ := os.ReadFile(filepath.Join(dataDir, "bootstrap.json"))
	args := append([]string{"serve", "--listen", "127.0.0.1:0", "--data-dir", dataDir, "--log-level", "warn"}, extra...)
	go func() { done <- run(ctx, args, &bytes.Buffer{}, &stderr) }()
	stop := func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve returned %v; stderr: %s", err, stderr.String())
		}
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		data, err := os.ReadFile(filepath.Join(dataDir, "bootstrap.json"))
		if err == nil && !bytes.Equal(data, old) {
			var b server.BootstrapFile
			if err := json.Unmarshal(data, &b); err != nil {
				t.Fatal(err)
			}
			return b, stop
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("no bootstrap.json; stderr: %s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func httpsClient(t *testing.T, caFile string) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 10 * time.Second}
}

func TestServeContract(t *testing.T) {
	dir := t.TempDir()
	b, stop := serveInBackground(t, dir)
	for name, v := range map[string]string{"tenantId": b.TenantID, "subscriptionId": b.SubscriptionID, "clientId": b.ClientID,
		"clientSecret": b.ClientSecret, "endpoint": b.Endpoint, "authorityHost": b.AuthorityHost,
		"resourceManagerAudience": b.ResourceManagerAudience, "queryAudience": b.QueryAudience, "caCertFile": b.CACertFile} {
		if v == "" {
			t.Errorf("bootstrap.json field %s is empty", name)
		}
	}
	if !strings.HasPrefix(b.Endpoint, "https://127.0.0.1:") || strings.HasSuffix(b.Endpoint, ":0/") {
		t.Errorf("endpoint %q does not name the real port", b.Endpoint)
	}
	if !filepath.IsAbs(b.CACertFile) {
		t.Errorf("caCertFile %q is not absolute", b.CACertFile)
	}
	st, err := os.Stat(filepath.Join(dir, "bootstrap.json"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("bootstrap.json mode = %v, %v; want 0600", st.Mode().Perm(), err)
	}
	c := httpsClient(t, b.CACertFile)
	// Readiness follows bootstrap.json (the log store opens after it is
	// written): wait for it, as a load balancer would.
	for deadline := time.Now().Add(15 * time.Second); ; {
		resp, err := c.Get(b.Endpoint + "readyz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			break
		}
		if resp.StatusCode != http.StatusServiceUnavailable || time.Now().After(deadline) {
			t.Fatalf("GET /readyz = %d", resp.StatusCode)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, p := range []string{"healthz", "readyz", "metrics"} {
		resp, err := c.Get(b.Endpoint + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET /%s = %d", p, resp.StatusCode)
		}
	}

	// principal create works while the server runs.
	var out bytes.Buffer
	if err := run(context.Background(), []string{"principal", "create", "--data-dir", dir, "--name", "ci-bot"}, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	var p map[string]string
	if err := json.Unmarshal(out.Bytes(), &p); err != nil {
		t.Fatalf("principal create printed %q: %v", out.String(), err)
	}
	if p["clientId"] == "" || p["clientSecret"] == "" || p["objectId"] == "" {
		t.Fatalf("principal create = %v", p)
	}
	// The new principal can get a token.
	resp, err := c.PostForm(b.AuthorityHost+b.TenantID+"/oauth2/v2.0/token", map[string][]string{
		"grant_type": {"client_credentials"}, "client_id": {p["clientId"]}, "client_secret": {p["clientSecret"]},
		"scope": {b.ResourceManagerAudience + "/.default"},
	})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("token for the new principal: %d", resp.StatusCode)
	}
	stop()

	// A restart keeps the credentials and rewrites the endpoint.
	b2, stop2 := serveInBackground(t, dir)
	defer stop2()
	if b2.TenantID != b.TenantID || b2.SubscriptionID != b.SubscriptionID || b2.ClientID != b.ClientID || b2.ClientSecret != b.ClientSecret {
		t.Fatalf("credentials changed across a restart")
	}
	if b2.Endpoint == "" || b2.CACertFile != b.CACertFile {
		t.Fatalf("restart bootstrap = %+v", b2)
	}
}

func TestEnvironmentVariablesSetFlags(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("KUSTODIAN_DATA_DIR", dir)
	t.Setenv("KUSTODIAN_FEATURE_APPROVAL", "sometimes")
	err := run(context.Background(), []string{"serve", "--listen", "127.0.0.1:0"}, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "sometimes") {
		t.Fatalf("a bad KUSTODIAN_FEATURE_APPROVAL was not refused: %v", err)
	}
	t.Setenv("KUSTODIAN_CLUSTER_PROVISIONING_DELAY", "soon")
	err = run(context.Background(), []string{"serve"}, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "KUSTODIAN_CLUSTER_PROVISIONING_DELAY") {
		t.Fatalf("a bad duration in the environment was not reported: %v", err)
	}
}

func TestByteSizeFlag(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		str  string
		err  bool
	}{
		{"512", 512, "512", false},
		{"16KiB", 16 << 10, "16KiB", false},
		{"160MiB", 160 << 20, "160MiB", false},
		{"2GiB", 2 << 30, "2GiB", false},
		{"1536MiB", 1536 << 20, "1536MiB", false},
		{" 1 MiB ", 1 << 20, "1MiB", false},
		{"10B", 10, "10", false},
		{"1.5MiB", 0, "", true},
		{"-1", 0, "", true},
		{"10MB", 0, "", true},
		{"99999999999GiB", 0, "", true},
	}
	for _, tt := range tests {
		var n int64
		err := byteSize{&n}.Set(tt.in)
		if (err != nil) != tt.err || !tt.err && (n != tt.want || byteSize{&n}.String() != tt.str) {
			t.Errorf("%q: %d %q %v", tt.in, n, byteSize{&n}.String(), err)
		}
	}
}

func TestCommands(t *testing.T) {
	tests := []struct {
		args    []string
		wantErr string
		wantOut string
	}{
		{args: []string{"version"}, wantOut: "kustodian "},
		{args: nil, wantErr: "no command"},
		{args: []string{"bogus"}, wantErr: "unknown command"},
		{args: []string{"principal", "create", "--data-dir", "/nonexistent/kd", "--name", "x"}, wantErr: "start 'kustodian serve"},
		{args: []string{"feature", "approve", "--data-dir", "/nonexistent/kd"}, wantErr: "--subscription is required"},
		{args: []string{"subscription", "set-max-capacity", "--subscription", "s", "--gb", "2050"}, wantErr: "multiple of 100"},
		{args: []string{"serve", "--listen", "127.0.0.1:0", "--data-dir", "/nonexistent/kd", "extra"}, wantErr: "unexpected arguments"},
		{args: []string{"serve", "--ingest-batches-in-flight", "lots"}, wantErr: "not a size"},
		{args: []string{"serve", "--listen", "127.0.0.1:0", "--data-dir", "/nonexistent/kd", "--ingest-batches-in-flight", "16MiB"}, wantErr: "less than the"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out bytes.Buffer
			err := run(context.Background(), tt.args, &out, &bytes.Buffer{})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !strings.Contains(out.String(), tt.wantOut) {
				t.Fatalf("out = %q, err = %v", out.String(), err)
			}
		})
	}
}

func TestManualFeatureApproval(t *testing.T) {
	dir := t.TempDir()
	b, stop := serveInBackground(t, dir, "--feature-approval", "manual")
	defer stop()
	err := run(context.Background(), []string{"feature", "approve", "--data-dir", dir, "--subscription", b.SubscriptionID}, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil {
		t.Fatal("approving a feature nobody requested succeeded")
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"subscription", "set-max-capacity", "--data-dir", dir, "--subscription", b.SubscriptionID, "--gb", "5000"}, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "5000") {
		t.Fatalf("set-max-capacity printed %q", out.String())
	}
}

func TestOutageDrillCommand(t *testing.T) {
	dir := t.TempDir()
	_, stop := serveInBackground(t, dir)
	defer stop()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"outage", "--data-dir", dir, "--vault", "Contoso-KV", "--duration", "5m"}, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"vault":"contoso-kv"`) {
		t.Fatalf("outage answer = %s", out.String())
	}
	out.Reset()
	if err := run(context.Background(), []string{"outage", "--data-dir", dir, "--vault", "contoso-kv", "--end"}, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "contoso-kv") {
		t.Fatalf("outage still listed after --end: %s", out.String())
	}
	out.Reset()
	if err := run(context.Background(), []string{"accounts", "--data-dir", dir}, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"account":"shared","cause":"","state":"Available"`) {
		t.Fatalf("accounts = %s", out.String())
	}
	if err := run(context.Background(), []string{"outage", "--data-dir", dir, "--vault", "kv", "--duration", "48h"}, &out, &bytes.Buffer{}); err == nil {
		t.Fatal("a 48h outage was accepted")
	}
}

func TestPublicURL(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	dir := t.TempDir()
	b, stop := serveInBackground(t, dir, "--listen", "127.0.0.1:"+port, "--public-url", "https://localhost:"+port)
	defer stop()
	if b.Endpoint != "https://localhost:"+port+"/" || b.AuthorityHost != b.Endpoint {
		t.Fatalf("endpoint %q, authority %q", b.Endpoint, b.AuthorityHost)
	}
	c := httpsClient(t, b.CACertFile)
	resp, err := c.PostForm(b.AuthorityHost+b.TenantID+"/oauth2/v2.0/token", map[string][]string{
		"grant_type": {"client_credentials"}, "client_id": {b.ClientID}, "client_secret": {b.ClientSecret},
		"scope": {b.ResourceManagerAudience + "/.default"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	req, _ := http.NewRequest(http.MethodGet, b.Endpoint+"subscriptions/"+b.SubscriptionID+"?api-version=2022-12-01", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("ARM call through the public URL: %d", resp.StatusCode)
	}
	err = run(context.Background(), []string{"serve", "--listen", "127.0.0.1:0", "--data-dir", t.TempDir(), "--public-url", "http://x/"}, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "public URL") {
		t.Fatalf("an http public URL was accepted: %v", err)
	}
}
