package appinsights

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/kustodian/kustodian/internal/ingest"
)

const testKey = "11111111-2222-3333-4444-555555555555"

type fakeDir struct{ c *Component }

func (d fakeDir) Component(_ context.Context, ikey string) (*Component, error) {
	if SameKey(ikey, d.c.InstrumentationKey) {
		return d.c, nil
	}
	return nil, ErrUnknownComponent
}

type fakeSink struct {
	batches []*ingest.Batch
	err     map[string]error // by table
}

func (s *fakeSink) Append(_ context.Context, _ *ingest.Workspace, b *ingest.Batch) error {
	if err := s.err[b.Table]; err != nil {
		return err
	}
	s.batches = append(s.batches, b)
	return nil
}

var now = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

func testComponent() *Component {
	return &Component{ResourceID: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Insights/components/app", Name: "app",
		AppID: "aaaaaaaa-0000-0000-0000-000000000001", InstrumentationKey: testKey,
		Workspace: &ingest.Workspace{CustomerID: "ws", Route: "shared"}}
}

func item(base, data string) string {
	return fmt.Sprintf(`{"name":"n","time":"2026-12-04T11:59:00.000Z","iKey":%q,"tags":{"ai.operation.id":"op"},"data":{"baseType":%q,"baseData":%s}}`, testKey, base, data)
}

func post(t *testing.T, h http.Handler, body string, gz bool) (int, Response) {
	t.Helper()
	b := []byte(body)
	if gz {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(b)
		zw.Close()
		b = buf.Bytes()
	}
	req := httptest.NewRequest(http.MethodPost, "/v2/track", bytes.NewReader(b))
	if gz {
		req.Header.Set("Content-Encoding", "gzip")
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	var resp Response
	if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil {
		t.Fatalf("response %d is not JSON: %s", w.Code, w.Body)
	}
	return w.Code, resp
}

func TestTrack(t *testing.T) {
	msg := item("MessageData", `{"message":"hi","severityLevel":"Warning"}`)
	req := item("RequestData", `{"id":"r","name":"GET /","duration":"1.02:03:04.5","responseCode":"200","success":true}`)
	cases := []struct {
		name     string
		body     string
		gz       bool
		status   int
		accepted int
		errs     []int // indexes refused
	}{
		{"array", "[" + msg + "," + req + "]", false, 200, 2, nil},
		{"ndjson", msg + "\n" + req + "\n", false, 200, 2, nil},
		{"gzip", "[" + msg + "]", true, 200, 1, nil},
		{"one bad", "[" + msg + "," + item("RequestData", `{"name":"x"}`) + "]", false, 206, 1, []int{1}},
		{"unknown type", "[" + item("FooData", `{}`) + "]", false, 400, 0, []int{0}},
		{"bad duration", "[" + item("RequestData", `{"id":"r","duration":"soon","responseCode":"200"}`) + "]", false, 400, 0, []int{0}},
		{"unknown key", "[" + strings.ReplaceAll(msg, testKey, "00000000-0000-0000-0000-000000000000") + "]", false, 400, 0, []int{0}},
		{"no key", `[{"data":{}}]`, false, 400, 0, []int{0}},
		{"empty", ``, false, 400, 0, []int{0}},
		{"not json", `[{`, false, 400, 0, []int{0}},
		{"scalar", `42`, false, 400, 0, []int{0}},
		{"other key in batch", "[" + msg + "," + strings.ReplaceAll(msg, testKey, "99999999-2222-3333-4444-555555555555") + "]", false, 206, 1, []int{1}},
		{"item too large", "[" + msg + "," + item("MessageData", `{"message":"`+strings.Repeat("x", MaxItemBytes)+`"}`) + "]", false, 206, 1, []int{1}},
		{"first item too large", "[" + item("MessageData", `{"message":"`+strings.Repeat("x", 2*MaxItemBytes)+`"}`) + "]", false, 413, 0, []int{0}},
		{"bad gzip", "[" + msg + "]", false, 400, 0, []int{0}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sink := &fakeSink{}
			h := NewHandler(Options{Directory: fakeDir{testComponent()}, Sink: sink, Now: func() time.Time { return now }})
			body := tc.body
			if tc.name == "bad gzip" {
				req := httptest.NewRequest(http.MethodPost, "/v2/track", strings.NewReader(body))
				req.Header.Set("Content-Encoding", "gzip")
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != 400 {
					t.Fatalf("status %d: %s", w.Code, w.Body)
				}
				return
			}
			status, resp := post(t, h, body, tc.gz)
			if status != tc.status || resp.ItemsAccepted != tc.accepted {
				t.Fatalf("status %d accepted %d, want %d %d: %+v", status, resp.ItemsAccepted, tc.status, tc.accepted, resp)
			}
			var idx []int
			for _, e := range resp.Errors {
				idx = append(idx, e.Index)
				if e.Message == "" || e.StatusCode == 0 {
					t.Errorf("error without status or message: %+v", e)
				}
			}
			if fmt.Sprint(idx) != fmt.Sprint(tc.errs) && !(len(idx) == 0 && len(tc.errs) == 0) {
				t.Errorf("errors at %v, want %v: %+v", idx, tc.errs, resp.Errors)
			}
			rows := 0
			for _, b := range sink.batches {
				rows += b.Rows
			}
			if rows != tc.accepted {
				t.Errorf("stored %d rows, acknowledged %d", rows, tc.accepted)
			}
		})
	}
}

