package resources

import (
	"net/http"
	"strings"
	"testing"
)

const (
	v2022   = "?api-version=2022-04-01"
	groupID = "/subscriptions/" + subA + "/resourceGroups/RG-One"
	vaultID = groupID + "/providers/Microsoft.KeyVault/vaults/v1"
	subID   = "/subscriptions/" + subA

	assignSub   = "00000000-0000-0000-0000-0000000000a1"
	assignGroup = "00000000-0000-0000-0000-0000000000a2"
	assignVault = "00000000-0000-0000-0000-0000000000a3"
	assignOther = "00000000-0000-0000-0000-0000000000a4"
)

// assignmentPath is the path of a role assignment below scope.
func assignmentPath(scope, name string) string {
	return scope + "/providers/Microsoft.Authorization/roleAssignments/" + name + v2022
}

// assignmentBodyJSON is a role assignment PUT body.
func assignmentBodyJSON(role, principal, extra string) string {
	return `{"properties":{"roleDefinitionId":"` + role + `","principalId":"` + principal + `"` + extra + `}}`
}

// fullRole is the subscription-scoped id of a built-in role.
func fullRole(guid string) string {
	return subID + "/providers/Microsoft.Authorization/roleDefinitions/" + guid
}

// newAuthzEnv returns an env with group RG-One and a vault in it.
func newAuthzEnv(t *testing.T) *env {
	e := newEnv(t, FeatureApprovalAuto, false)
	if r := e.do("PUT", rgPath+v2021, `{"location":"eastus"}`); r.Status != http.StatusCreated {
		t.Fatalf("create group: %d %s", r.Status, r.Raw)
	}
	e.putResource(vaultID)
	return e
}

