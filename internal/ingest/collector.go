package ingest

import (
	"bufio"
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
	"unicode/utf8"

	"github.com/valyala/fastjson"

	"github.com/kustodian/kustodian/internal/admit"
	"github.com/kustodian/kustodian/internal/pipeline"
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
	ErrRevoked = pipeline.ErrRevoked
	// ErrUnavailable: storage cannot accept data now (503, retry later).
	ErrUnavailable = pipeline.ErrUnavailable
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
	// Bodies, if set, admits request bodies: an authenticated request is
	// charged its Content-Length, under its workspace's name, before a
	// byte of the body is read, until the body is decoded.
	Bodies *admit.Pool
	// Batches, if set, admits decoded batches: a request is charged
	// BatchBytesPerByte times its Content-Length before the body is read,
	// then the measured size of its batch as it is decoded (growing past
	// the charge may fail), until the Sink has stored it.
	Batches *admit.Pool
	// Replay, if set, refuses exact replays of accepted requests (see
	// ReplayGuard); nil accepts them within the x-ms-date skew, as Azure
	// does.
	Replay *ReplayGuard
}

// BatchBytesPerByte is the memory a decoded batch takes per byte of the
// JSON it was decoded from, measured on genlogs-like records (~317-byte
// lines of a dozen fields): the first charge of a request to
// Options.Batches, corrected as the batch is decoded.
const BatchBytesPerByte = 1.5

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
	// retryAfter, if positive, is the Retry-After in seconds.
	retryAfter int
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
		switch {
		case ae.retryAfter > 0:
			w.Header().Set("Retry-After", strconv.Itoa(ae.retryAfter))
		case ae.Status == http.StatusServiceUnavailable:
			w.Header().Set("Retry-After", "30")
		}
		if r.ProtoMajor == 1 && (ae.Status == http.StatusRequestTimeout || ae.Status == http.StatusLengthRequired || ae.Status == http.StatusRequestEntityTooLarge) {
			// The rest of the body is not read: do not keep the connection
			// (HTTP/1; an HTTP/2 stream is reset on its own).
			w.Header().Set("Connection", "close")
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

// serve handles a request in the order that lets a client cost the server
// nothing before it is known: the request line and headers, then the
// signature (which covers Content-Length, so it is checked before a byte
// of the body is read), then admission, then the body.
func (c *collector) serve(r *http.Request) (rows int, err error) {
	if r.Method != http.MethodPost {
		return 0, fail(http.StatusMethodNotAllowed, "MethodNotAllowed", "Use POST to send data.")
	}
	v := r.URL.Query().Get("api-version")
	switch {
	case v == "":
		return 0, fail(http.StatusBadRequest, "MissingApiVersion", "The api-version query parameter is required: use %s.", APIVersion)
	case v != APIVersion:
		return 0, fail(http.StatusNotFound, "InvalidApiVersion", "The api-version '%s' is not supported: use %s.", truncate(v), APIVersion)
	}
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return 0, fail(http.StatusBadRequest, "MissingContentType", "The Content-Type header is required: application/json.")
	}
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
		return 0, fail(http.StatusBadRequest, "UnsupportedContentType", "The Content-Type '%s' is not supported: use application/json.", truncate(ct))
	}
	logType := r.Header.Get("Log-Type")
	if logType == "" {
		return 0, fail(http.StatusBadRequest, "MissingLogType", "The Log-Type header is required.")
	}
	if !validLogType(logType) {
		return 0, fail(http.StatusBadRequest, "InvalidLogType",
			"The Log-Type '%s' is invalid: use up to %d letters, digits and underscores.", truncate(logType), MaxLogTypeLength)
	}
	length := r.ContentLength
	switch {
	case length < 0:
		// A chunked body: the signature needs the length (Azure answers 411).
		return 0, fail(http.StatusLengthRequired, "LengthRequired", "The Content-Length header is required: the signature covers it.")
	case length == 0:
		return 0, fail(http.StatusBadRequest, "InvalidDataFormat", "The request body is empty: send a JSON object or an array of objects.")
	case length > MaxPostBytes:
		return 0, fail(http.StatusRequestEntityTooLarge, "RequestEntityTooLarge",
			"The request body exceeds %d bytes: split the data into several posts.", MaxPostBytes)
	}
	ws, date, sig, err := c.authenticate(r, length)
	if err != nil {
		return 0, err
	}
	if c.o.Replay != nil {
		forget, rerr := c.o.Replay.Reserve(ws.CustomerID, sig, date)
		if rerr != nil {
			return 0, rerr
		}
		defer func() {
			if err != nil {
				forget() // not stored: the sender may send it again
			}
		}()
	}
	var bodyGrant, grant *admit.Grant
	if c.o.Bodies != nil {
		if bodyGrant, err = c.o.Bodies.Acquire(r.Context(), ws.CustomerID, length); err != nil {
			return 0, admitted(err)
		}
		defer bodyGrant.Release()
	}
	if c.o.Batches != nil {
		grant, err = c.o.Batches.Acquire(r.Context(), ws.CustomerID, int64(float64(length)*BatchBytesPerByte))
		if err != nil {
			return 0, admitted(err)
		}
		defer grant.Release()
	}
	body := &bodyReader{r: io.LimitReader(r.Body, length+1)}
	batch, err := c.parse(ws.CustomerID, logType, r.Header.Get("time-generated-field"), body, grant)
	if bodyGrant != nil {
		bodyGrant.Release() // the body is consumed; its batch stays charged
	}
	if err := body.check(length, err); err != nil {
		return 0, err
	}
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
		case errors.Is(err, ErrTooManyColumns):
			return 0, fail(http.StatusBadRequest, "InvalidDataFormat",
				"The data was not stored: table %s_CL would have more than %d custom columns, the limit per table. Send the new fields to another Log-Type or reuse existing fields.", logType, MaxColumns)
		}
		var de *pipeline.DataError
		if errors.As(err, &de) {
			return 0, fail(http.StatusBadRequest, "InvalidDataFormat", "The data was not stored: %v.", de)
		}
		return 0, err
	}
	return batch.Rows, nil
}

