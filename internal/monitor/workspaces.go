package monitor

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/kustodian/kustodian/internal/arm"
	"github.com/kustodian/kustodian/internal/meta"
	"github.com/kustodian/kustodian/internal/resources"
)

// Workspace SKUs.
var workspaceSKUs = []string{"Free", "Standard", "Premium", "PerNode", "PerGB2018", "Standalone", "CapacityReservation", "LACluster"}

// WorkspaceDoc is a workspace's stored state.
type WorkspaceDoc struct {
	CustomerID        string            `json:"customerId"`
	Location          string            `json:"location"`
	Tags              map[string]string `json:"tags,omitempty"`
	SKU               string            `json:"sku"`
	SKUBeforeLink     string            `json:"skuBeforeLink,omitempty"`
	CapacityLevel     int64             `json:"capacityReservationLevel,omitempty"`
	LastSKUUpdate     time.Time         `json:"lastSkuUpdate"`
	RetentionInDays   int64             `json:"retentionInDays"`
	DailyQuotaGB      float64           `json:"dailyQuotaGb"`
	ResourcePermOnly  bool              `json:"enableLogAccessUsingOnlyResourcePermissions"`
	ClusterResourceID string            `json:"clusterResourceId,omitempty"`
	LinkedAt          time.Time         `json:"linkedAt,omitzero"`
	CreatedDate       time.Time         `json:"createdDate"`
	ModifiedDate      time.Time         `json:"modifiedDate"`
}

func workspaceID(r *arm.Request) arm.ResourceID {
	s := reqScope(r)
	return arm.GroupID(s.sub, s.group).Child(NamespaceOperationalInsights, "workspaces", r.Params["workspaceName"])
}

// workspaceIndexKind indexes workspaces by customer id (the id ingestion
// and queries name them by): document key = lower-case customer id, body =
// the workspace's resource id.
const workspaceIndexKind = "monitor.workspace-by-customer-id"

// WorkspaceByCustomerID returns the live workspace with a customer id, or
// an error wrapping meta.ErrNotFound.
func WorkspaceByCustomerID(ctx context.Context, tx meta.Tx, customerID string) (*meta.Resource, *WorkspaceDoc, error) {
	id, err := tx.Doc(ctx, workspaceIndexKind, strings.ToLower(customerID))
	if err != nil {
		return nil, nil, err
	}
	res, err := tx.Resource(ctx, string(id))
	if err != nil {
		return nil, nil, err
	}
	doc, err := resources.DecodeDoc[WorkspaceDoc](res)
	return res, doc, err
}

func workspaceSecretOwner(customerID string) string {
	return "workspace/" + strings.ToLower(customerID)
}

func sharedKeyAAD(customerID, which string) []byte {
	return []byte("workspace/" + strings.ToLower(customerID) + "/sharedKey/" + which)
}

type workspaceSpec struct {
	location      string
	tags          map[string]string
	hasTags       bool
	sku           string
	capacityLevel int64
	retention     int64
	hasRetention  bool
	dailyQuota    *float64
	resPermOnly   *bool
}

func parseWorkspaceBody(body arm.Object, full bool) (*workspaceSpec, error) {
	spec := &workspaceSpec{}
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
	props, _, err := body.Object("properties")
	if err != nil {
		return nil, badContent(err)
	}
	if props == nil {
		props = arm.Object{}
	}
	if sku, ok, err := props.Object("sku"); err != nil {
		return nil, badContent(err)
	} else if ok {
		name, _, err := sku.String("name")
		if err != nil {
			return nil, badContent(err)
		}
		for _, s := range workspaceSKUs {
			if strings.EqualFold(s, name) {
				spec.sku = s
			}
		}
		if spec.sku == "" {
			return nil, arm.BadRequest("InvalidParameter", "The workspace sku '%s' is invalid: use one of %s.",
				name, strings.Join(workspaceSKUs[:7], ", "))
		}
		if spec.capacityLevel, _, err = sku.Int("capacityReservationLevel"); err != nil {
			return nil, badContent(err)
		}
		if spec.sku == "CapacityReservation" {
			switch spec.capacityLevel {
			case 100, 200, 300, 400, 500, 1000, 2000, 5000, 10000, 25000, 50000:
			default:
				return nil, arm.BadRequest("InvalidParameter",
					"The capacityReservationLevel %d is invalid for the CapacityReservation sku.", spec.capacityLevel)
			}
		}
	}
	if v, ok, err := props.Int("retentionInDays"); err != nil {
		return nil, badContent(err)
	} else if ok {
		spec.retention, spec.hasRetention = v, true
	}
	if capping, ok, err := props.Object("workspaceCapping"); err != nil {
		return nil, badContent(err)
	} else if ok {
		if q, ok, err := capping.Float("dailyQuotaGb"); err != nil {
			return nil, badContent(err)
		} else if ok {
			if q != -1 && q < 0.023 {
				return nil, arm.BadRequest("InvalidParameter", "dailyQuotaGb %v is invalid: use -1 (no cap) or at least 0.023.", q)
			}
			spec.dailyQuota = &q
		}
	}
	if f, ok, err := props.Object("features"); err != nil {
		return nil, badContent(err)
	} else if ok {
		if v, ok, err := f.Bool("enableLogAccessUsingOnlyResourcePermissions"); err != nil {
			return nil, badContent(err)
		} else if ok {
			spec.resPermOnly = &v
		}
	}
	return spec, nil
}

