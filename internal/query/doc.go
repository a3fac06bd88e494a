// Package query implements the Log Analytics Query API:
// POST /v1/workspaces/{workspaceId}/query (and GET with query= and
// timespan=), answering {"tables":[{"name":"PrimaryResult","columns",
// "rows"}]} as the monitor/query/azlogs client parses it.
//
// It authenticates bearer tokens for the query audience, checks read access
// to the workspace, parses the ISO 8601 timespan, compiles the KQL with
// internal/kql against the workspace's tables and runs it over the data the
// storage layer exposes (Data). Errors use the API's own shape:
// {"error":{"code","message","innererror":{"code","message","line","pos"}}}.
// A revoked customer key answers 403 CustomerManagedKeyRevoked, an
// unreachable one 503 ServiceUnavailable, and stored data that fails
// authentication (tampered or damaged at rest) 500 DataIntegrityError,
// whose details (file, block) go only to the server's log.
//
// It never logs query text or results (they carry customer data).
package query
