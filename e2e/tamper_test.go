package e2e

import (
	"context"
	"errors"
	"net/http"
	"os"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/monitor/query/azlogs"
)

// TestTamperedSegmentFailsQueriesClearly: a byte flipped in a segment file
// on disk makes queries over it fail with DataIntegrityError — never a
// wrong answer — while the workspace's other tables still answer.
func TestTamperedSegmentFailsQueriesClearly(t *testing.T) {
	t.Parallel()
	dir, addr := t.TempDir(), freeAddr(t)
	e, tok := setup(t, options{dataDir: dir, listen: addr}, "rg")
	e.mkWorkspace(t, tok, "rg", "ws-tamper", "eastus")
	ws, key := e.workspaceKeys(t, tok, "rg", "ws-tamper")
	expect(t, e.postLogs(t, ws, key, "Victim", `[{"a":"x","n":1},{"a":"y","n":2}]`), http.StatusOK, "")
	e.stop() // flush: one segment
	segs := segmentPaths(t, dir)
	if len(segs) == 0 {
		t.Fatal("no segment file after the flush")
	}
	seg := segs[0]
	data, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	data[24+10] ^= 0x01 // inside the first block's directory envelope (its salt)
	if err := os.WriteFile(seg, data, 0o600); err != nil {
		t.Fatal(err)
	}
	e = start(t, options{dataDir: dir, listen: addr})
	expect(t, e.postLogs(t, ws, key, "Other", `{"b":"z"}`), http.StatusOK, "")

	logs := e.logsClient(t)
	_, err = logs.QueryWorkspace(context.Background(), ws, azlogs.QueryBody{Query: to.Ptr("Victim_CL | take 10")}, nil)
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.StatusCode != http.StatusInternalServerError || re.ErrorCode != "DataIntegrityError" {
		t.Fatalf("query over the tampered segment: %v", err)
	}
	if n, err := e.count(t, logs, ws, "Other_CL | count"); err != nil || n != 1 {
		t.Fatalf("query over an intact table: %d, %v", n, err)
	}
}
