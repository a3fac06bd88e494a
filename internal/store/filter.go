package store

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"slices"
	"strings"

	"github.com/cespare/xxhash/v2"
)

// Value filters (block format v4): a bloom filter of the distinct values of
// each string column of a block, so that a scan for col == value can skip
// blocks that certainly do not hold value without decrypting the column.
// A filter is a function of the plaintext, so it is data at rest like the
// column itself: it is sealed under the block's DEK (see sealFilter, AAD
// "kustodian/filter/v1") and only a live AEK opens it.
//
// Plaintext of a filter, version 1:
//
//	magic "KSBF", version 1, k (number of probes, 1..16)
//	uvarint w (number of 64-bit words, 1..maxFilterWords)
//	w little-endian uint64 words
//
// Value v sets, for i in [0, k), bit (h1 + i·h2) mod (64·w), where h1 is
// xxhash64(v) and h2 = (h1 >> 32) | 1. A filter never yields a false
// negative: if v is in the column, every row that holds it is in a block
// whose filter says it may be there.
const (
	filterMagic    = "KSBF"
	filterVersion1 = 1
	// filterBitsPerKey and filterProbes give a false-positive rate of
	// about 2% per block and value.
	filterBitsPerKey = 8
	filterProbes     = 5
	// maxFilterWords bounds a filter's size (MaxBlockRows distinct values
	// at filterBitsPerKey, rounded up), so a reader never allocates more.
	maxFilterWords = (MaxBlockRows*filterBitsPerKey + 63) / 64
)

// valueFilter is a decoded filter.
type valueFilter struct {
	k     int
	words []uint64
}

// newValueFilter returns an empty filter for n distinct values.
func newValueFilter(n int) *valueFilter {
	w := min(max((n*filterBitsPerKey+63)/64, 1), maxFilterWords)
	return &valueFilter{k: filterProbes, words: make([]uint64, w)}
}

func (f *valueFilter) add(v string) {
	h1 := xxhash.Sum64String(v)
	h2 := h1>>32 | 1
	n := uint64(len(f.words)) * 64
	for i := 0; i < f.k; i++ {
		bit := (h1 + uint64(i)*h2) % n
		f.words[bit>>6] |= 1 << (bit & 63)
	}
}

// mayContain reports whether v may be among the filter's values; false
// means certainly not.
func (f *valueFilter) mayContain(v string) bool {
	h1 := xxhash.Sum64String(v)
	h2 := h1>>32 | 1
	n := uint64(len(f.words)) * 64
	for i := 0; i < f.k; i++ {
		bit := (h1 + uint64(i)*h2) % n
		if f.words[bit>>6]&(1<<(bit&63)) == 0 {
			return false
		}
	}
	return true
}

// marshal appends the filter's plaintext to dst.
func (f *valueFilter) marshal(dst []byte) []byte {
	dst = append(dst, filterMagic...)
	dst = append(dst, filterVersion1, byte(f.k))
	dst = binary.AppendUvarint(dst, uint64(len(f.words)))
	for _, w := range f.words {
		dst = binary.LittleEndian.AppendUint64(dst, w)
	}
	return dst
}

// unmarshalFilter decodes a filter's plaintext. Errors wrap ErrCorrupt or
// ErrUnknownVersion.
func unmarshalFilter(src []byte) (*valueFilter, error) {
	if len(src) < 6 || string(src[:4]) != filterMagic {
		return nil, fmt.Errorf("%w: filter: bad magic", ErrCorrupt)
	}
	if src[4] != filterVersion1 {
		return nil, fmt.Errorf("%w: filter version %d", ErrUnknownVersion, src[4])
	}
	k := int(src[5])
	if k < 1 || k > 16 {
		return nil, fmt.Errorf("%w: filter: %d probes", ErrCorrupt, k)
	}
	n, l := binary.Uvarint(src[6:])
	if l <= 0 || n < 1 || n > maxFilterWords {
		return nil, fmt.Errorf("%w: filter: bad word count", ErrCorrupt)
	}
	rest := src[6+l:]
	if uint64(len(rest)) != n*8 {
		return nil, fmt.Errorf("%w: filter: %d bytes for %d words", ErrCorrupt, len(rest), n)
	}
	f := &valueFilter{k: k, words: make([]uint64, n)}
	for i := range f.words {
		f.words[i] = binary.LittleEndian.Uint64(rest[i*8:])
	}
	return f, nil
}

// columnFilter builds the filter of a string column of rows values: every
// value stored, and also "" for a null row (what a null string compares
// as). dict, if not nil, holds the column's distinct values (its
// dictionary); else the filter is sized for rows distinct values (a column
// without a dictionary has more than rows/2). It returns nil for columns
// of other types, and for free text (see freeText).
func columnFilter(c *Column, rows int, dict []string) *valueFilter {
	if c.Type != TypeString || freeText(c.Strings) {
		return nil
	}
	nulls := slices.Contains(c.Nulls, true)
	if dict == nil {
		f := newValueFilter(rows + 1)
		for _, s := range c.Strings {
			f.add(s)
		}
		if nulls {
			f.add("")
		}
		return f
	}
	f := newValueFilter(len(dict) + 1)
	for _, s := range dict {
		f.add(s)
	}
	if nulls {
		f.add("")
	}
	return f
}

// freeText reports whether most of the first values (up to 256) hold a
// space: messages and other prose, which are searched by their words
// (has, contains) rather than compared whole, so that a filter of whole
// values would cost about a byte per row and rarely serve. (Such columns
// want a filter of tokens; there is none yet.)
func freeText(vals []string) bool {
	n, spaced := min(len(vals), 256), 0
	for _, v := range vals[:n] {
		if strings.IndexByte(v, ' ') >= 0 {
			spaced++
		}
	}
	return spaced*2 > n
}

// popcount is the number of bits set (for tests and statistics).
func (f *valueFilter) popcount() int {
	n := 0
	for _, w := range f.words {
		n += bits.OnesCount64(w)
	}
	return n
}
