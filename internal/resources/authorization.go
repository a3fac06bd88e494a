package resources

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/kustodian/kustodian/internal/arm"
	"github.com/kustodian/kustodian/internal/identity"
	"github.com/kustodian/kustodian/internal/meta"
)

// AuthorizationAPIVersions are the api-versions of Microsoft.Authorization
// role assignments and role definitions.
var AuthorizationAPIVersions = []string{
	"2015-07-01", "2018-01-01-preview", "2018-09-01-preview", "2020-04-01-preview", "2020-10-01-preview", "2022-04-01",
}

// Resource types and path pieces of Microsoft.Authorization.
const (
	roleAssignmentType  = "Microsoft.Authorization/roleAssignments"
	roleDefinitionType  = "Microsoft.Authorization/roleDefinitions"
	roleAssignmentsPath = "/providers/Microsoft.Authorization/roleAssignments/"
	roleDefinitionsPath = "/providers/Microsoft.Authorization/roleDefinitions/"
)

// Azure actions on role assignments.
const (
	actionAssignmentRead   = "Microsoft.Authorization/roleAssignments/read"
	actionAssignmentWrite  = "Microsoft.Authorization/roleAssignments/write"
	actionAssignmentDelete = "Microsoft.Authorization/roleAssignments/delete"
)

// principalTypes are the principal types Azure knows. Kustodian's
// principals (service principals and managed identities) are all
// "ServicePrincipal".
var principalTypes = []string{"User", "Group", "ServicePrincipal", "ForeignGroup", "Device"}

const servicePrincipalType = "ServicePrincipal"

func (p *Provider) registerAuthorization(rt *arm.Router) {
	rt.Handle("{*scope}/providers/Microsoft.Authorization/roleAssignments/{roleAssignmentName}", AuthorizationAPIVersions,
		map[string]arm.Handler{
			http.MethodPut:    p.putAssignment,
			http.MethodGet:    p.getAssignment,
			http.MethodDelete: p.deleteAssignment,
		})
	rt.Handle("{*scope}/providers/Microsoft.Authorization/roleAssignments", AuthorizationAPIVersions,
		map[string]arm.Handler{http.MethodGet: p.listAssignments})
	rt.Handle("{*scope}/providers/Microsoft.Authorization/roleDefinitions/{roleDefinitionId}", AuthorizationAPIVersions,
		map[string]arm.Handler{http.MethodGet: p.getRoleDefinition})
	rt.Handle("{*scope}/providers/Microsoft.Authorization/roleDefinitions", AuthorizationAPIVersions,
		map[string]arm.Handler{http.MethodGet: p.listRoleDefinitions})
}

// scopeKey is the comparable form of a scope: lower case, no trailing
// slash, "/" for the root.
func scopeKey(scope string) string {
	k := strings.ToLower(strings.TrimSuffix(scope, "/"))
	if k == "" {
		return "/"
	}
	return k
}

// covers reports whether a grant at scope outer applies at scope inner:
// inner is outer or lies below it. Both are scope keys.
func covers(outer, inner string) bool {
	return outer == "/" || inner == outer || strings.HasPrefix(inner, outer+"/")
}

func invalidScope(scope string) *arm.Error {
	return arm.BadRequest("InvalidScope",
		"The scope '%s' is not valid. Supported scopes are a subscription, a resource group or a resource: "+
			"/subscriptions/{subscriptionId}[/resourceGroups/{resourceGroupName}[/providers/...]].", scope)
}

