package monitor

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/kustodian/kustodian/internal/arm"
	"github.com/kustodian/kustodian/internal/meta"
	"github.com/kustodian/kustodian/internal/resources"
)

// ComponentDoc is an Application Insights component's stored state.
type ComponentDoc struct {
	Location            string            `json:"location"`
	Kind                string            `json:"kind"`
	Tags                map[string]string `json:"tags,omitempty"`
	AppID               string            `json:"appId"`
	InstrumentationKey  string            `json:"instrumentationKey"`
	ApplicationType     string            `json:"applicationType"`
	FlowType            string            `json:"flowType"`
	RequestSource       string            `json:"requestSource"`
	ClusterDefinitionID string            `json:"clusterDefinitionId,omitempty"`
	WorkspaceResourceID string            `json:"workspaceResourceId,omitempty"`
	RetentionInDays     int64             `json:"retentionInDays"`
	SamplingPercentage  *float64          `json:"samplingPercentage,omitempty"`
	DisableIPMasking    bool              `json:"disableIpMasking"`
	ImmediatePurge30    bool              `json:"immediatePurgeDataOn30Days"`
	DisableLocalAuth    bool              `json:"disableLocalAuth,omitempty"`
	CreationDate        time.Time         `json:"creationDate"`
}

func componentID(r *arm.Request) arm.ResourceID {
	s := reqScope(r)
	return arm.GroupID(s.sub, s.group).Child(NamespaceInsights, "components", r.Params["resourceName"])
}

