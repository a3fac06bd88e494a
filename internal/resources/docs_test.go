package resources

import (
	"context"
	"net/http"
	"testing"

	"github.com/kustodian/kustodian/internal/arm"
	"github.com/kustodian/kustodian/internal/meta"
)

func TestLoadDoc(t *testing.T) {
	e := newEnv(t, "auto", false)
	e.do(http.MethodPut, "/subscriptions/"+subA+"/resourcegroups/rg?api-version=2021-04-01", `{"location":"eastus"}`)
	type doc struct {
		A string `json:"a"`
	}
	id := arm.GroupID(subA, "rg").Child("Microsoft.Test", "things", "t1")
	ctx := context.Background()
	if err := e.store.Update(ctx, func(tx meta.Tx) error {
		return tx.PutResource(ctx, &meta.Resource{ID: id.String(), Type: id.ResourceType(), SubscriptionID: subA, ResourceGroup: "rg",
			Name: "t1", Location: "eastus", Body: EncodeDoc(doc{A: "x"}), CreatedAt: t0, UpdatedAt: t0})
	}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		caller arm.Caller
		id     arm.ResourceID
		status int
		code   string
	}{
		{"found", arm.Caller{TenantID: tenantA}, id, 0, ""},
		{"absent", arm.Caller{TenantID: tenantA}, arm.GroupID(subA, "rg").Child("Microsoft.Test", "things", "t2"), 404, "ResourceNotFound"},
		{"no group", arm.Caller{TenantID: tenantA}, arm.GroupID(subA, "nope").Child("Microsoft.Test", "things", "t1"), 404, "ResourceGroupNotFound"},
		{"no subscription", arm.Caller{TenantID: tenantA}, arm.GroupID("00000000-0000-0000-0000-00000000dead", "rg").Child("Microsoft.Test", "things", "t1"), 404, "SubscriptionNotFound"},
		{"other tenant", arm.Caller{TenantID: tenantB}, id, 401, "InvalidAuthenticationTokenTenant"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := e.store.View(ctx, func(tx meta.Tx) error {
				sub, res, d, err := LoadDoc[doc](ctx, tx, tc.caller, tc.id, "Microsoft.Test/things")
				if err == nil && (sub.ID != subA || res.ID != id.String() || d.A != "x") {
					t.Fatalf("loaded %v %v %+v", sub, res, d)
				}
				return err
			})
			if tc.status == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			ae, ok := arm.AsError(err)
			if !ok || ae.Status != tc.status || ae.Code != tc.code {
				t.Fatalf("error %v, want %d %s", err, tc.status, tc.code)
			}
		})
	}
}