func TestRoleAssignments(t *testing.T) {
	e := newAuthzEnv(t)
	groupLower := "/subscriptions/" + subA + "/resourcegroups/rg-one"
	list := func(scope, filter string) string {
		p := scope + "/providers/Microsoft.Authorization/roleAssignments" + v2022
		if filter != "" {
			p += "&$filter=" + filter
		}
		return p
	}
	e.run([]step{
		{
			name: "create at a group", method: "PUT", path: assignmentPath(groupLower, assignGroup),
			body:       assignmentBodyJSON(fullRole(contributorRole), principalA, ""),
			wantStatus: http.StatusCreated,
			want: map[string]string{
				"id":                          groupID + "/providers/Microsoft.Authorization/roleAssignments/" + assignGroup,
				"name":                        assignGroup,
				"type":                        "Microsoft.Authorization/roleAssignments",
				"properties.roleDefinitionId": fullRole(contributorRole),
				"properties.principalId":      principalA,
				"properties.principalType":    "ServicePrincipal",
				"properties.scope":            groupID,
				"properties.createdOn":        "2024-05-01T12:00:00Z",
				"properties.updatedOn":        "2024-05-01T12:00:00Z",
				"properties.createdBy":        callerA,
			},
		},
		{
			name: "the same again", method: "PUT", path: assignmentPath(groupID, assignGroup),
			body:       assignmentBodyJSON(fullRole(contributorRole), principalA, `,"principalType":"ServicePrincipal"`),
			wantStatus: http.StatusCreated, want: map[string]string{"properties.scope": groupID},
		},
		{
			name: "other content under the same name", method: "PUT", path: assignmentPath(groupID, assignGroup),
			body:       assignmentBodyJSON(fullRole(readerRole), principalA, ""),
			wantStatus: http.StatusConflict, wantCode: "RoleAssignmentUpdateNotPermitted",
		},
		{
			name: "the same grant under another name", method: "PUT", path: assignmentPath(groupID, assignOther),
			body:       assignmentBodyJSON(fullRole(contributorRole), principalA, ""),
			wantStatus: http.StatusConflict, wantCode: "RoleAssignmentExists", wantInMsg: assignGroup,
		},
		{
			name: "create at the subscription", method: "PUT", path: assignmentPath(subID, assignSub),
			body:       assignmentBodyJSON(fullRole(readerRole), principalA, ""),
			wantStatus: http.StatusCreated, want: map[string]string{"properties.scope": subID},
		},
		{
			name: "create at a resource with a bare role GUID", method: "PUT", path: assignmentPath(strings.ToLower(vaultID), assignVault),
			body:       assignmentBodyJSON(ownerRole, principalA, ""),
			wantStatus: http.StatusCreated,
			want:       map[string]string{"properties.scope": vaultID, "properties.roleDefinitionId": fullRole(ownerRole)},
		},
		{
			name: "name is not a GUID", method: "PUT", path: assignmentPath(groupID, "my-assignment"),
			body:       assignmentBodyJSON(fullRole(readerRole), principalA, ""),
			wantStatus: http.StatusBadRequest, wantCode: "InvalidRoleAssignmentId",
		},
		{
			name: "unknown role", method: "PUT", path: assignmentPath(groupID, assignOther),
			body:       assignmentBodyJSON(fullRole("99999999-9999-9999-9999-999999999999"), principalA, ""),
			wantStatus: http.StatusBadRequest, wantCode: "RoleDefinitionDoesNotExist",
		},
		{
			name: "unknown principal", method: "PUT", path: assignmentPath(groupID, assignOther),
			body:       assignmentBodyJSON(fullRole(readerRole), "99999999-9999-9999-9999-999999999999", ""),
			wantStatus: http.StatusBadRequest, wantCode: "PrincipalNotFound",
		},
		{
			name: "principal of another tenant", method: "PUT", path: assignmentPath(groupID, assignOther),
			body:       assignmentBodyJSON(fullRole(readerRole), principalB, ""),
			wantStatus: http.StatusBadRequest, wantCode: "PrincipalNotFound",
		},
		{
			name: "principal id is not a GUID", method: "PUT", path: assignmentPath(groupID, assignOther),
			body:       assignmentBodyJSON(fullRole(readerRole), "someone", ""),
			wantStatus: http.StatusBadRequest, wantCode: "InvalidPrincipalId",
		},
		{
			name: "wrong principal type", method: "PUT", path: assignmentPath(groupID, assignOther),
			body:       assignmentBodyJSON(fullRole(readerRole), principalA, `,"principalType":"User"`),
			wantStatus: http.StatusBadRequest, wantCode: "UnmatchedPrincipalType",
		},
		{
			name: "unknown principal type", method: "PUT", path: assignmentPath(groupID, assignOther),
			body:       assignmentBodyJSON(fullRole(readerRole), principalA, `,"principalType":"Robot"`),
			wantStatus: http.StatusBadRequest, wantCode: "InvalidPrincipalType",
		},
		{
			name: "scope in the body differs from the path", method: "PUT", path: assignmentPath(groupID, assignOther),
			body:       assignmentBodyJSON(fullRole(readerRole), principalA, `,"scope":"`+subID+`"`),
			wantStatus: http.StatusBadRequest, wantCode: "InvalidScope",
		},
		{
			name: "conditions are refused", method: "PUT", path: assignmentPath(groupID, assignOther),
			body:       assignmentBodyJSON(fullRole(readerRole), principalA, `,"condition":"@Resource[x] == 'y'"`),
			wantStatus: http.StatusBadRequest, wantCode: "RoleAssignmentConditionNotSupported",
		},
		{
			name: "no properties", method: "PUT", path: assignmentPath(groupID, assignOther), body: `{}`,
			wantStatus: http.StatusBadRequest, wantCode: "InvalidRequestContent",
		},
		{
			name: "missing group", method: "PUT", path: assignmentPath(subID+"/resourceGroups/nope", assignOther),
			body:       assignmentBodyJSON(fullRole(readerRole), principalA, ""),
			wantStatus: http.StatusNotFound, wantCode: "ResourceGroupNotFound",
		},
		{
			name: "missing resource", method: "PUT", path: assignmentPath(groupID+"/providers/Microsoft.KeyVault/vaults/nope", assignOther),
			body:       assignmentBodyJSON(fullRole(readerRole), principalA, ""),
			wantStatus: http.StatusNotFound, wantCode: "ResourceNotFound",
		},
		{
			name: "malformed scope", method: "PUT", path: assignmentPath("/tenants/x", assignOther),
			body:       assignmentBodyJSON(fullRole(readerRole), principalA, ""),
			wantStatus: http.StatusBadRequest, wantCode: "InvalidScope",
		},
		{
			name: "root scope", method: "PUT", path: assignmentPath("", assignOther),
			body:       assignmentBodyJSON(fullRole(readerRole), principalA, ""),
			wantStatus: http.StatusBadRequest, wantCode: "InvalidScope",
		},
		{
			name: "unknown subscription", method: "PUT", path: assignmentPath("/subscriptions/"+subUnknown, assignOther),
			body:       assignmentBodyJSON(fullRole(readerRole), principalA, ""),
			wantStatus: http.StatusNotFound, wantCode: "SubscriptionNotFound",
		},
		{
			name: "subscription of another tenant", method: "PUT", path: assignmentPath("/subscriptions/"+subB, assignOther),
			body:       assignmentBodyJSON(fullRole(readerRole), principalB, ""),
			wantStatus: http.StatusUnauthorized, wantCode: "InvalidAuthenticationTokenTenant",
		},
		{
			name: "get with other casing", method: "GET",
			path:       strings.ToUpper(groupLower) + "/PROVIDERS/MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/" + assignGroup + v2022,
			wantStatus: http.StatusOK,
			want:       map[string]string{"properties.scope": groupID, "properties.createdBy": callerA},
		},
		{
			name: "get missing", method: "GET", path: assignmentPath(groupID, assignOther),
			wantStatus: http.StatusNotFound, wantCode: "RoleAssignmentNotFound",
		},
		{
			name: "list at the subscription", method: "GET", path: list(subID, ""),
			wantStatus: http.StatusOK, wantLen: map[string]int{"value": 3},
		},
		{
			name: "list at the group: above, at and below", method: "GET", path: list(groupLower, ""),
			wantStatus: http.StatusOK, wantLen: map[string]int{"value": 3},
		},
		{
			name: "list at the group, atScope", method: "GET", path: list(groupID, "atScope()"),
			wantStatus: http.StatusOK, wantLen: map[string]int{"value": 2},
			want: map[string]string{"value.0.name": assignSub, "value.1.name": assignGroup},
		},
		{
			name: "list at the resource, atScope", method: "GET", path: list(vaultID, "atScope()"),
			wantStatus: http.StatusOK, wantLen: map[string]int{"value": 3},
		},
		{
			name: "list by principal", method: "GET", path: list(subID, "principalId+eq+'"+principalA+"'"),
			wantStatus: http.StatusOK, wantLen: map[string]int{"value": 3},
		},
		{
			name: "list by another principal", method: "GET", path: list(subID, "principalId+eq+'"+principalB+"'"),
			wantStatus: http.StatusOK, wantLen: map[string]int{"value": 0},
		},
		{
			name: "list atScope and assignedTo", method: "GET", path: list(subID, "atScope()+and+assignedTo('"+principalA+"')"),
			wantStatus: http.StatusOK, wantLen: map[string]int{"value": 1}, want: map[string]string{"value.0.name": assignSub},
		},
		{
			name: "list with an unsupported filter", method: "GET", path: list(subID, "roleDefinitionId+eq+'x'"),
			wantStatus: http.StatusBadRequest, wantCode: "InvalidFilterInQueryString",
		},
		{
			name: "list in a missing group", method: "GET", path: list(subID+"/resourceGroups/nope", ""),
			wantStatus: http.StatusNotFound, wantCode: "ResourceGroupNotFound",
		},
		{
			name: "list by a caller of another tenant", token: tokenB, method: "GET", path: list(subID, ""),
			wantStatus: http.StatusUnauthorized, wantCode: "InvalidAuthenticationTokenTenant",
		},
		{
			name: "unsupported api-version", method: "GET", path: subID + "/providers/Microsoft.Authorization/roleAssignments?api-version=2023-01-01",
			wantStatus: http.StatusBadRequest, wantCode: "InvalidApiVersionParameter",
		},
		{
			name: "delete", method: "DELETE", path: assignmentPath(vaultID, assignVault),
			wantStatus: http.StatusOK, want: map[string]string{"name": assignVault, "properties.scope": vaultID},
		},
		{
			name: "delete again", method: "DELETE", path: assignmentPath(vaultID, assignVault), wantStatus: http.StatusNoContent,
		},
		{
			name: "re-create after delete", method: "PUT", path: assignmentPath(vaultID, assignVault),
			body:       assignmentBodyJSON(ownerRole, principalA, ""),
			wantStatus: http.StatusCreated,
		},
	})

	// Deleting the (emptied) group deletes the assignments at and below it.
	e.deleteResource(vaultID)
	e.run([]step{
		{name: "delete the group", method: "DELETE", path: rgPath + v2021, wantStatus: http.StatusOK},
		{
			name: "only the subscription's assignment is left", method: "GET", path: list(subID, ""),
			wantStatus: http.StatusOK, wantLen: map[string]int{"value": 1}, want: map[string]string{"value.0.name": assignSub},
		},
	})
}

