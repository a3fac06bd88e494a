package e2e

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kustodian/kustodian/internal/audit"
	"github.com/kustodian/kustodian/internal/server"
)

// TestKeyEventsAudited: setting, changing and removing a cluster's key are
// recorded in the audit trail (with the key id, never key material) and
// counted in /metrics; the seed's full PUT without KeyVaultProperties is
// recorded as a removal, which storage turns into revocation.
func TestKeyEventsAudited(t *testing.T) {
	t.Parallel()
	e, tok := setup(t, options{}, "rg")
	e.readyCluster(t, tok, "rg", "audited", "eastus", "LogAnalytics")
	vault := e.newVault(t, tok, "rg", "audit-kv", true, e.clusterPrincipal(t, tok, "rg", "audited"))
	v1, v2 := e.createKey(t, vault, "cmk", 2048), e.createKey(t, vault, "cmk", 2048)
	uri := strings.TrimSuffix(vault.uri, "/")
	path := e.clusterPath("rg", "audited")
	withKey := func(v string) string {
		return `{"identity":{"type":"SystemAssigned"},"sku":{"name":"CapacityReservation","capacity":1000},"location":"eastus",
"properties":{"keyVaultProperties":{"keyVaultUri":"` + uri + `","keyName":"cmk","keyVersion":"` + v + `"}}}`
	}
	expect(t, e.do(http.MethodPut, path+q("2025-07-01"), tok, withKey(v1)), http.StatusOK, "")
	expect(t, e.do(http.MethodPut, path+q("2025-07-01"), tok, withKey(v1)), http.StatusOK, "") // no change, no event
	expect(t, e.do(http.MethodPut, path+q("2025-07-01"), tok, withKey(v2)), http.StatusOK, "")
	expect(t, e.do(http.MethodPut, path+q("2019-08-01-preview"), tok, clusterBody("eastus", "LogAnalytics", 1000)), http.StatusOK, "")

	st, err := server.OpenState(context.Background(), e.dataDir, "")
	if err != nil {
		t.Fatal(err)
	}
	events, err := audit.List(context.Background(), st.Store, time.Time{}, 0)
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	// Control-plane events name the cluster; storage events name the
	// cluster's storage account.
	var cluster, storage []audit.Event
	var all []string
	for _, ev := range events {
		all = append(all, ev.Kind)
		switch {
		case ev.Resource != "":
			if !strings.EqualFold(ev.Resource, path) {
				t.Errorf("event resource = %q", ev.Resource)
			}
			cluster = append(cluster, ev)
		case strings.HasPrefix(ev.Account, "cluster/"):
			storage = append(storage, ev)
		}
	}
	kinds := func(evs []audit.Event) string {
		var k []string
		for _, e := range evs {
			k = append(k, e.Kind)
		}
		return strings.Join(k, ",")
	}
	if got, want := kinds(cluster), "KeySet,KeyChanged,KeyRemoved"; got != want {
		t.Fatalf("cluster events = %s, want %s (all: %v)", got, want, all)
	}
	if cluster[0].KeyID != uri+"/keys/cmk/"+v1 || cluster[1].KeyID != uri+"/keys/cmk/"+v2 || cluster[2].KeyID != uri+"/keys/cmk/"+v2 {
		t.Fatalf("key ids = %q %q %q", cluster[0].KeyID, cluster[1].KeyID, cluster[2].KeyID)
	}
	// The first key starts a customer generation, the new version rewraps
	// it, the removal revokes the account.
	if got, want := kinds(storage), "GenerationCreated,GenerationCreated,Rotated,StateChanged"; got != want {
		t.Fatalf("storage events = %s, want %s", got, want)
	}
	if storage[1].KeyID != uri+"/keys/cmk/"+v1 || storage[2].KeyID != uri+"/keys/cmk/"+v2 || storage[3].Detail != "Available -> Revoked" {
		t.Fatalf("storage events = %+v", storage)
	}

	resp, err := e.client.Get(e.endpoint + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, line := range []string{`kustodian_key_events_total{kind="KeySet"} 1`, `kustodian_key_events_total{kind="KeyRemoved"} 1`,
		`state="Revoked"} 1`, `kustodian_aek_unwrap_total{authority="customer",result="ok"}`} {
		if !strings.Contains(string(body), line) {
			t.Errorf("/metrics lacks %s", line)
		}
	}
}
