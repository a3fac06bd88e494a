package ingest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fastjson"
)

// Limits of the Data Collector API (Azure's documented values).
const (
	MaxPostBytes     = 30 << 20 // per request
	MaxFieldBytes    = 32 << 10 // per field value
	MaxLogTypeLength = 100
	MaxColumns       = 500 // custom columns per table
	APIVersion       = "2016-04-01"
	DefaultMaxSkew   = 15 * time.Minute
	sourceSystem     = "RestAPI"
)

// Errors a Sink returns (wrapped) so the API answers as it should.
var (
	// ErrRevoked: the workspace's storage key is revoked (403, the sender
	// keeps its data).
	ErrRevoked = errors.New("the workspace's customer-managed key is revoked")
	// ErrUnavailable: storage cannot accept data now (503, retry later).
	ErrUnavailable = errors.New("the workspace's storage is temporarily unavailable")
	// ErrUnknownWorkspace: no workspace has that customer id.
	ErrUnknownWorkspace = errors.New("unknown workspace")
)

// Workspace is what ingestion needs of a workspace.
type Workspace struct {
	CustomerID               string
	PrimaryKey, SecondaryKey string // base64 shared keys
	// Route is where the directory says the workspace's data goes (for
	// Kustodian: its storage account); ingestion hands it to the Sink
	// untouched, so the workspace is looked up once per request.
	Route string
}

// Directory finds workspaces by customer id.
type Directory interface {
	Workspace(ctx context.Context, customerID string) (*Workspace, error)
}

// Sink stores batches; Append returns only once the batch is durable. ws is
// the workspace the Directory returned for the request.
type Sink interface {
	Append(ctx context.Context, ws *Workspace, b *Batch) error
}

// Options configure the Data Collector handler.
type Options struct {
	Directory Directory
	Sink      Sink
	Now       func() time.Time
	Log       *slog.Logger
	// MaxSkew bounds how far x-ms-date may be from the server's clock.
	MaxSkew time.Duration
	// Observe, if set, is told about each request's outcome (for metrics):
	// the error code ("" on success) and the rows accepted.
	Observe func(code string, rows int)
}

type collector struct{ o Options }

// NewCollector returns the handler of POST /api/logs.
func NewCollector(o Options) http.Handler {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.MaxSkew == 0 {
		o.MaxSkew = DefaultMaxSkew
	}
	return &collector{o: o}
}