func checkRetention(sku string, days int64) error {
	if sku == "Free" {
		if days != 7 {
			return arm.BadRequest("InvalidParameter", "The Free sku keeps data 7 days; retentionInDays %d is invalid.", days)
		}
		return nil
	}
	if days < 30 || days > 730 {
		return arm.BadRequest("InvalidParameter", "retentionInDays %d is invalid: it must be between 30 and 730.", days)
	}
	return nil
}

func (p *Provider) putWorkspace(w http.ResponseWriter, r *arm.Request) error {
	return p.writeWorkspace(w, r, true)
}

func (p *Provider) patchWorkspace(w http.ResponseWriter, r *arm.Request) error {
	return p.writeWorkspace(w, r, false)
}

func (p *Provider) writeWorkspace(w http.ResponseWriter, r *arm.Request, full bool) error {
	ctx := r.Context()
	id := workspaceID(r)
	if err := p.authorize(r, "Microsoft.OperationalInsights/workspaces/write", id.String()); err != nil {
		return err
	}
	if err := checkName(id, "InvalidWorkspaceName", "workspace"); err != nil {
		return err
	}
	body, err := r.Body()
	if err != nil {
		return err
	}
	spec, err := parseWorkspaceBody(body, full)
	if err != nil {
		return err
	}
	now := p.d.Now()
	var (
		res     *meta.Resource
		doc     *WorkspaceDoc
		created bool
	)
	err = p.d.Store.Update(ctx, func(tx meta.Tx) error {
		if _, err := checkScope(ctx, tx, r.Caller, reqScope(r)); err != nil {
			return err
		}
		var err error
		res, err = tx.Resource(ctx, id.String())
		if errors.Is(err, meta.ErrNotFound) {
			if !full {
				return arm.NotFound(TypeWorkspace, id.Name())
			}
			created = true
			res, doc, err = p.createWorkspace(ctx, tx, id, spec, now)
			return err
		} else if err != nil {
			return err
		}
		if doc, err = resources.DecodeDoc[WorkspaceDoc](res); err != nil {
			return err
		}
		if full && spec.location != doc.Location {
			return arm.BadRequest("LocationCannotBeChanged",
				"The workspace '%s' is in '%s'; its location cannot be changed to '%s'.", id.Name(), doc.Location, spec.location)
		}
		if err := applyWorkspaceSpec(doc, spec, now); err != nil {
			return err
		}
		doc.ModifiedDate = now
		res.Body, res.UpdatedAt = resources.EncodeDoc(doc), now
		return tx.PutResource(ctx, res)
	})
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	arm.WriteJSON(w, status, renderWorkspace(res, doc, r.APIVersion))
	return nil
}

