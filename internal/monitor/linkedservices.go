package monitor

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/kustodian/kustodian/internal/arm"
	"github.com/kustodian/kustodian/internal/meta"
	"github.com/kustodian/kustodian/internal/resources"
)

// linkedServiceDoc is a linked service's stored state.
type linkedServiceDoc struct {
	WriteAccessResourceID string `json:"writeAccessResourceId"`
}

func (p *Provider) linkedServiceName(r *arm.Request) (string, error) {
	name := r.Params["linkedServiceName"]
	if !strings.EqualFold(name, "cluster") {
		return "", arm.BadRequest("InvalidLinkedServiceName",
			"The linked service '%s' is not supported: the only linked service is 'cluster', which links the workspace to a dedicated cluster.", name)
	}
	return "cluster", nil
}

// putLinkedService links a workspace to a cluster. It is refused unless the
// caller has write on both, the cluster is provisioned (the seed drops data
// sent before that; Kustodian refuses instead), is a LogAnalytics cluster in
// the workspace's region and tenant, and the workspace is not linked to
// another cluster.
func (p *Provider) putLinkedService(w http.ResponseWriter, r *arm.Request) error {
	ctx := r.Context()
	wsID := workspaceID(r)
	if _, err := p.linkedServiceName(r); err != nil {
		return err
	}
	lsID := wsID.Child("", "linkedServices", "cluster")
	if err := p.authorize(r, "Microsoft.OperationalInsights/workspaces/write", wsID.String()); err != nil {
		return err
	}
	body, err := r.Body()
	if err != nil {
		return err
	}
	props, ok, err := body.Object("properties")
	if err != nil || !ok {
		return arm.BadRequest("InvalidRequestContent", "The linked service needs properties.writeAccessResourceId: the cluster's resource id.")
	}
	target, _, err := props.String("writeAccessResourceId")
	if err != nil {
		return badContent(err)
	}
	if target == "" {
		if rid, _, _ := props.String("resourceId"); rid != "" {
			return arm.BadRequest("InvalidLinkedService",
				"Linking with resourceId (an Automation account) is not supported; link a cluster with writeAccessResourceId.")
		}
		return arm.BadRequest("InvalidLinkedService", "properties.writeAccessResourceId (the cluster's resource id) is required.")
	}
	cid, err := arm.ParseResourceID(target)
	if err != nil || !cid.IsType(TypeCluster) {
		return arm.BadRequest("InvalidLinkedService",
			"writeAccessResourceId '%s' is not a cluster resource id (/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.OperationalInsights/clusters/{name}).", target)
	}
	if err := p.authorize(r, "Microsoft.OperationalInsights/clusters/write", cid.String()); err != nil {
		return err
	}
	now := p.d.Now()
	var res *meta.Resource
	var changed bool
	err = p.d.Store.Update(ctx, func(tx meta.Tx) error {
		wsRes, ws, err := p.loadWorkspace(ctx, tx, r)
		if err != nil {
			return err
		}
		wsSub, err := tx.Subscription(ctx, wsID.SubscriptionID)
		if err != nil {
			return err
		}
		cres, err := tx.Resource(ctx, cid.String())
		if errors.Is(err, meta.ErrNotFound) {
			return arm.Errorf(http.StatusNotFound, "ResourceNotFound", "The cluster '%s' was not found.", cid.String())
		} else if err != nil {
			return err
		}
		cluster, err := resources.DecodeDoc[ClusterDoc](cres)
		if err != nil {
			return err
		}
		switch {
		case ws.ClusterResourceID != "" && !strings.EqualFold(ws.ClusterResourceID, cres.ID):
			return arm.Conflict("WorkspaceAlreadyLinked",
				"The workspace '%s' is linked to another cluster ('%s'); a workspace can be linked to one cluster only.", wsID.Name(), ws.ClusterResourceID)
		case cluster.ProvisioningState(now) != StateSucceeded:
			return arm.Conflict("ClusterNotProvisioned",
				"The cluster '%s' is still provisioning (state '%s'); link workspaces once its provisioningState is 'Succeeded', so that no data is lost.",
				cres.Name, cluster.ProvisioningState(now))
		case cluster.ClusterType != ClusterTypeLogAnalytics:
			return arm.BadRequest("InvalidClusterType",
				"The cluster '%s' has clusterType '%s'; only LogAnalytics clusters can be linked to workspaces.", cres.Name, cluster.ClusterType)
		case cluster.Location != ws.Location:
			return arm.BadRequest("LocationMismatch",
				"The workspace '%s' is in '%s' and the cluster '%s' in '%s': they must be in the same region.", wsID.Name(), ws.Location, cres.Name, cluster.Location)
		case !strings.EqualFold(cluster.TenantID, wsSub.TenantID):
			return arm.BadRequest("TenantMismatch",
				"The workspace '%s' and the cluster '%s' are in different tenants: they must be in the same tenant.", wsID.Name(), cres.Name)
		}
		res, err = tx.Resource(ctx, lsID.String())
		if err != nil && !errors.Is(err, meta.ErrNotFound) {
			return err
		}
		if ws.ClusterResourceID != "" && res != nil {
			return nil // already linked to this cluster: idempotent
		}
		changed = true
		ws.ClusterResourceID = cres.ID
		ws.LinkedAt = now
		ws.SKUBeforeLink, ws.SKU = ws.SKU, "LACluster"
		ws.ModifiedDate = now
		wsRes.Body, wsRes.UpdatedAt = resources.EncodeDoc(ws), now
		if err := tx.PutResource(ctx, wsRes); err != nil {
			return err
		}
		cluster.Associated = append(cluster.Associated, Association{
			WorkspaceID: ws.CustomerID, WorkspaceName: wsRes.Name, ResourceID: wsRes.ID, AssociateDate: now,
		})
		cres.Body, cres.UpdatedAt = resources.EncodeDoc(cluster), now
		if err := tx.PutResource(ctx, cres); err != nil {
			return err
		}
		res = &meta.Resource{
			ID: lsID.String(), Type: TypeLinkedService, SubscriptionID: lsID.SubscriptionID, ResourceGroup: lsID.ResourceGroup,
			Name: "cluster", Location: ws.Location, Body: resources.EncodeDoc(linkedServiceDoc{WriteAccessResourceID: cres.ID}),
			CreatedAt: now, UpdatedAt: now,
		}
		return tx.PutResource(ctx, res)
	})
	if err != nil {
		return err
	}
	body2, err := renderLinkedService(res, wsID.Name())
	if err != nil {
		return err
	}
	if !changed {
		arm.WriteJSON(w, http.StatusOK, body2)
		return nil
	}
	p.d.Log.Info("workspace linked to cluster", "workspace", wsID.String(), "cluster", cid.String())
	op := &arm.Operation{
		ID: newGUID(), Namespace: NamespaceOperationalInsights, Location: res.Location, SubscriptionID: wsID.SubscriptionID,
		ResourceID: res.ID, Action: "Microsoft.OperationalInsights/workspaces/linkedServices/write", StartTime: now, DoneAt: now,
	}
	return p.d.Ops.Accept(w, r, op, http.StatusAccepted, body2)
}

