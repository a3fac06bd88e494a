package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/kustodian/kustodian/internal/admit"
)

// tripwire is a body that records whether anyone read it.
type tripwire struct {
	r    io.Reader
	read bool
}

func (t *tripwire) Read(p []byte) (int, error) {
	t.read = true
	return t.r.Read(p)
}

// failingBody returns data, then err.
type failingBody struct {
	data string
	err  error
}

func (f *failingBody) Read(p []byte) (int, error) {
	if f.data == "" {
		return 0, f.err
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

// govReq is a request with a body and declared length of the test's
// choosing, signed over the declared length.
type govReq struct {
	req
	body   io.Reader // nil: strings.NewReader(req.body)
	length int64     // declared Content-Length; 0: len(req.body); -1: none (chunked)
	opts   func(*Options)
}

func sendGov(t *testing.T, sink *fakeSink, g govReq) *httptest.ResponseRecorder {
	t.Helper()
	if g.key == "" {
		g.key = primary
	}
	if g.date.IsZero() {
		g.date = testNow
	}
	if g.logType == "" {
		g.logType = "MyApp"
	}
	if g.body == nil {
		g.body = strings.NewReader(g.req.body)
	}
	if g.length == 0 {
		g.length = int64(len(g.req.body))
	}
	date := g.date.Format(http.TimeFormat)
	hr := httptest.NewRequest(http.MethodPost, "/api/logs?api-version=2016-04-01", g.body)
	hr.ContentLength = g.length
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("Log-Type", g.logType)
	hr.Header.Set("x-ms-date", date)
	hr.Header.Set("Authorization", "SharedKey "+wsID+":"+sign(g.key, date, int(max(g.length, 0))))
	if g.mutate != nil {
		g.mutate(hr)
	}
	o := Options{Directory: fakeDir{}, Sink: sink, Now: func() time.Time { return testNow }}
	if g.opts != nil {
		g.opts(&o)
	}
	w := httptest.NewRecorder()
	NewCollector(o).ServeHTTP(w, hr)
	return w
}

func errorBody(t *testing.T, w *httptest.ResponseRecorder) (code, message string) {
	t.Helper()
	var e struct{ Error, Message string }
	if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error == "" || e.Message == "" {
		t.Fatalf("error body %q is not {Error, Message}", w.Body)
	}
	return e.Error, e.Message
}

// fullPool returns a pool with capacity 100 and a client share of 50, of
// which client holds held.
func fullPool(t *testing.T, client string, held int64) *admit.Pool {
	t.Helper()
	p := admit.New(admit.Options{Name: "test", Capacity: 100, ClientShare: 50})
	if held > 0 {
		if _, err := p.Acquire(context.Background(), client, held); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// Every request refused for its headers, its signature, its length or
// admission is refused before a byte of its body is read (the attack: 32
// unauthenticated 30 MiB posts read in full before the signature check).
func TestCollectorRefusesBeforeReadingTheBody(t *testing.T) {
	body := `{"a":1}`
	otherKey := strings.Repeat("A", 86) + "=="
	tests := []struct {
		name   string
		g      govReq
		status int
		code   string
		retry  bool
	}{
		{"no authorization", govReq{req: req{mutate: func(r *http.Request) { r.Header.Del("Authorization") }}}, 403, "InvalidAuthorization", false},
		{"wrong key", govReq{req: req{key: otherKey}}, 403, "InvalidAuthorization", false},
		{"signature not HMAC-SHA256 sized", govReq{req: req{mutate: func(r *http.Request) { r.Header.Set("Authorization", "SharedKey "+wsID+":AAAA") }}}, 403, "InvalidAuthorization", false},
		{"stale date", govReq{req: req{date: testNow.Add(-time.Hour)}}, 403, "InvalidAuthorization", false},
		{"unknown workspace", govReq{req: req{mutate: func(r *http.Request) {
			r.Header.Set("Authorization", "SharedKey 00000000-0000-0000-0000-000000000000:"+sign(primary, testNow.Format(http.TimeFormat), 7))
		}}}, 404, "InvalidCustomerId", false},
		{"bad log type", govReq{req: req{logType: "a-b"}}, 400, "InvalidLogType", false},
		{"chunked, no Content-Length", govReq{length: -1}, 411, "LengthRequired", false},
		{"declared over 30 MiB", govReq{length: MaxPostBytes + 1}, 413, "RequestEntityTooLarge", false},
		{"bodies in flight: the workspace's share taken", govReq{opts: func(o *Options) { o.Bodies = fullPool(t, wsID, 45) }}, 429, "TooManyRequests", true},
		{"bodies in flight: the server saturated", govReq{opts: func(o *Options) {
			o.Bodies = fullPool(t, "other", 50)
			o.Bodies.Acquire(context.Background(), "third", 45)
		}}, 503, "ServiceUnavailable", true},
		{"batches in flight: saturated", govReq{opts: func(o *Options) {
			o.Batches = fullPool(t, "other", 50)
			o.Batches.Acquire(context.Background(), "third", 50)
		}}, 503, "ServiceUnavailable", true},
		{"batches in flight: more than a share", govReq{length: 40, opts: func(o *Options) { o.Batches = fullPool(t, "", 0) }}, 413, "RequestEntityTooLarge", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := &fakeSink{}
			wire := &tripwire{r: strings.NewReader(body)}
			tt.g.req.body = body
			tt.g.body = wire
			w := sendGov(t, sink, tt.g)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.status, w.Body)
			}
			if code, _ := errorBody(t, w); code != tt.code {
				t.Fatalf("code %s, want %s", code, tt.code)
			}
			if wire.read {
				t.Fatal("the body was read before the request was refused")
			}
			if got := w.Header().Get("Retry-After"); (got != "") != tt.retry {
				t.Fatalf("Retry-After %q", got)
			}
			if len(sink.batches) != 0 {
				t.Fatal("a refused request reached the sink")
			}
		})
	}
}

// A body that does not arrive as declared is the client's error (4xx),
// never a 500.
func TestCollectorBodyNotAsDeclared(t *testing.T) {
	tests := []struct {
		name   string
		g      govReq
		status int
		text   string
	}{
		{"shorter than declared", govReq{req: req{body: `{"a":1}`}, length: 100}, 400, "ended after 7 bytes"},
		{"shorter, cut in the JSON", govReq{req: req{body: `{"a":`}, length: 100}, 400, "ended after 5 bytes"},
		{"longer than declared", govReq{req: req{body: `{"a":1}  `}, length: 7}, 400, "longer than its Content-Length"},
		{"connection lost", govReq{req: req{body: `[{"a":1},`}, body: &failingBody{`[{"a":1},`, io.ErrUnexpectedEOF}, length: 20}, 400, "ended after 9 bytes"},
		{"read error", govReq{req: req{body: `[{"a":1},`}, body: &failingBody{`[{"a":1},`, errors.New("tls: bad record")}, length: 20}, 400, "could not be read"},
		{"too slow", govReq{req: req{body: `[{"a":1},`}, body: &failingBody{`[{"a":1},`, fmt.Errorf("%w: 9 bytes", admit.ErrSlowBody)}, length: 20}, 408, "too slowly"},
		{"invalid JSON of the declared length", govReq{req: req{body: `{"a":1]`}}, 400, "not valid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := &fakeSink{}
			w := sendGov(t, sink, tt.g)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.status, w.Body)
			}
			if _, msg := errorBody(t, w); !strings.Contains(msg, tt.text) {
				t.Fatalf("message %q does not say %q", msg, tt.text)
			}
			if tt.status == 408 && w.Header().Get("Connection") != "close" {
				t.Fatal("a timed-out request keeps its connection")
			}
			if len(sink.batches) != 0 {
				t.Fatal("a refused request reached the sink")
			}
		})
	}
}

