package e2e

import (
	"fmt"
	"net/http"
	"reflect"
	"testing"

	"github.com/google/uuid"

	"github.com/kustodian/kustodian/internal/keyvault"
	"github.com/kustodian/kustodian/internal/keyvault/vaults"
	"github.com/kustodian/kustodian/internal/monitor"
	"github.com/kustodian/kustodian/internal/resources"
)

// volatile are the properties a write may change by itself: modification
// times and the like. A read-modify-write compares everything else.
var volatile = map[string]bool{
	"modifiedDate": true, "lastModifiedDate": true, "quotaNextResetTime": true, "updated": true, "etag": true,
	"systemData": true, "lastSkuUpdate": true,
}

// stable returns v without its volatile properties, at any depth.
func stable(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			if !volatile[k] {
				out[k] = stable(e)
			}
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = stable(e)
		}
		return out
	}
	return v
}

// Read-modify-write: what a GET of any resource Kustodian serves returns, a
// PUT (and a PATCH, where the type has one) of the same body accepts, at
// every api-version the type serves, and the resource reads back the same.
// This is what the Azure CLI's generic update and every SDK's
// get-then-create_or_update do.
func TestReadModifyWriteEveryResource(t *testing.T) {
	e, tok := setup(t, options{}, "rg1")
	cluster := e.readyCluster(t, tok, "rg1", "cluster1", "eastus", "LogAnalytics")
	clusterID := cluster["id"].(string)
	principal := e.clusterPrincipal(t, tok, "rg1", "cluster1")
	v := e.newVault(t, tok, "rg1", "kv-rmw", true, principal)
	version := e.createKey(t, v, "cmk", 2048)
	r := e.do(http.MethodPut, e.clusterPath("rg1", "cluster1")+q("2025-07-01"), tok, fmt.Sprintf(
		`{"identity":{"type":"SystemAssigned"},"sku":{"name":"CapacityReservation","capacity":1000},"location":"eastus",
		  "properties":{"keyVaultProperties":{"keyVaultUri":%q,"keyName":"cmk","keyVersion":%q}}}`, v.uri, version))
	if r.status != http.StatusOK && r.status != http.StatusAccepted {
		t.Fatalf("set key: %d %s", r.status, r.body)
	}
	e.mkWorkspace(t, tok, "rg1", "ws-free", "eastus")
	e.mkWorkspace(t, tok, "rg1", "ws-linked", "eastus")
	if r := e.link(tok, "rg1", "ws-linked", clusterID); r.status != http.StatusOK && r.status != http.StatusAccepted {
		t.Fatalf("link: %d %s", r.status, r.body)
	}
	expect(t, e.do(http.MethodPut, e.componentPath("rg1", "app1")+q("2020-02-02"), tok,
		`{"location":"eastus","kind":"web","properties":{"Application_Type":"web"}}`), http.StatusOK, "")
	assignment := e.subPath() + "/providers/Microsoft.Authorization/roleAssignments/" + uuid.NewString()
	expect(t, e.do(http.MethodPut, assignment+q("2022-04-01"), tok, fmt.Sprintf(
		`{"properties":{"roleDefinitionId":"%s/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3d48-4b3d-a1ac-b75ea7cdf3d4","principalId":%q}}`,
		e.subPath(), principal)), http.StatusCreated, "")

	vaultPath := e.groupPath("rg1") + "/providers/Microsoft.KeyVault/vaults/kv-rmw"
	tests := []struct {
		name     string
		path     string
		versions []string
		patch    bool
	}{
		{"resource group", e.groupPath("rg1"), resources.GroupAPIVersions, true},
		{"cluster", e.clusterPath("rg1", "cluster1"), monitor.ClusterAPIVersions, true},
		{"workspace", e.workspacePath("rg1", "ws-free"), monitor.WorkspaceAPIVersions, true},
		{"linked workspace", e.workspacePath("rg1", "ws-linked"), monitor.WorkspaceAPIVersions, true},
		{"linked service", e.workspacePath("rg1", "ws-linked") + "/linkedServices/cluster", monitor.ClusterAPIVersions, false},
		{"component", e.componentPath("rg1", "app1"), monitor.ComponentAPIVersions, true},
		{"vault", vaultPath, vaults.APIVersions, true},
		{"role assignment", assignment, resources.AuthorizationAPIVersions, false},
	}
	for _, tt := range tests {
		for _, version := range tt.versions {
			t.Run(tt.name+"/"+version, func(t *testing.T) {
				r := e.do(http.MethodGet, tt.path+q(version), tok, "")
				expect(t, r, http.StatusOK, "")
				before := r.json(t)
				methods := []string{http.MethodPut}
				if tt.patch {
					methods = append(methods, http.MethodPatch)
				}
				for _, m := range methods {
					w := e.do(m, tt.path+q(version), tok, string(r.body))
					if w.status != http.StatusOK && w.status != http.StatusCreated && w.status != http.StatusAccepted {
						t.Fatalf("%s of the GET body: %d %s\nbody: %s", m, w.status, w.body, r.body)
					}
					after := e.do(http.MethodGet, tt.path+q(version), tok, "")
					expect(t, after, http.StatusOK, "")
					if got, want := stable(after.json(t)), stable(before); !reflect.DeepEqual(got, want) {
						t.Errorf("after %s:\n got %v\nwant %v", m, got, want)
					}
				}
			})
		}
	}

	// The Key Vault data plane: a key bundle PATCHed back, a rotation policy
	// PUT back, at every api-version that has them.
	vtok := e.vaultToken(t)
	for _, api := range keyvault.APIVersions {
		t.Run("key/"+api, func(t *testing.T) {
			qv := "?api-version=" + api
			r := e.do(http.MethodGet, v.uri+"keys/cmk/"+version+qv, vtok, "")
			expect(t, r, http.StatusOK, "")
			expect(t, e.do(http.MethodPatch, v.uri+"keys/cmk/"+version+qv, vtok, string(r.body)), http.StatusOK, "")
			after := e.do(http.MethodGet, v.uri+"keys/cmk/"+version+qv, vtok, "")
			if got, want := stable(after.json(t)), stable(r.json(t)); !reflect.DeepEqual(got, want) {
				t.Errorf("key after PATCH:\n got %v\nwant %v", got, want)
			}
			p := e.do(http.MethodGet, v.uri+"keys/cmk/rotationpolicy"+qv, vtok, "")
			if p.status == http.StatusBadRequest {
				return // before 7.3
			}
			expect(t, p, http.StatusOK, "")
			expect(t, e.do(http.MethodPut, v.uri+"keys/cmk/rotationpolicy"+qv, vtok, string(p.body)), http.StatusOK, "")
		})
	}

	// What a GET never returns is still refused: a sku only linking sets,
	// another region, another cluster type.
	for _, c := range []struct {
		name, method, path, body, code string
	}{
		{"LACluster on an unlinked workspace", http.MethodPut, e.workspacePath("rg1", "ws-free"),
			`{"location":"eastus","properties":{"sku":{"name":"LACluster"}}}`, "InvalidParameter"},
		{"LACluster on a new workspace", http.MethodPut, e.workspacePath("rg1", "ws-new"),
			`{"location":"eastus","properties":{"sku":{"name":"LACluster"}}}`, "InvalidParameter"},
		{"cluster PATCH to another region", http.MethodPatch, e.clusterPath("rg1", "cluster1"),
			`{"location":"westus"}`, "LocationCannotBeChanged"},
		{"cluster PATCH to another type", http.MethodPatch, e.clusterPath("rg1", "cluster1"),
			`{"location":"eastus","properties":{"clusterType":"ApplicationInsights"}}`, "ClusterTypeCannotBeChanged"},
	} {
		t.Run(c.name, func(t *testing.T) {
			expect(t, e.do(c.method, c.path+q("2025-07-01"), tok, c.body), http.StatusBadRequest, c.code)
		})
	}
}
