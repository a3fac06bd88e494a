package e2e

import (
	"context"
	"fmt"
	"math/rand"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/monitor/query/azlogs"
)

// genlogsBatch returns n JSON log lines shaped like ../shared/bench/genlogs.go
// writes them (~310 bytes each), as one JSON array.
func genlogsBatch(r *rand.Rand, start, n int) string {
	hosts := 50
	methods := []string{"GET", "GET", "GET", "POST", "PUT", "DELETE"}
	paths := []string{"/api/v1/items", "/api/v1/orders", "/api/v1/users", "/healthz", "/api/v2/search", "/login", "/static/app.js"}
	levels := []string{"info", "info", "info", "info", "warn", "error", "debug"}
	msgs := []string{"request completed", "cache miss for key", "upstream timeout, retrying", "user logged in", "payment authorised", "slow query detected", "connection reset by peer"}
	statuses := []int{200, 200, 200, 200, 201, 204, 301, 400, 401, 403, 404, 500, 502, 503}
	t0 := time.Now().UTC().Add(-time.Hour)
	var b strings.Builder
	b.WriteByte('[')
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		ts := t0.Add(time.Duration(start+i) * time.Millisecond)
		fmt.Fprintf(&b, `{"_time":"%s","_msg":"%s id=%d","host":"web-%02d.prod.eastus","level":"%s","method":"%s","path":"%s/%d","status":%d,"latency_ms":%.2f,"bytes":%d,"user":"user%05d","trace_id":"%016x%016x","region":"eastus","service":"checkout"}`,
			ts.Format(time.RFC3339Nano), msgs[r.Intn(len(msgs))], r.Intn(1000000), r.Intn(hosts), levels[r.Intn(len(levels))],
			methods[r.Intn(len(methods))], paths[r.Intn(len(paths))], r.Intn(10000), statuses[r.Intn(len(statuses))],
			r.ExpFloat64()*40, r.Intn(50000), r.Intn(20000), r.Uint64(), r.Uint64())
	}
	b.WriteByte(']')
	return b.String()
}

// BenchmarkIngestHTTPS measures ingestion end to end: the Data Collector
// API over HTTPS with SharedKey signatures, batches of 1000 genlogs lines
// from 8 concurrent senders, each acknowledged only once durable in the
// encrypted WAL. It reports lines/s and, after a flush, bytes on disk per
// line.
func BenchmarkIngestHTTPS(b *testing.B) {
	dir := b.TempDir()
	e, tok := setup(b, options{dataDir: dir}, "rg")
	e.mkWorkspace(b, tok, "rg", "ws-bench", "eastus")
	ws, key := e.workspaceKeys(b, tok, "rg", "ws-bench")
	const batch = 1000
	r := rand.New(rand.NewSource(1))
	// Distinct lines for every batch (up to 400 batches), so compression
	// is not flattered by repetition.
	bodies := make([]string, min(b.N, 400))
	for i := range bodies {
		bodies[i] = genlogsBatch(r, i*batch, batch)
	}
	var lines atomic.Int64
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				resp := e.postLogs(b, ws, key, "Bench", bodies[i%int64(len(bodies))])
				if resp.status != http.StatusOK {
					b.Errorf("post: %d %s", resp.status, resp.body)
					return
				}
				lines.Add(batch)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(lines.Load())/elapsed.Seconds(), "lines/s")
	if hwm := peakRSS(); hwm > 0 {
		// Server and senders share this process: an upper bound for the server.
		b.ReportMetric(float64(hwm)/(1<<20), "peak-RSS-MiB")
	}
	e.stop()
	if n := lines.Load(); n > 0 {
		b.ReportMetric(float64(dataBytes(b, dir))/float64(n), "disk-bytes/line")
	}
}

