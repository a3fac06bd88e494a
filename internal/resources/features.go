package resources

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/kustodian/kustodian/internal/arm"
	"github.com/kustodian/kustodian/internal/meta"
)

// Feature registration states.
const (
	// FeatureRegistered: the feature is enabled in the subscription.
	FeatureRegistered = "Registered"
	// FeaturePending: registration was requested and awaits the operator's
	// approval (manual mode).
	FeaturePending = "Pending"
	// FeatureNotRegistered: registration was never requested.
	FeatureNotRegistered = "NotRegistered"
	// FeatureUnregistered: the feature was registered or requested, then
	// unregistered.
	FeatureUnregistered = "Unregistered"
)

// The preview feature that gates customer-managed-key clusters.
const (
	// CMKFeatureNamespace is the provider namespace of the CMK feature.
	CMKFeatureNamespace = "Microsoft.OperationalInsights"
	// CMKFeatureName is the name of the CMK feature.
	CMKFeatureName = "CustomerManagedKey"
)

// ErrFeatureNotPending is returned by ApproveFeature for a feature whose
// registration was requested but then withdrawn (unregistered).
var ErrFeatureNotPending = errors.New("feature registration is not pending")

// featureVersions are the api-versions of Microsoft.Features.
var featureVersions = []string{"2015-12-01", "2021-07-01"}

// Azure actions on features.
const (
	actionFeatureRegister   = "Microsoft.Features/providers/features/register/action"
	actionFeatureUnregister = "Microsoft.Features/providers/features/unregister/action"
	actionFeatureRead       = "Microsoft.Features/providers/features/read"
)

// featureType is the resource type of a feature.
const featureType = "Microsoft.Features/providers/features"

// knownNamespaces maps lower-case provider namespaces to their canonical
// casing.
var knownNamespaces = map[string]string{
	"microsoft.operationalinsights": "Microsoft.OperationalInsights",
	"microsoft.insights":            "Microsoft.Insights",
	"microsoft.keyvault":            "Microsoft.KeyVault",
	"microsoft.resources":           "Microsoft.Resources",
	"microsoft.authorization":       "Microsoft.Authorization",
	"microsoft.features":            "Microsoft.Features",
}

// knownFeatures lists the features this service knows of, in canonical
// casing; they are listed (as NotRegistered) before anyone registers them.
var knownFeatures = []featureName{
	{Namespace: CMKFeatureNamespace, Name: CMKFeatureName},
}

// featureName names a feature.
type featureName struct {
	Namespace, Name string
}

func (f featureName) key() string { return strings.ToLower(f.Namespace + "/" + f.Name) }

// featureNameSetting is the meta setting that records the casing in which
// an unknown feature was first registered.
func featureNameSetting(f featureName) string { return "resources/featureName/" + f.key() }

// displayName returns the canonical casing of f: the known one, else the
// one of its first registration, else f as given (with a known namespace in
// its canonical casing). recorded is false in the last case.
func displayName(ctx context.Context, tx meta.Tx, f featureName) (name featureName, recorded bool, err error) {
	for _, k := range knownFeatures {
		if k.key() == f.key() {
			return k, true, nil
		}
	}
	b, err := tx.Setting(ctx, featureNameSetting(f))
	switch {
	case err == nil:
		if ns, name, ok := strings.Cut(string(b), "/"); ok {
			return featureName{Namespace: ns, Name: name}, true, nil
		}
	case !errors.Is(err, meta.ErrNotFound):
		return f, false, fmt.Errorf("read feature name %s: %w", f.key(), err)
	}
	if ns, ok := knownNamespaces[strings.ToLower(f.Namespace)]; ok {
		f.Namespace = ns
	}
	return f, false, nil
}

// featureJSON is the wire form of a feature.
type featureJSON struct {
	Properties struct {
		State string `json:"state"`
	} `json:"properties"`
	ID   string `json:"id"`
	Name string `json:"name"`
	Type string `json:"type"`
}

func featureBody(subscriptionID string, f featureName, state string) featureJSON {
	var j featureJSON
	j.Properties.State = state
	j.ID = "/subscriptions/" + subscriptionID + "/providers/Microsoft.Features/providers/" + f.Namespace + "/features/" + f.Name
	j.Name = f.Namespace + "/" + f.Name
	j.Type = featureType
	return j
}

