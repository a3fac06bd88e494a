package query

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/monitor/query/azlogs"

	"github.com/kustodian/kustodian/internal/identity"
)

const (
	wsID2    = "22222222-2222-3333-4444-555555555555"
	wsRes    = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/w"
	wsRes2   = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/w2"
	denied   = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/secret"
	wsSecret = "33333333-2222-3333-4444-555555555555"
)

// multiHandler serves three workspaces: w (120 rows), w2 (10 rows) and
// secret (5 rows), which principal "good" may not read; references
// resolve by customer id, name or resource id.
func multiHandler() *Handler {
	type ws struct {
		res  string
		data memData
	}
	all := map[string]ws{wsID: {wsRes, memData{n: 120}}, wsID2: {wsRes2, memData{n: 10}}, wsSecret: {denied, memData{n: 5}}}
	h := handler(memData{n: 120})
	h.o.Workspace = func(ctx context.Context, id string) (string, Data, error) {
		w, ok := all[id]
		if !ok {
			return "", nil, ErrWorkspaceNotFound
		}
		return w.res, w.data, nil
	}
	h.o.ResolveWorkspace = func(ctx context.Context, ref string) (string, error) {
		for id, w := range all {
			if strings.EqualFold(ref, id) || strings.EqualFold(ref, w.res) || strings.EqualFold(ref, w.res[strings.LastIndex(w.res, "/")+1:]) {
				return id, nil
			}
		}
		return "", ErrWorkspaceNotFound
	}
	h.o.Authorize = func(ctx context.Context, principal, action, scope string) error {
		if principal == "reader-less" || scope == denied {
			return &identity.AuthorizationError{PrincipalID: principal, Action: action, Scope: scope}
		}
		return nil
	}
	return h
}

func count(t *testing.T, m map[string]any) float64 {
	t.Helper()
	rows := m["tables"].([]any)[0].(map[string]any)["rows"].([]any)
	return rows[0].([]any)[0].(float64)
}

func TestCrossWorkspaceQueries(t *testing.T) {
	h := multiHandler()
	path := "/v1/workspaces/" + wsID + "/query"
	tests := []struct {
		name, body string
		status     int
		count      float64
		code       string
	}{
		{"primary only", `{"query":"App_CL | count"}`, 200, 120, ""},
		{"additional workspace by id", `{"query":"App_CL | count","workspaces":["` + wsID2 + `"]}`, 200, 130, ""},
		{"additional workspace by name, primary repeated", `{"query":"App_CL | count","workspaces":["w2","w"]}`, 200, 130, ""},
		{"workspace() by resource id", `{"query":"workspace('` + wsRes2 + `').App_CL | count"}`, 200, 10, ""},
		{"union of workspace()", `{"query":"union App_CL, (workspace('w2').App_CL | where Level_s == 'info') | count"}`, 200, 125, ""},
		{"workspace() not found", `{"query":"workspace('nope').App_CL | count"}`, 404, 0, "WorkspaceNotFoundError"},
		{"workspace() not authorized", `{"query":"workspace('secret').App_CL | count"}`, 403, 0, "InsufficientAccessError"},
		{"additional workspace not authorized", `{"query":"App_CL | count","workspaces":["secret"]}`, 403, 0, "InsufficientAccessError"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, m := do(t, h, "POST", path, "good", tt.body)
			if status != tt.status {
				t.Fatalf("status %d, want %d: %v", status, tt.status, m)
			}
			if tt.code != "" {
				if got := m["error"].(map[string]any)["code"]; got != tt.code {
					t.Fatalf("code %v, want %s", got, tt.code)
				}
				return
			}
			if got := count(t, m); got != tt.count {
				t.Fatalf("count %v, want %v", got, tt.count)
			}
		})
	}
}

