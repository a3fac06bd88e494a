package monitor

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/kustodian/kustodian/internal/arm"
	"github.com/kustodian/kustodian/internal/kql"
	"github.com/kustodian/kustodian/internal/meta"
	"github.com/kustodian/kustodian/internal/resources"
	"github.com/kustodian/kustodian/internal/transform"
)

// Resource types of data collection.
const (
	TypeDataCollectionEndpoint = "Microsoft.Insights/dataCollectionEndpoints"
	TypeDataCollectionRule     = "Microsoft.Insights/dataCollectionRules"
)

// dcrVersions are the api-versions of data collection rules and endpoints.
var dcrVersions = []string{"2021-04-01", "2021-09-01-preview", "2022-06-01", "2023-03-11", "2024-03-11"}

// Stream prefixes: a rule's own streams are Custom-*, Azure's tables
// Microsoft-*.
const (
	customPrefix    = "Custom-"
	microsoftPrefix = "Microsoft-"
)

// dcrIndexKind indexes rules by immutable id: key = lower-case immutable
// id, body = the rule's resource id.
const dcrIndexKind = "monitor.dcr-by-immutable-id"

// StreamColumn is a declared column of a stream. Type is the Query API's
// type name.
type StreamColumn struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// Stream is a declared input stream of a rule.
type Stream struct {
	Name    string         `json:"name"`
	Columns []StreamColumn `json:"columns"`
}

// Destination is a Log Analytics destination of a rule.
type Destination struct {
	Name                string `json:"name"`
	WorkspaceResourceID string `json:"workspaceResourceId"`
	WorkspaceID         string `json:"workspaceId"` // customer id, at the time of writing
}

// DataFlow routes streams to destinations through a transformation.
type DataFlow struct {
	Streams      []string `json:"streams"`
	Destinations []string `json:"destinations"`
	TransformKql string   `json:"transformKql,omitempty"`
	OutputStream string   `json:"outputStream,omitempty"`
}

// Table returns the table the flow writes: its output stream's, else its
// (one) input stream's.
func (f DataFlow) Table() string {
	out := f.OutputStream
	if out == "" && len(f.Streams) > 0 {
		out = f.Streams[0]
	}
	if t, ok := strings.CutPrefix(out, customPrefix); ok {
		return t
	}
	t, _ := strings.CutPrefix(out, microsoftPrefix)
	return t
}

// DCRDoc is a data collection rule's stored state.
type DCRDoc struct {
	ImmutableID  string            `json:"immutableId"`
	Kind         string            `json:"kind,omitempty"`
	Location     string            `json:"location"`
	Tags         map[string]string `json:"tags,omitempty"`
	Description  string            `json:"description,omitempty"`
	EndpointID   string            `json:"dataCollectionEndpointId,omitempty"`
	Streams      []Stream          `json:"streams"`
	Destinations []Destination     `json:"destinations"`
	Flows        []DataFlow        `json:"dataFlows"`
	Created      time.Time         `json:"created"`
	Modified     time.Time         `json:"modified"`
}

// Stream returns the named declared stream.
func (d *DCRDoc) Stream(name string) (*Stream, bool) {
	for i := range d.Streams {
		if d.Streams[i].Name == name {
			return &d.Streams[i], true
		}
	}
	return nil, false
}

// DCEDoc is a data collection endpoint's stored state.
type DCEDoc struct {
	ImmutableID         string            `json:"immutableId"`
	Kind                string            `json:"kind,omitempty"`
	Location            string            `json:"location"`
	Tags                map[string]string `json:"tags,omitempty"`
	Description         string            `json:"description,omitempty"`
	PublicNetworkAccess string            `json:"publicNetworkAccess"`
	Created             time.Time         `json:"created"`
}

// RuleByImmutableID returns the data collection rule with an immutable id,
// or an error wrapping meta.ErrNotFound.
func RuleByImmutableID(ctx context.Context, tx meta.Tx, immutableID string) (*meta.Resource, *DCRDoc, error) {
	id, err := tx.Doc(ctx, dcrIndexKind, strings.ToLower(immutableID))
	if err != nil {
		return nil, nil, err
	}
	res, err := tx.Resource(ctx, string(id))
	if err != nil {
		return nil, nil, err
	}
	doc, err := resources.DecodeDoc[DCRDoc](res)
	return res, doc, err
}

