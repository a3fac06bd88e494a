package e2e

import (
	"context"
	"encoding/json"
	"fmt"
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
// kustodian process, kills it with SIGKILL at random moments, restarts
// it, and proves that every acknowledged record is there exactly once and
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

	const perBatch = 50
	var (
		mu    sync.Mutex
		acked = map[int]bool{}
		next  int
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
					for i := 0; i < perBatch; i++ {
						recs = append(recs, fmt.Sprintf(`{"batch":%d,"i":%d,"pad":"%s"}`, batch, i, strings.Repeat("x", 40)))
					}
					r, ok := tryPost(e, ws, key, "Crash", "["+strings.Join(recs, ",")+"]")
					if !ok {
						return // the server died under us: this batch was not acknowledged
					}
					if r == http.StatusOK {
						mu.Lock()
						acked[batch] = true
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
	if len(acked) == 0 {
		t.Fatal("no batch was acknowledged")
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