// TestTrackSinkFailures: items of a table that could not be stored are
// answered 503 (the SDKs keep and resend them); the others are accepted.
func TestTrackSinkFailures(t *testing.T) {
	msg := item("MessageData", `{"message":"hi"}`)
	ev := item("EventData", `{"name":"e"}`)
	cases := []struct {
		name   string
		err    map[string]error
		status int
		retry  bool
	}{
		{"revoked", map[string]error{"AppTraces": ingest.ErrRevoked, "AppEvents": ingest.ErrRevoked}, 503, true},
		{"unavailable one table", map[string]error{"AppEvents": ingest.ErrUnavailable}, 206, false},
		{"internal", map[string]error{"AppTraces": fmt.Errorf("disk on fire"), "AppEvents": fmt.Errorf("disk on fire")}, 500, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := NewHandler(Options{Directory: fakeDir{testComponent()}, Sink: &fakeSink{err: tc.err}, Now: func() time.Time { return now }})
			req := httptest.NewRequest(http.MethodPost, "/v2/track", strings.NewReader("["+msg+","+ev+"]"))
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.status, w.Body)
			}
			if tc.retry != (w.Header().Get("Retry-After") != "") {
				t.Errorf("Retry-After %q", w.Header().Get("Retry-After"))
			}
			if tc.name == "revoked" && !strings.Contains(w.Body.String(), "customer-managed key is revoked") {
				t.Errorf("body %s", w.Body)
			}
		})
	}
}

func TestParseDuration(t *testing.T) {
	cases := []struct {
		in string
		ms float64
		ok bool
	}{
		{"00:00:00.125", 125, true},
		{"00:01:00", 60000, true},
		{"1.00:00:00", 86400000, true},
		{"00:00:00.1234567", 123.4567, true},
		{"", 0, false},
		{"1:2:3", 0, false},
		{"00:60:00", 0, false},
		{"00:00:-1", 0, false},
		{"abc", 0, false},
		{"x.00:00:00", 0, false},
	}
	for _, tc := range cases {
		ms, ok := parseDuration(tc.in)
		if ok != tc.ok || ok && (ms-tc.ms > 1e-9 || tc.ms-ms > 1e-9) {
			t.Errorf("parseDuration(%q) = %v, %v; want %v, %v", tc.in, ms, ok, tc.ms, tc.ok)
		}
	}
}
