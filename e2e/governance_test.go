package e2e

import (
	"bufio"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// collectorAuth returns the SharedKey Authorization of a Data Collector post
// of length bytes dated date.
func collectorAuth(ws, key string, length int64, date string) string {
	k, _ := base64.StdEncoding.DecodeString(key)
	mac := hmac.New(sha256.New, k)
	fmt.Fprintf(mac, "POST\n%d\napplication/json\nx-ms-date:%s\n/api/logs", length, date)
	return "SharedKey " + ws + ":" + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// rawConn is an HTTP/1.1 request written by hand over TLS: the headers
// first, the body (if any) at the test's pace.
type rawConn struct {
	*tls.Conn
	br *bufio.Reader
}

// rawPost sends the headers of a Data Collector post declaring length
// bytes, signed with key (a wrong key makes a wrong signature).
func (e *env) rawPost(t testing.TB, ws, key, logType string, length int64) *rawConn {
	t.Helper()
	tr := e.client.Transport.(*http.Transport)
	host := strings.TrimPrefix(e.endpoint, "https://")
	c, err := tls.Dial("tcp", host, tr.TLSClientConfig)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	date := time.Now().UTC().Format(http.TimeFormat)
	fmt.Fprintf(c, "POST /api/logs?api-version=2016-04-01 HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nLog-Type: %s\r\n"+
		"x-ms-date: %s\r\nAuthorization: %s\r\nContent-Length: %d\r\n\r\n", host, logType, date, collectorAuth(ws, key, length, date), length)
	return &rawConn{Conn: c, br: bufio.NewReader(c)}
}

// response reads the answer, waiting at most d; the error is the
// connection's if none came.
func (c *rawConn) response(d time.Duration) (*http.Response, string, error) {
	c.SetReadDeadline(time.Now().Add(d))
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return nil, "", err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body), err
}

// closedBy reports whether the server closes the connection within d.
func (c *rawConn) closedBy(d time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(d))
	_, err := c.br.ReadByte()
	return err != nil && !isTimeout(err)
}

func isTimeout(err error) bool {
	ne, ok := err.(interface{ Timeout() bool })
	return ok && ne.Timeout()
}

func apiErrorCode(t testing.TB, body string) string {
	t.Helper()
	var e struct{ Error, Message string }
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error == "" || e.Message == "" {
		t.Fatalf("error body %q is not the Data Collector's {Error, Message}", body)
	}
	return e.Error
}

// Attack 1: the body was read (up to 30 MiB) before the signature was
// checked. Now a post with a bad signature is answered, and its connection
// closed, without the client sending a byte of its body.
func TestCollectorAnswersBeforeTheBody(t *testing.T) {
	e, tok := setup(t, options{}, "rg")
	e.mkWorkspace(t, tok, "rg", "ws-gov", "eastus")
	ws, _ := e.workspaceKeys(t, tok, "rg", "ws-gov")
	wrong := base64.StdEncoding.EncodeToString(make([]byte, 64))
	var wg sync.WaitGroup
	for i := range 32 {
		wg.Go(func() {
			// Large declared bodies, and small ones (which net/http would
			// otherwise wait for, to keep the connection).
			length := int64(30 << 20)
			if i%2 == 1 {
				length = 1000
			}
			c := e.rawPost(t, ws, wrong, "Attack", length)
			resp, body, err := c.response(10 * time.Second)
			if err != nil {
				t.Errorf("post %d: no answer without the body: %v", i, err)
				return
			}
			if resp.StatusCode != http.StatusForbidden || apiErrorCode(t, body) != "InvalidAuthorization" {
				t.Errorf("post %d: %d %s", i, resp.StatusCode, body)
			}
			if !c.closedBy(5 * time.Second) {
				t.Errorf("post %d: the connection stays open for a body nobody reads", i)
			}
		})
	}
	wg.Wait()
}

