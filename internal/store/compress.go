package store

import (
	"encoding/binary"
	"fmt"
	"slices"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// Compressed body format (the plaintext inside an envelope):
//
//	[0]  codec: 0 none, 1 zstd
//	uvarint length of the uncompressed data
//	the (compressed) data
const (
	codecNone byte = 0
	codecZstd byte = 1

	// maxBodySize bounds the uncompressed size of one block or WAL record.
	maxBodySize = 256 << 20
)

var (
	zstdOnce    sync.Once
	zstdEncBest *zstd.Encoder // blocks: better ratio
	zstdEncFast *zstd.Encoder // WAL records: speed
	zstdEncCol  *zstd.Encoder // v2 block columns: ratio (entropy-codes byte planes)
	zstdDec     *zstd.Decoder
	zstdErr     error
)

func zstdInit() {
	zstdOnce.Do(func() {
		zstdEncBest, zstdErr = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderConcurrency(2))
		if zstdErr != nil {
			return
		}
		zstdEncFast, zstdErr = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(2))
		if zstdErr != nil {
			return
		}
		zstdEncCol, zstdErr = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedBetterCompression), zstd.WithEncoderConcurrency(2))
		if zstdErr != nil {
			return
		}
		zstdDec, zstdErr = zstd.NewReader(nil, zstd.WithDecoderConcurrency(2), zstd.WithDecoderMaxMemory(maxBodySize))
	})
}

// compressBody appends the compressed body of raw to dst.
func compressBody(dst, raw []byte, codec byte, fast bool) ([]byte, error) {
	dst = append(dst, codec)
	dst = binary.AppendUvarint(dst, uint64(len(raw)))
	switch codec {
	case codecNone:
		return append(dst, raw...), nil
	case codecZstd:
		zstdInit()
		if zstdErr != nil {
			return dst, fmt.Errorf("store: zstd: %w", zstdErr)
		}
		if fast {
			return zstdEncFast.EncodeAll(raw, dst), nil
		}
		return zstdEncBest.EncodeAll(raw, dst), nil
	}
	return dst, fmt.Errorf("store: unknown codec %d", codec)
}

// decompressBody appends the uncompressed data of body to dst.
func decompressBody(dst, body []byte) ([]byte, error) {
	if len(body) < 1 {
		return dst, fmt.Errorf("%w: empty body", ErrCorrupt)
	}
	n, k := binary.Uvarint(body[1:])
	if k <= 0 || n > maxBodySize {
		return dst, fmt.Errorf("%w: bad body length", ErrCorrupt)
	}
	data := body[1+k:]
	switch body[0] {
	case codecNone:
		if uint64(len(data)) != n {
			return dst, fmt.Errorf("%w: body length %d, header says %d", ErrCorrupt, len(data), n)
		}
		return append(dst, data...), nil
	case codecZstd:
		zstdInit()
		if zstdErr != nil {
			return dst, fmt.Errorf("store: zstd: %w", zstdErr)
		}
		start := len(dst)
		out, err := zstdDec.DecodeAll(data, slices.Grow(dst, int(n)))
		if err != nil {
			return dst[:start], fmt.Errorf("%w: zstd: %v", ErrCorrupt, err)
		}
		if uint64(len(out)-start) != n {
			return dst[:start], fmt.Errorf("%w: decompressed %d bytes, header says %d", ErrCorrupt, len(out)-start, n)
		}
		return out, nil
	}
	return dst, fmt.Errorf("%w: unknown codec %d", ErrCorrupt, body[0])
}
