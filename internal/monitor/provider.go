package monitor

import (
	"context"
	"crypto/rand"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/kustodian/kustodian/internal/arm"
	"github.com/kustodian/kustodian/internal/meta"
	"github.com/kustodian/kustodian/internal/resources"
)

// Namespaces served by this package.
const (
	NamespaceOperationalInsights = "Microsoft.OperationalInsights"
	NamespaceInsights            = "Microsoft.Insights"
)

// Resource types served by this package.
const (
	TypeCluster       = "Microsoft.OperationalInsights/clusters"
	TypeWorkspace     = "Microsoft.OperationalInsights/workspaces"
	TypeLinkedService = "Microsoft.OperationalInsights/workspaces/linkedServices"
	TypeComponent     = "Microsoft.Insights/components"
)

// FeatureCMK is the preview feature a subscription must have registered
// before it can create clusters (the seed's "subscription whitelisting").
const FeatureCMK = "CustomerManagedKey"

// Sealer seals secrets before they reach the metadata store.
type Sealer interface {
	Seal(plaintext, aad []byte) ([]byte, error)
	Open(sealed, aad []byte) ([]byte, error)
}

// KeyEvent is a change of a cluster's customer-managed key configuration,
// reported to the storage layer (which turns removals into revocation).
type KeyEvent struct {
	ClusterID  string `json:"clusterId"` // the cluster's clusterId (GUID)
	ResourceID string `json:"resourceId"`
	// Kind is KeySet, KeyChanged, KeyRemoved or IdentityRemoved.
	Kind  string              `json:"kind"`
	Old   *KeyVaultProperties `json:"old,omitempty"` // nil when absent
	New   *KeyVaultProperties `json:"new,omitempty"`
	Cause string              `json:"cause"`
	At    time.Time           `json:"at"`
}

// Kinds of key events.
const (
	KeySet          = "KeySet"          // the first KEK was set: a new AEK generation starts
	KeyChanged      = "KeyChanged"      // another key or version: the AEK is rewrapped
	KeyRemoved      = "KeyRemoved"      // keyVaultProperties removed: revocation
	IdentityRemoved = "IdentityRemoved" // identity set to None: the key can no longer be reached
)

// KeyValidator checks, as the cluster's own managed identity, that a key can
// be used: see the Key Vault issue. It returns an *arm.Error (4xx) naming the
// failed condition.
type KeyValidator func(ctx context.Context, tenantID, principalID string, kv KeyVaultProperties) error

// Deps are the provider's collaborators and settings.
type Deps struct {
	Store  meta.Store
	Now    func() time.Time
	Log    *slog.Logger
	Sealer Sealer
	Ops    *arm.Operations
	// Authorize returns nil if caller may perform action on scope, else an
	// *arm.Error (403 AuthorizationFailed).
	Authorize func(ctx context.Context, caller arm.Caller, action, scope string) error

	// ProvisioningDelay is how long a new cluster stays ProvisioningAccount.
	ProvisioningDelay time.Duration
	// ClusterSoftDeleteRetention is how long a deleted cluster's name is
	// reserved and the cluster recoverable.
	ClusterSoftDeleteRetention time.Duration
	// WorkspaceSoftDeleteRetention is the same for workspaces.
	WorkspaceSoftDeleteRetention time.Duration
	// MaxClustersPerSubscription is the seed's limit (2).
	MaxClustersPerSubscription int

	// ValidateKey, if set, validates keyVaultProperties before a cluster
	// update is accepted.
	ValidateKey KeyValidator
	// OnKeyEvent, if set, is told about every key configuration change after
	// it commits.
	OnKeyEvent func(KeyEvent)
	// OnPurge, if set, is told about every cluster or workspace purged for
	// good (retention passed, or a forced delete), after it commits, so
	// storage can destroy its data and keys.
	OnPurge func(res *meta.Resource)
	// IngestionEndpoint is the base URL put in component connection strings.
	IngestionEndpoint func(r *arm.Request) string
	// LogsIngestionEndpoint is the base URL of the Logs Ingestion API that
	// data collection endpoints and Direct rules report
	// (logsIngestion.endpoint); nil means the request's own base URL.
	LogsIngestionEndpoint func(r *arm.Request) string
	// StoredTable, if set, returns the columns storage holds for a table
	// of a workspace (by customer id) that the tables API does not know:
	// a classic table the Data Collector API created.
	StoredTable func(ctx context.Context, customerID, table string) ([]TableColumn, bool, error)
}

