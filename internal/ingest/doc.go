// Package ingest implements the HTTP Data Collector API
// (POST /api/logs?api-version=2016-04-01): SharedKey authentication as Azure
// computes it, x-ms-date within a skew, Log-Type and body validation with
// Azure's documented limits, and typing of fields into columns as Azure
// does ({name}_s, _d, _b, _t, _g in table {Log-Type}_CL, plus TimeGenerated,
// TenantId, Type and SourceSystem).
//
// It turns a request into a columnar Batch and hands it to a Sink; a 200
// answer means the Sink acknowledged the batch as durable. Every rejection
// names its reason in the API's error shape {"Error","Message"} with the
// status Azure uses; nothing is dropped silently. In particular a field
// value over 32 KB is rejected rather than truncated (Azure truncates), so
// a sender never loses data without being told. Values a client sent are
// echoed in messages only cut to 64 bytes.
//
// A request costs the server nothing before it is known. The signature
// covers the method, Content-Length, Content-Type, x-ms-date and the path
// but not the body, so the headers are checked and the signature verified
// over the declared length before a byte of the body is read; a body
// without Content-Length (chunked) is refused with 411, as Azure does, and
// one longer or shorter than declared with 400. Then the request is
// admitted (Options.Bodies, Options.Batches: 429 when its workspace holds
// its share, 503 when the server is saturated, both with Retry-After), and
// only then is the body read and decoded — record by record as it
// arrives, so the server holds the batch being built but never the whole
// body, and a batch that grows past what it was charged is refused as it
// grows.
//
// Replays. Because the signature does not cover the body, Azure accepts a
// captured request again — or another body of the same length under its
// signature — as long as its x-ms-date is within the skew (15 minutes
// either way). That is a property of the API, and the default here too.
// Options.Replay (a ReplayGuard) is a stricter mode that refuses an exact
// replay (same workspace and signature) within the window, with bounded
// memory; see ReplayGuard for what it costs senders.
//
// # Datetimes and TimeGenerated
//
// A datetime is Kusto's: int64 ticks (100 ns) since the Unix epoch, UTC,
// from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.9999999Z (package
// datetime); Batch.TimeGenerated and datetime columns carry ticks. A string
// field is a datetime (_t) when ParseDatetime reads it as ISO 8601 and the
// instant, in UTC, lies in that range; anything else, also a well-formed
// time outside it, stays a string (_s), as Azure types every value that is
// not a date: nothing wraps around and nothing is rejected for its date.
//
// TimeGenerated follows Azure's documented rule, implemented once in
// ResolveTimeGenerated for every front door (the Data Collector API's
// time-generated-field now; the Logs Ingestion API and Application
// Insights later): the record's own time is kept when it lies from two days
// before the time the record was received to one day after it, and is
// replaced by the received time otherwise (and when no time is given). The
// sources: the Data Collector API reference ("time-generated-field ... The
// Time Generated value cannot be older than 2 days before received time or
// more than a day in the future. In such case, the time that the message is
// ingested will be used."), "Standard columns in Azure Monitor Logs"
// (TimeGenerated: "cannot be older than 2 days before received time or more
// than a day in the future ... it would be replaced with the actual received
// time"), and "Log data ingestion time in Azure Monitor" (the same rule for
// every record; without a source value TimeGenerated is _TimeReceived). The
// named field itself keeps its value in its own _t column, so a sender that
// stamps year 9999 still finds that value there. Because an accepted row is
// never more than two days old when it arrives, retention (seven days at
// least) cannot delete it as soon as it is stored.
//
// The package never logs field values, shared keys or signatures.
package ingest
