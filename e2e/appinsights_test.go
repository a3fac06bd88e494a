package e2e

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// mkComponent creates a component (api-version 2020-02-02) with the given
// extra properties and returns its properties.
func (e *env) mkComponent(t testing.TB, tok, rg, name, props string) map[string]any {
	t.Helper()
	if props == "" {
		props = "{}"
	}
	r := e.do(http.MethodPut, e.componentPath(rg, name)+q("2020-02-02"), tok,
		`{"location":"eastus","kind":"web","properties":`+props+`}`)
	expect(t, r, http.StatusOK, "")
	return r.json(t)["properties"].(map[string]any)
}

// track posts a body to /v2/track as the SDKs do.
func (e *env) track(t testing.TB, body []byte, gz bool, token string) response {
	t.Helper()
	if gz {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write(body)
		zw.Close()
		body = b.Bytes()
	}
	req, _ := http.NewRequest(http.MethodPost, e.endpoint+"/v2/track", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-json-stream")
	if gz {
		req.Header.Set("Content-Encoding", "gzip")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// envelopes returns one envelope of each telemetry type, as the SDKs
// serialize them, for an instrumentation key.
func envelopes(ikey string, now time.Time) []string {
	ts := now.UTC().Format("2006-01-02T15:04:05.000Z")
	tags := `{"ai.operation.id":"op-1","ai.cloud.role":"checkout","ai.cloud.roleInstance":"vm-1","ai.internal.sdkVersion":"node:2.9.5","ai.location.ip":"10.1.2.3"}`
	env := func(kind, base, data string) string {
		return fmt.Sprintf(`{"name":"Microsoft.ApplicationInsights.%s.%s","time":%q,"iKey":%q,"tags":%s,"data":{"baseType":%q,"baseData":%s}}`,
			strings.ReplaceAll(ikey, "-", ""), kind, ts, ikey, tags, base, data)
	}
	return []string{
		env("Request", "RequestData", `{"ver":2,"id":"req-1","name":"GET /cart","duration":"00:00:00.125","responseCode":"200","success":true,"url":"https://shop/cart","properties":{"k":"v"}}`),
		env("RemoteDependency", "RemoteDependencyData", `{"ver":2,"id":"dep-1","name":"SELECT","duration":"00:00:01.500","resultCode":"0","success":false,"data":"SELECT 1","target":"sql","type":"SQL"}`),
		env("Exception", "ExceptionData", `{"ver":2,"exceptions":[{"typeName":"Error","message":"boom","hasFullStack":true,"parsedStack":[{"level":0,"method":"main","assembly":"app.js","line":1}]}],"severityLevel":3}`),
		env("Message", "MessageData", `{"ver":2,"message":"hello","severityLevel":1}`),
		env("Event", "EventData", `{"ver":2,"name":"checkout","measurements":{"total":12.5}}`),
		env("Metric", "MetricData", `{"ver":2,"metrics":[{"name":"queue","value":7,"count":2,"min":3,"max":4,"kind":1}]}`),
		env("PageView", "PageViewData", `{"ver":2,"name":"Home","url":"https://shop/","duration":"00:00:00.300","id":"pv-1"}`),
		env("Availability", "AvailabilityData", `{"ver":2,"id":"av-1","name":"ping","duration":"00:00:00.050","success":true,"runLocation":"eastus","message":"ok"}`),
		env("PerformanceCounter", "PerformanceCounterData", `{"ver":2,"categoryName":"Processor","counterName":"% Processor Time","instanceName":"_Total","value":12.5}`),
	}
}

var appIDRE = regexp.MustCompile(`"appId":"[0-9a-f-]{36}"`)

// golden compares a response body (appId normalized) with testdata.
func golden(t *testing.T, name string, body []byte) {
	t.Helper()
	got := appIDRE.ReplaceAll(body, []byte(`"appId":"APPID"`))
	path := filepath.Join("testdata", "appinsights", name)
	if os.Getenv("KUSTODIAN_UPDATE_GOLDEN") == "1" {
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden %s: %v (KUSTODIAN_UPDATE_GOLDEN=1 writes it)", name, err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s:\n got %s\nwant %s", name, got, want)
	}
}

// TestAppInsightsTrack sends every telemetry type to a workspace-based
// component the way the SDKs do and finds each in its App* table, typed.
func TestAppInsightsTrack(t *testing.T) {
	t.Parallel()
	e, tok := setup(t, options{}, "rg")
	e.mkWorkspace(t, tok, "rg", "ws-ai", "eastus")
	ws, _ := e.workspaceKeys(t, tok, "rg", "ws-ai")
	props := e.mkComponent(t, tok, "rg", "app1", fmt.Sprintf(`{"Application_Type":"web","WorkspaceResourceId":%q}`, e.workspacePath("rg", "ws-ai")))
	cs := props["ConnectionString"].(string)
	ikey := props["InstrumentationKey"].(string)
	for _, part := range []string{"InstrumentationKey=" + ikey, "IngestionEndpoint=" + e.endpoint + "/", "LiveEndpoint=", "ApplicationId=" + props["AppId"].(string)} {
		if !strings.Contains(cs, part) {
			t.Fatalf("ConnectionString %q lacks %q", cs, part)
		}
	}
	items := envelopes(ikey, time.Now())
	bad := `{"name":"x","time":"2026-01-01T00:00:00Z","iKey":"` + ikey + `","data":{"baseType":"RequestData","baseData":{"ver":2,"name":"no id"}}}`

	cases := []struct {
		name   string
		body   string
		gz     bool
		status int
		golden string
	}{
		{"array of every type", "[" + strings.Join(items, ",") + "]", false, 200, "ok.json"},
		{"ndjson gzip", strings.Join(items[:4], "\n"), true, 200, "ok-ndjson.json"},
		{"one invalid item", "[" + items[3] + "," + bad + "]", false, 206, "partial.json"},
		{"only invalid", "[" + bad + "]", false, 400, "invalid.json"},
		{"unknown key", "[" + strings.ReplaceAll(items[3], ikey, "00000000-0000-0000-0000-000000000000") + "]", false, 400, "unknown-ikey.json"},
		{"not json", "[{", false, 400, "not-json.json"},
	}
	for _, tc := range cases {
		r := e.track(t, []byte(tc.body), tc.gz, "")
		if r.status != tc.status {
			t.Fatalf("%s: status %d, want %d: %s", tc.name, r.status, tc.status, r.body)
		}
		golden(t, tc.golden, r.body)
	}

	c := e.logsClient(t)
	for table, want := range map[string]int64{
		"AppRequests": 2, "AppDependencies": 2, "AppExceptions": 2, "AppTraces": 3, // array + ndjson + partial "AppEvents": 1, "AppMetrics": 1,
		"AppPageViews": 1, "AppAvailabilityResults": 1, "AppPerformanceCounters": 1,
	} {
		n, err := e.count(t, c, ws, table+" | count")
		if err != nil || n != want {
			t.Errorf("%s: %d rows, %v; want %d", table, n, err, want)
		}
	}
	// Columns typed per the standard schema.
	for kql, want := range map[string]int64{
		`AppRequests | where Success == true and DurationMs == 125 and ItemCount == 1 and AppRoleName == "checkout" and OperationId == "op-1" and tostring(Properties.k) == "v" and ClientIP == "0.0.0.0" | count`: 2,
		`AppDependencies | where Success == false and DurationMs == 1500 and DependencyType == "SQL" | count`:                                                                                                      2,
		`AppExceptions | where SeverityLevel == 3 and ExceptionType == "Error" and ProblemId == "Error at main" | count`:                                                                                           2,
		`AppMetrics | where Sum == 7 and ItemCount == 2 and Min == 3 | count`:                                                                                                                                      1,
		`AppEvents | where todouble(Measurements.total) == 12.5 | count`:                                                                                                                                           1,
	} {
		if n, err := e.count(t, c, ws, kql); err != nil || n != want {
			t.Errorf("%s: %d, %v", kql, n, err)
		}
	}
}

// TestAppInsightsLocalAuthDisabled: a component with DisableLocalAuth takes
// only Microsoft Entra tokens for https://monitor.azure.com.
func TestAppInsightsLocalAuthDisabled(t *testing.T) {
	t.Parallel()
	e, tok := setup(t, options{}, "rg")
	props := e.mkComponent(t, tok, "rg", "app-entra", `{"DisableLocalAuth":true}`)
	ikey := props["InstrumentationKey"].(string)
	if props["DisableLocalAuth"] != true {
		t.Fatalf("DisableLocalAuth not rendered: %v", props)
	}
	body := []byte("[" + envelopes(ikey, time.Now())[3] + "]")
	expect(t, e.track(t, body, false, ""), http.StatusUnauthorized, "")
	expect(t, e.track(t, body, false, "not-a-token"), http.StatusUnauthorized, "")
	expect(t, e.track(t, body, false, e.token(e.cred)), http.StatusUnauthorized, "") // Resource Manager audience
	tk, err := e.cred.GetToken(t.Context(), tokenScope("https://monitor.azure.com"))
	if err != nil {
		t.Fatal(err)
	}
	// Telemetry/Write is a data action: the Owner of the subscription may
	// not send; a principal with Monitoring Metrics Publisher on the
	// component may.
	expect(t, e.track(t, body, false, tk.Token), http.StatusForbidden, "")
	publisher, oid := e.newPrincipal(t, "ai-publisher")
	expect(t, e.assign(t, tok, e.componentPath("rg", "app-entra"), monitorPublisherRole, oid), http.StatusCreated, "")
	tkp, err := publisher.GetToken(t.Context(), tokenScope("https://monitor.azure.com"))
	if err != nil {
		t.Fatal(err)
	}
	expect(t, e.track(t, body, false, tkp.Token), http.StatusOK, "")
	// Another principal without a role on the component is refused.
	other, _ := e.newPrincipal(t, "ai-no-role")
	tk2, err := other.GetToken(t.Context(), tokenScope("https://monitor.azure.com"))
	if err != nil {
		t.Fatal(err)
	}
	expect(t, e.track(t, body, false, tk2.Token), http.StatusForbidden, "")
}

// TestAppInsightsRevocation: a classic component associated with an
// ApplicationInsights cluster stores under the cluster's key; revoking the
// key stops /v2/track with 503 (the SDKs keep the items and retry), and
// restoring it lets the same items in.
func TestAppInsightsRevocation(t *testing.T) {
	t.Parallel()
	e, tok := setup(t, options{}, "rg")
	c := e.readyCluster(t, tok, "rg", "ai-cluster", "eastus", "ApplicationInsights")
	clusterID := str(t, c, "properties", "clusterId")
	vault := e.newVault(t, tok, "rg", "ai-kv", true, e.clusterPrincipal(t, tok, "rg", "ai-cluster"))
	v1 := e.createKey(t, vault, "cmk", 2048)
	body := `{"identity":{"type":"SystemAssigned"},"sku":{"name":"CapacityReservation","capacity":1000},"location":"eastus",
"properties":{"keyVaultProperties":{"keyVaultUri":"` + strings.TrimSuffix(vault.uri, "/") + `","keyName":"cmk","keyVersion":"` + v1 + `"}}}`
	expect(t, e.do(http.MethodPut, e.clusterPath("rg", "ai-cluster")+q("2025-07-01"), tok, body), http.StatusOK, "")
	props := e.mkComponent(t, tok, "rg", "app-cmk", fmt.Sprintf(`{"clusterDefinitionId":%q}`, clusterID))
	ikey := props["InstrumentationKey"].(string)
	items := []byte("[" + strings.Join(envelopes(ikey, time.Now())[:2], ",") + "]")
	expect(t, e.track(t, items, false, ""), http.StatusOK, "")

	e.setKeyEnabled(t, vault, "cmk", v1, false)
	if st := e.accountState(t, tok, clusterID); st != "Revoked" {
		t.Fatalf("state = %s", st)
	}
	r := e.track(t, items, false, "")
	expect(t, r, http.StatusServiceUnavailable, "")
	if r.header.Get("Retry-After") == "" || !strings.Contains(string(r.body), "customer-managed key is revoked") {
		t.Fatalf("revoked answer: %v %s", r.header, r.body)
	}
	var resp struct {
		ItemsReceived, ItemsAccepted int
		Errors                       []struct{ Index, StatusCode int }
	}
	json.Unmarshal(r.body, &resp)
	if resp.ItemsReceived != 2 || resp.ItemsAccepted != 0 || len(resp.Errors) != 2 || resp.Errors[1].StatusCode != 503 {
		t.Fatalf("revoked answer: %s", r.body)
	}
	e.setKeyEnabled(t, vault, "cmk", v1, true)
	if st := e.accountState(t, tok, clusterID); st != "Available" {
		t.Fatalf("state after restore = %s", st)
	}
	expect(t, e.track(t, items, false, ""), http.StatusOK, "")
}

func tokenScope(audience string) policy.TokenRequestOptions {
	return policy.TokenRequestOptions{Scopes: []string{audience + "/.default"}}
}

// BenchmarkTrackHTTPS posts batches of 1,000 envelopes (mixed types, as an
// SDK's flush would) to a workspace-based component, 8 senders at once,
// beside BenchmarkIngestHTTPS's Data Collector batches of 1,000 lines.
func BenchmarkTrackHTTPS(b *testing.B) {
	e, tok := setup(b, options{dataDir: b.TempDir()}, "rg")
	e.mkWorkspace(b, tok, "rg", "ws-bench", "eastus")
	props := e.mkComponent(b, tok, "rg", "app-bench", fmt.Sprintf(`{"WorkspaceResourceId":%q}`, e.workspacePath("rg", "ws-bench")))
	ikey := props["InstrumentationKey"].(string)
	const batch = 1000
	kinds := envelopes(ikey, time.Now())
	var items []string
	for i := 0; i < batch; i++ {
		items = append(items, strings.Replace(kinds[i%len(kinds)], `"op-1"`, fmt.Sprintf(`"op-%d"`, i), 1))
	}
	body := []byte("[" + strings.Join(items, ",") + "]")
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				if r := e.track(b, body, true, ""); r.status != http.StatusOK {
					b.Errorf("track: %d %s", r.status, r.body)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(b.N*batch)/time.Since(start).Seconds(), "items/s")
}
