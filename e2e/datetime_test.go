package e2e

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/monitor/query/azlogs"
)

// TestDatetimesAcrossKustoRange guards against the bug where a Data
// Collector record with time-generated-field 9999-12-31T23:59:59Z was
// acknowledged, came back from a query as 1816-03-30T05:56:07.066277376Z
// and was deleted by retention; year 1 came back as 1754 and a _t field of
// 1500 as 2084. Now: TimeGenerated follows Azure's window (a time more
// than 2 days before receipt or 1 day after it is replaced by the receipt
// time), the field keeps its value in its own _t column over Kusto's whole
// range, a time outside the range stays a string, and all of it survives a
// restart (WAL, then segments).
func TestDatetimesAcrossKustoRange(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	listen := freeAddr(t)
	e, tok := setup(t, options{dataDir: dir, listen: listen}, "rg")
	e.mkWorkspace(t, tok, "rg", "ws-dates", "eastus")
	ws, key := e.workspaceKeys(t, tok, "rg", "ws-dates")

	// postLogs names "ts" as the time-generated-field.
	before := time.Now().UTC()
	recent := before.Add(-30 * time.Minute).Truncate(time.Second).Format(time.RFC3339)
	for _, body := range []string{
		`[{"n":1,"ts":"9999-12-31T23:59:59Z"}]`,
		`[{"n":2,"ts":"` + recent + `","when":"1500-06-01T00:00:00Z"}]`,
		`[{"n":3,"ts":"0001-01-01T00:00:00Z","when":"0000-06-01T00:00:00Z"}]`,
	} {
		expect(t, e.postLogs(t, ws, key, "Dates", body), http.StatusOK, "")
	}
	after := time.Now().UTC()

	// What the store guarantees alone: every acknowledged row is kept,
	// before and after a restart (which flushes the WAL into segments).
	if n, err := e.count(t, e.logsClient(t), ws, "Dates_CL | count"); err != nil || n != 3 {
		t.Fatalf("count = %d, %v; want 3", n, err)
	}
	e.stop()
	e = start(t, options{dataDir: dir, listen: listen})
	if len(segmentPaths(t, dir)) == 0 {
		t.Fatal("no segment after a restart")
	}
	logs := e.logsClient(t)
	if n, err := e.count(t, logs, ws, "Dates_CL | count"); err != nil || n != 3 {
		t.Fatalf("count after restart = %d, %v; want 3", n, err)
	}

	// What the Query API shows. These need the query engine to read
	// datetimes as ticks, the contract this branch and the kql one share.
	q := "Dates_CL | project n_d, TimeGenerated, ts_t, when_t, when_s | sort by n_d asc"
	resp, err := logs.QueryWorkspace(context.Background(), ws, azlogs.QueryBody{Query: &q}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Tables) != 1 || len(resp.Tables[0].Rows) != 3 {
		t.Fatalf("answer %+v", resp.Tables)
	}
	rows := resp.Tables[0].Rows
	if rows[1][1] != recent {
		t.Fatalf("TimeGenerated %v, want %s", rows[1][1], recent)
	}
	received := func(v any) {
		t.Helper()
		s, _ := v.(string)
		tg, err := time.Parse(time.RFC3339Nano, s)
		if err != nil || tg.Before(before.Truncate(time.Second)) || tg.After(after.Add(time.Second)) {
			t.Fatalf("TimeGenerated %v is not the time of receipt (%v to %v)", v, before, after)
		}
	}
	// n=1: 9999 is beyond a day ahead: TimeGenerated is the receipt time.
	received(rows[0][1])
	if rows[0][2] != "9999-12-31T23:59:59Z" || rows[0][3] != nil {
		t.Fatalf("row 1: ts_t %v, when_t %v", rows[0][2], rows[0][3])
	}
	// n=2: within the window: TimeGenerated is the sender's; 1500 is a datetime.
	if rows[1][1] != recent || rows[1][2] != recent || rows[1][3] != "1500-06-01T00:00:00Z" {
		t.Fatalf("row 2: TimeGenerated %v, ts_t %v, when_t %v", rows[1][1], rows[1][2], rows[1][3])
	}
	// n=3: year 1 is a datetime, older than the window; year 0 is no datetime.
	received(rows[2][1])
	if rows[2][2] != "0001-01-01T00:00:00Z" || rows[2][3] != nil || rows[2][4] != "0000-06-01T00:00:00Z" {
		t.Fatalf("row 3: ts_t %v, when_t %v, when_s %v", rows[2][2], rows[2][3], rows[2][4])
	}

	// Every row is in the last hour by TimeGenerated; filters on the
	// extremes select exactly their rows.
	for _, tc := range []struct {
		query    string
		timespan azlogs.TimeInterval
		want     int64
	}{
		{"Dates_CL | count", "PT1H", 3},
		{"Dates_CL | where ts_t > datetime(9000-01-01) | count", "", 1},
		{"Dates_CL | where ts_t < datetime(1000-01-01) | count", "", 1},
		{"Dates_CL | where when_t between (datetime(1500-01-01) .. datetime(1501-01-01)) | count", "", 1},
	} {
		body := azlogs.QueryBody{Query: to.Ptr(tc.query)}
		if tc.timespan != "" {
			body.Timespan = to.Ptr(tc.timespan)
		}
		resp, err := logs.QueryWorkspace(context.Background(), ws, body, nil)
		if err != nil {
			t.Fatalf("%s: %v", tc.query, err)
		}
		if n := int64(resp.Tables[0].Rows[0][0].(float64)); n != tc.want {
			t.Fatalf("%s (timespan %q) = %d, want %d", tc.query, tc.timespan, n, tc.want)
		}
	}
}
