package server

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/kustodian/kustodian/internal/appinsights"
	"github.com/kustodian/kustodian/internal/ingest"
	"github.com/kustodian/kustodian/internal/meta"
	"github.com/kustodian/kustodian/internal/monitor"
	"github.com/kustodian/kustodian/internal/resources"
)

// componentRoute is where a component's telemetry goes: the storage
// namespace ("workspace" of the store) and the storage account.
//
//   - A workspace-based component (WorkspaceResourceId) writes to the App*
//     tables of its workspace, in the workspace's account: the linked
//     cluster's under its customer key, else the shared one.
//   - A classic component writes to App* tables of its own namespace (its
//     application id), in the account of the ApplicationInsights cluster
//     its clusterDefinitionId names (under that cluster's key), else the
//     shared account (platform key).
func (s *Server) componentRoute(ctx context.Context, tx meta.Tx, doc *monitor.ComponentDoc) (*ingest.Workspace, error) {
	if doc.WorkspaceResourceID != "" {
		wres, err := tx.Resource(ctx, doc.WorkspaceResourceID)
		if errors.Is(err, meta.ErrNotFound) {
			// Resource ids are case-insensitive; the store keys them as
			// created.
			wres, err = lookupFold(ctx, tx, doc.WorkspaceResourceID)
		}
		if err != nil {
			return nil, fmt.Errorf("component's workspace %s: %w", doc.WorkspaceResourceID, err)
		}
		ws, err := resources.DecodeDoc[monitor.WorkspaceDoc](wres)
		if err != nil {
			return nil, err
		}
		info, err := s.lookupWorkspace(ctx, ws.CustomerID, false)
		if err != nil {
			return nil, err
		}
		return &ingest.Workspace{CustomerID: strings.ToLower(ws.CustomerID), Route: info.account}, nil
	}
	route := sharedAccount
	if doc.ClusterDefinitionID != "" {
		route = clusterAccount(doc.ClusterDefinitionID)
	}
	return &ingest.Workspace{CustomerID: strings.ToLower(doc.AppID), Route: route}, nil
}

func lookupFold(ctx context.Context, tx meta.Tx, id string) (*meta.Resource, error) {
	list, err := tx.Resources(ctx, meta.ResourceQuery{Type: monitor.TypeWorkspace})
	if err != nil {
		return nil, err
	}
	for _, res := range list {
		if strings.EqualFold(res.ID, id) {
			return res, nil
		}
	}
	return nil, meta.ErrNotFound
}

// component finds a component by instrumentation key or application id.
func (s *Server) component(ctx context.Context, how, key string) (*appinsights.Component, error) {
	var c *appinsights.Component
	err := s.state.Store.View(ctx, func(tx meta.Tx) error {
		res, doc, err := monitor.ComponentByKey(ctx, tx, how, key)
		if errors.Is(err, meta.ErrNotFound) {
			return appinsights.ErrUnknownComponent
		} else if err != nil {
			return err
		}
		ws, err := s.componentRoute(ctx, tx, doc)
		if err != nil {
			return err
		}
		c = &appinsights.Component{ResourceID: res.ID, Name: res.Name, AppID: doc.AppID, InstrumentationKey: doc.InstrumentationKey,
			DisableLocalAuth: doc.DisableLocalAuth, DisableIPMasking: doc.DisableIPMasking, Workspace: ws}
		return nil
	})
	return c, err
}

// componentDirectory adapts component lookups to the track API.
type componentDirectory struct{ s *Server }

func (d componentDirectory) Component(ctx context.Context, ikey string) (*appinsights.Component, error) {
	return d.s.component(ctx, "ikey", ikey)
}
