package query

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/kustodian/kustodian/internal/identity"
	"github.com/kustodian/kustodian/internal/kql"
)

// queryRequest is the body of a query: Azure's QueryBody.
type queryRequest struct {
	Query    string `json:"query"`
	Timespan string `json:"timespan"`
	// Workspaces are workspaces queried in addition to the primary one:
	// each table the query names is the union of that table in all of
	// them (customer ids, or names and resource ids when the server
	// resolves them).
	Workspaces []string `json:"workspaces"`
}

// maxWorkspaces bounds the workspaces of one query besides the primary
// one (Azure allows 100 in all).
const maxWorkspaces = 99

// target is the workspace a request's path names: by customer id
// (/v1/workspaces/{id}/query) or by resource id (/v1/{resourceId}/query).
type target struct {
	customerID string
	resourceID string
}

var (
	workspacePath = regexp.MustCompile(`^/v1/workspaces/([^/]+)/query/?$`)
	resourcePath  = regexp.MustCompile(`(?i)^/v1/(subscriptions/[^/]+/resourcegroups/[^/]+/providers/[^/]+/[^/]+/[^/]+)/query/?$`)
	workspaceType = regexp.MustCompile(`(?i)/providers/microsoft\.operationalinsights/workspaces/[^/]+$`)
)

// routeTarget reads the workspace of a query path.
func routeTarget(path string) (target, error) {
	if m := workspacePath.FindStringSubmatch(path); m != nil {
		return target{customerID: m[1]}, nil
	}
	if m := resourcePath.FindStringSubmatch(path); m != nil {
		id := "/" + m[1]
		if !workspaceType.MatchString(id) {
			return target{}, errorf(http.StatusBadRequest, "BadArgumentError",
				"Resource-centric queries are supported for Log Analytics workspaces only (resource type Microsoft.OperationalInsights/workspaces), not for '%s'.", id)
		}
		return target{resourceID: id}, nil
	}
	return target{}, errorf(http.StatusNotFound, "PathNotFoundError", "The requested path does not exist.")
}

// workspaceEntry is a workspace a query reads, authorized.
type workspaceEntry struct {
	customerID string
	resourceID string
	data       Data
}

// resolve finds the workspace a reference names.
func (h *Handler) resolve(ctx context.Context, ref string) (*workspaceEntry, error) {
	id := ref
	if h.o.ResolveWorkspace != nil {
		var err error
		if id, err = h.o.ResolveWorkspace(ctx, ref); errors.Is(err, ErrWorkspaceNotFound) {
			return nil, errorf(http.StatusNotFound, "WorkspaceNotFoundError", "The workspace '%s' could not be found.", ref)
		} else if err != nil {
			return nil, err
		}
	}
	resourceID, data, err := h.o.Workspace(ctx, id)
	if errors.Is(err, ErrWorkspaceNotFound) {
		return nil, errorf(http.StatusNotFound, "WorkspaceNotFoundError", "The workspace '%s' could not be found.", ref)
	} else if err != nil {
		return nil, err
	}
	return &workspaceEntry{customerID: strings.ToLower(id), resourceID: resourceID, data: data}, nil
}

// resolveTarget finds the workspace of a request's path.
func (h *Handler) resolveTarget(ctx context.Context, tgt target) (*workspaceEntry, error) {
	if tgt.resourceID == "" {
		return h.resolve(ctx, tgt.customerID)
	}
	if h.o.ResolveWorkspace == nil {
		return nil, errorf(http.StatusNotImplemented, "NotSupported", "This server does not resolve resource ids: query /v1/workspaces/{workspaceId}/query.")
	}
	return h.resolve(ctx, tgt.resourceID)
}

// workspaces is the Data of a query over several workspaces: a table is
// the union of that table in each workspace that has it (schemas merged
// by column name, the first type winning), and workspace("ref").T is the
// table T of one, resolved and authorized when the query names it.
type workspaces struct {
	h         *Handler
	principal string
	list      []*workspaceEntry
	mu        sync.Mutex // the compiler is one goroutine; the mutex is cheap insurance
	byRef     map[string]*workspaceEntry
}

