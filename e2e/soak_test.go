package e2e

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// soakMaxRSS is the bound on the server's peak resident memory.
const soakMaxRSS = 1 << 30

// TestSoak runs the server as its own process (so its memory is its own)
// under a mix, for KUSTODIAN_SOAK seconds, of: ingestion from 8 senders as
// fast as the server takes it; queries of many shapes; pathological
// requests (a 1 MB query of some 40,000 extends, a 1 MB or-chain, a result
// larger than Azure's limits, 30 MB posts signed and unsigned, oversized
// tags); and slow clients trickling bodies. Throughout, /healthz must
// answer within 2 s and no request may get a 500; afterwards every
// acknowledged record must be queryable, and the server's peak RSS must
// stay under 1 GiB. .ci/run sets KUSTODIAN_SOAK; without it the test skips.
func TestSoak(t *testing.T) {
	secs, _ := strconv.Atoi(os.Getenv("KUSTODIAN_SOAK"))
	if secs <= 0 {
		t.Skip("set KUSTODIAN_SOAK=<seconds> to run the soak test")
	}
	e, pid := startProcess(t)
	tok := e.token(e.cred)
	e.mkGroup(t, tok, "rg", "eastus")
	e.mkWorkspace(t, tok, "rg", "ws-soak", "eastus")
	ws, key := e.workspaceKeys(t, tok, "rg", "ws-soak")
	qtok := e.tokenFor(t, e.boot.QueryAudience)

	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(secs)*time.Second)
	defer cancel()
	var (
		wg      sync.WaitGroup
		acked   sync.Map // sender -> *atomic.Int64 rows acknowledged
		outcome sync.Map // "kind status" -> *atomic.Int64
		errs    = make(chan string, 100)
	)
	note := func(kind string, status int) {
		v, _ := outcome.LoadOrStore(fmt.Sprintf("%s %d", kind, status), new(atomic.Int64))
		v.(*atomic.Int64).Add(1)
		if status >= 500 && status != http.StatusServiceUnavailable && status != http.StatusGatewayTimeout {
			select {
			case errs <- fmt.Sprintf("%s answered %d", kind, status):
			default:
			}
		}
	}
	ack := func(sender string, rows int) {
		v, _ := acked.LoadOrStore(sender, new(atomic.Int64))
		v.(*atomic.Int64).Add(int64(rows))
	}
	client := e.client
	post := func(body []byte, customerID, key string) (int, error) {
		date := time.Now().UTC().Format(http.TimeFormat)
		k, _ := base64.StdEncoding.DecodeString(key)
		mac := hmac.New(sha256.New, k)
		mac.Write([]byte("POST\n" + strconv.Itoa(len(body)) + "\napplication/json\nx-ms-date:" + date + "\n/api/logs"))
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.endpoint+"/api/logs?api-version=2016-04-01", strings.NewReader(string(body)))
		if err != nil {
			return 0, err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Log-Type", "Soak")
		req.Header.Set("x-ms-date", date)
		req.Header.Set("Authorization", "SharedKey "+customerID+":"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	query := func(kql string, wait int) (int, error) {
		body, _ := json.Marshal(map[string]string{"query": kql})
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.endpoint+"/v1/workspaces/"+ws+"/query", strings.NewReader(string(body)))
		if err != nil {
			return 0, err
		}
		req.Header.Set("Authorization", "Bearer "+qtok)
		req.Header.Set("Content-Type", "application/json")
		if wait > 0 {
			req.Header.Set("Prefer", fmt.Sprintf("wait=%d", wait))
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	loop := func(f func(i int)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				f(i)
			}
		}()
	}

	// Ingestion: 8 senders of 1000-line batches, as fast as acknowledged.
	for s := range 8 {
		sender := fmt.Sprintf("s%d", s)
		r := rand.New(rand.NewSource(int64(s)))
		loop(func(i int) {
			body := soakBatch(r, sender, i, 1000)
			status, err := post(body, ws, key)
			if err != nil {
				return // the deadline cut the request: not acknowledged
			}
			note("ingest", status)
			switch status {
			case http.StatusOK:
				ack(sender, 1000)
			case http.StatusTooManyRequests, http.StatusServiceUnavailable:
				time.Sleep(100 * time.Millisecond)
			}
		})
	}

	// Queries of many shapes, three at a time.
	shapes := []string{
		"Soak_CL | count",
		"Soak_CL | where level_s == 'error' | count",
		"Soak_CL | summarize count() by status_d",
		"Soak_CL | where trace_id_s == '0000000000000001' | take 1 | project status_d",
		"Soak_CL | summarize avg(latency_ms_d) by bin(TimeGenerated, 1m)",
		"Soak_CL | top 10 by latency_ms_d desc",
		"Soak_CL | summarize dcount(user_s) by host_s",
		"Soak_CL | extend x = latency_ms_d * 2 | summarize max(x), min(x), sum(bytes_d)",
		"Soak_CL | where path_s has 'orders' and status_d >= 500 | summarize count() by method_s",
		"Soak_CL | sort by path_s asc | take 5",
		"Soak_CL | where TimeGenerated > ago(2h) | summarize countif(level_s == 'warn') by sender_s",
	}
	for g := range 3 {
		loop(func(i int) {
			n := (g*5 + i) % len(shapes)
			status, err := query(shapes[n], 0)
			if err == nil {
				note(fmt.Sprintf("query-%d", n), status)
			}
		})
	}

	// Pathological requests, one at a time.
	var extend, orChain strings.Builder
	extend.WriteString("Soak_CL | take 1000 | extend ")
	for i := 0; extend.Len() < 1<<20-200; i++ { // as many as the API's 1 MiB body holds
		if i > 0 {
			extend.WriteString(", ")
		}
		fmt.Fprintf(&extend, "c%d = latency_ms_d * 2", i)
	}
	extend.WriteString(" | count")
	orChain.WriteString("Soak_CL | where ")
	for i := 0; orChain.Len() < 1<<20-100; i++ {
		if i > 0 {
			orChain.WriteString(" or ")
		}
		fmt.Fprintf(&orChain, "status_d == %d", i)
	}
	orChain.WriteString(" | count")
	big := soakBatch(rand.New(rand.NewSource(99)), "big", 0, 94000) // ~30 MB
	if len(big) > 30<<20 {
		big = soakBatch(rand.New(rand.NewSource(99)), "big", 0, 90000)
	}
	patho := []func(){
		func() {
			if s, err := query(extend.String(), 30); err == nil {
				note("extend-1MB", s)
			}
		},
		func() {
			if s, err := query(orChain.String(), 30); err == nil {
				note("or-chain-1MB", s)
			}
		},
		func() {
			if s, err := query("Soak_CL | sort by path_s asc", 30); err == nil {
				note("whole-table", s)
			}
		},
		func() {
			if s, err := post(big, ws, "AAAA"+key[4:]); err == nil {
				note("30MB-unsigned", s)
			}
		},
		func() {
			s, err := post(big, ws, key)
			if err == nil {
				note("30MB-signed", s)
				if s == http.StatusOK {
					bigAcked.Add(1)
				}
			}
		},
		func() {
			r := e.do(http.MethodPatch, e.workspacePath("rg", "ws-soak")+q(apiSDKMonitor), tok,
				`{"tags":{"a":"`+strings.Repeat("v", 1<<20)+`"}}`)
			note("huge-tag", r.status)
		},
	}
	for p := range 2 {
		loop(func(i int) { patho[(p*3+i)%len(patho)]() })
	}

	// Slow clients: bodies trickled a byte every 2 s.
	for range 20 {
		loop(func(int) { slowPost(ctx, e, ws) })
	}

	// /healthz must keep answering.
	healthFail := make(chan string, 10)
	wg.Add(1)
	go func() {
		defer wg.Done()
		hc := &http.Client{Transport: client.Transport, Timeout: 2 * time.Second}
		for ctx.Err() == nil {
			resp, err := hc.Get(e.endpoint + "/healthz")
			if err != nil && ctx.Err() == nil {
				select {
				case healthFail <- err.Error():
				default:
				}
			} else if err == nil {
				resp.Body.Close()
			}
			time.Sleep(200 * time.Millisecond)
		}
	}()

	wg.Wait()
	close(errs)
	close(healthFail)
	for msg := range healthFail {
		t.Errorf("/healthz: %s", msg)
	}
	for msg := range errs {
		t.Errorf("server error: %s", msg)
	}
	outcome.Range(func(k, v any) bool {
		t.Logf("%-24s %d", k, v.(*atomic.Int64).Load())
		return true
	})

	// Every acknowledged record is there.
	want := map[string]int64{}
	acked.Range(func(k, v any) bool {
		want[k.(string)] = v.(*atomic.Int64).Load()
		return true
	})
	want["big"] = bigAcked.Load() * int64(strings.Count(string(big), `"sender":"big"`))
	if want["big"] == 0 {
		delete(want, "big")
	}
	got := e.countBy(t, ws, qtok, "Soak_CL | summarize count() by sender_s")
	var total int64
	for s, n := range want {
		total += n
		if got[s] < n {
			t.Errorf("sender %s: %d rows acknowledged, %d queryable", s, n, got[s])
		}
	}
	t.Logf("%d rows acknowledged in %ds (%.0f/s)", total, secs, float64(total)/float64(secs))

	peak := procPeakRSS(t, pid)
	t.Logf("server peak RSS %d MiB", peak>>20)
	if peak > soakMaxRSS {
		t.Errorf("server peak RSS %d MiB, over %d MiB", peak>>20, soakMaxRSS>>20)
	}
}