// unlink removes a workspace's association with its cluster. Data ingested
// while linked stays in the cluster under its key; new data goes to shared
// storage.
func (p *Provider) unlink(ctx context.Context, tx meta.Tx, wsRes *meta.Resource, ws *WorkspaceDoc) error {
	now := p.d.Now()
	if cres, err := tx.Resource(ctx, ws.ClusterResourceID); err == nil {
		cluster, err := resources.DecodeDoc[ClusterDoc](cres)
		if err != nil {
			return err
		}
		kept := cluster.Associated[:0]
		for _, a := range cluster.Associated {
			if !strings.EqualFold(a.ResourceID, wsRes.ID) {
				kept = append(kept, a)
			}
		}
		cluster.Associated = kept
		cres.Body, cres.UpdatedAt = resources.EncodeDoc(cluster), now
		if err := tx.PutResource(ctx, cres); err != nil {
			return err
		}
	} else if !errors.Is(err, meta.ErrNotFound) {
		return err
	}
	ws.ClusterResourceID = ""
	if ws.SKUBeforeLink != "" {
		ws.SKU, ws.SKUBeforeLink = ws.SKUBeforeLink, ""
	}
	ws.ModifiedDate = now
	wsRes.Body, wsRes.UpdatedAt = resources.EncodeDoc(ws), now
	return tx.PutResource(ctx, wsRes)
}

