package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"
)

// rawPut is a goroutine-safe PUT (env.do may only fail the test from the
// test's goroutine).
func (e *env) rawPut(path, tok, body string) (int, string, error) {
	req, err := http.NewRequest(http.MethodPut, e.endpoint+path, bytes.NewBufferString(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// TestConcurrentWrites: many concurrent writes of one subscription all
// succeed, promptly, including those that check the caller's rights on a
// second resource (a component associated with a cluster).
func TestConcurrentWrites(t *testing.T) {
	t.Parallel()
	e, tok := setup(t, options{}, "rg")
	// The transport may dial connections it then never uses; the server's
	// graceful shutdown waits 5 s for those. Close them before it stops.
	t.Cleanup(e.client.CloseIdleConnections)
	ai := e.readyCluster(t, tok, "rg", "ai-cluster", "eastus", "ApplicationInsights")
	clusterID := str(t, ai, "properties", "clusterId")

	const n = 24
	type result struct {
		what   string
		status int
		body   string
		err    error
	}
	results := make(chan result, 2*n)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range n {
		wg.Add(2)
		go func() {
			defer wg.Done()
			path := e.componentPath("rg", fmt.Sprintf("app-%02d", i)) + q(apiSeedComponent)
			st, body, err := e.rawPut(path, tok, `{"location":"eastus","kind":"web","properties":{"clusterDefinitionId":"`+clusterID+`"}}`)
			results <- result{"component " + path, st, body, err}
		}()
		go func() {
			defer wg.Done()
			path := e.workspacePath("rg", fmt.Sprintf("ws-%02d", i)) + q(apiSDKMonitor)
			st, body, err := e.rawPut(path, tok, `{"location":"eastus"}`)
			results <- result{"workspace " + path, st, body, err}
		}()
	}
	wg.Wait()
	close(results)
	elapsed := time.Since(start)
	for r := range results {
		if r.err != nil || (r.status != http.StatusOK && r.status != http.StatusCreated) {
			t.Errorf("%s: %d %v %s", r.what, r.status, r.err, r.body)
		}
	}
	t.Logf("%d concurrent writes took %v", 2*n, elapsed)
	if elapsed > 5*time.Second {
		t.Errorf("%d concurrent writes took %v", 2*n, elapsed)
	}
}
