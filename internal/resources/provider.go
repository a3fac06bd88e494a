package resources

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/kustodian/kustodian/internal/arm"
	"github.com/kustodian/kustodian/internal/meta"
)

// Feature approval modes for Deps.FeatureApproval.
const (
	// FeatureApprovalAuto registers features at once.
	FeatureApprovalAuto = "auto"
	// FeatureApprovalManual leaves a registration Pending until an operator
	// approves it with ApproveFeature.
	FeatureApprovalManual = "manual"
)

// Deps are the dependencies of a Provider.
type Deps struct {
	// Store is the metadata store. Required.
	Store meta.Store
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Authorize returns nil if the caller may perform action on scope, else
	// an *arm.Error (403 AuthorizationFailed). Any other error is an
	// internal failure. Required. It is never called inside a metadata
	// transaction.
	Authorize func(ctx context.Context, caller arm.Caller, action, scope string) error
	// FeatureApproval is FeatureApprovalAuto (registration goes straight to
	// Registered; the default when empty) or FeatureApprovalManual (Pending
	// until an operator approves).
	FeatureApproval string
}

// Provider serves the Microsoft.Resources, Microsoft.Features and
// Microsoft.Authorization resource providers.
type Provider struct {
	store     meta.Store
	now       func() time.Time
	authorize func(ctx context.Context, caller arm.Caller, action, scope string) error
	manual    bool
}

// New returns a Provider. It panics if d.Store or d.Authorize is nil or
// d.FeatureApproval is not one of the approval modes: those are wiring
// mistakes to catch at startup.
func New(d Deps) *Provider {
	if d.Store == nil || d.Authorize == nil {
		panic("resources.New: Deps.Store and Deps.Authorize are required")
	}
	p := &Provider{store: d.Store, now: d.Now, authorize: d.Authorize}
	if p.now == nil {
		p.now = time.Now
	}
	switch d.FeatureApproval {
	case "", FeatureApprovalAuto:
	case FeatureApprovalManual:
		p.manual = true
	default:
		panic(fmt.Sprintf("resources.New: FeatureApproval %q is neither %q nor %q",
			d.FeatureApproval, FeatureApprovalAuto, FeatureApprovalManual))
	}
	return p
}

// Register adds the provider's routes to rt. The role assignment and role
// definition routes match path suffixes, so Register must run before any
// other provider's Register on the same router.
func (p *Provider) Register(rt *arm.Router) {
	p.registerAuthorization(rt)
	p.registerSubscriptions(rt)
	p.registerGroups(rt)
	p.registerFeatures(rt)
	p.registerGeneric(rt)
}

// EnsureSubscription returns the subscription if it exists and caller's
// token was issued by its tenant. It returns 404 SubscriptionNotFound for an
// unknown subscription and 401 InvalidAuthenticationTokenTenant for a caller
// of another tenant, as Azure does.
func EnsureSubscription(ctx context.Context, tx meta.Tx, caller arm.Caller, subscriptionID string) (*meta.Subscription, error) {
	sub, err := tx.Subscription(ctx, subscriptionID)
	if errors.Is(err, meta.ErrNotFound) {
		return nil, arm.Errorf(http.StatusNotFound, "SubscriptionNotFound",
			"The subscription '%s' could not be found.", subscriptionID)
	}
	if err != nil {
		return nil, fmt.Errorf("read subscription %s: %w", subscriptionID, err)
	}
	if !strings.EqualFold(sub.TenantID, caller.TenantID) {
		return nil, arm.Errorf(http.StatusUnauthorized, "InvalidAuthenticationTokenTenant",
			"The access token is from the wrong issuer '%s'. It must match the tenant '%s' associated with this "+
				"subscription. Please use the authority of tenant '%s' to get the token.",
			caller.TenantID, sub.TenantID, sub.TenantID)
	}
	return sub, nil
}

// subscription runs EnsureSubscription in its own read transaction.
func (p *Provider) subscription(r *arm.Request, subscriptionID string) (*meta.Subscription, error) {
	var sub *meta.Subscription
	err := p.store.View(r.Context(), func(tx meta.Tx) error {
		var err error
		sub, err = EnsureSubscription(r.Context(), tx, r.Caller, subscriptionID)
		return err
	})
	return sub, err
}

// check asks Deps.Authorize whether the caller may perform action on scope.
func (p *Provider) check(r *arm.Request, action, scope string) error {
	return p.authorize(r.Context(), r.Caller, action, scope)
}

// allowed is check for lists: a denial (an *arm.Error) is false, an internal
// failure is returned.
func (p *Provider) allowed(r *arm.Request, action, scope string) (bool, error) {
	err := p.check(r, action, scope)
	if err == nil {
		return true, nil
	}
	if _, ok := arm.AsError(err); ok {
		return false, nil
	}
	return false, err
}

// invalidContent turns an error of an arm.Object accessor (a
// *arm.TypeError) into a 400 InvalidRequestContent; *arm.Error values and
// nil pass through.
func invalidContent(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := arm.AsError(err); ok {
		return err
	}
	return arm.BadRequest("InvalidRequestContent", "The request content was invalid: %v.", err)
}

// timestamp formats t the way Resource Manager does.
func timestamp(t time.Time) string {
	return t.UTC().Format(time.RFC3339Nano)
}

// list is the body of a Resource Manager list response.
type list[T any] struct {
	Value []T `json:"value"`
}
