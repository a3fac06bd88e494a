package monitor

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/kustodian/kustodian/internal/arm"
	"github.com/kustodian/kustodian/internal/kql"
	"github.com/kustodian/kustodian/internal/meta"
	"github.com/kustodian/kustodian/internal/resources"
	"github.com/kustodian/kustodian/internal/tables"
	"github.com/kustodian/kustodian/internal/transform"
)

// TypeTable is the resource type of a workspace's table.
const TypeTable = "Microsoft.OperationalInsights/workspaces/tables"

// Table sub-types: a DCR-based table has a declared schema; a classic one
// is typed by the Data Collector API's data.
const (
	SubTypeDCR     = "DataCollectionRuleBased"
	SubTypeClassic = "Classic"
)

// Limits of the tables API (Azure's documented values).
const (
	MaxTableColumns      = 500 // per table, custom columns
	maxTableNameLength   = 63
	minRetentionDays     = 4
	maxRetentionDays     = 730
	maxTotalRetentionDay = 4383 // 12 years
)

// TableColumn is a column of a table's schema. Type is the Query API's
// name of the type (string, int, long, real, bool, datetime, guid,
// dynamic).
type TableColumn struct {
	Name        string `json:"name"`
	Type        string `json:"type"`
	Description string `json:"description,omitempty"`
}

// TableDoc is a table's stored state: a custom (_CL) table's declared
// schema, or the _CF columns added to a standard table, with retention and
// plan. Version counts schema changes (the schema is versioned metadata).
type TableDoc struct {
	Name                 string        `json:"name"`
	Standard             bool          `json:"standard,omitempty"`
	SubType              string        `json:"subType"`
	Columns              []TableColumn `json:"columns"`
	Plan                 string        `json:"plan"`
	RetentionInDays      int64         `json:"retentionInDays,omitempty"` // 0: the workspace's
	TotalRetentionInDays int64         `json:"totalRetentionInDays,omitempty"`
	Description          string        `json:"description,omitempty"`
	Version              int64         `json:"version"`
	PlanModified         time.Time     `json:"planModified"`
}

var tableNameRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)

// Schema returns every column of the table: for a standard table its
// standard columns then the custom ones; for a custom table the declared
// columns.
func (d *TableDoc) Schema() []TableColumn {
	if !d.Standard {
		return d.Columns
	}
	std, _ := tables.Lookup(d.Name)
	out := make([]TableColumn, 0, len(std.Columns)+len(d.Columns))
	for _, c := range std.Columns {
		out = append(out, TableColumn{Name: c.Name, Type: c.Type})
	}
	return append(out, d.Columns...)
}

// LookupTable returns the table of a workspace (by its resource id) that
// ingestion may write with a schema: a custom table created through the
// tables API, or a standard table (with its custom columns). It returns
// an error wrapping meta.ErrNotFound for any other name.
func LookupTable(ctx context.Context, tx meta.Tx, workspaceResourceID, name string) (*TableDoc, error) {
	wsID, err := arm.ParseResourceID(workspaceResourceID)
	if err != nil {
		return nil, err
	}
	res, err := tx.Resource(ctx, wsID.Child("", "tables", name).String())
	if err == nil {
		doc, err := resources.DecodeDoc[TableDoc](res)
		if err == nil && doc.Name != name {
			return nil, meta.ErrNotFound // names are case-sensitive in KQL
		}
		return doc, err
	}
	if !errors.Is(err, meta.ErrNotFound) {
		return nil, err
	}
	if std, ok := tables.Lookup(name); ok && std.TimeColumn == "TimeGenerated" {
		return &TableDoc{Name: name, Standard: true, SubType: SubTypeDCR, Plan: "Analytics"}, nil
	}
	return nil, meta.ErrNotFound
}

func tableID(r *arm.Request) arm.ResourceID {
	return workspaceID(r).Child("", "tables", r.Params["tableName"])
}

