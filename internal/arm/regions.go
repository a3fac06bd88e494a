package arm

// azureLocations maps the canonical name of every public Azure region to its
// display name. A canonical name is its display name in lower case without
// spaces, which NormalizeLocation relies on and the tests check.
var azureLocations = map[string]string{
	// Americas
	"eastus":          "East US",
	"eastus2":         "East US 2",
	"westus":          "West US",
	"westus2":         "West US 2",
	"westus3":         "West US 3",
	"centralus":       "Central US",
	"northcentralus":  "North Central US",
	"southcentralus":  "South Central US",
	"westcentralus":   "West Central US",
	"canadacentral":   "Canada Central",
	"canadaeast":      "Canada East",
	"brazilsouth":     "Brazil South",
	"brazilsoutheast": "Brazil Southeast",
	"mexicocentral":   "Mexico Central",
	"chilecentral":    "Chile Central",

	// Early-access ("canary") regions, listed for subscriptions enrolled in
	// them.
	"eastus2euap":   "East US 2 EUAP",
	"centraluseuap": "Central US EUAP",

	// Europe
	"northeurope":        "North Europe",
	"westeurope":         "West Europe",
	"uksouth":            "UK South",
	"ukwest":             "UK West",
	"francecentral":      "France Central",
	"francesouth":        "France South",
	"germanywestcentral": "Germany West Central",
	"germanynorth":       "Germany North",
	"switzerlandnorth":   "Switzerland North",
	"switzerlandwest":    "Switzerland West",
	"norwayeast":         "Norway East",
	"norwaywest":         "Norway West",
	"swedencentral":      "Sweden Central",
	"swedensouth":        "Sweden South",
	"polandcentral":      "Poland Central",
	"italynorth":         "Italy North",
	"spaincentral":       "Spain Central",
	"austriaeast":        "Austria East",
	"belgiumcentral":     "Belgium Central",
	"denmarkeast":        "Denmark East",

	// Middle East and Africa
	"israelcentral":    "Israel Central",
	"qatarcentral":     "Qatar Central",
	"uaenorth":         "UAE North",
	"uaecentral":       "UAE Central",
	"southafricanorth": "South Africa North",
	"southafricawest":  "South Africa West",

	// Asia Pacific
	"centralindia":       "Central India",
	"southindia":         "South India",
	"westindia":          "West India",
	"jioindiawest":       "Jio India West",
	"jioindiacentral":    "Jio India Central",
	"eastasia":           "East Asia",
	"southeastasia":      "Southeast Asia",
	"japaneast":          "Japan East",
	"japanwest":          "Japan West",
	"koreacentral":       "Korea Central",
	"koreasouth":         "Korea South",
	"australiaeast":      "Australia East",
	"australiasoutheast": "Australia Southeast",
	"australiacentral":   "Australia Central",
	"australiacentral2":  "Australia Central 2",
	"newzealandnorth":    "New Zealand North",
	"indonesiacentral":   "Indonesia Central",
	"malaysiawest":       "Malaysia West",
}

// NormalizeLocation maps a location as a user writes it ("East US",
// "eastus", "EASTUS", "east us") to the canonical name ("eastus"); ok=false
// for unknown regions. Matching ignores ASCII case and ASCII whitespace
// anywhere in loc.
func NormalizeLocation(loc string) (string, bool) {
	if _, ok := azureLocations[loc]; ok {
		return loc, true
	}
	key := make([]byte, 0, len(loc))
	for i := 0; i < len(loc); i++ {
		switch c := loc[i]; {
		case c == ' ' || ('\t' <= c && c <= '\r'):
		case 'A' <= c && c <= 'Z':
			key = append(key, c+('a'-'A'))
		default:
			key = append(key, c)
		}
	}
	if _, ok := azureLocations[string(key)]; ok {
		return string(key), true
	}
	return "", false
}

// LocationDisplayName returns the display name ("East US") of a canonical
// location ("eastus"). Any spelling that NormalizeLocation accepts works; an
// unknown location is returned unchanged.
func LocationDisplayName(canonical string) string {
	if name, ok := NormalizeLocation(canonical); ok {
		return azureLocations[name]
	}
	return canonical
}