func TestRoleAssignmentAuthorization(t *testing.T) {
	e := newAuthzEnv(t)
	// A Contributor: everything but Microsoft.Authorization writes and deletes.
	e.authz.setDeny(func(action, scope string) bool {
		return action == actionAssignmentWrite || action == actionAssignmentDelete
	})
	e.run([]step{
		{
			name: "write denied", method: "PUT", path: assignmentPath(groupID, assignGroup),
			body:       assignmentBodyJSON(fullRole(ownerRole), principalA, ""),
			wantStatus: http.StatusForbidden, wantCode: "AuthorizationFailed",
		},
		{
			name: "delete denied", method: "DELETE", path: assignmentPath(groupID, assignGroup),
			wantStatus: http.StatusForbidden, wantCode: "AuthorizationFailed",
		},
		{
			name: "read allowed", method: "GET", path: groupID + "/providers/Microsoft.Authorization/roleAssignments" + v2022,
			wantStatus: http.StatusOK, wantLen: map[string]int{"value": 0},
		},
	})
	for _, call := range []string{
		actionAssignmentWrite + " " + groupID,
		actionAssignmentDelete + " " + groupID,
		actionAssignmentRead + " " + groupID,
	} {
		if !e.authz.called(call) {
			t.Errorf("missing check %q; calls: %v", call, e.authz.calls)
		}
	}
}