// StreamColumns converts declared columns to the transformation's.
func StreamColumns(cols []StreamColumn) []transform.Column {
	out := make([]transform.Column, len(cols))
	for i, c := range cols {
		t, _ := kql.ParseType(c.Type)
		out[i] = transform.Column{Name: c.Name, Type: t}
	}
	return out
}

func immutableID(prefix string) string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

func (p *Provider) registerDataCollection(rt *arm.Router, rg, sub string) {
	in := NamespaceInsights
	rt.Handle(rg+in+"/dataCollectionEndpoints/{name}", dcrVersions, map[string]arm.Handler{
		http.MethodPut: p.putDCE, http.MethodGet: p.getDCE, http.MethodDelete: p.deleteDCE,
	})
	rt.Handle(rg+in+"/dataCollectionEndpoints", dcrVersions, map[string]arm.Handler{http.MethodGet: p.listDCEs})
	rt.Handle(sub+in+"/dataCollectionEndpoints", dcrVersions, map[string]arm.Handler{http.MethodGet: p.listDCEs})
	rt.Handle(rg+in+"/dataCollectionRules/{name}", dcrVersions, map[string]arm.Handler{
		http.MethodPut: p.putDCR, http.MethodGet: p.getDCR, http.MethodDelete: p.deleteDCR,
	})
	rt.Handle(rg+in+"/dataCollectionRules", dcrVersions, map[string]arm.Handler{http.MethodGet: p.listDCRs})
	rt.Handle(sub+in+"/dataCollectionRules", dcrVersions, map[string]arm.Handler{http.MethodGet: p.listDCRs})
}

func (p *Provider) dcID(r *arm.Request, typ string) arm.ResourceID {
	s := reqScope(r)
	return arm.GroupID(s.sub, s.group).Child(NamespaceInsights, typ, r.Params["name"])
}

func (p *Provider) logsEndpoint(r *arm.Request) string {
	if p.d.LogsIngestionEndpoint != nil {
		return strings.TrimSuffix(p.d.LogsIngestionEndpoint(r), "/")
	}
	return r.BaseURL()
}

// invalid is the 400 of a rule or endpoint Azure would refuse.
func invalid(format string, args ...any) error {
	return arm.BadRequest("InvalidPayload", format, args...)
}

// ---- data collection endpoints

