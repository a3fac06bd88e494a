package resources

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/kustodian/kustodian/internal/arm"
	"github.com/kustodian/kustodian/internal/meta"
)

// genericVersions are the api-versions of the generic resource list.
var genericVersions = []string{"2015-11-01", "2016-09-01", "2019-10-01", "2020-06-01", "2021-04-01", "2022-09-01"}

// registerGeneric adds the generic resource lists
// (GET /subscriptions/{s}[/resourceGroups/{rg}]/resources), which some SDK
// list calls use with $filter=resourceType eq '{type}' (armkeyvault's
// VaultsClient.NewListPager among them).
func (p *Provider) registerGeneric(rt *arm.Router) {
	rt.Handle("/subscriptions/{subscriptionId}/resources", genericVersions, map[string]arm.Handler{http.MethodGet: p.listGeneric})
	rt.Handle("/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/resources", genericVersions,
		map[string]arm.Handler{http.MethodGet: p.listGeneric})
}

// genericLocation reads the "location" member of a provider's document, if
// it has one at top level.
func genericLocation(res *meta.Resource) string {
	if res.Location != "" {
		return res.Location
	}
	var doc struct {
		Location string `json:"location"`
	}
	_ = json.Unmarshal(res.Body, &doc)
	return doc.Location
}

func (p *Provider) listGeneric(w http.ResponseWriter, r *arm.Request) error {
	sub, group := r.Params["subscriptionId"], r.Params["resourceGroupName"]
	var typ string
	if f := r.HTTP.URL.Query().Get("$filter"); f != "" {
		clauses, ok := parseFilter(f)
		if !ok || len(clauses) != 1 || !strings.EqualFold(clauses[0].Name, "resourceType") {
			return arm.BadRequest("InvalidFilterInQueryString",
				"The $filter '%s' is not supported: use resourceType eq '{namespace}/{type}'.", f)
		}
		typ = clauses[0].Value
	}
	if _, err := p.subscription(r, sub); err != nil {
		return err
	}
	var list []*meta.Resource
	err := p.store.View(r.Context(), func(tx meta.Tx) error {
		if group != "" {
			if err := EnsureGroupExists(r.Context(), tx, sub, group); err != nil {
				return err
			}
		}
		var err error
		list, err = tx.Resources(r.Context(), meta.ResourceQuery{Type: typ, SubscriptionID: sub, ResourceGroup: group})
		return err
	})
	if err != nil {
		return err
	}
	out := []any{}
	for _, res := range list {
		if strings.EqualFold(res.Type, ResourceGroupType) || strings.Count(res.Type, "/") != 1 {
			continue // the generic list shows top-level resources only
		}
		ok, err := p.allowed(r, res.Type+"/read", res.ID)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		out = append(out, map[string]any{"id": res.ID, "name": res.Name, "type": canonicalType(res.Type), "location": genericLocation(res)})
	}
	arm.WriteJSON(w, http.StatusOK, map[string]any{"value": out})
	return nil
}

// canonicalType restores the casing of known types (meta stores them lower-case).
func canonicalType(t string) string {
	for _, k := range []string{"Microsoft.OperationalInsights/clusters", "Microsoft.OperationalInsights/workspaces",
		"Microsoft.Insights/components", "Microsoft.KeyVault/vaults"} {
		if strings.EqualFold(k, t) {
			return k
		}
	}
	return t
}