func newWorkspaces(h *Handler, principal string, primary *workspaceEntry) *workspaces {
	return &workspaces{h: h, principal: principal, list: []*workspaceEntry{primary}, byRef: map[string]*workspaceEntry{}}
}

// authorize checks the principal's read access to a workspace.
func (ws *workspaces) authorize(ctx context.Context, e *workspaceEntry) error {
	if err := ws.h.o.Authorize(ctx, ws.principal, "Microsoft.OperationalInsights/workspaces/query/read", e.resourceID); err != nil {
		if errors.Is(err, identity.ErrForbidden) {
			return errorf(http.StatusForbidden, "InsufficientAccessError", "The provided credentials have insufficient access to perform the requested operation.")
		}
		return err
	}
	return nil
}

// lookup resolves and authorizes a workspace reference once per query.
func (ws *workspaces) lookup(ctx context.Context, ref string) (*workspaceEntry, error) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if e, ok := ws.byRef[ref]; ok {
		return e, nil
	}
	e, err := ws.h.resolve(ctx, ref)
	if err != nil {
		return nil, err
	}
	for _, have := range ws.list {
		if have.customerID == e.customerID {
			e = have
		}
	}
	if err := ws.authorize(ctx, e); err != nil {
		return nil, err
	}
	ws.byRef[ref] = e
	return e, nil
}

// add adds a workspace of the request's workspaces member.
func (ws *workspaces) add(ctx context.Context, ref string) error {
	e, err := ws.lookup(ctx, ref)
	if err != nil {
		return err
	}
	for _, have := range ws.list {
		if have == e {
			return nil
		}
	}
	ws.list = append(ws.list, e)
	return nil
}

// single is the Data of a query over the primary workspace alone, which
// may still name others with workspace().
func (ws *workspaces) single() Data { return ws }

// Table implements kql.Catalog.
func (ws *workspaces) Table(ctx context.Context, name string) (*kql.Schema, error) {
	if ref, table, ok := kql.SplitQualified(name); ok {
		e, err := ws.lookup(ctx, ref)
		if err != nil {
			return nil, err
		}
		s, err := e.data.Table(ctx, table)
		if err != nil {
			return nil, err
		}
		return &kql.Schema{Name: name, Columns: s.Columns}, nil
	}
	if len(ws.list) == 1 {
		return ws.list[0].data.Table(ctx, name)
	}
	var out *kql.Schema
	seen := map[string]bool{}
	for _, e := range ws.list {
		s, err := e.data.Table(ctx, name)
		if errors.Is(err, kql.ErrTableNotFound) {
			continue
		} else if err != nil {
			return nil, err
		}
		if out == nil {
			out = &kql.Schema{Name: s.Name}
		}
		for _, c := range s.Columns {
			if !seen[c.Name] {
				seen[c.Name] = true
				out.Columns = append(out.Columns, c)
			}
		}
	}
	if out == nil {
		return nil, fmt.Errorf("table %q: %w", name, kql.ErrTableNotFound)
	}
	return out, nil
}

// TableNames implements kql.TableLister: the tables of every workspace
// whose Data lists its tables.
func (ws *workspaces) TableNames(ctx context.Context) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	for _, e := range ws.list {
		l, ok := e.data.(kql.TableLister)
		if !ok {
			continue
		}
		names, err := l.TableNames(ctx)
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			if !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
		}
	}
	return out, nil
}

// Scan implements kql.Source.
func (ws *workspaces) Scan(ctx context.Context, req kql.ScanRequest) (kql.BatchIterator, error) {
	if ref, table, ok := kql.SplitQualified(req.Table); ok {
		e, err := ws.lookup(ctx, ref)
		if err != nil {
			return nil, err
		}
		req.Table = table
		return e.data.Scan(ctx, req)
	}
	if len(ws.list) == 1 {
		return ws.list[0].data.Scan(ctx, req)
	}
	var its []kql.BatchIterator
	for _, e := range ws.list {
		if _, err := e.data.Table(ctx, req.Table); errors.Is(err, kql.ErrTableNotFound) {
			continue
		}
		it, err := e.data.Scan(ctx, req)
		if err != nil {
			for _, o := range its {
				o.Close()
			}
			return nil, err
		}
		its = append(its, it)
	}
	return &concatIter{its: its}, nil
}