// FeatureState returns the registration state of a feature in a
// subscription: FeatureNotRegistered if registration was never requested.
func FeatureState(ctx context.Context, tx meta.Tx, subscriptionID, namespace, feature string) (string, error) {
	f, err := tx.Feature(ctx, subscriptionID, namespace, feature)
	if errors.Is(err, meta.ErrNotFound) {
		return FeatureNotRegistered, nil
	}
	if err != nil {
		return "", fmt.Errorf("read feature %s/%s of subscription %s: %w", namespace, feature, subscriptionID, err)
	}
	return f.State, nil
}

// ApproveFeature approves a pending registration (Pending -> Registered), as
// the operator does in manual mode. Approving a registered feature does
// nothing. It returns an error wrapping meta.ErrNotFound if registration was
// never requested, and one wrapping ErrFeatureNotPending if it was
// withdrawn.
func ApproveFeature(ctx context.Context, store meta.Store, now time.Time, subscriptionID, namespace, feature string) error {
	return store.Update(ctx, func(tx meta.Tx) error {
		f, err := tx.Feature(ctx, subscriptionID, namespace, feature)
		if errors.Is(err, meta.ErrNotFound) {
			return fmt.Errorf("approve feature %s/%s: registration was never requested in subscription %s: %w",
				namespace, feature, subscriptionID, err)
		}
		if err != nil {
			return fmt.Errorf("approve feature %s/%s in subscription %s: %w", namespace, feature, subscriptionID, err)
		}
		switch f.State {
		case FeatureRegistered:
			return nil
		case FeaturePending:
			f.State, f.UpdatedAt = FeatureRegistered, now
			return tx.PutFeature(ctx, f)
		}
		return fmt.Errorf("approve feature %s/%s in subscription %s: state is %s: %w",
			namespace, feature, subscriptionID, f.State, ErrFeatureNotPending)
	})
}

func (p *Provider) registerFeatures(rt *arm.Router) {
	const base = "/subscriptions/{subscriptionId}/providers/Microsoft.Features"
	const feature = base + "/providers/{namespace}/features/{featureName}"
	rt.Handle(base+"/features", featureVersions, map[string]arm.Handler{
		http.MethodGet: p.listAllFeatures,
	})
	rt.Handle(base+"/providers/{namespace}/features", featureVersions, map[string]arm.Handler{
		http.MethodGet: p.listFeatures,
	})
	rt.Handle(feature, featureVersions, map[string]arm.Handler{
		http.MethodGet: p.getFeature,
	})
	rt.Handle(feature+"/register", featureVersions, map[string]arm.Handler{
		http.MethodPost: p.registerFeature,
	})
	rt.Handle(feature+"/unregister", featureVersions, map[string]arm.Handler{
		http.MethodPost: p.unregisterFeature,
	})
}

// validNamespace reports whether s looks like a provider namespace
// ("Microsoft.OperationalInsights").
func validNamespace(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) < 2 || len(s) > 256 {
		return false
	}
	for _, part := range parts {
		if part == "" || !isIdent(part) {
			return false
		}
	}
	return true
}

// validFeatureName reports whether s is a plausible feature name.
func validFeatureName(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for _, r := range s {
		if !(r == '-' || r == '_' || r == '.' || isIdent(string(r))) {
			return false
		}
	}
	return true
}

// featureRequest checks the subscription, the caller's permission and the
// names of a feature request.
func (p *Provider) featureRequest(r *arm.Request, action string) (*meta.Subscription, featureName, error) {
	f := featureName{Namespace: r.Params["namespace"], Name: r.Params["featureName"]}
	sub, err := p.subscription(r, r.Params["subscriptionId"])
	if err != nil {
		return nil, f, err
	}
	if err := p.check(r, action, "/subscriptions/"+sub.ID); err != nil {
		return nil, f, err
	}
	if f.Namespace != "" && !validNamespace(f.Namespace) {
		return nil, f, arm.BadRequest("InvalidResourceNamespace", "The resource namespace '%s' is invalid.", f.Namespace)
	}
	if r.Params["featureName"] != "" && !validFeatureName(f.Name) {
		return nil, f, arm.BadRequest("InvalidFeatureName", "The feature name '%s' is invalid.", f.Name)
	}
	return sub, f, nil
}

func (p *Provider) getFeature(w http.ResponseWriter, r *arm.Request) error {
	sub, f, err := p.featureRequest(r, actionFeatureRead)
	if err != nil {
		return err
	}
	var (
		state string
		name  featureName
	)
	err = p.store.View(r.Context(), func(tx meta.Tx) error {
		var err error
		if state, err = FeatureState(r.Context(), tx, sub.ID, f.Namespace, f.Name); err != nil {
			return err
		}
		name, _, err = displayName(r.Context(), tx, f)
		return err
	})
	if err != nil {
		return err
	}
	arm.WriteJSON(w, http.StatusOK, featureBody(sub.ID, name, state))
	return nil
}

