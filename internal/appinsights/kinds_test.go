package appinsights

import (
	"net/http"
	"testing"
	"time"
)

// TestEveryKind stores one item of each telemetry type in its table.
func TestEveryKind(t *testing.T) {
	cases := []struct{ base, data, table string }{
		{"RequestData", `{"id":"r","name":"GET /","duration":"00:00:00.125","responseCode":"200","success":true,"url":"u","properties":{"k":"v"}}`, "AppRequests"},
		{"RemoteDependencyData", `{"id":"d","name":"SELECT","duration":"00:00:01.500","resultCode":"0","success":false,"data":"SELECT 1","target":"sql","type":"SQL"}`, "AppDependencies"},
		{"ExceptionData", `{"exceptions":[{"typeName":"Error","message":"boom","parsedStack":[{"method":"main","assembly":"a"}]}],"severityLevel":3}`, "AppExceptions"},
		{"MessageData", `{"message":"hello","severityLevel":1}`, "AppTraces"},
		{"EventData", `{"name":"e","measurements":{"total":12.5}}`, "AppEvents"},
		{"MetricData", `{"metrics":[{"name":"q","value":7,"count":2,"min":3,"max":4}]}`, "AppMetrics"},
		{"PageViewData", `{"name":"Home","url":"u","duration":"00:00:00.300","id":"pv"}`, "AppPageViews"},
		{"AvailabilityData", `{"id":"a","name":"ping","duration":"00:00:00.050","success":true,"runLocation":"eastus"}`, "AppAvailabilityResults"},
		{"PerformanceCounterData", `{"categoryName":"Processor","counterName":"% Processor Time","instanceName":"_Total","value":12.5}`, "AppPerformanceCounters"},
	}
	for _, tc := range cases {
		t.Run(tc.base, func(t *testing.T) {
			sink := &fakeSink{}
			h := NewHandler(Options{Directory: fakeDir{testComponent()}, Sink: sink, Now: func() time.Time { return now }})
			status, resp := post(t, h, "["+item(tc.base, tc.data)+"]", false)
			if status != http.StatusOK || len(sink.batches) != 1 || sink.batches[0].Table != tc.table {
				t.Fatalf("status %d %+v, batches %v", status, resp, sink.batches)
			}
			for _, c := range sink.batches[0].Columns {
				if len(c.Valid) != 1 {
					t.Errorf("column %s has %d values", c.Name, len(c.Valid))
				}
			}
		})
	}
}
