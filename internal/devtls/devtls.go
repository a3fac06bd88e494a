package devtls

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// File names inside the directory given to Ensure.
const (
	caCertName     = "ca.pem"
	caKeyName      = "ca-key.pem"
	serverCertName = "server.pem"
	serverKeyName  = "server-key.pem"
)

const (
	caCommonName     = "Kustodian Development CA"
	serverCommonName = "Kustodian Development Server"
	organization     = "Kustodian"

	// renewBefore is how long before expiry a certificate is replaced.
	renewBefore = 30 * 24 * time.Hour
	// backdate is subtracted from NotBefore to tolerate small clock skew
	// between the server and its clients.
	backdate = time.Hour
)

// Material is the development TLS material found or created by Ensure.
type Material struct {
	// CACertFile is the absolute path of ca.pem, the certificate clients
	// must trust.
	CACertFile string
	// CertFile and KeyFile are the absolute paths of the server certificate
	// (server.pem) and its private key (server-key.pem).
	CertFile, KeyFile string
	// CAPool holds only the development CA.
	CAPool *x509.CertPool
	// Certificate is the server certificate chain and private key, ready for
	// tls.Config.Certificates. Its Leaf is set.
	Certificate tls.Certificate
}

// Ensure loads or creates, under dir, a development CA (ca.pem, ca-key.pem
// mode 0600) and a server certificate (server.pem, server-key.pem mode 0600)
// signed by it, valid for the given DNS names and IPs (always at least
// localhost, 127.0.0.1, ::1).
//
// If the existing server certificate does not cover all requested names,
// expires within 30 days (of now), does not match its key, or was not signed
// by the CA on disk, a new server certificate is issued with the same CA (the
// CA is kept so clients that trust it keep working). A certificate that covers
// more names than requested is kept. The CA is replaced only when ca.pem is
// missing or the CA expires within 30 days.
//
// DNS names are matched case-insensitively and may start with a "*." label
// (for example "*.vault.localhost", which covers "myvault.vault.localhost");
// a name that parses as an IP address is treated as one. dir is created with
// mode 0700 if missing. Files are written atomically (temp file + fsync +
// rename). Files that exist but cannot be parsed yield an error naming the
// file and what to do; they are not replaced.
func Ensure(dir string, dnsNames []string, ips []net.IP, now time.Time) (*Material, error) {
	if dir == "" {
		return nil, errors.New("devtls: empty directory name")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("devtls: %w", err)
	}
	names, addrs, err := normalizeNames(dnsNames, ips)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("devtls: %w", err)
	}

	ca, caKey, err := loadOrCreateCA(abs, now)
	if err != nil {
		return nil, err
	}
	leaf, key, err := loadOrIssueServer(abs, ca, caKey, names, addrs, now)
	if err != nil {
		return nil, err
	}

	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return &Material{
		CACertFile: filepath.Join(abs, caCertName),
		CertFile:   filepath.Join(abs, serverCertName),
		KeyFile:    filepath.Join(abs, serverKeyName),
		CAPool:     pool,
		Certificate: tls.Certificate{
			Certificate: [][]byte{leaf.Raw},
			PrivateKey:  key,
			Leaf:        leaf,
		},
	}, nil
}

// ServerTLSConfig returns a server configuration presenting m's certificate
// and accepting TLS 1.2 and later. m must not be nil.
func ServerTLSConfig(m *Material) *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{m.Certificate},
	}
}

// ClientTLSConfig returns a client configuration, for tools and tests, that
// trusts only the certificates in the PEM file caFile (normally
// Material.CACertFile) and requires TLS 1.2 or later. Callers connecting by
// a name other than the dialled host set ServerName on the result.
func ClientTLSConfig(caFile string) (*tls.Config, error) {
	data, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("devtls: reading CA certificate: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("devtls: %s contains no PEM certificate", caFile)
	}
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		RootCAs:    pool,
	}, nil
}

// normalizeNames returns the deduplicated, lower-cased DNS names and the
// deduplicated IPs (IPv4 in 4-byte form) to certify, defaults first.
func normalizeNames(dnsNames []string, ips []net.IP) ([]string, []net.IP, error) {
	names := []string{"localhost"}
	addrs := []net.IP{net.IPv4(127, 0, 0, 1).To4(), net.IPv6loopback}
	addIP := func(ip net.IP) {
		if v4 := ip.To4(); v4 != nil {
			ip = v4
		}
		if !slices.ContainsFunc(addrs, ip.Equal) {
			addrs = append(addrs, slices.Clone(ip))
		}
	}
	for _, n := range dnsNames {
		n = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(n), "."))
		if ip := net.ParseIP(n); ip != nil {
			addIP(ip)
			continue
		}
		if err := checkDNSName(n); err != nil {
			return nil, nil, err
		}
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	for _, ip := range ips {
		if len(ip) != net.IPv4len && len(ip) != net.IPv6len {
			return nil, nil, fmt.Errorf("devtls: invalid IP address %v", []byte(ip))
		}
		addIP(ip)
	}
	return names, addrs, nil
}

// checkDNSName accepts lower-case host names made of letters, digits, '-'
// and '_', optionally starting with a "*." wildcard label.
func checkDNSName(name string) error {
	if name == "" {
		return errors.New("devtls: empty DNS name")
	}
	labels := strings.Split(name, ".")
	if labels[0] == "*" {
		if len(labels) < 2 {
			return fmt.Errorf("devtls: invalid DNS name %q: a wildcard needs a parent domain", name)
		}
		labels = labels[1:]
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 {
			return fmt.Errorf("devtls: invalid DNS name %q: empty or over-long label", name)
		}
		for _, c := range l {
			if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' && c != '_' {
				return fmt.Errorf("devtls: invalid DNS name %q: character %q not allowed", name, c)
			}
		}
	}
	return nil
}

