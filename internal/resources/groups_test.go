package resources

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/kustodian/kustodian/internal/arm"
	"github.com/kustodian/kustodian/internal/meta"
)

const (
	groupsPath = "/subscriptions/" + subA + "/resourcegroups"
	rgPath     = groupsPath + "/RG-One"
	v2021      = "?api-version=2021-04-01"
	clusterID  = "/subscriptions/" + subA + "/resourceGroups/RG-One/providers/Microsoft.OperationalInsights/clusters/c1"
	workspace  = "/subscriptions/" + subA + "/resourceGroups/RG-One/providers/Microsoft.OperationalInsights/workspaces/w1"
)

func TestResourceGroupLifecycle(t *testing.T) {
	e := newEnv(t, FeatureApprovalAuto, false)
	groupID := "/subscriptions/" + subA + "/resourceGroups/RG-One"
	e.run([]step{
		{
			name: "create normalises the location", method: "PUT", path: rgPath + v2021, body: `{"location":"East US"}`,
			wantStatus: http.StatusCreated,
			want: map[string]string{
				"id": groupID, "name": "RG-One", "type": "Microsoft.Resources/resourceGroups",
				"location": "eastus", "properties.provisioningState": "Succeeded",
			},
			check: func(t *testing.T, r response) {
				if _, ok := r.Body["tags"]; ok {
					t.Errorf("tags present without tags: %s", r.Raw)
				}
			},
		},
		{
			name: "update with other casing and tags", method: "PUT",
			path:       "/subscriptions/" + subA + "/resourceGroups/rg-one?api-version=2019-05-01",
			body:       `{"location":"EASTUS","tags":{"env":"dev",},}`, // lenient JSON
			wantStatus: http.StatusOK,
			want:       map[string]string{"name": "RG-One", "id": groupID, "tags.env": "dev"},
		},
		{
			name: "location cannot change", method: "PUT", path: rgPath + v2021, body: `{"location":"westus"}`,
			wantStatus: http.StatusBadRequest, wantCode: "InvalidResourceGroupLocation",
			wantInMsg: "already exists in location 'eastus'",
		},
		{
			name: "unknown location", method: "PUT", path: groupsPath + "/rg2" + v2021, body: `{"location":"Mars Central"}`,
			wantStatus: http.StatusBadRequest, wantCode: "LocationNotAvailableForResourceGroup",
		},
		{
			name: "missing location", method: "PUT", path: groupsPath + "/rg2" + v2021, body: `{"tags":{}}`,
			wantStatus: http.StatusBadRequest, wantCode: "LocationRequired",
		},
		{
			name: "location of the wrong type", method: "PUT", path: groupsPath + "/rg2" + v2021, body: `{"location":1}`,
			wantStatus: http.StatusBadRequest, wantCode: "InvalidRequestContent",
		},
		{
			name: "tag of the wrong type", method: "PUT", path: groupsPath + "/rg2" + v2021, body: `{"location":"eastus","tags":{"a":1}}`,
			wantStatus: http.StatusBadRequest, wantCode: "InvalidRequestContent",
		},
		{
			name: "tag name with a slash", method: "PUT", path: groupsPath + "/rg2" + v2021, body: `{"location":"eastus","tags":{"a/b":"c"}}`,
			wantStatus: http.StatusBadRequest, wantCode: "InvalidTagNameCharacters",
		},
		{
			name: "malformed body", method: "PUT", path: groupsPath + "/rg2" + v2021, body: `{"location":`,
			wantStatus: http.StatusBadRequest, wantCode: "InvalidRequestContent",
		},
		{
			name: "invalid name", method: "PUT", path: groupsPath + "/bad!name" + v2021, body: `{"location":"eastus"}`,
			wantStatus: http.StatusBadRequest, wantCode: "InvalidResourceGroupName", wantInMsg: "'!'",
		},
		{
			name: "get", method: "GET", path: rgPath + v2021,
			wantStatus: http.StatusOK, want: map[string]string{"id": groupID, "location": "eastus", "tags.env": "dev"},
		},
		{
			name: "get with upper-case path", method: "GET",
			path:       "/SUBSCRIPTIONS/" + subA + "/RESOURCEGROUPS/rg-one?api-version=2024-03-01",
			wantStatus: http.StatusOK, want: map[string]string{"name": "RG-One"},
		},
		{
			name: "get missing", method: "GET", path: groupsPath + "/nope" + v2021,
			wantStatus: http.StatusNotFound, wantCode: "ResourceGroupNotFound",
			wantInMsg: "Resource group 'nope' could not be found.",
		},
		{
			name: "head", method: "HEAD", path: rgPath + v2021, wantStatus: http.StatusNoContent,
		},
		{
			name: "head missing", method: "HEAD", path: groupsPath + "/nope" + v2021, wantStatus: http.StatusNotFound,
			check: func(t *testing.T, r response) {
				if r.Raw != "" {
					t.Errorf("HEAD answered a body: %q", r.Raw)
				}
			},
		},
		{
			name: "patch tags", method: "PATCH", path: rgPath + v2021, body: `{"tags":{"env":"prod","team":"obs"}}`,
			wantStatus: http.StatusOK, want: map[string]string{"tags.env": "prod", "tags.team": "obs", "location": "eastus"},
		},
		{
			name: "patch missing", method: "PATCH", path: groupsPath + "/nope" + v2021, body: `{"tags":{}}`,
			wantStatus: http.StatusNotFound, wantCode: "ResourceGroupNotFound",
		},
		{
			name: "create a second group", method: "PUT", path: groupsPath + "/rg2" + v2021, body: `{"location":"westeurope"}`,
			wantStatus: http.StatusCreated, want: map[string]string{"location": "westeurope"},
		},
		{
			name: "list", method: "GET", path: groupsPath + v2021,
			wantStatus: http.StatusOK, wantLen: map[string]int{"value": 2},
			want: map[string]string{"value.0.name": "RG-One", "value.1.name": "rg2"},
		},
		{
			name: "list with top", method: "GET", path: groupsPath + v2021 + "&$top=1",
			wantStatus: http.StatusOK, wantLen: map[string]int{"value": 1},
		},
		{
			name: "list by tag", method: "GET", path: groupsPath + v2021 + "&$filter=tagName+eq+'team'+and+tagValue+eq+'obs'",
			wantStatus: http.StatusOK, wantLen: map[string]int{"value": 1}, want: map[string]string{"value.0.name": "RG-One"},
		},
		{
			name: "list with an unsupported filter", method: "GET", path: groupsPath + v2021 + "&$filter=location+eq+'eastus'",
			wantStatus: http.StatusBadRequest, wantCode: "InvalidFilterInQueryString",
		},
		{
			name: "unsupported api-version", method: "GET", path: rgPath + "?api-version=2015-01-01",
			wantStatus: http.StatusBadRequest, wantCode: "InvalidApiVersionParameter",
		},
		{
			name: "unknown subscription", method: "PUT", path: "/subscriptions/" + subUnknown + "/resourcegroups/x" + v2021,
			body: `{"location":"eastus"}`, wantStatus: http.StatusNotFound, wantCode: "SubscriptionNotFound",
		},
		{
			name: "subscription of another tenant", token: tokenB, method: "GET", path: groupsPath + v2021,
			wantStatus: http.StatusUnauthorized, wantCode: "InvalidAuthenticationTokenTenant",
		},
		{
			name: "delete missing", method: "DELETE", path: groupsPath + "/nope" + v2021,
			wantStatus: http.StatusNotFound, wantCode: "ResourceGroupNotFound",
		},
		{
			name: "delete rg2", method: "DELETE", path: groupsPath + "/RG2" + v2021, wantStatus: http.StatusOK,
		},
		{
			name: "rg2 is gone", method: "GET", path: groupsPath + "/rg2" + v2021,
			wantStatus: http.StatusNotFound, wantCode: "ResourceGroupNotFound",
		},
	})
}

