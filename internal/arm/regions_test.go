package arm

import (
	"strings"
	"testing"
)

func TestNormalizeLocation(t *testing.T) {
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{"eastus", "eastus", true},
		{"East US", "eastus", true},
		{"EASTUS", "eastus", true},
		{"east us", "eastus", true},
		{" East  US ", "eastus", true},
		{"East\tUS", "eastus", true},
		{"East US 2", "eastus2", true},
		{"eastus2", "eastus2", true},
		{"West Central US", "westcentralus", true},
		{"UK South", "uksouth", true},
		{"uae north", "uaenorth", true},
		{"Southeast Asia", "southeastasia", true},
		{"Australia Central 2", "australiacentral2", true},
		{"Jio India West", "jioindiawest", true},
		{"New Zealand North", "newzealandnorth", true},
		{"Germany West Central", "germanywestcentral", true},
		{"denmarkeast", "denmarkeast", true},
		{"", "", false},
		{"   ", "", false},
		{"east-us", "", false},
		{"eastus4", "", false},
		{"East US 2 ", "eastus2", true},
		{"global", "", false},
		{"<region-name>", "", false},
		{"ｅａｓｔｕｓ", "", false},            // full-width letters are not folded
		{"\u212aoreacentral", "", false}, // nor is the Kelvin sign (K)
	}
	for _, tc := range tests {
		got, ok := NormalizeLocation(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("NormalizeLocation(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestLocationDisplayName(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"eastus", "East US"},
		{"eastus2", "East US 2"},
		{"EastUS", "East US"},
		{"uaecentral", "UAE Central"},
		{"brazilsoutheast", "Brazil Southeast"},
		{"australiasoutheast", "Australia Southeast"},
		{"unknown", "unknown"},
		{"", ""},
	}
	for _, tc := range tests {
		if got := LocationDisplayName(tc.in); got != tc.want {
			t.Errorf("LocationDisplayName(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestLocationTable(t *testing.T) {
	// The regions the spec requires must all be known.
	required := strings.Fields(`eastus eastus2 westus westus2 westus3 centralus
		northcentralus southcentralus westcentralus canadacentral canadaeast
		brazilsouth brazilsoutheast northeurope westeurope uksouth ukwest
		francecentral francesouth germanywestcentral germanynorth
		switzerlandnorth switzerlandwest norwayeast norwaywest swedencentral
		polandcentral italynorth spaincentral israelcentral qatarcentral
		uaenorth uaecentral southafricanorth southafricawest centralindia
		southindia westindia jioindiawest jioindiacentral eastasia
		southeastasia japaneast japanwest koreacentral koreasouth
		australiaeast australiasoutheast australiacentral australiacentral2
		newzealandnorth mexicocentral chilecentral indonesiacentral
		malaysiawest austriaeast belgiumcentral denmarkeast`)
	for _, name := range required {
		if _, ok := azureLocations[name]; !ok {
			t.Errorf("region %q missing", name)
		}
	}
	// Every entry is consistent: the canonical name is the display name
	// folded, and both normalise to the canonical name.
	for name, display := range azureLocations {
		if folded := strings.ToLower(strings.ReplaceAll(display, " ", "")); folded != name {
			t.Errorf("region %q has display name %q, which folds to %q", name, display, folded)
		}
		for _, in := range []string{name, display, strings.ToUpper(display), strings.ToLower(display)} {
			if got, ok := NormalizeLocation(in); !ok || got != name {
				t.Errorf("NormalizeLocation(%q) = %q, %v; want %q", in, got, ok, name)
			}
		}
		if got := LocationDisplayName(name); got != display {
			t.Errorf("LocationDisplayName(%q) = %q, want %q", name, got, display)
		}
	}
}

func BenchmarkNormalizeLocation(b *testing.B) {
	for b.Loop() {
		if _, ok := NormalizeLocation("West Central US"); !ok {
			b.Fatal("unknown")
		}
	}
}
