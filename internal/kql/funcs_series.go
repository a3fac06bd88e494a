package kql

import (
	"math"
	"slices"
	"strings"
)

// Series functions, over dynamic arrays of numbers (what make-series
// makes): series_fit_line, series_fit_2lines, series_stats and
// series_decompose_anomalies. Functions of several results are assigned
// with extend (a, b, ...) = f(...); alone, series_decompose_anomalies is
// its first result (the anomaly flags), and the others make a column per
// result, named f_x_result after their first argument x.
//
// series_decompose_anomalies is an approximation of Kusto's: the
// baseline is the series' least-squares line (trend 'linefit', the
// default; 'avg' and 'none' too), without seasonal decomposition (a
// seasonality other than none is treated as none), and the anomalies are
// the residuals outside Tukey's fences, with the 10th and 90th
// percentiles ('ctukey', the default) or the quartiles ('tukey'), k being
// the threshold (1.5 by default). Its scores are the residual's distance
// beyond the fence in units of the interpercentile range.

// TupleItem is the i-th result of a function of several results, the
// expression of one column of (a, b, ...) = f(...).
type TupleItem struct {
	Call  *CallExpr
	Index int
}

// Pos returns the position of the call.
func (e *TupleItem) Pos() Position { return e.Call.At }

func (*TupleItem) exprNode() {}

// tupleFunc is a function of several results.
type tupleFunc struct {
	min, max int
	names    []string // the results' names
	types    []Type
	single   bool // alone, it is its first result
	fn       func(args []scalar) []scalar
}

var tupleFuncs = map[string]*tupleFunc{}

func init() {
	fitNames := []string{"rsquare", "slope", "variance", "rvariance", "interception", "line_fit"}
	tupleFuncs["series_fit_line"] = &tupleFunc{min: 1, max: 1, names: fitNames,
		types: []Type{TypeReal, TypeReal, TypeReal, TypeReal, TypeReal, TypeDynamic},
		fn: func(a []scalar) []scalar {
			ys, ok := seriesOf(a[0])
			if !ok {
				return nulls(6)
			}
			f := fitLine(ys, 1)
			return []scalar{{f: f.rsquare}, {f: f.slope}, {f: f.variance}, {f: f.rvariance}, {f: f.interception}, {s: realsText(f.line)}}
		}}
	tupleFuncs["series_fit_2lines"] = &tupleFunc{min: 1, max: 1,
		names: []string{"rsquare", "split_point", "variance", "rvariance", "line_fit", "right_rsquare", "right_slope",
			"right_interception", "right_variance", "right_rvariance", "left_rsquare", "left_slope", "left_interception",
			"left_variance", "left_rvariance"},
		types: []Type{TypeReal, TypeLong, TypeReal, TypeReal, TypeDynamic, TypeReal, TypeReal, TypeReal, TypeReal, TypeReal,
			TypeReal, TypeReal, TypeReal, TypeReal, TypeReal},
		fn: fit2Lines}
	tupleFuncs["series_stats"] = &tupleFunc{min: 1, max: 2,
		names: []string{"min", "min_idx", "max", "max_idx", "avg", "stdev", "variance"},
		types: []Type{TypeReal, TypeLong, TypeReal, TypeLong, TypeReal, TypeReal, TypeReal},
		fn: func(a []scalar) []scalar {
			ys, ok := seriesOf(a[0])
			if !ok || len(ys) == 0 {
				return nulls(7)
			}
			lo, hi := 0, 0
			var sum float64
			for i, y := range ys {
				if y < ys[lo] {
					lo = i
				}
				if y > ys[hi] {
					hi = i
				}
				sum += y
			}
			mean := sum / float64(len(ys))
			v := sampleVariance(ys, mean)
			return []scalar{{f: ys[lo]}, {i: int64(lo)}, {f: ys[hi]}, {i: int64(hi)}, {f: mean}, {f: math.Sqrt(v)}, {f: v}}
		}}
	tupleFuncs["series_decompose_anomalies"] = &tupleFunc{min: 1, max: 7, single: true,
		names: []string{"ad_flag", "ad_score", "baseline"},
		types: []Type{TypeDynamic, TypeDynamic, TypeDynamic},
		fn:    decomposeAnomalies}
	for name, tf := range tupleFuncs {
		register(&funcDef{min: tf.min, max: tf.max, compile: func(c *compiler, e *CallExpr, args []cexpr) (cexpr, error) {
			if !tf.single {
				return nil, semanticErr(e.At, "%s() has %d results: assign them with extend (%s) = %s(...)", name, len(tf.names), strings.Join(tf.names, ", "), name)
			}
			return c.tupleCall(e, tf, 0, args)
		}}, name)
	}
}

func nulls(n int) []scalar {
	out := make([]scalar, n)
	for i := range out {
		out[i] = nullScalar
	}
	return out
}

