package resources

import (
	"net/http"
	"strings"
	"testing"
)

func TestSubscriptions(t *testing.T) {
	e := newEnv(t, FeatureApprovalAuto, false)
	e.run([]step{
		{
			name: "list shows the caller's tenant only", method: "GET", path: "/subscriptions?api-version=2022-12-01",
			wantStatus: http.StatusOK, wantLen: map[string]int{"value": 1},
			want: map[string]string{"value.0.subscriptionId": subA, "value.0.tenantId": tenantA},
		},
		{
			name: "list of the other tenant", token: tokenB, method: "GET", path: "/subscriptions?api-version=2020-01-01",
			wantStatus: http.StatusOK, wantLen: map[string]int{"value": 1},
			want: map[string]string{"value.0.subscriptionId": subB},
		},
		{
			name: "get", method: "GET", path: "/subscriptions/" + subA + "?api-version=2016-06-01",
			wantStatus: http.StatusOK,
			want: map[string]string{
				"id": "/subscriptions/" + subA, "subscriptionId": subA, "tenantId": tenantA,
				"displayName": "Subscription A", "state": "Enabled",
				"subscriptionPolicies.spendingLimit": "Off",
			},
		},
		{
			name: "get is case-insensitive", method: "GET", path: "/SUBSCRIPTIONS/" + strings.ToUpper(subA) + "?api-version=2021-01-01",
			wantStatus: http.StatusOK, want: map[string]string{"subscriptionId": subA},
		},
		{
			name: "unknown subscription", method: "GET", path: "/subscriptions/" + subUnknown + "?api-version=2022-12-01",
			wantStatus: http.StatusNotFound, wantCode: "SubscriptionNotFound",
			wantInMsg: "The subscription '" + subUnknown + "' could not be found.",
		},
		{
			name: "subscription of another tenant", method: "GET", path: "/subscriptions/" + subB + "?api-version=2022-12-01",
			wantStatus: http.StatusUnauthorized, wantCode: "InvalidAuthenticationTokenTenant", wantInMsg: "wrong issuer",
		},
		{
			name: "unsupported api-version", method: "GET", path: "/subscriptions?api-version=2099-01-01",
			wantStatus: http.StatusBadRequest, wantCode: "InvalidApiVersionParameter",
		},
	})
}

func TestSubscriptionsAuthorization(t *testing.T) {
	e := newEnv(t, FeatureApprovalAuto, false)
	e.authz.setDeny(func(action, scope string) bool { return action == actionSubscriptionRead })
	e.run([]step{
		{
			name: "get denied", method: "GET", path: "/subscriptions/" + subA + "?api-version=2022-12-01",
			wantStatus: http.StatusForbidden, wantCode: "AuthorizationFailed",
		},
		{
			name: "list omits what the caller may not read", method: "GET", path: "/subscriptions?api-version=2022-12-01",
			wantStatus: http.StatusOK, wantLen: map[string]int{"value": 0},
		},
	})
}
