package appinsights

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kustodian/kustodian/internal/admit"
	"github.com/kustodian/kustodian/internal/datetime"
	"github.com/kustodian/kustodian/internal/identity"
	"github.com/kustodian/kustodian/internal/ingest"
)

// Audience is the audience of Microsoft Entra tokens for ingestion.
const Audience = "https://monitor.azure.com"

// WriteAction is the action a token's principal needs on the component to
// send telemetry (the Monitoring Metrics Publisher role's data action).
const WriteAction = "Microsoft.Insights/Telemetry/Write"

// ErrUnknownComponent is wrapped by a Directory's error when no component
// has the instrumentation key.
var ErrUnknownComponent = errors.New("unknown instrumentation key")

// Directory finds components by instrumentation key.
type Directory interface {
	Component(ctx context.Context, instrumentationKey string) (*Component, error)
}

// Options configure the track handler.
type Options struct {
	Directory Directory
	// Sink stores each table's batch; Append returns once it is durable.
	Sink ingest.Sink
	// Verify checks a bearer token (audience Audience) and returns its claims.
	Verify func(ctx context.Context, raw string) (*identity.Claims, error)
	// Authorize checks that a principal may perform action on scope; it
	// returns an error wrapping identity.ErrForbidden when not.
	Authorize func(ctx context.Context, principalID, action, scope string) error
	// Bodies and Batches are the admission pools of ingestion (see
	// ingest.Options): a request is charged under its component's id.
	Bodies, Batches *admit.Pool
	Now             func() time.Time
	Log             *slog.Logger
	// Observe, if set, is told each request's status and items accepted.
	Observe func(status, accepted int)
}

// Response is the track API's answer.
type Response struct {
	ItemsReceived int         `json:"itemsReceived"`
	ItemsAccepted int         `json:"itemsAccepted"`
	AppID         string      `json:"appId,omitempty"`
	Errors        []ItemError `json:"errors"`
}

// ItemError is the refusal of one item.
type ItemError struct {
	Index      int    `json:"index"`
	StatusCode int    `json:"statusCode"`
	Message    string `json:"message"`
}

// requestError ends a request before its items are stored.
type requestError struct {
	status     int
	message    string
	retryAfter int
	received   int
}

func (e *requestError) Error() string { return e.message }

func reqErr(status int, format string, args ...any) *requestError {
	return &requestError{status: status, message: fmt.Sprintf(format, args...)}
}

type handler struct{ o Options }

