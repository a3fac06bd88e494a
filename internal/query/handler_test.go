package query

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/monitor/query/azlogs"

	"github.com/kustodian/kustodian/internal/identity"
	"github.com/kustodian/kustodian/internal/kql"
)

var now = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

const (
	wsID     = "11111111-2222-3333-4444-555555555555"
	audience = "https://api.loganalytics.io"
)

// memData is one table "App_CL" of n rows, one a minute back from now.
type memData struct {
	n   int
	err error
}

func (m memData) Table(ctx context.Context, name string) (*kql.Schema, error) {
	if m.err != nil {
		return nil, m.err
	}
	if name != "App_CL" {
		return nil, kql.ErrTableNotFound
	}
	return &kql.Schema{Name: name, Columns: []kql.ColumnDef{{Name: "TimeGenerated", Type: kql.TypeDatetime}, {Name: "Level_s", Type: kql.TypeString}}}, nil
}

type memIter struct {
	b    *kql.Batch
	done bool
}

func (it *memIter) Next(ctx context.Context) (*kql.Batch, error) {
	if it.done {
		return nil, io.EOF
	}
	it.done = true
	return it.b, nil
}
func (it *memIter) Close() error { return nil }

func (m memData) Scan(ctx context.Context, req kql.ScanRequest) (kql.BatchIterator, error) {
	if m.err != nil {
		return nil, m.err
	}
	tg := kql.NewVector(kql.TypeDatetime, m.n)
	lv := kql.NewVector(kql.TypeString, m.n)
	for i := 0; i < m.n; i++ {
		tg.Int[i], _ = kql.TicksFromTime(now.Add(-time.Duration(i) * time.Minute))
		lv.Str[i] = []string{"info", "error"}[i%2]
	}
	return &memIter{b: &kql.Batch{Len: m.n, Columns: map[string]kql.Vector{"TimeGenerated": tg, "Level_s": lv}}}, nil
}

func handler(data memData) *Handler {
	return New(Options{
		Audience: audience,
		Now:      func() time.Time { return now },
		Verify: func(ctx context.Context, raw, aud string) (*identity.Claims, error) {
			if raw != "good" && raw != "reader-less" {
				return nil, identity.ErrInvalidSignature
			}
			return &identity.Claims{ObjectID: raw}, nil
		},
		Authorize: func(ctx context.Context, principal, action, scope string) error {
			if principal == "reader-less" {
				return &identity.AuthorizationError{PrincipalID: principal, Action: action, Scope: scope}
			}
			return nil
		},
		Workspace: func(ctx context.Context, id string) (string, Data, error) {
			if id != wsID {
				return "", nil, ErrWorkspaceNotFound
			}
			return "/subscriptions/s/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/w", data, nil
		},
	})
}

func do(t *testing.T, h http.Handler, method, path, token, body string) (int, map[string]any) {
	t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	var m map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
		t.Fatalf("%d %s: not JSON", w.Code, w.Body)
	}
	return w.Code, m
}

func TestQueryAnswers(t *testing.T) {
	h := handler(memData{n: 120})
	tests := []struct {
		method, body, path string
		rows               int
		first              any
	}{
		{http.MethodPost, `{"query":"App_CL | count"}`, "", 1, float64(120)},
		{http.MethodPost, `{"query":"App_CL | count","timespan":"PT1H"}`, "", 1, float64(60)},
		{http.MethodPost, `{"query":"App_CL | where Level_s == 'error' | count","timespan":"PT30M"}`, "", 1, float64(15)},
		{http.MethodPost, `{"query":"App_CL | count","timespan":"2026-11-29T11:00:00Z/2026-11-29T11:30:00Z"}`, "", 1, float64(30)},
		{http.MethodPost, `{"query":"App_CL | count","timespan":"2026-11-29T11:00:00Z/PT10M"}`, "", 1, float64(10)},
		{http.MethodGet, "", "?query=" + "App_CL%20%7C%20take%205", 5, nil},
	}
	for _, tt := range tests {
		t.Run(tt.body+tt.path, func(t *testing.T) {
			code, m := do(t, h, tt.method, "/v1/workspaces/"+wsID+"/query"+tt.path, "good", tt.body)
			if code != http.StatusOK {
				t.Fatalf("status %d: %v", code, m)
			}
			tables := m["tables"].([]any)
			tb := tables[0].(map[string]any)
			rows := tb["rows"].([]any)
			if tb["name"] != "PrimaryResult" || len(rows) != tt.rows {
				t.Fatalf("table %v with %d rows", tb["name"], len(rows))
			}
			if tt.first != nil && rows[0].([]any)[0] != tt.first {
				t.Fatalf("first value = %v, want %v", rows[0].([]any)[0], tt.first)
			}
		})
	}
}