func TestDeleteGroupWithResources(t *testing.T) {
	e := newEnv(t, FeatureApprovalAuto, false)
	if r := e.do("PUT", rgPath+v2021, `{"location":"eastus"}`); r.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.Status, r.Raw)
	}
	e.putResource(clusterID)
	e.putResource(workspace)
	e.run([]step{{
		name: "two resources block deletion", method: "DELETE", path: rgPath + v2021,
		wantStatus: http.StatusConflict, wantCode: "ResourceGroupDeletionBlocked",
		wantInMsg: "2 resources of type Microsoft.OperationalInsights/clusters, Microsoft.OperationalInsights/workspaces",
	}})
	e.deleteResource(workspace)
	e.run([]step{{
		name: "one resource blocks deletion", method: "DELETE", path: rgPath + v2021,
		wantStatus: http.StatusConflict, wantCode: "ResourceGroupDeletionBlocked",
		wantInMsg: "1 resource of type Microsoft.OperationalInsights/clusters.",
	}})
	e.deleteResource(clusterID)
	e.run([]step{
		{name: "empty group is deleted", method: "DELETE", path: rgPath + v2021, wantStatus: http.StatusOK},
		{name: "then it is gone", method: "HEAD", path: rgPath + v2021, wantStatus: http.StatusNotFound},
	})
}

