package identity

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// ErrForbidden is wrapped by the error Authorizer.Check returns when the
// principal may not perform the action.
var ErrForbidden = errors.New("identity: forbidden")

// AuthorizationFailedCode is the Resource Manager error code of an
// AuthorizationError.
const AuthorizationFailedCode = "AuthorizationFailed"

// RoleAssignment grants a role to a principal at a scope.
type RoleAssignment struct {
	ID    string
	Scope string // an ARM id, or "/" for the root
	// RoleDefinitionID is a bare role GUID or a full id ending in
	// "/providers/Microsoft.Authorization/roleDefinitions/{guid}".
	RoleDefinitionID string
	PrincipalID      string // object id
}

// AssignmentSource lists role assignments; the metadata store implements it.
type AssignmentSource interface {
	// AssignmentsForPrincipal returns every role assignment of a principal,
	// at any scope.
	AssignmentsForPrincipal(ctx context.Context, principalID string) ([]RoleAssignment, error)
}

// RoleDefinition is a role: the actions it allows (Actions minus
// NotActions). Action patterns may contain "*" wildcards.
type RoleDefinition struct {
	ID          string // GUID
	Name        string
	Description string
	Actions     []string
	NotActions  []string
	// DataActions are the data-plane actions the role allows (e.g.
	// "Microsoft.Insights/Telemetry/Write"); Actions never grant them.
	DataActions []string
}

// Built-in role GUIDs, the same as Azure's.
const (
	// OwnerRoleID is the GUID of the Owner role.
	OwnerRoleID = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
	// ContributorRoleID is the GUID of the Contributor role.
	ContributorRoleID = "b24988ac-6180-42a0-ab88-20f7382dd24c"
	// ReaderRoleID is the GUID of the Reader role.
	ReaderRoleID = "acdd72a7-3d48-4b3d-a1ac-b75ea7cdf3d4"
	// MonitoringMetricsPublisherRoleID is the GUID of the Monitoring
	// Metrics Publisher role, which lets a principal send data through a
	// data collection rule (the Logs Ingestion API).
	MonitoringMetricsPublisherRoleID = "3913510d-42f4-4e42-8a64-420c390055eb"
)

// TelemetryWriteAction is the data action the Logs Ingestion API checks on
// a data collection rule.
const TelemetryWriteAction = "Microsoft.Insights/Telemetry/Write"

// BuiltinRoles are the Azure built-in roles Kustodian supports. Treat it as
// read-only.
var BuiltinRoles = []RoleDefinition{
	{
		ID:          OwnerRoleID,
		Name:        "Owner",
		Description: "Grants full access to manage all resources, including the ability to assign roles in Azure RBAC.",
		Actions:     []string{"*"},
	},
	{
		ID:   ContributorRoleID,
		Name: "Contributor",
		Description: "Grants full access to manage all resources, but does not allow you to assign roles in Azure RBAC, " +
			"manage assignments in Azure Blueprints, or share image galleries.",
		Actions: []string{"*"},
		NotActions: []string{
			"Microsoft.Authorization/*/Delete",
			"Microsoft.Authorization/*/Write",
			"Microsoft.Authorization/elevateAccess/Action",
			"Microsoft.Blueprint/blueprintAssignments/write",
			"Microsoft.Blueprint/blueprintAssignments/delete",
			"Microsoft.Compute/galleries/share/action",
			"Microsoft.Purview/consents/write",
			"Microsoft.Purview/consents/delete",
			"Microsoft.Resources/deploymentStacks/manageDenySetting/action",
			"Microsoft.Subscription/cancel/action",
			"Microsoft.Subscription/enable/action",
		},
	},
	{
		ID:          ReaderRoleID,
		Name:        "Reader",
		Description: "View all resources, but does not allow you to make any changes.",
		Actions:     []string{"*/read"},
	},
	{
		ID:          MonitoringMetricsPublisherRoleID,
		Name:        "Monitoring Metrics Publisher",
		Description: "Enables publishing metrics against Azure resources",
		Actions:     []string{"Microsoft.Insights/Register/Action", "Microsoft.Support/*", "Microsoft.Resources/subscriptions/resourceGroups/read"},
		DataActions: []string{TelemetryWriteAction},
	},
}

// roleDefinitionsPath is what precedes the GUID in a full role definition id.
const roleDefinitionsPath = "/providers/microsoft.authorization/roledefinitions/"

// RoleByID returns the built-in role with the given GUID or full role
// definition id (".../providers/Microsoft.Authorization/roleDefinitions/{guid}",
// at any scope), case-insensitively.
func RoleByID(idOrGUID string) (RoleDefinition, bool) {
	guid := idOrGUID
	if i := strings.LastIndexByte(idOrGUID, '/'); i >= 0 {
		lower := strings.ToLower(idOrGUID)
		if !strings.HasSuffix(lower[:i+1], roleDefinitionsPath) {
			return RoleDefinition{}, false
		}
		guid = idOrGUID[i+1:]
	}
	for _, r := range BuiltinRoles {
		if strings.EqualFold(r.ID, guid) {
			return r, true
		}
	}
	return RoleDefinition{}, false
}