// parseColumns reads properties.schema.columns.
func parseColumns(schema arm.Object) ([]TableColumn, error) {
	raw, _, err := schema.Array("columns")
	if err != nil {
		return nil, badContent(err)
	}
	var out []TableColumn
	seen := map[string]bool{}
	for i, v := range raw {
		o, ok := arm.AsObject(v)
		if !ok {
			return nil, arm.BadRequest("InvalidParameter", "properties.schema.columns[%d] is not an object.", i)
		}
		name, _, err := o.String("name")
		if err != nil {
			return nil, badContent(err)
		}
		typ, _, err := o.String("type")
		if err != nil {
			return nil, badContent(err)
		}
		desc, _, _ := o.String("description")
		if !tableNameRE.MatchString(name) || len(name) > 500 {
			return nil, arm.BadRequest("InvalidParameter",
				"The column name '%s' is invalid: use letters, digits and underscores, starting with a letter.", arm.Clip(name))
		}
		kt, ok := transform.ParseType(typ)
		if !ok || kt == kql.TypeTimespan {
			return nil, arm.BadRequest("InvalidParameter",
				"The column '%s' has the type '%s', which is not supported: use string, int, long, real, boolean, dateTime, guid or dynamic.", name, arm.Clip(typ))
		}
		if seen[strings.ToLower(name)] {
			return nil, arm.BadRequest("InvalidParameter", "The column '%s' is listed twice.", name)
		}
		seen[strings.ToLower(name)] = true
		out = append(out, TableColumn{Name: name, Type: kt.String(), Description: desc})
	}
	return out, nil
}

// reservedColumns are produced by the service for every table.
var reservedColumns = []string{"TenantId", "Type", "_ResourceId", "_SubscriptionId", "_ItemId", "_IsBillable", "_BilledSize", "_TimeReceived"}