// NewHandler returns the handler of POST /v2/track and /v2.1/track.
func NewHandler(o Options) http.Handler {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	return &handler{o: o}
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	status, resp, retryAfter := h.serve(r)
	if retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer authorization_uri="", resource="`+Audience+`"`)
	}
	if resp.Errors == nil {
		resp.Errors = []ItemError{}
	}
	b, _ := json.Marshal(resp)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
	if h.o.Observe != nil {
		h.o.Observe(status, resp.ItemsAccepted)
	}
}

// serve returns the status, the response and a Retry-After in seconds.
func (h *handler) serve(r *http.Request) (int, Response, int) {
	resp, err := h.track(r)
	if err != nil {
		var re *requestError
		if !errors.As(err, &re) {
			h.o.Log.Error("track request failed", "err", err)
			re = reqErr(http.StatusInternalServerError, "The telemetry could not be stored; it was not acknowledged and can be sent again.")
		}
		resp.ItemsReceived = max(resp.ItemsReceived, re.received)
		resp.ItemsAccepted = 0
		resp.Errors = []ItemError{}
		for i := 0; i < max(resp.ItemsReceived, 1); i++ {
			resp.Errors = append(resp.Errors, ItemError{Index: i, StatusCode: re.status, Message: re.message})
		}
		return re.status, resp, re.retryAfter
	}
	switch {
	case len(resp.Errors) == 0:
		return http.StatusOK, resp, 0
	case resp.ItemsAccepted > 0:
		return http.StatusPartialContent, resp, 0
	}
	// Nothing stored: the status of the items, if they agree (all
	// refused as invalid: 400; all to be retried: 503).
	status := resp.Errors[0].StatusCode
	for _, e := range resp.Errors {
		if e.StatusCode != status {
			return http.StatusPartialContent, resp, 0
		}
	}
	retry := 0
	if status == http.StatusServiceUnavailable {
		retry = 10
	}
	return status, resp, retry
}

// limitedReader reads at most limit bytes (adjustable), then fails.
type limitedReader struct {
	r     io.Reader
	n     int64
	limit int64
	err   error
}

var errTooLarge = errors.New("the request body is too large")

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n >= l.limit {
		l.err = errTooLarge
		return 0, errTooLarge
	}
	if int64(len(p)) > l.limit-l.n {
		p = p[:l.limit-l.n]
	}
	n, err := l.r.Read(p)
	l.n += int64(n)
	if err != nil && err != io.EOF && l.err == nil {
		l.err = err
	}
	return n, err
}

// bodyError translates a failure to read the body.
func bodyError(err error, read int) error {
	switch {
	case errors.Is(err, admit.ErrSlowBody):
		return &requestError{status: http.StatusRequestTimeout, message: "The request body arrived too slowly.", received: read}
	case errors.Is(err, errTooLarge):
		return &requestError{status: http.StatusRequestEntityTooLarge, received: read,
			message: fmt.Sprintf("The request body exceeds %d bytes (or its first item %d bytes): send smaller batches.", MaxBodyBytes, MaxItemBytes)}
	case errors.Is(err, gzip.ErrChecksum), errors.Is(err, gzip.ErrHeader), errors.Is(err, ErrBody),
		errors.Is(err, io.ErrUnexpectedEOF):
		msg := strings.TrimPrefix(err.Error(), ErrBody.Error()+": ")
		return &requestError{status: http.StatusBadRequest, message: "Invalid request body: " + clip(msg) + ".", received: read}
	}
	return &requestError{status: http.StatusBadRequest, message: "The request body could not be read.", received: read}
}

// admitted translates an admission refusal.
func admitted(err error) error {
	var ae *admit.Error
	if !errors.As(err, &ae) {
		return err
	}
	re := &requestError{status: ae.Status(), retryAfter: int((ae.RetryAfter + time.Second - 1) / time.Second)}
	switch ae.Reason {
	case admit.ReasonClient:
		re.message = "The component has too much telemetry in flight on this server: retry after the time in Retry-After."
	case admit.ReasonTooLarge:
		re.status, re.message = http.StatusRequestEntityTooLarge, "The request needs more memory than the server admits for one request: send smaller batches."
	default:
		re.message = "The server is busy: retry after the time in Retry-After."
	}
	return re
}

// track authenticates, admits, decodes and stores a request. It returns
// the response (items received, accepted and per-item errors) or a
// request-level error.
func (h *handler) track(r *http.Request) (Response, error) {
	var resp Response
	if r.Method != http.MethodPost {
		return resp, reqErr(http.StatusMethodNotAllowed, "Use POST to send telemetry.")
	}
	if r.ContentLength > MaxBodyBytes {
		return resp, reqErr(http.StatusRequestEntityTooLarge, "The request body exceeds %d bytes: send smaller batches.", MaxBodyBytes)
	}
	// A bearer token is checked before any of the body is read.
	var claims *identity.Claims
	if raw, ok := identity.BearerToken(r); ok {
		if h.o.Verify == nil {
			return resp, reqErr(http.StatusUnauthorized, "Microsoft Entra authentication is not available.")
		}
		c, err := h.o.Verify(r.Context(), raw)
		if errors.Is(err, identity.ErrInvalidToken) {
			return resp, reqErr(http.StatusUnauthorized, "The bearer token is not valid for %s: %v.", Audience, strings.TrimPrefix(err.Error(), "invalid token: "))
		} else if err != nil {
			return resp, err
		}
		claims = c
	} else if r.Header.Get("Authorization") != "" {
		return resp, reqErr(http.StatusUnauthorized, "The Authorization header must be 'Bearer {token}' with a token for %s.", Audience)
	}

	wire := &limitedReader{r: r.Body, limit: MaxBodyBytes + 1}
	var body io.Reader = wire
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(wire)
		if err != nil {
			if wire.err != nil {
				err = wire.err
			}
			return resp, bodyError(err, 0)
		}
		body = zr
	default:
		return resp, reqErr(http.StatusUnsupportedMediaType, "The Content-Encoding '%s' is not supported: use gzip or none.", clip(enc))
	}
	// Until the request is admitted, at most one item (and the reader's
	// buffer) is read.
	plain := &limitedReader{r: body, limit: MaxItemBytes + 32<<10}
	rd, err := NewReader(plain)
	if err != nil {
		return resp, bodyError(readErr(err, wire, plain), 0)
	}
	first, err := rd.Next()
	if err == io.EOF {
		return resp, reqErr(http.StatusBadRequest, "The request body has no telemetry items.")
	} else if err != nil {
		return resp, bodyError(readErr(err, wire, plain), 0)
	}
	var head struct {
		IKey string `json:"iKey"`
	}
	_ = json.Unmarshal(first, &head)
	if head.IKey == "" {
		return resp, &requestError{status: http.StatusBadRequest, message: "Invalid instrumentation key", received: 1}
	}
	comp, err := h.o.Directory.Component(r.Context(), head.IKey)
	if errors.Is(err, ErrUnknownComponent) {
		return resp, &requestError{status: http.StatusBadRequest, message: "Invalid instrumentation key", received: 1}
	} else if err != nil {
		return resp, err
	}
	resp.AppID = comp.AppID
	switch {
	case claims != nil:
		if h.o.Authorize == nil {
			return resp, reqErr(http.StatusForbidden, "The principal may not send telemetry to this component.")
		}
		if err := h.o.Authorize(r.Context(), claims.ObjectID, WriteAction, comp.ResourceID); errors.Is(err, identity.ErrForbidden) {
			return resp, &requestError{status: http.StatusForbidden, received: 1, message: "The principal does not have permission '" + WriteAction +
				"' on the component (the Monitoring Metrics Publisher role grants it)."}
		} else if err != nil {
			return resp, err
		}
	case comp.DisableLocalAuth:
		return resp, &requestError{status: http.StatusUnauthorized, received: 1, message: "The component disables local authentication: send a Microsoft Entra bearer token for " +
			Audience + " (the instrumentation key alone is not accepted)."}
	}

	// Admission, charged to the component.
	client := "appinsights/" + comp.AppID
	length := r.ContentLength
	if length < 0 {
		length = 1 << 20
	}
	if h.o.Bodies != nil {
		g, err := h.o.Bodies.Acquire(r.Context(), client, length)
		if err != nil {
			return resp, admitted(err)
		}
		defer g.Release()
	}
	var grant *admit.Grant
	if h.o.Batches != nil {
		grant, err = h.o.Batches.Acquire(r.Context(), client, int64(float64(length)*ingest.BatchBytesPerByte))
		if err != nil {
			return resp, admitted(err)
		}
		defer grant.Release()
	}
	plain.limit = MaxBodyBytes + 1

	received, _ := datetime.FromTime(h.o.Now())
	bs := newBatches(comp.Workspace.CustomerID)
	where := make([]string, 0, 64) // table of each accepted item, "" if refused
	for i, raw := 0, first; ; i++ {
		resp.ItemsReceived++
		table, tg, row, ierr := h.item(raw, comp, received)
		if ierr != nil {
			resp.Errors = append(resp.Errors, ItemError{Index: i, StatusCode: ierr.status, Message: ierr.message})
			where = append(where, "")
		} else {
			bs.table(table).add(tg, row)
			where = append(where, table)
		}
		if grant != nil && i%256 == 255 {
			if need := int64(float64(plain.n) * ingest.BatchBytesPerByte); need > grant.Units() {
				if err := grant.Resize(need); err != nil {
					return resp, admitted(err)
				}
			}
		}
		raw, err = rd.Next()
		if err == io.EOF {
			break
		} else if err != nil {
			return resp, bodyError(readErr(err, wire, plain), resp.ItemsReceived)
		}
	}
	// Store each table's batch. A table that fails leaves its items
	// unacknowledged: they are answered with a retriable status, so the
	// SDK sends them (and only them) again.
	failed := map[string]*requestError{}
	for _, b := range bs.list() {
		if err := h.o.Sink.Append(r.Context(), comp.Workspace, b); err != nil {
			failed[b.Table] = sinkError(err)
			if failed[b.Table].status == http.StatusInternalServerError {
				h.o.Log.Error("storing telemetry failed", "table", b.Table, "err", err)
			}
		}
	}
	for i, table := range where {
		if table == "" {
			continue
		}
		if e := failed[table]; e != nil {
			resp.Errors = append(resp.Errors, ItemError{Index: i, StatusCode: e.status, Message: e.message})
			continue
		}
		resp.ItemsAccepted++
	}
	sort.Slice(resp.Errors, func(a, b int) bool { return resp.Errors[a].Index < resp.Errors[b].Index })
	return resp, nil
}

// readErr picks the error that explains a failed read: the transport's
// (slow or broken body) over the decoder's.
func readErr(err error, raw, plain *limitedReader) error {
	for _, l := range []*limitedReader{raw, plain} {
		if l != nil && l.err != nil {
			return l.err
		}
	}
	return err
}

// sinkError translates a Sink failure into the status that makes the SDKs
// keep the items and send them again.
func sinkError(err error) *requestError {
	switch {
	case errors.Is(err, ingest.ErrRevoked):
		// Not 403: SDKs drop items answered 403 unless they authenticate
		// with Entra; every SDK keeps and retries items answered 503.
		return &requestError{status: http.StatusServiceUnavailable, retryAfter: 10, message: "The telemetry was not stored: the component's customer-managed key is revoked (" +
			clip(err.Error()) + "). Keep the data and send it again once access to the key is restored."}
	case errors.Is(err, ingest.ErrUnavailable):
		return &requestError{status: http.StatusServiceUnavailable, retryAfter: 10, message: "The telemetry was not stored: storage is temporarily unavailable. Retry later."}
	case errors.Is(err, ingest.ErrTooManyColumns):
		return &requestError{status: http.StatusBadRequest, message: "The telemetry was not stored: its table would have too many columns."}
	}
	return &requestError{status: http.StatusInternalServerError, message: "The telemetry could not be stored; it was not acknowledged and can be sent again."}
}

// item checks one envelope against the component and maps it to its row.
func (h *handler) item(raw json.RawMessage, c *Component, received int64) (string, int64, *row, *itemError) {
	env, err := ParseEnvelope(raw)
	if err != nil {
		var ie *itemError
		if errors.As(err, &ie) {
			return "", 0, nil, ie
		}
		return "", 0, nil, badItem("%v", err)
	}
	if !SameKey(env.IKey, c.InstrumentationKey) {
		return "", 0, nil, badItem("Invalid instrumentation key: the items of one request must have the same iKey.")
	}
	return itemRow(env, c, received)
}