// apiError is the Data Collector API's error: {"Error","Message"}.
type apiError struct {
	Status  int    `json:"-"`
	Code    string `json:"Error"`
	Message string `json:"Message"`
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func fail(status int, code, format string, args ...any) *apiError {
	return &apiError{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

func (c *collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rows, err := c.serve(r)
	code := ""
	if err != nil {
		var ae *apiError
		if !errors.As(err, &ae) {
			c.o.Log.Error("data collector request failed", "err", err)
			ae = fail(http.StatusInternalServerError, "InternalServerError", "The request could not be stored; it was not acknowledged and can be retried.")
		}
		code = ae.Code
		if ae.Status == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "30")
		}
		b, _ := json.Marshal(ae)
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(ae.Status)
		_, _ = w.Write(b)
	} else {
		w.WriteHeader(http.StatusOK)
	}
	if c.o.Observe != nil {
		c.o.Observe(code, rows)
	}
}

func (c *collector) serve(r *http.Request) (int, error) {
	if r.Method != http.MethodPost {
		return 0, fail(http.StatusMethodNotAllowed, "MethodNotAllowed", "Use POST to send data.")
	}
	v := r.URL.Query().Get("api-version")
	switch {
	case v == "":
		return 0, fail(http.StatusBadRequest, "MissingApiVersion", "The api-version query parameter is required: use %s.", APIVersion)
	case v != APIVersion:
		return 0, fail(http.StatusNotFound, "InvalidApiVersion", "The api-version '%s' is not supported: use %s.", v, APIVersion)
	}
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return 0, fail(http.StatusBadRequest, "MissingContentType", "The Content-Type header is required: application/json.")
	}
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
		return 0, fail(http.StatusBadRequest, "UnsupportedContentType", "The Content-Type '%s' is not supported: use application/json.", ct)
	}
	logType := r.Header.Get("Log-Type")
	if logType == "" {
		return 0, fail(http.StatusBadRequest, "MissingLogType", "The Log-Type header is required.")
	}
	if !validLogType(logType) {
		return 0, fail(http.StatusBadRequest, "InvalidLogType",
			"The Log-Type '%s' is invalid: use up to %d letters, digits and underscores.", logType, MaxLogTypeLength)
	}
	// Read the body before checking the signature: it covers the length.
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxPostBytes+1))
	if err != nil {
		return 0, fail(http.StatusBadRequest, "InvalidDataFormat", "The request body could not be read: %v.", err)
	}
	if len(body) > MaxPostBytes {
		return 0, fail(http.StatusRequestEntityTooLarge, "RequestEntityTooLarge",
			"The request body exceeds %d bytes: split the data into several posts.", MaxPostBytes)
	}
	ws, err := c.authenticate(r, len(body))
	if err != nil {
		return 0, err
	}
	batch, err := c.parse(ws.CustomerID, logType, r.Header.Get("time-generated-field"), body)
	if err != nil {
		return 0, err
	}
	if err := c.o.Sink.Append(r.Context(), ws, batch); err != nil {
		switch {
		case errors.Is(err, ErrRevoked):
			return 0, fail(http.StatusForbidden, "CustomerManagedKeyRevoked",
				"The data was not stored: %v. Keep the data and send it again once access to the key is restored.", err)
		case errors.Is(err, ErrUnavailable):
			return 0, fail(http.StatusServiceUnavailable, "ServiceUnavailable", "The data was not stored: %v. Retry later.", err)
		}
		return 0, err
	}
	return batch.Rows, nil
}

func validLogType(s string) bool {
	if len(s) > MaxLogTypeLength {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// authenticate checks the SharedKey signature and x-ms-date.
func (c *collector) authenticate(r *http.Request, length int) (*Workspace, error) {
	auth := r.Header.Get("Authorization")
	rest, ok := strings.CutPrefix(auth, "SharedKey ")
	if !ok {
		return nil, fail(http.StatusForbidden, "InvalidAuthorization", "The Authorization header must be 'SharedKey {workspaceId}:{signature}'.")
	}
	customerID, sig, ok := strings.Cut(rest, ":")
	if !ok || customerID == "" || sig == "" {
		return nil, fail(http.StatusForbidden, "InvalidAuthorization", "The Authorization header must be 'SharedKey {workspaceId}:{signature}'.")
	}
	date := r.Header.Get("x-ms-date")
	if date == "" {
		return nil, fail(http.StatusForbidden, "InvalidAuthorization", "The x-ms-date header is required.")
	}
	t, err := http.ParseTime(date)
	if err != nil {
		return nil, fail(http.StatusForbidden, "InvalidAuthorization", "The x-ms-date '%s' is not an RFC 1123 date.", date)
	}
	if d := c.o.Now().Sub(t); d > c.o.MaxSkew || d < -c.o.MaxSkew {
		return nil, fail(http.StatusForbidden, "InvalidAuthorization",
			"The x-ms-date '%s' is more than %v away from the server's time: the request is stale or from the future.", date, c.o.MaxSkew)
	}
	ws, err := c.o.Directory.Workspace(r.Context(), customerID)
	if errors.Is(err, ErrUnknownWorkspace) {
		return nil, fail(http.StatusNotFound, "InvalidCustomerId", "No workspace has the id '%s'.", customerID)
	} else if err != nil {
		return nil, err
	}
	given, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		return nil, fail(http.StatusForbidden, "InvalidAuthorization", "The signature is not base64.")
	}
	toSign := "POST\n" + strconv.Itoa(length) + "\napplication/json\nx-ms-date:" + date + "\n/api/logs"
	for _, k := range []string{ws.PrimaryKey, ws.SecondaryKey} {
		key, err := base64.StdEncoding.DecodeString(k)
		if err != nil || len(key) == 0 {
			continue
		}
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(toSign))
		if hmac.Equal(mac.Sum(nil), given) {
			return ws, nil
		}
	}
	return nil, fail(http.StatusForbidden, "InvalidAuthorization",
		"The signature does not match: sign 'POST\\n{content-length}\\napplication/json\\nx-ms-date:{date}\\n/api/logs' with the workspace's primary or secondary key (HMAC-SHA256).")
}