func applyWorkspaceSpec(doc *WorkspaceDoc, spec *workspaceSpec, now time.Time) error {
	switch {
	case spec.sku == "LACluster" && doc.ClusterResourceID == "":
		return arm.BadRequest("InvalidParameter", "The workspace sku 'LACluster' is set by linking the workspace to a "+
			"cluster, not by a request: use one of %s.", strings.Join(workspaceSKUs[:7], ", "))
	case spec.sku == "LACluster":
		// A linked workspace reads back LACluster: the sku it has, which a
		// read-modify-write sends back unchanged.
	case spec.sku != "":
		if doc.ClusterResourceID != "" {
			// A linked workspace is billed through its cluster; remember the
			// requested sku for when it is unlinked.
			doc.SKUBeforeLink = spec.sku
		} else if spec.sku != doc.SKU || spec.capacityLevel != doc.CapacityLevel {
			doc.SKU, doc.CapacityLevel, doc.LastSKUUpdate = spec.sku, spec.capacityLevel, now
		}
	}
	if spec.hasRetention {
		doc.RetentionInDays = spec.retention
	}
	if doc.SKU == "Free" && !spec.hasRetention {
		doc.RetentionInDays = 7
	}
	if err := checkRetention(doc.SKU, doc.RetentionInDays); err != nil {
		return err
	}
	if spec.dailyQuota != nil {
		doc.DailyQuotaGB = *spec.dailyQuota
	}
	if spec.resPermOnly != nil {
		doc.ResourcePermOnly = *spec.resPermOnly
	}
	if spec.hasTags {
		doc.Tags = spec.tags
	}
	return nil
}

// createWorkspace creates a workspace, or recovers a soft-deleted one of the
// same id and region (keeping its customerId, keys and data).
func (p *Provider) createWorkspace(ctx context.Context, tx meta.Tx, id arm.ResourceID, spec *workspaceSpec, now time.Time) (*meta.Resource, *WorkspaceDoc, error) {
	if res, err := tx.DeletedResource(ctx, id.String()); err == nil && !p.expired(res.DeletedAt, p.d.WorkspaceSoftDeleteRetention, now) {
		doc, err := resources.DecodeDoc[WorkspaceDoc](res)
		if err != nil {
			return nil, nil, err
		}
		if doc.Location != spec.location {
			return nil, nil, arm.Conflict("WorkspaceNameReserved",
				"The workspace '%s' was deleted in '%s' and can be recovered there until %s; it cannot be created in '%s'.",
				id.Name(), doc.Location, rfc3339(res.DeletedAt.Add(p.d.WorkspaceSoftDeleteRetention)), spec.location)
		}
		if err := applyWorkspaceSpec(doc, spec, now); err != nil {
			return nil, nil, err
		}
		doc.ModifiedDate = now
		res.DeletedAt, res.Body, res.UpdatedAt = nil, resources.EncodeDoc(doc), now
		if err := tx.PutResource(ctx, res); err != nil {
			return nil, nil, err
		}
		p.d.Log.Info("workspace recovered from soft delete", "workspace", res.ID, "customerId", doc.CustomerID)
		return res, doc, nil
	} else if err != nil && !errors.Is(err, meta.ErrNotFound) {
		return nil, nil, err
	}
	doc := &WorkspaceDoc{
		CustomerID: newGUID(), Location: spec.location, SKU: "PerGB2018", LastSKUUpdate: now,
		RetentionInDays: 30, DailyQuotaGB: -1, ResourcePermOnly: true, CreatedDate: now, ModifiedDate: now,
	}
	if err := applyWorkspaceSpec(doc, spec, now); err != nil {
		return nil, nil, err
	}
	for _, which := range []string{"primary", "secondary"} {
		if err := p.storeSharedKey(ctx, tx, doc.CustomerID, which); err != nil {
			return nil, nil, err
		}
	}
	res := &meta.Resource{
		ID: id.String(), Type: TypeWorkspace, SubscriptionID: id.SubscriptionID, ResourceGroup: id.ResourceGroup,
		Name: id.Name(), Location: doc.Location, Body: resources.EncodeDoc(doc), CreatedAt: now, UpdatedAt: now,
	}
	if err := tx.PutResource(ctx, res); err != nil {
		return nil, nil, err
	}
	if err := tx.PutDoc(ctx, workspaceIndexKind, strings.ToLower(doc.CustomerID), []byte(res.ID)); err != nil {
		return nil, nil, err
	}
	p.d.Log.Info("workspace created", "workspace", res.ID, "customerId", doc.CustomerID)
	return res, doc, nil
}

func (p *Provider) storeSharedKey(ctx context.Context, tx meta.Tx, customerID, which string) error {
	key, err := randomKey()
	if err != nil {
		return err
	}
	sealed, err := p.d.Sealer.Seal([]byte(key), sharedKeyAAD(customerID, which))
	if err != nil {
		return err
	}
	return tx.PutSecret(ctx, workspaceSecretOwner(customerID), which, sealed)
}

