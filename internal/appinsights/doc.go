// Package appinsights implements Application Insights ingestion: POST
// /v2/track and /v2.1/track, the endpoint the SDKs' connection string
// (IngestionEndpoint) points at.
//
// A request body is a JSON array of envelopes or envelopes separated by
// white space (newline-delimited JSON), optionally gzip-compressed
// (Content-Encoding: gzip). Each envelope's data.baseType picks its
// workspace table — RequestData → AppRequests, RemoteDependencyData →
// AppDependencies, ExceptionData → AppExceptions, MessageData → AppTraces,
// EventData → AppEvents, MetricData → AppMetrics, PageViewData →
// AppPageViews, AvailabilityData → AppAvailabilityResults,
// PerformanceCounterData → AppPerformanceCounters — and its baseData and
// context tags (ai.operation.id, ai.cloud.role, ...) become that table's
// columns, typed by the standard schema (package tables). IKey,
// ResourceGUID (the AppId) and _ResourceId name the component; ItemCount
// is 100/sampleRate; client IPs are stored as 0.0.0.0 unless the component
// has DisableIpMasking. TimeGenerated follows ingest.ResolveTimeGenerated,
// like every front door.
//
// The answer is the breeze endpoint's: {"itemsReceived","itemsAccepted",
// "appId","errors":[{"index","statusCode","message"}]} — 200 when every
// item is stored, 206 when some are refused or could not be stored, and the
// items' common status when none is stored (400 invalid, 503 to be
// retried). Items are refused one by one (missing required fields, bad
// durations, items over 64 KB, an iKey other than the request's), so one
// bad item never costs the others.
//
// Authentication and admission. The component is found by the first
// envelope's iKey (an unknown key answers 400 "Invalid instrumentation
// key", as Azure does); at most that item and the reader's buffer (96 KiB)
// are read before the request is admitted. A bearer token (audience
// https://monitor.azure.com) is verified before any of the body is read and
// its principal needs the data action Microsoft.Insights/Telemetry/Write on
// the component (Monitoring Metrics Publisher; Owner's actions are not data
// actions); a component with DisableLocalAuth takes nothing else (401). The
// request is then charged to the ingestion admission pools (package admit) under
// the component's AppId — Content-Length for the body, and the decoded
// batch as it grows — and the decompressed body is bounded at 64 MiB (413).
//
// Durability and keys. Rows go through the Data Collector's ingest.Sink,
// one Append (one WAL record) per table, and an item is acknowledged only
// once its table's Append returned. Items of a table whose Append failed are
// answered with a retriable status so that the SDKs keep them and send
// them (and only them) again: a revoked customer key and unavailable
// storage answer 503 with Retry-After, with the reason in each item's
// message. 503 rather than the Data Collector's 403 because the SDKs drop
// items answered 403 unless they authenticate with Entra, and retry 503 all.
//
// Where rows go is the Directory's decision (the server's: a
// workspace-based component writes to its workspace, under the linked
// cluster's key; a classic component to its own namespace in the account
// of the ApplicationInsights cluster its clusterDefinitionId names, else
// the shared account).
//
// The package never logs telemetry values or instrumentation keys.
package appinsights
