package resources

import (
	"net/http"
	"strings"

	"github.com/kustodian/kustodian/internal/arm"
	"github.com/kustodian/kustodian/internal/meta"
)

// subscriptionVersions are the api-versions of Microsoft.Resources/subscriptions.
var subscriptionVersions = []string{"2016-06-01", "2019-11-01", "2020-01-01", "2021-01-01", "2022-12-01"}

// actionSubscriptionRead is the Azure action for reading a subscription.
const actionSubscriptionRead = "Microsoft.Resources/subscriptions/read"

func (p *Provider) registerSubscriptions(rt *arm.Router) {
	rt.Handle("/subscriptions", subscriptionVersions, map[string]arm.Handler{
		http.MethodGet: p.listSubscriptions,
	})
	rt.Handle("/subscriptions/{subscriptionId}", subscriptionVersions, map[string]arm.Handler{
		http.MethodGet: p.getSubscription,
	})
}

// subscriptionPolicies is the fixed policy block of a subscription.
type subscriptionPolicies struct {
	LocationPlacementID string `json:"locationPlacementId"`
	QuotaID             string `json:"quotaId"`
	SpendingLimit       string `json:"spendingLimit"`
}

// subscriptionJSON is the wire form of a subscription.
type subscriptionJSON struct {
	ID                   string               `json:"id"`
	SubscriptionID       string               `json:"subscriptionId"`
	TenantID             string               `json:"tenantId"`
	DisplayName          string               `json:"displayName"`
	State                string               `json:"state"`
	SubscriptionPolicies subscriptionPolicies `json:"subscriptionPolicies"`
	AuthorizationSource  string               `json:"authorizationSource"`
	ManagedByTenants     []struct{}           `json:"managedByTenants"`
}

func subscriptionBody(s *meta.Subscription) subscriptionJSON {
	return subscriptionJSON{
		ID:             "/subscriptions/" + s.ID,
		SubscriptionID: s.ID,
		TenantID:       s.TenantID,
		DisplayName:    s.DisplayName,
		State:          "Enabled",
		SubscriptionPolicies: subscriptionPolicies{
			LocationPlacementID: "Public_2014-09-01",
			QuotaID:             "PayAsYouGo_2014-09-01",
			SpendingLimit:       "Off",
		},
		AuthorizationSource: "RoleBased",
		ManagedByTenants:    []struct{}{},
	}
}

// listSubscriptions lists the subscriptions of the caller's tenant that the
// caller may read.
func (p *Provider) listSubscriptions(w http.ResponseWriter, r *arm.Request) error {
	var subs []*meta.Subscription
	if err := p.store.View(r.Context(), func(tx meta.Tx) error {
		var err error
		subs, err = tx.Subscriptions(r.Context())
		return err
	}); err != nil {
		return err
	}
	out := list[subscriptionJSON]{Value: []subscriptionJSON{}}
	for _, s := range subs {
		if !strings.EqualFold(s.TenantID, r.Caller.TenantID) {
			continue
		}
		ok, err := p.allowed(r, actionSubscriptionRead, "/subscriptions/"+s.ID)
		if err != nil {
			return err
		}
		if ok {
			out.Value = append(out.Value, subscriptionBody(s))
		}
	}
	arm.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (p *Provider) getSubscription(w http.ResponseWriter, r *arm.Request) error {
	sub, err := p.subscription(r, r.Params["subscriptionId"])
	if err != nil {
		return err
	}
	if err := p.check(r, actionSubscriptionRead, "/subscriptions/"+sub.ID); err != nil {
		return err
	}
	arm.WriteJSON(w, http.StatusOK, subscriptionBody(sub))
	return nil
}