var bigAcked atomic.Int64

// soakBatch is n genlogs-like records of sender, numbered from batch.
func soakBatch(r *rand.Rand, sender string, batch, n int) []byte {
	body := genlogsBatch(r, batch*n, n)
	return []byte(strings.ReplaceAll(body, `"service":"checkout"`, `"service":"checkout","sender":"`+sender+`"`))
}

// slowPost sends a Data Collector request whose body trickles in a byte
// every 2 s, as a slow-loris client does, until the server or the context
// ends it.
func slowPost(ctx context.Context, e *env, ws string) {
	conn, err := tls.Dial("tcp", strings.TrimPrefix(e.endpoint, "https://"), e.client.Transport.(*http.Transport).TLSClientConfig)
	if err != nil {
		return
	}
	defer conn.Close()
	go func() { <-ctx.Done(); conn.Close() }()
	fmt.Fprintf(conn, "POST /api/logs?api-version=2016-04-01 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\nLog-Type: Slow\r\nx-ms-date: %s\r\nAuthorization: SharedKey %s:AAAA\r\n\r\n",
		time.Now().UTC().Format(http.TimeFormat), ws)
	for ctx.Err() == nil {
		if _, err := conn.Write([]byte("[")); err != nil {
			return
		}
		time.Sleep(2 * time.Second)
	}
}