// BenchmarkQueryOverStore measures the Query API over 1 million genlogs
// lines read from encrypted segments (decrypt, decompress, decode, scan):
// the five queries through the azlogs client over HTTPS.
func BenchmarkQueryOverStore(b *testing.B) {
	dir := b.TempDir()
	addr := freeAddr(b)
	e, tok := setup(b, options{dataDir: dir, listen: addr}, "rg")
	e.mkWorkspace(b, tok, "rg", "ws-q", "eastus")
	ws, key := e.workspaceKeys(b, tok, "rg", "ws-q")
	const total, batch = 1_000_000, 1000
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(seed int64) {
			defer wg.Done()
			r := rand.New(rand.NewSource(seed))
			for {
				i := next.Add(1) - 1
				if i >= total/batch {
					return
				}
				if resp := e.postLogs(b, ws, key, "Bench", genlogsBatch(r, int(i)*batch, batch)); resp.status != http.StatusOK {
					b.Errorf("post: %d", resp.status)
					return
				}
			}
		}(int64(w))
	}
	wg.Wait()
	e.stop() // flush everything to segments
	e = start(b, options{dataDir: dir, listen: addr})
	logs := e.logsClient(b)
	hour := time.Now().UTC().Add(-time.Hour).Truncate(time.Minute)
	queries := []struct{ name, q string }{
		{"count", "Bench_CL | count"},
		{"filtered-count", "Bench_CL | where level_s == 'error' | count"},
		{"count-by-column", "Bench_CL | summarize count() by level_s"},
		{"needle", "Bench_CL | where user_s == 'user01234' | take 1"},
		{"hour-slice-avg", fmt.Sprintf("Bench_CL | where _time_t between (datetime(%s) .. 1h) | summarize avg(latency_ms_d)", hour.Format(time.RFC3339))},
	}
	for _, qq := range queries {
		b.Run(qq.name, func(b *testing.B) {
			q := qq.q
			for i := 0; i < b.N; i++ {
				resp, err := logs.QueryWorkspace(context.Background(), ws, azlogs.QueryBody{Query: &q}, nil)
				if err != nil || len(resp.Tables) != 1 {
					b.Fatalf("%s: %v", qq.name, err)
				}
			}
		})
	}
}

// peakRSS returns the process's peak resident set size in bytes (Linux),
// or 0.
func peakRSS() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kb int64
			fmt.Sscanf(strings.TrimSpace(rest), "%d", &kb)
			return kb << 10
		}
	}
	return 0
}

// BenchmarkLogsIngestionHTTPS measures the Logs Ingestion API end to end,
// as BenchmarkIngestHTTPS does the Data Collector's: 8 senders of
// 1000-record batches (~300 bytes a record) over HTTPS with bearer tokens,
// through a data collection rule whose transformation filters, renames and
// projects, each acknowledged (204) only once durable in the encrypted WAL.
func BenchmarkLogsIngestionHTTPS(b *testing.B) {
	e, tok := setup(b, options{}, "rg")
	s := e.setupDCR(b, tok, "rg", "ws-bench-li")
	publisher, oid := e.newPrincipal(b, "publisher")
	expect(b, e.assign(b, tok, s.ruleID, monitorPublisherRole, oid), http.StatusCreated, "")
	ptok := e.ingestToken(b, publisher)
	const batch = 1000
	r := rand.New(rand.NewSource(1))
	bodies := make([]string, min(b.N, 100))
	t0 := time.Now().UTC().Add(-time.Hour)
	for i := range bodies {
		var sb strings.Builder
		sb.WriteByte('[')
		for j := range batch {
			if j > 0 {
				sb.WriteByte(',')
			}
			fmt.Fprintf(&sb, `{"TimeGenerated":"%s","Message":"GET /api/v1/orders/%d status=%d latency_ms=%.2f user=user%05d trace_id=%016x%016x region=eastus service=checkout %s","Level":%d,"Computer":"web-%02d.prod.eastus"}`,
				t0.Add(time.Duration(i*batch+j)*time.Millisecond).Format(time.RFC3339Nano), r.Intn(10000), 200+r.Intn(4)*100,
				r.ExpFloat64()*40, r.Intn(20000), r.Uint64(), r.Uint64(), strings.Repeat("x", r.Intn(80)), 2+r.Intn(3), r.Intn(50))
		}
		sb.WriteByte(']')
		bodies[i] = sb.String()
	}
	var lines atomic.Int64
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				if code, ok := tryIngest(e, s, ptok, bodies[i%int64(len(bodies))]); !ok || code != http.StatusNoContent {
					b.Errorf("ingest: %d", code)
					return
				}
				lines.Add(batch)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(lines.Load())/elapsed.Seconds(), "lines/s")
}
