// Package meta is Kustodian's metadata store: tenants, principals,
// subscriptions, feature registrations, Resource Manager resources, role
// assignments, long-running operations and sealed secrets.
//
// Store is the interface every backend implements; SQLite (pure Go, no cgo)
// is the embedded default and PostgreSQL will implement the same interface
// for multi-node deployments. Every multi-row change runs in one transaction
// (Store.Update); reads that must be consistent run in Store.View.
//
// Invariants:
//   - resource ids are case-insensitive: resources are keyed by the
//     lower-case id and keep the id as first written for display;
//   - secrets (signing keys, shared keys, key material) arrive here already
//     sealed by the caller; this package never sees plaintext key material;
//   - the schema is versioned: migrations run in order, each in a
//     transaction, and a database newer than the binary is refused.
package meta
