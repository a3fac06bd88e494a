package query

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/kustodian/kustodian/internal/admit"
	"github.com/kustodian/kustodian/internal/identity"
	"github.com/kustodian/kustodian/internal/kql"
)

// Errors the data layer returns (wrapped) so the API answers as it should.
var (
	// ErrRevoked: the workspace's data is under a revoked customer key.
	ErrRevoked = errors.New("the workspace's customer-managed key is revoked")
	// ErrUnavailable: the key vault has been unreachable beyond the grace.
	ErrUnavailable = errors.New("the workspace's customer-managed key is unavailable")
	// ErrDataIntegrity: stored data failed authentication or a format
	// check (modified or damaged at rest); nothing of it is returned.
	ErrDataIntegrity = errors.New("stored data failed an integrity check")
	// ErrWorkspaceNotFound: no workspace has that id.
	ErrWorkspaceNotFound = errors.New("workspace not found")
)

// Data is the storage side of a workspace: its tables and their rows.
type Data interface {
	kql.Catalog
	kql.Source
}

// Options configure the handler.
type Options struct {
	// Verify checks a bearer token for an audience.
	Verify   func(ctx context.Context, raw, audience string) (*identity.Claims, error)
	Audience string
	// Authorize checks that principalID may perform action on scope (the
	// workspace's resource id); it returns an error wrapping
	// identity.ErrForbidden when not.
	Authorize func(ctx context.Context, principalID, action, scope string) error
	// Workspace returns the resource id of a workspace by its customer id
	// and the workspace's data.
	Workspace func(ctx context.Context, customerID string) (resourceID string, data Data, err error)
	// ResolveWorkspace, if set, returns the customer id of the workspace a
	// reference names: its resource id (resource-centric queries), its
	// name or its customer id (the workspaces member and workspace()). It
	// returns an error wrapping ErrWorkspaceNotFound when none matches.
	// Without it, a reference must be a customer id, and resource-centric
	// queries are refused.
	ResolveWorkspace func(ctx context.Context, ref string) (customerID string, err error)
	Now              func() time.Time
	Log              *slog.Logger
	// Observe, if set, is told each query's outcome code ("" on success)
	// and duration.
	Observe func(code string, d time.Duration)
	// Limits bound each query and the queries in flight.
	Limits Limits
	// Slots, if set, is the server's admission pool of query slots (see
	// SlotOptions); nil means a pool of the handler's own.
	Slots *admit.Pool
}

// Handler serves the Query API under /v1.
type Handler struct {
	o    Options
	gate *gate
}

// New returns the handler.
func New(o Options) *Handler {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	o.Limits.SetDefaults()
	return &Handler{o: o, gate: newGate(o.Limits, o.Slots)}
}

// Running reports the queries running and those waiting for a slot.
func (h *Handler) Running() (running, waiting int) { return h.gate.state() }

// apiError is the Query API's error body.
type apiError struct {
	Status  int        `json:"-"`
	Code    string     `json:"code"`
	Message string     `json:"message"`
	Inner   *innerInfo `json:"innererror,omitempty"`
	// retryAfter, when positive, is sent as Retry-After (seconds).
	retryAfter int
}

type innerInfo struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Line    int    `json:"line,omitempty"`
	Pos     int    `json:"pos,omitempty"`
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func errorf(status int, code, format string, args ...any) *apiError {
	return &apiError{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if batchPath(r.URL.Path) {
		h.serveBatch(w, r) // batch.go
		return
	}
	start := h.o.Now()
	res, err := h.serve(r)
	code := ""
	if err != nil {
		var ae *apiError
		var le *loggedError
		if r.Context().Err() != nil && errors.Is(err, context.Canceled) {
			// The client went away: nobody reads the answer, and it is
			// not the server's failure.
			ae = errorf(499, "ClientClosedRequest", "The client closed the request before the query finished.")
		} else if errors.As(err, &le) {
			h.o.Log.Error("query failed", "code", le.api.Code, "err", le.err)
			ae = le.api
		} else if !errors.As(err, &ae) {
			h.o.Log.Error("query failed", "err", err)
			ae = errorf(http.StatusInternalServerError, "InternalServerError", "The query failed on the server.")
		}
		code = ae.Code
		if ae.Status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		}
		if ae.retryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(ae.retryAfter))
		}
		writeJSON(w, ae.Status, map[string]any{"error": ae})
	} else {
		if err := writeResponse(w, res); err != nil {
			h.o.Log.Debug("writing a query response failed", "err", err)
		}
		res.release()
	}
	if code == "" && res != nil && res.Error != nil {
		code = res.Error.Code
	}
	if h.o.Observe != nil {
		h.o.Observe(code, h.o.Now().Sub(start))
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"code":"InternalServerError","message":"response encoding failed"}}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

