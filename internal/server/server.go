package server

import (
	"context"
	"crypto/rsa"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kustodian/kustodian/internal/appinsights"
	"github.com/kustodian/kustodian/internal/arm"
	"github.com/kustodian/kustodian/internal/devtls"
	"github.com/kustodian/kustodian/internal/identity"
	"github.com/kustodian/kustodian/internal/ingest"
	"github.com/kustodian/kustodian/internal/keyvault"
	"github.com/kustodian/kustodian/internal/keyvault/pkcs11"
	"github.com/kustodian/kustodian/internal/keyvault/vaults"
	"github.com/kustodian/kustodian/internal/monitor"
	"github.com/kustodian/kustodian/internal/pipeline"
	"github.com/kustodian/kustodian/internal/query"
	"github.com/kustodian/kustodian/internal/resources"
	"github.com/kustodian/kustodian/internal/store"
)

// Server is a running Kustodian node.
type Server struct {
	// drainMu runs one outage-buffer drain at a time (the key refresh
	// loop and the admin API both start them).
	drainMu  sync.Mutex
	cfg      Config
	state    *State
	boot     *Bootstrap
	listener net.Listener
	http     *http.Server
	endpoint string
	caFile   string
	monitor  *monitor.Provider
	keys     *keys
	// engine is set once the account keys are loaded (Serve); handlers
	// that run before see nil and answer 503.
	engine atomic.Pointer[store.Engine]
	// outageRows counts rows buffered under the platform key during outages.
	outageRows prometheus.Counter
	// drainedRows counts rows moved from outage buffers under the CMK.
	drainedRows prometheus.Counter
	vaults      *vaults.Provider
	keyvault    *keyvault.Service
	hsm         *pkcs11.Backend
	ready       atomic.Bool
	registry    *prometheus.Registry
	requests    *prometheus.CounterVec
	durations   *prometheus.HistogramVec
	// bodyTimeouts counts request bodies cut off for arriving too slowly.
	bodyTimeouts *prometheus.CounterVec
	// pools are the admission pools (internal/admit), one metric set each.
	pools pools
	// pipeline is the ingestion path both ingestion APIs share.
	pipeline *pipeline.Pipeline
}

// New opens the data directory, bootstraps it on first start, binds the
// listener and writes bootstrap.json. Call Serve to serve.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	st, err := OpenState(ctx, cfg.DataDir, cfg.MasterKeyFile)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, state: st}
	if err := s.init(ctx); err != nil {
		if s.hsm != nil {
			s.hsm.Close()
		}
		st.Close()
		if s.listener != nil {
			s.listener.Close()
		}
		return nil, err
	}
	return s, nil
}