func (p *Provider) putDCE(w http.ResponseWriter, r *arm.Request) error {
	ctx := r.Context()
	id := p.dcID(r, "dataCollectionEndpoints")
	if err := p.authorize(r, "Microsoft.Insights/dataCollectionEndpoints/write", id.String()); err != nil {
		return err
	}
	if err := checkDCName(id.Name(), "data collection endpoint"); err != nil {
		return err
	}
	body, err := r.Body()
	if err != nil {
		return err
	}
	loc, err := location(body)
	if err != nil {
		return err
	}
	tg, err := tags(body)
	if err != nil {
		return err
	}
	kind, _, _ := body.String("kind")
	props, _, err := body.Object("properties")
	if err != nil {
		return badContent(err)
	}
	if props == nil {
		props = arm.Object{}
	}
	desc, _, _ := props.String("description")
	access := "Enabled"
	if acl, ok, _ := props.Object("networkAcls"); ok {
		if v, ok, _ := acl.String("publicNetworkAccess"); ok {
			access = v
		}
	}
	now := p.d.Now()
	var res *meta.Resource
	var doc *DCEDoc
	created := false
	err = p.d.Store.Update(ctx, func(tx meta.Tx) error {
		if _, err := checkScope(ctx, tx, r.Caller, reqScope(r)); err != nil {
			return err
		}
		res, err = tx.Resource(ctx, id.String())
		switch {
		case errors.Is(err, meta.ErrNotFound):
			created = true
			res = &meta.Resource{ID: id.String(), Type: TypeDataCollectionEndpoint, SubscriptionID: id.SubscriptionID,
				ResourceGroup: id.ResourceGroup, Name: id.Name(), Location: loc, CreatedAt: now}
			doc = &DCEDoc{ImmutableID: immutableID("dce-"), Created: now}
		case err != nil:
			return err
		default:
			if doc, err = resources.DecodeDoc[DCEDoc](res); err != nil {
				return err
			}
			if doc.Location != loc {
				return invalid("The location of a data collection endpoint cannot change ('%s' to '%s').", doc.Location, loc)
			}
		}
		doc.Location, doc.Tags, doc.Kind, doc.Description, doc.PublicNetworkAccess = loc, tg, kind, desc, access
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
	arm.WriteJSON(w, status, p.renderDCE(r, res, doc))
	return nil
}

func (p *Provider) renderDCE(r *arm.Request, res *meta.Resource, d *DCEDoc) map[string]any {
	ep := p.logsEndpoint(r)
	out := map[string]any{
		"id": res.ID, "name": res.Name, "type": TypeDataCollectionEndpoint, "location": d.Location, "tags": nonNilTags(d.Tags),
		"properties": map[string]any{
			"immutableId":         d.ImmutableID,
			"configurationAccess": map[string]any{"endpoint": ep},
			"logsIngestion":       map[string]any{"endpoint": ep},
			"metricsIngestion":    map[string]any{"endpoint": ep},
			"networkAcls":         map[string]any{"publicNetworkAccess": d.PublicNetworkAccess},
			"provisioningState":   "Succeeded",
		},
	}
	if d.Kind != "" {
		out["kind"] = d.Kind
	}
	if d.Description != "" {
		out["properties"].(map[string]any)["description"] = d.Description
	}
	return out
}

func nonNilTags(t map[string]string) map[string]string {
	if t == nil {
		return map[string]string{}
	}
	return t
}

func (p *Provider) getDCE(w http.ResponseWriter, r *arm.Request) error {
	id := p.dcID(r, "dataCollectionEndpoints")
	if err := p.authorize(r, "Microsoft.Insights/dataCollectionEndpoints/read", id.String()); err != nil {
		return err
	}
	var res *meta.Resource
	var doc *DCEDoc
	err := p.d.Store.View(r.Context(), func(tx meta.Tx) (err error) {
		_, res, doc, err = resources.LoadDoc[DCEDoc](r.Context(), tx, r.Caller, id, TypeDataCollectionEndpoint)
		return err
	})
	if err != nil {
		return err
	}
	arm.WriteJSON(w, http.StatusOK, p.renderDCE(r, res, doc))
	return nil
}

func (p *Provider) listDCEs(w http.ResponseWriter, r *arm.Request) error {
	return listResources(p, w, r, TypeDataCollectionEndpoint, "Microsoft.Insights/dataCollectionEndpoints/read",
		func(res *meta.Resource, d *DCEDoc) map[string]any { return p.renderDCE(r, res, d) })
}

func (p *Provider) deleteDCE(w http.ResponseWriter, r *arm.Request) error {
	return p.deleteDC(w, r, p.dcID(r, "dataCollectionEndpoints"), "Microsoft.Insights/dataCollectionEndpoints/delete", "")
}

// deleteDC deletes an endpoint or a rule (and its index entry).
func (p *Provider) deleteDC(w http.ResponseWriter, r *arm.Request, id arm.ResourceID, action, indexKind string) error {
	if err := p.authorize(r, action, id.String()); err != nil {
		return err
	}
	gone := false
	err := p.d.Store.Update(r.Context(), func(tx meta.Tx) error {
		ctx := r.Context()
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
		if indexKind != "" {
			doc, err := resources.DecodeDoc[DCRDoc](res)
			if err != nil {
				return err
			}
			if err := tx.DeleteDoc(ctx, indexKind, strings.ToLower(doc.ImmutableID)); err != nil && !errors.Is(err, meta.ErrNotFound) {
				return err
			}
		}
		return tx.DeleteResource(ctx, res.ID)
	})
	if err != nil {
		return err
	}
	if gone {
		w.WriteHeader(http.StatusNoContent)
	} else {
		w.WriteHeader(http.StatusOK)
	}
	return nil
}

func checkDCName(name, kind string) error {
	if len(name) < 1 || len(name) > 64 {
		return arm.BadRequest("InvalidResourceName", "The %s name '%s' is invalid: use 1 to 64 characters.", kind, arm.Clip(name))
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return arm.BadRequest("InvalidResourceName", "The %s name '%s' is invalid: use letters, digits, '-', '_' and '.'.", kind, arm.Clip(name))
		}
	}
	return nil
}

// ---- data collection rules

func (p *Provider) putDCR(w http.ResponseWriter, r *arm.Request) error {
	ctx := r.Context()
	id := p.dcID(r, "dataCollectionRules")
	if err := p.authorize(r, "Microsoft.Insights/dataCollectionRules/write", id.String()); err != nil {
		return err
	}
	if err := checkDCName(id.Name(), "data collection rule"); err != nil {
		return err
	}
	body, err := r.Body()
	if err != nil {
		return err
	}
	spec, err := parseDCR(body)
	if err != nil {
		return err
	}
	now := p.d.Now()
	var res *meta.Resource
	created := false
	err = p.d.Store.Update(ctx, func(tx meta.Tx) error {
		if _, err := checkScope(ctx, tx, r.Caller, reqScope(r)); err != nil {
			return err
		}
		if err := p.validateDCR(ctx, tx, r, spec); err != nil {
			return err
		}
		old, err := tx.Resource(ctx, id.String())
		switch {
		case errors.Is(err, meta.ErrNotFound):
			created = true
			spec.ImmutableID, spec.Created = immutableID("dcr-"), now
			res = &meta.Resource{ID: id.String(), Type: TypeDataCollectionRule, SubscriptionID: id.SubscriptionID,
				ResourceGroup: id.ResourceGroup, Name: id.Name(), Location: spec.Location, CreatedAt: now}
		case err != nil:
			return err
		default:
			prev, err := resources.DecodeDoc[DCRDoc](old)
			if err != nil {
				return err
			}
			if prev.Location != spec.Location {
				return invalid("The location of a data collection rule cannot change ('%s' to '%s').", prev.Location, spec.Location)
			}
			spec.ImmutableID, spec.Created, res = prev.ImmutableID, prev.Created, old
		}
		spec.Modified = now
		res.Body, res.UpdatedAt = resources.EncodeDoc(spec), now
		if err := tx.PutResource(ctx, res); err != nil {
			return err
		}
		return tx.PutDoc(ctx, dcrIndexKind, strings.ToLower(spec.ImmutableID), []byte(res.ID))
	})
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	arm.WriteJSON(w, status, p.renderDCR(r, res, spec))
	return nil
}

// parseDCR reads a rule's body into its document (immutable id and times
// left to the caller). It checks what the body alone decides.
func parseDCR(body arm.Object) (*DCRDoc, error) {
	loc, err := location(body)
	if err != nil {
		return nil, err
	}
	tg, err := tags(body)
	if err != nil {
		return nil, err
	}
	d := &DCRDoc{Location: loc, Tags: tg}
	d.Kind, _, _ = body.String("kind")
	props, ok, err := body.Object("properties")
	if err != nil || !ok {
		return nil, invalid("The data collection rule needs properties: streamDeclarations, destinations and dataFlows.")
	}
	d.Description, _, _ = props.String("description")
	d.EndpointID, _, _ = props.String("dataCollectionEndpointId")
	if decl, ok, err := props.Object("streamDeclarations"); err != nil {
		return nil, badContent(err)
	} else if ok {
		for name, v := range decl {
			if !strings.HasPrefix(name, customPrefix) || len(name) == len(customPrefix) {
				return nil, invalid("The stream declaration '%s' is invalid: declared streams are named Custom-{name}.", arm.Clip(name))
			}
			o, _ := arm.AsObject(v)
			if o == nil {
				return nil, invalid("The stream declaration '%s' is not an object.", arm.Clip(name))
			}
			raw, _, err := o.Array("columns")
			if err != nil {
				return nil, badContent(err)
			}
			if len(raw) == 0 {
				return nil, invalid("The stream '%s' declares no columns.", name)
			}
			s := Stream{Name: name}
			seen := map[string]bool{}
			for i, cv := range raw {
				co, _ := arm.AsObject(cv)
				if co == nil {
					return nil, invalid("Column %d of the stream '%s' is not an object.", i, name)
				}
				cn, _, _ := co.String("name")
				ct, _, _ := co.String("type")
				if !tableNameRE.MatchString(cn) && !(strings.HasPrefix(cn, "_") && tableNameRE.MatchString(cn[1:])) {
					return nil, invalid("Column %d of the stream '%s' has the invalid name '%s'.", i, name, arm.Clip(cn))
				}
				kt, ok := transform.ParseType(ct)
				if !ok || kt == kql.TypeTimespan || kt == kql.TypeGUID && !strings.EqualFold(ct, "guid") {
					return nil, invalid("The column '%s' of the stream '%s' has the type '%s', which is not supported: use string, int, long, real, boolean, datetime or dynamic.", cn, name, arm.Clip(ct))
				}
				if seen[strings.ToLower(cn)] {
					return nil, invalid("The column '%s' is declared twice in the stream '%s'.", cn, name)
				}
				seen[strings.ToLower(cn)] = true
				s.Columns = append(s.Columns, StreamColumn{Name: cn, Type: kt.String()})
			}
			d.Streams = append(d.Streams, s)
		}
	}
	dest, _, err := props.Object("destinations")
	if err != nil {
		return nil, badContent(err)
	}
	for kind := range dest {
		if !strings.EqualFold(kind, "logAnalytics") {
			return nil, invalid("The destination kind '%s' is not supported: use logAnalytics.", arm.Clip(kind))
		}
	}
	if dest != nil {
		la, _, err := dest.Array("logAnalytics")
		if err != nil {
			return nil, badContent(err)
		}
		names := map[string]bool{}
		for i, v := range la {
			o, _ := arm.AsObject(v)
			if o == nil {
				return nil, invalid("destinations.logAnalytics[%d] is not an object.", i)
			}
			n, _, _ := o.String("name")
			ws, _, _ := o.String("workspaceResourceId")
			if n == "" || names[n] {
				return nil, invalid("destinations.logAnalytics[%d] needs a name unique in the rule.", i)
			}
			names[n] = true
			d.Destinations = append(d.Destinations, Destination{Name: n, WorkspaceResourceID: ws})
		}
	}
	flows, _, err := props.Array("dataFlows")
	if err != nil {
		return nil, badContent(err)
	}
	for i, v := range flows {
		o, _ := arm.AsObject(v)
		if o == nil {
			return nil, invalid("dataFlows[%d] is not an object.", i)
		}
		var f DataFlow
		for _, field := range []struct {
			name string
			dst  *[]string
		}{{"streams", &f.Streams}, {"destinations", &f.Destinations}} {
			arr, _, err := o.Array(field.name)
			if err != nil {
				return nil, badContent(err)
			}
			for _, s := range arr {
				str, ok := s.(string)
				if !ok {
					return nil, invalid("dataFlows[%d].%s must be strings.", i, field.name)
				}
				*field.dst = append(*field.dst, str)
			}
		}
		f.TransformKql, _, _ = o.String("transformKql")
		f.OutputStream, _, _ = o.String("outputStream")
		d.Flows = append(d.Flows, f)
	}
	return d, nil
}

// validateDCR checks a rule against the world, as Azure does when it is
// written: every stream declared, every destination's workspace present,
// every output table present, every transformation compiling to columns
// its table has, with the same types.
func (p *Provider) validateDCR(ctx context.Context, tx meta.Tx, r *arm.Request, d *DCRDoc) error {
	if len(d.Flows) == 0 {
		return invalid("The data collection rule has no dataFlows.")
	}
	if d.EndpointID != "" {
		eid, err := arm.ParseResourceID(d.EndpointID)
		if err != nil || !eid.IsType(TypeDataCollectionEndpoint) {
			return invalid("dataCollectionEndpointId '%s' is not a data collection endpoint's resource id.", arm.Clip(d.EndpointID))
		}
		if _, err := tx.Resource(ctx, eid.String()); errors.Is(err, meta.ErrNotFound) {
			return invalid("The data collection endpoint '%s' does not exist.", eid.String())
		} else if err != nil {
			return err
		}
	}
	dests := map[string]*Destination{}
	for i := range d.Destinations {
		dst := &d.Destinations[i]
		wid, err := arm.ParseResourceID(dst.WorkspaceResourceID)
		if err != nil || !wid.IsType(TypeWorkspace) {
			return invalid("The destination '%s' has workspaceResourceId '%s', which is not a Log Analytics workspace's resource id.", dst.Name, arm.Clip(dst.WorkspaceResourceID))
		}
		res, err := tx.Resource(ctx, wid.String())
		if errors.Is(err, meta.ErrNotFound) {
			return invalid("The destination '%s' names the workspace '%s', which does not exist.", dst.Name, wid.String())
		} else if err != nil {
			return err
		}
		ws, err := resources.DecodeDoc[WorkspaceDoc](res)
		if err != nil {
			return err
		}
		if ws.Location != d.Location {
			return invalid("The destination workspace '%s' is in '%s'; the rule is in '%s': they must be in the same region.", res.Name, ws.Location, d.Location)
		}
		dst.WorkspaceResourceID, dst.WorkspaceID = res.ID, ws.CustomerID
		dests[dst.Name] = dst
	}
	for i, f := range d.Flows {
		if len(f.Streams) == 0 {
			return invalid("dataFlows[%d] has no streams.", i)
		}
		if len(f.Destinations) == 0 {
			return invalid("dataFlows[%d] has no destinations.", i)
		}
		var in []StreamColumn
		for _, s := range f.Streams {
			st, ok := d.Stream(s)
			if !ok {
				return invalid("dataFlows[%d] names the stream '%s', which is not declared in streamDeclarations.", i, arm.Clip(s))
			}
			in = st.Columns
		}
		if len(f.Streams) > 1 && f.TransformKql != "" && strings.TrimSpace(f.TransformKql) != transform.SourceTable {
			return invalid("dataFlows[%d] has several streams and a transformation: a transformation reads one stream.", i)
		}
		out := f.OutputStream
		if out == "" {
			if len(f.Streams) > 1 {
				return invalid("dataFlows[%d] has several streams: name the outputStream.", i)
			}
			out = f.Streams[0]
		}
		var table string
		switch {
		case strings.HasPrefix(out, customPrefix):
			table = out[len(customPrefix):]
			if !strings.HasSuffix(table, "_CL") {
				return invalid("dataFlows[%d]: the outputStream '%s' must name a custom table: Custom-{table}_CL.", i, arm.Clip(out))
			}
		case strings.HasPrefix(out, microsoftPrefix):
			table = out[len(microsoftPrefix):]
		default:
			return invalid("dataFlows[%d]: the outputStream '%s' is invalid: use Custom-{table}_CL or Microsoft-{table}.", i, arm.Clip(out))
		}
		tr, err := transform.Compile(ctx, f.TransformKql, StreamColumns(in))
		var te *transform.Error
		if errors.As(err, &te) {
			return invalid("dataFlows[%d]: %s.", i, te.Msg)
		} else if err != nil {
			return err
		}
		for _, dn := range f.Destinations {
			dst := dests[dn]
			if dst == nil {
				return invalid("dataFlows[%d] names the destination '%s', which is not in destinations.logAnalytics.", i, arm.Clip(dn))
			}
			tab, err := LookupTable(ctx, tx, dst.WorkspaceResourceID, table)
			if errors.Is(err, meta.ErrNotFound) {
				return invalid("dataFlows[%d]: the table '%s' does not exist in the workspace of the destination '%s': create it with the tables API first.", i, table, dn)
			} else if err != nil {
				return err
			}
			if err := checkOutput(tr.Out(), tab.Schema()); err != nil {
				return invalid("dataFlows[%d] (destination '%s', table '%s'): %v.", i, dn, table, err)
			}
		}
	}
	return nil
}

// checkOutput checks that a transformation's output fits a table: every
// column exists with a compatible type, and TimeGenerated is a datetime.
func checkOutput(out []transform.Column, schema []TableColumn) error {
	have := map[string]kql.Type{}
	for _, c := range schema {
		t, _ := kql.ParseType(c.Type)
		have[c.Name] = t
	}
	tg := false
	for _, c := range out {
		want, ok := have[c.Name]
		if !ok {
			return fmt.Errorf("the transformation's output has the column '%s', which the table lacks", c.Name)
		}
		if !Compatible(c.Type, want) {
			return fmt.Errorf("the column '%s' is %s in the transformation's output and %s in the table", c.Name, c.Type, want)
		}
		if c.Name == "TimeGenerated" {
			tg = true
		}
	}
	if !tg {
		return errors.New("the transformation's output has no TimeGenerated column (of type datetime)")
	}
	return nil
}

// Compatible reports whether values of type from can be stored in a
// column of type to: the same type, int and long into each other or into
// real, a string into guid, datetime or dynamic (parsed when stored), and
// anything into string or dynamic.
func Compatible(from, to kql.Type) bool {
	if from == to || to == kql.TypeString || to == kql.TypeDynamic {
		return true
	}
	switch from {
	case kql.TypeInt, kql.TypeLong:
		return to == kql.TypeInt || to == kql.TypeLong || to == kql.TypeReal
	case kql.TypeString, kql.TypeDynamic:
		return to == kql.TypeGUID || to == kql.TypeDatetime
	}
	return false
}

func (p *Provider) renderDCR(r *arm.Request, res *meta.Resource, d *DCRDoc) map[string]any {
	decl := map[string]any{}
	for _, s := range d.Streams {
		cols := []map[string]any{}
		for _, c := range s.Columns {
			t, _ := kql.ParseType(c.Type)
			cols = append(cols, map[string]any{"name": c.Name, "type": transform.TypeName(t)})
		}
		decl[s.Name] = map[string]any{"columns": cols}
	}
	la := []map[string]any{}
	for _, dst := range d.Destinations {
		la = append(la, map[string]any{"name": dst.Name, "workspaceResourceId": dst.WorkspaceResourceID, "workspaceId": dst.WorkspaceID})
	}
	flows := []map[string]any{}
	for _, f := range d.Flows {
		m := map[string]any{"streams": f.Streams, "destinations": f.Destinations}
		if f.TransformKql != "" {
			m["transformKql"] = f.TransformKql
		}
		if f.OutputStream != "" {
			m["outputStream"] = f.OutputStream
		}
		flows = append(flows, m)
	}
	props := map[string]any{
		"immutableId": d.ImmutableID, "streamDeclarations": decl, "destinations": map[string]any{"logAnalytics": la},
		"dataFlows": flows, "provisioningState": "Succeeded",
	}
	if d.Description != "" {
		props["description"] = d.Description
	}
	if d.EndpointID != "" {
		props["dataCollectionEndpointId"] = d.EndpointID
	}
	if strings.EqualFold(d.Kind, "Direct") {
		ep := p.logsEndpoint(r)
		props["endpoints"] = map[string]any{"logsIngestion": ep, "metricsIngestion": ep}
	}
	out := map[string]any{
		"id": res.ID, "name": res.Name, "type": TypeDataCollectionRule, "location": d.Location, "tags": nonNilTags(d.Tags),
		"properties": props,
	}
	if d.Kind != "" {
		out["kind"] = d.Kind
	}
	return out
}

func (p *Provider) getDCR(w http.ResponseWriter, r *arm.Request) error {
	id := p.dcID(r, "dataCollectionRules")
	if err := p.authorize(r, "Microsoft.Insights/dataCollectionRules/read", id.String()); err != nil {
		return err
	}
	var res *meta.Resource
	var doc *DCRDoc
	err := p.d.Store.View(r.Context(), func(tx meta.Tx) (err error) {
		_, res, doc, err = resources.LoadDoc[DCRDoc](r.Context(), tx, r.Caller, id, TypeDataCollectionRule)
		return err
	})
	if err != nil {
		return err
	}
	arm.WriteJSON(w, http.StatusOK, p.renderDCR(r, res, doc))
	return nil
}

func (p *Provider) listDCRs(w http.ResponseWriter, r *arm.Request) error {
	return listResources(p, w, r, TypeDataCollectionRule, "Microsoft.Insights/dataCollectionRules/read",
		func(res *meta.Resource, d *DCRDoc) map[string]any { return p.renderDCR(r, res, d) })
}

func (p *Provider) deleteDCR(w http.ResponseWriter, r *arm.Request) error {
	return p.deleteDC(w, r, p.dcID(r, "dataCollectionRules"), "Microsoft.Insights/dataCollectionRules/delete", dcrIndexKind)
}
