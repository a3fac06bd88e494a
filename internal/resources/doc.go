// Package resources implements Kustodian's built-in Resource Manager
// providers that every other provider leans on:
//
//   - Microsoft.Resources: subscriptions (read-only: the operator creates
//     them) and resource groups (create, update, read, existence check, list,
//     delete, and a refusal of resource moves);
//   - Microsoft.Features: preview feature registration per subscription, with
//     automatic or operator-approved ("manual") registration, the gate the
//     cluster provider checks before a customer-managed-key cluster is
//     created;
//   - Microsoft.Authorization: role assignments at subscription, group and
//     resource scope, and the built-in role definitions of the identity
//     package.
//
// Provider.Register adds the routes to an arm.Router. Its role assignment and
// role definition routes use {*scope} patterns, which match any path ending
// in ".../providers/Microsoft.Authorization/...", so Register must be called
// before any other provider registers its routes on the same router.
//
// Every route below a subscription answers 404 SubscriptionNotFound for an
// unknown subscription and 401 InvalidAuthenticationTokenTenant when the
// caller's token was issued by another tenant than the subscription's, as
// Azure does; EnsureSubscription and EnsureGroupExists give other providers
// the same checks and errors.
//
// Authorization is the caller's: each handler asks Deps.Authorize whether the
// caller may perform the Azure action (e.g.
// "Microsoft.Resources/subscriptions/resourceGroups/write") on the scope,
// always outside any metadata transaction, so that the authorizer may read
// the store itself. The subscription and resource group lists show only
// what the caller may read; the role assignment list needs read permission
// at the listed scope. Role definitions are readable by any authenticated
// caller, as in Azure.
//
// Storage: resource groups are meta.Resource rows of type
// "Microsoft.Resources/resourceGroups" whose body is the group's tags and
// managedBy; feature states are meta.Feature rows (keyed in lower case);
// role assignments are meta.RoleAssignment rows whose RoleDefinitionID is
// always the subscription form
// "/subscriptions/{s}/providers/Microsoft.Authorization/roleDefinitions/{guid}".
// Two details that meta has no column for live in meta settings under the
// "resources/" prefix: the casing in which an unknown feature was first
// registered, and the object id of a role assignment's creator (createdBy).
//
// Deleting a resource group is refused with 409 while the group still holds
// live resources (Kustodian does not cascade deletes into other providers);
// deleting an empty group also deletes the role assignments at and below it,
// so that a group re-created under the same name does not inherit them.
package resources
