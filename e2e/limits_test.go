package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestTagLimitsEveryResource: tags are held to Azure's limits on every
// resource type that stores them, and the refusal does not echo the input
// back (issue 8: a workspace took a 4 MiB tag value, 10,000 tags and a
// 100,000-character tag name).
func TestTagLimitsEveryResource(t *testing.T) {
	t.Parallel()
	e, tok := setup(t, options{}, "rg")
	manyTags := func(n int) string {
		var b strings.Builder
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `"t%d":"v"`, i)
		}
		return "{" + b.String() + "}"
	}
	bad := []struct {
		name, tags, code string
	}{
		{"4 MiB value", `{"a":"` + strings.Repeat("v", 4<<20-200) + `"}`, "InvalidTagValueLength"},
		{"10,000 tags", manyTags(10000), "InvalidTagCount"},
		{"100,000-character name", `{"` + strings.Repeat("n", 100000) + `":"v"}`, "InvalidTagNameLength"},
	}
	sub := e.subPath()
	resources := []struct {
		kind, path, version, body string
	}{
		{"workspace", e.workspacePath("rg", "ws-tags"), apiSeedWorkspace, `{"location":"eastus","tags":%s}`},
		{"component", e.componentPath("rg", "ai-tags"), apiSeedComponent, `{"location":"eastus","kind":"web","tags":%s}`},
		{"resource group", sub + "/resourcegroups/rg-tags", apiSDKGroups, `{"location":"eastus","tags":%s}`},
		{"vault", sub + "/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv-tags", "2024-11-01",
			`{"location":"eastus","tags":%s,"properties":{"tenantId":"` + e.boot.TenantID + `","sku":{"family":"A","name":"standard"}}}`},
	}
	for _, res := range resources {
		for _, c := range bad {
			t.Run(res.kind+"/"+c.name, func(t *testing.T) {
				r := e.do(http.MethodPut, res.path+q(res.version), tok, fmt.Sprintf(res.body, c.tags))
				expect(t, r, http.StatusBadRequest, c.code)
				if len(r.body) > 1024 {
					t.Fatalf("error body of %d bytes echoes the input", len(r.body))
				}
			})
		}
		// Azure's limits themselves are accepted.
		ok := fmt.Sprintf(res.body, `{"`+strings.Repeat("n", 512)+`":"`+strings.Repeat("v", 256)+`"}`)
		if r := e.do(http.MethodPut, res.path+q(res.version), tok, ok); r.status >= 300 {
			t.Errorf("%s with tags at the limits: %d %s", res.kind, r.status, r.body)
		}
	}
	// An overlong workspace name is refused without echoing it whole.
	r := e.do(http.MethodPut, e.workspacePath("rg", strings.Repeat("w", 100000))+q(apiSeedWorkspace), tok, `{"location":"eastus"}`)
	if r.status != http.StatusBadRequest || len(r.body) > 1024 {
		t.Fatalf("100,000-character workspace name: %d, %d-byte body", r.status, len(r.body))
	}
}