func (s *Server) init(ctx context.Context) error {
	cfg, log := s.cfg, s.cfg.Log
	now := time.Now()
	boot, err := s.state.EnsureBootstrap(ctx, now)
	if err != nil {
		return err
	}
	s.boot = boot

	// TLS: a real certificate, or the development CA under the data dir.
	var tlsConf *tls.Config
	if cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return fmt.Errorf("load TLS certificate: %w", err)
		}
		tlsConf = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	} else {
		host, _, err := net.SplitHostPort(cfg.Listen)
		if err != nil {
			return fmt.Errorf("listen address %q: %w", cfg.Listen, err)
		}
		var dns []string
		var ips []net.IP
		if ip := net.ParseIP(host); ip != nil && !ip.IsUnspecified() {
			ips = append(ips, ip)
		} else if host != "" && ip == nil {
			dns = append(dns, host)
		}
		dns = append(dns, cfg.VaultDNSSuffix, "*."+cfg.VaultDNSSuffix)
		m, err := devtls.Ensure(s.state.DataDir+"/tls", dns, ips, now)
		if err != nil {
			return fmt.Errorf("development TLS: %w", err)
		}
		tlsConf = devtls.ServerTLSConfig(m)
		s.caFile = m.CACertFile
	}

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	s.listener = ln
	s.endpoint = endpointFor(ln.Addr().(*net.TCPAddr))
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	if cfg.PublicURL != "" {
		// Behind a load balancer or a stable name: tokens name this issuer
		// whatever address the node listens on.
		s.endpoint = cfg.PublicURL
		if u, err := url.Parse(cfg.PublicURL); err == nil && u.Port() != "" {
			port = u.Port()
		}
	}
	authority := s.endpoint
	audiences := newAudienceSet(s.endpoint, cfg.VaultDNSSuffix, port)

	dir := &directory{store: s.state.Store, sealer: s.state.Sealer, keys: map[string]*rsa.PrivateKey{}}
	ids := identity.New(dir, identity.Options{
		AuthorityHost:   authority,
		AudienceAllowed: audiences.allowed,
		Logger:          log,
		ADFSTenant:      boot.TenantID,
	})
	s.registry = prometheus.NewRegistry()
	authz := identity.NewAuthorizer(assignments{s.state.Store})
	authorize := func(ctx context.Context, caller arm.Caller, action, scope string) error {
		err := authz.Check(ctx, caller.ObjectID, action, scope)
		if errors.Is(err, identity.ErrForbidden) {
			return arm.Errorf(http.StatusForbidden, "AuthorizationFailed", "%s", err.Error())
		}
		return err
	}
	router := arm.NewRouter(armAuthenticator(ids), log)
	router.Challenge = `Bearer authorization_uri="` + authority + boot.TenantID + `/oauth2/authorize", error="invalid_token"`
	ops := &arm.Operations{
		Store: operations{s.state.Store},
		Now:   time.Now,
		Authorize: func(r *arm.Request, resourceID string) error {
			return authorize(r.Context(), r.Caller, "*/read", resourceID)
		},
		RetryAfter: time.Second,
	}
	resources.New(resources.Deps{
		Store: s.state.Store, Now: time.Now, Authorize: authorize, FeatureApproval: cfg.FeatureApproval,
	}).Register(router)
	keyEvents := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "kustodian_key_events_total", Help: "Changes of cluster key configurations, by kind (KeySet, KeyChanged, KeyRemoved, IdentityRemoved).",
	}, []string{"kind"})
	s.registry.MustRegister(keyEvents)

	// The embedded Key Vault: management plane (vaults) and data plane.
	var kv *keyvault.Service
	s.vaults = vaults.New(vaults.Deps{
		Store: s.state.Store, Now: time.Now, Log: log, Authorize: authorize,
		VaultURI:  func(name string) string { return kv.VaultURI(name, port) },
		PurgeKeys: func(ctx context.Context, vault string) error { return kv.PurgeVault(ctx, vault) },
	})
	s.vaults.Register(router)
	var hsm keyvault.Backend
	if cfg.PKCS11Module != "" {
		b, err := pkcs11.Open(pkcs11.Config{ModulePath: cfg.PKCS11Module, TokenLabel: cfg.PKCS11TokenLabel, PIN: cfg.PKCS11PIN})
		if err != nil {
			return fmt.Errorf("open the PKCS#11 token: %w", err)
		}
		s.hsm = b
		hsm = b
		log.Info("HSM backend ready", "module", cfg.PKCS11Module, "token", cfg.PKCS11TokenLabel)
	} else if cfg.SoftwareHSM {
		log.Warn("RSA-HSM keys are served by the SOFTWARE backend (--hsm-software-fallback): they have no hardware protection")
	}
	kv, err = keyvault.New(keyvault.Options{
		Store: s.state.Store, Vaults: s.vaults, Software: keyvault.NewSoftwareBackend(s.state.Sealer), HSM: hsm,
		SoftwareHSM: cfg.SoftwareHSM, VerifyToken: ids.Verify, AuthorityHost: authority, DNSSuffix: cfg.VaultDNSSuffix,
		Sealer: s.state.Sealer, Now: time.Now, Log: log, Registerer: s.registry,
	})
	if err != nil {
		return fmt.Errorf("key vault: %w", err)
	}
	s.keyvault = kv
	vaultClient, err := vaultHTTPClient(s.caFile, cfg.VaultDNSSuffix, ln.Addr().String())
	if err != nil {
		return fmt.Errorf("key vault client: %w", err)
	}

	vaults := newVaultClients(ids, vaultClient)
	s.keys = newKeys(s, vaults)

	s.monitor = monitor.New(monitor.Deps{
		Store: s.state.Store, Now: time.Now, Log: log, Sealer: s.state.Sealer, Ops: ops, Authorize: authorize,
		ProvisioningDelay: cfg.ProvisioningDelay, ClusterSoftDeleteRetention: cfg.ClusterSoftDeleteRetention,
		ValidateKey: keyValidator(vaults),
		OnPurge:     s.onPurge,
		StoredTable: s.storedTable,
		OnKeyEvent: func(e monitor.KeyEvent) {
			keyEvents.WithLabelValues(e.Kind).Inc()
			s.keys.onKeyEvent(e)
		},
	})
	s.monitor.Register(router)

	s.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "kustodian_http_requests_total", Help: "HTTP requests by surface, method and status code.",
	}, []string{"surface", "method", "code"})
	s.durations = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "kustodian_http_request_duration_seconds", Help: "HTTP request latency by surface.",
		Buckets: prometheus.DefBuckets,
	}, []string{"surface"})
	s.bodyTimeouts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "kustodian_http_body_timeouts_total", Help: "Request bodies cut off for arriving slower than --body-min-rate, by surface.",
	}, []string{"surface"})
	s.registry.MustRegister(s.requests, s.durations, s.bodyTimeouts, &s.pools)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { writeText(w, http.StatusOK, "ok\n") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !s.ready.Load() {
			writeText(w, http.StatusServiceUnavailable, "not ready\n")
			return
		}
		writeText(w, http.StatusOK, "ready\n")
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{}))
	ingestRows := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "kustodian_ingested_rows_total", Help: "Rows acknowledged as durable by the Data Collector API.",
	})
	s.outageRows = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "kustodian_outage_buffered_rows_total", Help: "Rows buffered under the platform key while a customer key was unavailable.",
	})
	s.drainedRows = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "kustodian_outage_drained_rows_total", Help: "Rows moved from outage buffers under their cluster's customer key once it returned.",
	})
	s.registry.MustRegister(ingestRows, s.outageRows, s.drainedRows)
	s.registerStoreMetrics()
	// Admission of Data Collector posts: bodies by their declared length,
	// decoded batches by what they measure (see README, Configuration).
	var replay *ingest.ReplayGuard
	if cfg.CollectorReplayProtection {
		replay = ingest.NewReplayGuard(cfg.CollectorReplayEntries, ingest.DefaultMaxSkew, time.Now)
		s.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "kustodian_ingest_replay_signatures", Help: "Data Collector signatures remembered by the replay protection.",
		}, func() float64 { return float64(replay.Len()) }))
	}
	s.pipeline = s.newPipeline()
	logsOpts := s.logsIngestionOptions(ids, authz, ingestRows)
	// One pair of admission pools for both ingestion APIs.
	bodies := s.pools.add(s.admissionOptions("ingest_bodies", cfg.IngestBodyBytes))
	batches := s.pools.add(s.admissionOptions("ingest_batches", cfg.IngestBatchBytes))
	logsOpts.Bodies, logsOpts.Batches = bodies, batches
	mux.Handle("/dataCollectionRules/", s.instrument("logsingestion", ingest.NewLogsIngestion(logsOpts)))
	mux.Handle("/api/logs", s.instrument("ingest", ingest.NewCollector(ingest.Options{
		Directory: ingestDirectory{s}, Sink: ingestSink{s}, Log: log,
		Observe: func(code string, rows int) { ingestRows.Add(float64(rows)) },
		Bodies:  bodies,
		Batches: batches,
		Replay:  replay,
	})))
	// Application Insights track: the same admission pools and Sink.
	verifyMonitor := verifier(ids, []string{appinsights.Audience})
	track := s.instrument("track", appinsights.NewHandler(appinsights.Options{
		Directory: componentDirectory{s}, Sink: ingestSink{s}, Log: log,
		Verify:    func(ctx context.Context, raw string) (*identity.Claims, error) { return verifyMonitor(ctx, raw, "") },
		Authorize: authz.CheckData, // Telemetry/Write is a data action: Monitoring Metrics Publisher, not Owner
		Bodies:    bodies, Batches: batches,
	}))
	mux.Handle("/v2/track", track)
	mux.Handle("/v2.1/track", track)
	observeQuery := s.registerQueryMetrics(cfg.QueryLimits)
	queries := query.New(query.Options{
		Verify: verifier(ids, QueryAudiences(s.endpoint)), Audience: QueryAudience, Log: log, Observe: observeQuery,
		Authorize: func(ctx context.Context, principalID, action, scope string) error {
			return authz.Check(ctx, principalID, action, scope)
		},
		Workspace:        s.queryWorkspace,
		ResolveWorkspace: s.resolveWorkspace,
		Limits:           cfg.QueryLimits,
		Slots:            s.pools.add(query.SlotOptions(cfg.QueryLimits)),
	})
	mux.Handle("/v1/", s.instrument("query", queries))
	mux.Handle("/admin/", s.instrument("admin", &adminHandler{ids: ids, kv: kv, keys: s.keys, refresh: s.refreshKeys, compact: s.compact, operator: boot.ObjectID, now: time.Now}))
	// Resource Manager paths are case-insensitive ("/Subscriptions/..."
	// appears in ids Azure returns), so the first segment decides, folded.
	armHandler, idHandler := s.instrument("arm", router), s.instrument("identity", ids.Handler())
	kvHandler := s.instrument("keyvault", kv.Handler())
	metadataHandler := s.instrument("arm", cloudMetadata(s.endpoint, cfg.VaultDNSSuffix, port))
	mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if kv.Match(r) {
			kvHandler.ServeHTTP(w, r)
			return
		}
		first, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		if strings.EqualFold(first, "subscriptions") || strings.EqualFold(first, "providers") {
			armHandler.ServeHTTP(w, r)
			return
		}
		idHandler.ServeHTTP(w, r)
	}))

	s.http = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// A vault host serves only the data plane, whatever the path.
			if kv.Match(r) {
				kvHandler.ServeHTTP(w, r)
				return
			}
			// Unauthenticated, and before the mux, which would redirect the
			// CLI's "//metadata/endpoints".
			if arm.IsMetadataPath(r.URL.Path) {
				metadataHandler.ServeHTTP(w, r)
				return
			}
			mux.ServeHTTP(w, r)
		}),
		TLSConfig: tlsConf,
		// Headers (and the TLS handshake) must arrive within
		// ReadHeaderTimeout; bodies at the minimum rate (governBody).
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}

	// The server's own vault client keeps connections to this listener:
	// close them at shutdown instead of waiting out their idle grace.
	s.http.RegisterOnShutdown(vaultClient.CloseIdleConnections)

	secret, err := s.state.bootstrapSecret(ctx, boot)
	if err != nil {
		return err
	}
	bf := BootstrapFile{
		TenantID: boot.TenantID, SubscriptionID: boot.SubscriptionID, ClientID: boot.ClientID, ClientSecret: secret,
		Endpoint: s.endpoint, AuthorityHost: authority, ResourceManagerAudience: ResourceManagerAudience,
		QueryAudience: QueryAudience, CACertFile: s.caFile,
	}
	data, err := json.MarshalIndent(bf, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFileAtomic(BootstrapPath(s.state.DataDir), append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("write bootstrap.json: %w", err)
	}
	return nil
}

