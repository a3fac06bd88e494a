package server

import (
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/kustodian/kustodian/internal/query"
	"github.com/kustodian/kustodian/internal/store"
)

// Config is the server's configuration. cmd/kustodian fills it from flags
// and KUSTODIAN_* environment variables; zero values take the defaults
// below.
type Config struct {
	// Listen is the address of the HTTPS listener; port 0 picks a free port.
	Listen string
	// DataDir holds all state.
	DataDir string
	// PublicURL, if set, is the https URL clients use (a load balancer or a
	// stable name): it becomes bootstrap.json's endpoint and the tokens'
	// issuer, so tokens stay valid whatever address a node listens on.
	PublicURL string
	// TLSCert and TLSKey name a real certificate; empty means the
	// development CA and certificate created under DataDir.
	TLSCert, TLSKey string
	// MasterKeyFile holds the key that seals secrets at rest; empty means
	// DataDir/master.key.
	MasterKeyFile string
	// ProvisioningDelay is how long a new cluster stays ProvisioningAccount.
	ProvisioningDelay time.Duration
	// FeatureApproval is "auto" or "manual".
	FeatureApproval string
	// ClusterSoftDeleteRetention is how long deleted clusters stay
	// recoverable with their name reserved.
	ClusterSoftDeleteRetention time.Duration
	// VaultDNSSuffix is the DNS suffix of the embedded Key Vault: vault
	// "kv1" is served at https://kv1.{suffix}:{port}/.
	VaultDNSSuffix string
	// PKCS11Module, PKCS11TokenLabel and PKCS11PIN configure the HSM backend
	// of RSA-HSM keys; without a module RSA-HSM keys are refused unless
	// SoftwareHSM is set.
	PKCS11Module, PKCS11TokenLabel, PKCS11PIN string
	// SoftwareHSM serves RSA-HSM keys from the software backend (no
	// hardware protection): an explicit opt-in for development.
	SoftwareHSM bool
	// KeyRefreshInterval is how often customer keys are unwrapped again
	// (6 s to 60 s, the seed's range).
	KeyRefreshInterval time.Duration
	// KeyOutageGrace is how long cached account keys outlive transient
	// vault failures before the account becomes Unavailable.
	KeyOutageGrace time.Duration
	// OutageBuffering is "platform" (buffer ingestion under the platform key
	// while a customer key is unavailable) or "reject".
	OutageBuffering string
	// CompactInterval is how often the log store merges small segments;
	// zero or negative disables compaction.
	CompactInterval time.Duration
	// PurgeInterval is how often expired soft-deleted resources are purged.
	PurgeInterval time.Duration
	// ShutdownTimeout bounds the graceful drain of requests.
	ShutdownTimeout time.Duration
	// QueryLimits bound each query of the Query API and the queries in
	// flight; zero fields take Azure's limits (query.Limits).
	QueryLimits query.Limits
	// Log receives structured logs.
	Log *slog.Logger
}

// Defaults.
const (
	DefaultListen                     = "127.0.0.1:8443"
	DefaultDataDir                    = "./kustodian-data"
	DefaultProvisioningDelay          = 5 * time.Second
	DefaultFeatureApproval            = "auto"
	DefaultClusterSoftDeleteRetention = 14 * 24 * time.Hour
	DefaultVaultDNSSuffix             = "vault.localhost"
	DefaultCompactInterval            = store.DefaultCompactInterval
	DefaultKeyRefreshInterval         = 30 * time.Second
	DefaultKeyOutageGrace             = 30 * time.Minute
	DefaultOutageBuffering            = "platform"
)

// Audiences of the tokens the server accepts.
const (
	ResourceManagerAudience = "https://management.azure.com"
	QueryAudience           = "https://api.loganalytics.io"
)

func (c *Config) setDefaults() error {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.DataDir == "" {
		c.DataDir = DefaultDataDir
	}
	if c.ProvisioningDelay < 0 {
		return fmt.Errorf("cluster provisioning delay %v must not be negative", c.ProvisioningDelay)
	}
	if c.FeatureApproval == "" {
		c.FeatureApproval = DefaultFeatureApproval
	}
	if c.FeatureApproval != "auto" && c.FeatureApproval != "manual" {
		return fmt.Errorf("feature approval %q must be 'auto' or 'manual'", c.FeatureApproval)
	}
	if c.ClusterSoftDeleteRetention == 0 {
		c.ClusterSoftDeleteRetention = DefaultClusterSoftDeleteRetention
	}
	if c.ClusterSoftDeleteRetention < 0 {
		return fmt.Errorf("cluster soft delete retention %v must not be negative", c.ClusterSoftDeleteRetention)
	}
	if c.VaultDNSSuffix == "" {
		c.VaultDNSSuffix = DefaultVaultDNSSuffix
	}
	c.VaultDNSSuffix = strings.ToLower(strings.Trim(c.VaultDNSSuffix, "."))
	if c.PKCS11Module != "" && c.PKCS11TokenLabel == "" {
		return fmt.Errorf("--pkcs11-module needs --pkcs11-token-label")
	}
	if c.KeyRefreshInterval == 0 {
		c.KeyRefreshInterval = DefaultKeyRefreshInterval
	}
	if c.KeyRefreshInterval < 6*time.Second || c.KeyRefreshInterval > 60*time.Second {
		return fmt.Errorf("key refresh interval %v must be between 6s and 60s", c.KeyRefreshInterval)
	}
	if c.KeyOutageGrace == 0 {
		c.KeyOutageGrace = DefaultKeyOutageGrace
	}
	if c.KeyOutageGrace < 0 {
		return fmt.Errorf("key outage grace %v must not be negative", c.KeyOutageGrace)
	}
	if c.OutageBuffering == "" {
		c.OutageBuffering = DefaultOutageBuffering
	}
	if c.OutageBuffering != "platform" && c.OutageBuffering != "reject" {
		return fmt.Errorf("outage buffering %q must be 'platform' or 'reject'", c.OutageBuffering)
	}
	if c.PurgeInterval == 0 {
		c.PurgeInterval = time.Minute
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = 15 * time.Second
	}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || u.Scheme != "https" || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return fmt.Errorf("public URL %q must be https://host[:port]/", c.PublicURL)
		}
		c.PublicURL = "https://" + u.Host + "/"
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return fmt.Errorf("--tls-cert and --tls-key must be given together")
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	return nil
}
