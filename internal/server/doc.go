// Package server wires Kustodian's surfaces into one HTTPS listener: the
// identity service (token, discovery and key endpoints), the Resource Manager
// control plane (resource groups, features, role assignments, the monitor
// providers and their long-running operations), health, readiness and
// Prometheus metrics.
//
// It owns the data directory's layout (metadata database, master key,
// development TLS material, bootstrap.json), the first-start bootstrap of a
// tenant, a subscription and an operator principal, and graceful shutdown.
//
// Invariants: every request except /healthz, /readyz and the identity
// endpoints is authenticated; secrets (the bootstrap client secret, signing
// keys, shared keys) never appear in logs; bootstrap.json is written 0600.
package server
