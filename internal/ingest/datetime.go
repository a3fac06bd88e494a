package ingest

import (
	"time"

	"github.com/kustodian/kustodian/internal/datetime"
	"github.com/kustodian/kustodian/internal/pipeline"
)

// The TimeGenerated window (Azure's documented values, for every table and
// every ingestion path): a record keeps its own TimeGenerated only when it
// is at most MaxTimeGeneratedAge before the time the record was received and
// at most MaxTimeGeneratedLead after it; otherwise TimeGenerated is the
// received time. See ResolveTimeGenerated.
const (
	MaxTimeGeneratedAge  = pipeline.MaxTimeGeneratedAge
	MaxTimeGeneratedLead = pipeline.MaxTimeGeneratedLead
)

// ResolveTimeGenerated returns the TimeGenerated (ticks) stored for a record
// received at received (ticks) whose data source gave given (ticks; has is
// false when the record names none, or the named field is not a datetime).
// It is Azure's rule, applied the same way by every front door (the Data
// Collector API's time-generated-field today, the Logs Ingestion API's
// TimeGenerated column later): a given time from received−2 days to
// received+1 day, both ends included, is kept; anything else, and a missing
// one, becomes the received time. So an acknowledged row is never older
// than two days when it arrives, and retention (at least seven days) can
// never delete it at once; and a time far in the past or future (year 1,
// year 9999) never becomes TimeGenerated, though it stays in its own
// datetime column.
//
// The rule lives in package pipeline, the path every front door shares.
func ResolveTimeGenerated(given int64, has bool, received int64) int64 {
	return pipeline.ResolveTimeGenerated(given, has, received)
}

// receivedTicks returns the receive time in ticks. A server clock outside
// Kusto's range (never in practice) is clamped into it.
func receivedTicks(now time.Time) int64 {
	if t, ok := datetime.FromTime(now); ok {
		return t
	}
	if now.Before(datetime.Time(datetime.Min)) {
		return datetime.Min
	}
	return datetime.Max
}

// ParseDatetime parses a datetime field value as the Data Collector API
// types one: ISO 8601 / RFC 3339 with or without fractional seconds and
// zone (no zone means UTC), or a bare date. It returns the instant in ticks,
// truncated to the tick (digits beyond the seventh decimal are dropped), and
// ok false for anything else — including a well-formed time outside Kusto's
// range 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.9999999Z once converted
// to UTC (year 0000, or 9999-12-31T23:00:00-02:00): Kusto has no datetime
// for it, so the value is typed as a string (_s) rather than rejected or
// wrapped around, and no data is lost.
func ParseDatetime(s string) (int64, bool) { return pipeline.ParseDatetime(s) }
