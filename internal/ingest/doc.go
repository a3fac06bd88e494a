// Package ingest implements the HTTP Data Collector API
// (POST /api/logs?api-version=2016-04-01): SharedKey authentication as Azure
// computes it, replay protection by x-ms-date, Log-Type and body validation
// with Azure's documented limits, and typing of fields into columns as Azure
// does ({name}_s, _d, _b, _t, _g in table {Log-Type}_CL, plus TimeGenerated,
// TenantId, Type and SourceSystem).
//
// It turns a request into a columnar Batch and hands it to a Sink; a 200
// answer means the Sink acknowledged the batch as durable. Every rejection
// names its reason in the API's error shape {"Error","Message"} with the
// status Azure uses; nothing is dropped silently. In particular a field
// value over 32 KB is rejected rather than truncated (Azure truncates), so
// a sender never loses data without being told.
//
// The package never logs field values, shared keys or signatures.
package ingest
