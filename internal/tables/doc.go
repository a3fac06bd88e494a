// Package tables holds the schemas of Azure Monitor Logs' standard tables:
// every table of the Azure Monitor Logs table reference (Heartbeat,
// SecurityEvent, AzureDiagnostics, Perf, Syslog, SigninLogs, AppRequests,
// ...) and the classic Application Insights tables (requests, dependencies,
// exceptions, traces, customEvents, customMetrics, pageViews,
// availabilityResults, browserTimings, performanceCounters).
//
// The schemas are data, not code: standard.tsv.gz is generated from the
// published reference by the program in gen (run by go generate, which needs
// a local clone of the documentation repository) and embedded, so builds and
// tests never need the network or the generator. The file is a gzip of UTF-8
// text with one table per line followed by one line per column:
//
//	# comment
//	<Name>\t<TimeColumn>\t<Category;Category>\t<Solution;Solution>
//	\t<Column>\t<type>
//
// Types are the Query API's names: bool, datetime, dynamic, guid, int, long,
// real, string, timespan.
//
// Guarantees: table names are exact and case-sensitive, as in Kusto, and
// unique; within a table column names are unique; every table has its time
// column (TimeGenerated, or timestamp for the classic Application Insights
// tables) typed datetime. Callers get copies, so the catalog cannot be
// changed through them.
//
// The package knows nothing of the query language or storage: the server
// adapts a Table to whatever its consumers need.
package tables
