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
	batches := make([]Rows, nbatches)
	for i := range batches {
		blk := genBlock(genRows(uint64(i), i*batch, batch, 1_000_000))
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
