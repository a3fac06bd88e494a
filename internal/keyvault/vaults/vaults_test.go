package vaults

import (
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/kustodian/kustodian/internal/arm"
	"github.com/kustodian/kustodian/internal/keyvault"
)

const (
	tenant = "11111111-1111-1111-1111-111111111111"
	alice  = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa"
	bob    = "bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb"
	app    = "cccccccc-cccc-cccc-cccc-cccccccccccc"
)

func ap(oid string, keys ...string) keyvault.AccessPolicy {
	return keyvault.AccessPolicy{TenantID: tenant, ObjectID: oid, Keys: keys}
}

// clonePolicies deep-copies policies, to check that a merge leaves its
// inputs alone.
func clonePolicies(ps []keyvault.AccessPolicy) []keyvault.AccessPolicy {
	out := slices.Clone(ps)
	for i := range out {
		out[i].Keys = slices.Clone(out[i].Keys)
	}
	return out
}

func TestMergePolicies(t *testing.T) {
	withApp := keyvault.AccessPolicy{TenantID: tenant, ObjectID: alice, ApplicationID: app, Keys: []string{"sign"}}
	cases := []struct {
		name    string
		cur     []keyvault.AccessPolicy
		changes []keyvault.AccessPolicy
		kind    string
		want    []keyvault.AccessPolicy
	}{
		{"add to an empty vault", nil, []keyvault.AccessPolicy{ap(alice, "get")}, "add",
			[]keyvault.AccessPolicy{ap(alice, "get")}},
		{"add a new principal after the others", []keyvault.AccessPolicy{ap(alice, "all")},
			[]keyvault.AccessPolicy{ap(bob, "get", "wrapKey", "unwrapKey")}, "add",
			[]keyvault.AccessPolicy{ap(alice, "all"), ap(bob, "get", "wrapKey", "unwrapKey")}},
		{"add unions permissions, ignoring case", []keyvault.AccessPolicy{ap(bob, "get", "wrapKey")},
			[]keyvault.AccessPolicy{ap(bob, "GET", "unwrapKey", "wrapkey")}, "add",
			[]keyvault.AccessPolicy{ap(bob, "get", "wrapKey", "unwrapKey")}},
		{"add matches the principal ignoring case", []keyvault.AccessPolicy{ap(bob, "get")},
			[]keyvault.AccessPolicy{{TenantID: strings.ToUpper(tenant), ObjectID: strings.ToUpper(bob), Keys: []string{"list"}}}, "add",
			[]keyvault.AccessPolicy{ap(bob, "get", "list")}},
		{"add for a compound identity is another entry", []keyvault.AccessPolicy{ap(alice, "get")},
			[]keyvault.AccessPolicy{withApp}, "add",
			[]keyvault.AccessPolicy{ap(alice, "get"), withApp}},
		{"add several entries at once", []keyvault.AccessPolicy{ap(alice, "get")},
			[]keyvault.AccessPolicy{ap(alice, "list"), ap(bob, "get")}, "add",
			[]keyvault.AccessPolicy{ap(alice, "get", "list"), ap(bob, "get")}},
		{"replace sets the permissions", []keyvault.AccessPolicy{ap(alice, "all"), ap(bob, "get", "wrapKey", "unwrapKey")},
			[]keyvault.AccessPolicy{ap(bob, "get")}, "replace",
			[]keyvault.AccessPolicy{ap(alice, "all"), ap(bob, "get")}},
		{"replace of an unknown principal adds it", []keyvault.AccessPolicy{ap(alice, "all")},
			[]keyvault.AccessPolicy{ap(bob, "get")}, "replace",
			[]keyvault.AccessPolicy{ap(alice, "all"), ap(bob, "get")}},
		{"remove takes permissions away, ignoring case", []keyvault.AccessPolicy{ap(bob, "get", "wrapKey", "unwrapKey")},
			[]keyvault.AccessPolicy{ap(bob, "WRAPKEY")}, "remove",
			[]keyvault.AccessPolicy{ap(bob, "get", "unwrapKey")}},
		{"remove of every permission drops the entry", []keyvault.AccessPolicy{ap(alice, "all"), ap(bob, "get", "wrapKey")},
			[]keyvault.AccessPolicy{ap(bob, "wrapKey", "get")}, "remove",
			[]keyvault.AccessPolicy{ap(alice, "all")}},
		{"remove without permissions drops the entry", []keyvault.AccessPolicy{ap(alice, "all"), ap(bob, "get")},
			[]keyvault.AccessPolicy{ap(bob)}, "remove",
			[]keyvault.AccessPolicy{ap(alice, "all")}},
		{"remove of an unknown principal changes nothing", []keyvault.AccessPolicy{ap(alice, "all")},
			[]keyvault.AccessPolicy{ap(bob, "get")}, "remove",
			[]keyvault.AccessPolicy{ap(alice, "all")}},
		{"remove of a permission not granted changes nothing", []keyvault.AccessPolicy{ap(bob, "get")},
			[]keyvault.AccessPolicy{ap(bob, "purge")}, "remove",
			[]keyvault.AccessPolicy{ap(bob, "get")}},
		{"remove spares the compound identity", []keyvault.AccessPolicy{ap(alice, "get"), withApp},
			[]keyvault.AccessPolicy{ap(alice)}, "remove",
			[]keyvault.AccessPolicy{withApp}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before, changes := clonePolicies(c.cur), clonePolicies(c.changes)
			got := mergePolicies(c.cur, c.changes, c.kind)
			if !reflect.DeepEqual(normalize(got), normalize(c.want)) {
				t.Fatalf("mergePolicies(%s) = %+v, want %+v", c.kind, got, c.want)
			}
			if !reflect.DeepEqual(c.cur, before) || !reflect.DeepEqual(c.changes, changes) {
				t.Fatalf("mergePolicies changed its inputs: cur %+v (was %+v), changes %+v (was %+v)", c.cur, before, c.changes, changes)
			}
		})
	}
}