// registerFeature requests registration: Registered at once in auto mode,
// Pending until approved in manual mode. Registering again changes
// nothing.
func (p *Provider) registerFeature(w http.ResponseWriter, r *arm.Request) error {
	sub, f, err := p.featureRequest(r, actionFeatureRegister)
	if err != nil {
		return err
	}
	next := FeatureRegistered
	if p.manual {
		next = FeaturePending
	}
	return p.setFeature(w, r, sub, f, func(cur string) string {
		if cur == FeatureRegistered || cur == FeaturePending {
			return cur
		}
		return next
	})
}

// unregisterFeature unregisters a registered feature or withdraws a
// pending request; a feature never registered stays NotRegistered.
func (p *Provider) unregisterFeature(w http.ResponseWriter, r *arm.Request) error {
	sub, f, err := p.featureRequest(r, actionFeatureUnregister)
	if err != nil {
		return err
	}
	return p.setFeature(w, r, sub, f, func(cur string) string {
		if cur == FeatureRegistered || cur == FeaturePending {
			return FeatureUnregistered
		}
		return cur
	})
}

// setFeature moves a feature from its current state to transition(state)
// and answers with the feature.
func (p *Provider) setFeature(w http.ResponseWriter, r *arm.Request, sub *meta.Subscription, f featureName, transition func(string) string) error {
	var (
		state string
		name  featureName
	)
	err := p.store.Update(r.Context(), func(tx meta.Tx) error {
		ctx := r.Context()
		cur, err := FeatureState(ctx, tx, sub.ID, f.Namespace, f.Name)
		if err != nil {
			return err
		}
		var recorded bool
		if name, recorded, err = displayName(ctx, tx, f); err != nil {
			return err
		}
		if state = transition(cur); state == cur {
			return nil
		}
		if !recorded {
			// Neither known nor seen before: remember this casing.
			if err := tx.PutSetting(ctx, featureNameSetting(f), []byte(name.Namespace+"/"+name.Name)); err != nil {
				return err
			}
		}
		return tx.PutFeature(ctx, &meta.Feature{
			SubscriptionID: sub.ID, Namespace: f.Namespace, Name: f.Name, State: state, UpdatedAt: p.now(),
		})
	})
	if err != nil {
		return err
	}
	arm.WriteJSON(w, http.StatusOK, featureBody(sub.ID, name, state))
	return nil
}

func (p *Provider) listFeatures(w http.ResponseWriter, r *arm.Request) error {
	sub, f, err := p.featureRequest(r, actionFeatureRead)
	if err != nil {
		return err
	}
	return p.writeFeatures(w, r, sub, f.Namespace)
}

func (p *Provider) listAllFeatures(w http.ResponseWriter, r *arm.Request) error {
	sub, _, err := p.featureRequest(r, actionFeatureRead)
	if err != nil {
		return err
	}
	return p.writeFeatures(w, r, sub, "")
}

// writeFeatures answers with the features of a subscription, of one
// namespace if namespace is not empty: those ever registered, and the known
// features as NotRegistered.
func (p *Provider) writeFeatures(w http.ResponseWriter, r *arm.Request, sub *meta.Subscription, namespace string) error {
	out := list[featureJSON]{Value: []featureJSON{}}
	err := p.store.View(r.Context(), func(tx meta.Tx) error {
		ctx := r.Context()
		rows, err := tx.Features(ctx, sub.ID)
		if err != nil {
			return err
		}
		seen := make(map[string]bool)
		for _, row := range rows {
			f := featureName{Namespace: row.Namespace, Name: row.Name}
			if namespace != "" && !strings.EqualFold(f.Namespace, namespace) {
				continue
			}
			name, _, err := displayName(ctx, tx, f)
			if err != nil {
				return err
			}
			seen[f.key()] = true
			out.Value = append(out.Value, featureBody(sub.ID, name, row.State))
		}
		for _, k := range knownFeatures {
			if !seen[k.key()] && (namespace == "" || strings.EqualFold(k.Namespace, namespace)) {
				out.Value = append(out.Value, featureBody(sub.ID, k, FeatureNotRegistered))
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	slices.SortFunc(out.Value, func(a, b featureJSON) int {
		return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
	})
	arm.WriteJSON(w, http.StatusOK, out)
	return nil
}