// putComponent creates or updates a component. Associating it with a
// cluster (properties.clusterDefinitionId = the cluster's clusterId) needs
// write on the cluster too, an ApplicationInsights cluster that finished
// provisioning, in the component's region.
func (p *Provider) putComponent(w http.ResponseWriter, r *arm.Request) error {
	ctx := r.Context()
	id := componentID(r)
	if err := p.authorize(r, "Microsoft.Insights/components/write", id.String()); err != nil {
		return err
	}
	name := id.Name()
	if len(name) < 1 || len(name) > 260 || strings.ContainsAny(name, `%&\?/<>*:#`) {
		return arm.BadRequest("InvalidResourceName", "The component name '%s' is invalid.", arm.Clip(name))
	}
	body, err := r.Body()
	if err != nil {
		return err
	}
	loc, err := location(body)
	if err != nil {
		return err
	}
	kind, _, err := body.String("kind")
	if err != nil {
		return badContent(err)
	}
	if kind == "" {
		return arm.BadRequest("InvalidRequestContent", "The component 'kind' is required (for example 'web').")
	}
	tg, err := tags(body)
	if err != nil {
		return err
	}
	props, _, err := body.Object("properties")
	if err != nil {
		return badContent(err)
	}
	if props == nil {
		props = arm.Object{}
	}
	str := func(name string) (string, error) {
		v, _, err := props.String(name)
		if err != nil {
			return "", badContent(err)
		}
		return v, nil
	}
	appType, err := str("Application_Type")
	if err != nil {
		return err
	}
	if appType == "" {
		appType = kind
	}
	clusterDef, err := str("clusterDefinitionId")
	if err != nil {
		return err
	}
	wsRID, err := str("WorkspaceResourceId")
	if err != nil {
		return err
	}
	flow, err := str("Flow_Type")
	if err != nil {
		return err
	}
	source, err := str("Request_Source")
	if err != nil {
		return err
	}
	retention, hasRetention, err := props.Int("RetentionInDays")
	if err != nil {
		return badContent(err)
	}
	if hasRetention {
		switch retention {
		case 30, 60, 90, 120, 180, 270, 365, 550, 730:
		default:
			return arm.BadRequest("InvalidParameter", "RetentionInDays %d is invalid: use 30, 60, 90, 120, 180, 270, 365, 550 or 730.", retention)
		}
	}
	sampling, hasSampling, err := props.Float("SamplingPercentage")
	if err != nil {
		return badContent(err)
	}
	if hasSampling && (sampling <= 0 || sampling > 100) {
		return arm.BadRequest("InvalidParameter", "SamplingPercentage %v is invalid: it must be above 0 and at most 100.", sampling)
	}
	disableMask, _, err := props.Bool("DisableIpMasking")
	if err != nil {
		return badContent(err)
	}
	purge30, _, err := props.Bool("ImmediatePurgeDataOn30Days")
	if err != nil {
		return badContent(err)
	}
	noLocalAuth, _, err := props.Bool("DisableLocalAuth")
	if err != nil {
		return badContent(err)
	}

	// Associating with a cluster needs write on the cluster too. Authorize
	// reads the store, so it runs outside the write transaction.
	if clusterDef != "" {
		var clusterRes string
		err := p.d.Store.View(ctx, func(tx meta.Tx) error {
			cres, _, err := ClusterByClusterID(ctx, tx, clusterDef)
			if err == nil {
				clusterRes = cres.ID
			} else if errors.Is(err, meta.ErrNotFound) {
				err = nil
			}
			return err
		})
		if err != nil {
			return err
		}
		if clusterRes != "" {
			if err := p.authorize(r, "Microsoft.OperationalInsights/clusters/write", clusterRes); err != nil {
				return err
			}
		}
	}
	now := p.d.Now()
	var (
		res *meta.Resource
		doc *ComponentDoc
	)
	err = p.d.Store.Update(ctx, func(tx meta.Tx) error {
		sub, err := checkScope(ctx, tx, r.Caller, reqScope(r))
		if err != nil {
			return err
		}
		res, err = tx.Resource(ctx, id.String())
		switch {
		case errors.Is(err, meta.ErrNotFound):
			res = &meta.Resource{ID: id.String(), Type: TypeComponent, SubscriptionID: id.SubscriptionID,
				ResourceGroup: id.ResourceGroup, Name: id.Name(), Location: loc, CreatedAt: now}
			doc = &ComponentDoc{
				Location: loc, AppID: newGUID(), InstrumentationKey: newGUID(), CreationDate: now,
				RetentionInDays: 90, FlowType: "Bluefield", RequestSource: "rest",
			}
		case err != nil:
			return err
		default:
			if doc, err = resources.DecodeDoc[ComponentDoc](res); err != nil {
				return err
			}
			if doc.Location != loc {
				return arm.BadRequest("LocationCannotBeChanged",
					"The component '%s' is in '%s'; its location cannot be changed to '%s'.", id.Name(), doc.Location, loc)
			}
		}
		if clusterDef != "" && !strings.EqualFold(clusterDef, doc.ClusterDefinitionID) {
			cres, cluster, err := ClusterByClusterID(ctx, tx, clusterDef)
			if errors.Is(err, meta.ErrNotFound) {
				return arm.BadRequest("InvalidClusterDefinitionId",
					"No cluster has clusterId '%s': clusterDefinitionId must be the clusterId of an ApplicationInsights cluster.", clusterDef)
			} else if err != nil {
				return err
			}
			switch {
			case cluster.ClusterType != ClusterTypeApplicationInsights:
				return arm.BadRequest("InvalidClusterType",
					"The cluster '%s' has clusterType '%s'; components can only be associated with ApplicationInsights clusters.", cres.Name, cluster.ClusterType)
			case cluster.ProvisioningState(now) != StateSucceeded:
				return arm.Conflict("ClusterNotProvisioned",
					"The cluster '%s' is still provisioning; associate components once its provisioningState is 'Succeeded', so that no data is lost.", cres.Name)
			case cluster.Location != loc:
				return arm.BadRequest("LocationMismatch",
					"The component is in '%s' and the cluster '%s' in '%s': they must be in the same region.", loc, cres.Name, cluster.Location)
			case !strings.EqualFold(cluster.TenantID, sub.TenantID):
				return arm.BadRequest("TenantMismatch", "The component and the cluster '%s' must be in the same tenant.", cres.Name)
			}
			doc.ClusterDefinitionID = cluster.ClusterID
		} else if clusterDef == "" && doc.ClusterDefinitionID != "" {
			return arm.BadRequest("ClusterAssociationCannotBeRemoved",
				"The component '%s' is associated with cluster '%s': its data is encrypted with that cluster's key and it cannot be de-associated.",
				id.Name(), doc.ClusterDefinitionID)
		}
		doc.Kind, doc.Tags, doc.ApplicationType = kind, tg, appType
		if flow != "" {
			doc.FlowType = flow
		}
		if source != "" {
			doc.RequestSource = source
		}
		if hasRetention {
			doc.RetentionInDays = retention
		}
		if hasSampling {
			doc.SamplingPercentage = &sampling
		}
		doc.WorkspaceResourceID = wsRID
		doc.DisableIPMasking, doc.ImmediatePurge30, doc.DisableLocalAuth = disableMask, purge30, noLocalAuth
		res.Body, res.UpdatedAt = resources.EncodeDoc(doc), now
		return tx.PutResource(ctx, res)
	})
	if err != nil {
		return err
	}
	arm.WriteJSON(w, http.StatusOK, p.renderComponent(r, res, doc))
	return nil
}

func (p *Provider) loadComponent(r *arm.Request, tx meta.Tx) (*meta.Resource, *ComponentDoc, error) {
	_, res, doc, err := resources.LoadDoc[ComponentDoc](r.Context(), tx, r.Caller, componentID(r), TypeComponent)
	return res, doc, err
}

func (p *Provider) getComponent(w http.ResponseWriter, r *arm.Request) error {
	if err := p.authorize(r, "Microsoft.Insights/components/read", componentID(r).String()); err != nil {
		return err
	}
	var (
		res *meta.Resource
		doc *ComponentDoc
	)
	err := p.d.Store.View(r.Context(), func(tx meta.Tx) error {
		var err error
		res, doc, err = p.loadComponent(r, tx)
		return err
	})
	if err != nil {
		return err
	}
	arm.WriteJSON(w, http.StatusOK, p.renderComponent(r, res, doc))
	return nil
}