type table struct {
	Name    string             `json:"name"`
	Columns []kql.ResultColumn `json:"columns"`
	Rows    [][]any            `json:"rows"`
}

type response struct {
	Tables []table `json:"tables"`
	// Error, on a 200, is a partial error: the tables hold what was
	// computed before a limit cut the result.
	Error *partialError `json:"error,omitempty"`
	// Statistics and Render, when asked for with Prefer, are the
	// "statistics" and "render" members (request.go).
	Statistics json.RawMessage `json:"statistics,omitempty"`
	Render     json.RawMessage `json:"render,omitempty"`
	// applied lists the preferences honoured, for Preference-Applied.
	applied []string
	// release gives back the query's slot once the response is written.
	release func()
}

func (h *Handler) serve(r *http.Request) (*response, error) {
	tgt, err := routeTarget(r.URL.Path)
	if err != nil {
		return nil, err
	}
	claims, err := h.authenticate(r)
	if err != nil {
		return nil, err
	}
	var q queryRequest
	switch r.Method {
	case http.MethodGet:
		q.Query, q.Timespan = r.URL.Query().Get("query"), r.URL.Query().Get("timespan")
		if ws := r.URL.Query().Get("workspaces"); ws != "" {
			q.Workspaces = strings.Split(ws, ",")
		}
	case http.MethodPost:
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20+1))
		if err != nil || len(body) > 1<<20 {
			return nil, errorf(http.StatusBadRequest, "BadArgumentError", "The request body could not be read or exceeds 1 MiB.")
		}
		if err := json.Unmarshal(body, &q); err != nil {
			return nil, errorf(http.StatusBadRequest, "BadArgumentError", "The request body is not valid JSON: %v.", err)
		}
	default:
		return nil, errorf(http.StatusMethodNotAllowed, "MethodNotAllowed", "Use GET or POST.")
	}
	return h.execute(r.Context(), claims, tgt, q, r.Header)
}

// authenticate verifies the request's bearer token.
func (h *Handler) authenticate(r *http.Request) (*identity.Claims, error) {
	raw, ok := identity.BearerToken(r)
	if !ok {
		return nil, errorf(http.StatusUnauthorized, "AuthorizationRequiredError", "Valid authentication was not provided: send a bearer token for %s.", h.o.Audience)
	}
	claims, err := h.o.Verify(r.Context(), raw, h.o.Audience)
	if errors.Is(err, identity.ErrInvalidToken) {
		return nil, errorf(http.StatusUnauthorized, "InvalidTokenError", "The provided authentication is not valid: %v.", strings.TrimPrefix(err.Error(), "invalid token: "))
	} else if err != nil {
		return nil, err
	}
	return claims, nil
}