// SharedKeys returns a workspace's primary and secondary shared keys, by its
// customerId; ingestion uses them to check SharedKey signatures.
func SharedKeys(ctx context.Context, tx meta.Tx, sealer Sealer, customerID string) (primary, secondary string, err error) {
	keys := make([]string, 2)
	for i, which := range []string{"primary", "secondary"} {
		sealed, err := tx.Secret(ctx, workspaceSecretOwner(customerID), which)
		if err != nil {
			return "", "", err
		}
		plain, err := sealer.Open(sealed, sharedKeyAAD(customerID, which))
		if err != nil {
			return "", "", err
		}
		keys[i] = string(plain)
	}
	return keys[0], keys[1], nil
}

func (p *Provider) loadWorkspace(ctx context.Context, tx meta.Tx, r *arm.Request) (*meta.Resource, *WorkspaceDoc, error) {
	_, res, doc, err := resources.LoadDoc[WorkspaceDoc](ctx, tx, r.Caller, workspaceID(r), TypeWorkspace)
	return res, doc, err
}

func (p *Provider) getWorkspace(w http.ResponseWriter, r *arm.Request) error {
	ctx := r.Context()
	if err := p.authorize(r, "Microsoft.OperationalInsights/workspaces/read", workspaceID(r).String()); err != nil {
		return err
	}
	var (
		res *meta.Resource
		doc *WorkspaceDoc
	)
	err := p.d.Store.View(ctx, func(tx meta.Tx) error {
		var err error
		res, doc, err = p.loadWorkspace(ctx, tx, r)
		return err
	})
	if err != nil {
		return err
	}
	arm.WriteJSON(w, http.StatusOK, renderWorkspace(res, doc, r.APIVersion))
	return nil
}

func (p *Provider) listWorkspaces(w http.ResponseWriter, r *arm.Request) error {
	return listResources(p, w, r, TypeWorkspace, "Microsoft.OperationalInsights/workspaces/read",
		func(res *meta.Resource, doc *WorkspaceDoc) map[string]any {
			return renderWorkspace(res, doc, r.APIVersion)
		})
}

// deleteWorkspace soft-deletes a workspace (recoverable by a PUT of the same
// id and region during the retention), or purges it at once with
// force=true. A linked workspace is unlinked first.
func (p *Provider) deleteWorkspace(w http.ResponseWriter, r *arm.Request) error {
	ctx := r.Context()
	id := workspaceID(r)
	if err := p.authorize(r, "Microsoft.OperationalInsights/workspaces/delete", id.String()); err != nil {
		return err
	}
	force := strings.EqualFold(r.HTTP.URL.Query().Get("force"), "true")
	var (
		gone   bool
		purged *meta.Resource
	)
	err := p.d.Store.Update(ctx, func(tx meta.Tx) error {
		res, doc, err := p.loadWorkspace(ctx, tx, r)
		if e, ok := arm.AsError(err); ok && e.Status == http.StatusNotFound && e.Code == "ResourceNotFound" {
			gone = true
			if force {
				if res, err := tx.DeletedResource(ctx, id.String()); err == nil {
					gone, purged = false, res
					return p.purge(ctx, tx, res)
				}
			}
			return nil
		} else if err != nil {
			return err
		}
		if doc.ClusterResourceID != "" {
			if err := p.unlink(ctx, tx, res, doc); err != nil {
				return err
			}
			if err := tx.DeleteResource(ctx, id.String()+"/linkedServices/cluster"); err != nil {
				return err
			}
		}
		if force {
			purged = res
			return p.purge(ctx, tx, res)
		}
		now := p.d.Now()
		res.DeletedAt, res.Body, res.UpdatedAt = &now, resources.EncodeDoc(doc), now
		return tx.PutResource(ctx, res)
	})
	if err != nil {
		return err
	}
	if purged != nil && p.d.OnPurge != nil {
		p.d.OnPurge(purged)
	}
	w.WriteHeader(arm.DeleteStatus(gone))
	return nil
}

