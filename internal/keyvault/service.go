package keyvault

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kustodian/kustodian/internal/identity"
	"github.com/kustodian/kustodian/internal/meta"
	"github.com/kustodian/kustodian/internal/seal"
)

// Options configures a Service.
type Options struct {
	// Store keeps key metadata and backend references (generic documents
	// of kinds "keyvault.key" and "keyvault.keyversion"). Required.
	Store meta.Store
	// Vaults looks up vaults (tenant, SKU, access policies, soft delete).
	// Required.
	Vaults Vaults
	// Software holds RSA keys and, with SoftwareHSM, RSA-HSM keys.
	// Required.
	Software Backend
	// HSM holds RSA-HSM keys. Nil: RSA-HSM keys are refused with a clear
	// error, unless SoftwareHSM is true.
	HSM Backend
	// SoftwareHSM serves RSA-HSM keys from the software backend: an
	// explicit operator opt-in for development, logged as a warning at
	// startup. The keys keep kty RSA-HSM. Ignored when HSM is set.
	SoftwareHSM bool
	// VerifyToken verifies a bearer token for any one of audiences; it
	// returns the caller or an error wrapping identity.ErrInvalidToken.
	// Required.
	VerifyToken func(ctx context.Context, raw string, audiences ...string) (*identity.Claims, error)
	// AuthorityHost is the identity authority clients use, e.g.
	// "https://127.0.0.1:8443/"; the challenge's authorization is
	// "{AuthorityHost}{tenantId}". Required; a missing "/" is added.
	AuthorityHost string
	// DNSSuffix is the vaults' DNS suffix, e.g. "vault.localhost": vault
	// "kv1" is served at host "kv1.vault.localhost[:port]". Required.
	DNSSuffix string
	// Sealer seals key backups (POST /keys/{name}/backup) under the master
	// key. Nil: the software backend's sealer when Software is
	// NewSoftwareBackend's; otherwise backup and restore are refused.
	Sealer *seal.Sealer
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Log receives warnings and internal failures; nil means
	// slog.Default(). Key material and tokens are never logged.
	Log *slog.Logger
	// Registerer, if set, receives the metrics
	// kustodian_keyvault_requests_total{operation,code} and
	// kustodian_keyvault_crypto_operations_total{operation,backend,result}.
	Registerer prometheus.Registerer
}

// Service is the Key Vault data plane. It is safe for concurrent use.
type Service struct {
	store       meta.Store
	vaults      Vaults
	software    Backend
	hsm         Backend // nil: no RSA-HSM; the software backend with SoftwareHSM
	softwareHSM bool
	sealer      *seal.Sealer
	verify      func(ctx context.Context, raw string, audiences ...string) (*identity.Claims, error)
	authority   string
	suffix      string
	now         func() time.Time
	log         *slog.Logger

	requests  *prometheus.CounterVec
	cryptoOps *prometheus.CounterVec

	mu      sync.Mutex
	outages map[string]time.Time
}

