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
// # Limits
//
// Every query runs under Limits (limits.go), Azure's by default: a server
// timeout of 3 minutes that "Prefer: wait=N" may raise to 10 (past it: 504
// GatewayTimeout); results of at most 500,000 rows and 64,000,000 bytes,
// cut there and answered 200 with Azure's PartialError (inner
// E_QUERY_RESULT_SET_TOO_LARGE) after the tables; a memory budget per query
// enforced by the engine. Admission bounds the queries in flight through a
// pool of slots of package admit, the server's one admission mechanism: at
// most MaxConcurrent run at once (so the memory all queries hold is
// bounded), at most MaxQueued wait for a slot for at most QueueTimeout
// (else 503 ServiceUnavailable with Retry-After); and one principal has at
// most 5 running or waiting, as in Azure (else 429 ThrottledError with
// Retry-After). A slot is held until the response is written, and the
// response is streamed row by row, so a result is never held twice.
//
// # Requests
//
// A query names its workspace by customer id (/v1/workspaces/{id}/query)
// or by resource id (/v1/{resourceId}/query, azlogs QueryResource), which
// Options.ResolveWorkspace turns into a customer id; a resource id of
// another type than Microsoft.OperationalInsights/workspaces is a 400,
// and a server without ResolveWorkspace answers 501. The body's
// workspaces member (azlogs AdditionalWorkspaces, or GET workspaces=a,b)
// adds workspaces: each table the query names is then the union of that
// table in every workspace that has it. workspace("ref").T reads the table
// of one other workspace. Every workspace a query reads is resolved and
// authorized (query/read on its resource id) on its own: 404
// WorkspaceNotFoundError, 403 InsufficientAccessError.
//
// POST /v1/$batch takes {"requests":[{"id","headers","body","method",
// "path","workspace"}]} (at most 10) and answers 200 with
// {"responses":[{"id","status","headers","body"}]}, in order: each
// request is authorized, admitted and limited as a query of its own, the
// queries run one after the other, and each response streams as its query
// finishes, so a batch holds one result at a time.
//
// The Prefer header's include-render=true adds the "render" member (the
// render operator's visualization and properties in Azure's names, unset
// ones null, {} without render: azlogs QueryResults.Visualization) and
// include-statistics=true the "statistics" member
// ({"query":{"executionTime":seconds,"resourceUsage":{"memory":
// {"peakPerNode":bytes}},"datasetStatistics":[{"tableRowCount":rows}]}},
// the memory peak being what the run's budget held at most).
// Preference-Applied lists the preferences honoured (and wait=N when it
// changed the timeout); in a batch, in the response's headers.
//
// It never logs query text or results (they carry customer data).
package query