func TestQueryErrors(t *testing.T) {
	tests := []struct {
		name       string
		data       memData
		token      string
		path, body string
		status     int
		code       string
		inner      string
	}{
		{"no token", memData{}, "", "/v1/workspaces/" + wsID + "/query", `{"query":"App_CL"}`, 401, "AuthorizationRequiredError", ""},
		{"bad token", memData{}, "forged", "/v1/workspaces/" + wsID + "/query", `{"query":"App_CL"}`, 401, "InvalidTokenError", ""},
		{"no access", memData{}, "reader-less", "/v1/workspaces/" + wsID + "/query", `{"query":"App_CL"}`, 403, "InsufficientAccessError", ""},
		{"unknown workspace", memData{}, "good", "/v1/workspaces/00000000-0000-0000-0000-000000000000/query", `{"query":"App_CL"}`, 404, "WorkspaceNotFoundError", ""},
		{"bad path", memData{}, "good", "/v1/workspaces/" + wsID + "/other", `{}`, 404, "PathNotFoundError", ""},
		{"no query", memData{}, "good", "/v1/workspaces/" + wsID + "/query", `{}`, 400, "BadArgumentError", ""},
		{"bad json", memData{}, "good", "/v1/workspaces/" + wsID + "/query", `{"query":`, 400, "BadArgumentError", ""},
		{"bad timespan", memData{}, "good", "/v1/workspaces/" + wsID + "/query", `{"query":"App_CL","timespan":"an hour"}`, 400, "BadArgumentError", ""},
		{"syntax", memData{}, "good", "/v1/workspaces/" + wsID + "/query", `{"query":"App_CL | where"}`, 400, "BadArgumentError", "SyntaxError"},
		{"unknown table", memData{}, "good", "/v1/workspaces/" + wsID + "/query", `{"query":"Nope_CL"}`, 400, "BadArgumentError", "SemanticError"},
		{"revoked", memData{err: fmt.Errorf("account: %w", ErrRevoked)}, "good", "/v1/workspaces/" + wsID + "/query", `{"query":"App_CL | count"}`, 403, "CustomerManagedKeyRevoked", ""},
		{"unavailable", memData{err: fmt.Errorf("account: %w", ErrUnavailable)}, "good", "/v1/workspaces/" + wsID + "/query", `{"query":"App_CL | count"}`, 503, "ServiceUnavailable", ""},
		{"integrity", memData{err: fmt.Errorf("segment 0a1b block 3: %w", ErrDataIntegrity)}, "good", "/v1/workspaces/" + wsID + "/query", `{"query":"App_CL | count"}`, 500, "DataIntegrityError", ""},
		{"internal", memData{err: errors.New("disk on fire")}, "good", "/v1/workspaces/" + wsID + "/query", `{"query":"App_CL | count"}`, 500, "InternalServerError", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, m := do(t, handler(tt.data), http.MethodPost, tt.path, tt.token, tt.body)
			e, _ := m["error"].(map[string]any)
			if code != tt.status || e == nil || e["code"] != tt.code || e["message"] == "" {
				t.Fatalf("got %d %v, want %d %s", code, m, tt.status, tt.code)
			}
			if tt.inner != "" {
				inner, _ := e["innererror"].(map[string]any)
				if inner == nil || inner["code"] != tt.inner {
					t.Fatalf("innererror = %v, want %s", inner, tt.inner)
				}
			}
			if strings.Contains(fmt.Sprint(m), "disk on fire") || strings.Contains(fmt.Sprint(m), "0a1b") {
				t.Fatal("an internal error leaked")
			}
		})
	}
}

