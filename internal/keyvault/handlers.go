package keyvault

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/kustodian/kustodian/internal/identity"
)

// Request body limits.
const (
	maxBodyBytes    = 1 << 20
	maxRestoreBytes = 16 << 20
)

// call is one data plane request being served.
type call struct {
	s          *Service
	r          *http.Request
	ctx        context.Context
	now        time.Time
	vaultName  string
	vault      *VaultConfig
	claims     *identity.Claims
	apiVersion string
	// api is what apiVersion's responses carry.
	api apiVersion
	// kidHost is the vault's virtual-host form with the port the client
	// used, e.g. "kv1.vault.localhost:8443"; key ids always use it.
	kidHost string
	// base is the vault URL as the client reached it (virtual-host or path
	// style), for links such as nextLink.
	base string
	// Path parameters.
	name, version string
}

// kid returns a key identifier ("" version: the versionless id).
func (c *call) kid(name, version string) string {
	id := "https://" + c.kidHost + "/keys/" + name
	if version != "" {
		id += "/" + version
	}
	return id
}

// recoveryID returns the deleted-key identifier of a key.
func (c *call) recoveryID(name string) string {
	return "https://" + c.kidHost + "/deletedkeys/" + name
}

// handlerFunc serves a routed request: it returns the status and body of a
// success, or an error.
type handlerFunc func(c *call) (int, any, *apiError)

// route is a resolved request path.
type route struct {
	operation string // metric label, e.g. "WrapKey"
	perm      string // required access-policy key permission; "" none
	handle    handlerFunc
	name      string
	version   string
}

// statusRecorder records the status code sent.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

