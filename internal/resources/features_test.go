package resources

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kustodian/kustodian/internal/meta"
)

const (
	featuresBase = "/subscriptions/" + subA + "/providers/Microsoft.Features"
	cmkFeature   = featuresBase + "/providers/Microsoft.OperationalInsights/features/CustomerManagedKey"
	v2021f       = "?api-version=2021-07-01"
	cmkID        = "/subscriptions/" + subA + "/providers/Microsoft.Features/providers/Microsoft.OperationalInsights/features/CustomerManagedKey"
	cmkName      = "Microsoft.OperationalInsights/CustomerManagedKey"
)

func TestFeaturesAuto(t *testing.T) {
	e := newEnv(t, FeatureApprovalAuto, false)
	e.run([]step{
		{
			name: "never registered", method: "GET", path: cmkFeature + v2021f,
			wantStatus: http.StatusOK,
			want: map[string]string{
				"properties.state": "NotRegistered", "id": cmkID, "name": cmkName,
				"type": "Microsoft.Features/providers/features",
			},
		},
		{
			name: "any feature name reads NotRegistered", method: "GET",
			path:       featuresBase + "/providers/Microsoft.Insights/features/SomethingElse" + v2021f,
			wantStatus: http.StatusOK, want: map[string]string{"properties.state": "NotRegistered", "name": "Microsoft.Insights/SomethingElse"},
		},
		{
			name: "register with lower-case path", method: "POST",
			path:       "/subscriptions/" + subA + "/providers/MICROSOFT.FEATURES/providers/microsoft.operationalinsights/features/customermanagedkey/register?api-version=2015-12-01",
			wantStatus: http.StatusOK,
			want:       map[string]string{"properties.state": "Registered", "id": cmkID, "name": cmkName},
		},
		{
			name: "get after registration", method: "GET", path: cmkFeature + v2021f,
			wantStatus: http.StatusOK, want: map[string]string{"properties.state": "Registered"},
		},
		{
			name: "register again", method: "POST", path: cmkFeature + "/register" + v2021f,
			wantStatus: http.StatusOK, want: map[string]string{"properties.state": "Registered"},
		},
		{
			name: "register an unknown feature keeps its casing", method: "POST",
			path:       featuresBase + "/providers/microsoft.insights/features/MyPreview/register" + v2021f,
			wantStatus: http.StatusOK, want: map[string]string{"properties.state": "Registered", "name": "Microsoft.Insights/MyPreview"},
		},
		{
			name: "list of a namespace", method: "GET", path: featuresBase + "/providers/Microsoft.OperationalInsights/features" + v2021f,
			wantStatus: http.StatusOK, wantLen: map[string]int{"value": 1},
			want: map[string]string{"value.0.name": cmkName, "value.0.properties.state": "Registered"},
		},
		{
			name: "list all uses the first casing", method: "GET", path: featuresBase + "/features" + v2021f,
			wantStatus: http.StatusOK, wantLen: map[string]int{"value": 2},
			want: map[string]string{"value.0.name": "Microsoft.Insights/MyPreview", "value.1.name": cmkName},
		},
		{
			name: "unregister", method: "POST", path: cmkFeature + "/unregister" + v2021f,
			wantStatus: http.StatusOK, want: map[string]string{"properties.state": "Unregistered"},
		},
		{
			name: "unregister a feature never registered", method: "POST",
			path:       featuresBase + "/providers/Microsoft.Insights/features/Other/unregister" + v2021f,
			wantStatus: http.StatusOK, want: map[string]string{"properties.state": "NotRegistered"},
		},
		{
			name: "register after unregister", method: "POST", path: cmkFeature + "/register" + v2021f,
			wantStatus: http.StatusOK, want: map[string]string{"properties.state": "Registered"},
		},
		{
			name: "invalid namespace", method: "GET", path: featuresBase + "/providers/NoDot/features/x" + v2021f,
			wantStatus: http.StatusBadRequest, wantCode: "InvalidResourceNamespace",
		},
		{
			name: "unsupported api-version", method: "GET", path: cmkFeature + "?api-version=2021-04-01",
			wantStatus: http.StatusBadRequest, wantCode: "InvalidApiVersionParameter",
		},
		{
			name: "unknown subscription", method: "POST",
			path:       "/subscriptions/" + subUnknown + "/providers/Microsoft.Features/providers/Microsoft.OperationalInsights/features/CustomerManagedKey/register" + v2021f,
			wantStatus: http.StatusNotFound, wantCode: "SubscriptionNotFound",
		},
		{
			name: "subscription of another tenant", token: tokenB, method: "GET", path: cmkFeature + v2021f,
			wantStatus: http.StatusUnauthorized, wantCode: "InvalidAuthenticationTokenTenant",
		},
	})
	ctx := context.Background()
	_ = e.store.View(ctx, func(tx meta.Tx) error {
		state, err := FeatureState(ctx, tx, subA, "microsoft.operationalinsights", "CUSTOMERMANAGEDKEY")
		if err != nil || state != FeatureRegistered {
			t.Errorf("FeatureState = %q, %v; want Registered", state, err)
		}
		return nil
	})
}