// endpointFor returns the https URL clients use for a listener address.
func endpointFor(a *net.TCPAddr) string {
	host := a.IP.String()
	switch {
	case a.IP.IsUnspecified():
		host = "localhost"
	case a.IP.To4() == nil:
		host = "[" + host + "]"
	}
	return "https://" + host + ":" + strconv.Itoa(a.Port) + "/"
}

// Endpoint returns the server's base URL, ending in "/".
func (s *Server) Endpoint() string { return s.endpoint }

// BootstrapFile returns the path of bootstrap.json.
func (s *Server) BootstrapFile() string { return BootstrapPath(s.state.DataDir) }

// Serve serves until ctx is cancelled, then drains requests for at most
// the shutdown timeout and closes the data directory.
func (s *Server) Serve(ctx context.Context) error {
	log := s.cfg.Log
	errc := make(chan error, 1)
	go func() { errc <- s.http.ServeTLS(s.listener, "", "") }()
	janitorDone := make(chan struct{})
	jctx, stopJanitor := context.WithCancel(ctx)
	go func() {
		defer close(janitorDone)
		s.janitor(jctx)
	}()
	// Account keys: the customer keys are reached through this very
	// listener, so they load once it serves.
	if err := s.keys.loadAll(ctx); err != nil {
		log.Error("loading storage account keys failed", "err", err)
	}
	// The storage engine replays its WALs with those keys; accounts whose
	// keys are refused stay unloaded (their data untouched) and are retried
	// after every key refresh.
	engineDone := make(chan struct{})
	var eng *store.Engine
	tableKey, err := s.state.tableIDKey(ctx)
	if err == nil {
		eng, err = store.OpenEngine(ctx, store.EngineOptions{
			Dir: s.state.DataDir + "/data", Catalog: s.state.Store, Keys: storeKeys{s.keys.m}, TableIDKey: tableKey, Log: log,
			CompactInterval: compactInterval(s.cfg.CompactInterval), MaxTableColumns: ingest.MaxColumns,
		})
	}
	if err == nil {
		s.engine.Store(eng)
	}
	if err != nil && ctx.Err() != nil {
		// Asked to stop while starting: a normal shutdown, not a failure.
		err = nil
	}
	if err != nil {
		stopJanitor()
		<-janitorDone
		s.http.Close()
		<-errc
		s.state.Close()
		return fmt.Errorf("open the storage engine: %w", err)
	}
	go func() {
		defer close(engineDone)
		if eng != nil {
			eng.Run(jctx)
		}
	}()
	keysDone := make(chan struct{})
	go func() {
		defer close(keysDone)
		t := time.NewTicker(s.cfg.KeyRefreshInterval)
		defer t.Stop()
		for {
			select {
			case <-jctx.Done():
				return
			case <-t.C:
				s.refreshKeys(jctx)
			}
		}
	}()
	s.ready.Store(true)
	log.Info("kustodian serving", "endpoint", s.endpoint, "bootstrap", s.BootstrapFile(), "caCertFile", s.caFile,
		"tenantId", s.boot.TenantID, "subscriptionId", s.boot.SubscriptionID)

	var serveErr error
	select {
	case serveErr = <-errc:
	case <-ctx.Done():
		log.Info("shutting down", "timeout", s.cfg.ShutdownTimeout.String())
	}
	s.ready.Store(false)
	stopJanitor()
	<-janitorDone
	<-keysDone
	<-engineDone
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	if err := s.http.Shutdown(sctx); err != nil {
		log.Warn("graceful shutdown incomplete", "err", err)
	}
	if serveErr == nil {
		serveErr = <-errc
	}
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	}
	cctx, ccancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	if eng := s.engine.Load(); eng != nil {
		if err := eng.Close(cctx); err != nil {
			log.Error("flushing the storage engine at shutdown failed; the WAL keeps the data", "err", err)
		}
	}
	ccancel()
	if s.hsm != nil {
		if err := s.hsm.Close(); err != nil {
			log.Warn("closing the PKCS#11 token failed", "err", err)
		}
	}
	if err := s.state.Close(); err != nil && serveErr == nil {
		serveErr = err
	}
	log.Info("stopped")
	return serveErr
}

