package devtls

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func mustEnsure(t *testing.T, dir string, names []string, ips []net.IP, now time.Time) *Material {
	t.Helper()
	m, err := Ensure(dir, names, ips, now)
	if err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	return m
}

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := parseCertPEM(data)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return c
}

func TestEnsureCreates(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	m := mustEnsure(t, dir, []string{"*.vault.localhost", "Example.Test."}, []net.IP{net.ParseIP("10.1.2.3")}, testNow)

	files := []struct {
		path string
		mode os.FileMode
	}{
		{m.CACertFile, 0o644},
		{filepath.Join(dir, caKeyName), 0o600},
		{m.CertFile, 0o644},
		{m.KeyFile, 0o600},
	}
	for _, f := range files {
		if !filepath.IsAbs(f.path) {
			t.Errorf("%s is not absolute", f.path)
		}
		fi, err := os.Stat(f.path)
		if err != nil {
			t.Fatal(err)
		}
		if runtime.GOOS != "windows" && fi.Mode().Perm() != f.mode {
			t.Errorf("%s: mode %v, want %v", f.path, fi.Mode().Perm(), f.mode)
		}
	}
	if fi, err := os.Stat(dir); err != nil {
		t.Fatal(err)
	} else if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o700 {
		t.Errorf("dir mode %v, want 0700", fi.Mode().Perm())
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".*tmp*"))
	if len(leftovers) > 0 {
		t.Errorf("temporary files left behind: %v", leftovers)
	}

	ca := readCert(t, m.CACertFile)
	if ca.Subject.CommonName != caCommonName || !ca.IsCA {
		t.Errorf("CA subject %q IsCA %v", ca.Subject.CommonName, ca.IsCA)
	}
	if want := testNow.AddDate(10, 0, 0); !ca.NotAfter.Equal(want) {
		t.Errorf("CA NotAfter %v, want %v", ca.NotAfter, want)
	}
	leaf := m.Certificate.Leaf
	if leaf == nil || leaf.SerialNumber.Cmp(readCert(t, m.CertFile).SerialNumber) != 0 {
		t.Fatal("Certificate.Leaf is not the certificate in server.pem")
	}
	if want := testNow.AddDate(1, 0, 0); !leaf.NotAfter.Equal(want) {
		t.Errorf("server NotAfter %v, want %v", leaf.NotAfter, want)
	}
	if len(leaf.ExtKeyUsage) != 1 || leaf.ExtKeyUsage[0] != x509.ExtKeyUsageServerAuth || leaf.IsCA {
		t.Errorf("server ExtKeyUsage %v IsCA %v", leaf.ExtKeyUsage, leaf.IsCA)
	}
	for _, c := range []*x509.Certificate{ca, leaf} {
		pub, ok := c.PublicKey.(*ecdsa.PublicKey)
		if !ok || pub.Curve != elliptic.P256() {
			t.Errorf("%s: key is not ECDSA P-256", c.Subject.CommonName)
		}
	}
	if err := leaf.CheckSignatureFrom(ca); err != nil {
		t.Errorf("server certificate not signed by CA: %v", err)
	}
	for _, host := range []string{"localhost", "127.0.0.1", "::1", "10.1.2.3", "example.test", "myvault.vault.localhost"} {
		if err := leaf.VerifyHostname(host); err != nil {
			t.Errorf("VerifyHostname(%q): %v", host, err)
		}
	}
	if _, err := tls.LoadX509KeyPair(m.CertFile, m.KeyFile); err != nil {
		t.Errorf("server files do not load as a key pair: %v", err)
	}
}

func TestEnsureReuses(t *testing.T) {
	dir := t.TempDir()
	first := mustEnsure(t, dir, []string{"*.vault.localhost"}, nil, testNow)
	later := testNow.Add(200 * 24 * time.Hour)
	// The defaults and a subset of the names already covered need nothing new.
	second := mustEnsure(t, dir, []string{"*.VAULT.localhost", "localhost"}, []net.IP{net.ParseIP("::ffff:127.0.0.1")}, later)
	if first.Certificate.Leaf.SerialNumber.Cmp(second.Certificate.Leaf.SerialNumber) != 0 {
		t.Error("server certificate was reissued")
	}
	if readCert(t, first.CACertFile).SerialNumber.Cmp(readCert(t, second.CACertFile).SerialNumber) != 0 {
		t.Error("CA was replaced")
	}
}

