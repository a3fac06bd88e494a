package monitor

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/kustodian/kustodian/internal/arm"
	"github.com/kustodian/kustodian/internal/audit"
	"github.com/kustodian/kustodian/internal/meta"
	"github.com/kustodian/kustodian/internal/resources"
)

// Cluster provisioning states.
const (
	StateProvisioningAccount = "ProvisioningAccount"
	StateSucceeded           = "Succeeded"
)

// Cluster types (the seed's clusterType), fixed at creation.
const (
	ClusterTypeLogAnalytics        = "LogAnalytics"
	ClusterTypeApplicationInsights = "ApplicationInsights"
)

// Capacity reservation bounds (GB/day) and step.
const (
	MinCapacity         = 1000
	DefaultMaxCapacity  = 2000
	CapacityStep        = 100
	skuCapacityReserved = "CapacityReservation"
)

// KeyVaultProperties identify the cluster's key encryption key.
type KeyVaultProperties struct {
	KeyVaultURI string `json:"keyVaultUri"`
	KeyName     string `json:"keyName"`
	KeyVersion  string `json:"keyVersion"` // empty: always the latest enabled version
	KeyRsaSize  int64  `json:"keyRsaSize,omitempty"`
}

// Association is a workspace linked to a cluster.
type Association struct {
	WorkspaceID   string    `json:"workspaceId"` // the workspace's customerId
	WorkspaceName string    `json:"workspaceName"`
	ResourceID    string    `json:"resourceId"`
	AssociateDate time.Time `json:"associateDate"`
}

// ClusterDoc is a cluster's stored state.
type ClusterDoc struct {
	ClusterID         string              `json:"clusterId"`
	Location          string              `json:"location"`
	Tags              map[string]string   `json:"tags,omitempty"`
	IdentityType      string              `json:"identityType"`
	PrincipalID       string              `json:"principalId"`
	TenantID          string              `json:"tenantId"`
	SKUName           string              `json:"skuName"`
	Capacity          int64               `json:"capacity"`
	LastSKUUpdate     time.Time           `json:"lastSkuUpdate"`
	ClusterType       string              `json:"clusterType"`
	KeyVault          *KeyVaultProperties `json:"keyVaultProperties,omitempty"`
	BillingType       string              `json:"billingType"`
	DoubleEncryption  bool                `json:"isDoubleEncryptionEnabled"`
	AvailabilityZones bool                `json:"isAvailabilityZonesEnabled"`
	Associated        []Association       `json:"associatedWorkspaces,omitempty"`
	CreatedDate       time.Time           `json:"createdDate"`
	LastModifiedDate  time.Time           `json:"lastModifiedDate"`
	ProvisionedAt     time.Time           `json:"provisionedAt"`
}

// ProvisioningState returns the cluster's state at now.
func (c *ClusterDoc) ProvisioningState(now time.Time) string {
	if now.Before(c.ProvisionedAt) {
		return StateProvisioningAccount
	}
	return StateSucceeded
}

func clusterID(r *arm.Request) arm.ResourceID {
	s := reqScope(r)
	return arm.GroupID(s.sub, s.group).Child(NamespaceOperationalInsights, "clusters", r.Params["clusterName"])
}

// clusterSpec is what a PUT or PATCH body asks for.
type clusterSpec struct {
	location     string
	tags         map[string]string
	hasTags      bool
	identityType string
	skuName      string
	capacity     int64
	hasSKU       bool
	clusterType  string
	keyVault     *KeyVaultProperties
	hasKeyVault  bool
	// validated is the key that ValidateKey accepted before the write
	// transaction started (validation talks to the vault, which must not
	// happen while the store is locked for writing).
	validated   *KeyVaultProperties
	billingType string
	doubleEnc   *bool
	zones       *bool
}

func badContent(err error) error {
	if _, ok := arm.AsError(err); ok {
		return err
	}
	return arm.BadRequest("InvalidRequestContent", "%v", err)
}