// refreshKeys re-checks every customer key and lets the storage engine
// load the accounts it could not (a key restored since).
func (s *Server) refreshKeys(ctx context.Context) {
	s.keys.m.Refresh(ctx)
	if eng := s.engine.Load(); eng != nil {
		eng.Recover(ctx)
		s.drainOutageBuffers(ctx)
	}
}

func (s *Server) janitor(ctx context.Context) {
	t := time.NewTicker(s.cfg.PurgeInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := s.monitor.PurgeExpired(ctx, nil); err != nil {
				s.cfg.Log.Error("purge of expired soft-deleted resources failed", "err", err)
			} else if n > 0 {
				s.cfg.Log.Info("purged expired soft-deleted resources", "count", n)
			}
			if _, err := s.vaults.PurgeExpired(ctx); err != nil {
				s.cfg.Log.Error("purge of expired deleted vaults failed", "err", err)
			}
			if s.engine.Load() != nil {
				s.retain(ctx)
			}
			if err := s.keyvault.Maintain(ctx); err != nil {
				s.cfg.Log.Error("key vault maintenance failed", "err", err)
			}
		}
	}
}

// armAuthenticator verifies Resource Manager bearer tokens.
func armAuthenticator(ids *identity.Service) arm.Authenticator {
	return func(r *http.Request) (arm.Caller, error) {
		raw, ok := identity.BearerToken(r)
		if !ok {
			return arm.Caller{}, arm.Errorf(http.StatusUnauthorized, "AuthenticationFailed",
				"Authentication failed. The 'Authorization' header is missing or is not a Bearer token.")
		}
		c, err := ids.Verify(r.Context(), raw, ResourceManagerAudiences...)
		if errors.Is(err, identity.ErrInvalidToken) {
			return arm.Caller{}, arm.Errorf(http.StatusUnauthorized, "InvalidAuthenticationToken",
				"The access token is invalid: %v.", strings.TrimPrefix(err.Error(), "invalid token: "))
		} else if err != nil {
			return arm.Caller{}, err
		}
		return arm.Caller{TenantID: c.TenantID, ObjectID: c.ObjectID, AppID: c.AppID}, nil
	}
}

