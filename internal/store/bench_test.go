package store

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kustodian/kustodian/internal/store/vfs"
)

const benchRows = 8192

// genIngestBlock returns rows as the Data Collector API stores genlogs
// lines: numbers are reals (the _d suffix), latency has the two decimals of
// the JSON, _time becomes the datetime column _time_t, and TimeGenerated
// is the receive time of each batch of 1000 lines.
func genIngestBlock(rows []genRow, received time.Time) *Block {
	b := genBlock(rows)
	for i := range b.Columns {
		c := &b.Columns[i]
		switch c.Name {
		case TimeColumn:
			c.Name = "_time_t"
			tg := Column{Name: TimeColumn, Type: TypeDateTime, Ints: make([]int64, len(rows))}
			for j := range tg.Ints {
				tg.Ints[j] = ticks(received.Add(time.Duration(j/1000) * 5 * time.Millisecond))
			}
			b.Columns = append(b.Columns, tg)
		case "status_d", "bytes_d":
			c.Type, c.Floats = TypeReal, make([]float64, len(c.Ints))
			for j, v := range c.Ints {
				c.Floats[j] = float64(v)
			}
			c.Ints = nil
		case "latency_ms_d":
			for j, v := range c.Floats {
				c.Floats[j] = math.Round(v*100) / 100
			}
		}
	}
	return b
}

// BenchmarkBlock measures one block of 8192 genlogs rows: columnar encoding
// plus zstd only, and the same plus sealing, and reports bytes per line
// for both so the encryption overhead shows in one run.
func BenchmarkBlock(b *testing.B) {
	rows := genRows(1, 0, benchRows, 1_000_000)
	blk := genIngestBlock(rows, genT0)
	if err := blk.Validate(); err != nil {
		b.Fatal(err)
	}
	jsonBytes := 0
	for i := range rows {
		jsonBytes += len(rows[i].json())
	}
	kr := newTestKeyring()
	aek := kr.add(b, "acct", 1, 1)
	bind := &binding{account: "acct", kind: kindBlock, index: 1}
	var raw, body, sealed []byte
	b.Run("compress-only", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(jsonBytes))
		for b.Loop() {
			raw = blk.marshal(raw[:0])
			body, _ = compressBody(body[:0], raw, codecZstd, false)
		}
		b.ReportMetric(float64(len(body))/benchRows, "bytes/line")
		b.ReportMetric(float64(jsonBytes)/benchRows, "json-bytes/line")
		b.ReportMetric(float64(len(raw))/benchRows, "columnar-bytes/line")
	})
	b.Run("compress+seal", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(jsonBytes))
		for b.Loop() {
			raw = blk.marshal(raw[:0])
			body, _ = compressBody(body[:0], raw, codecZstd, false)
			sealed, _ = sealEnvelope(sealed[:0], detRand(1), aek, bind, body)
		}
		b.ReportMetric(float64(len(sealed))/benchRows, "bytes/line")
		b.ReportMetric(float64(len(sealed))/float64(len(body)), "sealed/plain")
	})
	b.Run("open+decompress+decode", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(jsonBytes))
		for b.Loop() {
			p, err := openEnvelope(nil, aek, bind, sealed)
			if err != nil {
				b.Fatal(err)
			}
			r, _ := decompressBody(nil, p)
			if _, err := unmarshalBlock(r, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkSegmentBytesPerLine writes 4 blocks of 65536 genlogs rows (the
// engine's block size) into one segment on MemFS and reports on-disk bytes
// per line, and reads them back whole and one column at a time.
func BenchmarkSegmentBytesPerLine(b *testing.B) {
	const blockRows = segmentBlockRows
	const total = 4 * blockRows
	blocks := make([]*Block, total/blockRows)
	for i := range blocks {
		blocks[i] = genIngestBlock(genRows(uint64(i), i*blockRows, blockRows, 1_000_000), genT0.Add(time.Duration(i)*time.Minute))
	}
	kr := newTestKeyring()
	aek := kr.add(b, "acct", 1, 1)
	for b.Loop() {
		fsys := vfs.NewMemFS()
		_ = fsys.MkdirAll("/s", 0o700)
		w, err := CreateSegment(fsys, "/s/x", SegmentOptions{Account: "acct", AEK: aek})
		if err != nil {
			b.Fatal(err)
		}
		for _, blk := range blocks {
			if _, err := w.Append(blk); err != nil {
				b.Fatal(err)
			}
		}
		m, err := w.Finish()
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(m.Size)/total, "bytes/line")
	}
	b.ReportMetric(float64(total*b.N)/b.Elapsed().Seconds(), "lines/s")
}

// BenchmarkWALAppend measures durable appends on the real filesystem with
// group commit: appenders each send batches of 500 genlogs JSON lines (as an
// agent posts them) and every Append waits for fsync.
func BenchmarkWALAppend(b *testing.B) {
	const batch = 500
	rows := genRows(1, 0, batch*16, batch*16)
	lines := make([][]byte, len(rows))
	for i := range rows {
		lines[i] = rows[i].json()
	}
	for _, appenders := range []int{1, 8} {
		for _, compress := range []bool{true, false} {
			b.Run(fmt.Sprintf("appenders=%d/zstd=%v", appenders, compress), func(b *testing.B) {
				kr := newTestKeyring()
				kr.add(b, "acct", 1, 1)
				w, err := OpenWAL(vfs.OS, b.TempDir(), WALOptions{Account: "acct", Keyring: kr, Generation: 1,
					NoCompression: !compress, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
				if err != nil {
					b.Fatal(err)
				}
				if err := w.Replay(context.Background(), func(uint64, [][]byte) error { return nil }); err != nil {
					b.Fatal(err)
				}
				defer w.Close()
				var next atomic.Int64
				var wg sync.WaitGroup
				b.ResetTimer()
				for g := 0; g < appenders; g++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for i := next.Add(1); i <= int64(b.N); i = next.Add(1) {
							off := int(i%16) * batch
							if err := w.Append(context.Background(), lines[off:off+batch]); err != nil {
								b.Error(err)
								return
							}
						}
					}()
				}
				wg.Wait()
				b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "lines/s")
			})
		}
	}
}

// BenchmarkSegmentRead reads 4 blocks of 65536 genlogs rows from a v2
// segment on MemFS: every column, one string column, one real column and
// no column (row counts only), reporting ns per row.
func BenchmarkSegmentRead(b *testing.B) {
	const blockRows = segmentBlockRows
	const nblocks = 4
	kr := newTestKeyring()
	aek := kr.add(b, "acct", 1, 1)
	fsys := vfs.NewMemFS()
	_ = fsys.MkdirAll("/s", 0o700)
	id := FileID{1}
	w, err := CreateSegment(fsys, "/s/x", SegmentOptions{Account: "acct", ID: id, AEK: aek})
	if err != nil {
		b.Fatal(err)
	}
	for i := range nblocks {
		if _, err := w.Append(genIngestBlock(genRows(uint64(i), i*blockRows, blockRows, 1_000_000), genT0)); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := w.Finish(); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		cols []string
	}{{"all", nil}, {"level_s", []string{"level_s"}}, {"trace_id_s", []string{"trace_id_s"}}, {"latency_ms_d", []string{"latency_ms_d"}}, {"none", []string{}}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				s, err := OpenSegment(ctx, fsys, "/s/x", "acct", id, kr)
				if err != nil {
					b.Fatal(err)
				}
				for i := range nblocks {
					if _, err := s.ReadBlock(ctx, i, tc.cols); err != nil {
						b.Fatal(err)
					}
				}
				s.Close()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*nblocks*blockRows), "ns/row")
		})
	}
}
