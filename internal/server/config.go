package server

import (
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/kustodian/kustodian/internal/ingest"
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

	// IngestBodyBytes bounds the bytes of Data Collector request bodies
	// being received and decoded at once (their declared lengths).
	IngestBodyBytes int64
	// IngestBatchBytes bounds the memory of decoded Data Collector batches
	// in flight, from decoding until the log store has them.
	IngestBatchBytes int64
	// AdmissionClientShare is the percentage of each admission pool one
	// client (a workspace) may hold; beyond it its requests get 429.
	AdmissionClientShare int
	// AdmissionWait is how long a request waits for room in a pool before
	// it is refused (429 or 503 with Retry-After); negative: no wait.
	AdmissionWait time.Duration
	// ReadHeaderTimeout bounds the time to read a request's headers (and
	// the TLS handshake); IdleTimeout how long a kept-alive connection
	// waits for its next request.
	ReadHeaderTimeout, IdleTimeout time.Duration
	// BodyMinRate (bytes/s) is the pace a request body must keep once
	// BodyReadGrace of waiting for it is used up; a body that falls behind
	// is cut off (408 or the connection closed). Negative disables it.
	BodyMinRate   int64
	BodyReadGrace time.Duration
	// CollectorReplayProtection refuses exact replays of Data Collector
	// requests within the x-ms-date window (Azure accepts them),
	// remembering at most CollectorReplayEntries signatures.
	CollectorReplayProtection bool
	CollectorReplayEntries    int
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

	// Admission and listener defaults; README's Configuration says why.
	DefaultIngestBodyBytes      = 256 << 20
	DefaultIngestBatchBytes     = 128 << 20
	DefaultAdmissionClientShare = 75
	DefaultAdmissionWait        = 2 * time.Second
	DefaultReadHeaderTimeout    = 10 * time.Second
	DefaultIdleTimeout          = 2 * time.Minute
	DefaultBodyMinRate          = 16 << 10
	DefaultBodyReadGrace        = 10 * time.Second
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
	if err := c.admissionDefaults(); err != nil {
		return err
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

// admissionDefaults fills and checks the admission and listener settings.
func (c *Config) admissionDefaults() error {
	for _, d := range []struct {
		v   *int64
		def int64
	}{{&c.IngestBodyBytes, DefaultIngestBodyBytes}, {&c.IngestBatchBytes, DefaultIngestBatchBytes}, {&c.BodyMinRate, DefaultBodyMinRate}} {
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	for _, d := range []struct {
		v   *time.Duration
		def time.Duration
	}{{&c.AdmissionWait, DefaultAdmissionWait}, {&c.ReadHeaderTimeout, DefaultReadHeaderTimeout}, {&c.IdleTimeout, DefaultIdleTimeout}, {&c.BodyReadGrace, DefaultBodyReadGrace}} {
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	if c.AdmissionClientShare == 0 {
		c.AdmissionClientShare = DefaultAdmissionClientShare
	}
	if c.AdmissionClientShare < 1 || c.AdmissionClientShare > 100 {
		return fmt.Errorf("admission client share %d%% must be between 1 and 100", c.AdmissionClientShare)
	}
	// One post of the largest size must fit a client's share of each pool,
	// or such posts could never be admitted.
	if share := c.clientShare(c.IngestBodyBytes); share < ingest.MaxPostBytes {
		return fmt.Errorf("ingest bodies in flight %d with a client share of %d%% admit %d bytes per workspace, less than one %d-byte post",
			c.IngestBodyBytes, c.AdmissionClientShare, share, ingest.MaxPostBytes)
	}
	if share, need := c.clientShare(c.IngestBatchBytes), int64(ingest.MaxPostBytes*ingest.BatchBytesPerByte); share < need {
		return fmt.Errorf("ingest batches in flight %d with a client share of %d%% admit %d bytes per workspace, less than the %d a %d-byte post is charged",
			c.IngestBatchBytes, c.AdmissionClientShare, share, need, ingest.MaxPostBytes)
	}
	if c.ReadHeaderTimeout < 0 || c.IdleTimeout < 0 || c.BodyReadGrace < 0 {
		return fmt.Errorf("the read header, idle and body grace timeouts must not be negative")
	}
	if c.CollectorReplayEntries < 0 {
		return fmt.Errorf("collector replay entries %d must not be negative", c.CollectorReplayEntries)
	}
	if c.CollectorReplayEntries == 0 {
		c.CollectorReplayEntries = ingest.DefaultReplayEntries
	}
	return nil
}

// clientShare returns a client's share of a pool of capacity bytes.
func (c *Config) clientShare(capacity int64) int64 {
	return capacity * int64(c.AdmissionClientShare) / 100
}