// tupleCall compiles result i of a call of tf.
func (c *compiler) tupleCall(e *CallExpr, tf *tupleFunc, i int, args []cexpr) (cexpr, error) {
	conv := make([]cexpr, len(args))
	for k, a := range args {
		switch t := a.typ(); {
		case k == 0 && t != TypeDynamic:
			return nil, argErr(e, 0, "a dynamic array", t)
		case k == 0 || t == TypeString:
			conv[k] = a
		case t.isNumeric():
			conv[k] = convertExpr(c, a, TypeReal)
		default:
			conv[k] = convertExpr(c, a, TypeString)
		}
	}
	return c.fold(newRowFunc(tf.types[i], func(a []scalar) scalar { return tf.fn(a)[i] }, conv...)), nil
}

// tupleItem compiles one result of a function of several results.
func (c *compiler) tupleItem(e *TupleItem) (cexpr, error) {
	tf := tupleFuncs[e.Call.Name]
	if len(e.Call.Args) < tf.min || len(e.Call.Args) > tf.max {
		return nil, semanticErr(e.Call.At, "%s() expects %d to %d argument(s), got %d", e.Call.Name, tf.min, tf.max, len(e.Call.Args))
	}
	args := make([]cexpr, len(e.Call.Args))
	for k, a := range e.Call.Args {
		x, err := c.expr(a)
		if err != nil {
			return nil, err
		}
		args[k] = x
	}
	return c.tupleCall(e.Call, tf, e.Index, args)
}

// expandTuples replaces (a, b) = f(...) by a column per result, and an
// unnamed call of a function of several results by a column per result.
func (c *compiler) expandTuples(cols []NamedExpr) ([]NamedExpr, error) {
	var out []NamedExpr
	for k, col := range cols {
		call, isCall := col.Expr.(*CallExpr)
		var tf *tupleFunc
		if isCall {
			tf = tupleFuncs[call.Name]
		}
		switch {
		case col.Names != nil:
			if tf == nil {
				return nil, semanticErr(col.Expr.Pos(), "(%s) = ... expects a function of several results, such as series_fit_line()", strings.Join(col.Names, ", "))
			}
			if len(col.Names) > len(tf.names) {
				return nil, semanticErr(col.Expr.Pos(), "%s() has %d results, not %d", call.Name, len(tf.names), len(col.Names))
			}
		case tf != nil && col.Name == "" && !tf.single:
			prefix := call.Name + "_"
			if len(call.Args) > 0 {
				if id, ok := call.Args[0].(*Ident); ok {
					prefix += id.Name + "_"
				}
			}
			for _, n := range tf.names {
				col.Names = append(col.Names, prefix+n)
			}
		}
		if col.Names == nil {
			if out != nil {
				out = append(out, col)
			}
			continue
		}
		if out == nil {
			out = append(out, cols[:k]...)
		}
		for i, n := range col.Names {
			out = append(out, NamedExpr{Name: n, Expr: &TupleItem{Call: call, Index: i}})
		}
	}
	if out == nil {
		return cols, nil
	}
	return out, nil
}

// tupleNames reads "(a, b, ...) =" before an expression, if it is there.
func (p *parser) tupleNames() ([]string, bool) {
	if !p.isPunct("(") {
		return nil, false
	}
	var names []string
	k := 1
	for {
		t := p.peekAt(k)
		if t.kind != tokIdent {
			return nil, false
		}
		names = append(names, t.text)
		sep := p.peekAt(k + 1)
		if sep.kind != tokPunct {
			return nil, false
		}
		k += 2
		if sep.text == ")" {
			break
		}
		if sep.text != "," {
			return nil, false
		}
	}
	if eq := p.peekAt(k); eq.kind != tokPunct || eq.text != "=" {
		return nil, false
	}
	for range k + 1 {
		p.advance()
	}
	return names, true
}

// seriesOf decodes a dynamic array of numbers; a non-number element
// counts as 0, as a null does in Kusto's series functions... except that
// a value that is not an array is no series at all.
func seriesOf(s scalar) ([]float64, bool) {
	if s.null || s.s == "" {
		return nil, false
	}
	d, err := parseDyn(s.s)
	if err != nil {
		return nil, false
	}
	arr, ok := d.([]any)
	if !ok {
		return nil, false
	}
	out := make([]float64, len(arr))
	for i, v := range arr {
		switch x := v.(type) {
		case int64:
			out[i] = float64(x)
		case float64:
			out[i] = x
		case bool:
			if x {
				out[i] = 1
			}
		}
	}
	return out, true
}

func realsText(fs []float64) string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = dynText(f)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			parts[i] = "null"
		}
	}
	return "[" + strings.Join(parts, ",") + "]"
}

func sampleVariance(ys []float64, mean float64) float64 {
	if len(ys) < 2 {
		return 0
	}
	var ss float64
	for _, y := range ys {
		ss += (y - mean) * (y - mean)
	}
	return ss / float64(len(ys)-1)
}

type lineFit struct {
	rsquare, slope, variance, rvariance, interception float64
	line                                              []float64
	rss                                               float64
}