// execute runs one query for an authenticated principal: the request of
// /query, of a resource's /query, or one of a batch. header carries its
// Prefer values.
func (h *Handler) execute(rctx context.Context, claims *identity.Claims, tgt target, q queryRequest, header http.Header) (*response, error) {
	if strings.TrimSpace(q.Query) == "" {
		return nil, errorf(http.StatusBadRequest, "BadArgumentError", "The query parameter is required.")
	}
	now := h.o.Now()
	tmin, tmax, err := parseTimespan(q.Timespan, now)
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "BadArgumentError", "The timespan '%s' is invalid: %v.", q.Timespan, err)
	}
	primary, err := h.resolveTarget(rctx, tgt)
	if err != nil {
		return nil, err
	}
	ws := newWorkspaces(h, claims.ObjectID, primary)
	if err := ws.authorize(rctx, primary); err != nil {
		return nil, err
	}
	if len(q.Workspaces) > maxWorkspaces {
		return nil, errorf(http.StatusBadRequest, "BadArgumentError", "A query may name at most %d additional workspaces, not %d.", maxWorkspaces, len(q.Workspaces))
	}
	for _, ref := range q.Workspaces {
		if err := ws.add(rctx, ref); err != nil {
			return nil, err
		}
	}
	prefs := parsePrefer(header)
	release, err := h.gate.acquire(rctx, claims.ObjectID)
	if err != nil {
		return nil, err
	}
	// The slot is held until the response is written (ServeHTTP), since
	// the result's memory lives until then.
	handed := false
	defer func() {
		if !handed {
			release()
		}
	}()
	timeout := serverTimeout(header, h.o.Limits.Timeout, h.o.Limits.MaxTimeout)
	ctx, cancel := context.WithTimeout(rctx, timeout)
	defer cancel()
	started := time.Now()
	parsed, err := kql.Parse(q.Query)
	if err != nil {
		return nil, kqlError(err)
	}
	lim := h.o.Limits
	var data Data = ws
	if len(ws.list) == 1 {
		data = ws.single()
	}
	plan, err := kql.Compile(ctx, parsed, data, kql.Options{Now: now, TimeMin: tmin, TimeMax: tmax, Limits: kql.Limits{
		MaxMemoryBytes: lim.MaxMemoryBytes, MaxResultRows: int64(lim.MaxResultRows), MaxResultBytes: lim.MaxResultBytes,
	}})
	if err != nil {
		return nil, timeoutError(ctx, timeout, dataError(err))
	}
	res, err := plan.Run(ctx, data)
	var limitErr *kql.LimitError
	if errors.As(err, &limitErr) && limitErr.Kind == kql.LimitMemory {
		// Kusto reports a query that ran out of memory as a partial
		// failure: no rows, and the reason.
		res, err = &kql.Result{Columns: plan.Columns(), PeakMemoryBytes: limitErr.Limit}, nil
		limitErr = &kql.LimitError{Kind: kql.LimitMemory, Limit: limitErr.Limit, Op: limitErr.Op}
	} else {
		limitErr = nil
	}
	if err != nil {
		return nil, timeoutError(ctx, timeout, dataError(err))
	}
	rows := res.Rows
	if rows == nil {
		rows = [][]any{}
	}
	// The engine stops at the limits as it builds the result; the cut here
	// is exact in bytes of JSON and covers whatever it estimated.
	rows, partial := capRows(rows, lim.MaxResultRows, lim.MaxResultBytes)
	switch {
	case limitErr != nil:
		partial = newPartialError(lowMemory, limitErr.Error())
	case partial == nil && res.Truncated != nil:
		partial = tooLarge(res.Truncated.Kind == kql.LimitResultRows, res.Truncated.Limit)
	}
	out := &response{Tables: []table{{Name: "PrimaryResult", Columns: res.Columns, Rows: rows}}, Error: partial, release: release}
	out.applied = prefs.applied(timeout != h.o.Limits.Timeout)
	if prefs.statistics {
		out.Statistics = statistics(time.Since(started), len(rows), res.PeakMemoryBytes)
	}
	if prefs.render {
		out.Render = renderJSON(plan.Render())
	}
	handed = true
	return out, nil
}

// timeoutError answers Azure's 504 GatewayTimeout when the query's server
// timeout ran out; otherwise it returns err.
func timeoutError(ctx context.Context, timeout time.Duration, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return errorf(http.StatusGatewayTimeout, "GatewayTimeout",
			"The query ran longer than its server timeout of %s and was cancelled; narrow it, or ask for up to 10 minutes with the header 'Prefer: wait=600'.", timeout)
	}
	return err
}

