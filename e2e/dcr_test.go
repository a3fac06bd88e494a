package e2e

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/monitor/armmonitor"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/operationalinsights/armoperationalinsights/v2"
)

const monitorPublisherRole = "3913510d-42f4-4e42-8a64-420c390055eb"

// dcrSetup is a workspace with a custom table App_CL, an endpoint and a
// rule whose flow filters and renames: what the Logs Ingestion tests send
// through.
type dcrSetup struct {
	customerID, ruleID, immutableID, endpoint string
}

func (e *env) setupDCR(t testing.TB, tok, rg, wsName string) dcrSetup {
	t.Helper()
	ctx := context.Background()
	ws := e.mkWorkspace(t, tok, rg, wsName, "eastus")
	customerID := str(t, ws, "properties", "customerId")
	tablesClient, err := armoperationalinsights.NewTablesClient(e.boot.SubscriptionID, e.cred, e.armOptions())
	if err != nil {
		t.Fatal(err)
	}
	poller, err := tablesClient.BeginCreateOrUpdate(ctx, rg, wsName, "App_CL", armoperationalinsights.Table{
		Properties: &armoperationalinsights.TableProperties{
			RetentionInDays: to.Ptr[int32](45), TotalRetentionInDays: to.Ptr[int32](90),
			Schema: &armoperationalinsights.Schema{Name: to.Ptr("App_CL"), Columns: []*armoperationalinsights.Column{
				{Name: to.Ptr("TimeGenerated"), Type: to.Ptr(armoperationalinsights.ColumnTypeEnumDateTime)},
				{Name: to.Ptr("Message"), Type: to.Ptr(armoperationalinsights.ColumnTypeEnumString)},
				{Name: to.Ptr("Level"), Type: to.Ptr(armoperationalinsights.ColumnTypeEnumInt)},
				{Name: to.Ptr("Host"), Type: to.Ptr(armoperationalinsights.ColumnTypeEnumString)},
				{Name: to.Ptr("Note_s"), Type: to.Ptr(armoperationalinsights.ColumnTypeEnumString)},
			}},
		},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tab, err := poller.PollUntilDone(ctx, fastPoll)
	if err != nil {
		t.Fatal(err)
	}
	if *tab.Properties.RetentionInDays != 45 || len(tab.Properties.Schema.Columns) != 5 ||
		*tab.Properties.Schema.TableSubType != armoperationalinsights.TableSubTypeEnumDataCollectionRuleBased {
		t.Fatalf("table = %+v", tab.Properties)
	}
	dce, err := armmonitor.NewDataCollectionEndpointsClient(e.boot.SubscriptionID, e.cred, e.armOptions())
	if err != nil {
		t.Fatal(err)
	}
	ep, err := dce.Create(ctx, rg, "dce1", armmonitor.DataCollectionEndpointResource{Location: to.Ptr("eastus")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(*ep.Properties.ImmutableID, "dce-") || *ep.Properties.LogsIngestion.Endpoint != e.endpoint {
		t.Fatalf("endpoint = %+v", ep.Properties)
	}
	rules, err := armmonitor.NewDataCollectionRulesClient(e.boot.SubscriptionID, e.cred, e.armOptions())
	if err != nil {
		t.Fatal(err)
	}
	rule, err := rules.Create(ctx, rg, "dcr1", dcrBody(e, rg, wsName, *ep.ID,
		"source | where Level >= 2 | extend Host = Computer | project TimeGenerated, Message, Level, Host"), nil)
	if err != nil {
		t.Fatal(err)
	}
	imm := *rule.Properties.ImmutableID
	if len(imm) != 36 || !strings.HasPrefix(imm, "dcr-") {
		t.Fatalf("immutableId = %q", imm)
	}
	if *rule.Properties.Destinations.LogAnalytics[0].WorkspaceID != customerID {
		t.Fatalf("workspaceId = %v", *rule.Properties.Destinations.LogAnalytics[0].WorkspaceID)
	}
	return dcrSetup{customerID: customerID, ruleID: *rule.ID, immutableID: imm, endpoint: *ep.Properties.LogsIngestion.Endpoint}
}

func dcrBody(e *env, rg, wsName, endpointID, transformKql string) armmonitor.DataCollectionRuleResource {
	return armmonitor.DataCollectionRuleResource{
		Location: to.Ptr("eastus"),
		Properties: &armmonitor.DataCollectionRuleResourceProperties{
			DataCollectionEndpointID: to.Ptr(endpointID),
			StreamDeclarations: map[string]*armmonitor.StreamDeclaration{
				"Custom-App": {Columns: []*armmonitor.ColumnDefinition{
					{Name: to.Ptr("TimeGenerated"), Type: to.Ptr(armmonitor.KnownColumnDefinitionTypeDatetime)},
					{Name: to.Ptr("Message"), Type: to.Ptr(armmonitor.KnownColumnDefinitionTypeString)},
					{Name: to.Ptr("Level"), Type: to.Ptr(armmonitor.KnownColumnDefinitionTypeInt)},
					{Name: to.Ptr("Computer"), Type: to.Ptr(armmonitor.KnownColumnDefinitionTypeString)},
				}},
			},
			Destinations: &armmonitor.DataCollectionRuleDestinations{LogAnalytics: []*armmonitor.LogAnalyticsDestination{
				{Name: to.Ptr("la"), WorkspaceResourceID: to.Ptr(e.workspacePath(rg, wsName))},
			}},
			DataFlows: []*armmonitor.DataFlow{{
				Streams:      []*armmonitor.KnownDataFlowStreams{to.Ptr(armmonitor.KnownDataFlowStreams("Custom-App"))},
				Destinations: []*string{to.Ptr("la")},
				TransformKql: to.Ptr(transformKql),
				OutputStream: to.Ptr("Custom-App_CL"),
			}},
		},
	}
}

// ingestToken is a token for the Logs Ingestion API.
func (e *env) ingestToken(t testing.TB, cred azcore.TokenCredential) string {
	t.Helper()
	tk, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{"https://monitor.azure.com//.default"}})
	if err != nil {
		t.Fatal(err)
	}
	return tk.Token
}

// ingest posts a body to a rule's stream; gz compresses it.
func (e *env) ingest(t testing.TB, endpoint, tok, imm, stream, body string, gz bool) response {
	t.Helper()
	var rd io.Reader = strings.NewReader(body)
	if gz {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write([]byte(body))
		zw.Close()
		rd = &buf
	}
	req, err := http.NewRequest(http.MethodPost, endpoint+"/dataCollectionRules/"+imm+"/streams/"+stream+"?api-version=2023-01-01", rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if gz {
		req.Header.Set("Content-Encoding", "gzip")
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

func TestLogsIngestionEndToEnd(t *testing.T) {
	e, tok := setup(t, options{}, "rg1")
	s := e.setupDCR(t, tok, "rg1", "ws-dcr")
	publisher, oid := e.newPrincipal(t, "publisher")
	ptok := e.ingestToken(t, publisher)
	now := time.Now().UTC()
	body := fmt.Sprintf(`[{"TimeGenerated":%q,"Message":"disk full","Level":3,"Computer":"web-1","Extra":1},
		{"TimeGenerated":%q,"Message":"debug noise","Level":1,"Computer":"web-2"},
		{"Message":"no time","Level":2,"Computer":"web-3"}]`, now.Add(-time.Minute).Format(time.RFC3339Nano), now.Format(time.RFC3339))

	// Without the Monitoring Metrics Publisher role: 403, whoever asks
	// (Owner's control-plane rights do not let it send data either).
	expect(t, e.ingest(t, s.endpoint, ptok, s.immutableID, "Custom-App", body, false), http.StatusForbidden, "OperationFailed")
	expect(t, e.ingest(t, s.endpoint, e.ingestToken(t, e.cred), s.immutableID, "Custom-App", body, false), http.StatusForbidden, "OperationFailed")
	expect(t, e.ingest(t, s.endpoint, "", s.immutableID, "Custom-App", body, false), http.StatusUnauthorized, "InvalidToken")
	// A Resource Manager token is not a Logs Ingestion token.
	expect(t, e.ingest(t, s.endpoint, tok, s.immutableID, "Custom-App", body, false), http.StatusUnauthorized, "InvalidToken")

	expect(t, e.assign(t, tok, s.ruleID, monitorPublisherRole, oid), http.StatusCreated, "")
	r := e.ingest(t, s.endpoint, ptok, s.immutableID, "Custom-App", body, false)
	expect(t, r, http.StatusNoContent, "")
	expect(t, e.ingest(t, s.endpoint, ptok, s.immutableID, "Custom-App", body, true), http.StatusNoContent, "")

	for _, c := range []struct {
		name, imm, stream, body string
		gz                      bool
		status                  int
		code                    string
	}{
		{"unknown rule", "dcr-00000000000000000000000000000000", "Custom-App", body, false, http.StatusNotFound, "DataCollectionRuleNotFound"},
		{"unknown stream", s.immutableID, "Custom-Other", body, false, http.StatusBadRequest, "InvalidStream"},
		{"not an array", s.immutableID, "Custom-App", `{"Message":"x"}`, false, http.StatusBadRequest, "InvalidRequestBody"},
		{"record not an object", s.immutableID, "Custom-App", `[{"Level":2},3]`, false, http.StatusBadRequest, "InvalidRequestBody"},
		{"type mismatch", s.immutableID, "Custom-App", `[{"Level":2},{"Level":"high"}]`, false, http.StatusBadRequest, "InvalidRequestBody"},
		{"over 1 MB", s.immutableID, "Custom-App", "[" + strings.Repeat(`{"Message":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"},`, 25000) + `{}]`, false, http.StatusRequestEntityTooLarge, "ContentLengthLimitExceeded"},
		{"over 1 MB uncompressed", s.immutableID, "Custom-App", "[" + strings.Repeat(`{"Message":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"},`, 25000) + `{}]`, true, http.StatusRequestEntityTooLarge, "ContentLengthLimitExceeded"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := e.ingest(t, s.endpoint, ptok, c.imm, c.stream, c.body, c.gz)
			expect(t, r, c.status, c.code)
			if c.name == "type mismatch" && !strings.Contains(string(r.body), "record 1") {
				t.Fatalf("the error does not name the record: %s", r.body)
			}
		})
	}

	// Both APIs into one table: the Data Collector's field Note is the
	// declared column Note_s; an undeclared one is refused, not dropped.
	_, key := e.workspaceKeys(t, tok, "rg1", "ws-dcr")
	expect(t, e.postLogs(t, s.customerID, key, "App", `[{"Note":"from the collector"}]`), http.StatusOK, "")
	if r := e.postLogs(t, s.customerID, key, "App", `[{"Other":"x"}]`); r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "Other_s") {
		t.Fatalf("undeclared collector column: %d %s", r.status, r.body)
	}

	c := e.logsClient(t)
	if n, err := e.count(t, c, s.customerID, "App_CL | count"); err != nil || n != 5 {
		t.Fatalf("App_CL | count = %d, %v; want 5 (2 of 3 records twice, one collector post)", n, err)
	}
	if n, err := e.count(t, c, s.customerID, `App_CL | where Host == "web-1" and Level == 3 and Message == "disk full" | count`); err != nil || n != 2 {
		t.Fatalf("transformed rows = %d, %v; want 2", n, err)
	}
	if n, err := e.count(t, c, s.customerID, `App_CL | where Note_s == "from the collector" | count`); err != nil || n != 1 {
		t.Fatalf("collector row = %d, %v", n, err)
	}
}

func TestDataCollectionRuleValidation(t *testing.T) {
	e, tok := setup(t, options{}, "rg1")
	s := e.setupDCR(t, tok, "rg1", "ws-val")
	ctx := context.Background()
	rules, err := armmonitor.NewDataCollectionRulesClient(e.boot.SubscriptionID, e.cred, e.armOptions())
	if err != nil {
		t.Fatal(err)
	}
	dceID := e.subPath() + "/resourceGroups/rg1/providers/Microsoft.Insights/dataCollectionEndpoints/dce1"
	for _, c := range []struct {
		name   string
		mutate func(*armmonitor.DataCollectionRuleResource)
		msg    string
	}{
		{"transformation does not compile", func(r *armmonitor.DataCollectionRuleResource) {
			r.Properties.DataFlows[0].TransformKql = to.Ptr("source | where Nope > 1")
		}, "does not compile"},
		{"operator not allowed", func(r *armmonitor.DataCollectionRuleResource) {
			r.Properties.DataFlows[0].TransformKql = to.Ptr("source | summarize count() by Computer")
		}, "not supported in transformations"},
		{"column the table lacks", func(r *armmonitor.DataCollectionRuleResource) {
			r.Properties.DataFlows[0].TransformKql = to.Ptr("source | project TimeGenerated, Computer")
		}, "the table lacks"},
		{"type mismatch", func(r *armmonitor.DataCollectionRuleResource) {
			r.Properties.DataFlows[0].TransformKql = to.Ptr("source | project TimeGenerated, Level = Message")
		}, "is string in the transformation's output and int in the table"},
		{"undeclared stream", func(r *armmonitor.DataCollectionRuleResource) {
			r.Properties.DataFlows[0].Streams = []*armmonitor.KnownDataFlowStreams{to.Ptr(armmonitor.KnownDataFlowStreams("Custom-Nope"))}
		}, "not declared"},
		{"missing workspace", func(r *armmonitor.DataCollectionRuleResource) {
			r.Properties.Destinations.LogAnalytics[0].WorkspaceResourceID = to.Ptr(e.workspacePath("rg1", "ws-none"))
		}, "does not exist"},
		{"missing table", func(r *armmonitor.DataCollectionRuleResource) {
			r.Properties.DataFlows[0].OutputStream = to.Ptr("Custom-Nope_CL")
		}, "does not exist in the workspace"},
		{"unknown destination", func(r *armmonitor.DataCollectionRuleResource) {
			r.Properties.DataFlows[0].Destinations = []*string{to.Ptr("other")}
		}, "not in destinations"},
	} {
		t.Run(c.name, func(t *testing.T) {
			body := dcrBody(e, "rg1", "ws-val", dceID, "source | project TimeGenerated, Message, Level")
			c.mutate(&body)
			_, err := rules.Create(ctx, "rg1", "dcr-bad", body, nil)
			expectSDKError(t, err, http.StatusBadRequest, "InvalidPayload")
			if !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("error %v does not say %q", err, c.msg)
			}
		})
	}
	// A Microsoft- output writes a standard table.
	body := dcrBody(e, "rg1", "ws-val", dceID, "source | extend Computer = Computer | project TimeGenerated, Computer")
	body.Properties.DataFlows[0].OutputStream = to.Ptr("Microsoft-Heartbeat")
	if _, err := rules.Create(ctx, "rg1", "dcr-hb", body, nil); err != nil {
		t.Fatalf("rule into Heartbeat: %v", err)
	}
	_ = s
}

func TestTablesAPI(t *testing.T) {
	e, tok := setup(t, options{}, "rg1")
	e.setupDCR(t, tok, "rg1", "ws-tab")
	ctx := context.Background()
	tc, err := armoperationalinsights.NewTablesClient(e.boot.SubscriptionID, e.cred, e.armOptions())
	if err != nil {
		t.Fatal(err)
	}
	pager := tc.NewListByWorkspacePager("rg1", "ws-tab", nil)
	names := map[string]bool{}
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, tb := range page.Value {
			names[*tb.Name] = true
		}
	}
	if !names["Heartbeat"] || !names["App_CL"] || len(names) < 500 {
		t.Fatalf("list has %d tables (Heartbeat %v, App_CL %v)", len(names), names["Heartbeat"], names["App_CL"])
	}
	// A standard table takes _CF columns only.
	add := func(table, col string) error {
		p, err := tc.BeginCreateOrUpdate(ctx, "rg1", "ws-tab", table, armoperationalinsights.Table{Properties: &armoperationalinsights.TableProperties{
			Schema: &armoperationalinsights.Schema{Name: to.Ptr(table), Columns: []*armoperationalinsights.Column{
				{Name: to.Ptr(col), Type: to.Ptr(armoperationalinsights.ColumnTypeEnumString)}}}}}, nil)
		if err != nil {
			return err
		}
		_, err = p.PollUntilDone(ctx, fastPoll)
		return err
	}
	if err := add("Heartbeat", "Owner_CF"); err != nil {
		t.Fatal(err)
	}
	expectSDKError(t, add("Heartbeat", "Owner"), http.StatusBadRequest, "InvalidParameter")
	expectSDKError(t, add("NotAStandardTable", "x"), http.StatusBadRequest, "InvalidTableName")
	expectSDKError(t, add("New_CL", "x"), http.StatusBadRequest, "InvalidParameter") // no TimeGenerated
	got, err := tc.Get(ctx, "rg1", "ws-tab", "Heartbeat", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Properties.Schema.Columns) != 1 || *got.Properties.Schema.Columns[0].Name != "Owner_CF" || len(got.Properties.Schema.StandardColumns) < 10 {
		t.Fatalf("Heartbeat = %+v", got.Properties.Schema)
	}
	// Changing a column's type is refused.
	p, err := tc.BeginCreateOrUpdate(ctx, "rg1", "ws-tab", "App_CL", armoperationalinsights.Table{Properties: &armoperationalinsights.TableProperties{
		Schema: &armoperationalinsights.Schema{Columns: []*armoperationalinsights.Column{
			{Name: to.Ptr("TimeGenerated"), Type: to.Ptr(armoperationalinsights.ColumnTypeEnumDateTime)},
			{Name: to.Ptr("Level"), Type: to.Ptr(armoperationalinsights.ColumnTypeEnumString)}}}}}, nil)
	if err == nil {
		_, err = p.PollUntilDone(ctx, fastPoll)
	}
	expectSDKError(t, err, http.StatusBadRequest, "InvalidParameter")
	// Migrating a Data Collector table makes it DCR-based with its columns.
	id, key := e.workspaceKeys(t, tok, "rg1", "ws-tab")
	expect(t, e.postLogs(t, id, key, "Legacy", `[{"level":"x","n":1}]`), http.StatusOK, "")
	if _, err := tc.Migrate(ctx, "rg1", "ws-tab", "Legacy_CL", nil); err != nil {
		t.Fatal(err)
	}
	got, err = tc.Get(ctx, "rg1", "ws-tab", "Legacy_CL", nil)
	if err != nil {
		t.Fatal(err)
	}
	if *got.Properties.Schema.TableSubType != armoperationalinsights.TableSubTypeEnumDataCollectionRuleBased || len(got.Properties.Schema.Columns) != 3 {
		t.Fatalf("migrated = %+v", got.Properties.Schema)
	}
	// Delete, as a long-running operation.
	dp, err := tc.BeginDelete(ctx, "rg1", "ws-tab", "Legacy_CL", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dp.PollUntilDone(ctx, fastPoll); err != nil {
		t.Fatal(err)
	}
}
