package ingest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/kustodian/kustodian/internal/admit"
)

// FuzzCollector sends whole Data Collector requests — a body, the Log-Type,
// Content-Type and time-generated-field headers, and a declared length off
// by delta from the body's — signed as a client would, through the handler
// with admission on. Whatever the input: no 500 and no panic; a 200 only
// for a body of its declared length, with a consistent batch; every
// refusal in the API's {Error, Message} shape, bounded; nothing left
// admitted afterwards.
func FuzzCollector(f *testing.F) {
	seeds := []struct {
		body, logType, contentType, timeField string
		delta                                 int8
	}{
		{`{"a":1}`, "MyApp", "application/json", "", 0},
		{`[{"msg":"x","n":1.5,"ok":true,"g":"6F9619FF-8B86-D011-B42D-00C04FC964FF","t":"2026-11-28T10:00:00Z"}]`, "MyApp", "application/json; charset=utf-8", "t", 0},
		{`[{},{},{}]`, "T", "application/json", "", 0},
		{`[{"a":{"b":[1,{"c":null}]}}, {"a":"text"}]`, "Nested", "application/json", "a", 0},
		{` [ {"a":1} ] `, "Space", "application/json", "", 0},
		{`[{"a":1}] [`, "Trail", "application/json", "", 0},
		{`{"a":1}`, "Short", "application/json", "", 3},
		{`{"a":1}`, "Long", "application/json", "", -2},
		{`[1e400]`, "Big", "application/json", "", 0},
		{`{"a b":1}`, "Bad", "text/plain", "", 0},
		{"", "", "", "", 0},
		{`[{"a":"` + strings.Repeat("x", 100) + `"}]`, strings.Repeat("L", 120), "application/json", "a", 0},
	}
	for _, s := range seeds {
		f.Add(s.body, s.logType, s.contentType, s.timeField, s.delta)
	}
	f.Fuzz(func(t *testing.T, body, logType, contentType, timeField string, delta int8) {
		length := int64(len(body)) + int64(delta)
		if length < 0 {
			return
		}
		bodies := admit.New(admit.Options{Name: "bodies", Capacity: 1 << 20})
		batches := admit.New(admit.Options{Name: "batches", Capacity: 1 << 20})
		sink := &fakeSink{}
		c := NewCollector(Options{Directory: fakeDir{}, Sink: sink, Now: func() time.Time { return testNow },
			Bodies: bodies, Batches: batches, Replay: NewReplayGuard(16, DefaultMaxSkew, func() time.Time { return testNow })})
		date := testNow.Format(http.TimeFormat)
		r := httptest.NewRequest(http.MethodPost, "/api/logs?api-version=2016-04-01", strings.NewReader(body))
		r.ContentLength = length
		r.Header.Set("Content-Type", contentType)
		r.Header.Set("Log-Type", logType)
		r.Header.Set("x-ms-date", date)
		r.Header.Set("time-generated-field", timeField)
		r.Header.Set("Authorization", "SharedKey "+wsID+":"+sign(primary, date, int(length)))
		w := httptest.NewRecorder()
		c.ServeHTTP(w, r)

		if bodies.Stats().InFlight != 0 || batches.Stats().InFlight != 0 {
			t.Fatalf("admission held after the request: %+v %+v", bodies.Stats(), batches.Stats())
		}
		if w.Code == http.StatusOK {
			if delta != 0 {
				t.Fatalf("accepted a body of %d bytes declared as %d", len(body), length)
			}
			if len(sink.batches) != 1 {
				t.Fatalf("200 with %d batches stored", len(sink.batches))
			}
			b := sink.batches[0]
			if b.Rows == 0 || len(b.TimeGenerated) != b.Rows || len(b.Columns) > MaxColumns {
				t.Fatalf("batch of %d rows, %d times, %d columns", b.Rows, len(b.TimeGenerated), len(b.Columns))
			}
			for _, col := range b.Columns {
				n := len(col.Strings) + len(col.Reals) + len(col.Bools) + len(col.Times)
				if n != b.Rows || len(col.Valid) != b.Rows {
					t.Fatalf("column %s has %d values and %d validity bits for %d rows", col.Name, n, len(col.Valid), b.Rows)
				}
			}
			return
		}
		if len(sink.batches) != 0 {
			t.Fatalf("status %d but the sink has the batch", w.Code)
		}
		switch w.Code {
		case 400, 403, 404, 408, 411, 413, 429, 503:
		default:
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
		var e struct{ Error, Message string }
		if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error == "" || e.Message == "" {
			t.Fatalf("error body %q", w.Body)
		}
		if w.Body.Len() > 1024 {
			t.Fatalf("an error of %d bytes", w.Body.Len())
		}
	})
}