// parse turns the body into a batch.
func (c *collector) parse(customerID, logType, timeField string, body []byte) (*Batch, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return nil, fail(http.StatusBadRequest, "InvalidDataFormat", "The request body is empty: send a JSON object or an array of objects.")
	}
	if loneSurrogate(trimmed) {
		norm, err := normalizeJSON(trimmed)
		if err != nil {
			return nil, fail(http.StatusBadRequest, "InvalidDataFormat", "The request body is not valid JSON: %v.", err)
		}
		trimmed = norm
	}
	if err := fastjson.ValidateBytes(trimmed); err != nil {
		return nil, fail(http.StatusBadRequest, "InvalidDataFormat", "The request body is not valid JSON: %v.", err)
	}
	if rawControlInString(trimmed) {
		return nil, fail(http.StatusBadRequest, "InvalidDataFormat", "The request body is not valid JSON: a string holds a control character; escape it.")
	}
	p := parsers.Get()
	defer parsers.Put(p)
	v, err := p.ParseBytes(trimmed)
	if err != nil {
		return nil, fail(http.StatusBadRequest, "InvalidDataFormat", "The request body is not valid JSON: %v.", err)
	}
	var records []*fastjson.Value
	switch v.Type() {
	case fastjson.TypeArray:
		records, _ = v.Array()
	case fastjson.TypeObject:
		records = []*fastjson.Value{v}
	default:
		return nil, fail(http.StatusBadRequest, "InvalidDataFormat", "The request body must be a JSON object or an array of objects.")
	}
	if len(records) == 0 {
		return nil, fail(http.StatusBadRequest, "InvalidDataFormat", "The request body is an empty array.")
	}
	received := receivedTicks(c.o.Now())
	b := NewBatch(customerID, logType+"_CL")
	b.rowsHint = len(records)
	b.TimeGenerated = make([]int64, 0, len(records))
	d := &decoder{names: map[string]*[6]string{}}
	var vals []value
	for i, rec := range records {
		obj, err := rec.Object()
		if err != nil {
			return nil, fail(http.StatusBadRequest, "InvalidDataFormat", "Record %d is not a JSON object.", i)
		}
		vals = vals[:0]
		var given int64
		hasGiven := false
		for _, f := range d.recordFields(obj) {
			if f.v.Type() == fastjson.TypeNull {
				continue
			}
			if !validFieldNameBytes(f.name) {
				return nil, fail(http.StatusBadRequest, "InvalidDataFormat",
					"Record %d: the field name '%s' is invalid: use letters, digits and underscores, up to 500 characters.", i, truncate(string(f.name)))
			}
			val, err := d.typedJSON(f.name, f.v)
			if err != nil {
				return nil, fail(http.StatusBadRequest, "InvalidDataFormat", "Record %d: %v", i, err)
			}
			if timeField != "" && string(f.name) == timeField && val.typ == TypeDatetime {
				given, hasGiven = val.t, true
			}
			vals = append(vals, val)
		}
		if err := b.addRow(ResolveTimeGenerated(given, hasGiven, received), vals); err != nil {
			return nil, fail(http.StatusBadRequest, "InvalidDataFormat", "Record %d: %v.", i, err)
		}
		if len(b.Columns) > MaxColumns {
			return nil, fail(http.StatusBadRequest, "InvalidDataFormat",
				"The data has more than %d columns for table %s_CL.", MaxColumns, logType)
		}
	}
	return b, nil
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

func validFieldName(s string) bool {
	if s == "" || len(s) > 500 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// typed types a field value as Azure does: numbers are real, booleans
// bool, strings datetime (ISO 8601 within Kusto's range, see
// ParseDatetime), guid or string; nested values are stored as their JSON
// text.
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return true
}
