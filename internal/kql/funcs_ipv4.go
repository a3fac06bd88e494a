package kql

import (
	"strconv"
	"strings"
)

// IPv4 functions: parse_ipv4, ipv4_is_private, ipv4_is_match,
// ipv4_is_in_range, ipv4_compare. An address is dotted-quad text with an
// optional /prefix (bits of the network, 0 to 32); text that is not one
// makes the result null.

func init() {
	str := func(e *CallExpr, args []cexpr) ([]cexpr, error) {
		for i, a := range args {
			if !a.typ().isStringy() && a.typ() != TypeDynamic {
				if i >= 2 && a.typ().isNumeric() {
					continue
				}
				return nil, argErr(e, i, "a string", a.typ())
			}
		}
		return args, nil
	}
	register(&funcDef{min: 1, max: 1, compile: func(c *compiler, e *CallExpr, args []cexpr) (cexpr, error) {
		if _, err := str(e, args); err != nil {
			return nil, err
		}
		return newRowFunc(TypeLong, func(a []scalar) scalar {
			ip, bits, ok := parseIPv4Prefix(a[0].s)
			if !ok {
				return nullScalar
			}
			return scalar{i: int64(ip & prefixMask(bits))}
		}, convertExpr(c, args[0], TypeString)), nil
	}}, "parse_ipv4")
	register(&funcDef{min: 1, max: 1, compile: func(c *compiler, e *CallExpr, args []cexpr) (cexpr, error) {
		if _, err := str(e, args); err != nil {
			return nil, err
		}
		return newRowFunc(TypeBool, func(a []scalar) scalar {
			ip, bits, ok := parseIPv4Prefix(a[0].s)
			if !ok {
				return nullScalar
			}
			for _, p := range [...]struct {
				net  uint32
				bits int
			}{{10 << 24, 8}, {172<<24 | 16<<16, 12}, {192<<24 | 168<<16, 16}} {
				if bits >= p.bits && ip&prefixMask(p.bits) == p.net {
					return scalar{b: true}
				}
			}
			return scalar{b: false}
		}, convertExpr(c, args[0], TypeString)), nil
	}}, "ipv4_is_private")
	// compare returns the order of two addresses, both masked to the
	// smaller of their prefixes and of the explicit one.
	compare := func(c *compiler, e *CallExpr, args []cexpr, fn func(d int64) scalar) (cexpr, error) {
		if _, err := str(e, args); err != nil {
			return nil, err
		}
		xs := []cexpr{convertExpr(c, args[0], TypeString), convertExpr(c, args[1], TypeString)}
		if len(args) == 3 {
			if !args[2].typ().isNumeric() {
				return nil, argErr(e, 2, "a number", args[2].typ())
			}
			xs = append(xs, convertExpr(c, args[2], TypeLong))
		}
		return newRowFunc(TypeBool, func(a []scalar) scalar {
			x, bx, ok1 := parseIPv4Prefix(a[0].s)
			y, by, ok2 := parseIPv4Prefix(a[1].s)
			if !ok1 || !ok2 {
				return nullScalar
			}
			bits := min(bx, by)
			if len(a) == 3 {
				if a[2].null || a[2].i < 0 || a[2].i > 32 {
					return nullScalar
				}
				bits = min(bits, int(a[2].i))
			}
			m := prefixMask(bits)
			return fn(int64(x&m) - int64(y&m))
		}, xs...), nil
	}
	register(&funcDef{min: 2, max: 3, compile: func(c *compiler, e *CallExpr, args []cexpr) (cexpr, error) {
		return compare(c, e, args, func(d int64) scalar { return scalar{b: d == 0} })
	}}, "ipv4_is_match")
	register(&funcDef{min: 2, max: 3, compile: func(c *compiler, e *CallExpr, args []cexpr) (cexpr, error) {
		x, err := compare(c, e, args, func(d int64) scalar { return scalar{i: int64(sign(d))} })
		if err != nil {
			return nil, err
		}
		x.(*rowFunc).t = TypeInt
		return x, nil
	}}, "ipv4_compare")
	register(&funcDef{min: 2, max: 2, compile: func(c *compiler, e *CallExpr, args []cexpr) (cexpr, error) {
		if _, err := str(e, args); err != nil {
			return nil, err
		}
		return newRowFunc(TypeBool, func(a []scalar) scalar {
			ip, _, ok1 := parseIPv4Prefix(a[0].s)
			net, bits, ok2 := parseIPv4Prefix(a[1].s)
			if !ok1 || !ok2 {
				return nullScalar
			}
			m := prefixMask(bits)
			return scalar{b: ip&m == net&m}
		}, convertExpr(c, args[0], TypeString), convertExpr(c, args[1], TypeString)), nil
	}}, "ipv4_is_in_range")
}

func sign(d int64) int {
	switch {
	case d < 0:
		return -1
	case d > 0:
		return 1
	}
	return 0
}

// prefixMask returns the network mask of a prefix of bits (0 to 32).
func prefixMask(bits int) uint32 {
	if bits <= 0 {
		return 0
	}
	return ^uint32(0) << (32 - bits)
}

// parseIPv4Prefix parses "a.b.c.d" or "a.b.c.d/n".
func parseIPv4Prefix(s string) (ip uint32, bits int, ok bool) {
	s = strings.TrimSpace(s)
	bits = 32
	if addr, p, found := strings.Cut(s, "/"); found {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > 32 {
			return 0, 0, false
		}
		s, bits = addr, n
	}
	parts := strings.Split(s, ".")
	if len(parts) != 4 {
		return 0, 0, false
	}
	for _, p := range parts {
		if p == "" || len(p) > 3 {
			return 0, 0, false
		}
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > 255 {
			return 0, 0, false
		}
		ip = ip<<8 | uint32(n)
	}
	return ip, bits, true
}
