package appinsights

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/kustodian/kustodian/internal/ingest"
)

// Limits of the track API.
const (
	// MaxItemBytes bounds one envelope's JSON (Application Insights'
	// documented 64 KB per telemetry item); a larger item is refused on
	// its own (400 in errors), the others are stored.
	MaxItemBytes = 64 << 10
	// MaxItems bounds the items of one request (Azure's 64,000 per batch).
	MaxItems = 64000
	// MaxBodyBytes bounds a request body after decompression (413).
	MaxBodyBytes = 64 << 20
)

// Envelope is one telemetry item as the SDKs send it.
type Envelope struct {
	Name       string            `json:"name"`
	Time       string            `json:"time"`
	IKey       string            `json:"iKey"`
	SampleRate *float64          `json:"sampleRate,omitempty"`
	Tags       map[string]string `json:"tags,omitempty"`
	Data       struct {
		BaseType string          `json:"baseType"`
		BaseData json.RawMessage `json:"baseData"`
	} `json:"data"`
}

// itemError is a per-item refusal, reported in the response's errors.
type itemError struct {
	status  int
	message string
}

func (e *itemError) Error() string { return e.message }

func badItem(format string, args ...any) *itemError {
	return &itemError{status: 400, message: fmt.Sprintf(format, args...)}
}

// Reader reads envelopes from a request body: a JSON array of envelopes
// or envelopes separated by white space (newline-delimited JSON), as the
// SDKs send them. It holds one item at a time.
type Reader struct {
	br    *bufio.Reader
	dec   *json.Decoder
	array bool
	done  bool
	n     int
}

// ErrBody is wrapped by Reader errors that end the request: the body is
// not a JSON array or sequence of JSON values.
var ErrBody = errors.New("invalid request body")

// NewReader starts reading envelopes from r.
func NewReader(r io.Reader) (*Reader, error) {
	br := bufio.NewReaderSize(r, 32<<10)
	first, err := firstByte(br)
	if err == io.EOF {
		return &Reader{done: true}, nil
	} else if err != nil {
		return nil, err
	}
	rd := &Reader{br: br, dec: json.NewDecoder(br)}
	switch first {
	case '[':
		rd.array = true
		if _, err := rd.dec.Token(); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBody, err)
		}
	case '{':
	default:
		return nil, fmt.Errorf("%w: expected a JSON array or objects, found %q", ErrBody, first)
	}
	return rd, nil
}

// Next returns the next item's raw JSON, or io.EOF after the last one.
func (r *Reader) Next() (json.RawMessage, error) {
	if r.done {
		return nil, io.EOF
	}
	if r.array && !r.dec.More() {
		if _, err := r.dec.Token(); err != nil { // the closing ]
			return nil, fmt.Errorf("%w: %v", ErrBody, err)
		}
		r.done = true
		if _, err := r.dec.Token(); err != io.EOF {
			return nil, fmt.Errorf("%w: data after the JSON array", ErrBody)
		}
		return nil, io.EOF
	}
	if r.n >= MaxItems {
		return nil, fmt.Errorf("%w: more than %d items in one request", ErrBody, MaxItems)
	}
	var raw json.RawMessage
	if err := r.dec.Decode(&raw); err != nil {
		if err == io.EOF && !r.array {
			r.done = true
			return nil, io.EOF
		}
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("%w: %v", ErrBody, err)
	}
	r.n++
	return raw, nil
}

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

// ParseEnvelope decodes and checks one item.
func ParseEnvelope(raw json.RawMessage) (*Envelope, error) {
	if len(raw) > MaxItemBytes {
		return nil, badItem("The telemetry item has %d bytes; the limit is %d.", len(raw), MaxItemBytes)
	}
	var env Envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		return nil, badItem("The telemetry item is not a valid envelope: %v.", clip(err.Error()))
	}
	if env.IKey == "" {
		return nil, badItem("Field 'iKey' on type 'Envelope' is required but missing or empty.")
	}
	if env.Data.BaseType == "" {
		return nil, badItem("Field 'baseType' on type 'Data' is required but missing or empty.")
	}
	if len(env.Data.BaseData) == 0 || string(env.Data.BaseData) == "null" {
		return nil, badItem("Field 'baseData' on type 'Data' is required but missing or empty.")
	}
	if _, ok := kinds[env.Data.BaseType]; !ok {
		return nil, badItem("Unknown baseType '%s'.", clip(env.Data.BaseType))
	}
	return &env, nil
}

// SameKey reports whether two instrumentation keys are the same (case and
// dashes do not matter, as the SDKs spell them either way).
func SameKey(a, b string) bool {
	norm := func(s string) string { return strings.ToLower(strings.ReplaceAll(s, "-", "")) }
	return a != "" && norm(a) == norm(b)
}

// parseDuration reads a TimeSpan as the SDKs send it ("d.hh:mm:ss.fffffff"
// or "hh:mm:ss.fff") and returns milliseconds.
func parseDuration(s string) (float64, bool) {
	days := 0.0
	if i := strings.IndexByte(s, '.'); i >= 0 && i < strings.IndexByte(s, ':') {
		d, err := strconv.ParseUint(s[:i], 10, 32)
		if err != nil {
			return 0, false
		}
		days, s = float64(d), s[i+1:]
	}
	parts := strings.Split(s, ":")
	if len(parts) != 3 || len(parts[0]) == 0 || len(parts[1]) != 2 || len(parts[2]) < 2 {
		return 0, false
	}
	h, err1 := strconv.ParseUint(parts[0], 10, 32)
	m, err2 := strconv.ParseUint(parts[1], 10, 8)
	sec, err3 := strconv.ParseFloat(parts[2], 64)
	if err1 != nil || err2 != nil || err3 != nil || m > 59 || sec < 0 || sec >= 60 || strings.ContainsAny(parts[2], "eE+-") {
		return 0, false
	}
	ms := ((days*24+float64(h))*3600 + float64(m)*60 + sec) * 1000
	if math.IsInf(ms, 0) || math.IsNaN(ms) {
		return 0, false
	}
	return ms, true
}

// clip bounds a value echoed in a message to 64 bytes.
func clip(s string) string {
	if len(s) <= 64 {
		return s
	}
	cut := 64
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}

// parseTime reads an envelope's time; ok is false when it is missing or
// not an ISO 8601 time in Kusto's range.
func parseTime(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	return ingest.ParseDatetime(s)
}