func TestResourceCentricPath(t *testing.T) {
	h := multiHandler()
	status, m := do(t, h, "POST", "/v1"+wsRes2+"/query", "good", `{"query":"App_CL | count"}`)
	if status != 200 || count(t, m) != 10 {
		t.Fatalf("%d %v", status, m)
	}
	status, m = do(t, h, "POST", "/v1/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm/query", "good", `{"query":"App_CL | count"}`)
	if status != 400 || !strings.Contains(m["error"].(map[string]any)["message"].(string), "workspaces only") {
		t.Fatalf("a VM resource: %d %v", status, m)
	}
	status, _ = do(t, h, "POST", "/v1"+denied+"/query", "good", `{"query":"App_CL | count"}`)
	if status != 403 {
		t.Fatalf("a workspace without access: %d", status)
	}
	// Without a resolver the server says it cannot.
	plain := handler(memData{n: 1})
	status, _ = do(t, plain, "POST", "/v1"+wsRes+"/query", "good", `{"query":"App_CL | count"}`)
	if status != 501 {
		t.Fatalf("no resolver: %d", status)
	}
}

func TestPreferRenderAndStatistics(t *testing.T) {
	h := multiHandler()
	r := httptest.NewRequest("POST", "/v1/workspaces/"+wsID+"/query", strings.NewReader(
		`{"query":"App_CL | summarize count() by bin(TimeGenerated, 1h) | render timechart with (title='Per hour', ycolumns=count_, accumulate=true)"}`))
	r.Header.Set("Authorization", "Bearer good")
	r.Header.Set("Prefer", "include-render=true, include-statistics=true, wait=30")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 200 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	if got := w.Header().Get("Preference-Applied"); got != "include-statistics=true,include-render=true,wait=30" {
		t.Fatalf("Preference-Applied %q", got)
	}
	var m struct {
		Render     map[string]any `json:"render"`
		Statistics struct {
			Query struct {
				ExecutionTime *float64 `json:"executionTime"`
				ResourceUsage struct {
					Memory struct {
						PeakPerNode *int64 `json:"peakPerNode"`
					} `json:"memory"`
				} `json:"resourceUsage"`
				DatasetStatistics []struct {
					TableRowCount int `json:"tableRowCount"`
				} `json:"datasetStatistics"`
			} `json:"query"`
		} `json:"statistics"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	if m.Render["visualization"] != "timechart" || m.Render["title"] != "Per hour" || m.Render["accumulate"] != true ||
		m.Render["yMin"] != "NaN" || m.Render["xColumn"] != nil {
		t.Fatalf("render %v", m.Render)
	}
	if ys, _ := m.Render["yColumns"].([]any); len(ys) != 1 || ys[0] != "count_" {
		t.Fatalf("yColumns %v", m.Render["yColumns"])
	}
	q := m.Statistics.Query
	if q.ExecutionTime == nil || q.ResourceUsage.Memory.PeakPerNode == nil || *q.ResourceUsage.Memory.PeakPerNode <= 0 ||
		len(q.DatasetStatistics) != 1 || q.DatasetStatistics[0].TableRowCount != 3 {
		t.Fatalf("statistics %s", w.Body)
	}
	// Without Prefer, neither member, nor the header.
	status, plain := do(t, h, "POST", "/v1/workspaces/"+wsID+"/query", "good", `{"query":"App_CL | count | render table"}`)
	if _, ok := plain["render"]; ok || status != 200 {
		t.Fatalf("render without Prefer: %v", plain)
	}
}

func TestBatch(t *testing.T) {
	h := multiHandler()
	body := `{"requests":[
		{"id":"a","body":{"query":"App_CL | count"},"method":"POST","path":"/query","workspace":"` + wsID + `"},
		{"id":"b","body":{"query":"App_CL | where"},"method":"POST","path":"/query","workspace":"` + wsID + `"},
		{"id":"c","body":{"query":"App_CL | count"},"method":"POST","path":"/query","workspace":"secret"},
		{"id":"d","headers":{"Prefer":"include-render=true"},"body":{"query":"App_CL | count | render piechart","workspaces":["w2"]},"path":"/query","workspace":"` + wsID + `"}
	]}`
	status, m := do(t, h, "POST", "/v1/$batch", "good", body)
	if status != 200 {
		t.Fatalf("%d %v", status, m)
	}
	rs := m["responses"].([]any)
	want := []struct {
		id     string
		status float64
	}{{"a", 200}, {"b", 400}, {"c", 403}, {"d", 200}}
	if len(rs) != len(want) {
		t.Fatalf("%d responses", len(rs))
	}
	for i, w := range want {
		r := rs[i].(map[string]any)
		if r["id"] != w.id || r["status"] != w.status {
			t.Fatalf("response %d: %v", i, r)
		}
	}
	if got := count(t, rs[0].(map[string]any)["body"].(map[string]any)); got != 120 {
		t.Fatalf("a: %v", got)
	}
	d := rs[3].(map[string]any)
	if got := count(t, d["body"].(map[string]any)); got != 130 {
		t.Fatalf("d: %v", got)
	}
	if d["body"].(map[string]any)["render"].(map[string]any)["visualization"] != "piechart" {
		t.Fatalf("d render: %v", d)
	}
	if inner := rs[1].(map[string]any)["body"].(map[string]any)["error"].(map[string]any)["innererror"].(map[string]any); inner["code"] != "SyntaxError" {
		t.Fatalf("b: %v", inner)
	}
	// The batch itself: authentication, size.
	if status, _ := do(t, h, "POST", "/v1/$batch", "", body); status != 401 {
		t.Fatalf("no token: %d", status)
	}
	many := `{"requests":[` + strings.Repeat(`{"id":"x","body":{"query":"print 1"},"workspace":"w"},`, 10) + `{"id":"y","body":{"query":"print 1"},"workspace":"w"}]}`
	if status, _ := do(t, h, "POST", "/v1/$batch", "good", many); status != 400 {
		t.Fatalf("11 requests: %d", status)
	}
}

// TestAzlogsQueryResource runs the official client's QueryResource, with
// statistics and visualization asked for, against the handler.
func TestAzlogsQueryResource(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("/v1/", multiHandler())
	srv := httptest.NewTLSServer(mux)
	defer srv.Close()
	client, err := azlogs.NewClient(staticCred{}, &azlogs.ClientOptions{ClientOptions: azcore.ClientOptions{
		Cloud:     cloud.Configuration{Services: map[cloud.ServiceName]cloud.ServiceConfiguration{azlogs.ServiceName: {Audience: audience, Endpoint: srv.URL + "/v1"}}},
		Transport: srv.Client(),
	}})
	if err != nil {
		t.Fatal(err)
	}
	q, yes := "App_CL | summarize n = count() by Level_s | render barchart", true
	resp, err := client.QueryResource(context.Background(), wsRes2, azlogs.QueryBody{Query: &q},
		&azlogs.QueryResourceOptions{Options: &azlogs.QueryOptions{Statistics: &yes, Visualization: &yes}})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Tables) != 1 || len(resp.Tables[0].Rows) != 2 {
		t.Fatalf("tables %+v", resp.Tables)
	}
	var vis map[string]any
	if err := json.Unmarshal(resp.Visualization, &vis); err != nil || vis["visualization"] != "barchart" {
		t.Fatalf("visualization %s", resp.Visualization)
	}
	var stats map[string]any
	if err := json.Unmarshal(resp.Statistics, &stats); err != nil || stats["query"] == nil {
		t.Fatalf("statistics %s", resp.Statistics)
	}
	// Additional workspaces through the client's body member.
	q2 := "App_CL | count"
	wresp, err := client.QueryWorkspace(context.Background(), wsID, azlogs.QueryBody{Query: &q2, AdditionalWorkspaces: []string{wsID2}}, nil)
	if err != nil || wresp.Tables[0].Rows[0][0] != float64(130) {
		t.Fatalf("additional workspaces: %v %v", err, wresp.Tables)
	}
	_, err = client.QueryResource(context.Background(), denied, azlogs.QueryBody{Query: &q2}, nil)
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.StatusCode != 403 {
		t.Fatalf("denied resource: %v", err)
	}
}
