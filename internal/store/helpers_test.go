package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/kustodian/kustodian/internal/datetime"
)

var errTestRevoked = errors.New("test: key revoked")

// testKeyring is a Keyring over fixed keys that can be revoked.
type testKeyring struct {
	mu      sync.Mutex
	keys    map[string]*AEK // account/generation -> key
	revoked bool
}

func newTestKeyring() *testKeyring { return &testKeyring{keys: map[string]*AEK{}} }

func (k *testKeyring) add(t testing.TB, account string, gen uint32, seed byte) *AEK {
	t.Helper()
	raw := make([]byte, AEKSize)
	for i := range raw {
		raw[i] = seed + byte(i)
	}
	aek, err := NewAEK(gen, raw)
	if err != nil {
		t.Fatal(err)
	}
	k.mu.Lock()
	k.keys[fmt.Sprintf("%s/%d", account, gen)] = aek
	k.mu.Unlock()
	return aek
}

func (k *testKeyring) AEK(_ context.Context, account string, gen uint32) (*AEK, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.revoked {
		return nil, errTestRevoked
	}
	aek, ok := k.keys[fmt.Sprintf("%s/%d", account, gen)]
	if !ok {
		return nil, fmt.Errorf("test: no AEK %s/%d", account, gen)
	}
	return aek, nil
}

// ticks returns t (within Kusto's range) in ticks.
func ticks(t time.Time) int64 {
	v, ok := datetime.FromTime(t)
	if !ok {
		panic(fmt.Sprintf("test time %v is outside Kusto's range", t))
	}
	return v
}

// detRand is a deterministic random source for tests.
func detRand(seed uint64) *rand.ChaCha8 {
	var s [32]byte
	s[0] = byte(seed)
	return rand.NewChaCha8(s)
}

var (
	genHosts = func() []string {
		h := make([]string, 50)
		for i := range h {
			h[i] = fmt.Sprintf("web-%02d.prod.eastus", i)
		}
		return h
	}()
	genMethods  = []string{"GET", "GET", "GET", "POST", "PUT", "DELETE"}
	genPaths    = []string{"/api/v1/items", "/api/v1/orders", "/api/v1/users", "/healthz", "/api/v2/search", "/login", "/static/app.js"}
	genLevels   = []string{"info", "info", "info", "info", "warn", "error", "debug"}
	genMsgs     = []string{"request completed", "cache miss for key", "upstream timeout, retrying", "user logged in", "payment authorised", "slow query detected", "connection reset by peer"}
	genStatuses = []int64{200, 200, 200, 200, 201, 204, 301, 400, 401, 403, 404, 500, 502, 503}
	genT0       = time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
)

// genRow is one log line of the shape of the genlogs benchmark workload.
type genRow struct {
	t                                             time.Time
	msg, host, level, method, path, user, traceID string
	status, bytes                                 int64
	latency                                       float64
}

// genRows returns n rows like genlogs (n lines spread over one day).
func genRows(seed uint64, start, n, total int) []genRow {
	r := rand.New(rand.NewPCG(seed, 1))
	rows := make([]genRow, n)
	for i := range rows {
		j := start + i
		rows[i] = genRow{
			t:       genT0.Add(time.Duration(j) * 86400 * time.Second / time.Duration(total)),
			msg:     fmt.Sprintf("%s id=%d", genMsgs[r.IntN(len(genMsgs))], r.IntN(1000000)),
			host:    genHosts[r.IntN(len(genHosts))],
			level:   genLevels[r.IntN(len(genLevels))],
			method:  genMethods[r.IntN(len(genMethods))],
			path:    fmt.Sprintf("%s/%d", genPaths[r.IntN(len(genPaths))], r.IntN(10000)),
			status:  genStatuses[r.IntN(len(genStatuses))],
			latency: r.ExpFloat64() * 40,
			bytes:   int64(r.IntN(50000)),
			user:    fmt.Sprintf("user%05d", r.IntN(20000)),
			traceID: fmt.Sprintf("%016x%016x", r.Uint64(), r.Uint64()),
		}
	}
	return rows
}

// json renders a row as genlogs does (about 317 bytes).
func (g *genRow) json() []byte {
	return fmt.Appendf(nil, `{"_time":"%s","_msg":"%s","host":"%s","level":"%s","method":"%s","path":"%s","status":%d,"latency_ms":%.2f,"bytes":%d,"user":"%s","trace_id":"%s","region":"eastus","service":"checkout"}`,
		g.t.Format(time.RFC3339Nano), g.msg, g.host, g.level, g.method, g.path, g.status, g.latency, g.bytes, g.user, g.traceID)
}

// genBlock returns a block of rows as the Data Collector API would store
// them (custom-log column suffixes).
func genBlock(rows []genRow) *Block {
	n := len(rows)
	b := &Block{Rows: n, Columns: make([]Column, 0, 16)} // capacity keeps col's pointers valid
	col := func(name string, t ColumnType) *Column {
		b.Columns = append(b.Columns, Column{Name: name, Type: t})
		return &b.Columns[len(b.Columns)-1]
	}
	tg := col(TimeColumn, TypeDateTime)
	tg.Ints = make([]int64, n)
	strs := map[string]func(*genRow) string{
		"Message": func(g *genRow) string { return g.msg }, "host_s": func(g *genRow) string { return g.host },
		"level_s": func(g *genRow) string { return g.level }, "method_s": func(g *genRow) string { return g.method },
		"path_s": func(g *genRow) string { return g.path }, "user_s": func(g *genRow) string { return g.user },
		"trace_id_s": func(g *genRow) string { return g.traceID }, "region_s": func(*genRow) string { return "eastus" },
		"service_s": func(*genRow) string { return "checkout" },
	}
	for _, name := range []string{"Message", "host_s", "level_s", "method_s", "path_s", "user_s", "trace_id_s", "region_s", "service_s"} {
		c := col(name, TypeString)
		c.Strings = make([]string, n)
		for i := range rows {
			c.Strings[i] = strs[name](&rows[i])
		}
	}
	st, by, lat := col("status_d", TypeLong), col("bytes_d", TypeLong), col("latency_ms_d", TypeReal)
	st.Ints, by.Ints, lat.Floats = make([]int64, n), make([]int64, n), make([]float64, n)
	for i := range rows {
		tg.Ints[i] = ticks(rows[i].t)
		st.Ints[i], by.Ints[i], lat.Floats[i] = rows[i].status, rows[i].bytes, rows[i].latency
	}
	return b
}