// parseClusterBody reads a cluster PUT (full=true) or PATCH body.
func parseClusterBody(body arm.Object, full bool) (*clusterSpec, error) {
	spec := &clusterSpec{}
	var err error
	if full {
		if spec.location, err = location(body); err != nil {
			return nil, err
		}
	}
	if spec.tags, err = tags(body); err != nil {
		return nil, err
	}
	spec.hasTags = body.Has("tags")
	if id, ok, err := body.Object("identity"); err != nil {
		return nil, badContent(err)
	} else if ok {
		t, _, err := id.String("type")
		if err != nil {
			return nil, badContent(err)
		}
		switch strings.ToLower(t) {
		case "systemassigned":
			spec.identityType = "SystemAssigned"
		case "none":
			spec.identityType = "None"
		case "":
			return nil, arm.BadRequest("InvalidIdentity", "The identity type is required: use 'SystemAssigned'.")
		default:
			return nil, arm.BadRequest("InvalidIdentity",
				"The identity type '%s' is not supported for clusters: use 'SystemAssigned' (or 'None' to remove the identity).", t)
		}
	}
	if sku, ok, err := body.Object("sku"); err != nil {
		return nil, badContent(err)
	} else if ok {
		spec.hasSKU = true
		name, _, err := sku.String("name")
		if err != nil {
			return nil, badContent(err)
		}
		if !strings.EqualFold(name, skuCapacityReserved) {
			return nil, arm.BadRequest("InvalidSku", "The sku name '%s' is invalid: clusters use 'CapacityReservation'.", name)
		}
		spec.skuName = name
		c, ok, err := sku.Int("capacity")
		if err != nil {
			return nil, badContent(err)
		}
		if !ok {
			return nil, arm.BadRequest("InvalidCapacity", "The sku capacity (capacity reservation in GB per day) is required.")
		}
		spec.capacity = c
	}
	props, ok, err := body.Object("properties")
	if err != nil {
		return nil, badContent(err)
	}
	if !ok {
		props = arm.Object{}
	}
	if ct, ok, err := props.String("clusterType"); err != nil {
		return nil, badContent(err)
	} else if ok {
		switch strings.ToLower(ct) {
		case "loganalytics":
			spec.clusterType = ClusterTypeLogAnalytics
		case "applicationinsights":
			spec.clusterType = ClusterTypeApplicationInsights
		default:
			return nil, arm.BadRequest("InvalidClusterType",
				"The clusterType '%s' is invalid: use 'LogAnalytics' or 'ApplicationInsights'.", ct)
		}
	}
	if kvp, ok, err := props.Object("keyVaultProperties"); err != nil {
		return nil, badContent(err)
	} else if props.Has("keyVaultProperties") {
		spec.hasKeyVault = true
		if ok {
			kv, err := parseKeyVaultProperties(kvp)
			if err != nil {
				return nil, err
			}
			spec.keyVault = kv
		}
	}
	if bt, ok, err := props.String("billingType"); err != nil {
		return nil, badContent(err)
	} else if ok {
		switch strings.ToLower(bt) {
		case "cluster":
			spec.billingType = "Cluster"
		case "workspaces":
			spec.billingType = "Workspaces"
		default:
			return nil, arm.BadRequest("InvalidBillingType", "The billingType '%s' is invalid: use 'Cluster' or 'Workspaces'.", bt)
		}
	}
	if v, ok, err := props.Bool("isDoubleEncryptionEnabled"); err != nil {
		return nil, badContent(err)
	} else if ok {
		spec.doubleEnc = &v
	}
	if v, ok, err := props.Bool("isAvailabilityZonesEnabled"); err != nil {
		return nil, badContent(err)
	} else if ok {
		spec.zones = &v
	}
	return spec, nil
}

func parseKeyVaultProperties(o arm.Object) (*KeyVaultProperties, error) {
	kv := &KeyVaultProperties{}
	var err error
	if kv.KeyVaultURI, _, err = o.String("keyVaultUri"); err != nil {
		return nil, badContent(err)
	}
	if kv.KeyName, _, err = o.String("keyName"); err != nil {
		return nil, badContent(err)
	}
	if kv.KeyVersion, _, err = o.String("keyVersion"); err != nil {
		return nil, badContent(err)
	}
	if kv.KeyRsaSize, _, err = o.Int("keyRsaSize"); err != nil {
		return nil, badContent(err)
	}
	if kv.KeyVaultURI == "" && kv.KeyName == "" && kv.KeyVersion == "" {
		// An empty object is the same as no key.
		return nil, nil
	}
	if kv.KeyVaultURI == "" || kv.KeyName == "" {
		return nil, arm.BadRequest("InvalidKeyVaultProperties", "keyVaultProperties needs both keyVaultUri and keyName.")
	}
	if !strings.HasPrefix(strings.ToLower(kv.KeyVaultURI), "https://") {
		return nil, arm.BadRequest("InvalidKeyVaultProperties", "keyVaultUri '%s' must be an https URL.", kv.KeyVaultURI)
	}
	switch kv.KeyRsaSize {
	case 0, 2048, 3072, 4096:
	default:
		return nil, arm.BadRequest("InvalidKeyVaultProperties", "keyRsaSize %d is invalid: use 2048, 3072 or 4096.", kv.KeyRsaSize)
	}
	return kv, nil
}