// ErrTooManyColumns is wrapped by a Sink's error when storing the batch
// would give its table more than MaxColumns custom columns (counted over
// every post to the table, not within one).
var ErrTooManyColumns = pipeline.ErrTooManyColumns

// admitted translates an admission refusal into the API's error.
func admitted(err error) error {
	var ae *admit.Error
	if !errors.As(err, &ae) {
		return err
	}
	e := &apiError{Status: ae.Status(), retryAfter: int(ae.RetryAfter.Round(time.Second) / time.Second)}
	if ae.RetryAfter > 0 && e.retryAfter == 0 {
		e.retryAfter = 1
	}
	switch ae.Reason {
	case admit.ReasonClient:
		e.Code, e.Message = "TooManyRequests", "The workspace has too much data in flight on this server: retry after the time in Retry-After."
	case admit.ReasonTooLarge:
		e.Code, e.Message = "RequestEntityTooLarge", fmt.Sprintf(
			"The data of this post needs more memory than the server admits for one request (%d bytes, at most %d): send fewer or denser records per post.", ae.Want, ae.Limit)
	default:
		e.Code, e.Message = "ServiceUnavailable", "The server is busy with other data: retry after the time in Retry-After."
	}
	return e
}

// bodyReader reads a request body, counting bytes and keeping the error
// of the body (not of the JSON decoding), so that a failure can be told
// apart: the client's (slow, short, long body) or the data's.
type bodyReader struct {
	r   io.Reader
	n   int64
	err error
}

func (b *bodyReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.n += int64(n)
	if err != nil && b.err == nil {
		b.err = err
	}
	return n, err
}

// check returns the error of a body that did not arrive as declared, or
// nil. decodeErr is the decoder's error (nil if it succeeded).
func (b *bodyReader) check(length int64, decodeErr error) error {
	switch {
	case b.err != nil && errors.Is(b.err, admit.ErrSlowBody):
		return fail(http.StatusRequestTimeout, "RequestTimeout", "The request body arrived too slowly: %d of %d bytes were received.", b.n, length)
	case b.err != nil && b.err != io.EOF && !errors.Is(b.err, io.ErrUnexpectedEOF):
		return fail(http.StatusBadRequest, "InvalidDataFormat", "The request body could not be read after %d bytes.", b.n)
	case b.n > length:
		return fail(http.StatusBadRequest, "InvalidDataFormat", "The request body is longer than its Content-Length of %d bytes.", length)
	case b.n < length && (decodeErr == nil || b.err != nil):
		return fail(http.StatusBadRequest, "InvalidDataFormat", "The request body ended after %d bytes; its Content-Length is %d.", b.n, length)
	}
	return nil
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

// authenticate checks the SharedKey signature, over the declared length,
// and x-ms-date. It returns the workspace, the request's date and the
// signature (for the replay guard).
func (c *collector) authenticate(r *http.Request, length int64) (*Workspace, time.Time, string, error) {
	var zero time.Time
	auth := r.Header.Get("Authorization")
	rest, ok := strings.CutPrefix(auth, "SharedKey ")
	if !ok {
		return nil, zero, "", fail(http.StatusForbidden, "InvalidAuthorization", "The Authorization header must be 'SharedKey {workspaceId}:{signature}'.")
	}
	customerID, sig, ok := strings.Cut(rest, ":")
	if !ok || customerID == "" || sig == "" {
		return nil, zero, "", fail(http.StatusForbidden, "InvalidAuthorization", "The Authorization header must be 'SharedKey {workspaceId}:{signature}'.")
	}
	date := r.Header.Get("x-ms-date")
	if date == "" {
		return nil, zero, "", fail(http.StatusForbidden, "InvalidAuthorization", "The x-ms-date header is required.")
	}
	t, err := http.ParseTime(date)
	if err != nil {
		return nil, zero, "", fail(http.StatusForbidden, "InvalidAuthorization", "The x-ms-date '%s' is not an RFC 1123 date.", truncate(date))
	}
	if d := c.o.Now().Sub(t); d > c.o.MaxSkew || d < -c.o.MaxSkew {
		return nil, zero, "", fail(http.StatusForbidden, "InvalidAuthorization",
			"The x-ms-date '%s' is more than %v away from the server's time: the request is stale or from the future.", truncate(date), c.o.MaxSkew)
	}
	given, err := base64.StdEncoding.DecodeString(sig)
	if err != nil || len(given) != sha256.Size {
		return nil, zero, "", fail(http.StatusForbidden, "InvalidAuthorization", "The signature is not a base64 HMAC-SHA256.")
	}
	ws, err := c.o.Directory.Workspace(r.Context(), customerID)
	if errors.Is(err, ErrUnknownWorkspace) {
		return nil, zero, "", fail(http.StatusNotFound, "InvalidCustomerId", "No workspace has the id '%s'.", truncate(customerID))
	} else if err != nil {
		return nil, zero, "", err
	}
	toSign := "POST\n" + strconv.FormatInt(length, 10) + "\napplication/json\nx-ms-date:" + date + "\n/api/logs"
	for _, k := range []string{ws.PrimaryKey, ws.SecondaryKey} {
		key, err := base64.StdEncoding.DecodeString(k)
		if err != nil || len(key) == 0 {
			continue
		}
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(toSign))
		if hmac.Equal(mac.Sum(nil), given) {
			return ws, t, sig, nil
		}
	}
	return nil, zero, "", fail(http.StatusForbidden, "InvalidAuthorization",
		"The signature does not match: sign 'POST\\n{content-length}\\napplication/json\\nx-ms-date:{date}\\n/api/logs' with the workspace's primary or secondary key (HMAC-SHA256).")
}