// countBy runs a "summarize count() by X" query and returns the counts.
func (e *env) countBy(t testing.TB, ws, tok, kql string) map[string]int64 {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"query": kql})
	req, _ := http.NewRequest(http.MethodPost, e.endpoint+"/v1/workspaces/"+ws+"/query", strings.NewReader(string(body)))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Prefer", "wait=600")
	hc := &http.Client{Transport: e.client.Transport, Timeout: 10 * time.Minute}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Tables []struct {
			Rows [][]any `json:"rows"`
		} `json:"tables"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK || len(out.Tables) == 0 {
		t.Fatalf("%s: %d %v", kql, resp.StatusCode, err)
	}
	m := map[string]int64{}
	for _, row := range out.Tables[0].Rows {
		k, _ := row[0].(string)
		n, _ := row[1].(float64)
		m[k] = int64(n)
	}
	return m
}

// startProcess builds kustodian and runs it as a child process on a free
// port and a fresh data directory; it returns the env and the child's pid.
func startProcess(t *testing.T) (*env, int) {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "kustodian")
	build := exec.Command("go", "build", "-o", bin, "../cmd/kustodian")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		t.Fatalf("build: %v", err)
	}
	data := filepath.Join(dir, "data")
	cmd := exec.Command(bin, "serve", "--listen", "127.0.0.1:0", "--data-dir", data,
		"--cluster-provisioning-delay", "300ms", "--log-level", "warn")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if testing.Verbose() {
				t.Log("server: " + sc.Text())
			}
		}
	}()
	e := &env{t: t, dataDir: data, done: make(chan error, 1)}
	e.cancel = func() { _ = cmd.Process.Signal(syscall.SIGTERM) }
	go func() { e.done <- cmd.Wait() }()
	t.Cleanup(e.stop)
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, err := os.ReadFile(filepath.Join(data, "bootstrap.json"))
		if err == nil && json.Unmarshal(b, &e.boot) == nil && !strings.HasSuffix(e.boot.Endpoint, ":0/") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the server wrote no bootstrap.json")
		}
		time.Sleep(50 * time.Millisecond)
	}
	e.endpoint = strings.TrimSuffix(e.boot.Endpoint, "/")
	e.initClient(t)
	e.cred = e.credential(e.boot.ClientID, e.boot.ClientSecret)
	waitReady(t, e)
	return e, cmd.Process.Pid
}

// tokenFor returns a bearer token of the bootstrap principal for audience.
func (e *env) tokenFor(t testing.TB, audience string) string {
	t.Helper()
	tok, err := e.cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{audience + "/.default"}})
	if err != nil {
		t.Fatal(err)
	}
	return tok.Token
}

// procPeakRSS returns a process's peak resident set size (VmHWM).
func procPeakRSS(t testing.TB, pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("read the server's status: %v", err)
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in the server's status")
	return 0
}
