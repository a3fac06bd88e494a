// Package arm is Kustodian's Azure Resource Manager HTTP layer: the part of the
// control plane that every resource provider shares and that knows nothing of
// any particular provider, of storage or of identity.
//
// It owns:
//   - the ARM error envelope ({"error":{"code","message"}}) and the translation
//     of errors to it, once, at the edge (errors.go);
//   - routing of case-insensitive resource paths to provider handlers, with
//     api-version validation per resource type (router.go);
//   - parsing of resource ids found in request bodies (resourceid.go);
//   - the lenient JSON reader that accepts request bodies the way Azure's own
//     reader does (trailing commas, unquoted property names) and
//     case-insensitive property access (lenient.go, object.go);
//   - Azure region names (regions.go);
//   - long-running operation responses and the operation status resource
//     (async.go).
//
// Invariants: a handler error that is not an *Error is never shown to the
// client (it becomes a 500 with a correlation id and is logged); bad input is
// always an *Error with a 4xx status.
package arm
