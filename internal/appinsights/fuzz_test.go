package appinsights

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// FuzzTrack feeds arbitrary bodies to the track handler: it never panics,
// always answers the API's shape, and acknowledges exactly what it stored.
func FuzzTrack(f *testing.F) {
	f.Add([]byte("[" + item("MessageData", `{"message":"hi"}`) + "]"))
	f.Add([]byte(item("RequestData", `{"id":"r","duration":"00:00:01","responseCode":"200"}`) + "\n" + item("EventData", `{"name":"e"}`)))
	f.Add([]byte("[" + item("MetricData", `{"metrics":[{"name":"m","value":1}]}`) + "," + item("ExceptionData", `{"exceptions":[{"typeName":"E"}]}`) + "]"))
	f.Add([]byte(`[{"iKey":"` + testKey + `","data":{"baseType":"PageViewData","baseData":{"name":1}}}]`))
	f.Add([]byte(`[`))
	f.Add([]byte(`{}{}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		sink := &fakeSink{}
		h := NewHandler(Options{Directory: fakeDir{testComponent()}, Sink: sink, Now: func() time.Time { return now }})
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/v2/track", bytes.NewReader(body)))
		var resp Response
		if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil {
			t.Fatalf("answer %d is not JSON: %s", w.Code, w.Body)
		}
		stored := 0
		for _, b := range sink.batches {
			stored += b.Rows
			for _, c := range b.Columns {
				if len(c.Valid) != b.Rows {
					t.Fatalf("column %s: %d values for %d rows", c.Name, len(c.Valid), b.Rows)
				}
			}
		}
		if stored != resp.ItemsAccepted || resp.ItemsAccepted+len(resp.Errors) != max(resp.ItemsReceived, 1) && resp.ItemsAccepted > 0 {
			t.Fatalf("stored %d rows; answered %+v", stored, resp)
		}
		if w.Code == http.StatusOK && len(resp.Errors) != 0 {
			t.Fatalf("200 with errors: %+v", resp)
		}
	})
}
