package identity

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// fakeAssignments is an in-memory AssignmentSource.
type fakeAssignments struct {
	list []RoleAssignment
	err  error
}

func (f *fakeAssignments) AssignmentsForPrincipal(_ context.Context, principalID string) ([]RoleAssignment, error) {
	if f.err != nil {
		return nil, f.err
	}
	var out []RoleAssignment
	for _, a := range f.list {
		if strings.EqualFold(a.PrincipalID, principalID) {
			out = append(out, a)
		}
	}
	return out, nil
}

func TestRoleByID(t *testing.T) {
	tests := []struct {
		id   string
		want string
	}{
		{OwnerRoleID, "Owner"},
		{strings.ToUpper(ContributorRoleID), "Contributor"},
		{"/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/" + ReaderRoleID, "Reader"},
		{"/providers/microsoft.authorization/roledefinitions/" + OwnerRoleID, "Owner"},
		{"/subscriptions/s/providers/Microsoft.Compute/virtualMachines/" + OwnerRoleID, ""},
		{"roleDefinitions/" + OwnerRoleID, ""},
		{"00000000-0000-0000-0000-000000000000", ""},
		{"", ""},
	}
	for _, tt := range tests {
		r, ok := RoleByID(tt.id)
		if ok != (tt.want != "") || r.Name != tt.want {
			t.Errorf("RoleByID(%q) = %q, %v; want %q", tt.id, r.Name, ok, tt.want)
		}
	}
	for _, r := range BuiltinRoles {
		if r.Description == "" || len(r.Actions) == 0 {
			t.Errorf("role %s incomplete", r.Name)
		}
	}
}

func TestWildcardMatch(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"*", "microsoft.resources/subscriptions/read", true},
		{"*/read", "microsoft.resources/subscriptions/resourcegroups/read", true},
		{"*/read", "microsoft.operationalinsights/clusters/write", false},
		{"*/read", "read", false},
		{"microsoft.authorization/*/write", "microsoft.authorization/roleassignments/write", true},
		{"microsoft.authorization/*/write", "microsoft.authorization/locks/sub/write", true},
		{"microsoft.authorization/*/write", "microsoft.authorizationx/roleassignments/write", false},
		{"microsoft.authorization/*/write", "microsoft.authorization/roleassignments/read", false},
		{"a*b*c", "axxbyyc", true},
		{"a*b*c", "axxbyy", false},
		{"exact", "exact", true},
		{"exact", "exactly", false},
		{"", "", true},
		{"", "x", false},
	}
	for _, tt := range tests {
		if got := wildcardMatch(tt.pattern, tt.s); got != tt.want {
			t.Errorf("wildcardMatch(%q, %q) = %v", tt.pattern, tt.s, got)
		}
	}
}