// statusWriter records the status code of a response.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// instrument logs and counts requests of a surface and governs their bodies
// (governBody). It never logs headers, query strings or bodies, which may
// carry tokens or secrets.
func (s *Server) instrument(surface string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		r, finish := s.governBody(w, r, surface)
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		finish()
		if sw.code == 0 {
			sw.code = http.StatusOK
		}
		d := time.Since(start)
		s.requests.WithLabelValues(surface, r.Method, strconv.Itoa(sw.code)).Inc()
		s.durations.WithLabelValues(surface).Observe(d.Seconds())
		level := slog.LevelInfo
		if sw.code >= 500 {
			level = slog.LevelError
		}
		s.cfg.Log.Log(r.Context(), level, "request", "surface", surface, "method", r.Method, "path", r.URL.Path,
			"status", sw.code, "duration", d.String())
	})
}

func writeText(w http.ResponseWriter, code int, s string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(s))
}

// compactInterval maps the configured interval to the engine's option:
// zero or negative disables compaction.
func compactInterval(d time.Duration) time.Duration {
	if d <= 0 {
		return -1
	}
	return d
}

// registerStoreMetrics exports the log store's compaction counters.
func (s *Server) registerStoreMetrics() {
	stat := func(f func(store.EngineStats) int64) func() float64 {
		return func() float64 {
			if eng := s.engine.Load(); eng != nil {
				return float64(f(eng.Stats()))
			}
			return 0
		}
	}
	for _, m := range []struct {
		name, help string
		f          func(store.EngineStats) int64
	}{
		{"kustodian_compaction_passes_total", "Compaction passes over the storage accounts.", func(st store.EngineStats) int64 { return st.CompactPasses }},
		{"kustodian_compaction_errors_total", "Compaction passes that failed (retried at the next pass).", func(st store.EngineStats) int64 { return st.CompactErrors }},
		{"kustodian_compaction_segments_in_total", "Small segments merged away by compaction.", func(st store.EngineStats) int64 { return int64(st.Compacted.SegmentsIn) }},
		{"kustodian_compaction_segments_out_total", "Segments written by compaction.", func(st store.EngineStats) int64 { return int64(st.Compacted.SegmentsOut) }},
		{"kustodian_compaction_rows_total", "Rows rewritten by compaction.", func(st store.EngineStats) int64 { return st.Compacted.Rows }},
		{"kustodian_compaction_bytes_written_total", "Bytes of segments written by compaction.", func(st store.EngineStats) int64 { return st.Compacted.BytesOut }},
	} {
		s.registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: m.name, Help: m.help}, stat(m.f)))
	}
}

// compact runs one compaction pass now (the operator API).
func (s *Server) compact(ctx context.Context) (store.CompactStats, error) {
	eng := s.engine.Load()
	if eng == nil {
		return store.CompactStats{}, errors.New("the log store is not open yet")
	}
	return eng.Compact(ctx)
}
