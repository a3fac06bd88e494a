package ingest

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/kustodian/kustodian/internal/admit"
	"github.com/kustodian/kustodian/internal/pipeline"
)

// The Logs Ingestion API's limits and version (Azure's documented values).
const (
	// MaxLogsIngestionBytes bounds a call's body, compressed and
	// uncompressed alike ("Maximum size of API call: 1 MB").
	MaxLogsIngestionBytes = 1 << 20
	// LogsIngestionAPIVersion is the version the official clients send.
	LogsIngestionAPIVersion = "2023-01-01"
	// MonitorAudience is the audience of Logs Ingestion API tokens.
	MonitorAudience = "https://monitor.azure.com"
)

// logsIngestionVersions are the api-versions accepted.
var logsIngestionVersions = []string{"2021-11-01-preview", LogsIngestionAPIVersion}

// ErrUnknownRule and ErrUnknownStream are returned (wrapped) by Rules.
var (
	ErrUnknownRule   = errors.New("unknown data collection rule")
	ErrUnknownStream = errors.New("the data collection rule has no such stream")
)

// Rule is what the Logs Ingestion API needs of a data collection rule and
// one of its streams: the rule's resource id (which access is checked on)
// and the flows that read the stream, resolved to their targets.
type Rule struct {
	ResourceID string
	// Admission names the workspace the request is charged to (its first
	// flow's).
	Admission string
	Flows     []pipeline.Flow
}

// Rules resolves rules by immutable id.
type Rules interface {
	Rule(ctx context.Context, immutableID, stream string) (*Rule, error)
}

// LogsOptions configure the Logs Ingestion handler.
type LogsOptions struct {
	// Authenticate verifies a bearer token for MonitorAudience and returns
	// the principal's object id; an error wrapping ErrUnauthenticated is a
	// 401.
	Authenticate func(ctx context.Context, token string) (string, error)
	// Authorize returns nil if the principal may send data through the
	// rule (Microsoft.Insights/Telemetry/Write on it), an error wrapping
	// ErrForbidden if not.
	Authorize func(ctx context.Context, principalID, ruleResourceID string) error
	Rules     Rules
	Pipeline  *pipeline.Pipeline
	Log       *slog.Logger
	// Bodies and Batches admit requests as for the Data Collector API.
	Bodies, Batches *admit.Pool
	// Observe, if set, is told each request's outcome: the error code (""
	// on success) and the rows stored.
	Observe func(code string, rows int)
}

// Authentication and authorization errors of LogsOptions' functions.
var (
	ErrUnauthenticated = errors.New("unauthenticated")
	ErrForbidden       = errors.New("forbidden")
)

type logsIngestion struct{ o LogsOptions }

// NewLogsIngestion returns the handler of the Logs Ingestion API:
// POST /dataCollectionRules/{immutableId}/streams/{stream}.
func NewLogsIngestion(o LogsOptions) http.Handler {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	return &logsIngestion{o: o}
}

// logsError is the API's error: {"error":{"code","message"}}.
type logsError struct {
	status     int
	Code       string `json:"code"`
	Message    string `json:"message"`
	retryAfter int
}

func (e *logsError) Error() string { return e.Code + ": " + e.Message }

