// Package admit is Kustodian's resource governance at the edge: it decides
// whether a request may start the work that costs memory, and it makes
// request bodies arrive at a minimum rate.
//
// A Pool is a budget of units — bytes of request bodies in flight, bytes of
// decoded batches in flight, query slots — that requests acquire before the
// costly work and release after it. A request that does not fit waits at
// most Options.MaxWait, in arrival order (at most Options.MaxWaiting of
// them), and is then refused with an *Error that says why and when to
// retry:
//
//   - ReasonClient: the client (a workspace, a principal) already holds its
//     share of the pool (Options.ClientShare); others may go on. HTTP 429.
//   - ReasonSaturated: the pool is full with the work of several clients.
//     HTTP 503.
//   - ReasonTooLarge: the request wants more than the pool (or a client's
//     share) could ever hold; waiting would not help. HTTP 413.
//   - ReasonCanceled: the request's context ended while it waited.
//
// Both 429 and 503 carry a Retry-After (Error.RetryAfter, Error.Header).
// The caller translates an *Error into its API's error shape once, at the
// edge; the package writes no response itself.
//
// Typical use, for a query surface (one slot per query, at most a few per
// principal):
//
//	queries := admit.New(admit.Options{Name: "queries", Capacity: 8, ClientShare: 4, MaxWait: 2 * time.Second})
//	...
//	g, err := queries.Acquire(r.Context(), principalID, 1)
//	if err != nil {
//		var ae *admit.Error
//		errors.As(err, &ae)
//		ae.Header(w.Header()) // Retry-After
//		writeError(w, ae.Status(), ...)
//		return
//	}
//	defer g.Release()
//
// A Grant can be resized while the work runs (Grant.Resize): growing never
// waits (a request that holds units and waits for more could hold up the
// others), so a request whose real cost turns out larger than it was
// charged is refused as it goes rather than after.
//
// MinRateBody bounds the time a request body may take to arrive: the body
// must keep up with a minimum rate after a grace period, enforced with the
// connection's read deadline (http.ResponseController), so a client that
// trickles bytes (a slow-loris) is cut off while a large upload over a slow
// but real link completes.
//
// Time comes from a Clock, so tests drive waits with a fake one. The
// package keeps no global state and logs nothing; client names are only
// map keys, never part of an error message or a metric label.
package admit