// normalize makes nil and empty policy lists and permission lists equal,
// and compares permission names without case.
func normalize(ps []keyvault.AccessPolicy) []keyvault.AccessPolicy {
	out := []keyvault.AccessPolicy{}
	for _, p := range ps {
		p.TenantID, p.ObjectID = strings.ToLower(p.TenantID), strings.ToLower(p.ObjectID)
		keys := []string{}
		for _, k := range p.Keys {
			keys = append(keys, strings.ToLower(k))
		}
		p.Keys = keys
		out = append(out, p)
	}
	return out
}

func TestValidVaultName(t *testing.T) {
	for _, n := range []string{"abc", "kv1", "Contoso-KV", "a-b-c", "kv-with-24-characters-x1", "a23456789012345678901234"} {
		if !validVaultName(n) {
			t.Errorf("validVaultName(%q) = false", n)
		}
	}
	for _, n := range []string{"", "a", "ab", "1kv", "-kv", "kv-", "kv--x", "kv_x", "kv.x", "kv x", "kév",
		"a234567890123456789012345", strings.Repeat("a", 64)} {
		if validVaultName(n) {
			t.Errorf("validVaultName(%q) = true", n)
		}
	}
}

func bp(b bool) *bool   { return &b }
func ip(i int64) *int64 { return &i }

// refused checks a 400 from apply.
func refused(t *testing.T, err error, want string) {
	t.Helper()
	e, ok := arm.AsError(err)
	if !ok || e.Status != http.StatusBadRequest || !strings.Contains(e.Message, want) {
		t.Fatalf("apply = %v; want a 400 mentioning %q", err, want)
	}
}