func checkCapacity(c, max int64) error {
	if max < DefaultMaxCapacity {
		max = DefaultMaxCapacity
	}
	if c < MinCapacity || c > max || c%CapacityStep != 0 {
		return arm.BadRequest("InvalidCapacityReservation",
			"The capacity reservation %d GB/day is invalid: it must be between %d and %d GB/day in steps of %d. Higher levels must be enabled for the subscription by the operator.",
			c, MinCapacity, max, CapacityStep)
	}
	return nil
}

func sameKey(a, b *KeyVaultProperties) bool {
	if a == nil || b == nil {
		return a == b
	}
	return strings.EqualFold(strings.TrimSuffix(a.KeyVaultURI, "/"), strings.TrimSuffix(b.KeyVaultURI, "/")) &&
		strings.EqualFold(a.KeyName, b.KeyName) && strings.EqualFold(a.KeyVersion, b.KeyVersion) && a.KeyRsaSize == b.KeyRsaSize
}

func (p *Provider) featureRegistered(ctx context.Context, tx meta.Tx, sub string) (bool, error) {
	f, err := tx.Feature(ctx, sub, NamespaceOperationalInsights, FeatureCMK)
	if errors.Is(err, meta.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return f.State == "Registered", nil
}

func (p *Provider) putCluster(w http.ResponseWriter, r *arm.Request) error {
	ctx := r.Context()
	id := clusterID(r)
	if err := p.authorize(r, "Microsoft.OperationalInsights/clusters/write", id.String()); err != nil {
		return err
	}
	if err := checkName(id, "InvalidClusterName", "cluster"); err != nil {
		return err
	}
	body, err := r.Body()
	if err != nil {
		return err
	}
	spec, err := parseClusterBody(body, true)
	if err != nil {
		return err
	}
	if err := p.prevalidateKey(ctx, id, spec, false); err != nil {
		return err
	}
	var (
		created bool
		doc     *ClusterDoc
		res     *meta.Resource
		event   *KeyEvent
	)
	err = p.d.Store.Update(ctx, func(tx meta.Tx) error {
		sub, err := checkScope(ctx, tx, r.Caller, reqScope(r))
		if err != nil {
			return err
		}
		res, err = tx.Resource(ctx, id.String())
		switch {
		case errors.Is(err, meta.ErrNotFound):
			created = true
			res, doc, err = p.createCluster(ctx, tx, r, sub, id, spec)
		case err != nil:
			return err
		default:
			doc, err = resources.DecodeDoc[ClusterDoc](res)
			if err != nil {
				return err
			}
			event, err = p.replaceCluster(ctx, tx, r, sub, res, doc, spec)
		}
		return err
	})
	if err != nil {
		return err
	}
	p.emit(event)
	now := p.d.Now()
	if created {
		op := &arm.Operation{
			ID: newGUID(), Namespace: NamespaceOperationalInsights, Location: doc.Location,
			SubscriptionID: id.SubscriptionID, ResourceID: res.ID, Action: "Microsoft.OperationalInsights/clusters/write",
			StartTime: now, DoneAt: doc.ProvisionedAt,
		}
		return p.d.Ops.Accept(w, r, op, http.StatusAccepted, renderCluster(res, doc, r.APIVersion, now))
	}
	arm.WriteJSON(w, http.StatusOK, renderCluster(res, doc, r.APIVersion, now))
	return nil
}

// createCluster creates a new cluster or recovers a soft-deleted one of the
// same name, subscription, group and region.
func (p *Provider) createCluster(ctx context.Context, tx meta.Tx, r *arm.Request, sub *meta.Subscription, id arm.ResourceID, spec *clusterSpec) (*meta.Resource, *ClusterDoc, error) {
	now := p.d.Now()
	if ok, err := p.featureRegistered(ctx, tx, id.SubscriptionID); err != nil {
		return nil, nil, err
	} else if !ok {
		return nil, nil, arm.Errorf(http.StatusBadRequest, "FeatureNotRegistered",
			"The subscription '%s' is not registered for the feature '%s/%s' that clusters need. Register it with POST /subscriptions/%s/providers/Microsoft.Features/providers/%s/features/%s/register and wait until its state is 'Registered'.",
			id.SubscriptionID, NamespaceOperationalInsights, FeatureCMK, id.SubscriptionID, NamespaceOperationalInsights, FeatureCMK)
	}
	if spec.keyVault != nil {
		return nil, nil, arm.BadRequest("KeyVaultPropertiesNotAllowedOnCreate",
			"keyVaultProperties cannot be set when a cluster is created: its managed identity does not exist yet, so no Key Vault access policy can grant it access. Create the cluster, grant its principalId get, wrapKey and unwrapKey on the key, then update the cluster with keyVaultProperties.")
	}
	if spec.identityType != "SystemAssigned" {
		return nil, nil, arm.BadRequest("InvalidIdentity", "A cluster needs a system-assigned identity: set identity.type to 'SystemAssigned'.")
	}
	if !spec.hasSKU {
		return nil, nil, arm.BadRequest("InvalidSku", "The sku (name 'CapacityReservation' and capacity) is required.")
	}
	if err := checkCapacity(spec.capacity, sub.MaxClusterCapacity); err != nil {
		return nil, nil, err
	}

	// Soft-deleted clusters reserve their name in the subscription.
	deleted, err := tx.Resources(ctx, meta.ResourceQuery{Type: TypeCluster, SubscriptionID: id.SubscriptionID, Deleted: true})
	if err != nil {
		return nil, nil, err
	}
	var recovered *meta.Resource
	for _, d := range deleted {
		if !strings.EqualFold(d.Name, id.Name()) || p.expired(d.DeletedAt, p.d.ClusterSoftDeleteRetention, now) {
			continue
		}
		if !strings.EqualFold(d.ID, id.String()) || d.Location != spec.location {
			return nil, nil, arm.Conflict("ClusterNameReserved",
				"The cluster name '%s' is reserved by a deleted cluster until %s. Recover it by creating a cluster of that name in subscription '%s', resource group '%s' and region '%s'.",
				id.Name(), rfc3339(d.DeletedAt.Add(p.d.ClusterSoftDeleteRetention)), d.SubscriptionID, d.ResourceGroup, d.Location)
		}
		recovered = d
	}
	live, err := tx.Resources(ctx, meta.ResourceQuery{Type: TypeCluster, SubscriptionID: id.SubscriptionID})
	if err != nil {
		return nil, nil, err
	}
	if len(live) >= p.d.MaxClustersPerSubscription {
		return nil, nil, arm.Conflict("ClusterQuotaExceeded",
			"The subscription '%s' already has %d clusters, the maximum per subscription.", id.SubscriptionID, len(live))
	}

	if recovered != nil {
		doc, err := resources.DecodeDoc[ClusterDoc](recovered)
		if err != nil {
			return nil, nil, err
		}
		if spec.clusterType != "" && spec.clusterType != doc.ClusterType {
			return nil, nil, arm.BadRequest("ClusterTypeCannotBeChanged",
				"The deleted cluster '%s' being recovered has clusterType '%s'; it cannot be changed.", id.Name(), doc.ClusterType)
		}
		doc.Capacity, doc.SKUName, doc.Tags = spec.capacity, spec.skuName, spec.tags
		doc.LastModifiedDate = now
		doc.ProvisionedAt = now.Add(p.d.ProvisioningDelay)
		recovered.DeletedAt = nil
		recovered.Body = resources.EncodeDoc(doc)
		recovered.UpdatedAt = now
		if err := tx.PutResource(ctx, recovered); err != nil {
			return nil, nil, err
		}
		p.d.Log.Info("cluster recovered from soft delete", "cluster", recovered.ID, "clusterId", doc.ClusterID)
		return recovered, doc, nil
	}

	clusterType := spec.clusterType
	if clusterType == "" {
		clusterType = ClusterTypeLogAnalytics
	}
	billing := spec.billingType
	if billing == "" {
		billing = "Cluster"
	}
	doc := &ClusterDoc{
		ClusterID: newGUID(), Location: spec.location, Tags: spec.tags,
		IdentityType: "SystemAssigned", PrincipalID: newGUID(), TenantID: sub.TenantID,
		SKUName: spec.skuName, Capacity: spec.capacity, LastSKUUpdate: now,
		ClusterType: clusterType, BillingType: billing,
		CreatedDate: now, LastModifiedDate: now, ProvisionedAt: now.Add(p.d.ProvisioningDelay),
	}
	if spec.doubleEnc != nil {
		doc.DoubleEncryption = *spec.doubleEnc
	} else {
		doc.DoubleEncryption = true
	}
	if spec.zones != nil {
		doc.AvailabilityZones = *spec.zones
	}
	if err := tx.PutPrincipal(ctx, &meta.Principal{
		ObjectID: doc.PrincipalID, TenantID: sub.TenantID, ClientID: newGUID(), DisplayName: id.Name(),
		Kind: "ManagedIdentity", ResourceID: id.String(), CreatedAt: now,
	}); err != nil {
		return nil, nil, err
	}
	res := &meta.Resource{
		ID: id.String(), Type: TypeCluster, SubscriptionID: id.SubscriptionID, ResourceGroup: id.ResourceGroup,
		Name: id.Name(), Location: doc.Location, Body: resources.EncodeDoc(doc), CreatedAt: now, UpdatedAt: now,
	}
	if err := tx.PutResource(ctx, res); err != nil {
		return nil, nil, err
	}
	p.d.Log.Info("cluster created", "cluster", res.ID, "clusterId", doc.ClusterID, "principalId", doc.PrincipalID)
	return res, doc, nil
}

// replaceCluster applies a full-body PUT to an existing cluster: what the
// body leaves out is removed, notably keyVaultProperties (the seed's
// warning: that revokes the key).
func (p *Provider) replaceCluster(ctx context.Context, tx meta.Tx, r *arm.Request, sub *meta.Subscription, res *meta.Resource, doc *ClusterDoc, spec *clusterSpec) (*KeyEvent, error) {
	if spec.location != doc.Location {
		return nil, arm.BadRequest("LocationCannotBeChanged",
			"The cluster '%s' is in '%s'; its location cannot be changed to '%s'.", res.Name, doc.Location, spec.location)
	}
	if spec.clusterType != "" && spec.clusterType != doc.ClusterType {
		return nil, arm.BadRequest("ClusterTypeCannotBeChanged",
			"The clusterType of cluster '%s' is '%s' and cannot be changed.", res.Name, doc.ClusterType)
	}
	if !spec.hasSKU {
		return nil, arm.BadRequest("InvalidSku", "The sku (name 'CapacityReservation' and capacity) is required in a full cluster update.")
	}
	if spec.identityType == "" {
		return nil, arm.BadRequest("InvalidIdentity",
			"The identity is required in a full cluster update: send the whole cluster (identity, sku, keyVaultProperties, location).")
	}
	upd := *spec
	upd.hasTags = true
	upd.hasKeyVault = true
	return p.applyClusterChange(ctx, tx, r, sub, res, doc, &upd, "cluster PUT")
}

// applyClusterChange applies the fields a spec carries.
func (p *Provider) applyClusterChange(ctx context.Context, tx meta.Tx, r *arm.Request, sub *meta.Subscription, res *meta.Resource, doc *ClusterDoc, spec *clusterSpec, cause string) (*KeyEvent, error) {
	now := p.d.Now()
	prevIdentity := doc.IdentityType
	if spec.hasSKU {
		if err := checkCapacity(spec.capacity, sub.MaxClusterCapacity); err != nil {
			return nil, err
		}
		if spec.capacity != doc.Capacity {
			doc.LastSKUUpdate = now
		}
		doc.Capacity, doc.SKUName = spec.capacity, spec.skuName
	}
	if spec.identityType != "" {
		doc.IdentityType = spec.identityType
	}
	if spec.hasTags {
		doc.Tags = spec.tags
	}
	if spec.billingType != "" {
		doc.BillingType = spec.billingType
	}
	var event *KeyEvent
	if spec.hasKeyVault && !sameKey(doc.KeyVault, spec.keyVault) {
		if spec.keyVault != nil {
			if doc.ProvisioningState(now) != StateSucceeded {
				return nil, arm.Conflict("ClusterNotProvisioned",
					"The cluster '%s' is still provisioning; set keyVaultProperties once its provisioningState is 'Succeeded'.", res.Name)
			}
			if doc.IdentityType != "SystemAssigned" {
				return nil, arm.BadRequest("InvalidIdentity",
					"The cluster '%s' has no managed identity to access the key: set identity.type to 'SystemAssigned'.", res.Name)
			}
			if p.d.ValidateKey != nil && !sameKey(spec.validated, spec.keyVault) {
				return nil, arm.Conflict("ConcurrentUpdate",
					"The cluster '%s' changed while its new key was being validated; retry the request.", res.Name)
			}
		}
		event = &KeyEvent{ClusterID: doc.ClusterID, ResourceID: res.ID, Old: doc.KeyVault, New: spec.keyVault, Cause: cause, At: now}
		switch {
		case spec.keyVault == nil:
			event.Kind, event.Cause = KeyRemoved, cause+" removed keyVaultProperties"
		case doc.KeyVault == nil:
			event.Kind, event.Cause = KeySet, cause+" set keyVaultProperties"
		default:
			event.Kind, event.Cause = KeyChanged, cause+" changed keyVaultProperties"
		}
		doc.KeyVault = spec.keyVault
	}
	if doc.IdentityType == "None" && prevIdentity != "None" && doc.KeyVault != nil && event == nil {
		event = &KeyEvent{ClusterID: doc.ClusterID, ResourceID: res.ID, Kind: IdentityRemoved, Old: doc.KeyVault, New: doc.KeyVault,
			Cause: cause + " removed the cluster identity", At: now}
	}
	doc.LastModifiedDate = now
	res.Body = resources.EncodeDoc(doc)
	res.UpdatedAt = now
	if err := tx.PutResource(ctx, res); err != nil {
		return nil, err
	}
	if event != nil {
		keyID := ""
		if k := event.New; k != nil {
			keyID = kekID(k)
		} else if k := event.Old; k != nil {
			keyID = kekID(k)
		}
		if err := audit.Record(ctx, tx, audit.Event{Time: now, Kind: event.Kind, Resource: res.ID, KeyID: keyID,
			Cause: event.Cause, Detail: "clusterId " + doc.ClusterID}); err != nil {
			return nil, err
		}
	}
	return event, nil
}

func (p *Provider) emit(e *KeyEvent) {
	if e == nil {
		return
	}
	p.d.Log.Info("cluster key configuration changed", "cluster", e.ResourceID, "clusterId", e.ClusterID, "kind", e.Kind, "cause", e.Cause)
	if p.d.OnKeyEvent != nil {
		p.d.OnKeyEvent(*e)
	}
}

func (p *Provider) patchCluster(w http.ResponseWriter, r *arm.Request) error {
	ctx := r.Context()
	id := clusterID(r)
	if err := p.authorize(r, "Microsoft.OperationalInsights/clusters/write", id.String()); err != nil {
		return err
	}
	body, err := r.Body()
	if err != nil {
		return err
	}
	spec, err := parseClusterBody(body, false)
	if err != nil {
		return err
	}
	if err := p.prevalidateKey(ctx, id, spec, true); err != nil {
		return err
	}
	// A PATCH has no location; one read back from a GET may come along, and
	// must then be the cluster's.
	if body.Has("location") {
		if spec.location, err = location(body); err != nil {
			return err
		}
	}
	var (
		doc   *ClusterDoc
		res   *meta.Resource
		event *KeyEvent
	)
	err = p.d.Store.Update(ctx, func(tx meta.Tx) error {
		sub, r2, d2, err := resources.LoadDoc[ClusterDoc](ctx, tx, r.Caller, id, TypeCluster)
		if err != nil {
			return err
		}
		res, doc = r2, d2
		if spec.clusterType != "" && spec.clusterType != doc.ClusterType {
			return arm.BadRequest("ClusterTypeCannotBeChanged",
				"The clusterType of cluster '%s' is '%s' and cannot be changed.", res.Name, doc.ClusterType)
		}
		if spec.location != "" && spec.location != doc.Location {
			return arm.BadRequest("LocationCannotBeChanged",
				"The cluster '%s' is in '%s'; its location cannot be changed to '%s'.", res.Name, doc.Location, spec.location)
		}
		mergePatchKey(spec, doc)
		event, err = p.applyClusterChange(ctx, tx, r, sub, res, doc, spec, "cluster PATCH")
		return err
	})
	if err != nil {
		return err
	}
	p.emit(event)
	arm.WriteJSON(w, http.StatusOK, renderCluster(res, doc, r.APIVersion, p.d.Now()))
	return nil
}

// kekID is the key identifier of key vault properties.
func kekID(k *KeyVaultProperties) string {
	id := strings.TrimSuffix(k.KeyVaultURI, "/") + "/keys/" + k.KeyName
	if k.KeyVersion != "" {
		id += "/" + k.KeyVersion
	}
	return id
}

// mergePatchKey completes a PATCH's keyVaultProperties from the cluster's:
// an omitted keyRsaSize keeps the current one.
func mergePatchKey(spec *clusterSpec, doc *ClusterDoc) {
	if spec.keyVault != nil && doc.KeyVault != nil && spec.keyVault.KeyRsaSize == 0 {
		merged := *spec.keyVault
		merged.KeyRsaSize = doc.KeyVault.KeyRsaSize
		spec.keyVault = &merged
	}
}

// prevalidateKey validates, outside any write transaction, the key a PUT or
// PATCH sets on an existing cluster, as the cluster's own identity. Checks
// that do not need the vault (provisioning state, identity) are left to the
// transaction, which reports them.
func (p *Provider) prevalidateKey(ctx context.Context, id arm.ResourceID, spec *clusterSpec, patch bool) error {
	if p.d.ValidateKey == nil || spec.keyVault == nil {
		return nil
	}
	var doc *ClusterDoc
	err := p.d.Store.View(ctx, func(tx meta.Tx) error {
		res, err := tx.Resource(ctx, id.String())
		if err != nil {
			return err
		}
		doc, err = resources.DecodeDoc[ClusterDoc](res)
		return err
	})
	if errors.Is(err, meta.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	if patch {
		mergePatchKey(spec, doc)
	}
	identityType := doc.IdentityType
	if spec.identityType != "" {
		identityType = spec.identityType
	}
	if sameKey(doc.KeyVault, spec.keyVault) || doc.ProvisioningState(p.d.Now()) != StateSucceeded || identityType != "SystemAssigned" {
		return nil
	}
	if err := p.d.ValidateKey(ctx, doc.TenantID, doc.PrincipalID, *spec.keyVault); err != nil {
		return err
	}
	spec.validated = spec.keyVault
	return nil
}

func (p *Provider) getCluster(w http.ResponseWriter, r *arm.Request) error {
	ctx := r.Context()
	id := clusterID(r)
	if err := p.authorize(r, "Microsoft.OperationalInsights/clusters/read", id.String()); err != nil {
		return err
	}
	var (
		res *meta.Resource
		doc *ClusterDoc
	)
	err := p.d.Store.View(ctx, func(tx meta.Tx) error {
		var err error
		_, res, doc, err = resources.LoadDoc[ClusterDoc](ctx, tx, r.Caller, id, TypeCluster)
		return err
	})
	if err != nil {
		return err
	}
	arm.WriteJSON(w, http.StatusOK, renderCluster(res, doc, r.APIVersion, p.d.Now()))
	return nil
}

func (p *Provider) listClusters(w http.ResponseWriter, r *arm.Request) error {
	now := p.d.Now()
	return listResources(p, w, r, TypeCluster, "Microsoft.OperationalInsights/clusters/read",
		func(res *meta.Resource, doc *ClusterDoc) map[string]any {
			return renderCluster(res, doc, r.APIVersion, now)
		})
}

// deleteCluster soft-deletes a cluster: it answers 404 afterwards, its name
// stays reserved and it can be recovered for the retention period.
func (p *Provider) deleteCluster(w http.ResponseWriter, r *arm.Request) error {
	ctx := r.Context()
	id := clusterID(r)
	if err := p.authorize(r, "Microsoft.OperationalInsights/clusters/delete", id.String()); err != nil {
		return err
	}
	var gone bool
	err := p.d.Store.Update(ctx, func(tx meta.Tx) error {
		if _, err := checkScope(ctx, tx, r.Caller, reqScope(r)); err != nil {
			return err
		}
		res, err := tx.Resource(ctx, id.String())
		if errors.Is(err, meta.ErrNotFound) {
			gone = true
			return nil
		} else if err != nil {
			return err
		}
		doc, err := resources.DecodeDoc[ClusterDoc](res)
		if err != nil {
			return err
		}
		if len(doc.Associated) > 0 {
			names := make([]string, len(doc.Associated))
			for i, a := range doc.Associated {
				names[i] = a.WorkspaceName
			}
			return arm.Conflict("ClusterHasLinkedWorkspaces",
				"The cluster '%s' cannot be deleted while workspaces are linked to it (%s). Delete their linked services first.",
				id.Name(), strings.Join(names, ", "))
		}
		now := p.d.Now()
		res.DeletedAt = &now
		res.UpdatedAt = now
		return tx.PutResource(ctx, res)
	})
	if err != nil {
		return err
	}
	if gone {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	p.d.Log.Info("cluster soft-deleted", "cluster", id.String(), "retention", p.d.ClusterSoftDeleteRetention.String())
	w.WriteHeader(http.StatusOK)
	return nil
}

func (p *Provider) expired(deletedAt *time.Time, retention time.Duration, now time.Time) bool {
	return deletedAt != nil && !now.Before(deletedAt.Add(retention))
}

// PurgeExpired removes soft-deleted clusters and workspaces whose retention
// has passed, with their identities and secrets, and returns how many it
// purged. onPurge, if set, is told about each purged resource so storage can
// destroy its keys and data.
func (p *Provider) PurgeExpired(ctx context.Context, onPurge func(res *meta.Resource)) (int, error) {
	now := p.d.Now()
	var purged []*meta.Resource
	err := p.d.Store.Update(ctx, func(tx meta.Tx) error {
		for _, t := range []struct {
			typ       string
			retention time.Duration
		}{{TypeCluster, p.d.ClusterSoftDeleteRetention}, {TypeWorkspace, p.d.WorkspaceSoftDeleteRetention}} {
			list, err := tx.Resources(ctx, meta.ResourceQuery{Type: t.typ, Deleted: true})
			if err != nil {
				return err
			}
			for _, res := range list {
				if !p.expired(res.DeletedAt, t.retention, now) {
					continue
				}
				if err := p.purge(ctx, tx, res); err != nil {
					return err
				}
				purged = append(purged, res)
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, res := range purged {
		p.d.Log.Info("soft-deleted resource purged", "resource", res.ID)
		if p.d.OnPurge != nil {
			p.d.OnPurge(res)
		}
		if onPurge != nil {
			onPurge(res)
		}
	}
	return len(purged), nil
}

func (p *Provider) purge(ctx context.Context, tx meta.Tx, res *meta.Resource) error {
	switch {
	case strings.EqualFold(res.Type, TypeCluster):
		doc, err := resources.DecodeDoc[ClusterDoc](res)
		if err != nil {
			return err
		}
		if err := tx.DeletePrincipal(ctx, doc.PrincipalID); err != nil {
			return err
		}
	case strings.EqualFold(res.Type, TypeWorkspace):
		doc, err := resources.DecodeDoc[WorkspaceDoc](res)
		if err != nil {
			return err
		}
		if err := tx.DeleteSecrets(ctx, workspaceSecretOwner(doc.CustomerID)); err != nil {
			return err
		}
		if err := tx.DeleteDoc(ctx, workspaceIndexKind, strings.ToLower(doc.CustomerID)); err != nil {
			return err
		}
	}
	return tx.DeleteResource(ctx, res.ID)
}

// renderCluster returns the cluster in the shape of api-version v.
func renderCluster(res *meta.Resource, doc *ClusterDoc, v string, now time.Time) map[string]any {
	identity := map[string]any{"type": doc.IdentityType}
	if doc.IdentityType == "SystemAssigned" {
		identity["principalId"] = doc.PrincipalID
		identity["tenantId"] = doc.TenantID
	}
	props := map[string]any{
		"provisioningState": doc.ProvisioningState(now),
		"clusterType":       doc.ClusterType,
		"clusterId":         doc.ClusterID,
	}
	sku := map[string]any{"name": doc.SKUName, "capacity": doc.Capacity}
	if doc.KeyVault != nil {
		kv := map[string]any{
			"keyVaultUri": doc.KeyVault.KeyVaultURI,
			"keyName":     doc.KeyVault.KeyName,
			"keyVersion":  doc.KeyVault.KeyVersion,
		}
		if doc.KeyVault.KeyRsaSize != 0 {
			kv["keyRsaSize"] = doc.KeyVault.KeyRsaSize
		}
		props["keyVaultProperties"] = kv
	}
	if isEarlyClusterAPI(v) {
		sku["lastSkuUpdate"] = rfc1123(doc.LastSKUUpdate)
	} else {
		sku["name"] = skuCapacityReserved
		props["billingType"] = doc.BillingType
		props["isDoubleEncryptionEnabled"] = doc.DoubleEncryption
		props["isAvailabilityZonesEnabled"] = doc.AvailabilityZones
		props["createdDate"] = rfc3339(doc.CreatedDate)
		props["lastModifiedDate"] = rfc3339(doc.LastModifiedDate)
		props["capacityReservationProperties"] = map[string]any{
			"lastSkuUpdate": rfc3339(doc.LastSKUUpdate),
			"minCapacity":   MinCapacity,
		}
		assoc := make([]any, 0, len(doc.Associated))
		for _, a := range doc.Associated {
			assoc = append(assoc, map[string]any{
				"workspaceId": a.WorkspaceID, "workspaceName": a.WorkspaceName,
				"resourceId": a.ResourceID, "associateDate": rfc3339(a.AssociateDate),
			})
		}
		props["associatedWorkspaces"] = assoc
	}
	out := map[string]any{
		"identity":   identity,
		"sku":        sku,
		"properties": props,
		"id":         res.ID,
		"name":       res.Name,
		"type":       TypeCluster,
		"location":   doc.Location,
	}
	if len(doc.Tags) > 0 {
		out["tags"] = doc.Tags
	}
	return out
}

// ClusterByClusterID finds a live cluster by its clusterId (GUID).
func ClusterByClusterID(ctx context.Context, tx meta.Tx, clusterID string) (*meta.Resource, *ClusterDoc, error) {
	list, err := tx.Resources(ctx, meta.ResourceQuery{Type: TypeCluster})
	if err != nil {
		return nil, nil, err
	}
	for _, res := range list {
		doc, err := resources.DecodeDoc[ClusterDoc](res)
		if err != nil {
			return nil, nil, err
		}
		if strings.EqualFold(doc.ClusterID, clusterID) {
			return res, doc, nil
		}
	}
	return nil, nil, fmt.Errorf("cluster with clusterId %s: %w", clusterID, meta.ErrNotFound)
}