// patchComponentTags updates a component's tags (the only PATCH Azure
// offers for components).
func (p *Provider) patchComponentTags(w http.ResponseWriter, r *arm.Request) error {
	if err := p.authorize(r, "Microsoft.Insights/components/write", componentID(r).String()); err != nil {
		return err
	}
	body, err := r.Body()
	if err != nil {
		return err
	}
	tg, err := tags(body)
	if err != nil {
		return err
	}
	var (
		res *meta.Resource
		doc *ComponentDoc
	)
	err = p.d.Store.Update(r.Context(), func(tx meta.Tx) error {
		var err error
		if res, doc, err = p.loadComponent(r, tx); err != nil {
			return err
		}
		doc.Tags = tg
		res.Body, res.UpdatedAt = resources.EncodeDoc(doc), p.d.Now()
		return tx.PutResource(r.Context(), res)
	})
	if err != nil {
		return err
	}
	arm.WriteJSON(w, http.StatusOK, p.renderComponent(r, res, doc))
	return nil
}

func (p *Provider) deleteComponent(w http.ResponseWriter, r *arm.Request) error {
	if err := p.authorize(r, "Microsoft.Insights/components/delete", componentID(r).String()); err != nil {
		return err
	}
	var gone bool
	err := p.d.Store.Update(r.Context(), func(tx meta.Tx) error {
		res, _, err := p.loadComponent(r, tx)
		if e, ok := arm.AsError(err); ok && e.Code == "ResourceNotFound" {
			gone = true
			return nil
		} else if err != nil {
			return err
		}
		return tx.DeleteResource(r.Context(), res.ID)
	})
	if err != nil {
		return err
	}
	w.WriteHeader(arm.DeleteStatus(gone))
	return nil
}

func (p *Provider) listComponents(w http.ResponseWriter, r *arm.Request) error {
	return listResources(p, w, r, TypeComponent, "Microsoft.Insights/components/read",
		func(res *meta.Resource, doc *ComponentDoc) map[string]any { return p.renderComponent(r, res, doc) })
}

func (p *Provider) renderComponent(r *arm.Request, res *meta.Resource, doc *ComponentDoc) map[string]any {
	ingest := r.BaseURL() + "/"
	if p.d.IngestionEndpoint != nil {
		ingest = p.d.IngestionEndpoint(r)
	}
	props := map[string]any{
		"ApplicationId":                   res.Name,
		"AppId":                           doc.AppID,
		"Application_Type":                doc.ApplicationType,
		"Flow_Type":                       doc.FlowType,
		"Request_Source":                  doc.RequestSource,
		"InstrumentationKey":              doc.InstrumentationKey,
		"ConnectionString":                "InstrumentationKey=" + doc.InstrumentationKey + ";IngestionEndpoint=" + ingest + ";LiveEndpoint=" + ingest + ";ApplicationId=" + doc.AppID,
		"CreationDate":                    rfc3339(doc.CreationDate),
		"TenantId":                        res.SubscriptionID,
		"HockeyAppId":                     "",
		"HockeyAppToken":                  "",
		"provisioningState":               StateSucceeded,
		"RetentionInDays":                 doc.RetentionInDays,
		"DisableIpMasking":                doc.DisableIPMasking,
		"ImmediatePurgeDataOn30Days":      doc.ImmediatePurge30,
		"DisableLocalAuth":                doc.DisableLocalAuth,
		"Name":                            res.Name,
		"IngestionMode":                   "ApplicationInsights",
		"publicNetworkAccessForIngestion": "Enabled",
		"publicNetworkAccessForQuery":     "Enabled",
	}
	if doc.SamplingPercentage != nil {
		props["SamplingPercentage"] = *doc.SamplingPercentage
	} else {
		props["SamplingPercentage"] = nil
	}
	if doc.ClusterDefinitionID != "" {
		props["clusterDefinitionId"] = doc.ClusterDefinitionID
	}
	if doc.WorkspaceResourceID != "" {
		props["WorkspaceResourceId"] = doc.WorkspaceResourceID
		props["IngestionMode"] = "LogAnalytics"
	}
	tg := doc.Tags
	if tg == nil {
		tg = map[string]string{}
	}
	return map[string]any{
		"id":         res.ID,
		"name":       res.Name,
		"type":       TypeComponent,
		"location":   doc.Location,
		"tags":       tg,
		"kind":       doc.Kind,
		"properties": props,
	}
}

// ComponentByKey finds a live component by its instrumentation key (how
// = "ikey") or application id (how = "appid"), case-insensitively.
func ComponentByKey(ctx context.Context, tx meta.Tx, how, key string) (*meta.Resource, *ComponentDoc, error) {
	list, err := tx.Resources(ctx, meta.ResourceQuery{Type: TypeComponent})
	if err != nil {
		return nil, nil, err
	}
	for _, res := range list {
		doc, err := resources.DecodeDoc[ComponentDoc](res)
		if err != nil {
			return nil, nil, err
		}
		v := doc.InstrumentationKey
		if how == "appid" {
			v = doc.AppID
		}
		if strings.EqualFold(v, key) {
			return res, doc, nil
		}
	}
	return nil, nil, fmt.Errorf("component with %s %s: %w", how, key, meta.ErrNotFound)
}