func TestParseTimespan(t *testing.T) {
	tests := []struct {
		in         string
		start, end time.Time
		bad        bool
	}{
		{in: "PT1H", start: now.Add(-time.Hour), end: now},
		{in: "P1D", start: now.Add(-24 * time.Hour), end: now},
		{in: "P1DT2H30M", start: now.Add(-26*time.Hour - 30*time.Minute), end: now},
		{in: "PT0.5S", start: now.Add(-500 * time.Millisecond), end: now},
		{in: "2026-11-29T10:00:00Z/2026-11-29T11:00:00Z", start: now.Add(-2 * time.Hour), end: now.Add(-time.Hour)},
		{in: "PT1H/2026-11-29T11:00:00Z", start: now.Add(-2 * time.Hour), end: now.Add(-time.Hour)},
		{in: "P", bad: true}, {in: "PT", bad: true}, {in: "1h", bad: true},
		{in: "2026-11-29T11:00:00Z/2026-11-29T10:00:00Z", bad: true}, {in: "x/y", bad: true},
	}
	for _, tt := range tests {
		s, e, err := parseTimespan(tt.in, now)
		if tt.bad {
			if err == nil {
				t.Errorf("parseTimespan(%q) accepted", tt.in)
			}
			continue
		}
		if err != nil || !s.Equal(tt.start) || !e.Equal(tt.end) {
			t.Errorf("parseTimespan(%q) = %v %v %v", tt.in, s, e, err)
		}
	}
}

type staticCred struct{}

func (staticCred) GetToken(ctx context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	if len(o.Scopes) != 1 || o.Scopes[0] != audience+"/.default" {
		return azcore.AccessToken{}, fmt.Errorf("unexpected scopes %v", o.Scopes)
	}
	return azcore.AccessToken{Token: "good", ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// TestAzlogsClient runs the official monitor/query/azlogs client against
// the handler.
func TestAzlogsClient(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("/v1/", handler(memData{n: 120}))
	srv := httptest.NewTLSServer(mux)
	defer srv.Close()
	client, err := azlogs.NewClient(staticCred{}, &azlogs.ClientOptions{ClientOptions: azcore.ClientOptions{
		Cloud:     cloud.Configuration{Services: map[cloud.ServiceName]cloud.ServiceConfiguration{azlogs.ServiceName: {Audience: audience, Endpoint: srv.URL + "/v1"}}},
		Transport: srv.Client(),
	}})
	if err != nil {
		t.Fatal(err)
	}
	q, ts := "App_CL | summarize count() by Level_s | sort by Level_s asc", azlogs.TimeInterval("PT1H")
	resp, err := client.QueryWorkspace(context.Background(), wsID, azlogs.QueryBody{Query: &q, Timespan: &ts}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tb := resp.Tables[0]
	if len(tb.Columns) != 2 || *tb.Columns[0].Name != "Level_s" || *tb.Columns[1].Type != azlogs.ColumnTypeLong {
		t.Fatalf("columns = %+v", tb.Columns)
	}
	if len(tb.Rows) != 2 || tb.Rows[0][0] != "error" || tb.Rows[0][1] != float64(30) {
		t.Fatalf("rows = %v", tb.Rows)
	}
	bad := "App_CL | where"
	_, err = client.QueryWorkspace(context.Background(), wsID, azlogs.QueryBody{Query: &bad}, nil)
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.StatusCode != 400 || re.ErrorCode != "BadArgumentError" {
		t.Fatalf("syntax error through azlogs: %v", err)
	}
}
