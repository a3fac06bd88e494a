// Command kustodian runs the Kustodian server and its admin helpers.
//
//	kustodian serve [flags]                 run the server
//	kustodian principal create --name NAME  create a service principal
//	kustodian feature approve ...           approve a pending feature registration
//	kustodian subscription set-max-capacity raise a subscription's cluster capacity limit
//	kustodian version                       print the version
//
// Every flag can also be set with an environment variable KUSTODIAN_<FLAG>
// (upper case, dashes as underscores), e.g. KUSTODIAN_DATA_DIR; a flag on
// the command line wins.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/kustodian/kustodian/internal/audit"
	"github.com/kustodian/kustodian/internal/devtls"
	"github.com/kustodian/kustodian/internal/ingest"
	"github.com/kustodian/kustodian/internal/meta"
	"github.com/kustodian/kustodian/internal/query"
	"github.com/kustodian/kustodian/internal/resources"
	"github.com/kustodian/kustodian/internal/server"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "kustodian:", err)
		os.Exit(1)
	}
}

const usage = `usage: kustodian <command> [flags]

commands:
  serve                              run the server (HTTPS)
  principal create --name NAME       create a service principal, print its credentials as JSON
  feature approve --subscription S [--namespace NS] [--feature F]
                                     approve a pending feature registration (--feature-approval manual)
  subscription set-max-capacity --subscription S --gb N
                                     allow cluster capacity reservations above 2000 GB/day
  audit list [--since T] [--limit N] print the key audit trail as JSON lines
  outage --vault NAME --duration 10m make an embedded vault answer 503 for a while (outage drill; --end stops it)
  accounts                           print the storage accounts' key states
  version                            print the version
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], stderr)
	case "version":
		fmt.Fprintln(stdout, "kustodian", version)
		return nil
	case "principal":
		if len(args) < 2 || args[1] != "create" {
			return errors.New("usage: kustodian principal create --data-dir DIR --name NAME")
		}
		return principalCreate(ctx, args[2:], stdout)
	case "feature":
		if len(args) < 2 || args[1] != "approve" {
			return errors.New("usage: kustodian feature approve --data-dir DIR --subscription S [--namespace NS] [--feature F]")
		}
		return featureApprove(ctx, args[2:], stdout)
	case "subscription":
		if len(args) < 2 || args[1] != "set-max-capacity" {
			return errors.New("usage: kustodian subscription set-max-capacity --data-dir DIR --subscription S --gb N")
		}
		return setMaxCapacity(ctx, args[2:], stdout)
	case "audit":
		if len(args) < 2 || args[1] != "list" {
			return errors.New("usage: kustodian audit list --data-dir DIR [--since RFC3339] [--limit N]")
		}
		return auditList(ctx, args[2:], stdout)
	case "outage":
		return outage(ctx, args[1:], stdout)
	case "accounts":
		return adminGet(ctx, args[1:], stdout, "/admin/accounts")
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

// parseFlags parses args, first applying KUSTODIAN_* environment variables
// to flags not given on the command line.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || err != nil {
			return
		}
		env := "KUSTODIAN_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(env); ok {
			if e := f.Value.Set(v); e != nil {
				err = fmt.Errorf("environment variable %s=%q: %w", env, v, e)
			}
		}
	})
	return err
}

// defaultMemoryLimit keeps the server's heap well under the 1 GiB its
// admission limits are sized for.
const defaultMemoryLimit = 768 << 20

func serve(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg server.Config
	var logLevel, logFormat string
	fs.StringVar(&cfg.Listen, "listen", server.DefaultListen, "address of the HTTPS listener (port 0 picks a free port)")
	fs.StringVar(&cfg.DataDir, "data-dir", server.DefaultDataDir, "directory holding all state")
	fs.StringVar(&cfg.PublicURL, "public-url", "", "https URL clients use to reach this server (load balancer, stable name); it is the token issuer (default: the listener's address)")
	fs.StringVar(&cfg.TLSCert, "tls-cert", "", "PEM certificate (chain) to serve instead of the development certificate")
	fs.StringVar(&cfg.TLSKey, "tls-key", "", "PEM private key of --tls-cert")
	fs.StringVar(&cfg.MasterKeyFile, "master-key-file", "", "file of the master key sealing secrets at rest (default <data-dir>/master.key, created 0600)")
	fs.DurationVar(&cfg.ProvisioningDelay, "cluster-provisioning-delay", server.DefaultProvisioningDelay, "how long a new cluster stays ProvisioningAccount")
	fs.StringVar(&cfg.FeatureApproval, "feature-approval", server.DefaultFeatureApproval, "feature registrations: auto (Registered at once) or manual (Pending until 'kustodian feature approve')")
	fs.DurationVar(&cfg.ClusterSoftDeleteRetention, "cluster-soft-delete-retention", server.DefaultClusterSoftDeleteRetention, "how long a deleted cluster stays recoverable with its name reserved")
	fs.StringVar(&cfg.VaultDNSSuffix, "vault-dns-suffix", server.DefaultVaultDNSSuffix, "DNS suffix of the embedded Key Vault: vault NAME is served at https://NAME.SUFFIX:PORT/")
	fs.StringVar(&cfg.PKCS11Module, "pkcs11-module", "", "PKCS#11 module (shared library) holding RSA-HSM keys; the PIN comes from KUSTODIAN_PKCS11_PIN")
	fs.StringVar(&cfg.PKCS11TokenLabel, "pkcs11-token-label", "", "label of the PKCS#11 token to use")
	fs.BoolVar(&cfg.SoftwareHSM, "hsm-software-fallback", false, "serve RSA-HSM keys from the software backend when no PKCS#11 module is set (development only: no hardware protection)")
	fs.DurationVar(&cfg.KeyRefreshInterval, "key-refresh-interval", server.DefaultKeyRefreshInterval, "how often customer keys are unwrapped again (6s to 60s)")
	fs.DurationVar(&cfg.KeyOutageGrace, "key-outage-grace", server.DefaultKeyOutageGrace, "how long cached account keys outlive transient key vault failures")
	fs.StringVar(&cfg.OutageBuffering, "outage-buffering", server.DefaultOutageBuffering, "while a customer key is unavailable: platform (buffer ingestion under the platform key) or reject")
	fs.DurationVar(&cfg.CompactInterval, "compact-interval", server.DefaultCompactInterval, "how often the log store merges small segments (0 disables)")
	cfg.IngestBodyBytes, cfg.IngestBatchBytes, cfg.BodyMinRate = server.DefaultIngestBodyBytes, server.DefaultIngestBatchBytes, server.DefaultBodyMinRate
	fs.Var(byteSize{&cfg.IngestBodyBytes}, "ingest-bodies-in-flight", "bytes of Data Collector request bodies (their Content-Length) being received and decoded at once; beyond: 429/503 with Retry-After")
	fs.Var(byteSize{&cfg.IngestBatchBytes}, "ingest-batches-in-flight", "bytes of decoded Data Collector batches in flight, from decoding until stored (the bound on ingestion memory); beyond: 429/503 with Retry-After")
	fs.IntVar(&cfg.AdmissionClientShare, "admission-client-share", server.DefaultAdmissionClientShare, "percentage of each admission pool one workspace may hold; beyond it its requests get 429")
	fs.DurationVar(&cfg.AdmissionWait, "admission-wait", server.DefaultAdmissionWait, "how long a request waits for room in an admission pool before 429/503 (0: refuse at once)")
	fs.DurationVar(&cfg.ReadHeaderTimeout, "read-header-timeout", server.DefaultReadHeaderTimeout, "time a client has to send a request's headers (and to finish the TLS handshake)")
	fs.DurationVar(&cfg.IdleTimeout, "idle-timeout", server.DefaultIdleTimeout, "how long a kept-alive connection may wait for its next request")
	fs.Var(byteSize{&cfg.BodyMinRate}, "body-min-rate", "bytes per second a request body must keep up once --body-read-grace is used up; slower bodies are cut off (408) (0: no bound)")
	fs.DurationVar(&cfg.BodyReadGrace, "body-read-grace", server.DefaultBodyReadGrace, "waiting for a request body allowed beyond what --body-min-rate gives")
	fs.BoolVar(&cfg.CollectorReplayProtection, "collector-replay-protection", false, "refuse an exact replay (same workspace and signature) of a Data Collector post within the x-ms-date window, which Azure accepts")
	fs.IntVar(&cfg.CollectorReplayEntries, "collector-replay-entries", ingest.DefaultReplayEntries, "signatures --collector-replay-protection remembers at most; at the cap the oldest is forgotten and older dates are refused")
	ql := &cfg.QueryLimits
	fs.DurationVar(&ql.Timeout, "query-timeout", query.DefaultTimeout, "a query's server timeout unless the request asks for another with 'Prefer: wait=N'")
	fs.DurationVar(&ql.MaxTimeout, "query-max-timeout", query.DefaultMaxTimeout, "the longest server timeout a query may ask for")
	fs.IntVar(&ql.MaxResultRows, "query-max-rows", query.DefaultMaxResultRows, "rows a query result carries at most; longer results are cut and flagged as partial")
	fs.Int64Var(&ql.MaxResultBytes, "query-max-result-bytes", query.DefaultMaxResultBytes, "bytes of result data a query returns at most; larger results are cut and flagged as partial")
	fs.Int64Var(&ql.MaxMemoryBytes, "query-max-memory", query.DefaultMaxMemoryBytes, "bytes of memory one query may hold (sorts, groups, the result); more fails the query")
	fs.IntVar(&ql.MaxConcurrent, "query-concurrency", query.DefaultMaxConcurrent, "queries running at once on the server")
	fs.IntVar(&ql.MaxPerPrincipal, "query-per-principal", query.DefaultMaxPerPrincipal, "queries one principal may have running or waiting (more: 429)")
	fs.IntVar(&ql.MaxQueued, "query-queue", query.DefaultMaxQueued, "queries that may wait for a slot (more: 503)")
	fs.DurationVar(&ql.QueueTimeout, "query-queue-timeout", query.DefaultQueueTimeout, "how long a query waits for a slot before a 503")
	memoryLimit := fs.Int64("memory-limit", defaultMemoryLimit, "soft limit of the process's memory in bytes (the Go runtime's, as GOMEMLIMIT sets it): the collector works harder as the heap nears it; 0 leaves the runtime's setting")
	fs.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn, error")
	fs.StringVar(&logFormat, "log-format", "text", "log format: text or json")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	// On the command line 0 turns these off; in server.Config zero means
	// the default and negative off.
	if cfg.BodyMinRate == 0 {
		cfg.BodyMinRate = -1
	}
	if cfg.AdmissionWait == 0 {
		cfg.AdmissionWait = -1
	}
	if *memoryLimit < 0 {
		return fmt.Errorf("--memory-limit %d must not be negative", *memoryLimit)
	}
	if *memoryLimit > 0 && os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(*memoryLimit)
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch logFormat {
	case "text":
		cfg.Log = slog.New(slog.NewTextHandler(stderr, opts))
	case "json":
		cfg.Log = slog.New(slog.NewJSONHandler(stderr, opts))
	default:
		return fmt.Errorf("--log-format %q must be text or json", logFormat)
	}
	// The PIN is read from the environment only, never from a flag, so it
	// does not show in process listings.
	cfg.PKCS11PIN = os.Getenv("KUSTODIAN_PKCS11_PIN")
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := server.New(ctx, cfg)
	if err != nil {
		return err
	}
	return srv.Serve(ctx)
}

func openState(ctx context.Context, dataDir, masterKey string) (*server.State, error) {
	if _, err := os.Stat(server.BootstrapPath(dataDir)); err != nil {
		return nil, fmt.Errorf("no initialised data directory at %s (start 'kustodian serve --data-dir %s' once first)", dataDir, dataDir)
	}
	return server.OpenState(ctx, dataDir, masterKey)
}

func principalCreate(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("principal create", flag.ContinueOnError)
	dataDir := fs.String("data-dir", server.DefaultDataDir, "the server's data directory")
	masterKey := fs.String("master-key-file", "", "master key file (default <data-dir>/master.key)")
	name := fs.String("name", "", "display name of the principal")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	st, err := openState(ctx, *dataDir, *masterKey)
	if err != nil {
		return err
	}
	defer st.Close()
	clientID, secret, objectID, err := st.CreatePrincipal(ctx, *name, time.Now())
	if err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(map[string]string{"clientId": clientID, "clientSecret": secret, "objectId": objectID})
}

func featureApprove(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("feature approve", flag.ContinueOnError)
	dataDir := fs.String("data-dir", server.DefaultDataDir, "the server's data directory")
	masterKey := fs.String("master-key-file", "", "master key file (default <data-dir>/master.key)")
	sub := fs.String("subscription", "", "subscription id")
	ns := fs.String("namespace", "Microsoft.OperationalInsights", "provider namespace of the feature")
	feature := fs.String("feature", "CustomerManagedKey", "feature name")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *sub == "" {
		return errors.New("--subscription is required")
	}
	st, err := openState(ctx, *dataDir, *masterKey)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := resources.ApproveFeature(ctx, st.Store, time.Now(), *sub, *ns, *feature); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "feature %s/%s is Registered for subscription %s\n", *ns, *feature, *sub)
	return nil
}

func setMaxCapacity(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("subscription set-max-capacity", flag.ContinueOnError)
	dataDir := fs.String("data-dir", server.DefaultDataDir, "the server's data directory")
	masterKey := fs.String("master-key-file", "", "master key file (default <data-dir>/master.key)")
	sub := fs.String("subscription", "", "subscription id")
	gb := fs.Int64("gb", 0, "largest cluster capacity reservation allowed, GB/day (a multiple of 100, at least 2000)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *sub == "" {
		return errors.New("--subscription is required")
	}
	if *gb < 2000 || *gb%100 != 0 {
		return fmt.Errorf("--gb %d must be a multiple of 100 and at least 2000", *gb)
	}
	st, err := openState(ctx, *dataDir, *masterKey)
	if err != nil {
		return err
	}
	defer st.Close()
	err = st.Store.Update(ctx, func(tx meta.Tx) error {
		s, err := tx.Subscription(ctx, *sub)
		if err != nil {
			return err
		}
		s.MaxClusterCapacity = *gb
		return tx.PutSubscription(ctx, s)
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "subscription %s may reserve up to %d GB/day per cluster\n", *sub, *gb)
	return nil
}

func auditList(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("audit list", flag.ContinueOnError)
	dataDir := fs.String("data-dir", server.DefaultDataDir, "the server's data directory")
	masterKey := fs.String("master-key-file", "", "master key file (default <data-dir>/master.key)")
	since := fs.String("since", "", "list events at or after this time (RFC 3339)")
	limit := fs.Int("limit", 0, "list at most this many events (0: all)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var from time.Time
	if *since != "" {
		t, err := time.Parse(time.RFC3339, *since)
		if err != nil {
			return fmt.Errorf("--since: %w", err)
		}
		from = t
	}
	st, err := openState(ctx, *dataDir, *masterKey)
	if err != nil {
		return err
	}
	defer st.Close()
	events, err := audit.List(ctx, st.Store, from, *limit)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	for _, e := range events {
		if err := enc.Encode(e); err != nil {
			return err
		}
	}
	return nil
}

// operatorClient returns an HTTPS client trusting the server's CA and a
// Resource Manager token of the bootstrap (operator) principal.
func operatorClient(ctx context.Context, dataDir string) (*http.Client, *server.BootstrapFile, string, error) {
	data, err := os.ReadFile(server.BootstrapPath(dataDir))
	if err != nil {
		return nil, nil, "", fmt.Errorf("read bootstrap.json (is the server initialised at %s?): %w", dataDir, err)
	}
	var b server.BootstrapFile
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, nil, "", err
	}
	tlsConf, err := devtls.ClientTLSConfig(b.CACertFile)
	if err != nil {
		return nil, nil, "", err
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsConf}, Timeout: 30 * time.Second}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {b.ClientID}, "client_secret": {b.ClientSecret},
		"scope": {b.ResourceManagerAudience + "/.default"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.AuthorityHost+b.TenantID+"/oauth2/v2.0/token", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, nil, "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := client.Do(req)
	if err != nil {
		return nil, nil, "", fmt.Errorf("reach the server at %s: %w", b.Endpoint, err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || resp.StatusCode != http.StatusOK || tok.AccessToken == "" {
		return nil, nil, "", fmt.Errorf("get an operator token: status %d", resp.StatusCode)
	}
	return client, &b, tok.AccessToken, nil
}

func adminCall(ctx context.Context, dataDir, method, path string, body any, stdout io.Writer) error {
	client, b, token, err := operatorClient(ctx, dataDir)
	if err != nil {
		return err
	}
	var rd io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(b.Endpoint, "/")+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, out)
	}
	_, err = stdout.Write(append(out, '\n'))
	return err
}

func outage(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("outage", flag.ContinueOnError)
	dataDir := fs.String("data-dir", server.DefaultDataDir, "the server's data directory")
	vault := fs.String("vault", "", "name of the embedded vault")
	duration := fs.Duration("duration", 10*time.Minute, "how long the vault answers 503")
	end := fs.Bool("end", false, "end the vault's outage now")
	list := fs.Bool("list", false, "list the outages in force")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case *list:
		return adminCall(ctx, *dataDir, http.MethodGet, "/admin/outages", nil, stdout)
	case *vault == "":
		return errors.New("--vault is required")
	case *end:
		return adminCall(ctx, *dataDir, http.MethodDelete, "/admin/outages/"+url.PathEscape(*vault), nil, stdout)
	}
	return adminCall(ctx, *dataDir, http.MethodPost, "/admin/outages", map[string]string{"vault": *vault, "duration": duration.String()}, stdout)
}

func adminGet(ctx context.Context, args []string, stdout io.Writer, path string) error {
	fs := flag.NewFlagSet("accounts", flag.ContinueOnError)
	dataDir := fs.String("data-dir", server.DefaultDataDir, "the server's data directory")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	return adminCall(ctx, *dataDir, http.MethodGet, path, nil, stdout)
}
