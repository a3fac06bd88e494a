// Package monitor implements the Microsoft.OperationalInsights and
// Microsoft.Insights resource providers: dedicated clusters with their
// system-assigned identity and customer-managed key properties, workspaces
// and their shared keys, the workspace-to-cluster linked service, and
// Application Insights components — with every rule of the customer-managed
// key procedure (feature registration, capacity reservation steps, at most
// two clusters per subscription, immutable cluster type, same region and
// tenant for linking, soft delete with name reservation and recovery).
//
// State lives in the metadata store as one JSON document per resource;
// requests are rendered per api-version at the edge. Time is injected: a
// cluster's provisioning state and a long-running operation's status are
// pure functions of their records and the clock, so nothing here runs in
// the background except the purge of expired soft-deleted resources, which
// the server calls periodically (Provider.PurgeExpired).
//
// What this package must never do: hold or log key material. Workspace
// shared keys are sealed before they reach the store.
package monitor