func TestResourceGroupAuthorization(t *testing.T) {
	e := newEnv(t, FeatureApprovalAuto, false)
	for _, rg := range []string{"visible", "hidden"} {
		if r := e.do("PUT", groupsPath+"/"+rg+v2021, `{"location":"eastus"}`); r.Status != http.StatusCreated {
			t.Fatalf("create %s: %d %s", rg, r.Status, r.Raw)
		}
	}
	hidden := "/subscriptions/" + subA + "/resourceGroups/hidden"
	e.authz.setDeny(func(action, scope string) bool { return strings.EqualFold(scope, hidden) })
	tests := []struct {
		method, path, body string
		wantAction         string
	}{
		{"GET", groupsPath + "/hidden" + v2021, "", actionGroupRead},
		{"HEAD", groupsPath + "/hidden" + v2021, "", actionGroupRead},
		{"PUT", groupsPath + "/hidden" + v2021, `{"location":"eastus"}`, actionGroupWrite},
		{"PATCH", groupsPath + "/hidden" + v2021, `{"tags":{}}`, actionGroupWrite},
		{"DELETE", groupsPath + "/hidden" + v2021, "", actionGroupDelete},
		{"POST", groupsPath + "/hidden/moveResources" + v2021, `{"resources":[],"targetResourceGroup":"x"}`, actionGroupMove},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			r := e.do(tt.method, tt.path, tt.body)
			if r.Status != http.StatusForbidden {
				t.Fatalf("status %d, want 403: %s", r.Status, r.Raw)
			}
			if !e.authz.called(tt.wantAction + " " + hidden) {
				t.Errorf("no check of %q on %s; calls: %v", tt.wantAction, hidden, e.authz.calls)
			}
		})
	}
	e.run([]step{{
		name: "list omits groups the caller may not read", method: "GET", path: groupsPath + v2021,
		wantStatus: http.StatusOK, wantLen: map[string]int{"value": 1}, want: map[string]string{"value.0.name": "visible"},
	}})
}