func TestAuthorizerMatrix(t *testing.T) {
	const (
		sub      = "/subscriptions/00000000-0000-0000-0000-0000000000aa"
		rg1      = sub + "/resourceGroups/rg1"
		rg10     = sub + "/resourceGroups/rg10"
		rg2      = sub + "/resourceGroups/rg2"
		cluster  = rg1 + "/providers/Microsoft.OperationalInsights/clusters/c1"
		cluster2 = rg1 + "/providers/Microsoft.OperationalInsights/clusters/c2"

		read        = "Microsoft.OperationalInsights/clusters/read"
		write       = "Microsoft.OperationalInsights/clusters/write"
		del         = "Microsoft.OperationalInsights/clusters/delete"
		rgRead      = "Microsoft.Resources/subscriptions/resourceGroups/read"
		assignWrite = "Microsoft.Authorization/roleAssignments/write"
		assignRead  = "Microsoft.Authorization/roleAssignments/read"
		assignDel   = "Microsoft.Authorization/roleAssignments/delete"
	)
	roleIDs := map[string]string{"Owner": OwnerRoleID, "Contributor": ContributorRoleID, "Reader": ReaderRoleID}
	fullID := func(guid string) string {
		return sub + "/providers/Microsoft.Authorization/roleDefinitions/" + guid
	}

	type check struct {
		action, scope string
		allowed       bool
	}
	tests := []struct {
		name   string
		role   string
		scope  string // assignment scope
		checks []check
	}{
		{"Owner at subscription", "Owner", sub, []check{
			{write, cluster, true}, {del, cluster, true}, {read, cluster, true},
			{assignWrite, cluster, true}, {assignWrite, sub, true}, {rgRead, rg2, true},
			{write, "/subscriptions/other/resourceGroups/rg1", false},
		}},
		{"Contributor at subscription", "Contributor", sub, []check{
			{write, cluster, true}, {del, cluster, true}, {rgRead, rg1, true}, {assignRead, cluster, true},
			{assignWrite, cluster, false}, {assignWrite, sub, false}, {assignDel, rg1, false},
			{"Microsoft.Authorization/elevateAccess/Action", "/", false},
		}},
		{"Reader at subscription", "Reader", sub, []check{
			{read, cluster, true}, {rgRead, rg2, true}, {assignRead, sub, true},
			{write, cluster, false}, {del, cluster, false}, {assignWrite, cluster, false},
		}},
		{"Owner at resource group", "Owner", rg1, []check{
			{write, cluster, true}, {assignWrite, rg1, true}, {rgRead, rg1, true},
			{write, rg2 + "/providers/Microsoft.OperationalInsights/clusters/c1", false},
			{rgRead, sub, false},
			{write, rg10 + "/providers/Microsoft.OperationalInsights/clusters/c1", false},
			{rgRead, rg10, false},
		}},
		{"Contributor at resource group", "Contributor", rg1, []check{
			{write, cluster, true}, {write, cluster2, true}, {del, rg1, true},
			{assignWrite, cluster, false}, {write, rg2, false}, {write, rg10, false},
		}},
		{"Reader at resource group", "Reader", rg1, []check{
			{read, cluster, true}, {rgRead, rg1, true}, {write, cluster, false}, {read, rg2, false}, {read, rg10, false},
		}},
		{"Owner at resource", "Owner", cluster, []check{
			{write, cluster, true}, {assignWrite, cluster, true}, {read, cluster + "/extra/child", true},
			{write, cluster2, false}, {rgRead, rg1, false}, {read, cluster + "0", false},
		}},
		{"Contributor at resource", "Contributor", cluster, []check{
			{write, cluster, true}, {assignWrite, cluster, false}, {write, cluster2, false}, {read, rg1, false},
		}},
		{"Reader at resource", "Reader", cluster, []check{
			{read, cluster, true}, {write, cluster, false}, {read, cluster2, false},
		}},
		{"Reader at root", "Reader", "/", []check{
			{read, cluster, true}, {rgRead, "/subscriptions/any/resourceGroups/x", true}, {write, cluster, false},
		}},
		{"case-insensitive scopes and actions", "Contributor", strings.ToUpper(rg1) + "/", []check{
			{strings.ToLower(write), strings.ToLower(cluster), true},
			{strings.ToUpper(write), cluster, true},
			{"MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/WRITE", cluster, false},
		}},
	}
	for _, tt := range tests {
		for _, idForm := range []string{"guid", "full"} {
			t.Run(tt.name+"/"+idForm, func(t *testing.T) {
				roleID := roleIDs[tt.role]
				if idForm == "full" {
					roleID = fullID(roleID)
				}
				src := &fakeAssignments{list: []RoleAssignment{
					{ID: "a1", Scope: tt.scope, RoleDefinitionID: roleID, PrincipalID: spOID},
					// Someone else's Owner assignment grants nothing to spOID.
					{ID: "a2", Scope: "/", RoleDefinitionID: OwnerRoleID, PrincipalID: miOID},
				}}
				az := NewAuthorizer(src)
				for _, c := range tt.checks {
					err := az.Check(context.Background(), spOID, c.action, c.scope)
					if c.allowed && err != nil {
						t.Errorf("%s on %s: %v", c.action, c.scope, err)
					}
					if !c.allowed && !errors.Is(err, ErrForbidden) {
						t.Errorf("%s on %s: err = %v, want ErrForbidden", c.action, c.scope, err)
					}
				}
			})
		}
	}
}

