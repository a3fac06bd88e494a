package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/monitor/query/azlogs"
)

// TestCrashSafetySIGKILL ingests from concurrent senders into a real
// kustodian process, through the Data Collector API and the Logs Ingestion
// API, kills it with SIGKILL at random moments, restarts it, and proves
// that every acknowledged record of either API is there exactly once and
// that the store still opens and answers.
func TestCrashSafetySIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills a server process")
	}
	bin := filepath.Join(t.TempDir(), "kustodian")
	build := exec.Command("go", "build", "-o", bin, "./cmd/kustodian")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	addr := freeAddr(t)
	dir := t.TempDir()

	var proc *exec.Cmd
	startProc := func() *env {
		t.Helper()
		proc = exec.Command(bin, "serve", "--listen", addr, "--data-dir", dir, "--log-level", "error")
		proc.Stderr = os.Stderr
		if err := proc.Start(); err != nil {
			t.Fatal(err)
		}
		e := attach(t, dir)
		return e
	}
	e := startProc()
	t.Cleanup(func() {
		if proc != nil && proc.Process != nil {
			proc.Process.Kill()
			proc.Wait()
		}
	})
	tok := e.token(e.cred)
	e.mkGroup(t, tok, "rg", "eastus")
	e.mkWorkspace(t, tok, "rg", "ws-crash", "eastus")
	ws, key := e.workspaceKeys(t, tok, "rg", "ws-crash")
	dcr := e.setupDCR(t, tok, "rg", "ws-crash-dcr")
	publisher, oid := e.newPrincipal(t, "publisher")
	expect(t, e.assign(t, tok, dcr.ruleID, monitorPublisherRole, oid), http.StatusCreated, "")
	ptok := e.ingestToken(t, publisher)

	const perBatch = 50
	var (
		mu      sync.Mutex
		acked   = map[int]bool{} // Data Collector batches
		ackedLI = map[int]bool{} // Logs Ingestion batches
		next    int
	)
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	for round := 0; round < 6; round++ {
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for s := 0; s < 4; s++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					mu.Lock()
					batch := next
					next++
					mu.Unlock()
					var recs []string
					viaLI := s%2 == 1
					for i := 0; i < perBatch; i++ {
						if viaLI {
							recs = append(recs, fmt.Sprintf(`{"Message":"b%d","Level":2,"Computer":"c%d"}`, batch, i))
						} else {
							recs = append(recs, fmt.Sprintf(`{"batch":%d,"i":%d,"pad":"%s"}`, batch, i, strings.Repeat("x", 40)))
						}
					}
					body := "[" + strings.Join(recs, ",") + "]"
					var r int
					var ok bool
					if viaLI {
						r, ok = tryIngest(e, dcr, ptok, body)
					} else {
						r, ok = tryPost(e, ws, key, "Crash", body)
					}
					if !ok {
						return // the server died under us: this batch was not acknowledged
					}
					if r == http.StatusOK || r == http.StatusNoContent {
						mu.Lock()
						if viaLI {
							ackedLI[batch] = true
						} else {
							acked[batch] = true
						}
						mu.Unlock()
					}
				}
			}()
		}
		time.Sleep(time.Duration(150+rng.Intn(600)) * time.Millisecond)
		proc.Process.Signal(syscall.SIGKILL)
		proc.Wait()
		close(stop)
		wg.Wait()
		e = startProc()
	}
	if len(acked) == 0 || len(ackedLI) == 0 {
		t.Fatalf("batches acknowledged: %d through the Data Collector API, %d through the Logs Ingestion API", len(acked), len(ackedLI))
	}

	// Every acknowledged batch is present with all its rows, none twice.
	q := "Crash_CL | summarize count() by batch_d"
	client := e.logsClient(t)
	resp, err := client.QueryWorkspace(context.Background(), ws, azlogs.QueryBody{Query: &q}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[int]int{}
	for _, row := range resp.Tables[0].Rows {
		got[int(row[0].(float64))] = int(row[1].(float64))
	}
	for b := range acked {
		if got[b] != perBatch {
			t.Errorf("acknowledged batch %d has %d rows, want %d", b, got[b], perBatch)
		}
	}
	for b, n := range got {
		if n != perBatch {
			t.Errorf("batch %d has %d rows: a batch is stored whole or not at all, never twice", b, n)
		}
	}
	t.Logf("%d batches acknowledged over 6 kills; %d stored (the rest were in flight)", len(acked), len(got))

	// The same through the Logs Ingestion API.
	qLI := "App_CL | summarize count() by Message"
	resp, err = client.QueryWorkspace(context.Background(), dcr.customerID, azlogs.QueryBody{Query: &qLI}, nil)
	if err != nil {
		t.Fatal(err)
	}
	gotLI := map[int]int{}
	for _, row := range resp.Tables[0].Rows {
		var b int
		fmt.Sscanf(row[0].(string), "b%d", &b)
		gotLI[b] = int(row[1].(float64))
	}
	for b := range ackedLI {
		if gotLI[b] != perBatch {
			t.Errorf("acknowledged Logs Ingestion batch %d has %d rows, want %d", b, gotLI[b], perBatch)
		}
	}
	for b, n := range gotLI {
		if n != perBatch {
			t.Errorf("Logs Ingestion batch %d has %d rows: a batch is stored whole or not at all, never twice", b, n)
		}
	}
	t.Logf("Logs Ingestion: %d batches acknowledged, %d stored", len(ackedLI), len(gotLI))
	// A graceful stop flushes to segments; the data is still all there.
	proc.Process.Signal(syscall.SIGTERM)
	proc.Wait()
	e = startProc()
	resp, err = e.logsClient(t).QueryWorkspace(context.Background(), ws, azlogs.QueryBody{Query: &q}, nil)
	if err != nil || len(resp.Tables[0].Rows) != len(got) {
		t.Fatalf("after a graceful restart: %v, %d batches", err, len(resp.Tables[0].Rows))
	}
}

// tryPost posts without failing the test when the server is gone; ok is
// false when no answer came back.
func tryPost(e *env, ws, key, logType, body string) (int, bool) {
	defer func() { recover() }()
	r, err := e.postLogsErr(ws, key, logType, body)
	if err != nil {
		return 0, false
	}
	return r, true
}

// tryIngest sends a body through the Logs Ingestion API without failing
// the test when the server is gone; ok is false when no answer came back.
func tryIngest(e *env, s dcrSetup, tok, body string) (int, bool) {
	req, err := http.NewRequest(http.MethodPost, s.endpoint+"/dataCollectionRules/"+s.immutableID+"/streams/Custom-App?api-version=2023-01-01", strings.NewReader(body))
	if err != nil {
		return 0, false
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := e.client.Do(req)
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return 0, false
	}
	return resp.StatusCode, true
}

// attach connects to a server process started on dir, waiting for it.
func attach(t *testing.T, dir string) *env {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var boot []byte
	for {
		b, err := os.ReadFile(filepath.Join(dir, "bootstrap.json"))
		if err == nil && json.Valid(b) {
			boot = b
			e := &env{t: t, dataDir: dir}
			if err := json.Unmarshal(boot, &e.boot); err != nil {
				t.Fatal(err)
			}
			e.endpoint = strings.TrimSuffix(e.boot.Endpoint, "/")
			e.initClient(t)
			resp, err := e.client.Get(e.endpoint + "/readyz")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					e.cred = e.credential(e.boot.ClientID, e.boot.ClientSecret)
					return e
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the server process did not become ready")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