// Provider serves the monitor resource providers.
type Provider struct {
	d Deps
}

// New returns a provider; zero settings take the documented defaults.
func New(d Deps) *Provider {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.ClusterSoftDeleteRetention == 0 {
		d.ClusterSoftDeleteRetention = 14 * 24 * time.Hour
	}
	if d.WorkspaceSoftDeleteRetention == 0 {
		d.WorkspaceSoftDeleteRetention = 14 * 24 * time.Hour
	}
	if d.MaxClustersPerSubscription == 0 {
		d.MaxClustersPerSubscription = 2
	}
	return &Provider{d: d}
}

// API versions accepted per resource type: ClusterAPIVersions for clusters,
// WorkspaceAPIVersions (and ClusterAPIVersions) for workspaces and their
// linked services, ComponentAPIVersions for Application Insights
// components.
var (
	ClusterAPIVersions = []string{"2019-08-01-preview", "2020-03-01-preview", "2020-08-01", "2020-10-01", "2021-06-01",
		"2022-10-01", "2023-09-01", "2025-02-01", "2025-07-01"}
	WorkspaceAPIVersions = []string{"2015-03-20", "2015-11-01-preview", "2017-03-15-preview", "2020-03-01-preview", "2020-08-01",
		"2020-10-01", "2021-06-01", "2021-12-01-preview", "2022-10-01", "2023-09-01", "2025-02-01", "2025-07-01"}
	ComponentAPIVersions = []string{"2014-04-01", "2015-05-01", "2018-05-01-preview", "2020-02-02", "2020-02-02-preview"}
)

// Register adds the provider's routes to rt.
func (p *Provider) Register(rt *arm.Router) {
	const rg = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/"
	const sub = "/subscriptions/{subscriptionId}/providers/"
	oi := NamespaceOperationalInsights
	rt.Handle(rg+oi+"/clusters/{clusterName}", ClusterAPIVersions, map[string]arm.Handler{
		http.MethodPut: p.putCluster, http.MethodGet: p.getCluster, http.MethodPatch: p.patchCluster,
		http.MethodDelete: p.deleteCluster,
	})
	rt.Handle(rg+oi+"/clusters", ClusterAPIVersions, map[string]arm.Handler{http.MethodGet: p.listClusters})
	rt.Handle(sub+oi+"/clusters", ClusterAPIVersions, map[string]arm.Handler{http.MethodGet: p.listClusters})

	ws := rg + oi + "/workspaces/{workspaceName}"
	versions := union(WorkspaceAPIVersions, ClusterAPIVersions)
	rt.Handle(ws, versions, map[string]arm.Handler{
		http.MethodPut: p.putWorkspace, http.MethodGet: p.getWorkspace, http.MethodPatch: p.patchWorkspace,
		http.MethodDelete: p.deleteWorkspace,
	})
	rt.Handle(rg+oi+"/workspaces", versions, map[string]arm.Handler{http.MethodGet: p.listWorkspaces})
	rt.Handle(sub+oi+"/workspaces", versions, map[string]arm.Handler{http.MethodGet: p.listWorkspaces})
	rt.Handle(ws+"/sharedKeys", versions, map[string]arm.Handler{http.MethodPost: p.getSharedKeys})
	rt.Handle(ws+"/regenerateSharedKey", versions, map[string]arm.Handler{http.MethodPost: p.regenerateSharedKeys})
	rt.Handle(ws+"/linkedServices/{linkedServiceName}", versions, map[string]arm.Handler{
		http.MethodPut: p.putLinkedService, http.MethodGet: p.getLinkedService, http.MethodDelete: p.deleteLinkedService,
	})
	rt.Handle(ws+"/linkedServices", versions, map[string]arm.Handler{http.MethodGet: p.listLinkedServices})
	rt.Handle(ws+"/tables/{tableName}", versions, map[string]arm.Handler{
		http.MethodPut: p.putTable, http.MethodPatch: p.putTable, http.MethodGet: p.getTable, http.MethodDelete: p.deleteTable,
	})
	rt.Handle(ws+"/tables/{tableName}/migrate", versions, map[string]arm.Handler{http.MethodPost: p.migrateTable})
	rt.Handle(ws+"/tables", versions, map[string]arm.Handler{http.MethodGet: p.listTables})

	in := NamespaceInsights
	rt.Handle(rg+in+"/components/{resourceName}", ComponentAPIVersions, map[string]arm.Handler{
		http.MethodPut: p.putComponent, http.MethodGet: p.getComponent, http.MethodDelete: p.deleteComponent,
		http.MethodPatch: p.patchComponentTags,
	})
	rt.Handle(rg+in+"/components", ComponentAPIVersions, map[string]arm.Handler{http.MethodGet: p.listComponents})
	rt.Handle(sub+in+"/components", ComponentAPIVersions, map[string]arm.Handler{http.MethodGet: p.listComponents})

	p.registerDataCollection(rt, rg, sub)
	p.d.Ops.Register(rt, oi, versions)
}