// parse decodes the body, record by record as it arrives, into a batch.
// Only the batch and the record being decoded are held, never the whole
// body. If grant is set it is resized to the batch's measured size as the
// batch grows; a refusal ends the decoding.
func (c *collector) parse(customerID, logType, timeField string, body io.Reader, grant *admit.Grant) (*Batch, error) {
	br := bufio.NewReaderSize(body, 32<<10)
	first, err := firstByte(br)
	if err == io.EOF {
		return nil, fail(http.StatusBadRequest, "InvalidDataFormat", "The request body is empty: send a JSON object or an array of objects.")
	} else if err != nil {
		return nil, err
	}
	if first != '[' && first != '{' {
		return nil, fail(http.StatusBadRequest, "InvalidDataFormat", "The request body must be a JSON object or an array of objects.")
	}
	dec := json.NewDecoder(br)
	dec.UseNumber()
	invalid := func(err error) error {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return fail(http.StatusBadRequest, "InvalidDataFormat", "The request body is not valid JSON: %v.", err)
	}
	array := first == '['
	if array {
		if _, err := dec.Token(); err != nil {
			return nil, invalid(err)
		}
	}
	received := receivedTicks(c.o.Now())
	b := NewBatch(customerID, logType+"_CL")
	var cost batchCost
	// Each record is cut out of the stream (encoding/json's scanner, which
	// validates it) and decoded with fastjson (decode.go): only the batch
	// and the record at hand are held, never the whole body.
	d := &decoder{names: map[string]*[6]string{}}
	p := parsers.Get()
	defer parsers.Put(p)
	var raw json.RawMessage
	var vals []value
	for i := 0; !array && i == 0 || array && dec.More(); i++ {
		if err := dec.Decode(&raw); err != nil {
			return nil, invalid(err)
		}
		rec := []byte(raw)
		if loneSurrogate(rec) {
			norm, err := normalizeJSON(rec)
			if err != nil {
				return nil, invalid(err)
			}
			rec = norm
		}
		v, err := p.ParseBytes(rec)
		if err != nil {
			return nil, invalid(err)
		}
		obj, err := v.Object()
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
		if err := cost.add(b, vals, grant); err != nil {
			return nil, admitted(err)
		}
	}
	if array {
		if _, err := dec.Token(); err != nil { // the closing ]
			return nil, invalid(err)
		}
	}
	if _, err := dec.Token(); err != io.EOF {
		if err == nil {
			return nil, fail(http.StatusBadRequest, "InvalidDataFormat", "The request body has data after the JSON value.")
		}
		return nil, invalid(err)
	}
	if b.Rows == 0 {
		return nil, fail(http.StatusBadRequest, "InvalidDataFormat", "The request body is an empty array.")
	}
	if err := cost.settle(b, grant); err != nil {
		return nil, admitted(err)
	}
	return b, nil
}

// firstByte returns the first byte of r that is not JSON white space,
// leaving it unread.
func firstByte(r *bufio.Reader) (byte, error) {
	for {
		p, err := r.Peek(1)
		if err != nil {
			return 0, err
		}
		switch p[0] {
		case ' ', '\t', '\n', '\r':
			r.Discard(1)
		default:
			return p[0], nil
		}
	}
}

// truncate bounds a value echoed in an error message to 64 bytes (cut at
// a character boundary, with an ellipsis), so that a client cannot make
// the server send or log back what it sent at any length.
func truncate(s string) string {
	const limit = 64
	if len(s) <= limit {
		return s
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
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