func (p *Provider) putTable(w http.ResponseWriter, r *arm.Request) error {
	ctx := r.Context()
	wsID, id := workspaceID(r), tableID(r)
	name := r.Params["tableName"]
	if err := p.authorize(r, "Microsoft.OperationalInsights/workspaces/tables/write", id.String()); err != nil {
		return err
	}
	std, isStd := tables.Lookup(name)
	isStd = isStd && std.TimeColumn == "TimeGenerated"
	custom := strings.HasSuffix(name, "_CL")
	if !tableNameRE.MatchString(name) || len(name) > maxTableNameLength || (!custom && !isStd) {
		return arm.BadRequest("InvalidTableName",
			"The table name '%s' is invalid: a custom table's name ends in _CL (letters, digits and underscores, at most %d characters); other names must be Azure Monitor's standard tables.", arm.Clip(name), maxTableNameLength)
	}
	body, err := r.Body()
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
	schema, _, err := props.Object("schema")
	if err != nil {
		return badContent(err)
	}
	var cols []TableColumn
	hasSchema := schema != nil && schema.Has("columns")
	if hasSchema {
		if cols, err = parseColumns(schema); err != nil {
			return err
		}
	}
	plan, _, err := props.String("plan")
	if err != nil {
		return badContent(err)
	}
	switch {
	case plan == "":
	case strings.EqualFold(plan, "Analytics"):
		plan = "Analytics"
	case strings.EqualFold(plan, "Basic"):
		plan = "Basic"
	default:
		return arm.BadRequest("InvalidParameter", "The plan '%s' is invalid: use Analytics or Basic.", arm.Clip(plan))
	}
	retention, hasRet, err := props.Int("retentionInDays")
	if err != nil {
		return badContent(err)
	}
	total, hasTotal, err := props.Int("totalRetentionInDays")
	if err != nil {
		return badContent(err)
	}
	if hasRet && retention != -1 && (retention < minRetentionDays || retention > maxRetentionDays) {
		return arm.BadRequest("InvalidParameter", "retentionInDays %d is invalid: use %d to %d, or -1 for the workspace's.", retention, minRetentionDays, maxRetentionDays)
	}
	if hasTotal && total != -1 && (total < minRetentionDays || total > maxTotalRetentionDay) {
		return arm.BadRequest("InvalidParameter", "totalRetentionInDays %d is invalid: use %d to %d, or -1 for the default.", total, minRetentionDays, maxTotalRetentionDay)
	}
	if custom {
		if !hasSchema {
			return arm.BadRequest("InvalidParameter", "A custom table needs properties.schema.columns, with a TimeGenerated column of type dateTime.")
		}
		tg := false
		for _, c := range cols {
			if c.Name == "TimeGenerated" {
				if c.Type != "datetime" {
					return arm.BadRequest("InvalidParameter", "The column TimeGenerated must have the type dateTime, not %s.", c.Type)
				}
				tg = true
			}
		}
		if !tg {
			return arm.BadRequest("InvalidParameter", "A custom table needs a TimeGenerated column of type dateTime.")
		}
	} else {
		// A standard table takes only custom columns, named *_CF.
		for _, c := range cols {
			if _, ok := std.Column(c.Name); ok {
				return arm.BadRequest("InvalidParameter", "The column '%s' is a standard column of %s: list only the custom columns (named *_CF).", c.Name, name)
			}
			if !strings.HasSuffix(c.Name, "_CF") {
				return arm.BadRequest("InvalidParameter", "The column '%s' cannot be added to the standard table %s: custom columns of a standard table end in _CF.", c.Name, name)
			}
		}
	}
	for _, c := range cols {
		for _, rc := range reservedColumns {
			if strings.EqualFold(c.Name, rc) {
				return arm.BadRequest("InvalidParameter", "The column '%s' is reserved: the service produces it.", c.Name)
			}
		}
	}
	if len(cols) > MaxTableColumns {
		return arm.BadRequest("InvalidParameter", "The table has %d columns; a table has at most %d.", len(cols), MaxTableColumns)
	}
	now := p.d.Now()
	var res *meta.Resource
	var doc *TableDoc
	err = p.d.Store.Update(ctx, func(tx meta.Tx) error {
		wsRes, _, err := p.loadWorkspace(ctx, tx, r)
		if err != nil {
			return err
		}
		res, err = tx.Resource(ctx, id.String())
		switch {
		case errors.Is(err, meta.ErrNotFound):
			res = &meta.Resource{ID: id.String(), Type: TypeTable, SubscriptionID: id.SubscriptionID, ResourceGroup: id.ResourceGroup,
				Name: name, Location: wsRes.Location, CreatedAt: now}
			doc = &TableDoc{Name: name, Standard: !custom, SubType: SubTypeDCR, Plan: "Analytics", PlanModified: now}
		case err != nil:
			return err
		default:
			if doc, err = resources.DecodeDoc[TableDoc](res); err != nil {
				return err
			}
		}
		if hasSchema {
			old := map[string]string{}
			for _, c := range doc.Columns {
				old[strings.ToLower(c.Name)] = c.Type
			}
			for _, c := range cols {
				if t, ok := old[strings.ToLower(c.Name)]; ok && t != c.Type {
					return arm.BadRequest("InvalidParameter", "The column '%s' has the type %s; a column's type cannot change.", c.Name, t)
				}
			}
			doc.Columns = cols
			doc.Version++
		}
		if plan != "" && plan != doc.Plan {
			doc.Plan, doc.PlanModified = plan, now
		}
		if hasRet {
			doc.RetentionInDays = max(retention, 0)
		}
		if hasTotal {
			doc.TotalRetentionInDays = max(total, 0)
		}
		if doc.TotalRetentionInDays != 0 && doc.RetentionInDays != 0 && doc.TotalRetentionInDays < doc.RetentionInDays {
			return arm.BadRequest("InvalidParameter", "totalRetentionInDays %d is less than retentionInDays %d.", doc.TotalRetentionInDays, doc.RetentionInDays)
		}
		res.Body, res.UpdatedAt = resources.EncodeDoc(doc), now
		return tx.PutResource(ctx, res)
	})
	if err != nil {
		return err
	}
	op := &arm.Operation{
		ID: newGUID(), Namespace: NamespaceOperationalInsights, Location: res.Location, SubscriptionID: wsID.SubscriptionID,
		ResourceID: res.ID, Action: "Microsoft.OperationalInsights/workspaces/tables/write", StartTime: now, DoneAt: now,
	}
	return p.d.Ops.Accept(w, r, op, http.StatusAccepted, p.renderTable(res.ID, doc, 0))
}