func TestApplyOneWaySwitches(t *testing.T) {
	newVault := func() *Doc {
		return &Doc{Location: "eastus", SoftDelete: true, RetentionDays: 90}
	}

	t.Run("create without soft delete", func(t *testing.T) {
		d := newVault()
		if err := apply(d, &spec{softDelete: bp(false), retention: ip(7)}, true); err != nil {
			t.Fatal(err)
		}
		if d.SoftDelete || d.RetentionDays != 7 || d.PurgeProtection {
			t.Fatalf("doc = %+v", d)
		}
	})
	t.Run("soft delete cannot be turned off", func(t *testing.T) {
		d := newVault()
		refused(t, apply(d, &spec{softDelete: bp(false)}, false), "Soft delete cannot be disabled")
	})
	t.Run("soft delete can be turned on", func(t *testing.T) {
		d := newVault()
		d.SoftDelete = false
		if err := apply(d, &spec{softDelete: bp(true)}, false); err != nil || !d.SoftDelete {
			t.Fatalf("apply = %v, soft delete %v", err, d.SoftDelete)
		}
	})
	t.Run("purge protection can be turned on", func(t *testing.T) {
		d := newVault()
		if err := apply(d, &spec{purgeProtection: bp(true)}, false); err != nil || !d.PurgeProtection {
			t.Fatalf("apply = %v, purge protection %v", err, d.PurgeProtection)
		}
		// Sending true again is no change.
		if err := apply(d, &spec{purgeProtection: bp(true)}, false); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("purge protection cannot be turned off", func(t *testing.T) {
		d := newVault()
		d.PurgeProtection = true
		refused(t, apply(d, &spec{purgeProtection: bp(false)}, false), "Purge protection cannot be disabled")
	})
	t.Run("purge protection needs soft delete", func(t *testing.T) {
		d := newVault()
		refused(t, apply(d, &spec{softDelete: bp(false), purgeProtection: bp(true)}, true), "requires soft delete")
		d = newVault()
		d.SoftDelete = false
		refused(t, apply(d, &spec{purgeProtection: bp(true)}, false), "requires soft delete")
	})
	t.Run("absent switches keep their values", func(t *testing.T) {
		d := newVault()
		d.PurgeProtection = true
		d.RetentionDays = 30
		if err := apply(d, &spec{tags: map[string]string{"a": "b"}, hasTags: true}, false); err != nil {
			t.Fatal(err)
		}
		if !d.SoftDelete || !d.PurgeProtection || d.RetentionDays != 30 || d.Tags["a"] != "b" {
			t.Fatalf("doc = %+v", d)
		}
	})
	t.Run("retention is fixed at creation", func(t *testing.T) {
		d := newVault()
		if err := apply(d, &spec{retention: ip(14)}, true); err != nil || d.RetentionDays != 14 {
			t.Fatalf("create: %v, retention %d", err, d.RetentionDays)
		}
		// The same value is accepted on update; another is refused.
		if err := apply(d, &spec{retention: ip(14)}, false); err != nil {
			t.Fatalf("same retention: %v", err)
		}
		refused(t, apply(d, &spec{retention: ip(30)}, false), "cannot be changed")
		if d.RetentionDays != 14 {
			t.Fatalf("retention = %d after a refused change", d.RetentionDays)
		}
	})
}

func TestParseSpecRetentionRange(t *testing.T) {
	parse := func(body string) error {
		v, err := arm.DecodeLenient([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		o, ok := arm.AsObject(v)
		if !ok {
			t.Fatalf("%s is not an object", body)
		}
		_, err = parseSpec(o, true)
		return err
	}
	const tmpl = `{"location":"eastus","properties":{"tenantId":"` + tenant + `","sku":{"family":"A","name":"standard"},"accessPolicies":[],"softDeleteRetentionInDays":%s}}`
	for _, days := range []string{"7", "30", "90"} {
		if err := parse(strings.Replace(tmpl, "%s", days, 1)); err != nil {
			t.Errorf("retention %s: %v", days, err)
		}
	}
	for _, days := range []string{"0", "6", "91", "-7", "3650"} {
		err := parse(strings.Replace(tmpl, "%s", days, 1))
		if e, ok := arm.AsError(err); !ok || e.Status != http.StatusBadRequest || !strings.Contains(e.Message, "between 7 and 90") {
			t.Errorf("retention %s: %v; want a 400", days, err)
		}
	}
}