func kqlError(err error) error {
	var ke *kql.Error
	if errors.As(err, &ke) {
		return &apiError{Status: http.StatusBadRequest, Code: "BadArgumentError", Message: "The request had some invalid properties",
			Inner: &innerInfo{Code: ke.Kind, Message: ke.Message, Line: ke.Line, Pos: ke.Pos}}
	}
	return err
}

func dataError(err error) error {
	switch {
	case errors.Is(err, ErrRevoked):
		return errorf(http.StatusForbidden, "CustomerManagedKeyRevoked",
			"The workspace's data is encrypted with a customer-managed key that is not accessible: %v. Restore access to the key in the Key Vault.", err)
	case errors.Is(err, ErrUnavailable):
		return errorf(http.StatusServiceUnavailable, "ServiceUnavailable",
			"The workspace's customer-managed key cannot be reached: %v. Retry later.", err)
	case errors.Is(err, ErrDataIntegrity):
		// The details (file and block) go to the operator's log only.
		return &loggedError{err: err, api: errorf(http.StatusInternalServerError, "DataIntegrityError",
			"Stored data of the workspace failed an integrity check: it was modified or damaged at rest, and no result is returned. The server's log names the damaged data.")}
	}
	return kqlError(err)
}

var durationRE = regexp.MustCompile(`^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$`)

// parseISODuration parses the ISO 8601 durations the API takes (PnDTnHnMnS).
func parseISODuration(s string) (time.Duration, error) {
	m := durationRE.FindStringSubmatch(strings.ToUpper(s))
	if m == nil || s == "P" || strings.HasSuffix(strings.ToUpper(s), "T") {
		return 0, fmt.Errorf("not an ISO 8601 duration")
	}
	var d time.Duration
	for i, unit := range []time.Duration{24 * time.Hour, time.Hour, time.Minute} {
		if m[i+1] != "" {
			n, err := strconv.ParseInt(m[i+1], 10, 64)
			if err != nil {
				return 0, err
			}
			d += time.Duration(n) * unit
		}
	}
	if m[4] != "" {
		f, err := strconv.ParseFloat(m[4], 64)
		if err != nil {
			return 0, err
		}
		d += time.Duration(f * float64(time.Second))
	}
	return d, nil
}

// parseTimespan reads the API's timespan: a duration ending now ("PT1H"),
// an interval "start/end", or "start/duration" or "duration/end". Empty
// means no bound.
func parseTimespan(s string, now time.Time) (time.Time, time.Time, error) {
	if s == "" {
		return time.Time{}, time.Time{}, nil
	}
	parseTime := func(v string) (time.Time, error) { return time.Parse(time.RFC3339Nano, v) }
	a, b, interval := strings.Cut(s, "/")
	if !interval {
		d, err := parseISODuration(s)
		if err != nil {
			return time.Time{}, time.Time{}, err
		}
		return now.Add(-d), now, nil
	}
	start, errA := parseTime(a)
	end, errB := parseTime(b)
	switch {
	case errA == nil && errB == nil:
	case errA == nil:
		d, err := parseISODuration(b)
		if err != nil {
			return time.Time{}, time.Time{}, err
		}
		end = start.Add(d)
	case errB == nil:
		d, err := parseISODuration(a)
		if err != nil {
			return time.Time{}, time.Time{}, err
		}
		start = end.Add(-d)
	default:
		return time.Time{}, time.Time{}, fmt.Errorf("use a duration (PT1H) or an interval (start/end) in ISO 8601")
	}
	if !end.After(start) {
		return time.Time{}, time.Time{}, fmt.Errorf("the end is not after the start")
	}
	return start, end, nil
}

// loggedError is an API error whose cause is logged for the operator but
// not sent to the client.
type loggedError struct {
	err error
	api *apiError
}

func (e *loggedError) Error() string { return e.err.Error() }
func (e *loggedError) Unwrap() error { return e.err }
