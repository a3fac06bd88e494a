package meta

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

func openTest(t *testing.T) (*SQLite, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "meta.db")
	s, err := OpenSQLite(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func TestParentKey(t *testing.T) {
	tests := []struct{ id, want string }{
		{"/subscriptions/S/resourceGroups/RG", "/subscriptions/s"},
		{"/subscriptions/s/resourceGroups/rg/providers/NS/clusters/C", "/subscriptions/s/resourcegroups/rg"},
		{"/subscriptions/s/resourceGroups/rg/providers/ns/workspaces/w/linkedServices/cluster", "/subscriptions/s/resourcegroups/rg/providers/ns/workspaces/w"},
	}
	for _, tt := range tests {
		if got := parentKey(tt.id); got != tt.want {
			t.Errorf("parentKey(%q) = %q, want %q", tt.id, got, tt.want)
		}
	}
}

func TestResourcesCaseInsensitiveAndSoftDelete(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	now := time.Unix(1700000000, 0).UTC()
	ws := &Resource{ID: "/subscriptions/S1/resourceGroups/RG/providers/Microsoft.OperationalInsights/workspaces/W1",
		Type: "Microsoft.OperationalInsights/workspaces", SubscriptionID: "S1", ResourceGroup: "RG", Name: "W1",
		Location: "eastus", Body: []byte(`{"a":1}`), CreatedAt: now, UpdatedAt: now}
	ls := &Resource{ID: ws.ID + "/linkedServices/cluster", Type: "Microsoft.OperationalInsights/workspaces/linkedServices",
		SubscriptionID: "S1", ResourceGroup: "RG", Name: "cluster", Body: []byte(`{}`), CreatedAt: now, UpdatedAt: now}
	if err := s.Update(ctx, func(tx Tx) error {
		if err := tx.PutResource(ctx, ws); err != nil {
			return err
		}
		return tx.PutResource(ctx, ls)
	}); err != nil {
		t.Fatal(err)
	}
	err := s.View(ctx, func(tx Tx) error {
		r, err := tx.Resource(ctx, "/SUBSCRIPTIONS/s1/resourcegroups/rg/providers/microsoft.operationalinsights/workspaces/w1")
		if err != nil {
			return err
		}
		if r.ID != ws.ID || string(r.Body) != `{"a":1}` || !r.CreatedAt.Equal(now) {
			t.Errorf("got %+v", r)
		}
		list, err := tx.Resources(ctx, ResourceQuery{Type: "microsoft.operationalinsights/WORKSPACES", SubscriptionID: "s1"})
		if err != nil || len(list) != 1 {
			t.Errorf("list workspaces = %d, %v", len(list), err)
		}
		kids, err := tx.Resources(ctx, ResourceQuery{ParentID: ws.ID})
		if err != nil || len(kids) != 1 || kids[0].Name != "cluster" {
			t.Errorf("children = %v, %v", kids, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Soft delete hides the resource from Resource and live lists.
	del := now.Add(time.Hour)
	ws.DeletedAt = &del
	if err := s.Update(ctx, func(tx Tx) error { return tx.PutResource(ctx, ws) }); err != nil {
		t.Fatal(err)
	}
	_ = s.View(ctx, func(tx Tx) error {
		if _, err := tx.Resource(ctx, ws.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("live get after soft delete: %v", err)
		}
		r, err := tx.DeletedResource(ctx, ws.ID)
		if err != nil || r.DeletedAt == nil || !r.DeletedAt.Equal(del) {
			t.Errorf("deleted get: %v %v", r, err)
		}
		list, _ := tx.Resources(ctx, ResourceQuery{Type: ws.Type, Deleted: true})
		if len(list) != 1 {
			t.Errorf("deleted list = %d", len(list))
		}
		return nil
	})
}

func TestUpdateRollsBackOnError(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	boom := errors.New("boom")
	err := s.Update(ctx, func(tx Tx) error {
		if err := tx.PutSetting(ctx, "k", []byte("v")); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	_ = s.View(ctx, func(tx Tx) error {
		if _, err := tx.Setting(ctx, "k"); !errors.Is(err, ErrNotFound) {
			t.Errorf("setting survived a rolled back transaction: %v", err)
		}
		return nil
	})
}

func TestRoleAssignmentsByScope(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	mk := func(scope, name, principal string) *RoleAssignment {
		return &RoleAssignment{ID: scope + "/providers/Microsoft.Authorization/roleAssignments/" + name, Name: name,
			Scope: scope, RoleDefinitionID: "r", PrincipalID: principal, PrincipalType: "ServicePrincipal"}
	}
	as := []*RoleAssignment{
		mk("/subscriptions/s", "a1", "p1"),
		mk("/subscriptions/s/resourceGroups/rg1", "a2", "p2"),
		mk("/subscriptions/s/resourceGroups/rg10", "a3", "p1"),
	}
	_ = s.Update(ctx, func(tx Tx) error {
		for _, a := range as {
			if err := tx.PutRoleAssignment(ctx, a); err != nil {
				t.Fatal(err)
			}
		}
		return nil
	})
	_ = s.View(ctx, func(tx Tx) error {
		got, _ := tx.RoleAssignments(ctx, "", "/subscriptions/S/resourceGroups/RG1")
		if len(got) != 1 || got[0].Name != "a2" {
			t.Errorf("scope rg1 = %v", got)
		}
		got, _ = tx.RoleAssignments(ctx, "P1", "")
		if len(got) != 2 {
			t.Errorf("principal p1 = %d", len(got))
		}
		got, _ = tx.RoleAssignments(ctx, "", "/subscriptions/s")
		if len(got) != 3 {
			t.Errorf("subscription scope = %d", len(got))
		}
		return nil
	})
}

func TestReopenKeepsDataAndRefusesNewerSchema(t *testing.T) {
	s, path := openTest(t)
	ctx := context.Background()
	if err := s.Update(ctx, func(tx Tx) error { return tx.PutSetting(ctx, "k", []byte("v")) }); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s2, err := OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	_ = s2.View(ctx, func(tx Tx) error {
		if v, err := tx.Setting(ctx, "k"); err != nil || string(v) != "v" {
			t.Errorf("after reopen: %q %v", v, err)
		}
		return nil
	})
	if _, err := s2.db.Exec(`PRAGMA user_version = 999`); err != nil {
		t.Fatal(err)
	}
	s2.Close()
	if _, err := OpenSQLite(ctx, path); err == nil {
		t.Fatal("opened a database with a newer schema")
	}
}

func TestDocs(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	err := s.Update(ctx, func(tx Tx) error {
		for _, k := range []string{"v1/a/1", "v1/a/2", "v1/b/1", "v10/a/1"} {
			if err := tx.PutDoc(ctx, "kind", k, []byte(k)); err != nil {
				return err
			}
		}
		return tx.PutDoc(ctx, "other", "v1/a/1", []byte("x"))
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = s.Update(ctx, func(tx Tx) error {
		docs, err := tx.Docs(ctx, "kind", "v1/a/")
		if err != nil || len(docs) != 2 || docs[0].Key != "v1/a/1" || string(docs[1].Body) != "v1/a/2" {
			t.Errorf("Docs = %v, %v", docs, err)
		}
		if err := tx.DeleteDoc(ctx, "kind", "v1/a/1"); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Doc(ctx, "kind", "v1/a/1"); !errors.Is(err, ErrNotFound) {
			t.Errorf("deleted doc: %v", err)
		}
		if b, err := tx.Doc(ctx, "other", "v1/a/1"); err != nil || string(b) != "x" {
			t.Errorf("other kind: %q %v", b, err)
		}
		return nil
	})
}

// TestViewInsideUpdate proves a read may run while a write transaction is
// open (the authorizer reads role assignments while providers write).
func TestViewInsideUpdate(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	done := make(chan error, 1)
	go func() {
		done <- s.Update(ctx, func(tx Tx) error {
			if err := tx.PutSetting(ctx, "k", []byte("new")); err != nil {
				return err
			}
			return s.View(ctx, func(inner Tx) error {
				_, err := inner.Setting(ctx, "k")
				if !errors.Is(err, ErrNotFound) {
					t.Errorf("a concurrent reader saw uncommitted data: %v", err)
				}
				return nil
			})
		})
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("View inside Update deadlocked")
	}
}