// fitLine fits y = slope*x + interception by least squares, x counting
// from x0 (Kusto's series count from 1). Variances are of samples
// (divided by n-1), as Kusto's are.
func fitLine(ys []float64, x0 int) lineFit {
	n := float64(len(ys))
	var f lineFit
	if len(ys) == 0 {
		return f
	}
	var sx, sy float64
	for i, y := range ys {
		sx += float64(x0 + i)
		sy += y
	}
	mx, my := sx/n, sy/n
	var sxy, sxx, sst float64
	for i, y := range ys {
		dx := float64(x0+i) - mx
		sxy += dx * (y - my)
		sxx += dx * dx
		sst += (y - my) * (y - my)
	}
	if sxx > 0 {
		f.slope = sxy / sxx
	}
	f.interception = my - f.slope*mx
	f.line = make([]float64, len(ys))
	for i, y := range ys {
		f.line[i] = f.interception + f.slope*float64(x0+i)
		f.rss += (y - f.line[i]) * (y - f.line[i])
	}
	if len(ys) > 1 {
		f.variance = sst / (n - 1)
		f.rvariance = f.rss / (n - 1)
	}
	f.rsquare = 1
	if sst > 0 {
		f.rsquare = 1 - f.rss/sst
	}
	return f
}

// fit2Lines fits two lines, left and right of the split point that
// minimizes the residual sum of squares.
func fit2Lines(a []scalar) []scalar {
	ys, ok := seriesOf(a[0])
	if !ok || len(ys) < 2 {
		return nulls(15)
	}
	best, bestRSS := 1, math.Inf(1)
	var left, right lineFit
	for k := 1; k < len(ys); k++ {
		l, r := fitLine(ys[:k], 1), fitLine(ys[k:], k+1)
		if rss := l.rss + r.rss; rss < bestRSS {
			best, bestRSS, left, right = k, rss, l, r
		}
	}
	whole := fitLine(ys, 1)
	n := float64(len(ys))
	sst := whole.variance * (n - 1)
	rsq := 1.0
	if sst > 0 {
		rsq = 1 - bestRSS/sst
	}
	line := append(slices.Clone(left.line), right.line...)
	return []scalar{{f: rsq}, {i: int64(best - 1)}, {f: whole.variance}, {f: bestRSS / (n - 1)}, {s: realsText(line)},
		{f: right.rsquare}, {f: right.slope}, {f: right.interception}, {f: right.variance}, {f: right.rvariance},
		{f: left.rsquare}, {f: left.slope}, {f: left.interception}, {f: left.variance}, {f: left.rvariance}}
}

// decomposeAnomalies: (series, threshold, seasonality, trend, test_points,
// ad_method, seasonality_threshold); see the comment at the top.
func decomposeAnomalies(a []scalar) []scalar {
	ys, ok := seriesOf(a[0])
	if !ok {
		return nulls(3)
	}
	k := 1.5
	if len(a) > 1 && !a[1].null {
		k = a[1].f
	}
	trend, method := "linefit", "ctukey"
	if len(a) > 3 && !a[3].null && a[3].s != "" {
		trend = strings.ToLower(a[3].s)
	}
	if len(a) > 5 && !a[5].null && a[5].s != "" {
		method = strings.ToLower(a[5].s)
	}
	base := make([]float64, len(ys))
	switch trend {
	case "avg":
		var s float64
		for _, y := range ys {
			s += y
		}
		for i := range base {
			base[i] = s / float64(max(len(ys), 1))
		}
	case "none":
	default:
		copy(base, fitLine(ys, 1).line)
	}
	res := make([]float64, len(ys))
	for i, y := range ys {
		res[i] = y - base[i]
	}
	lo, hi := 10.0, 90.0
	if method == "tukey" {
		lo, hi = 25, 75
	}
	sorted := slices.Clone(res)
	slices.Sort(sorted)
	q1, q3 := percentileOf(sorted, lo), percentileOf(sorted, hi)
	iqr := q3 - q1
	flags, scores := make([]float64, len(ys)), make([]float64, len(ys))
	for i, r := range res {
		var s float64
		switch {
		case iqr <= 0:
			// No spread: whatever lies beyond the fence is an anomaly;
			// its score is its distance.
			s = max(r-q3, 0) + min(r-q1, 0)
			if s != 0 {
				flags[i] = math.Copysign(1, s)
			}
		case r > q3:
			s = (r - q3) / iqr
		case r < q1:
			s = (r - q1) / iqr
		}
		scores[i] = s
		switch {
		case iqr <= 0:
		case s > k:
			flags[i] = 1
		case s < -k:
			flags[i] = -1
		}
	}
	return []scalar{{s: realsTextInts(flags)}, {s: realsText(scores)}, {s: realsText(base)}}
}

// realsTextInts formats whole numbers as a JSON array of integers.
func realsTextInts(fs []float64) string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = itoa(int(f))
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// percentileOf interpolates the p-th percentile of sorted values.
func percentileOf(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	pos := p / 100 * float64(len(sorted)-1)
	i := int(pos)
	if i+1 >= len(sorted) {
		return sorted[len(sorted)-1]
	}
	return sorted[i] + (pos-float64(i))*(sorted[i+1]-sorted[i])
}
