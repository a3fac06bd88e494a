package query

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// FuzzQueryRequest feeds arbitrary bodies, timespans and Prefer headers to
// the Query API: every answer is a well-formed response whose status is
// not a 500, and nothing panics.
func FuzzQueryRequest(f *testing.F) {
	for _, s := range []struct{ body, timespan, prefer string }{
		{`{"query":"App_CL | count"}`, "", ""},
		{`{"query":"App_CL | where Level_s == 'error' | take 3","timespan":"PT1H"}`, "", "wait=10"},
		{`{"query":"App_CL | summarize count() by bin(TimeGenerated, 5m)","timespan":"2026-11-29T00:00:00Z/2026-11-30T00:00:00Z"}`, "", ""},
		{`{"query":"App_CL | sort by Level_s asc","timespan":"P1D/2026-11-29T12:00:00Z"}`, "", "include-statistics=true,wait=5"},
		{`{"query":"","timespan":"PT"}`, "PT1H", ""},
		{`{"query":1}`, "", ""},
		{`[`, "", ""},
		{`{"query":"App_CL | where TimeGenerated > datetime(0001-01-01)"}`, "P99999999D", "wait=-1"},
		{`{"query":"print 1"}`, "9999-12-31T23:59:59Z/P1D", "wait=999999999999"},
	} {
		f.Add(s.body, s.timespan, s.prefer)
	}
	h := handler(memData{n: 50})
	h.o.Limits.Timeout = 2 * time.Second // a slow input fails fast instead of stalling the fuzzer
	f.Fuzz(func(t *testing.T, body, timespan, prefer string) {
		for _, method := range []string{http.MethodPost, http.MethodGet} {
			var r *http.Request
			if method == http.MethodPost {
				r = httptest.NewRequest(method, "/v1/workspaces/"+wsID+"/query", strings.NewReader(body))
			} else {
				v := url.Values{"query": {body}, "timespan": {timespan}}
				r = httptest.NewRequest(method, "/v1/workspaces/"+wsID+"/query?"+v.Encode(), nil)
			}
			r.Header.Set("Authorization", "Bearer good")
			r.Header.Set("Prefer", prefer)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code >= 500 && w.Code != http.StatusGatewayTimeout {
				t.Fatalf("%s %q timespan %q prefer %q: %d %s", method, body, timespan, prefer, w.Code, w.Body)
			}
			if !strings.HasPrefix(w.Body.String(), "{") {
				t.Fatalf("%s %q: answer is not JSON: %.200s", method, body, w.Body)
			}
		}
	})
}