// renderTable is a table's wire form. wsRetention is the workspace's
// retention (0 when unknown: 30).
func (p *Provider) renderTable(id string, d *TableDoc, wsRetention int64) map[string]any {
	if wsRetention == 0 {
		wsRetention = 30
	}
	ret, total := d.RetentionInDays, d.TotalRetentionInDays
	if ret == 0 {
		ret = wsRetention
	}
	if total == 0 {
		total = ret
	}
	cols := []map[string]any{}
	for _, c := range d.Columns {
		cols = append(cols, columnJSON(c))
	}
	schema := map[string]any{
		"name": d.Name, "columns": cols, "tableSubType": d.SubType,
		"standardColumns": []map[string]any{{"name": "TenantId", "type": "guid"}, {"name": "Type", "type": "string"}},
	}
	if d.Standard {
		std, _ := tables.Lookup(d.Name)
		sc := []map[string]any{}
		for _, c := range std.Columns {
			sc = append(sc, columnJSON(TableColumn{Name: c.Name, Type: c.Type}))
		}
		schema["standardColumns"], schema["tableType"], schema["source"] = sc, "Microsoft", "microsoft"
		schema["solutions"], schema["categories"] = nonNilStrings(std.Solutions), nonNilStrings(std.Categories)
	} else {
		schema["tableType"], schema["source"] = "CustomLog", "customer"
		if d.Description != "" {
			schema["description"] = d.Description
		}
	}
	return map[string]any{
		"id": id, "name": d.Name, "type": TypeTable,
		"properties": map[string]any{
			"retentionInDays": ret, "totalRetentionInDays": total, "archiveRetentionInDays": total - ret,
			"retentionInDaysAsDefault": d.RetentionInDays == 0, "totalRetentionInDaysAsDefault": d.TotalRetentionInDays == 0,
			"plan": d.Plan, "lastPlanModifiedDate": rfc3339(d.PlanModified), "provisioningState": "Succeeded",
			"schema": schema,
		},
	}
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func columnJSON(c TableColumn) map[string]any {
	t, _ := transform.ParseType(c.Type)
	m := map[string]any{"name": c.Name, "type": transform.TableTypeName(t), "isDefaultDisplay": false, "isHidden": false}
	if c.Description != "" {
		m["description"] = c.Description
	}
	return m
}

// loadTable reads a table for the control plane: a stored one, a standard
// one without customisation, or a classic (Data Collector) one known to
// storage.
func (p *Provider) loadTable(ctx context.Context, tx meta.Tx, r *arm.Request) (*TableDoc, int64, error) {
	_, ws, err := p.loadWorkspace(ctx, tx, r)
	if err != nil {
		return nil, 0, err
	}
	name := r.Params["tableName"]
	doc, err := LookupTable(ctx, tx, workspaceID(r).String(), name)
	if err == nil {
		return doc, ws.RetentionInDays, nil
	}
	if !errors.Is(err, meta.ErrNotFound) {
		return nil, 0, err
	}
	if p.d.StoredTable != nil && strings.HasSuffix(name, "_CL") {
		cols, ok, err := p.d.StoredTable(ctx, ws.CustomerID, name)
		if err != nil {
			return nil, 0, err
		}
		if ok {
			return &TableDoc{Name: name, SubType: SubTypeClassic, Columns: cols, Plan: "Analytics"}, ws.RetentionInDays, nil
		}
	}
	return nil, 0, arm.Errorf(http.StatusNotFound, "ResourceNotFound", "The table '%s' was not found in the workspace '%s'.", arm.Clip(name), r.Params["workspaceName"])
}

func (p *Provider) getTable(w http.ResponseWriter, r *arm.Request) error {
	ctx := r.Context()
	if err := p.authorize(r, "Microsoft.OperationalInsights/workspaces/tables/read", tableID(r).String()); err != nil {
		return err
	}
	var doc *TableDoc
	var wsRet int64
	err := p.d.Store.View(ctx, func(tx meta.Tx) (err error) {
		doc, wsRet, err = p.loadTable(ctx, tx, r)
		return err
	})
	if err != nil {
		return err
	}
	arm.WriteJSON(w, http.StatusOK, p.renderTable(tableID(r).String(), doc, wsRet))
	return nil
}

// listTables lists Azure's standard tables (with their custom columns)
// and the workspace's custom tables.
func (p *Provider) listTables(w http.ResponseWriter, r *arm.Request) error {
	ctx := r.Context()
	wsID := workspaceID(r)
	if err := p.authorize(r, "Microsoft.OperationalInsights/workspaces/tables/read", wsID.String()); err != nil {
		return err
	}
	var out []any
	err := p.d.Store.View(ctx, func(tx meta.Tx) error {
		_, ws, err := p.loadWorkspace(ctx, tx, r)
		if err != nil {
			return err
		}
		stored := map[string]*TableDoc{}
		list, err := tx.Resources(ctx, meta.ResourceQuery{Type: TypeTable, ParentID: wsID.String()})
		if err != nil {
			return err
		}
		for _, res := range list {
			doc, err := resources.DecodeDoc[TableDoc](res)
			if err != nil {
				return err
			}
			stored[doc.Name] = doc
		}
		for _, t := range tables.Standard() {
			if t.TimeColumn != "TimeGenerated" {
				continue
			}
			doc := stored[t.Name]
			if doc == nil {
				doc = &TableDoc{Name: t.Name, Standard: true, SubType: SubTypeDCR, Plan: "Analytics"}
			}
			delete(stored, t.Name)
			out = append(out, p.renderTable(wsID.Child("", "tables", t.Name).String(), doc, ws.RetentionInDays))
		}
		for _, res := range list {
			if doc := stored[res.Name]; doc != nil {
				out = append(out, p.renderTable(res.ID, doc, ws.RetentionInDays))
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return listResponse(w, out)
}

func (p *Provider) deleteTable(w http.ResponseWriter, r *arm.Request) error {
	ctx := r.Context()
	id := tableID(r)
	if err := p.authorize(r, "Microsoft.OperationalInsights/workspaces/tables/delete", id.String()); err != nil {
		return err
	}
	var loc string
	gone := false
	err := p.d.Store.Update(ctx, func(tx meta.Tx) error {
		wsRes, _, err := p.loadWorkspace(ctx, tx, r)
		if err != nil {
			return err
		}
		loc = wsRes.Location
		res, err := tx.Resource(ctx, id.String())
		if errors.Is(err, meta.ErrNotFound) {
			if _, ok := tables.Lookup(r.Params["tableName"]); ok {
				return arm.BadRequest("InvalidParameter", "The standard table '%s' cannot be deleted.", r.Params["tableName"])
			}
			gone = true
			return nil
		} else if err != nil {
			return err
		}
		doc, err := resources.DecodeDoc[TableDoc](res)
		if err != nil {
			return err
		}
		if doc.Standard {
			// Deleting a standard table removes its custom columns.
			doc.Columns, doc.Version = nil, doc.Version+1
			res.Body, res.UpdatedAt = resources.EncodeDoc(doc), p.d.Now()
			return tx.PutResource(ctx, res)
		}
		return tx.DeleteResource(ctx, res.ID)
	})
	if err != nil {
		return err
	}
	if gone {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	now := p.d.Now()
	op := &arm.Operation{
		ID: newGUID(), Namespace: NamespaceOperationalInsights, Location: loc, SubscriptionID: id.SubscriptionID,
		ResourceID: id.String(), Action: "Microsoft.OperationalInsights/workspaces/tables/delete", StartTime: now, DoneAt: now, NoContent: true,
	}
	return p.d.Ops.Accept(w, r, op, http.StatusAccepted, nil)
}

// migrateTable turns a classic (Data Collector) custom table into a
// DCR-based one: its schema becomes the columns stored so far, declared.
func (p *Provider) migrateTable(w http.ResponseWriter, r *arm.Request) error {
	ctx := r.Context()
	id := tableID(r)
	name := r.Params["tableName"]
	if err := p.authorize(r, "Microsoft.OperationalInsights/workspaces/tables/migrate/action", id.String()); err != nil {
		return err
	}
	now := p.d.Now()
	return p.d.Store.Update(ctx, func(tx meta.Tx) error {
		doc, _, err := p.loadTable(ctx, tx, r)
		if err != nil {
			return err
		}
		if doc.SubType == SubTypeDCR {
			w.WriteHeader(http.StatusOK)
			return nil // already DCR-based
		}
		wsRes, _, err := p.loadWorkspace(ctx, tx, r)
		if err != nil {
			return err
		}
		doc.SubType, doc.Version, doc.PlanModified = SubTypeDCR, 1, now
		res := &meta.Resource{ID: id.String(), Type: TypeTable, SubscriptionID: id.SubscriptionID, ResourceGroup: id.ResourceGroup,
			Name: name, Location: wsRes.Location, CreatedAt: now, UpdatedAt: now, Body: resources.EncodeDoc(doc)}
		if err := tx.PutResource(ctx, res); err != nil {
			return err
		}
		w.WriteHeader(http.StatusOK)
		return nil
	})
}