func lfail(status int, code, format string, args ...any) *logsError {
	return &logsError{status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

func (h *logsIngestion) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rows, err := h.serve(r)
	code := ""
	if err != nil {
		var le *logsError
		if !errors.As(err, &le) {
			h.o.Log.Error("logs ingestion request failed", "err", err)
			le = lfail(http.StatusInternalServerError, "InternalServerError", "The request could not be stored; it was not acknowledged and can be retried.")
		}
		code = le.Code
		switch {
		case le.retryAfter > 0:
			w.Header().Set("Retry-After", strconv.Itoa(le.retryAfter))
		case le.status == http.StatusServiceUnavailable:
			w.Header().Set("Retry-After", "30")
		}
		if le.status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Bearer resource="`+MonitorAudience+`"`)
		}
		if r.ProtoMajor == 1 && (le.status == http.StatusRequestEntityTooLarge || le.status == http.StatusRequestTimeout) {
			w.Header().Set("Connection", "close")
		}
		b, _ := json.Marshal(struct {
			Error *logsError `json:"error"`
		}{le})
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(le.status)
		_, _ = w.Write(b)
	} else {
		w.WriteHeader(http.StatusNoContent)
	}
	if h.o.Observe != nil {
		h.o.Observe(code, rows)
	}
}

// parseLogsPath splits /dataCollectionRules/{id}/streams/{stream}.
func parseLogsPath(p string) (rule, stream string, ok bool) {
	rest, ok := strings.CutPrefix(p, "/dataCollectionRules/")
	if !ok {
		return "", "", false
	}
	rule, rest, ok = strings.Cut(rest, "/")
	if !ok || rule == "" {
		return "", "", false
	}
	stream, ok = strings.CutPrefix(rest, "streams/")
	if !ok || stream == "" || strings.Contains(stream, "/") {
		return "", "", false
	}
	return rule, stream, true
}

// serve checks, in the order that costs the server least: the request
// line, the token, the rule and access to it, the declared length,
// admission, then the body.
func (h *logsIngestion) serve(r *http.Request) (int, error) {
	ruleID, stream, ok := parseLogsPath(r.URL.Path)
	if !ok {
		return 0, lfail(http.StatusNotFound, "NotFound", "Use POST /dataCollectionRules/{immutableId}/streams/{stream}?api-version=%s.", LogsIngestionAPIVersion)
	}
	if r.Method != http.MethodPost {
		return 0, lfail(http.StatusMethodNotAllowed, "MethodNotAllowed", "Use POST to send data.")
	}
	v := r.URL.Query().Get("api-version")
	if v == "" {
		return 0, lfail(http.StatusBadRequest, "MissingApiVersion", "The api-version query parameter is required: use %s.", LogsIngestionAPIVersion)
	}
	known := false
	for _, k := range logsIngestionVersions {
		known = known || k == v
	}
	if !known {
		return 0, lfail(http.StatusBadRequest, "InvalidApiVersion", "The api-version '%s' is not supported: use %s.", truncate(v), LogsIngestionAPIVersion)
	}
	auth := r.Header.Get("Authorization")
	token, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok || token == "" {
		return 0, lfail(http.StatusUnauthorized, "InvalidToken", "A bearer token for %s is required.", MonitorAudience)
	}
	principal, err := h.o.Authenticate(r.Context(), token)
	if errors.Is(err, ErrUnauthenticated) {
		return 0, lfail(http.StatusUnauthorized, "InvalidToken", "The token is not valid for %s: %v.", MonitorAudience, err)
	} else if err != nil {
		return 0, err
	}
	rule, err := h.o.Rules.Rule(r.Context(), ruleID, stream)
	switch {
	case errors.Is(err, ErrUnknownRule):
		return 0, lfail(http.StatusNotFound, "DataCollectionRuleNotFound", "No data collection rule has the immutable id '%s'.", truncate(ruleID))
	case errors.Is(err, ErrUnknownStream):
		// Access first: an unauthorized caller learns nothing of the rule.
		if rule != nil {
			if aerr := h.o.Authorize(r.Context(), principal, rule.ResourceID); aerr != nil {
				return 0, denied(aerr, ruleID)
			}
		}
		return 0, lfail(http.StatusBadRequest, "InvalidStream", "The data collection rule '%s' has no data flow for the stream '%s'.", truncate(ruleID), truncate(stream))
	case errors.Is(err, ErrUnknownWorkspace):
		return 0, lfail(http.StatusBadRequest, "InvalidDestination", "A destination workspace of the data collection rule '%s' no longer exists.", truncate(ruleID))
	case err != nil:
		return 0, err
	}
	if err := h.o.Authorize(r.Context(), principal, rule.ResourceID); err != nil {
		return 0, denied(err, ruleID)
	}
	length := r.ContentLength
	if length > MaxLogsIngestionBytes {
		return 0, lfail(http.StatusRequestEntityTooLarge, "ContentLengthLimitExceeded",
			"The request body has %d bytes; the limit is %d (compressed and uncompressed): split the data into several calls.", length, MaxLogsIngestionBytes)
	}
	charge := length
	if charge < 0 {
		charge = MaxLogsIngestionBytes
	}
	if h.o.Bodies != nil {
		g, err := h.o.Bodies.Acquire(r.Context(), rule.Admission, charge)
		if err != nil {
			return 0, logsAdmitted(err)
		}
		defer g.Release()
	}
	if h.o.Batches != nil {
		// The uncompressed body is at most 1 MB; its decoded records, a
		// few times that.
		g, err := h.o.Batches.Acquire(r.Context(), rule.Admission, 4*MaxLogsIngestionBytes)
		if err != nil {
			return 0, logsAdmitted(err)
		}
		defer g.Release()
	}
	recs, err := readRecords(r)
	if err != nil {
		return 0, err
	}
	total := 0
	for _, f := range rule.Flows {
		n, _, err := h.o.Pipeline.Records(r.Context(), f, recs)
		if err != nil {
			return total, pipelineErr(err)
		}
		total += n
	}
	return total, nil
}

func denied(err error, ruleID string) error {
	if errors.Is(err, ErrForbidden) {
		return lfail(http.StatusForbidden, "OperationFailed",
			"The authentication token provided does not have access to ingest data for the data collection rule with immutable Id '%s'.", truncate(ruleID))
	}
	return err
}

func logsAdmitted(err error) error {
	ae := admitted(err)
	var e *apiError
	if errors.As(ae, &e) {
		return &logsError{status: e.Status, Code: e.Code, Message: e.Message, retryAfter: e.retryAfter}
	}
	return ae
}

// pipelineErr translates the pipeline's errors to the API's.
func pipelineErr(err error) error {
	var de *pipeline.DataError
	switch {
	case errors.As(err, &de):
		return lfail(http.StatusBadRequest, "InvalidRequestBody", "The data was not stored: %v.", de)
	case errors.Is(err, pipeline.ErrRevoked):
		return lfail(http.StatusForbidden, "CustomerManagedKeyRevoked",
			"The data was not stored: %v. Keep the data and send it again once access to the key is restored.", err)
	case errors.Is(err, pipeline.ErrUnavailable):
		return lfail(http.StatusServiceUnavailable, "ServiceUnavailable", "The data was not stored: %v. Retry later.", err)
	case errors.Is(err, pipeline.ErrTooManyColumns):
		return lfail(http.StatusBadRequest, "InvalidRequestBody", "The data was not stored: the table would have more than %d columns.", MaxColumns)
	}
	return err
}

// readRecords reads and decodes the body: a JSON array of objects,
// gzip-compressed when Content-Encoding says so, each form at most
// MaxLogsIngestionBytes.
func readRecords(r *http.Request) ([]map[string]any, error) {
	body := &bodyReader{r: io.LimitReader(r.Body, MaxLogsIngestionBytes+1)}
	var src io.Reader = body
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(body)
		if err != nil {
			return nil, bodyErr(body, lfail(http.StatusBadRequest, "InvalidContentEncoding", "The body is not gzip data: %v.", err))
		}
		defer zr.Close()
		src = zr
	default:
		return nil, lfail(http.StatusUnsupportedMediaType, "UnsupportedContentEncoding", "The Content-Encoding '%s' is not supported: use gzip or none.", truncate(enc))
	}
	data, err := io.ReadAll(io.LimitReader(src, MaxLogsIngestionBytes+1))
	if err != nil {
		return nil, bodyErr(body, lfail(http.StatusBadRequest, "InvalidRequestBody", "The body could not be read: %v.", err))
	}
	if body.n > MaxLogsIngestionBytes || len(data) > MaxLogsIngestionBytes {
		return nil, lfail(http.StatusRequestEntityTooLarge, "ContentLengthLimitExceeded",
			"The request body exceeds %d bytes (compressed or uncompressed): split the data into several calls.", MaxLogsIngestionBytes)
	}
	return decodeRecords(data)
}

func bodyErr(b *bodyReader, fallback error) error {
	if b.err != nil && errors.Is(b.err, admit.ErrSlowBody) {
		return lfail(http.StatusRequestTimeout, "RequestTimeout", "The request body arrived too slowly: %d bytes were received.", b.n)
	}
	return fallback
}

// decodeRecords parses a JSON array of objects, numbers kept as
// json.Number. A record that is not an object is named.
func decodeRecords(data []byte) ([]map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('[') {
		return nil, lfail(http.StatusBadRequest, "InvalidRequestBody", "The body must be a JSON array of objects.")
	}
	var out []map[string]any
	for i := 0; dec.More(); i++ {
		var rec any
		if err := dec.Decode(&rec); err != nil {
			return nil, lfail(http.StatusBadRequest, "InvalidRequestBody", "Record %d is not valid JSON: %v.", i, err)
		}
		obj, ok := rec.(map[string]any)
		if !ok {
			return nil, lfail(http.StatusBadRequest, "InvalidRequestBody", "Record %d is not a JSON object.", i)
		}
		out = append(out, obj)
	}
	if _, err := dec.Token(); err != nil {
		return nil, lfail(http.StatusBadRequest, "InvalidRequestBody", "The body is not valid JSON: %v.", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, lfail(http.StatusBadRequest, "InvalidRequestBody", "The body has data after the JSON array.")
	}
	if len(out) == 0 {
		return nil, lfail(http.StatusBadRequest, "InvalidRequestBody", "The body is an empty array.")
	}
	return out, nil
}