func (p *Provider) getSharedKeys(w http.ResponseWriter, r *arm.Request) error {
	ctx := r.Context()
	if err := p.authorize(r, "Microsoft.OperationalInsights/workspaces/sharedKeys/action", workspaceID(r).String()); err != nil {
		return err
	}
	var primary, secondary string
	err := p.d.Store.View(ctx, func(tx meta.Tx) error {
		_, doc, err := p.loadWorkspace(ctx, tx, r)
		if err != nil {
			return err
		}
		primary, secondary, err = SharedKeys(ctx, tx, p.d.Sealer, doc.CustomerID)
		return err
	})
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	arm.WriteJSON(w, http.StatusOK, map[string]string{"primarySharedKey": primary, "secondarySharedKey": secondary})
	return nil
}

// regenerateSharedKeys replaces the workspace's keys: both, or the one named
// by an optional body {"keyType":"Primary"|"Secondary"}.
func (p *Provider) regenerateSharedKeys(w http.ResponseWriter, r *arm.Request) error {
	ctx := r.Context()
	if err := p.authorize(r, "Microsoft.OperationalInsights/workspaces/regenerateSharedKey/action", workspaceID(r).String()); err != nil {
		return err
	}
	which := []string{"primary", "secondary"}
	if r.HTTP.ContentLength > 0 {
		body, err := r.Body()
		if err != nil {
			return err
		}
		kt, ok, err := body.String("keyType")
		if err != nil {
			return badContent(err)
		}
		if ok {
			switch strings.ToLower(kt) {
			case "primary", "secondary":
				which = []string{strings.ToLower(kt)}
			default:
				return arm.BadRequest("InvalidParameter", "keyType '%s' is invalid: use 'Primary' or 'Secondary'.", kt)
			}
		}
	}
	var primary, secondary string
	err := p.d.Store.Update(ctx, func(tx meta.Tx) error {
		_, doc, err := p.loadWorkspace(ctx, tx, r)
		if err != nil {
			return err
		}
		for _, k := range which {
			if err := p.storeSharedKey(ctx, tx, doc.CustomerID, k); err != nil {
				return err
			}
		}
		primary, secondary, err = SharedKeys(ctx, tx, p.d.Sealer, doc.CustomerID)
		return err
	})
	if err != nil {
		return err
	}
	p.d.Log.Info("workspace shared keys regenerated", "workspace", workspaceID(r).String(), "keys", strings.Join(which, ","))
	w.Header().Set("Cache-Control", "no-store")
	arm.WriteJSON(w, http.StatusOK, map[string]string{"primarySharedKey": primary, "secondarySharedKey": secondary})
	return nil
}

func renderWorkspace(res *meta.Resource, doc *WorkspaceDoc, v string) map[string]any {
	sku := map[string]any{"name": doc.SKU}
	if doc.CapacityLevel != 0 {
		sku["capacityReservationLevel"] = doc.CapacityLevel
	}
	capping := map[string]any{"dailyQuotaGb": doc.DailyQuotaGB, "dataIngestionStatus": "RespectQuota"}
	features := map[string]any{"enableLogAccessUsingOnlyResourcePermissions": doc.ResourcePermOnly}
	if doc.ClusterResourceID != "" {
		features["clusterResourceId"] = doc.ClusterResourceID
	}
	props := map[string]any{
		"customerId":        doc.CustomerID,
		"provisioningState": StateSucceeded,
		"sku":               sku,
		"retentionInDays":   doc.RetentionInDays,
		"workspaceCapping":  capping,
		"features":          features,
	}
	if v == "2015-11-01-preview" || v == "2015-03-20" || v == "2017-03-15-preview" {
		features["legacy"] = 0
		features["searchVersion"] = 1
		sku["lastSkuUpdate"] = rfc1123(doc.LastSKUUpdate)
		capping["quotaNextResetTime"] = rfc1123(nextMidnight(doc.ModifiedDate))
		props["source"] = "Azure"
	} else {
		sku["lastSkuUpdate"] = rfc3339(doc.LastSKUUpdate)
		capping["quotaNextResetTime"] = rfc3339(nextMidnight(doc.ModifiedDate))
		props["createdDate"] = rfc3339(doc.CreatedDate)
		props["modifiedDate"] = rfc3339(doc.ModifiedDate)
		props["publicNetworkAccessForIngestion"] = "Enabled"
		props["publicNetworkAccessForQuery"] = "Enabled"
	}
	out := map[string]any{
		"properties": props,
		"id":         res.ID,
		"name":       res.Name,
		"type":       TypeWorkspace,
		"location":   doc.Location,
	}
	if len(doc.Tags) > 0 {
		out["tags"] = doc.Tags
	}
	return out
}

func nextMidnight(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, time.UTC)
}