func TestEnsureReissues(t *testing.T) {
	tests := []struct {
		name  string
		names []string
		ips   []net.IP
		now   time.Time
		// prepare damages the directory after the first Ensure.
		prepare func(t *testing.T, dir string)
	}{
		{name: "new DNS name", names: []string{"*.vault.localhost", "new.localhost"}, now: testNow},
		{name: "new IP", names: []string{"*.vault.localhost"}, ips: []net.IP{net.ParseIP("192.0.2.7")}, now: testNow},
		{name: "expires within 30 days", names: []string{"*.vault.localhost"}, now: testNow.AddDate(1, 0, -29)},
		{name: "expired", names: []string{"*.vault.localhost"}, now: testNow.AddDate(2, 0, 0)},
		{
			name: "signed by another CA", names: []string{"*.vault.localhost"}, now: testNow,
			prepare: func(t *testing.T, dir string) {
				other := mustEnsure(t, t.TempDir(), []string{"*.vault.localhost"}, nil, testNow)
				copyFile(t, other.CertFile, filepath.Join(dir, serverCertName))
				copyFile(t, other.KeyFile, filepath.Join(dir, serverKeyName))
			},
		},
		{
			name: "key does not match certificate", names: []string{"*.vault.localhost"}, now: testNow,
			prepare: func(t *testing.T, dir string) {
				other := mustEnsure(t, t.TempDir(), nil, nil, testNow)
				copyFile(t, other.KeyFile, filepath.Join(dir, serverKeyName))
			},
		},
		{
			name: "certificate missing", names: []string{"*.vault.localhost"}, now: testNow,
			prepare: func(t *testing.T, dir string) {
				if err := os.Remove(filepath.Join(dir, serverCertName)); err != nil {
					t.Fatal(err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			first := mustEnsure(t, dir, []string{"*.vault.localhost"}, nil, testNow)
			caBefore := readCert(t, first.CACertFile)
			if tt.prepare != nil {
				tt.prepare(t, dir)
			}
			second := mustEnsure(t, dir, tt.names, tt.ips, tt.now)
			if first.Certificate.Leaf.SerialNumber.Cmp(second.Certificate.Leaf.SerialNumber) == 0 {
				t.Fatal("server certificate was not reissued")
			}
			caAfter := readCert(t, second.CACertFile)
			if caBefore.SerialNumber.Cmp(caAfter.SerialNumber) != 0 {
				t.Fatal("CA was replaced; clients trusting it would break")
			}
			leaf := readCert(t, second.CertFile)
			if leaf.SerialNumber.Cmp(second.Certificate.Leaf.SerialNumber) != 0 {
				t.Fatal("server.pem does not hold the returned certificate")
			}
			if _, err := leaf.Verify(x509.VerifyOptions{Roots: second.CAPool, CurrentTime: tt.now}); err != nil {
				t.Fatalf("reissued certificate does not verify: %v", err)
			}
			for _, n := range tt.names {
				if err := leaf.VerifyHostname(strings.Replace(n, "*", "x", 1)); err != nil {
					t.Error(err)
				}
			}
			for _, ip := range tt.ips {
				if err := leaf.VerifyHostname(ip.String()); err != nil {
					t.Error(err)
				}
			}
		})
	}
}

func TestEnsureReplacesExpiringCA(t *testing.T) {
	dir := t.TempDir()
	first := mustEnsure(t, dir, nil, nil, testNow)
	caBefore := readCert(t, first.CACertFile)
	later := testNow.AddDate(10, 0, -10)
	second := mustEnsure(t, dir, nil, nil, later)
	caAfter := readCert(t, second.CACertFile)
	if caBefore.SerialNumber.Cmp(caAfter.SerialNumber) == 0 {
		t.Fatal("CA expiring in 10 days was kept")
	}
	if _, err := second.Certificate.Leaf.Verify(x509.VerifyOptions{Roots: second.CAPool, CurrentTime: later}); err != nil {
		t.Fatalf("server certificate does not verify under the new CA: %v", err)
	}
}

func TestEnsureMissingCACertCreatesNewCA(t *testing.T) {
	// A crash between writing ca-key.pem and ca.pem leaves only the key.
	dir := t.TempDir()
	first := mustEnsure(t, dir, nil, nil, testNow)
	if err := os.Remove(first.CACertFile); err != nil {
		t.Fatal(err)
	}
	second := mustEnsure(t, dir, nil, nil, testNow)
	if _, err := second.Certificate.Leaf.Verify(x509.VerifyOptions{Roots: second.CAPool, CurrentTime: testNow}); err != nil {
		t.Fatalf("server certificate does not verify under the new CA: %v", err)
	}
}

func TestEnsureDamagedFiles(t *testing.T) {
	garbage := []byte("-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n")
	tests := []struct {
		name    string
		file    string
		content []byte // nil removes the file
		wantMsg []string
	}{
		{"corrupt CA key", caKeyName, garbage, []string{caKeyName, "unreadable", "delete"}},
		{"CA key not PEM", caKeyName, []byte("hello"), []string{caKeyName, "no PEM"}},
		{"CA key missing", caKeyName, nil, []string{caKeyName, "missing"}},
		{"corrupt CA certificate", caCertName, []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), []string{caCertName, "unreadable"}},
		{"corrupt server key", serverKeyName, garbage, []string{serverKeyName, "unreadable", "delete"}},
		{"empty server key", serverKeyName, []byte{}, []string{serverKeyName, "no PEM"}},
		{"corrupt server certificate", serverCertName, []byte("junk"), []string{serverCertName, "unreadable"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			mustEnsure(t, dir, nil, nil, testNow)
			path := filepath.Join(dir, tt.file)
			if tt.content == nil {
				if err := os.Remove(path); err != nil {
					t.Fatal(err)
				}
			} else if err := os.WriteFile(path, tt.content, 0o600); err != nil {
				t.Fatal(err)
			}
			m, err := Ensure(dir, nil, nil, testNow)
			if err == nil {
				t.Fatalf("Ensure succeeded (%v), want an error", m)
			}
			for _, s := range tt.wantMsg {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
			// The damaged file is left for the user to inspect.
			if got, _ := os.ReadFile(path); tt.content != nil && string(got) != string(tt.content) {
				t.Error("damaged file was overwritten")
			}
		})
	}
}

func TestEnsureRejectsBadInput(t *testing.T) {
	tests := []struct {
		name  string
		dir   string
		names []string
		ips   []net.IP
	}{
		{name: "empty dir", dir: ""},
		{name: "empty name", names: []string{""}},
		{name: "space in name", names: []string{"a b.localhost"}},
		{name: "empty label", names: []string{"a..localhost"}},
		{name: "bare wildcard", names: []string{"*"}},
		{name: "inner wildcard", names: []string{"a.*.localhost"}},
		{name: "bad IP", ips: []net.IP{{1, 2, 3}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := tt.dir
			if tt.name != "empty dir" {
				dir = t.TempDir()
			}
			if _, err := Ensure(dir, tt.names, tt.ips, testNow); err == nil {
				t.Fatal("Ensure succeeded, want an error")
			}
		})
	}
}

func TestHandshake(t *testing.T) {
	// The handshake verifies against the real clock.
	m := mustEnsure(t, t.TempDir(), []string{"*.vault.localhost"}, nil, time.Now())
	client, err := ClientTLSConfig(m.CACertFile)
	if err != nil {
		t.Fatal(err)
	}
	v4 := listenTLS(t, "tcp4", "127.0.0.1:0", ServerTLSConfig(m))
	v6 := ""
	if ln, err := net.Listen("tcp6", "[::1]:0"); err == nil {
		ln.Close()
		v6 = listenTLS(t, "tcp6", "[::1]:0", ServerTLSConfig(m))
	}

	tests := []struct {
		addr, serverName string
		wantOK           bool
	}{
		{v4, "localhost", true},
		{v4, "127.0.0.1", true},
		{v6, "::1", true},
		{v4, "x.vault.localhost", true},
		{v4, "myvault.vault.localhost", true},
		{v4, "vault.localhost", false},
		{v4, "a.b.vault.localhost", false},
		{v4, "example.com", false},
	}
	for _, tt := range tests {
		t.Run(tt.serverName, func(t *testing.T) {
			if tt.addr == "" {
				t.Skip("no IPv6 loopback on this machine")
			}
			cfg := client.Clone()
			cfg.ServerName = tt.serverName
			conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", tt.addr, cfg)
			if !tt.wantOK {
				if err == nil {
					conn.Close()
					t.Fatal("handshake succeeded, want a verification failure")
				}
				var hostErr x509.HostnameError
				if !errors.As(err, &hostErr) {
					t.Fatalf("handshake failed with %v, want a host name mismatch", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("handshake: %v", err)
			}
			defer conn.Close()
			if v := conn.ConnectionState().Version; v < tls.VersionTLS12 {
				t.Errorf("negotiated TLS version %x", v)
			}
			got, err := io.ReadAll(conn)
			if err != nil || string(got) != "hello" {
				t.Fatalf("read %q, %v", got, err)
			}
		})
	}
}

func TestServerRejectsOldTLS(t *testing.T) {
	m := mustEnsure(t, t.TempDir(), nil, nil, time.Now())
	addr := listenTLS(t, "tcp4", "127.0.0.1:0", ServerTLSConfig(m))
	cfg, err := ClientTLSConfig(m.CACertFile)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ServerName = "localhost"
	cfg.MinVersion, cfg.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
	if conn, err := tls.Dial("tcp", addr, cfg); err == nil {
		conn.Close()
		t.Fatal("TLS 1.1 handshake succeeded")
	}
}

func TestClientTLSConfigErrors(t *testing.T) {
	dir := t.TempDir()
	noCert := filepath.Join(dir, "empty.pem")
	if err := os.WriteFile(noCert, []byte("not a certificate"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{filepath.Join(dir, "missing.pem"), noCert} {
		if _, err := ClientTLSConfig(path); err == nil {
			t.Errorf("ClientTLSConfig(%s) succeeded", path)
		}
	}
}

// listenTLS serves "hello" to every TLS client on addr until the test ends
// and returns the address listened on.
func listenTLS(t *testing.T, network, addr string, cfg *tls.Config) string {
	t.Helper()
	ln, err := tls.Listen(network, addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				if err := c.(*tls.Conn).Handshake(); err != nil {
					return
				}
				_, _ = c.Write([]byte("hello"))
			}()
		}
	}()
	return ln.Addr().String()
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o600); err != nil {
		t.Fatal(err)
	}
}