// Attack 2: no admission control. Posts are admitted by their declared
// length before their body is read: a workspace over its share gets 429, a
// saturated server 503, both with Retry-After in the API's error shape;
// other workspaces go on, and everything is released afterwards.
func TestCollectorAdmission(t *testing.T) {
	e, tok := setup(t, options{
		ingestBodyBytes: 64 << 20, ingestBatchBytes: 96 << 20, admissionClientShare: 50, admissionWait: 300 * time.Millisecond,
	}, "rg")
	keys := map[string][2]string{}
	for _, name := range []string{"ws-1", "ws-2", "ws-3"} {
		e.mkWorkspace(t, tok, "rg", name, "eastus")
		id, key := e.workspaceKeys(t, tok, "rg", name)
		keys[name] = [2]string{id, key}
	}
	// Two 30 MiB posts in flight, from ws1 and ws2, their bodies pending:
	// 60 of the 64 MiB of bodies, 90 of the 96 MiB of batches.
	var held []*rawConn
	for _, name := range []string{"ws-1", "ws-2"} {
		c := e.rawPost(t, keys[name][0], keys[name][1], "Big", 30<<20)
		c.Write([]byte("["))
		held = append(held, c)
	}
	deadline := time.Now().Add(10 * time.Second)
	for inFlight(t, e, "ingest_bodies") < 60<<20 {
		if time.Now().After(deadline) {
			t.Fatalf("the held posts were not admitted: %v bytes in flight", inFlight(t, e, "ingest_bodies"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	tests := []struct {
		name   string
		ws     string
		length int64
		status int
		code   string
	}{
		{"ws-1 over its share", "ws-1", 3 << 20, http.StatusTooManyRequests, "TooManyRequests"},
		{"ws-3 finds the server saturated", "ws-3", 5 << 20, http.StatusServiceUnavailable, "ServiceUnavailable"},
	}
	for _, tt := range tests {
		c := e.rawPost(t, keys[tt.ws][0], keys[tt.ws][1], "Small", tt.length)
		resp, body, err := c.response(10 * time.Second)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if resp.StatusCode != tt.status || apiErrorCode(t, body) != tt.code || resp.Header.Get("Retry-After") != "1" {
			t.Fatalf("%s: %d %s, Retry-After %q", tt.name, resp.StatusCode, body, resp.Header.Get("Retry-After"))
		}
	}
	// A small post of ws3 fits.
	if r := e.postLogs(t, keys["ws-3"][0], keys["ws-3"][1], "Small", `[{"a":1}]`); r.status != http.StatusOK {
		t.Fatalf("small post: %d %s", r.status, r.body)
	}
	// The held posts give up: everything is released.
	for _, c := range held {
		c.Close()
	}
	deadline = time.Now().Add(10 * time.Second)
	for inFlight(t, e, "ingest_bodies") != 0 || inFlight(t, e, "ingest_batches") != 0 {
		if time.Now().After(deadline) {
			t.Fatal("admission not released after the clients left")
		}
		time.Sleep(20 * time.Millisecond)
	}
	rejected := map[string]float64{}
	for _, s := range e.scrape(t, "kustodian_admission_rejected_total") {
		if s.labels["pool"] == "ingest_bodies" {
			rejected[s.labels["reason"]] = s.value
		}
	}
	if rejected["client"] != 1 || rejected["saturated"] != 1 {
		t.Fatalf("rejections by reason: %v", rejected)
	}
	for _, name := range []string{"kustodian_admission_capacity", "kustodian_admission_admitted_total", "kustodian_admission_waiting"} {
		if len(e.scrape(t, name)) == 0 {
			t.Errorf("/metrics lacks %s", name)
		}
	}
}

// inFlight returns kustodian_admission_in_flight of a pool.
func inFlight(t *testing.T, e *env, pool string) float64 {
	t.Helper()
	for _, s := range e.scrape(t, "kustodian_admission_in_flight") {
		if s.labels["pool"] == pool {
			return s.value
		}
	}
	t.Fatalf("/metrics has no kustodian_admission_in_flight{pool=%q}", pool)
	return 0
}

// Attack 3: bodies trickling in a byte at a time held their connections
// for as long as the client liked. A body must keep a minimum pace (here
// 1 KiB/s after 0.5 s of waiting): fifty slow-loris posts are cut off in
// about a second, while a slow but steady upload succeeds.
func TestSlowBodiesAreCutOff(t *testing.T) {
	e, tok := setup(t, options{bodyMinRate: 1 << 10, bodyReadGrace: 500 * time.Millisecond}, "rg")
	e.mkWorkspace(t, tok, "rg", "ws-gov", "eastus")
	ws, key := e.workspaceKeys(t, tok, "rg", "ws-gov")

	start := time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var slowest time.Duration
	for i := range 50 {
		wg.Go(func() {
			c := e.rawPost(t, ws, key, "Loris", 1000)
			stop := make(chan struct{})
			go func() { // one byte every 200 ms until the server hangs up
				for {
					select {
					case <-stop:
						return
					case <-time.After(200 * time.Millisecond):
						if _, err := c.Write([]byte(" ")); err != nil {
							return
						}
					}
				}
			}()
			defer close(stop)
			resp, body, err := c.response(30 * time.Second)
			if err == nil && (resp.StatusCode != http.StatusRequestTimeout || apiErrorCode(t, body) != "RequestTimeout") {
				t.Errorf("loris %d: %d %s", i, resp.StatusCode, body)
			}
			if err != nil && isTimeout(err) {
				t.Errorf("loris %d: still open after 30 s", i)
			}
			mu.Lock()
			slowest = max(slowest, time.Since(start))
			mu.Unlock()
		})
	}
	wg.Wait()
	t.Logf("50 slow-loris posts cut off within %v", slowest.Round(time.Millisecond))
	if slowest > 10*time.Second {
		t.Fatalf("the slow-loris posts took %v to cut off", slowest)
	}
	if n := timeouts(t, e, "ingest"); n != 50 {
		t.Fatalf("kustodian_http_body_timeouts_total{surface=ingest} = %v, want 50", n)
	}

	// Slow but steady: 8 KiB at about 5 KiB/s.
	body := "[" + strings.TrimSuffix(strings.Repeat(`{"msg":"a steady sender"},`, 320), ",") + "]"
	c := e.rawPost(t, ws, key, "Steady", int64(len(body)))
	for off := 0; off < len(body); off += 512 {
		if _, err := c.Write([]byte(body[off:min(off+512, len(body))])); err != nil {
			t.Fatalf("steady upload cut at %d bytes: %v", off, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	resp, rb, err := c.response(10 * time.Second)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("steady upload: %v %v %s", err, resp, rb)
	}
}

func timeouts(t *testing.T, e *env, surface string) float64 {
	t.Helper()
	for _, s := range e.scrape(t, "kustodian_http_body_timeouts_total") {
		if s.labels["surface"] == surface {
			return s.value
		}
	}
	return 0
}

// Attack 4: a post of 1,048,577 records (one more than a store block)
// got a 500 "can be retried", forever. It is stored whole.
func TestMillionRecordPost(t *testing.T) {
	e, tok := setup(t, options{}, "rg")
	e.mkWorkspace(t, tok, "rg", "ws-gov", "eastus")
	ws, key := e.workspaceKeys(t, tok, "rg", "ws-gov")
	const n = 1<<20 + 1
	body := "[" + strings.Repeat("{},", n-1) + "{}]"
	if r := e.postLogs(t, ws, key, "Tiny", body); r.status != http.StatusOK {
		t.Fatalf("post of %d records: %d %s", n, r.status, r.body)
	}
	if got, err := e.count(t, e.logsClient(t), ws, "Tiny_CL | count"); err != nil || got != n {
		t.Fatalf("count = %d, %v; want %d", got, err, n)
	}
}

// Attack 5: the 500-column limit was per post: seven posts of 400 new
// fields made a table of 2,804 columns. It holds per table, also for
// concurrent posts.
func TestColumnLimitPerTable(t *testing.T) {
	e, tok := setup(t, options{}, "rg")
	e.mkWorkspace(t, tok, "rg", "ws-gov", "eastus")
	ws, key := e.workspaceKeys(t, tok, "rg", "ws-gov")
	fields := func(prefix string, n int) string {
		var b strings.Builder
		b.WriteString("{")
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `"%s%d":%d`, prefix, i, i)
		}
		b.WriteString("}")
		return b.String()
	}
	for i := range 7 {
		r := e.postLogs(t, ws, key, "Wide", fields(fmt.Sprintf("p%d_", i), 400))
		switch {
		case i == 0 && r.status != http.StatusOK:
			t.Fatalf("post 0: %d %s", r.status, r.body)
		case i > 0 && (r.status != http.StatusBadRequest || apiErrorCode(t, string(r.body)) != "InvalidDataFormat" || !strings.Contains(string(r.body), "500")):
			t.Fatalf("post %d: %d %s", i, r.status, r.body)
		}
	}
	// Two concurrent posts of 300 new fields each: one fits.
	codes := make([]int, 2)
	var wg sync.WaitGroup
	for i := range codes {
		wg.Go(func() { codes[i] = e.postLogs(t, ws, key, "Race", fields(fmt.Sprintf("r%d_", i), 300)).status })
	}
	wg.Wait()
	if !(codes[0] == 200 && codes[1] == 400 || codes[0] == 400 && codes[1] == 200) {
		t.Fatalf("concurrent posts: %v", codes)
	}
}

// Attack 6: errors echoed unbounded input (a 10 KB Log-Type, a 100 KB
// customer id).
func TestErrorsDoNotEchoUnboundedInput(t *testing.T) {
	e, tok := setup(t, options{}, "rg")
	e.mkWorkspace(t, tok, "rg", "ws-gov", "eastus")
	ws, key := e.workspaceKeys(t, tok, "rg", "ws-gov")
	tests := []struct{ name, ws, logType, code string }{
		{"10 KB Log-Type", ws, strings.Repeat("L", 10<<10), "InvalidLogType"},
		{"100 KB customer id", strings.Repeat("c", 100<<10), "Ok", "InvalidCustomerId"},
	}
	for _, tt := range tests {
		r := e.postLogs(t, tt.ws, key, tt.logType, `{"a":1}`)
		if apiErrorCode(t, string(r.body)) != tt.code || len(r.body) > 512 {
			t.Fatalf("%s: %d, %d bytes: %.300s", tt.name, r.status, len(r.body), r.body)
		}
	}
}

// Attack 7: a captured post can be replayed while its x-ms-date is within
// the skew, as in Azure; --collector-replay-protection refuses it.
func TestCollectorReplayProtection(t *testing.T) {
	for _, on := range []bool{false, true} {
		t.Run("protection "+strconv.FormatBool(on), func(t *testing.T) {
			e, tok := setup(t, options{replayProtection: on}, "rg")
			e.mkWorkspace(t, tok, "rg", "ws-gov", "eastus")
			ws, key := e.workspaceKeys(t, tok, "rg", "ws-gov")
			body := `{"msg":"transfer 100 to mallory"}`
			date := time.Now().UTC().Format(http.TimeFormat)
			post := func() response {
				req, _ := http.NewRequest(http.MethodPost, e.endpoint+"/api/logs?api-version=2016-04-01", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Log-Type", "Replay")
				req.Header.Set("x-ms-date", date)
				req.Header.Set("Authorization", collectorAuth(ws, key, int64(len(body)), date))
				resp, err := e.client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return response{status: resp.StatusCode, body: b}
			}
			if r := post(); r.status != http.StatusOK {
				t.Fatalf("first post: %d %s", r.status, r.body)
			}
			r := post()
			switch {
			case !on && r.status != http.StatusOK:
				t.Fatalf("replay without protection: %d %s (Azure accepts it)", r.status, r.body)
			case on && (r.status != http.StatusConflict || apiErrorCode(t, string(r.body)) != "DuplicateRequest"):
				t.Fatalf("replay with protection: %d %s", r.status, r.body)
			}
		})
	}
}

// BenchmarkIngestLargePosts is the memory attack as a load: 8 senders each
// post 30 MB genlogs batches (~94,500 lines) three times, waiting out
// 429/503 answers for their Retry-After, at the default admission bounds.
// It reports lines/s, the refusals the senders waited out, and the peak
// resident memory of this process (server and senders: the senders hold
// one 30 MB body). It runs once whatever b.N is.
func BenchmarkIngestLargePosts(b *testing.B) {
	runOnce(b, func(b *testing.B) map[string]float64 {
		e, tok := setup(b, options{}, "rg")
		e.mkWorkspace(b, tok, "rg", "ws-bench", "eastus")
		ws, key := e.workspaceKeys(b, tok, "rg", "ws-bench")
		const lines = 94500
		body := genlogsBatch(rand.New(rand.NewSource(1)), 0, lines)
		var stored, refused atomic.Int64
		start := time.Now()
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for done := 0; done < 3; {
					r, err := e.postLogsRaw(ws, key, "Large", body)
					switch {
					case err != nil:
						b.Error(err)
						return
					case r.status == http.StatusOK:
						stored.Add(1)
						done++
					case r.status == http.StatusTooManyRequests || r.status == http.StatusServiceUnavailable:
						refused.Add(1)
						wait, _ := strconv.Atoi(r.header.Get("Retry-After"))
						time.Sleep(time.Duration(max(wait, 1)) * time.Second)
					default:
						b.Errorf("post: %d %s", r.status, r.body)
						return
					}
				}
			})
		}
		wg.Wait()
		m := map[string]float64{
			"lines/s":  float64(stored.Load()*lines) / time.Since(start).Seconds(),
			"refusals": float64(refused.Load()),
		}
		if hwm := peakRSS(); hwm > 0 {
			m["peak-RSS-MiB"] = float64(hwm) / (1 << 20)
		}
		return m
	})
}