func (p *Provider) deleteLinkedService(w http.ResponseWriter, r *arm.Request) error {
	ctx := r.Context()
	wsID := workspaceID(r)
	if _, err := p.linkedServiceName(r); err != nil {
		return err
	}
	lsID := wsID.Child("", "linkedServices", "cluster")
	if err := p.authorize(r, "Microsoft.OperationalInsights/workspaces/write", wsID.String()); err != nil {
		return err
	}
	var res *meta.Resource
	err := p.d.Store.Update(ctx, func(tx meta.Tx) error {
		wsRes, ws, err := p.loadWorkspace(ctx, tx, r)
		if err != nil {
			return err
		}
		res, err = tx.Resource(ctx, lsID.String())
		if errors.Is(err, meta.ErrNotFound) {
			res = nil
			return nil
		} else if err != nil {
			return err
		}
		if err := p.unlink(ctx, tx, wsRes, ws); err != nil {
			return err
		}
		return tx.DeleteResource(ctx, lsID.String())
	})
	if err != nil {
		return err
	}
	if res == nil {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	p.d.Log.Info("workspace unlinked from cluster", "workspace", wsID.String())
	body, err := renderLinkedService(res, wsID.Name())
	if err != nil {
		return err
	}
	arm.WriteJSON(w, http.StatusOK, body)
	return nil
}

func (p *Provider) getLinkedService(w http.ResponseWriter, r *arm.Request) error {
	ctx := r.Context()
	wsID := workspaceID(r)
	if _, err := p.linkedServiceName(r); err != nil {
		return err
	}
	if err := p.authorize(r, "Microsoft.OperationalInsights/workspaces/linkedServices/read", wsID.String()); err != nil {
		return err
	}
	var res *meta.Resource
	err := p.d.Store.View(ctx, func(tx meta.Tx) error {
		if _, _, err := p.loadWorkspace(ctx, tx, r); err != nil {
			return err
		}
		var err error
		res, err = tx.Resource(ctx, wsID.Child("", "linkedServices", "cluster").String())
		if errors.Is(err, meta.ErrNotFound) {
			return arm.NotFound(TypeLinkedService, wsID.Name()+"/cluster")
		}
		return err
	})
	if err != nil {
		return err
	}
	body, err := renderLinkedService(res, wsID.Name())
	if err != nil {
		return err
	}
	arm.WriteJSON(w, http.StatusOK, body)
	return nil
}

func (p *Provider) listLinkedServices(w http.ResponseWriter, r *arm.Request) error {
	ctx := r.Context()
	wsID := workspaceID(r)
	if err := p.authorize(r, "Microsoft.OperationalInsights/workspaces/linkedServices/read", wsID.String()); err != nil {
		return err
	}
	var out []any
	err := p.d.Store.View(ctx, func(tx meta.Tx) error {
		if _, _, err := p.loadWorkspace(ctx, tx, r); err != nil {
			return err
		}
		list, err := tx.Resources(ctx, meta.ResourceQuery{ParentID: wsID.String(), Type: TypeLinkedService})
		if err != nil {
			return err
		}
		for _, res := range list {
			body, err := renderLinkedService(res, wsID.Name())
			if err != nil {
				return err
			}
			out = append(out, body)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return listResponse(w, out)
}

func renderLinkedService(res *meta.Resource, workspaceName string) (map[string]any, error) {
	doc, err := resources.DecodeDoc[linkedServiceDoc](res)
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"id":   res.ID,
		"name": workspaceName + "/cluster",
		"type": TypeLinkedService,
		"properties": map[string]any{
			"writeAccessResourceId": doc.WriteAccessResourceID,
			"provisioningState":     StateSucceeded,
		},
	}, nil
}