// WriteHeader implements http.ResponseWriter.
func (w *statusRecorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write implements http.ResponseWriter.
func (w *statusRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// serveHTTP authenticates, authorizes and dispatches a request.
func (s *Service) serveHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &statusRecorder{ResponseWriter: w}
	operation := "Unknown"
	defer func() {
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		s.requests.WithLabelValues(operation, strconv.Itoa(rec.status)).Inc()
	}()
	vault, rest, pathStyle, ok := s.target(r)
	if !ok {
		(&apiError{Status: http.StatusNotFound, Code: CodeNotFound, Message: "No vault is served at this address."}).write(rec)
		return
	}
	_, port := splitHostPort(r.Host)
	kidHost := vault + "." + s.suffix
	if port != "" {
		kidHost = net.JoinHostPort(kidHost, port)
	}
	scheme := "https"
	if r.TLS == nil {
		scheme = "http"
	}
	base := scheme + "://" + r.Host
	if pathStyle {
		base += "/keyvault/" + vault
	}
	c := &call{s: s, r: r, ctx: r.Context(), now: s.now(), vaultName: vault, kidHost: kidHost, base: base}

	rt, rerr := resolve(r.Method, rest)
	if rerr == nil {
		operation = rt.operation
	}
	if aerr := s.prepare(c); aerr != nil {
		aerr.write(rec)
		return
	}
	if rerr != nil {
		rerr.write(rec)
		return
	}
	if rotationOperations[rt.operation] && !c.api.rotation {
		badParameter("The operation %s is not supported in api-version %s: use 7.3 or later.", rt.operation, c.apiVersion).write(rec)
		return
	}
	if rt.perm != "" && !allowed(c.vault, c.claims, rt.perm) {
		accessDenied(c.vault, c.claims, rt.perm).write(rec)
		return
	}
	c.name, c.version = rt.name, rt.version
	status, body, aerr := rt.handle(c)
	if aerr != nil {
		aerr.write(rec)
		return
	}
	if body == nil {
		rec.WriteHeader(status)
		return
	}
	writeJSON(rec, status, body)
}

// prepare does what every request needs before routing: the outage drill,
// the api-version, the vault, authentication.
func (s *Service) prepare(c *call) *apiError {
	if until, ok := s.outage(c.vaultName, c.now); ok {
		return &apiError{Status: http.StatusServiceUnavailable, Code: CodeServiceUnavailable,
			Message:    "The vault is temporarily unavailable (operator-injected outage until " + until.UTC().Format(time.RFC3339) + ").",
			RetryAfter: until.Sub(c.now)}
	}
	q := c.r.URL.Query()
	c.apiVersion = q.Get("api-version")
	if c.apiVersion == "" {
		return badParameter("The api-version query parameter is missing. Supported versions: %s.", strings.Join(APIVersions, ", "))
	}
	var supported bool
	c.api, supported = lookupAPIVersion(c.apiVersion)
	if !supported {
		return badParameter("The specified version (%s) is not recognized. Supported versions: %s.", c.apiVersion, strings.Join(APIVersions, ", "))
	}
	v, err := s.vaults.Vault(c.ctx, c.vaultName)
	switch {
	case errors.Is(err, ErrVaultNotFound):
		return &apiError{Status: http.StatusNotFound, Code: CodeNotFound, Message: "Vault " + c.vaultName + " was not found."}
	case err != nil:
		s.log.Error("keyvault: looking up a vault failed", "vault", c.vaultName, "err", err)
		return errInternal
	}
	c.vault = v
	return s.authenticate(c)
}

// keyActions are the POST /keys/{name}/{version}/{action} operations, by
// lower-case path segment.
var keyActions = map[string]struct {
	operation, perm, keyOp string
}{
	"encrypt":   {"Encrypt", PermEncrypt, OpEncrypt},
	"decrypt":   {"Decrypt", PermDecrypt, OpDecrypt},
	"wrapkey":   {"WrapKey", PermWrapKey, OpWrapKey},
	"unwrapkey": {"UnwrapKey", PermUnwrapKey, OpUnwrapKey},
	"sign":      {"Sign", PermSign, OpSign},
	"verify":    {"Verify", PermVerify, OpVerify},
}

// resolve maps a method and a path below the vault to a route.
func resolve(method, path string) (*route, *apiError) {
	segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
	if n := len(segs); n > 1 && segs[n-1] == "" {
		segs = segs[:n-1] // trailing slash
	}
	notFound := &apiError{Status: http.StatusNotFound, Code: CodeNotFound, Message: "The requested path " + path + " does not exist."}
	methods := func(allowed ...string) *apiError {
		return &apiError{Status: http.StatusMethodNotAllowed, Code: CodeMethodNotAllowed,
			Message: "The method " + method + " is not allowed on " + path + "; allowed: " + strings.Join(allowed, ", ") + "."}
	}
	r := func(op, perm string, h handlerFunc) (*route, *apiError) {
		return &route{operation: op, perm: perm, handle: h}, nil
	}
	lower := func(i int) string { return strings.ToLower(segs[i]) }

	switch {
	case len(segs) == 1 && lower(0) == "rng":
		if method != http.MethodPost {
			return nil, methods(http.MethodPost)
		}
		return r("GetRandomBytes", "", handleRandom)
	case len(segs) == 1 && lower(0) == "keys":
		if method != http.MethodGet {
			return nil, methods(http.MethodGet)
		}
		return r("ListKeys", PermList, handleListKeys)
	case len(segs) == 1 && lower(0) == "deletedkeys":
		if method != http.MethodGet {
			return nil, methods(http.MethodGet)
		}
		return r("ListDeletedKeys", PermList, handleListDeletedKeys)
	case len(segs) >= 2 && lower(0) == "deletedkeys":
		var rt *route
		switch {
		case len(segs) == 2:
			switch method {
			case http.MethodGet:
				rt, _ = r("GetDeletedKey", PermGet, handleGetDeletedKey)
			case http.MethodDelete:
				rt, _ = r("PurgeDeletedKey", PermPurge, handlePurgeDeletedKey)
			default:
				return nil, methods(http.MethodGet, http.MethodDelete)
			}
		case len(segs) == 3 && lower(2) == "recover":
			if method != http.MethodPost {
				return nil, methods(http.MethodPost)
			}
			rt, _ = r("RecoverDeletedKey", PermRecover, handleRecoverDeletedKey)
		default:
			return nil, notFound
		}
		rt.name = segs[1]
		return rt, nil
	case len(segs) >= 2 && lower(0) == "keys":
		return resolveKey(method, segs, notFound, methods)
	}
	return nil, notFound
}

// resolveKey resolves the paths under /keys/{name}.
func resolveKey(method string, segs []string, notFound *apiError, methods func(...string) *apiError) (*route, *apiError) {
	name := segs[1]
	rt := &route{name: name}
	set := func(op, perm string, h handlerFunc) (*route, *apiError) {
		rt.operation, rt.perm, rt.handle = op, perm, h
		return rt, nil
	}
	switch len(segs) {
	case 2:
		if strings.EqualFold(name, "restore") && method == http.MethodPost {
			rt.name = ""
			return set("RestoreKey", PermRestore, handleRestore)
		}
		switch method {
		case http.MethodGet:
			return set("GetKey", PermGet, handleGetKey)
		case http.MethodPut:
			return set("ImportKey", PermImport, handleImport)
		case http.MethodPatch:
			return set("UpdateKey", PermUpdate, handleUpdate)
		case http.MethodDelete:
			return set("DeleteKey", PermDelete, handleDelete)
		}
		return nil, methods(http.MethodGet, http.MethodPut, http.MethodPatch, http.MethodDelete)
	case 3:
		third := strings.ToLower(segs[2])
		switch third {
		case "create":
			if method != http.MethodPost {
				return nil, methods(http.MethodPost)
			}
			return set("CreateKey", PermCreate, handleCreate)
		case "import":
			if method != http.MethodPut {
				return nil, methods(http.MethodPut)
			}
			return set("ImportKey", PermImport, handleImport)
		case "versions":
			if method != http.MethodGet {
				return nil, methods(http.MethodGet)
			}
			return set("ListKeyVersions", PermList, handleListVersions)
		case "rotate":
			if method != http.MethodPost {
				return nil, methods(http.MethodPost)
			}
			return set("RotateKey", PermRotate, handleRotate)
		case "rotationpolicy":
			switch method {
			case http.MethodGet:
				return set("GetKeyRotationPolicy", PermGetPolicy, handleGetPolicy)
			case http.MethodPut:
				return set("UpdateKeyRotationPolicy", PermSetPolicy, handleSetPolicy)
			}
			return nil, methods(http.MethodGet, http.MethodPut)
		case "backup":
			if method != http.MethodPost {
				return nil, methods(http.MethodPost)
			}
			return set("BackupKey", PermBackup, handleBackup)
		}
		if a, ok := keyActions[third]; ok {
			if method != http.MethodPost {
				return nil, methods(http.MethodPost)
			}
			return set(a.operation, a.perm, keyActionHandler(a.keyOp))
		}
		// /keys/{name}/{version}
		rt.version = segs[2]
		switch method {
		case http.MethodGet:
			return set("GetKey", PermGet, handleGetKey)
		case http.MethodPatch:
			return set("UpdateKey", PermUpdate, handleUpdate)
		}
		return nil, methods(http.MethodGet, http.MethodPatch)
	case 4:
		a, ok := keyActions[strings.ToLower(segs[3])]
		if !ok {
			return nil, notFound
		}
		if method != http.MethodPost {
			return nil, methods(http.MethodPost)
		}
		rt.version = segs[2]
		return set(a.operation, a.perm, keyActionHandler(a.keyOp))
	}
	return nil, notFound
}

// keyNamePattern is Key Vault's key name syntax.
var keyNamePattern = regexp.MustCompile(`^[0-9a-zA-Z-]{1,127}$`)

// versionPattern is the syntax of the versions this server mints.
var versionPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

// checkName validates a key name from the path.
func checkName(name string) *apiError {
	if !keyNamePattern.MatchString(name) {
		return badParameter("The key name %q is invalid: a key name is 1 to 127 letters, digits and dashes.", name)
	}
	return nil
}

// decode reads a JSON request body into v. An empty body decodes as {}.
func decode(c *call, v any, limit int64) *apiError {
	body, err := io.ReadAll(io.LimitReader(c.r.Body, limit+1))
	if err != nil {
		return badParameter("The request body could not be read.")
	}
	if int64(len(body)) > limit {
		return &apiError{Status: http.StatusRequestEntityTooLarge, Code: CodeBadParameter,
			Message: "The request body is larger than " + strconv.FormatInt(limit, 10) + " bytes."}
	}
	// The body may carry key material (import, unwrap results are not
	// bodies): clear it once decoded.
	defer clear(body)
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return badParameter("The request body is invalid: field %q has the wrong type.", te.Field)
		}
		return badParameter("The request body is not valid JSON for this operation.")
	}
	return nil
}

// queryInt reads an optional integer query parameter in [lo, hi].
func queryInt(c *call, name string, def, lo, hi int) (int, *apiError) {
	s := c.r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, badParameter("The query parameter %s must be an integer from %d to %d.", name, lo, hi)
	}
	return n, nil
}
