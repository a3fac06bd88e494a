package ingest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kustodian/kustodian/internal/datetime"
)

var (
	testNow   = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	primary   = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 64))
	secondary = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{2}, 64))
)

const wsID = "11111111-2222-3333-4444-555555555555"

type fakeDir struct{}

func (fakeDir) Workspace(ctx context.Context, id string) (*Workspace, error) {
	if id != wsID {
		return nil, ErrUnknownWorkspace
	}
	return &Workspace{CustomerID: wsID, PrimaryKey: primary, SecondaryKey: secondary}, nil
}

type fakeSink struct {
	err     error
	batches []*Batch
}

func (s *fakeSink) Append(ctx context.Context, ws *Workspace, b *Batch) error {
	if ws == nil || ws.CustomerID != b.CustomerID {
		return fmt.Errorf("sink got workspace %+v for batch of %s", ws, b.CustomerID)
	}
	if s.err != nil {
		return s.err
	}
	s.batches = append(s.batches, b)
	return nil
}

func sign(key, date string, length int) string {
	k, _ := base64.StdEncoding.DecodeString(key)
	mac := hmac.New(sha256.New, k)
	fmt.Fprintf(mac, "POST\n%d\napplication/json\nx-ms-date:%s\n/api/logs", length, date)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

type req struct {
	body      string
	key       string
	date      time.Time
	logType   string
	timeField string
	mutate    func(*http.Request)
}

func send(t *testing.T, sink *fakeSink, r req) *httptest.ResponseRecorder {
	t.Helper()
	if r.key == "" {
		r.key = primary
	}
	if r.date.IsZero() {
		r.date = testNow
	}
	if r.logType == "" {
		r.logType = "MyApp"
	}
	date := r.date.Format(http.TimeFormat)
	hr := httptest.NewRequest(http.MethodPost, "/api/logs?api-version=2016-04-01", strings.NewReader(r.body))
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("Log-Type", r.logType)
	hr.Header.Set("x-ms-date", date)
	hr.Header.Set("Authorization", "SharedKey "+wsID+":"+sign(r.key, date, len(r.body)))
	if r.timeField != "" {
		hr.Header.Set("time-generated-field", r.timeField)
	}
	if r.mutate != nil {
		r.mutate(hr)
	}
	w := httptest.NewRecorder()
	NewCollector(Options{Directory: fakeDir{}, Sink: sink, Now: func() time.Time { return testNow }}).ServeHTTP(w, hr)
	return w
}

func col(t *testing.T, b *Batch, name string) *Column {
	t.Helper()
	for _, c := range b.Columns {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no column %s in %d columns", name, len(b.Columns))
	return nil
}

func TestCollectorTypesFieldsAsAzure(t *testing.T) {
	sink := &fakeSink{}
	body := `[{"msg":"hello","n":42.5,"ok":true,"when":"2026-11-28T10:00:00Z","id":"6F9619FF-8B86-D011-B42D-00C04FC964FF","nested":{"a":[1,2]},"nothing":null},
{"msg":"second","extra":"x"}]`
	w := send(t, sink, req{body: body, timeField: "when"})
	if w.Code != http.StatusOK || w.Body.Len() != 0 {
		t.Fatalf("status %d body %q", w.Code, w.Body.String())
	}
	b := sink.batches[0]
	if b.Table != "MyApp_CL" || b.Rows != 2 || b.CustomerID != wsID {
		t.Fatalf("batch %s rows %d", b.Table, b.Rows)
	}
	if s := col(t, b, "msg_s"); s.Strings[0] != "hello" || s.Strings[1] != "second" {
		t.Errorf("msg_s = %v", s.Strings)
	}
	if c := col(t, b, "n_d"); c.Reals[0] != 42.5 || c.Valid[1] {
		t.Errorf("n_d = %v %v", c.Reals, c.Valid)
	}
	if c := col(t, b, "ok_b"); !c.Bools[0] {
		t.Errorf("ok_b = %v", c.Bools)
	}
	if c := col(t, b, "when_t"); c.Times[0] != 1_795_860_000*datetime.TicksPerSecond {
		t.Errorf("when_t = %v", c.Times)
	}
	if c := col(t, b, "id_g"); c.Strings[0] != "6f9619ff-8b86-d011-b42d-00c04fc964ff" {
		t.Errorf("id_g = %v", c.Strings)
	}
	if c := col(t, b, "nested_s"); c.Strings[0] != `{"a":[1,2]}` {
		t.Errorf("nested_s = %v", c.Strings)
	}
	if c := col(t, b, "extra_s"); c.Valid[0] || !c.Valid[1] {
		t.Errorf("extra_s validity = %v", c.Valid)
	}
	for _, c := range b.Columns {
		if strings.HasPrefix(c.Name, "nothing") {
			t.Errorf("null field became column %s", c.Name)
		}
	}
	// time-generated-field sets TimeGenerated; a record without it gets the ingestion time.
	if b.TimeGenerated[0] != 1_795_860_000*datetime.TicksPerSecond || b.TimeGenerated[1] != 1_795_953_600*datetime.TicksPerSecond {
		t.Errorf("TimeGenerated = %v", b.TimeGenerated)
	}
}

func TestCollectorAcceptsSecondaryKeyAndSingleObject(t *testing.T) {
	sink := &fakeSink{}
	if w := send(t, sink, req{body: `{"a":"b"}`, key: secondary}); w.Code != http.StatusOK {
		t.Fatalf("secondary key: %d %s", w.Code, w.Body)
	}
	if sink.batches[0].Rows != 1 {
		t.Fatal("single object not ingested")
	}
}

func TestCollectorRejections(t *testing.T) {
	long := strings.Repeat("x", MaxFieldBytes+1)
	many := map[string]string{}
	for i := 0; i <= MaxColumns; i++ {
		many["f"+strconv.Itoa(i)] = "v"
	}
	manyJSON, _ := json.Marshal(many)
	otherKey := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, 64))
	tests := []struct {
		name   string
		r      req
		sink   error
		status int
		code   string
	}{
		{"missing api-version", req{body: `{}`, mutate: func(r *http.Request) { r.URL.RawQuery = "" }}, nil, 400, "MissingApiVersion"},
		{"other api-version", req{body: `{}`, mutate: func(r *http.Request) { r.URL.RawQuery = "api-version=2023-01-01" }}, nil, 404, "InvalidApiVersion"},
		{"no content type", req{body: `{}`, mutate: func(r *http.Request) { r.Header.Del("Content-Type") }}, nil, 400, "MissingContentType"},
		{"text content", req{body: `{}`, mutate: func(r *http.Request) { r.Header.Set("Content-Type", "text/plain") }}, nil, 400, "UnsupportedContentType"},
		{"no log type", req{body: `{}`, mutate: func(r *http.Request) { r.Header.Del("Log-Type") }}, nil, 400, "MissingLogType"},
		{"bad log type", req{body: `{}`, logType: "my-app"}, nil, 400, "InvalidLogType"},
		{"long log type", req{body: `{}`, logType: strings.Repeat("a", 101)}, nil, 400, "InvalidLogType"},
		{"no authorization", req{body: `{}`, mutate: func(r *http.Request) { r.Header.Del("Authorization") }}, nil, 403, "InvalidAuthorization"},
		{"bearer", req{body: `{}`, mutate: func(r *http.Request) { r.Header.Set("Authorization", "Bearer x") }}, nil, 403, "InvalidAuthorization"},
		{"wrong key", req{body: `{"a":1}`, key: otherKey}, nil, 403, "InvalidAuthorization"},
		{"length not signed", req{body: `{"a":1}`, mutate: func(r *http.Request) {
			r.Header.Set("Authorization", "SharedKey "+wsID+":"+sign(primary, testNow.Format(http.TimeFormat), 3))
		}}, nil, 403, "InvalidAuthorization"},
		{"stale date", req{body: `{}`, date: testNow.Add(-16 * time.Minute)}, nil, 403, "InvalidAuthorization"},
		{"future date", req{body: `{}`, date: testNow.Add(16 * time.Minute)}, nil, 403, "InvalidAuthorization"},
		{"bad date", req{body: `{}`, mutate: func(r *http.Request) { r.Header.Set("x-ms-date", "yesterday") }}, nil, 403, "InvalidAuthorization"},
		{"unknown workspace", req{body: `{}`, mutate: func(r *http.Request) {
			r.Header.Set("Authorization", "SharedKey 00000000-0000-0000-0000-000000000000:"+sign(primary, testNow.Format(http.TimeFormat), 2))
		}}, nil, 404, "InvalidCustomerId"},
		{"empty body", req{body: ``}, nil, 400, "InvalidDataFormat"},
		{"bad json", req{body: `{"a":`}, nil, 400, "InvalidDataFormat"},
		{"trailing data", req{body: `{"a":1} {"b":2}`}, nil, 400, "InvalidDataFormat"},
		{"scalar", req{body: `42`}, nil, 400, "InvalidDataFormat"},
		{"empty array", req{body: `[]`}, nil, 400, "InvalidDataFormat"},
		{"non-object record", req{body: `[{"a":1}, 5]`}, nil, 400, "InvalidDataFormat"},
		{"field too long", req{body: `{"a":"` + long + `"}`}, nil, 400, "InvalidDataFormat"},
		{"bad field name", req{body: `{"a b":1}`}, nil, 400, "InvalidDataFormat"},
		{"too many columns", req{body: string(manyJSON)}, nil, 400, "InvalidDataFormat"},
		{"revoked", req{body: `{"a":1}`}, fmt.Errorf("account x: %w", ErrRevoked), 403, "CustomerManagedKeyRevoked"},
		{"unavailable", req{body: `{"a":1}`}, fmt.Errorf("buffer full: %w", ErrUnavailable), 503, "ServiceUnavailable"},
		{"sink failure", req{body: `{"a":1}`}, fmt.Errorf("disk full"), 500, "InternalServerError"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := &fakeSink{err: tt.sink}
			w := send(t, sink, tt.r)
			if w.Code != tt.status {
				t.Fatalf("status = %d, want %d: %s", w.Code, tt.status, w.Body)
			}
			var e struct{ Error, Message string }
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error != tt.code || e.Message == "" {
				t.Fatalf("body = %s, want code %s", w.Body, tt.code)
			}
			if strings.Contains(w.Body.String(), "disk full") {
				t.Fatal("an internal error leaked")
			}
			if tt.sink == nil && len(sink.batches) != 0 {
				t.Fatal("a rejected request reached the sink")
			}
		})
	}
}

// FuzzParse checks that no body makes the parser panic, and that accepted
// batches are consistent (every column has a value slot per row).
func FuzzParse(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `[{"a":"b","c":true},{"d":null}]`, `[{"t":"2026-01-01T00:00:00Z","g":"6F9619FF-8B86-D011-B42D-00C04FC964FF"}]`, `[]`, `{`, `[1]`, `{"a":{"b":[1,{"c":2}]}}`} {
		f.Add(s)
	}
	c := &collector{o: Options{Now: func() time.Time { return testNow }}}
	f.Fuzz(func(t *testing.T, body string) {
		b, err := c.parse(wsID, "T", "t", strings.NewReader(body), nil)
		if err != nil {
			return
		}
		for _, col := range b.Columns {
			n := len(col.Strings) + len(col.Reals) + len(col.Bools) + len(col.Times)
			if n != b.Rows || len(col.Valid) != b.Rows {
				t.Fatalf("column %s has %d values and %d validity bits for %d rows", col.Name, n, len(col.Valid), b.Rows)
			}
		}
		if len(b.TimeGenerated) != b.Rows {
			t.Fatalf("TimeGenerated has %d values for %d rows", len(b.TimeGenerated), b.Rows)
		}
	})
}