func TestAuthorizerErrors(t *testing.T) {
	const scope = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.OperationalInsights/clusters/c"
	const action = "Microsoft.OperationalInsights/clusters/write"

	// No assignments: Azure's message, verbatim.
	az := NewAuthorizer(&fakeAssignments{})
	err := az.Check(context.Background(), spOID, action, scope)
	var ae *AuthorizationError
	if !errors.Is(err, ErrForbidden) || !errors.As(err, &ae) {
		t.Fatalf("err = %v", err)
	}
	want := "The client '" + spOID + "' with object id '" + spOID + "' does not have authorization to perform action '" +
		action + "' over scope '" + scope + "' or the scope is invalid. If access was recently granted, please refresh your credentials."
	if err.Error() != want {
		t.Errorf("message = %q\nwant %q", err, want)
	}

	// Unknown (custom) roles grant nothing.
	az = NewAuthorizer(&fakeAssignments{list: []RoleAssignment{
		{Scope: "/", RoleDefinitionID: "00000000-0000-0000-0000-000000000001", PrincipalID: spOID},
	}})
	if err := az.Check(context.Background(), spOID, action, scope); !errors.Is(err, ErrForbidden) {
		t.Errorf("unknown role: err = %v", err)
	}

	// An empty principal never passes.
	az = NewAuthorizer(&fakeAssignments{list: []RoleAssignment{{Scope: "/", RoleDefinitionID: OwnerRoleID}}})
	if err := az.Check(context.Background(), "", action, scope); !errors.Is(err, ErrForbidden) {
		t.Errorf("empty principal: err = %v", err)
	}

	// A source failure is not a refusal.
	az = NewAuthorizer(&fakeAssignments{err: errors.New("database is locked")})
	if err := az.Check(context.Background(), spOID, action, scope); err == nil || errors.Is(err, ErrForbidden) {
		t.Errorf("source failure: err = %v", err)
	}
}

func TestCheckDataAction(t *testing.T) {
	const rule = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Insights/dataCollectionRules/dcr1"
	tests := []struct {
		name  string
		role  string
		scope string
		want  bool
	}{
		{"publisher on the rule", MonitoringMetricsPublisherRoleID, rule, true},
		{"publisher on the group", MonitoringMetricsPublisherRoleID, "/subscriptions/s/resourceGroups/rg", true},
		{"publisher on the subscription, full id", "/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/" + MonitoringMetricsPublisherRoleID, "/subscriptions/s", true},
		{"publisher on another rule", MonitoringMetricsPublisherRoleID, rule + "2", false},
		{"owner", OwnerRoleID, "/", false},
		{"contributor", ContributorRoleID, rule, false},
		{"reader", ReaderRoleID, rule, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := NewAuthorizer(&fakeAssignments{list: []RoleAssignment{{Scope: tt.scope, RoleDefinitionID: tt.role, PrincipalID: "p"}}})
			err := a.CheckData(context.Background(), "p", TelemetryWriteAction, rule)
			if (err == nil) != tt.want {
				t.Fatalf("CheckData = %v, want allowed=%v", err, tt.want)
			}
			if err != nil && !errors.Is(err, ErrForbidden) {
				t.Fatalf("err %v does not wrap ErrForbidden", err)
			}
		})
	}
	if err := NewAuthorizer(&fakeAssignments{}).CheckData(context.Background(), "", TelemetryWriteAction, rule); err == nil {
		t.Fatal("empty principal allowed")
	}
}