// New returns a data plane service.
func New(o Options) (*Service, error) {
	switch {
	case o.Store == nil:
		return nil, errors.New("keyvault: Options.Store is required")
	case o.Vaults == nil:
		return nil, errors.New("keyvault: Options.Vaults is required")
	case o.Software == nil:
		return nil, errors.New("keyvault: Options.Software is required")
	case o.VerifyToken == nil:
		return nil, errors.New("keyvault: Options.VerifyToken is required")
	case o.AuthorityHost == "":
		return nil, errors.New("keyvault: Options.AuthorityHost is required")
	}
	suffix := strings.ToLower(strings.Trim(o.DNSSuffix, "."))
	if suffix == "" || strings.ContainsAny(suffix, "/: ") {
		return nil, fmt.Errorf("keyvault: Options.DNSSuffix %q is not a DNS suffix such as vault.localhost", o.DNSSuffix)
	}
	s := &Service{
		store:     o.Store,
		vaults:    o.Vaults,
		software:  o.Software,
		hsm:       o.HSM,
		sealer:    o.Sealer,
		verify:    o.VerifyToken,
		authority: o.AuthorityHost,
		suffix:    suffix,
		now:       o.Now,
		log:       o.Log,
		outages:   map[string]time.Time{},
	}
	if !strings.HasSuffix(s.authority, "/") {
		s.authority += "/"
	}
	if s.now == nil {
		s.now = time.Now
	}
	if sb, ok := o.Software.(*softwareBackend); ok && s.sealer == nil {
		s.sealer = sb.sealer
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	switch {
	case o.HSM != nil && o.SoftwareHSM:
		s.log.Info("keyvault: an HSM backend is configured; the software-HSM opt-in is ignored", "backend", o.HSM.Name())
	case o.HSM == nil && o.SoftwareHSM:
		s.hsm, s.softwareHSM = o.Software, true
		s.log.Warn("keyvault: RSA-HSM keys are served by the SOFTWARE backend (explicit opt-in): " +
			"their private keys are sealed under the master key, not held in a hardware security module")
	}
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "kustodian_keyvault_requests_total",
		Help: "Key Vault data plane requests by operation and HTTP status code.",
	}, []string{"operation", "code"})
	s.cryptoOps = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "kustodian_keyvault_crypto_operations_total",
		Help: "Key Vault cryptographic operations by operation, backend and result (success, rejected, error).",
	}, []string{"operation", "backend", "result"})
	if o.Registerer != nil {
		var err error
		if s.requests, err = register(o.Registerer, s.requests); err != nil {
			return nil, err
		}
		if s.cryptoOps, err = register(o.Registerer, s.cryptoOps); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// register registers c, or returns the equal collector registered before.
func register(r prometheus.Registerer, c *prometheus.CounterVec) (*prometheus.CounterVec, error) {
	err := r.Register(c)
	var are prometheus.AlreadyRegisteredError
	switch {
	case err == nil:
		return c, nil
	case errors.As(err, &are):
		if existing, ok := are.ExistingCollector.(*prometheus.CounterVec); ok {
			return existing, nil
		}
	}
	return nil, fmt.Errorf("keyvault: registering metrics: %w", err)
}

// VaultURI returns "https://{name}.{DNSSuffix}:{port}/" for a vault given
// the listener's port ("" port = none).
func (s *Service) VaultURI(name, port string) string {
	host := strings.ToLower(name) + "." + s.suffix
	if port != "" {
		host = net.JoinHostPort(host, port)
	}
	return "https://" + host + "/"
}

// Audience returns the token audience, which is also the challenge's
// resource, for requests to a host: "https://{DNSSuffix}[:port]" with the
// port of host. azkeys requires the request host to end with "." plus the
// resource's host, so for host "kv1.vault.localhost:8443" it is
// "https://vault.localhost:8443". Path-style requests (host "localhost:8443")
// get the same audience.
func (s *Service) Audience(host string) string {
	_, port := splitHostPort(host)
	if port != "" {
		return "https://" + net.JoinHostPort(s.suffix, port)
	}
	return "https://" + s.suffix
}

// PublicAudience is Azure Key Vault's token audience in the public cloud.
// Kustodian's vaults accept it too, for clients that ask for it whatever
// the vault's address.
const PublicAudience = "https://vault.azure.net"

// Audiences returns every audience a vault's data plane accepts on a
// listener port ("" none): "https://{DNSSuffix}:{port}" (what the challenge
// names), "https://{DNSSuffix}" (what a client that knows only the vaults'
// DNS suffix asks for, as the Azure CLI does) and PublicAudience. Tokens
// name the one their client asked for.
func Audiences(dnsSuffix, port string) []string {
	suffix := strings.ToLower(strings.Trim(dnsSuffix, "."))
	out := []string{"https://" + suffix}
	if port != "" {
		out = append([]string{"https://" + net.JoinHostPort(suffix, port)}, out...)
	}
	return append(out, PublicAudience)
}

// Audiences returns the audiences the data plane accepts for requests to a
// host: Audiences(DNSSuffix, port of host).
func (s *Service) Audiences(host string) []string {
	_, port := splitHostPort(host)
	return Audiences(s.suffix, port)
}

// Match reports whether a request is for the data plane: its Host is
// "{vault}.{DNSSuffix}[:port]" (virtual-host style) or its path starts with
// "/keyvault/{vault}/" (path style).
func (s *Service) Match(r *http.Request) bool {
	_, _, _, ok := s.target(r)
	return ok
}

// target returns the vault a request is for, the path below the vault
// (starting with "/") and whether it came path style.
func (s *Service) target(r *http.Request) (vault, rest string, pathStyle, ok bool) {
	host, _ := splitHostPort(r.Host)
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if label, found := strings.CutSuffix(host, "."+s.suffix); found && label != "" && !strings.Contains(label, ".") {
		return label, r.URL.Path, false, true
	}
	if after, found := strings.CutPrefix(r.URL.Path, "/keyvault/"); found {
		name, rest, slash := strings.Cut(after, "/")
		if slash && name != "" {
			return strings.ToLower(name), "/" + rest, true, true
		}
	}
	return "", "", false, false
}

// splitHostPort splits "host[:port]" (IPv6 literals in brackets).
func splitHostPort(hostport string) (host, port string) {
	if h, p, err := net.SplitHostPort(hostport); err == nil {
		return h, p
	}
	return strings.TrimSuffix(strings.TrimPrefix(hostport, "["), "]"), ""
}

// Handler serves the data plane: every request for which Match is true.
// Virtual-host requests are served as they come; path-style requests have
// their "/keyvault/{vault}" prefix removed. Other requests get a 404.
func (s *Service) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

// InjectOutage makes every request to vault answer 503 ServiceUnavailable
// (Key Vault error shape, Retry-After) until the given time: the operator's
// outage drill. The zero time ends it.
func (s *Service) InjectOutage(vault string, until time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	vault = strings.ToLower(vault)
	if until.IsZero() {
		delete(s.outages, vault)
		return
	}
	s.outages[vault] = until
}

// Outages returns the injected outages still in force, by vault name.
func (s *Service) Outages() map[string]time.Time {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]time.Time, len(s.outages))
	for v, until := range s.outages {
		if until.After(now) {
			out[v] = until
		} else {
			delete(s.outages, v)
		}
	}
	return out
}

