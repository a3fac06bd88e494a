// Package kql parses, checks, plans and executes queries in a subset of the
// Kusto Query Language (KQL), the language of the Log Analytics Query API.
//
// The package owns the language: lexer, parser (to the syntax tree of
// ast.go), semantic analysis (column resolution, types, errors with line
// and position), planning (column pruning, time-range and limit pushdown)
// and a columnar executor. It knows nothing of storage, HTTP or
// encryption: storage implements the small Catalog and Source interfaces
// of source.go, and the Query API turns *Error into a 400 BadArgumentError
// whose inner error code is Error.Kind.
//
// # Pipeline
//
//	Parse(text)                     -> *Query (syntax tree), or *Error{Kind: SyntaxError}
//	Compile(ctx, q, catalog, opts)  -> *Plan, or *Error{Kind: SemanticError}
//	plan.Scan()                     -> ScanRequest: columns, [TimeMin, TimeMax), Limit, Equal
//	plan.Run(ctx, source)           -> *Result with JSON-ready values, or *LimitError
//
// # Supported language
//
// A query is let statements followed by a tabular expression:
//
//	let n = 5;                              scalar let (folds to a constant)
//	let T = Table | where ...;              tabular let (a sub-plan per use)
//	let M = materialize(T | ...);           computed once per run
//	let f = (a: string, b: long = 5, U: (*)) { ... };   let function
//
// A tabular expression is a source and operators. Sources: a table name
// (T or ['T']), a let name, f(args), (subquery), datatable(c: type, ...)
// [values], print [name =] expr, ..., range x from a to b step s,
// union [withsource=C] [isfuzzy=true] [kind=inner] A, (B | ...) (legs
// may be table name wildcards, Sec* or *, over a Catalog that is a
// TableLister: tablelist.go), workspace("ref").T (workspace.go),
// search [in (T, ...)] predicate (search.go) and materialize(...).
// Operators:
//
//	where / filter   predicate
//	take / limit     N                      (sample N takes N rows too)
//	count
//	project          col, name = expr, ...
//	extend           name = expr, ...       (replaces a column of the same name)
//	                 (extend and project may read columns defined before
//	                 them in the same operator; (a, b) = f(...) assigns the
//	                 results of a function of several results)
//	project-away     col, pattern*, ...     (also project-keep, project-reorder)
//	project-rename   new = old, ...
//	distinct         col, ... | *
//	sort / order by  expr [asc|desc] [nulls first|last], ...   (default desc)
//	top N by         expr [asc|desc], ...
//	summarize        [hint.x=y] [name =] agg(...), ... [by [name =] expr, ...]
//	join             [kind=innerunique|inner|leftouter|rightouter|fullouter|
//	                 leftanti|rightanti|leftsemi|rightsemi] (right) on a, $left.x == $right.y
//	lookup           [kind=leftouter|inner] (right) on a
//	union            A, (B | ...)
//	mv-expand        [bagexpansion=array] [with_itemindex=i] [name =] expr [to typeof(t)], ... [limit N]
//	parse / parse-where [kind=simple|regex] expr with * "lit" col [: type] ...
//	mv-apply         [with_itemindex=i] [name =] expr [to typeof(t)], ... [limit N] on (subquery)
//	make-series      [name =] agg(...) [default = v], ... on axis [from a] [to b] step s
//	                 | in range(a, b, s) [by ...]     (makeseries.go)
//	top-nested       [N] of expr [with others = v] by agg [asc|desc], top-nested ...
//	search           [kind=case_sensitive] predicate  ("term", Col:"term", *, and/or/not)
//	getschema
//	evaluate         pivot(col [, agg] [, col, ...]), bag_unpack(col [, prefix])
//	                 (outermost pipeline only: the operators after them
//	                 compile when the query runs, as their columns come
//	                 from the data: evaluate_late.go)
//	render           kind [with (prop = value, ...)]   (recorded: Plan.Render)
//	serialize, as    accepted; rows unchanged
//
// Aggregates: count(), count(x), countif(p), sum, avg, min, max, dcount
// (exact), sumif, avgif, minif, maxif, dcountif, take_any/any, make_set,
// make_list (with a size limit), make_bag, make_set_if, make_list_if,
// percentile, percentiles (exact, nearest rank), stdev, stdevp, variance,
// variancep, arg_max and arg_min (with * or columns), and expressions over
// aggregates (round(avg(x), 2), 100 * countif(p) / count()).
//
// Scalar functions, in a registry by category (funcs*.go): ago(), now(),
// bin()/floor(), isnull(), isnotnull(), isempty(), isnotempty(), not(),
// tolower(), toupper(), strlen(); conversion: tostring, toint, tolong,
// todouble/toreal, tobool, toguid, todynamic/parse_json; string: strcat,
// strcat_array, split, substring, replace_string, replace_regex, trim,
// trim_start, trim_end, indexof, countof, extract, extract_all, parse_url,
// base64_encode_tostring, base64_decode_tostring, url_encode, url_decode,
// reverse, strrep; conditional and math: iff/iif, case, coalesce, max_of,
// min_of, round, abs, sqrt, pow, log, log10, log2, exp, ceiling; dynamic:
// pack/bag_pack, pack_array, array_length, bag_keys, gettype,
// set_has_element, array_sort_asc; toscalar(tabular). Datetime
// (funcs_datetime.go): todatetime, totimespan, format_datetime,
// format_timespan, datetime_add, datetime_diff, datetime_part,
// startofday/week/month/year and endof* (with an offset), dayofweek,
// dayofmonth, dayofyear, hourofday, getmonth, monthofyear, getyear,
// weekofyear/week_of_year (ISO 8601), make_datetime, make_timespan,
// unixtime_{seconds,milliseconds,microseconds,nanoseconds}_todatetime,
// bin_at, datetime_utc_to_local/datetime_local_to_utc (the system's zone
// database; an unknown zone is null) and ingestion_time(), always null as
// no ingestion time is stored apart from TimeGenerated. Weeks start on
// Sunday (startofweek, datetime_diff('week')); unnamed startof*(T) columns
// take T's name, as bin(T, ...) does. IPv4 (funcs_ipv4.go): parse_ipv4,
// ipv4_is_private, ipv4_is_match, ipv4_is_in_range, ipv4_compare. A
// dynamic value compared with a datetime or timespan converts to it.
//
// workspace("ref").T names the table T of another workspace; the Catalog
// receives it as QualifiedTable(ref, T) (workspace.go) and resolves it.
//
// The golden suite (testdata/golden/*.txt, one file per category, run by
// TestGolden) holds self-contained queries with the outputs Kusto's
// documentation gives for them.
//
// Operators: arithmetic + - * / % on numbers and on datetime/timespan
// where Kusto defines them; comparisons == != <> < <= > >= and the
// case-insensitive =~ !~; and, or; string operators has, contains,
// startswith, endswith, hasprefix, hassuffix, their negations (!has ...)
// and case-sensitive forms (has_cs ...), all case-insensitive by default
// as in Kusto; has matches whole terms (runs of ASCII letters and digits;
// non-ASCII bytes count as term characters); has_any and has_all over a
// list, a dynamic array or a subquery; matches regex (RE2); in, !in, in~
// over constants, dynamic arrays or a subquery (x in (T | project y));
// between and !between, inclusive, including datetime between (start ..
// timespan). As in Kusto, == and != (and in) compare a string with a
// number by converting one to the other (ResultType == 0, EventID ==
// "4624"), a bool with the text "true"/"false", and a dynamic operand
// converts to the other operand's type (to string for string operators).
//
// Literals: 'string' and "string" with backslash escapes, @'verbatim',
// long (decimal or 0x hex), real, true/false, datetime(...) (RFC 3339 and
// the common Kusto forms, UTC when no zone is given, digits below a tick
// dropped), timespan literals (1d, 2h, 30m, 10s, 100ms, 10microsecond,
// 1.5h, 1tick) and timespan(...) including timespan([-][d.]hh:mm[:ss[.f]]),
// guid(...), typed nulls such as long(null), and dynamic([...]),
// dynamic({...}), dynamic(null). Property and element access: x.name,
// x["name"], x[i] (negative from the end), on dynamic values. Comments
// start with // and run to the end of the line.
//
// Null semantics follow Kusto: x == null is false, x != null is true,
// ordering comparisons with null are null, and a null predicate counts as
// false in where, and, or; strings are never null (the empty string is).
// Long division or modulo by zero is null. Result column names follow
// Kusto (Count, count_, sum_X, avg_X, set_X, list_X, any_X, percentile_X_95,
// Column1, print_0, bin(T, 1h) named T, k1 for a join's second k).
//
// Series functions (funcs_series.go): series_fit_line, series_fit_2lines,
// series_stats and series_decompose_anomalies (an approximation: a linear
// or average baseline without seasonal decomposition, Tukey's fences on
// the residuals). String: translate; conditional: column_ifexists.
//
// Parsed but refused by Compile with a SemanticError: other evaluate
// plugins, externaldata (reading external storage); refused by Parse:
// find, fork, facet and the other operators not listed.
//
// # Types and values
//
// Types are the Query API's: bool, datetime, dynamic, guid, int, long,
// real, string, timespan. Columns travel as Vectors: int64 for int, long,
// datetime and timespan, float64 for real, string for string, guid and
// dynamic, bool, plus a null bitmap. A dynamic value travels as its
// canonical JSON text (null as the null bit or the empty text); the
// expressions that operate on it decode it into a value model (null, bool,
// long, real, string, array, property bag with keys in insertion order:
// dynamic.go) and encode their result.
//
// Datetime and timespan are Kusto's. A tick is 100 ns. A datetime is held
// as ticks since the Unix epoch (UTC) and lies between
// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.9999999Z (MinDatetimeTicks,
// MaxDatetimeTicks); a timespan is any int64 of ticks, about ±29,227
// years. TicksFromTime and TimeFromTicks convert at the boundary with
// time.Time. A datetime or timespan literal outside its range is a
// SyntaxError. Arithmetic whose result falls outside the range, or
// overflows int64, is null: datetime ± timespan, datetime - datetime,
// timespan ± timespan, timespan * or / a number (a real factor rounds to
// the tick), unary minus, bin(), and sum() (avg() of timespans is exact).
// bin() and floor() count datetimes from 0001-01-01, Kusto's origin of
// ticks, so bin(t, 7d) weeks start on Mondays. Results format datetimes as
// "2024-01-01T00:00:00.5Z" (at most seven fractional digits, trimmed) and
// timespans as [-][d.]hh:mm:ss[.fffffff]. Long and int arithmetic wraps,
// as in Kusto.
//
// # Execution
//
// The executor pushes batches through a chain of operators. Predicates
// are evaluated a column at a time over a batch, narrowing a selection
// vector of row indices; a comparison with a constant is a tight loop
// over a typed slice. Computed columns are evaluated only at selected
// rows into scratch memory that is reused between batches, so steady
// state does not allocate. Blocking operators (count, sort, top,
// summarize) materialize what they need and emit one batch when the
// input ends. take stops the scan as soon as it has its rows.
//
// The plan pushes down to the Source only what is safe, and re-applies
// everything it pushes down: the request timespan and where clauses on
// TimeGenerated that come before any other operator become
// ScanRequest.TimeMin/TimeMax; the columns the query reads become
// ScanRequest.Columns; a take preceded only by project/extend becomes
// ScanRequest.Limit when no time filter applies; conjuncts col == "value"
// on string columns in those leading where clauses become
// ScanRequest.Equal, which lets a source skip blocks its indexes rule out.
//
// # Plans within plans
//
// A Plan's rows come from a table scan or, for the other sources, from a
// tabSource (pipeline.go): constant rows, a range, the union of other
// plans, or another plan (a let-bound or parenthesised tabular
// expression). join, in (subquery), has_any (subquery) and toscalar run
// other plans through the run's environment, which the arena carries and
// which caches materialized results for the run; Plan.Scans lists every
// scan a plan makes.
//
// # Limits
//
// A query may be hostile: a megabyte of text, deep nesting, a sort of the
// whole table. Every run observes the Limits of its Options, checked as it
// goes, not after:
//
//   - Memory (Limits.MaxMemoryBytes, default 64 MiB): the bytes the run
//     holds in sort and top buffers, summarize groups, keys and aggregate
//     states (dcount sets included), scratch vectors of computed columns
//     and predicates, and the result being built are charged as they are
//     allocated. Past the limit the run stops with a *LimitError of kind
//     LimitMemory (Kusto's E_LOW_MEMORY_CONDITION, "Query execution has
//     exceeded the allowed limits (80DA0001)") naming the operator; scratch
//     memory stops growing at once, as the arena then recycles what it
//     handed out since the failure.
//   - Result rows and bytes (MaxResultRows, default 500,000, and
//     MaxResultBytes, default 64 MiB of JSON-estimated data, Azure's): the
//     result stops growing at the limit and Run returns the rows up to it
//     with Result.Truncated set (Kusto's E_QUERY_RESULT_SET_TOO_LARGE),
//     for the Query API to answer them with a partial error, as Azure
//     does.
//   - Time: through the context of Compile and Run, checked per batch and
//     every 1024 steps of long loops (terms of a predicate, columns of an
//     extend, rows of a result, expressions compiled). A passed deadline is
//     a *LimitError of kind LimitTime wrapping context.DeadlineExceeded; a
//     cancelled context returns context.Canceled.
//
// Nothing outlives a run: scratch memory belongs to the run's arena and
// there is no process-wide pool.
//
// Compiling takes time and memory roughly linear in the query's length.
// Chains of and, or and of arithmetic at one precedence, which the parser
// nests to the left as deep as they are long, are compiled without
// recursion; and and or chains become one node with a term per operand,
// evaluated with scratch memory independent of their length, and
// x == k1 or x == k2 or ... on one column becomes a set lookup. Expressions
// whose columns nothing reads (extend c = ... | count) are not evaluated,
// and a projection of many columns evaluates a few rows at a time. Beyond
// that, a query is rejected with a clear error: nesting deeper than 200
// (parentheses, calls, signs; SyntaxError), more than 1,000 operators
// (SyntaxError), a compiled expression deeper than 1,000 levels (a chain of
// arithmetic on columns nests one level per operator; SemanticError), and
// operators whose output schemas add up to more than 2^20 columns
// (SemanticError).
//
// # Growing the language
//
// New operators are a file of their own holding the syntax node, its
// parse function (dispatched from operators.go), its compiled stage with
// its schema and column needs, and its runtime operator (see join.go,
// mvexpand.go, parse_op.go). New scalar functions are one register call
// in the funcs file of their category, usually a rowFunc over scalars; a
// predicate that can narrow a selection faster implements filter. New
// aggregates are a case in aggregateMore and an aggState (aggs_more.go).
package kql