// concatIter yields the batches of several scans, one after the other.
type concatIter struct{ its []kql.BatchIterator }

func (c *concatIter) Next(ctx context.Context) (*kql.Batch, error) {
	for len(c.its) > 0 {
		b, err := c.its[0].Next(ctx)
		if errors.Is(err, io.EOF) {
			c.its[0].Close()
			c.its = c.its[1:]
			continue
		}
		return b, err
	}
	return nil, io.EOF
}

func (c *concatIter) Close() error {
	var first error
	for _, it := range c.its {
		if err := it.Close(); err != nil && first == nil {
			first = err
		}
	}
	c.its = nil
	return first
}

// preferences are the Prefer header's options the API honours.
type preferences struct {
	statistics, render bool
	wait               string
}

func parsePrefer(h http.Header) preferences {
	var p preferences
	for _, v := range h.Values("Prefer") {
		for part := range strings.SplitSeq(v, ",") {
			k, val, _ := strings.Cut(strings.TrimSpace(part), "=")
			k, val = strings.ToLower(strings.TrimSpace(k)), strings.TrimSpace(val)
			switch k {
			case "include-statistics":
				p.statistics = strings.EqualFold(val, "true")
			case "include-render":
				p.render = strings.EqualFold(val, "true")
			case "wait":
				p.wait = val
			}
		}
	}
	return p
}

// applied returns the Preference-Applied values: the includes honoured
// and the wait, when it changed the timeout.
func (p preferences) applied(waited bool) []string {
	var out []string
	if p.statistics {
		out = append(out, "include-statistics=true")
	}
	if p.render {
		out = append(out, "include-render=true")
	}
	if waited && p.wait != "" {
		out = append(out, "wait="+p.wait)
	}
	return out
}

// statistics is the "statistics" member: the query's execution time in
// seconds, the peak of the memory its run held (as charged to its
// budget), and the rows of its result, in the shape Azure uses.
func statistics(elapsed time.Duration, rows int, peak int64) json.RawMessage {
	b, _ := json.Marshal(map[string]any{
		"query": map[string]any{
			"executionTime": elapsed.Seconds(),
			"resourceUsage": map[string]any{
				"memory": map[string]any{"peakPerNode": peak},
			},
			"datasetStatistics": []map[string]any{{"tableRowCount": rows}},
		},
	})
	return b
}

// renderProps maps render's with() properties to the names of Azure's
// "render" member.
var renderProps = map[string]string{
	"title": "title", "accumulate": "accumulate", "kind": "kind", "legend": "legend", "series": "series",
	"ymin": "yMin", "ymax": "yMax", "xaxis": "xAxis", "xcolumn": "xColumn", "xtitle": "xTitle",
	"yaxis": "yAxis", "ycolumns": "yColumns", "ysplit": "ySplit", "ytitle": "yTitle", "anomalycolumns": "anomalyColumns",
}

// renderJSON is the "render" member: the visualization and its
// properties, unset ones null (yMin and yMax "NaN"), as Azure answers
// Prefer: include-render=true; {} when the query does not render.
func renderJSON(r *kql.RenderOp) json.RawMessage {
	if r == nil {
		return json.RawMessage(`{}`)
	}
	m := map[string]any{"visualization": r.Visual, "isQuerySorted": false}
	for _, name := range renderProps {
		m[name] = nil
	}
	m["accumulate"], m["yMin"], m["yMax"] = false, "NaN", "NaN"
	for k, v := range r.Properties {
		name, ok := renderProps[strings.ToLower(k)]
		if !ok {
			continue
		}
		switch name {
		case "accumulate":
			m[name] = strings.EqualFold(v, "true")
		case "yColumns", "anomalyColumns", "series":
			var cols []string
			for c := range strings.SplitSeq(v, ",") {
				cols = append(cols, strings.TrimSpace(c))
			}
			m[name] = cols
		default:
			m[name] = v
		}
	}
	b, _ := json.Marshal(m)
	return b
}