// loadOrCreateCA returns the CA on disk, creating it if ca.pem is missing
// and replacing it if it expires within renewBefore.
func loadOrCreateCA(dir string, now time.Time) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	certPath := filepath.Join(dir, caCertName)
	keyPath := filepath.Join(dir, caKeyName)
	remedy := fmt.Sprintf("restore it, or delete %s and %s to create a new development CA (clients must then trust the new %s)",
		certPath, keyPath, caCertName)

	certPEM, err := os.ReadFile(certPath)
	if errors.Is(err, fs.ErrNotExist) {
		// Nobody can trust a CA certificate that does not exist, so a new CA
		// is safe. A leftover ca-key.pem (a crash between the key and the
		// certificate write) is replaced.
		return createCA(dir, now)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("devtls: %w", err)
	}
	keyPEM, err := os.ReadFile(keyPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("devtls: %s exists but its private key %s is missing; %s", certPath, keyPath, remedy)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("devtls: %w", err)
	}
	cert, err := parseCertPEM(certPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("devtls: CA certificate %s is unreadable (%w); %s", certPath, err, remedy)
	}
	key, err := parseKeyPEM(keyPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("devtls: CA private key %s is unreadable (%w); %s", keyPath, err, remedy)
	}
	if !cert.IsCA || cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		return nil, nil, fmt.Errorf("devtls: %s is not a CA certificate; %s", certPath, remedy)
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return nil, nil, fmt.Errorf("devtls: CA private key %s does not match %s; %s", keyPath, certPath, remedy)
	}
	if now.Before(cert.NotBefore) {
		return nil, nil, fmt.Errorf("devtls: CA certificate %s is not valid before %s; check the system clock",
			certPath, cert.NotBefore.UTC().Format(time.RFC3339))
	}
	if now.Add(renewBefore).After(cert.NotAfter) {
		// An expired CA is useless to its clients anyway.
		return createCA(dir, now)
	}
	return cert, key, nil
}

func createCA(dir string, now time.Time) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("devtls: generating CA key: %w", err)
	}
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: caCommonName, Organization: []string{organization}},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("devtls: creating CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("devtls: parsing new CA certificate: %w", err)
	}
	if err := writePair(filepath.Join(dir, caCertName), der, filepath.Join(dir, caKeyName), key); err != nil {
		return nil, nil, err
	}
	return cert, key, nil
}

// loadOrIssueServer returns the server certificate on disk if it is still
// good for names, addrs and now under ca, and issues a new one otherwise.
func loadOrIssueServer(dir string, ca *x509.Certificate, caKey *ecdsa.PrivateKey, names []string, addrs []net.IP, now time.Time) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	certPath := filepath.Join(dir, serverCertName)
	keyPath := filepath.Join(dir, serverKeyName)

	certPEM, certErr := os.ReadFile(certPath)
	keyPEM, keyErr := os.ReadFile(keyPath)
	if errors.Is(certErr, fs.ErrNotExist) || errors.Is(keyErr, fs.ErrNotExist) {
		return issueServer(dir, ca, caKey, names, addrs, now)
	}
	if err := errors.Join(certErr, keyErr); err != nil {
		return nil, nil, fmt.Errorf("devtls: %w", err)
	}
	remedy := fmt.Sprintf("delete %s and %s to have a new server certificate issued", certPath, keyPath)
	leaf, err := parseCertPEM(certPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("devtls: server certificate %s is unreadable (%w); %s", certPath, err, remedy)
	}
	key, err := parseKeyPEM(keyPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("devtls: server private key %s is unreadable (%w); %s", keyPath, err, remedy)
	}
	if !serverCertUsable(leaf, key, ca, names, addrs, now) {
		return issueServer(dir, ca, caKey, names, addrs, now)
	}
	return leaf, key, nil
}

// serverCertUsable reports whether leaf matches key, chains to ca at now for
// server authentication, stays valid for more than renewBefore and covers
// every requested name and address.
func serverCertUsable(leaf *x509.Certificate, key *ecdsa.PrivateKey, ca *x509.Certificate, names []string, addrs []net.IP, now time.Time) bool {
	if !key.PublicKey.Equal(leaf.PublicKey) {
		return false
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	_, err := leaf.Verify(x509.VerifyOptions{
		Roots:       roots,
		CurrentTime: now,
		KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	if err != nil || now.Add(renewBefore).After(leaf.NotAfter) {
		return false
	}
	for _, n := range names {
		if !slices.ContainsFunc(leaf.DNSNames, func(have string) bool { return strings.EqualFold(have, n) }) {
			return false
		}
	}
	for _, ip := range addrs {
		if !slices.ContainsFunc(leaf.IPAddresses, ip.Equal) {
			return false
		}
	}
	return true
}

func issueServer(dir string, ca *x509.Certificate, caKey *ecdsa.PrivateKey, names []string, addrs []net.IP, now time.Time) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("devtls: generating server key: %w", err)
	}
	notAfter := now.AddDate(1, 0, 0)
	if notAfter.After(ca.NotAfter) {
		notAfter = ca.NotAfter
	}
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: serverCommonName, Organization: []string{organization}},
		DNSNames:              names,
		IPAddresses:           addrs,
		NotBefore:             now.Add(-backdate),
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, nil, fmt.Errorf("devtls: creating server certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("devtls: parsing new server certificate: %w", err)
	}
	if err := writePair(filepath.Join(dir, serverCertName), der, filepath.Join(dir, serverKeyName), key); err != nil {
		return nil, nil, err
	}
	return leaf, key, nil
}
