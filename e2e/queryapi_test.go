package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/monitor/query/azlogs"
)

// TestQueryAPIAcrossWorkspaces runs the Query API's requests beyond one
// workspace through the real server: a resource-centric query
// (QueryResource), additional workspaces, workspace(), union * and
// wildcards, a batch of requests each answered on its own, and Prefer's
// render and statistics.
func TestQueryAPIAcrossWorkspaces(t *testing.T) {
	t.Parallel()
	e, tok := setup(t, options{}, "rg")
	e.mkWorkspace(t, tok, "rg", "ws-a", "eastus")
	e.mkWorkspace(t, tok, "rg", "ws-b", "eastus")
	a, keyA := e.workspaceKeys(t, tok, "rg", "ws-a")
	b, keyB := e.workspaceKeys(t, tok, "rg", "ws-b")
	now := time.Now().UTC().Format(time.RFC3339)
	expect(t, e.postLogs(t, a, keyA, "AppA", `[{"ts":"`+now+`","n":1},{"ts":"`+now+`","n":2}]`), http.StatusOK, "")
	expect(t, e.postLogs(t, b, keyB, "AppA", `[{"ts":"`+now+`","n":3}]`), http.StatusOK, "")
	expect(t, e.postLogs(t, b, keyB, "AppB", `[{"ts":"`+now+`","n":4}]`), http.StatusOK, "")
	logs := e.logsClient(t)
	ctx := context.Background()

	// Data is queryable once ingested; wait for it as clients do.
	deadline := time.Now().Add(30 * time.Second)
	for {
		n, err := e.count(t, logs, b, "union AppA_CL, AppB_CL | count")
		if err == nil && n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("data of ws-b: %d, %v", n, err)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// QueryResource with the workspace's resource id, with statistics
	// and the visualization.
	yes := true
	qr := "AppA_CL | summarize n = count() | render piechart with (title='n')"
	resp, err := logs.QueryResource(ctx, e.workspacePath("rg", "ws-b"), azlogs.QueryBody{Query: &qr},
		&azlogs.QueryResourceOptions{Options: &azlogs.QueryOptions{Statistics: &yes, Visualization: &yes}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Tables[0].Rows[0][0] != float64(1) {
		t.Fatalf("QueryResource rows %v", resp.Tables[0].Rows)
	}
	var vis, stats map[string]any
	if json.Unmarshal(resp.Visualization, &vis) != nil || vis["visualization"] != "piechart" || vis["title"] != "n" {
		t.Fatalf("visualization %s", resp.Visualization)
	}
	if json.Unmarshal(resp.Statistics, &stats) != nil || stats["query"] == nil {
		t.Fatalf("statistics %s", resp.Statistics)
	}

	// Additional workspaces, workspace() by name, and wildcards.
	q := "AppA_CL | count"
	w, err := logs.QueryWorkspace(ctx, a, azlogs.QueryBody{Query: &q, AdditionalWorkspaces: []string{b}}, nil)
	if err != nil || w.Tables[0].Rows[0][0] != float64(3) {
		t.Fatalf("additional workspaces: %v %v", err, w.Tables)
	}
	for query, want := range map[string]int64{
		"union AppA_CL, workspace('ws-b').AppB_CL | count": 3,
		"union withsource=T App* | count":                  2,
		"union * | count":                                  2,
	} {
		if n, err := e.count(t, logs, a, query); err != nil || n != want {
			t.Errorf("%s: %d, %v; want %d", query, n, err, want)
		}
	}

	// A batch: each request answers on its own.
	body := `{"requests":[
		{"id":"1","body":{"query":"AppA_CL | count"},"method":"POST","path":"/query","workspace":"` + a + `"},
		{"id":"2","body":{"query":"AppA_CL | where"},"method":"POST","path":"/query","workspace":"` + b + `"},
		{"id":"3","body":{"query":"AppA_CL | count"},"method":"POST","path":"/query","workspace":"00000000-0000-0000-0000-000000000000"}]}`
	qt, err := e.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{e.boot.QueryAudience + "/.default"}})
	if err != nil {
		t.Fatal(err)
	}
	r := e.do(http.MethodPost, "/v1/$batch", qt.Token, body)
	expect(t, r, http.StatusOK, "")
	var batch struct {
		Responses []struct {
			ID     string         `json:"id"`
			Status int            `json:"status"`
			Body   map[string]any `json:"body"`
		} `json:"responses"`
	}
	if err := json.Unmarshal(r.body, &batch); err != nil {
		t.Fatal(err)
	}
	got := []string{}
	for _, x := range batch.Responses {
		got = append(got, x.ID+":"+http.StatusText(x.Status))
	}
	if strings.Join(got, ",") != "1:OK,2:Bad Request,3:Not Found" {
		t.Fatalf("batch statuses %v", got)
	}
}
