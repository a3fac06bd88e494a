package store

import (
	"context"
	"io/fs"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkEngineAppend appends genlogs-shaped rows in batches of 1000 from
// parallel goroutines (as concurrent agents would) to an engine on the real
// file system, with Run flushing in the background, and reports lines/s and,
// after a final Flush, bytes on disk per line (segments plus what is left of
// the WAL).
func BenchmarkEngineAppend(b *testing.B) {
	const batch, nbatches = 1000, 200
	batches := ingestBatches(nbatches)
	env := newTestEnv(b, false)
	e := env.open(b)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.Run(ctx); close(done) }()
	var next, lines atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(4)
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1)
			if err := e.Append(context.Background(), "shared", []Rows{batches[i%nbatches]}); err != nil {
				b.Error(err)
				return
			}
			lines.Add(batch)
		}
	})
	elapsed := time.Since(start)
	b.StopTimer()
	cancel()
	<-done
	if err := e.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	var size int64
	filepath.WalkDir(env.dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				size += fi.Size()
			}
		}
		return nil
	})
	b.ReportMetric(float64(lines.Load())/elapsed.Seconds(), "lines/s")
	b.ReportMetric(float64(size)/float64(lines.Load()), "disk-bytes/line")
	if err := e.Close(context.Background()); err != nil {
		b.Fatal(err)
	}
}

// ingestBatches returns n batches of 1000 genlogs rows shaped as the Data
// Collector API stores them.
func ingestBatches(n int) []Rows {
	const batch = 1000
	batches := make([]Rows, n)
	for i := range batches {
		blk := genIngestBlock(genRows(uint64(i), i*batch, batch, 1_000_000), genT0.Add(time.Duration(i)*time.Second))
		r := Rows{Workspace: testWS1, Table: "AppLogs_CL"}
		for _, c := range blk.Columns {
			if c.Name == TimeColumn {
				r.TimeGenerated = c.Ints
			} else {
				r.Columns = append(r.Columns, c)
			}
		}
		batches[i] = r
	}
	return batches
}

// BenchmarkEngineEncryptionCost compares the engine with and without
// encryption in one run: each round appends the same 300,000 genlogs rows
// in batches of 1000 from 4 goroutines (durable WAL appends with group
// commit, real file system) and flushes them to segments, once sealed with
// AES-256-GCM under per-object HKDF keys and once with a null cipher of the
// same sizes. Rounds alternate the two modes so drift in the machine (page
// cache, fsync latency) hits both; it reports both throughputs over all
// rounds and their ratio (encrypted/plaintext).
func BenchmarkEngineEncryptionCost(b *testing.B) {
	const nbatches, rounds = 300, 3
	batches := ingestBatches(nbatches)
	var took [2]time.Duration // 0 encrypted, 1 plaintext
	run := func(plain bool) time.Duration {
		benchNullCipher = plain
		defer func() { benchNullCipher = false }()
		env := newTestEnv(b, false)
		e := env.open(b)
		defer e.Close(context.Background())
		var next atomic.Int64
		start := time.Now()
		done := make(chan error, 4)
		for range 4 {
			go func() {
				for i := next.Add(1) - 1; i < nbatches; i = next.Add(1) - 1 {
					if err := e.Append(context.Background(), "shared", []Rows{batches[i]}); err != nil {
						done <- err
						return
					}
				}
				done <- nil
			}()
		}
		for range 4 {
			if err := <-done; err != nil {
				b.Fatal(err)
			}
		}
		if err := e.Flush(context.Background()); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	for b.Loop() {
		for r := range rounds {
			for k := range 2 {
				mode := (r + k) % 2 // alternate which mode goes first
				took[mode] += run(mode == 1)
			}
		}
	}
	lines := float64(b.N * rounds * nbatches * 1000)
	enc, plain := lines/took[0].Seconds(), lines/took[1].Seconds()
	b.ReportMetric(enc, "enc-lines/s")
	b.ReportMetric(plain, "plain-lines/s")
	b.ReportMetric(enc/plain, "enc/plain")
}

// BenchmarkEngineScan scans 500,000 genlogs rows in segments (one flush
// per 65,536 rows, as Run would) for one column, for row counts only, and
// for a needle with its equality; window=1 reads one block at a time.
func BenchmarkEngineScan(b *testing.B) {
	const nbatches = 500
	batches := ingestBatches(nbatches)
	env := newTestEnv(b, false)
	e := env.open(b, func(o *EngineOptions) { o.SegmentWindow = 24 * time.Hour })
	defer e.Close(context.Background())
	ctx := context.Background()
	for i, r := range batches {
		if err := e.Append(ctx, "shared", []Rows{r}); err != nil {
			b.Fatal(err)
		}
		if (i+1)%65 == 0 {
			if err := e.Flush(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := e.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	var needle string
	for _, c := range batches[350].Columns {
		if c.Name == "trace_id_s" {
			needle = c.Strings[17]
		}
	}
	for _, tc := range []struct {
		name string
		req  ScanRequest
	}{
		{"status", ScanRequest{Columns: []string{"status_d"}}},
		{"level", ScanRequest{Columns: []string{"level_s"}}},
		{"level-equal", ScanRequest{Columns: []string{"level_s"}, Equal: []Equal{{Column: "level_s", Value: "error"}}}},
		{"rows-only", ScanRequest{RowsOnly: true}},
		{"needle", ScanRequest{Columns: []string{"trace_id_s", "status_d"}, Equal: []Equal{{Column: "trace_id_s", Value: needle}}}},
	} {
		for _, window := range []int{1, 0} {
			name := tc.name
			if window == 1 {
				name += "/serial"
			}
			b.Run(name, func(b *testing.B) {
				scanWindow = window
				defer func() { scanWindow = 0 }()
				b.ReportAllocs()
				req := tc.req
				req.Workspace, req.Table = testWS1, "AppLogs_CL"
				for b.Loop() {
					it, err := e.Scan(ctx, req)
					if err != nil {
						b.Fatal(err)
					}
					rows := 0
					for {
						blk, err := it.Next(ctx)
						if err != nil {
							break
						}
						rows += blk.Rows
					}
					it.Close()
					if rows == 0 {
						b.Fatal("no rows")
					}
				}
			})
		}
	}
}
