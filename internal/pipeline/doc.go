// Package pipeline is the one path every ingestion API's data takes once
// its front door has authenticated the request, admitted it and decoded
// its body: resolve the destination table (and run the data collection
// rule's transformation), type the rows against the table's schema, and
// hand them to the storage account the workspace routes to, whose WAL
// makes them durable before the caller acknowledges them.
//
// The front doors (package ingest) differ only in authentication, body
// shape and naming: the HTTP Data Collector API types fields by their
// values and suffixes their names (level_s, latency_d); the Logs Ingestion
// API declares its streams' columns in the rule. Both end in Write.
//
// # One table, both APIs
//
// A table created through the tables API (DCR-based, declared schema) can
// take both APIs at once — Azure makes users choose, which breaks
// migrations. The Logs Ingestion API writes the columns its flow's output
// names, converted to the table's types (Compatible). The Data Collector
// API writes the columns its field names map to, suffix included
// (a field level with a string value is the column level_s): each must be
// a column of the declared schema with the same type, or the post is
// refused with 400 naming the column (add it with the tables API). So a
// migrated table keeps taking its old senders' data under the same column
// names while new senders use the rule, and nothing is dropped silently.
// A classic table (no declared schema) takes the Data Collector's columns
// as they come, as before.
//
// # Transformations
//
// A flow's transformation runs on the KQL engine (package transform) over
// each batch. Rows it filters out are counted (Options.Filtered, the
// metric kustodian_ingest_filtered_rows_total); a transformation that fails
// at run time refuses the batch (the sender keeps it), never drops it.
//
// TimeGenerated follows Azure's rule for every front door
// (ResolveTimeGenerated): kept from two days before receipt to one day
// after, else the time of receipt.
package pipeline