func TestRoleDefinitions(t *testing.T) {
	e := newEnv(t, FeatureApprovalAuto, false)
	defs := "/providers/Microsoft.Authorization/roleDefinitions"
	e.run([]step{
		{
			name: "list at a subscription", method: "GET", path: subID + defs + v2022,
			wantStatus: http.StatusOK, wantLen: map[string]int{"value": 4},
			check: func(t *testing.T, r response) {
				for i := range 4 {
					id := r.Str("value." + string(rune('0'+i)) + ".id")
					if !strings.HasPrefix(id, subID+defs+"/") {
						t.Errorf("id %q is not below %s", id, subID)
					}
				}
			},
		},
		{
			name: "list by role name", method: "GET", path: subID + defs + v2022 + "&$filter=roleName+eq+'reader'",
			wantStatus: http.StatusOK, wantLen: map[string]int{"value": 1, "value.0.properties.permissions": 1},
			want: map[string]string{
				"value.0.name": readerRole, "value.0.properties.roleName": "Reader",
				"value.0.properties.permissions.0.actions.0": "*/read",
			},
		},
		{
			name: "list by type", method: "GET", path: subID + defs + v2022 + "&$filter=type+eq+'CustomRole'",
			wantStatus: http.StatusOK, wantLen: map[string]int{"value": 0},
		},
		{
			name: "get", method: "GET", path: subID + defs + "/" + contributorRole + "?api-version=2018-01-01-preview",
			wantStatus: http.StatusOK,
			want: map[string]string{
				"id":   subID + defs + "/" + contributorRole,
				"name": contributorRole, "type": "Microsoft.Authorization/roleDefinitions",
				"properties.roleName": "Contributor", "properties.type": "BuiltInRole",
				"properties.assignableScopes.0": "/",
			},
			wantLen: map[string]int{"properties.permissions.0.dataActions": 0, "properties.permissions.0.notDataActions": 0},
			check: func(t *testing.T, r response) {
				if r.Len("properties.permissions.0.notActions") == 0 {
					t.Errorf("Contributor has no notActions: %s", r.Raw)
				}
			},
		},
		{
			name: "get at the root", method: "GET", path: defs + "/" + ownerRole + v2022,
			wantStatus: http.StatusOK, want: map[string]string{"id": defs + "/" + ownerRole, "properties.roleName": "Owner"},
		},
		{
			name: "get at a group, case-insensitive", method: "GET",
			path:       strings.ToLower(subID + "/resourceGroups/any" + defs + "/" + readerRole + v2022),
			wantStatus: http.StatusOK, want: map[string]string{"properties.roleName": "Reader"},
		},
		{
			name: "unknown role", method: "GET", path: subID + defs + "/99999999-9999-9999-9999-999999999999" + v2022,
			wantStatus: http.StatusNotFound, wantCode: "RoleDefinitionDoesNotExist",
		},
		{
			name: "unknown subscription", method: "GET", path: "/subscriptions/" + subUnknown + defs + v2022,
			wantStatus: http.StatusNotFound, wantCode: "SubscriptionNotFound",
		},
	})
}

func TestParseFilter(t *testing.T) {
	tests := []struct {
		in   string
		want []filterClause
		ok   bool
	}{
		{"atScope()", []filterClause{{Func: "atScope"}}, true},
		{"principalId eq 'abc'", []filterClause{{Name: "principalId", Value: "abc"}}, true},
		{"atScope() and assignedTo('x')", []filterClause{{Func: "atScope"}, {Func: "assignedTo", Value: "x"}}, true},
		{"tagName eq 'a and b' AND tagValue eq 'it''s'", []filterClause{{Name: "tagName", Value: "a and b"}, {Name: "tagValue", Value: "it's"}}, true},
		{"principalId ne 'x'", nil, false},
		{"principalId eq x", nil, false},
		{"eq 'x'", nil, false},
		{"f('unterminated)", nil, false},
		{"", nil, false},
	}
	for _, tt := range tests {
		got, ok := parseFilter(tt.in)
		if ok != tt.ok || (ok && !equalClauses(got, tt.want)) {
			t.Errorf("parseFilter(%q) = %+v, %v; want %+v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func equalClauses(a, b []filterClause) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