// resolveScope checks a scope taken from a request path. The root scope
// "/" is returned as is, with a nil subscription. Any other scope must lie
// in a subscription of the caller's tenant (404 SubscriptionNotFound, 401
// InvalidAuthenticationTokenTenant). If mustExist, the resource group or
// resource named by the scope must exist too, and the scope is returned in
// the casing in which it was created; otherwise it is returned as given
// (with the subscription id as stored).
func resolveScope(ctx context.Context, tx meta.Tx, caller arm.Caller, scope string, mustExist bool) (string, *meta.Subscription, error) {
	s := strings.TrimSuffix(scope, "/")
	if s == "" {
		return "/", nil, nil
	}
	segs := strings.Split(strings.TrimPrefix(s, "/"), "/")
	if len(segs) < 2 || !strings.EqualFold(segs[0], "subscriptions") || slices.Contains(segs, "") {
		return "", nil, invalidScope(scope)
	}
	sub, err := EnsureSubscription(ctx, tx, caller, segs[1])
	if err != nil {
		return "", nil, err
	}
	canonical := "/subscriptions/" + sub.ID
	if len(segs) == 2 {
		return canonical, sub, nil
	}
	if !mustExist {
		return canonical + "/" + strings.Join(segs[2:], "/"), sub, nil
	}
	if len(segs) >= 4 && strings.EqualFold(segs[2], "resourceGroups") {
		group, err := readGroup(ctx, tx, sub.ID, segs[3])
		if err != nil {
			return "", nil, err
		}
		if len(segs) == 4 {
			return group.ID, sub, nil
		}
	}
	res, err := tx.Resource(ctx, s)
	if err == nil {
		return res.ID, sub, nil
	}
	if !errors.Is(err, meta.ErrNotFound) {
		return "", nil, fmt.Errorf("read scope %s: %w", s, err)
	}
	id, perr := arm.ParseResourceID(s)
	if perr != nil || id.Namespace == "" {
		return "", nil, invalidScope(scope)
	}
	return "", nil, arm.NotFound(id.ResourceType(), id.Name())
}

// resolve runs resolveScope in its own read transaction.
func (p *Provider) resolve(r *arm.Request, mustExist bool) (string, *meta.Subscription, error) {
	var (
		scope string
		sub   *meta.Subscription
	)
	err := p.store.View(r.Context(), func(tx meta.Tx) error {
		var err error
		scope, sub, err = resolveScope(r.Context(), tx, r.Caller, r.Params["scope"], mustExist)
		return err
	})
	return scope, sub, err
}

// assignmentName validates a role assignment name (a GUID) and returns it
// in lower case.
func assignmentName(name string) (string, error) {
	u, err := uuid.Parse(name)
	if err != nil || len(name) != 36 {
		return "", arm.BadRequest("InvalidRoleAssignmentId",
			"The role assignment ID '%s' is not valid. The role assignment ID must be a GUID.", name)
	}
	return u.String(), nil
}

// assignmentJSON is the wire form of a role assignment.
type assignmentJSON struct {
	ID         string               `json:"id"`
	Name       string               `json:"name"`
	Type       string               `json:"type"`
	Properties assignmentProperties `json:"properties"`
}

type assignmentProperties struct {
	RoleDefinitionID string `json:"roleDefinitionId"`
	PrincipalID      string `json:"principalId"`
	PrincipalType    string `json:"principalType"`
	Scope            string `json:"scope"`
	CreatedOn        string `json:"createdOn"`
	UpdatedOn        string `json:"updatedOn"`
	CreatedBy        string `json:"createdBy,omitempty"`
	UpdatedBy        string `json:"updatedBy,omitempty"`
}

func assignmentBody(a *meta.RoleAssignment, createdBy string) assignmentJSON {
	return assignmentJSON{
		ID:   a.ID,
		Name: a.Name,
		Type: roleAssignmentType,
		Properties: assignmentProperties{
			RoleDefinitionID: a.RoleDefinitionID,
			PrincipalID:      a.PrincipalID,
			PrincipalType:    a.PrincipalType,
			Scope:            a.Scope,
			CreatedOn:        timestamp(a.CreatedAt),
			UpdatedOn:        timestamp(a.CreatedAt), // assignments are immutable
			CreatedBy:        createdBy,
			UpdatedBy:        createdBy,
		},
	}
}

// createdBySetting is the meta setting that records who created a role
// assignment (meta.RoleAssignment has no column for it).
func createdBySetting(id string) string {
	return "resources/roleAssignmentCreatedBy/" + strings.ToLower(id)
}

// createdBy returns the object id of the creator of an assignment, or "".
func createdBy(ctx context.Context, tx meta.Tx, id string) (string, error) {
	b, err := tx.Setting(ctx, createdBySetting(id))
	if errors.Is(err, meta.ErrNotFound) {
		return "", nil
	}
	return string(b), err
}