// outage returns the end of an outage in force for vault.
func (s *Service) outage(vault string, now time.Time) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	until, ok := s.outages[vault]
	if ok && !until.After(now) {
		delete(s.outages, vault)
		return time.Time{}, false
	}
	return until, ok
}

// PurgeVault destroys every key of a vault, all versions, including their
// material in the backends; the management plane calls it when it purges a
// vault.
func (s *Service) PurgeVault(ctx context.Context, vault string) error {
	var keys []storedKey
	err := s.store.View(ctx, func(tx meta.Tx) error {
		var err error
		keys, err = loadKeys(ctx, tx, strings.ToLower(vault)+"/")
		return err
	})
	if err != nil {
		return fmt.Errorf("keyvault: purge vault %s: %w", vault, err)
	}
	var errs []error
	for _, k := range keys {
		if err := s.purgeKey(ctx, k.vault, k.rec.Name); err != nil && !isNotFound(err) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Maintain does the data plane's periodic work at Options.Now: it purges
// deleted keys whose scheduled purge date has passed and rotates keys whose
// rotation policy says they are due. The server calls it periodically (once
// a minute is plenty). It returns the failures, having tried every key.
func (s *Service) Maintain(ctx context.Context) error {
	now := s.now()
	var keys []storedKey
	if err := s.store.View(ctx, func(tx meta.Tx) error {
		var err error
		keys, err = loadKeys(ctx, tx, "")
		return err
	}); err != nil {
		return fmt.Errorf("keyvault: maintenance: %w", err)
	}
	var errs []error
	for _, k := range keys {
		if err := ctx.Err(); err != nil {
			return err
		}
		switch {
		case k.rec.Deleted != nil:
			if now.Before(k.rec.Deleted.PurgeAt) {
				continue
			}
			if err := s.purgeKey(ctx, k.vault, k.rec.Name); err != nil && !isNotFound(err) {
				errs = append(errs, err)
				continue
			}
			s.log.Info("keyvault: purged deleted key after its retention period", "vault", k.vault, "key", k.rec.Name)
		case k.rec.Policy != nil:
			if err := s.autoRotate(ctx, k, now); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// autoRotate rotates a key if its policy says it is due.
func (s *Service) autoRotate(ctx context.Context, k storedKey, now time.Time) error {
	var latest *versionRecord
	if err := s.store.View(ctx, func(tx meta.Tx) error {
		var err error
		latest, err = loadVersion(ctx, tx, k.vault, k.rec.Name, k.rec.Latest)
		return err
	}); err != nil {
		if isNotFound(err) {
			return nil
		}
		return err
	}
	if !k.rec.Policy.rotationDue(latest, now) {
		return nil
	}
	vault, err := s.vaults.Vault(ctx, k.vault)
	if errors.Is(err, ErrVaultNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	v, _, aerr := s.rotate(ctx, vault, k.rec.Name)
	if aerr != nil {
		return fmt.Errorf("keyvault: automatic rotation of %s/%s: %s", k.vault, k.rec.Name, aerr.Message)
	}
	s.log.Info("keyvault: rotated key by its rotation policy", "vault", k.vault, "key", k.rec.Name, "version", v.Version)
	return nil
}

// backendFor returns the backend holding a version's material.
func (s *Service) backendFor(name string) Backend {
	switch {
	case name == s.software.Name():
		return s.software
	case s.hsm != nil && name == s.hsm.Name():
		return s.hsm
	}
	return nil
}

// purgeKey destroys a key's material in its backends, then its records.
// Material another version still references (a restored copy) is kept.
func (s *Service) purgeKey(ctx context.Context, vault, name string) error {
	var versions []*versionRecord
	if err := s.store.View(ctx, func(tx meta.Tx) error {
		if _, err := loadKey(ctx, tx, vault, name); err != nil {
			return err
		}
		var err error
		versions, err = loadVersions(ctx, tx, vault, name)
		return err
	}); err != nil {
		return err
	}
	for _, v := range versions {
		if err := s.destroy(ctx, vault, name, v); err != nil {
			return err
		}
	}
	return s.store.Update(ctx, func(tx meta.Tx) error {
		// Re-read: a version may have been added meanwhile; drop them all.
		all, err := loadVersions(ctx, tx, vault, name)
		if err != nil {
			return err
		}
		return deleteKeyDocs(ctx, tx, vault, name, all)
	})
}

// destroy destroys the material of one version unless another key still
// references it.
func (s *Service) destroy(ctx context.Context, vault, name string, v *versionRecord) error {
	b := s.backendFor(v.Backend)
	if b == nil {
		return fmt.Errorf("keyvault: purge %s/%s/%s: backend %q is not configured", vault, name, v.Version, v.Backend)
	}
	if b != s.software {
		var shared bool
		if err := s.store.View(ctx, func(tx meta.Tx) error {
			var err error
			shared, err = refInUse(ctx, tx, vault, name, v.Backend, v.Ref)
			return err
		}); err != nil {
			return err
		}
		if shared {
			return nil
		}
	}
	if err := b.Destroy(ctx, v.Ref); err != nil && !errors.Is(err, ErrKeyMaterialNotFound) {
		return fmt.Errorf("keyvault: destroying %s/%s/%s in backend %s: %w", vault, name, v.Version, v.Backend, err)
	}
	return nil
}
