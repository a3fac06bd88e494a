package e2e

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/monitor/query/azlogs"
)

// TestStandardTablesAnswerEmpty: as in Azure, a new workspace has the
// standard tables before any data arrives, so queries on them answer with
// no rows instead of failing; table names stay case-sensitive.
func TestStandardTablesAnswerEmpty(t *testing.T) {
	t.Parallel()
	e, tok := setup(t, options{}, "rg")
	e.mkWorkspace(t, tok, "rg", "ws-std", "eastus")
	ws, _ := e.workspaceKeys(t, tok, "rg", "ws-std")
	logs := e.logsClient(t)
	query := func(kql string) (azlogs.QueryWorkspaceResponse, error) {
		return logs.QueryWorkspace(context.Background(), ws, azlogs.QueryBody{Query: &kql}, nil)
	}

	resp, err := query("Heartbeat | take 10")
	if err != nil {
		t.Fatalf("Heartbeat | take 10: %v", err)
	}
	if len(resp.Tables) != 1 || len(resp.Tables[0].Rows) != 0 {
		t.Fatalf("Heartbeat | take 10 = %+v, want one empty table", resp.Tables)
	}
	types := map[string]azlogs.ColumnType{}
	for _, c := range resp.Tables[0].Columns {
		types[*c.Name] = *c.Type
	}
	for name, want := range map[string]azlogs.ColumnType{
		"TimeGenerated": azlogs.ColumnTypeDatetime, "Computer": azlogs.ColumnTypeString,
		"ComputerPrivateIPs": azlogs.ColumnTypeDynamic, "RemoteIPLatitude": azlogs.ColumnTypeReal,
		"IsGatewayInstalled": azlogs.ColumnTypeBool, "TenantId": azlogs.ColumnTypeString, "Type": azlogs.ColumnTypeString,
	} {
		if got, ok := types[name]; !ok || got != want {
			t.Errorf("Heartbeat column %s: type %q (present %v), want %q", name, got, ok, want)
		}
	}

	if n, err := e.count(t, logs, ws, "SecurityEvent | where EventID == 4625 | count"); err != nil || n != 0 {
		t.Fatalf("SecurityEvent | where EventID == 4625 | count = %d, %v; want 0", n, err)
	}

	_, err = query("heartbeat | take 10")
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.StatusCode != http.StatusBadRequest {
		t.Fatalf("heartbeat (lower case) = %v, want 400: table names are case-sensitive", err)
	}
}