// union returns the sorted union of api-version lists.
func union(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// scope is the parsed subscription / group / name of a request.
type scope struct {
	sub, group string
}

func reqScope(r *arm.Request) scope {
	return scope{sub: r.Params["subscriptionId"], group: r.Params["resourceGroupName"]}
}

// checkScope verifies that the subscription exists and belongs to the
// caller's tenant, and (when group is set) that the group exists. It returns
// the subscription.
func checkScope(ctx context.Context, tx meta.Tx, caller arm.Caller, s scope) (*meta.Subscription, error) {
	return resources.EnsureScope(ctx, tx, caller, s.sub, s.group)
}

// authorize checks that the caller may perform action on scope. A denial in
// a subscription that does not exist (or belongs to another tenant) is
// reported as that, as Resource Manager does: 404 SubscriptionNotFound
// rather than 403.
func (p *Provider) authorize(r *arm.Request, action, scopeID string) error {
	if p.d.Authorize == nil {
		return nil
	}
	err := p.d.Authorize(r.Context(), r.Caller, action, scopeID)
	if e, ok := arm.AsError(err); ok && e.Status == http.StatusForbidden {
		if scopeErr := p.d.Store.View(r.Context(), func(tx meta.Tx) error {
			_, err := checkScope(r.Context(), tx, r.Caller, scope{sub: r.Params["subscriptionId"]})
			return err
		}); scopeErr != nil {
			return scopeErr
		}
	}
	return err
}

// listAuthorizer answers, for a list, whether each item may be shown: all of
// them when the caller may read at the list's scope, else those it may read
// one by one (Resource Manager filters collections this way). denied is the
// scope's 403, which the list returns when the caller may see none of the
// items.
func (p *Provider) listAuthorizer(r *arm.Request, action, scopeID string) (canSee func(resourceID string) (bool, error), denied, err error) {
	err = p.authorize(r, action, scopeID)
	if err == nil || p.d.Authorize == nil {
		return func(string) (bool, error) { return true, nil }, nil, nil
	}
	if e, ok := arm.AsError(err); !ok || e.Status != http.StatusForbidden {
		return nil, nil, err
	}
	return func(resourceID string) (bool, error) {
		err := p.d.Authorize(r.Context(), r.Caller, action, resourceID)
		if err == nil {
			return true, nil
		}
		if _, ok := arm.AsError(err); ok {
			return false, nil
		}
		return false, err
	}, err, nil
}

func newGUID() string { return uuid.NewString() }

func randomKey() (string, error) {
	b := make([]byte, 64)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return encodeStd(b), nil
}

// rfc1123 formats times the way the seed's early api-versions show them.
func rfc1123(t time.Time) string { return t.UTC().Format(http.TimeFormat) }

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// isPreview2019 reports whether v is one of the early preview api-versions
// whose response shape the seed prints.
func isEarlyClusterAPI(v string) bool { return v == "2019-08-01-preview" || v == "2020-03-01-preview" }

// checkName answers 400 code unless the name of id (a kind, such as
// "cluster") is 4 to 63 letters, digits or hyphens, starting and ending with
// a letter or digit.
func checkName(id arm.ResourceID, code, kind string) error {
	if validName(id.Name(), 4, 63) {
		return nil
	}
	return arm.BadRequest(code, "The %s name '%s' is invalid: it must be 4 to 63 letters, digits or hyphens, starting and ending with a letter or digit.", kind, arm.Clip(id.Name()))
}

// validName checks a resource name: length bounds, letters, digits and
// hyphens, starting and ending with a letter or digit.
func validName(name string, minLen, maxLen int) bool {
	if len(name) < minLen || len(name) > maxLen {
		return false
	}
	for i, c := range name {
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (c != '-' || i == 0 || i == len(name)-1) {
			return false
		}
	}
	return true
}

// location reads and normalises the required location of a body.
func location(body arm.Object) (string, error) {
	loc, ok, err := body.String("location")
	if err != nil {
		return "", arm.BadRequest("InvalidRequestContent", "%v", err)
	}
	if !ok || loc == "" {
		return "", arm.BadRequest("LocationRequired", "The location property is required for this definition.")
	}
	canon, ok := arm.NormalizeLocation(loc)
	if !ok {
		return "", arm.BadRequest("LocationNotAvailableForResourceType",
			"The provided location '%s' is not available for resource type. List of available regions is at https://aka.ms/azureregions.", loc)
	}
	return canon, nil
}

// tags reads and validates the optional tags of a body (Azure's limits).
func tags(body arm.Object) (map[string]string, error) {
	t, _, err := body.Tags()
	return t, err
}

// listResources answers a list of resources of type typ in the request's
// subscription or group, showing those the caller may read (action), each
// rendered by render.
func listResources[T any](p *Provider, w http.ResponseWriter, r *arm.Request, typ, action string,
	render func(*meta.Resource, *T) map[string]any) error {
	ctx := r.Context()
	s := reqScope(r)
	scopeID := "/subscriptions/" + s.sub
	if s.group != "" {
		scopeID = arm.GroupID(s.sub, s.group).String()
	}
	canSee, denied, err := p.listAuthorizer(r, action, scopeID)
	if err != nil {
		return err
	}
	var out []any
	err = p.d.Store.View(ctx, func(tx meta.Tx) error {
		if _, err := checkScope(ctx, tx, r.Caller, s); err != nil {
			return err
		}
		list, err := tx.Resources(ctx, meta.ResourceQuery{Type: typ, SubscriptionID: s.sub, ResourceGroup: s.group})
		if err != nil {
			return err
		}
		for _, res := range list {
			if ok, err := canSee(res.ID); err != nil {
				return err
			} else if !ok {
				continue
			}
			doc, err := resources.DecodeDoc[T](res)
			if err != nil {
				return err
			}
			out = append(out, render(res, doc))
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(out) == 0 && denied != nil {
		return denied
	}
	return listResponse(w, out)
}

func listResponse(w http.ResponseWriter, values []any) error {
	if values == nil {
		values = []any{}
	}
	arm.WriteJSON(w, http.StatusOK, map[string]any{"value": values})
	return nil
}
