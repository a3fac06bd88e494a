package query

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/monitor/query/azlogs"

	"github.com/kustodian/kustodian/internal/kql"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// TestWriteResponseMatchesEncodingJSON: the streaming encoder writes what
// encoding/json would for every kind of value a result holds.
func TestWriteResponseMatchesEncodingJSON(t *testing.T) {
	rows := [][]any{
		{nil, true, false, int64(-9223372036854775808), 1.5, 1e21, 0.000001, "plain"},
		{"quote \" backslash \\ newline \n tab \t", "<script>&</script>", "é ü 日本", "\x00\x1f", "bad \xff utf8", "\u2028", int64(0), -0.0},
	}
	cols := []kql.ResultColumn{{Name: "a", Type: "string"}}
	res := &response{Tables: []table{{Name: "PrimaryResult", Columns: cols, Rows: rows}}}
	w := httptest.NewRecorder()
	if err := writeResponse(w, res); err != nil {
		t.Fatal(err)
	}
	want, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	if got := bytes.TrimSpace(w.Body.Bytes()); !bytes.Equal(got, want) {
		t.Fatalf("streamed:\n%s\nencoding/json:\n%s", got, want)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Fatalf("Content-Type %q", ct)
	}
}

func TestCapRows(t *testing.T) {
	row := []any{"abcdefgh", int64(12345), nil}
	rows := make([][]any, 100)
	for i := range rows {
		rows[i] = row
	}
	rowBytes := int64(len(`["abcdefgh",12345,null]`)) + 1
	for _, c := range []struct {
		name     string
		maxRows  int
		maxBytes int64
		want     int
		limit    string
	}{
		{"under both", 100, 1 << 20, 100, ""},
		{"row limit", 10, 1 << 20, 10, "record count limit 10"},
		{"byte limit", 100, 5*rowBytes + 2, 5, "data size limit"},
		{"both: rows first", 3, 5 * rowBytes, 3, "record count limit 3"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, pe := capRows(rows, c.maxRows, c.maxBytes)
			if len(got) != c.want {
				t.Fatalf("%d rows, want %d", len(got), c.want)
			}
			if c.limit == "" {
				if pe != nil {
					t.Fatalf("unexpected partial error %+v", pe)
				}
				return
			}
			if pe == nil || pe.Code != "PartialError" || !strings.Contains(pe.Details[0].Inner.Message, c.limit) ||
				!strings.Contains(pe.Details[0].Inner.Message, "E_QUERY_RESULT_SET_TOO_LARGE") {
				t.Fatalf("partial error %+v", pe)
			}
		})
	}
}

// TestPartialResult: a result longer than the row limit answers 200 with
// the rows up to the limit and Azure's partial error after the tables
// (golden file), and azlogs hands both to the caller.
func TestPartialResult(t *testing.T) {
	h := handler(memData{n: 10})
	h.o.Limits.MaxResultRows = 3
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, "/v1/workspaces/"+wsID+"/query",
		strings.NewReader(`{"query":"App_CL | sort by TimeGenerated desc | project Level_s"}`))
	r.Header.Set("Authorization", "Bearer good")
	h.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	golden := filepath.Join("testdata", "partial-result.json")
	if *update {
		if err := os.WriteFile(golden, w.Body.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(w.Body.Bytes(), want) {
		t.Fatalf("response:\n%s\nwant (%s):\n%s", w.Body, golden, want)
	}

	mux := http.NewServeMux()
	mux.Handle("/v1/", h)
	srv := httptest.NewTLSServer(mux)
	defer srv.Close()
	client, err := azlogs.NewClient(staticCred{}, &azlogs.ClientOptions{ClientOptions: azcore.ClientOptions{
		Cloud:     cloud.Configuration{Services: map[cloud.ServiceName]cloud.ServiceConfiguration{azlogs.ServiceName: {Audience: audience, Endpoint: srv.URL + "/v1"}}},
		Transport: srv.Client(),
	}})
	if err != nil {
		t.Fatal(err)
	}
	q := "App_CL | project Level_s"
	resp, err := client.QueryWorkspace(context.Background(), wsID, azlogs.QueryBody{Query: &q}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Tables[0].Rows) != 3 || resp.Error == nil || resp.Error.Code != "PartialError" ||
		!strings.Contains(resp.Error.Error(), "record count limit 3") {
		t.Fatalf("azlogs: %d rows, error %v", len(resp.Tables[0].Rows), resp.Error)
	}
}
