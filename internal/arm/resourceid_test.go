package arm

import (
	"strings"
	"testing"
)

func TestParseResourceID(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		typ     string
		name    string
		wantErr string
	}{
		{in: "/subscriptions/s1", want: "/subscriptions/s1", typ: "Microsoft.Resources/subscriptions", name: "s1"},
		{in: "/subscriptions/s1/resourcegroups/RG", want: "/subscriptions/s1/resourceGroups/RG", typ: "Microsoft.Resources/resourceGroups", name: "RG"},
		{in: "/SUBSCRIPTIONS/s1/resourceGroups/rg/PROVIDERS/Microsoft.OperationalInsights/clusters/c1/",
			want: "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.OperationalInsights/clusters/c1",
			typ:  "Microsoft.OperationalInsights/clusters", name: "c1"},
		{in: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/w/linkedServices/cluster",
			want: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/w/linkedServices/cluster",
			typ:  "Microsoft.OperationalInsights/workspaces/linkedServices", name: "cluster"},
		{in: "", wantErr: "must start with '/'"},
		{in: "subscriptions/s", wantErr: "must start with '/'"},
		{in: "/subscriptions", wantErr: "must start with /subscriptions/"},
		{in: "/tenants/x", wantErr: "must start with /subscriptions/"},
		{in: "/subscriptions//resourceGroups/rg", wantErr: "empty segment"},
		{in: "/subscriptions/s/groups/rg", wantErr: "expected 'resourceGroups'"},
		{in: "/subscriptions/s/resourceGroups", wantErr: "no resource group name"},
		{in: "/subscriptions/s/resourceGroups/rg/providers", wantErr: "expected 'providers/{namespace}'"},
		{in: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.X", wantErr: "must end with a resource type and name"},
		{in: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.X/things", wantErr: "must end with a resource type and name"},
		{in: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.X/t/n/providers/Microsoft.Authorization", wantErr: "extension resources"},
		{in: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.X/t/n/providers/Microsoft.Authorization/roleAssignments/a", wantErr: "extension resources"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			id, err := ParseResourceID(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseResourceID(%q) error = %v, want containing %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseResourceID(%q): %v", tt.in, err)
			}
			if got := id.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
			if got := id.ResourceType(); got != tt.typ {
				t.Errorf("ResourceType() = %q, want %q", got, tt.typ)
			}
			if got := id.Name(); got != tt.name {
				t.Errorf("Name() = %q, want %q", got, tt.name)
			}
			if id.Key() != strings.ToLower(tt.want) {
				t.Errorf("Key() = %q", id.Key())
			}
		})
	}
}

func TestResourceIDChildParent(t *testing.T) {
	g := GroupID("s", "rg")
	ws := g.Child("Microsoft.OperationalInsights", "workspaces", "w")
	ls := ws.Child("", "linkedServices", "cluster")
	if got, want := ls.String(), "/subscriptions/s/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/w/linkedServices/cluster"; got != want {
		t.Fatalf("child = %q, want %q", got, want)
	}
	if ls.Parent().String() != ws.String() || ws.Parent().String() != g.String() || g.Parent().String() != "/subscriptions/s" {
		t.Fatalf("parents: %q %q %q", ls.Parent(), ws.Parent(), g.Parent())
	}
}

// FuzzParseResourceID checks that the parser never panics and that the
// canonical form of any id it accepts parses back to itself.
func FuzzParseResourceID(f *testing.F) {
	for _, s := range []string{
		"/subscriptions/s", "/subscriptions/s/resourceGroups/rg",
		"/subscriptions/s/resourceGroups/rg/providers/Microsoft.OperationalInsights/clusters/c",
		"/subscriptions/s/resourcegroups/rg/providers/Microsoft.OperationalInsights/workspaces/w/linkedservices/cluster",
		"//", "/subscriptions/s/resourceGroups/rg/providers/p/t/n/providers/x/y/z", "/subscriptions/%2F/x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseResourceID(s)
		if err != nil {
			return
		}
		again, err := ParseResourceID(id.String())
		if err != nil {
			t.Fatalf("canonical form %q of %q does not parse: %v", id.String(), s, err)
		}
		if again.String() != id.String() {
			t.Fatalf("round trip: %q -> %q", id.String(), again.String())
		}
	})
}
