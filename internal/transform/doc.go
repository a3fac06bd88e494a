// Package transform compiles and runs the transformations of data
// collection rules (a data flow's transformKql) on Kustodian's KQL engine.
//
// A transformation reads one table, source, whose columns are the input
// stream's declared columns, and applies the subset of KQL Azure Monitor
// allows in ingestion-time transformations: where, extend, project,
// project-away, project-rename, project-keep, parse and parse-where, with
// let statements of scalar values. Anything else — summarize, join, union,
// take, sort, a table other than source — is refused when the rule is
// written, never at ingestion. An empty transformation or the bare word
// source is the identity.
//
// Compile checks the text against the input columns and reports the
// output columns, so a rule whose output a table cannot hold is refused
// when it is created (400). Run applies a compiled transformation to one
// batch; rows it filters out are the caller's to count. A transformation
// that fails at run time returns the error: the batch is refused whole and
// its sender keeps it, nothing is dropped silently.
//
// The package knows only kql.
package transform