func TestMoveResources(t *testing.T) {
	e := newEnv(t, FeatureApprovalAuto, false)
	if r := e.do("PUT", rgPath+v2021, `{"location":"eastus"}`); r.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.Status, r.Raw)
	}
	e.putResource(clusterID)
	e.putResource(workspace)
	move := "/subscriptions/" + subA + "/resourceGroups/RG-One/moveResources" + v2021
	target := `"targetResourceGroup":"/subscriptions/` + subA + `/resourceGroups/other"`
	e.run([]step{
		{
			name: "cluster", method: "POST", path: move,
			body:       `{"resources":["` + workspace + `","` + clusterID + `"],` + target + `}`,
			wantStatus: http.StatusBadRequest, wantCode: "ResourceMoveNotSupported",
			wantInMsg: "Cluster resource move to another resource group or subscription isn't supported.",
		},
		{
			name: "cluster id in other casing", method: "POST", path: move,
			body:       `{"resources":["` + strings.ToLower(clusterID) + `"],` + target + `}`,
			wantStatus: http.StatusBadRequest, wantCode: "ResourceMoveNotSupported", wantInMsg: "Cluster resource move",
		},
		{
			name: "other resources", method: "POST", path: move,
			body:       `{"resources":["` + workspace + `"],` + target + `}`,
			wantStatus: http.StatusBadRequest, wantCode: "ResourceMoveNotSupported", wantInMsg: "1 resource of resource group 'RG-One'",
		},
		{
			name: "validateMoveResources", method: "POST",
			path:       "/subscriptions/" + subA + "/resourceGroups/RG-One/validateMoveResources" + v2021,
			body:       `{"resources":["` + clusterID + `"],` + target + `}`,
			wantStatus: http.StatusBadRequest, wantCode: "ResourceMoveNotSupported", wantInMsg: "Cluster resource move",
		},
		{
			name: "no resources", method: "POST", path: move, body: `{` + target + `}`,
			wantStatus: http.StatusBadRequest, wantCode: "InvalidRequestContent",
		},
		{
			name: "no target", method: "POST", path: move, body: `{"resources":["` + clusterID + `"]}`,
			wantStatus: http.StatusBadRequest, wantCode: "InvalidRequestContent",
		},
		{
			name: "missing source group", method: "POST",
			path:       "/subscriptions/" + subA + "/resourceGroups/nope/moveResources" + v2021,
			body:       `{"resources":["` + clusterID + `"],` + target + `}`,
			wantStatus: http.StatusNotFound, wantCode: "ResourceGroupNotFound",
		},
	})
}

func TestEnsureGroupExists(t *testing.T) {
	e := newEnv(t, FeatureApprovalAuto, false)
	if r := e.do("PUT", rgPath+v2021, `{"location":"eastus"}`); r.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.Status, r.Raw)
	}
	e.putResource(clusterID)
	tests := []struct {
		sub, group string
		wantStatus int // 0: no error
	}{
		{subA, "RG-One", 0},
		{subA, "rg-one", 0},
		{subA, "nope", http.StatusNotFound},
		{subB, "RG-One", http.StatusNotFound},
	}
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.sub+"/"+tt.group, func(t *testing.T) {
			err := e.store.View(ctx, func(tx meta.Tx) error { return EnsureGroupExists(ctx, tx, tt.sub, tt.group) })
			if tt.wantStatus == 0 {
				if err != nil {
					t.Fatalf("EnsureGroupExists: %v", err)
				}
				return
			}
			var ae *arm.Error
			if !errors.As(err, &ae) || ae.Status != tt.wantStatus || ae.Code != "ResourceGroupNotFound" {
				t.Fatalf("EnsureGroupExists = %v, want %d ResourceGroupNotFound", err, tt.wantStatus)
			}
			if want := "Resource group '" + tt.group + "' could not be found."; ae.Message != want {
				t.Errorf("message %q, want %q", ae.Message, want)
			}
		})
	}
}

func TestValidateGroupName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"rg", true},
		{"My_RG-(1).x", true},
		{"grüppe", true},
		{strings.Repeat("a", 90), true},
		{strings.Repeat("a", 91), false},
		{"", false},
		{"ends.", false},
		{"sp ace", false},
		{"semi;colon", false},
	}
	for _, tt := range tests {
		err := validateGroupName(tt.name)
		if (err == nil) != tt.ok {
			t.Errorf("validateGroupName(%q) = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}