// observingSink records the pools' state when it is called.
type observingSink struct {
	fakeSink
	bodies, batches *admit.Pool
	atAppend        [2]int64
}

func (s *observingSink) Append(ctx context.Context, ws *Workspace, b *Batch) error {
	s.atAppend = [2]int64{s.bodies.Stats().InFlight, s.batches.Stats().InFlight}
	return s.fakeSink.Append(ctx, ws, b)
}

// A request holds its body's bytes until it is decoded and its batch's
// until the sink has it; the batch is charged what it measures.
func TestCollectorAdmissionLifetime(t *testing.T) {
	bodies := admit.New(admit.Options{Name: "bodies", Capacity: 1 << 20})
	batches := admit.New(admit.Options{Name: "batches", Capacity: 1 << 20})
	sink := &observingSink{bodies: bodies, batches: batches}
	body := `[{"msg":"hello","n":1},{"msg":"world","n":2}]`
	hr := httptest.NewRequest(http.MethodPost, "/api/logs?api-version=2016-04-01", strings.NewReader(body))
	date := testNow.Format(http.TimeFormat)
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("Log-Type", "MyApp")
	hr.Header.Set("x-ms-date", date)
	hr.Header.Set("Authorization", "SharedKey "+wsID+":"+sign(primary, date, len(body)))
	w := httptest.NewRecorder()
	NewCollector(Options{Directory: fakeDir{}, Sink: sink, Now: func() time.Time { return testNow }, Bodies: bodies, Batches: batches}).ServeHTTP(w, hr)
	if w.Code != 200 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	if sink.atAppend[0] != 0 || sink.atAppend[1] <= 0 {
		t.Fatalf("at Append: bodies %d, batches %d in flight", sink.atAppend[0], sink.atAppend[1])
	}
	var cost batchCost
	cost.strings = int64(len("hello") + len("world"))
	if want := cost.bytes(sink.fakeSink.batches[0]); sink.atAppend[1] != want {
		t.Fatalf("batch charged %d, measures %d", sink.atAppend[1], want)
	}
	if b, c := bodies.Stats(), batches.Stats(); b.InFlight != 0 || c.InFlight != 0 || b.Admitted != 1 || c.Admitted != 1 {
		t.Fatalf("after the request: %+v %+v", b, c)
	}
}