// Allows reports whether the role allows an action: some Actions pattern
// matches it and no NotActions pattern does (case-insensitively).
func (r RoleDefinition) Allows(action string) bool {
	return anyMatch(r.Actions, action) && !anyMatch(r.NotActions, action)
}

// AllowsData reports whether the role allows a data action: only its
// DataActions count (Owner's "*" is a control-plane wildcard and grants no
// data action, as in Azure).
func (r RoleDefinition) AllowsData(action string) bool {
	return anyMatch(r.DataActions, action)
}

// AuthorizationError is the error of a refused action. It wraps
// ErrForbidden; its message is Resource Manager's (code
// AuthorizationFailedCode, HTTP 403).
type AuthorizationError struct {
	PrincipalID, Action, Scope string
}

// Error implements error.
func (e *AuthorizationError) Error() string {
	return fmt.Sprintf("The client '%s' with object id '%s' does not have authorization to perform action '%s' "+
		"over scope '%s' or the scope is invalid. If access was recently granted, please refresh your credentials.",
		e.PrincipalID, e.PrincipalID, e.Action, e.Scope)
}

// Unwrap returns ErrForbidden.
func (e *AuthorizationError) Unwrap() error { return ErrForbidden }

// Authorizer decides whether principals may perform Resource Manager
// actions, from their role assignments and the built-in roles. It is safe
// for concurrent use if its AssignmentSource is.
type Authorizer struct {
	src AssignmentSource
}

// NewAuthorizer returns an Authorizer reading role assignments from src.
func NewAuthorizer(src AssignmentSource) *Authorizer {
	return &Authorizer{src: src}
}

// Check returns nil if the principal may perform action (e.g.
// "Microsoft.OperationalInsights/clusters/write") on the resource scope (an
// ARM id, e.g. "/subscriptions/s/resourceGroups/rg"). A role assignment
// applies when its scope is "/", equals the scope or is an ancestor of it
// at a path-segment boundary; comparisons are case-insensitive. Assignments
// of unknown roles are ignored. A refused action gives an
// *AuthorizationError (wrapping ErrForbidden); any other error is a failure
// to read the assignments.
func (a *Authorizer) Check(ctx context.Context, principalID, action, scope string) error {
	return a.check(ctx, principalID, action, scope, RoleDefinition.Allows)
}

// CheckData is Check for a data action (RoleDefinition.AllowsData): nil if
// one of the principal's role assignments at scope or above grants it.
func (a *Authorizer) CheckData(ctx context.Context, principalID, action, scope string) error {
	return a.check(ctx, principalID, action, scope, RoleDefinition.AllowsData)
}

// check is Check and CheckData, with the role's test of the action.
func (a *Authorizer) check(ctx context.Context, principalID, action, scope string, allows func(RoleDefinition, string) bool) error {
	refused := &AuthorizationError{PrincipalID: principalID, Action: action, Scope: scope}
	if principalID == "" || action == "" {
		return refused
	}
	assignments, err := a.src.AssignmentsForPrincipal(ctx, principalID)
	if err != nil {
		return fmt.Errorf("identity: role assignments of %s: %w", principalID, err)
	}
	target := normalizeScope(scope)
	for _, as := range assignments {
		if !strings.EqualFold(as.PrincipalID, principalID) || !scopeCovers(normalizeScope(as.Scope), target) {
			continue
		}
		if role, ok := RoleByID(as.RoleDefinitionID); ok && allows(role, action) {
			return nil
		}
	}
	return refused
}

// normalizeScope lower-cases a scope and gives it exactly one leading and no
// trailing "/" ("/" for the root).
func normalizeScope(s string) string {
	s = strings.ToLower(strings.Trim(strings.TrimSpace(s), "/"))
	return "/" + s
}

// scopeCovers reports whether an assignment at scope applies to target; both
// are normalized.
func scopeCovers(scope, target string) bool {
	return scope == "/" || scope == target || strings.HasPrefix(target, scope+"/")
}

// anyMatch reports whether any pattern matches action.
func anyMatch(patterns []string, action string) bool {
	for _, p := range patterns {
		if wildcardMatch(strings.ToLower(p), strings.ToLower(action)) {
			return true
		}
	}
	return false
}

// wildcardMatch reports whether s matches pattern, in which "*" stands for
// any run of characters (including "/") and everything else for itself.
func wildcardMatch(pattern, s string) bool {
	// Greedy matching with backtracking to the last star: linear in
	// practice, never exponential.
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && pattern[p] != '*' && pattern[p] == s[i]:
			p++
			i++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
