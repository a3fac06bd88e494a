package main

import (
	"fmt"
	"strconv"
	"strings"
)

// byteSize is a flag.Value of a number of bytes, written as an integer with
// an optional binary unit: 512, 16KiB, 160MiB, 1GiB.
type byteSize struct{ n *int64 }

var byteUnits = []struct {
	suffix string
	factor int64
}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"B", 1}}

func (b byteSize) String() string {
	if b.n == nil {
		return "0"
	}
	for i := 2; i >= 0; i-- { // the largest unit that divides it
		if u, v := byteUnits[i], *b.n; v != 0 && v%u.factor == 0 {
			return strconv.FormatInt(v/u.factor, 10) + u.suffix
		}
	}
	return strconv.FormatInt(*b.n, 10)
}

func (b byteSize) Set(s string) error {
	num, factor := strings.TrimSpace(s), int64(1)
	for _, u := range byteUnits {
		if rest, ok := strings.CutSuffix(num, u.suffix); ok {
			num, factor = strings.TrimSpace(rest), u.factor
			break
		}
	}
	v, err := strconv.ParseInt(num, 10, 64)
	if err != nil || v < 0 || v > (1<<62)/factor {
		return fmt.Errorf("%q is not a size: write bytes, or a whole number of KiB, MiB or GiB (e.g. 160MiB)", s)
	}
	*b.n = v * factor
	return nil
}