// deleteAssignment deletes a role assignment and its createdBy record.
func deleteAssignment(ctx context.Context, tx meta.Tx, id string) error {
	if err := tx.DeleteRoleAssignment(ctx, id); err != nil {
		return err
	}
	// meta has no way to delete a setting: an empty value means "none".
	return tx.PutSetting(ctx, createdBySetting(id), []byte{})
}

// sameRole reports whether two role definition ids (full or bare GUIDs)
// name the same role.
func sameRole(a, b string) bool {
	return strings.EqualFold(a[strings.LastIndexByte(a, '/')+1:], b[strings.LastIndexByte(b, '/')+1:])
}

// assignmentInput is the validated body of a role assignment PUT.
type assignmentInput struct {
	role          identity.RoleDefinition
	principalID   string
	principalType string
}

func readAssignmentInput(body arm.Object, scope string) (assignmentInput, error) {
	var in assignmentInput
	props, ok, err := body.Object("properties")
	if err != nil {
		return in, invalidContent(err)
	}
	if !ok {
		return in, arm.BadRequest("InvalidRequestContent", "The request content was invalid: property 'properties' is required.")
	}
	roleID, ok, err := props.String("roleDefinitionId")
	if err != nil {
		return in, invalidContent(arm.PrefixTypeError("properties", err))
	}
	if !ok || roleID == "" {
		return in, arm.BadRequest("InvalidRequestContent", "The request content was invalid: property 'properties.roleDefinitionId' is required.")
	}
	principalID, _, err := props.String("principalId")
	if err != nil {
		return in, invalidContent(arm.PrefixTypeError("properties", err))
	}
	u, err := uuid.Parse(principalID)
	if err != nil || len(principalID) != 36 {
		return in, arm.BadRequest("InvalidPrincipalId", "A valid principal ID must be provided for role assignment.")
	}
	in.principalID = u.String()
	if in.principalType, _, err = props.String("principalType"); err != nil {
		return in, invalidContent(arm.PrefixTypeError("properties", err))
	}
	if in.principalType != "" && !containsFold(principalTypes, in.principalType) {
		return in, arm.BadRequest("InvalidPrincipalType",
			"The principal type '%s' is not valid. Valid types are %s.", in.principalType, strings.Join(principalTypes, ", "))
	}
	cond, _, err := props.String("condition")
	if err != nil {
		return in, invalidContent(arm.PrefixTypeError("properties", err))
	}
	if cond != "" {
		// Ignoring a condition would grant more than asked: refuse it.
		return in, arm.BadRequest("RoleAssignmentConditionNotSupported",
			"Role assignment conditions are not supported by this service; remove 'properties.condition'.")
	}
	bodyScope, ok, err := props.String("scope")
	if err != nil {
		return in, invalidContent(arm.PrefixTypeError("properties", err))
	}
	if ok && scopeKey(bodyScope) != scopeKey(scope) {
		return in, arm.BadRequest("InvalidScope",
			"The scope '%s' in the request body does not match the scope '%s' of the request URI.", bodyScope, scope)
	}
	role, ok := identity.RoleByID(roleID)
	if !ok {
		return in, arm.BadRequest("RoleDefinitionDoesNotExist",
			"The specified role definition with ID '%s' does not exist.", roleID[strings.LastIndexByte(roleID, '/')+1:])
	}
	in.role = role
	return in, nil
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// putAssignment creates a role assignment. Assignments are immutable:
// putting the same content again answers 201 with the existing assignment,
// other content under the same name is a 409.
func (p *Provider) putAssignment(w http.ResponseWriter, r *arm.Request) error {
	name, err := assignmentName(r.Params["roleAssignmentName"])
	if err != nil {
		return err
	}
	scope, sub, err := p.resolve(r, true)
	if err != nil {
		return err
	}
	if sub == nil {
		return arm.BadRequest("InvalidScope", "Role assignments at the root scope '/' are not supported.")
	}
	if err := p.check(r, actionAssignmentWrite, scope); err != nil {
		return err
	}
	body, err := r.Body()
	if err != nil {
		return err
	}
	in, err := readAssignmentInput(body, scope)
	if err != nil {
		return err
	}

	id := scope + roleAssignmentsPath + name
	var (
		out     *meta.RoleAssignment
		creator string
	)
	err = p.store.Update(r.Context(), func(tx meta.Tx) error {
		ctx := r.Context()
		pr, err := tx.Principal(ctx, in.principalID)
		if errors.Is(err, meta.ErrNotFound) || (err == nil && !strings.EqualFold(pr.TenantID, sub.TenantID)) {
			return arm.BadRequest("PrincipalNotFound",
				"Principal %s does not exist in the directory %s. Check that you have the correct principal ID.",
				strings.ReplaceAll(in.principalID, "-", ""), sub.TenantID)
		}
		if err != nil {
			return fmt.Errorf("read principal %s: %w", in.principalID, err)
		}
		if in.principalType != "" && !strings.EqualFold(in.principalType, servicePrincipalType) {
			return arm.BadRequest("UnmatchedPrincipalType",
				"The PrincipalId '%s' has type '%s', which is different from specified PrincipalType '%s'.",
				strings.ReplaceAll(in.principalID, "-", ""), servicePrincipalType, in.principalType)
		}

		existing, err := tx.RoleAssignment(ctx, id)
		switch {
		case err == nil:
			if !sameRole(existing.RoleDefinitionID, in.role.ID) || !strings.EqualFold(existing.PrincipalID, in.principalID) {
				return arm.Conflict("RoleAssignmentUpdateNotPermitted",
					"Tenant ID, application ID, principal ID, and scope are not allowed to be updated.")
			}
			out = existing
			creator, err = createdBy(ctx, tx, id)
			return err
		case !errors.Is(err, meta.ErrNotFound):
			return fmt.Errorf("read role assignment %s: %w", id, err)
		}

		same, err := tx.RoleAssignments(ctx, in.principalID, scope)
		if err != nil {
			return err
		}
		for _, a := range same {
			if scopeKey(a.Scope) == scopeKey(scope) && sameRole(a.RoleDefinitionID, in.role.ID) {
				return arm.Conflict("RoleAssignmentExists",
					"The role assignment already exists. The ID of the existing role assignment is %s.", a.Name)
			}
		}
		out = &meta.RoleAssignment{
			ID:               id,
			Name:             name,
			Scope:            scope,
			RoleDefinitionID: "/subscriptions/" + sub.ID + roleDefinitionsPath + in.role.ID,
			PrincipalID:      in.principalID,
			PrincipalType:    servicePrincipalType,
			CreatedAt:        p.now(),
		}
		if err := tx.PutRoleAssignment(ctx, out); err != nil {
			return err
		}
		creator = r.Caller.ObjectID
		return tx.PutSetting(ctx, createdBySetting(id), []byte(creator))
	})
	if err != nil {
		return err
	}
	arm.WriteJSON(w, http.StatusCreated, assignmentBody(out, creator))
	return nil
}

// assignment reads the role assignment of a request after checking that the
// caller may perform action on its scope. A missing assignment is (nil,
// nil).
func (p *Provider) assignment(r *arm.Request, action string) (*meta.RoleAssignment, string, error) {
	name, err := assignmentName(r.Params["roleAssignmentName"])
	if err != nil {
		return nil, "", err
	}
	scope, _, err := p.resolve(r, false)
	if err != nil {
		return nil, "", err
	}
	if err := p.check(r, action, scope); err != nil {
		return nil, "", err
	}
	var (
		a       *meta.RoleAssignment
		creator string
	)
	err = p.store.View(r.Context(), func(tx meta.Tx) error {
		id := scope + roleAssignmentsPath + name
		var err error
		a, err = tx.RoleAssignment(r.Context(), id)
		if errors.Is(err, meta.ErrNotFound) {
			a = nil
			return nil
		}
		if err != nil {
			return fmt.Errorf("read role assignment %s: %w", id, err)
		}
		creator, err = createdBy(r.Context(), tx, id)
		return err
	})
	return a, creator, err
}

func (p *Provider) getAssignment(w http.ResponseWriter, r *arm.Request) error {
	a, creator, err := p.assignment(r, actionAssignmentRead)
	if err != nil {
		return err
	}
	if a == nil {
		return arm.Errorf(http.StatusNotFound, "RoleAssignmentNotFound",
			"The role assignment '%s' is not found.", r.Params["roleAssignmentName"])
	}
	arm.WriteJSON(w, http.StatusOK, assignmentBody(a, creator))
	return nil
}

// deleteAssignment answers 200 with the deleted assignment, or 204 if there
// was none.
func (p *Provider) deleteAssignment(w http.ResponseWriter, r *arm.Request) error {
	a, creator, err := p.assignment(r, actionAssignmentDelete)
	if err != nil {
		return err
	}
	if a == nil {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	if err := p.store.Update(r.Context(), func(tx meta.Tx) error {
		return deleteAssignment(r.Context(), tx, a.ID)
	}); err != nil {
		return err
	}
	arm.WriteJSON(w, http.StatusOK, assignmentBody(a, creator))
	return nil
}

// assignmentFilter is a parsed $filter of the role assignment list.
type assignmentFilter struct {
	atScope     bool   // only assignments at or above the scope
	principalID string // only this principal's
}

func parseAssignmentFilter(s string) (assignmentFilter, error) {
	var f assignmentFilter
	if strings.TrimSpace(s) == "" {
		return f, nil
	}
	bad := arm.BadRequest("InvalidFilterInQueryString",
		"The $filter '%s' is not supported. Supported filters are \"atScope()\", \"principalId eq '{id}'\" "+
			"and \"assignedTo('{id}')\", alone or joined by 'and'.", s)
	clauses, ok := parseFilter(s)
	if !ok {
		return f, bad
	}
	for _, c := range clauses {
		switch {
		case strings.EqualFold(c.Func, "atScope") && c.Value == "":
			f.atScope = true
		case strings.EqualFold(c.Name, "principalId"), strings.EqualFold(c.Func, "assignedTo"):
			u, err := uuid.Parse(c.Value)
			if err != nil || f.principalID != "" {
				return f, bad
			}
			f.principalID = u.String()
		default:
			return f, bad
		}
	}
	return f, nil
}

// listAssignments lists the role assignments that apply at the scope (at
// it or above it) and those below it; with atScope(), only the former.
func (p *Provider) listAssignments(w http.ResponseWriter, r *arm.Request) error {
	filter, err := parseAssignmentFilter(r.HTTP.URL.Query().Get("$filter"))
	if err != nil {
		return err
	}
	scope, _, err := p.resolve(r, true)
	if err != nil {
		return err
	}
	if err := p.check(r, actionAssignmentRead, scope); err != nil {
		return err
	}
	key := scopeKey(scope)
	out := list[assignmentJSON]{Value: []assignmentJSON{}}
	err = p.store.View(r.Context(), func(tx meta.Tx) error {
		ctx := r.Context()
		all, err := tx.RoleAssignments(ctx, filter.principalID, "")
		if err != nil {
			return err
		}
		tenants := tenantCache{tx: tx}
		for _, a := range all {
			ak := scopeKey(a.Scope)
			if !covers(ak, key) && (filter.atScope || !covers(key, ak)) {
				continue
			}
			tenant, err := tenants.of(ctx, a)
			if err != nil {
				return err
			}
			if !strings.EqualFold(tenant, r.Caller.TenantID) {
				continue
			}
			creator, err := createdBy(ctx, tx, a.ID)
			if err != nil {
				return err
			}
			out.Value = append(out.Value, assignmentBody(a, creator))
		}
		return nil
	})
	if err != nil {
		return err
	}
	arm.WriteJSON(w, http.StatusOK, out)
	return nil
}

// tenantCache finds the tenant an assignment belongs to: its
// subscription's, or for an assignment outside any subscription its
// principal's.
type tenantCache struct {
	tx    meta.Tx
	known map[string]string
}

func (c *tenantCache) of(ctx context.Context, a *meta.RoleAssignment) (string, error) {
	if c.known == nil {
		c.known = make(map[string]string)
	}
	segs := strings.Split(strings.TrimPrefix(a.Scope, "/"), "/")
	kind, key := "principal", a.PrincipalID
	if len(segs) >= 2 && strings.EqualFold(segs[0], "subscriptions") {
		kind, key = "subscription", segs[1]
	}
	ck := kind + "/" + strings.ToLower(key)
	if t, ok := c.known[ck]; ok {
		return t, nil
	}
	var tenant string
	if kind == "subscription" {
		s, err := c.tx.Subscription(ctx, key)
		if err != nil && !errors.Is(err, meta.ErrNotFound) {
			return "", err
		}
		if err == nil {
			tenant = s.TenantID
		}
	} else {
		pr, err := c.tx.Principal(ctx, key)
		if err != nil && !errors.Is(err, meta.ErrNotFound) {
			return "", err
		}
		if err == nil {
			tenant = pr.TenantID
		}
	}
	c.known[ck] = tenant
	return tenant, nil
}

// roleDefinitionJSON is the wire form of a role definition.
type roleDefinitionJSON struct {
	ID         string                   `json:"id"`
	Name       string                   `json:"name"`
	Type       string                   `json:"type"`
	Properties roleDefinitionProperties `json:"properties"`
}

type roleDefinitionProperties struct {
	RoleName         string           `json:"roleName"`
	Type             string           `json:"type"`
	Description      string           `json:"description"`
	AssignableScopes []string         `json:"assignableScopes"`
	Permissions      []permissionJSON `json:"permissions"`
}

type permissionJSON struct {
	Actions        []string `json:"actions"`
	NotActions     []string `json:"notActions"`
	DataActions    []string `json:"dataActions"`
	NotDataActions []string `json:"notDataActions"`
}

// builtInRole is the role definition type of built-in roles.
const builtInRole = "BuiltInRole"

func roleDefinitionBody(scope string, d identity.RoleDefinition) roleDefinitionJSON {
	prefix := strings.TrimSuffix(scope, "/")
	nonNil := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	return roleDefinitionJSON{
		ID:   prefix + roleDefinitionsPath + d.ID,
		Name: d.ID,
		Type: roleDefinitionType,
		Properties: roleDefinitionProperties{
			RoleName:         d.Name,
			Type:             builtInRole,
			Description:      d.Description,
			AssignableScopes: []string{"/"},
			Permissions: []permissionJSON{{
				Actions:        nonNil(d.Actions),
				NotActions:     nonNil(d.NotActions),
				DataActions:    nonNil(d.DataActions),
				NotDataActions: []string{},
			}},
		},
	}
}

// getRoleDefinition serves a built-in role. Role definitions are readable
// by any authenticated caller, as in Azure.
func (p *Provider) getRoleDefinition(w http.ResponseWriter, r *arm.Request) error {
	scope, _, err := p.resolve(r, false)
	if err != nil {
		return err
	}
	id := r.Params["roleDefinitionId"]
	d, ok := identity.RoleByID(id)
	if !ok {
		return arm.Errorf(http.StatusNotFound, "RoleDefinitionDoesNotExist",
			"The specified role definition with ID '%s' does not exist.", id)
	}
	arm.WriteJSON(w, http.StatusOK, roleDefinitionBody(scope, d))
	return nil
}

// listRoleDefinitions lists the built-in roles, filtered by
// "roleName eq '...'" or "type eq '...'".
func (p *Provider) listRoleDefinitions(w http.ResponseWriter, r *arm.Request) error {
	var roleName, roleType string
	if s := strings.TrimSpace(r.HTTP.URL.Query().Get("$filter")); s != "" {
		bad := arm.BadRequest("InvalidFilterInQueryString",
			"The $filter '%s' is not supported. Supported filters are \"roleName eq '{name}'\", \"type eq '{type}'\" and \"atScopeAndBelow()\".", s)
		clauses, ok := parseFilter(s)
		if !ok {
			return bad
		}
		for _, c := range clauses {
			switch {
			case strings.EqualFold(c.Name, "roleName"):
				roleName = c.Value
			case strings.EqualFold(c.Name, "type"):
				roleType = c.Value
			case strings.EqualFold(c.Func, "atScopeAndBelow") && c.Value == "":
			default:
				return bad
			}
		}
	}
	scope, _, err := p.resolve(r, false)
	if err != nil {
		return err
	}
	out := list[roleDefinitionJSON]{Value: []roleDefinitionJSON{}}
	for _, d := range identity.BuiltinRoles {
		if (roleName == "" || strings.EqualFold(roleName, d.Name)) && (roleType == "" || strings.EqualFold(roleType, builtInRole)) {
			out.Value = append(out.Value, roleDefinitionBody(scope, d))
		}
	}
	arm.WriteJSON(w, http.StatusOK, out)
	return nil
}