// A batch that outgrows its first charge is refused as it is decoded:
// sparse records over many columns cost far more than their JSON bytes.
func TestCollectorBatchOutgrowsItsCharge(t *testing.T) {
	var b strings.Builder
	b.WriteString(`[{`)
	for i := range MaxColumns {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"f%d":1`, i)
	}
	b.WriteString(`}`)
	for range 20000 {
		b.WriteString(`,{}`) // 3 JSON bytes, 500 null cells
	}
	b.WriteString(`]`)
	batches := admit.New(admit.Options{Name: "batches", Capacity: 8 << 20, ClientShare: 4 << 20})
	sink := &fakeSink{}
	w := sendGov(t, sink, govReq{req: req{body: b.String()}, opts: func(o *Options) { o.Batches = batches }})
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	if code, msg := errorBody(t, w); code != "RequestEntityTooLarge" || !strings.Contains(msg, "at most 4194304") {
		t.Fatalf("%s: %s", code, msg)
	}
	if st := batches.Stats(); st.InFlight != 0 || st.Rejected[admit.ReasonTooLarge] != 1 {
		t.Fatalf("pool after the refusal: %+v", st)
	}
}

// Values echoed in error messages are bounded, whatever their size.
func TestCollectorBoundsEchoedValues(t *testing.T) {
	huge := func(n int) string { return strings.Repeat("x", n) }
	tests := []struct {
		name string
		g    govReq
		code string
	}{
		{"10 KB Log-Type", govReq{req: req{logType: huge(10 << 10)}}, "InvalidLogType"},
		{"Log-Type of invalid characters", govReq{req: req{logType: strings.Repeat("é", 5000)}}, "InvalidLogType"},
		{"100 KB customer id", govReq{req: req{mutate: func(r *http.Request) {
			r.Header.Set("Authorization", "SharedKey "+huge(100<<10)+":"+sign(primary, testNow.Format(http.TimeFormat), 7))
		}}}, "InvalidCustomerId"},
		{"long api-version", govReq{req: req{mutate: func(r *http.Request) { r.URL.RawQuery = "api-version=" + huge(10<<10) }}}, "InvalidApiVersion"},
		{"long Content-Type", govReq{req: req{mutate: func(r *http.Request) { r.Header.Set("Content-Type", "text/"+huge(10<<10)) }}}, "UnsupportedContentType"},
		{"long x-ms-date", govReq{req: req{mutate: func(r *http.Request) { r.Header.Set("x-ms-date", huge(10<<10)) }}}, "InvalidAuthorization"},
		{"long field name", govReq{req: req{body: `{"` + huge(10<<10) + `":1}`}}, "InvalidDataFormat"},
		{"long invalid field name", govReq{req: req{body: `{"a-` + huge(300) + `":1}`}}, "InvalidDataFormat"},
		{"long name of a too long value", govReq{req: req{body: `{"` + huge(400) + `":"` + huge(MaxFieldBytes+1) + `"}`}}, "InvalidDataFormat"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.g.req.body == "" {
				tt.g.req.body = `{"a":1}`
			}
			w := sendGov(t, &fakeSink{}, tt.g)
			code, msg := errorBody(t, w)
			if code != tt.code {
				t.Fatalf("code %s, want %s: %s", code, tt.code, msg)
			}
			if w.Body.Len() > 512 {
				t.Fatalf("an error of %d bytes: %.200s...", w.Body.Len(), w.Body)
			}
		})
	}
}

func TestTruncate(t *testing.T) {
	tests := []struct{ in, want string }{
		{"short", "short"},
		{strings.Repeat("a", 64), strings.Repeat("a", 64)},
		{strings.Repeat("a", 65), strings.Repeat("a", 64) + "…"},
		{strings.Repeat("a", 63) + "éé", strings.Repeat("a", 63) + "…"}, // never half a character
	}
	for _, tt := range tests {
		if got := truncate(tt.in); got != tt.want {
			t.Errorf("truncate(%q) = %q", tt.in, got)
		}
	}
}
