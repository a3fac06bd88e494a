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
// Invariants: every request except /healthz, /readyz, the identity
// endpoints and the cloud metadata document (/metadata/endpoints, as Azure
// serves it) is authenticated; each surface accepts the token audiences
// Azure accepts for its service and only those (audiences.go); secrets (the
// bootstrap client secret, signing keys, shared keys) never appear in logs;
// bootstrap.json is written 0600.
package server