func TestFeaturesAuthorization(t *testing.T) {
	e := newEnv(t, FeatureApprovalAuto, false)
	e.authz.setDeny(func(action, scope string) bool { return action == actionFeatureRegister })
	e.run([]step{
		{
			name: "register denied", method: "POST", path: cmkFeature + "/register" + v2021f,
			wantStatus: http.StatusForbidden, wantCode: "AuthorizationFailed",
		},
		{
			name: "read allowed", method: "GET", path: cmkFeature + v2021f,
			wantStatus: http.StatusOK, want: map[string]string{"properties.state": "NotRegistered"},
		},
	})
	if !e.authz.called(actionFeatureRegister + " /subscriptions/" + subA) {
		t.Errorf("register was not checked at subscription scope: %v", e.authz.calls)
	}
	if !e.authz.called(actionFeatureRead + " /subscriptions/" + subA) {
		t.Errorf("read was not checked at subscription scope: %v", e.authz.calls)
	}
}

func TestFeaturesManualApproval(t *testing.T) {
	e := newEnv(t, FeatureApprovalManual, false)
	ctx := context.Background()
	approve := func(feature string) error {
		return ApproveFeature(ctx, e.store, e.clock.Now(), subA, "Microsoft.OperationalInsights", feature)
	}

	if err := approve(CMKFeatureName); !errors.Is(err, meta.ErrNotFound) {
		t.Fatalf("approve before any request = %v, want meta.ErrNotFound", err)
	}
	e.run([]step{
		{
			name: "register goes to Pending", method: "POST", path: cmkFeature + "/register" + v2021f,
			wantStatus: http.StatusOK, want: map[string]string{"properties.state": "Pending"},
		},
		{
			name: "register again stays Pending", method: "POST", path: cmkFeature + "/register" + v2021f,
			wantStatus: http.StatusOK, want: map[string]string{"properties.state": "Pending"},
		},
		{
			name: "still Pending", method: "GET", path: cmkFeature + v2021f,
			wantStatus: http.StatusOK, want: map[string]string{"properties.state": "Pending"},
		},
	})

	e.clock.Advance(time.Hour)
	if err := approve("customermanagedkey"); err != nil {
		t.Fatalf("approve: %v", err)
	}
	if err := approve(CMKFeatureName); err != nil {
		t.Fatalf("approve twice: %v", err)
	}
	_ = e.store.View(ctx, func(tx meta.Tx) error {
		f, err := tx.Feature(ctx, subA, CMKFeatureNamespace, CMKFeatureName)
		if err != nil || f.State != FeatureRegistered || !f.UpdatedAt.Equal(t0.Add(time.Hour)) {
			t.Errorf("after approval: %+v, %v", f, err)
		}
		return nil
	})
	e.run([]step{
		{
			name: "approved", method: "GET", path: cmkFeature + v2021f,
			wantStatus: http.StatusOK, want: map[string]string{"properties.state": "Registered"},
		},
		{
			name: "withdraw", method: "POST", path: cmkFeature + "/unregister" + v2021f,
			wantStatus: http.StatusOK, want: map[string]string{"properties.state": "Unregistered"},
		},
	})
	if err := approve(CMKFeatureName); !errors.Is(err, ErrFeatureNotPending) {
		t.Fatalf("approve after unregister = %v, want ErrFeatureNotPending", err)
	}
}

func TestNewRejectsBadDeps(t *testing.T) {
	store := &meta.SQLite{}
	authz := (&fakeAuthz{}).authorize
	tests := []struct {
		name string
		deps Deps
	}{
		{"no store", Deps{Authorize: authz}},
		{"no authorize", Deps{Store: store}},
		{"bad approval mode", Deps{Store: store, Authorize: authz, FeatureApproval: "sometimes"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(r.(string), "resources.New") {
					t.Errorf("New did not panic with a clear message: %v", r)
				}
			}()
			New(tt.deps)
		})
	}
}
