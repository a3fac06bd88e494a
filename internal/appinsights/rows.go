package appinsights

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/kustodian/kustodian/internal/ingest"
	"github.com/kustodian/kustodian/internal/tables"
)

// kind is one telemetry type: the workspace table it goes to and how its
// baseData becomes that table's columns.
type kind struct {
	table string
	cells func(bd map[string]json.RawMessage, row *row) *itemError
}

// kinds maps baseType to its kind.
var kinds = map[string]kind{
	"RequestData":            {"AppRequests", requestCells},
	"RemoteDependencyData":   {"AppDependencies", dependencyCells},
	"ExceptionData":          {"AppExceptions", exceptionCells},
	"MessageData":            {"AppTraces", messageCells},
	"EventData":              {"AppEvents", eventCells},
	"MetricData":             {"AppMetrics", metricCells},
	"PageViewData":           {"AppPageViews", pageViewCells},
	"AvailabilityData":       {"AppAvailabilityResults", availabilityCells},
	"PerformanceCounterData": {"AppPerformanceCounters", perfCounterCells},
}

// tagColumns maps context tags to the workspace tables' columns.
var tagColumns = map[string]string{
	"ai.operation.id":              "OperationId",
	"ai.operation.name":            "OperationName",
	"ai.operation.parentId":        "ParentId",
	"ai.operation.syntheticSource": "SyntheticSource",
	"ai.session.id":                "SessionId",
	"ai.user.id":                   "UserId",
	"ai.user.authUserId":           "UserAuthenticatedId",
	"ai.user.accountId":            "UserAccountId",
	"ai.application.ver":           "AppVersion",
	"ai.cloud.role":                "AppRoleName",
	"ai.cloud.roleInstance":        "AppRoleInstance",
	"ai.device.type":               "ClientType",
	"ai.device.model":              "ClientModel",
	"ai.device.osVersion":          "ClientOS",
	"ai.device.browserVersion":     "ClientBrowser",
	"ai.location.ip":               "ClientIP",
	"ai.location.city":             "ClientCity",
	"ai.location.province":         "ClientStateOrProvince",
	"ai.location.country":          "ClientCountryOrRegion",
	"ai.internal.sdkVersion":       "SDKVersion",
}

// row is one item's values by column name, before typing.
type row struct {
	vals map[string]any // string, float64, int64, bool, json.RawMessage (dynamic)
}

func (r *row) set(col string, v any) { r.vals[col] = v }

// Component is what the track API needs of an Application Insights
// component.
type Component struct {
	// ResourceID is the component's Resource Manager id.
	ResourceID string
	// Name is the component's name (appName in the classic tables).
	Name string
	// AppID is the component's application id (ResourceGUID in rows).
	AppID string
	// InstrumentationKey authenticates senders when local auth is on.
	InstrumentationKey string
	// DisableLocalAuth requires a Microsoft Entra token to send.
	DisableLocalAuth bool
	// DisableIPMasking keeps client IPs; otherwise they are stored as
	// 0.0.0.0, as Azure does.
	DisableIPMasking bool
	// Workspace is where the component's rows go: the workspace's customer
	// id (or the component's own storage id for a classic component) and
	// the storage route, for the Sink.
	Workspace *ingest.Workspace
}

// batches collects typed rows per table.
type batches struct {
	customerID string
	byTable    map[string]*tableBatch
	order      []string
}

type tableBatch struct {
	b     *ingest.Batch
	types map[string]string // column → ingest type, from the standard schema
	cols  map[string]*ingest.Column
}

func newBatches(customerID string) *batches {
	return &batches{customerID: customerID, byTable: map[string]*tableBatch{}}
}

func (bs *batches) table(name string) *tableBatch {
	if t := bs.byTable[name]; t != nil {
		return t
	}
	std, _ := tables.Lookup(name)
	t := &tableBatch{b: &ingest.Batch{CustomerID: bs.customerID, Table: name}, types: map[string]string{}, cols: map[string]*ingest.Column{}}
	for _, c := range std.Columns {
		switch c.Type {
		case "int", "long":
			t.types[c.Name] = ingest.TypeInt
		case "real":
			t.types[c.Name] = ingest.TypeReal
		case "bool":
			t.types[c.Name] = ingest.TypeBool
		case "datetime":
			t.types[c.Name] = ingest.TypeDatetime
		case "dynamic":
			t.types[c.Name] = ingest.TypeDynamic
		default:
			t.types[c.Name] = ingest.TypeString
		}
	}
	bs.byTable[name] = t
	bs.order = append(bs.order, name)
	return t
}

// list returns the batches in the order their tables first appeared.
func (bs *batches) list() []*ingest.Batch {
	out := make([]*ingest.Batch, 0, len(bs.order))
	for _, name := range bs.order {
		out = append(out, bs.byTable[name].b)
	}
	return out
}

// add appends a row; every column is typed per the standard schema, and a
// column the table's schema lacks (ItemCount in AppPerformanceCounters) is
// left out.
func (t *tableBatch) add(tg int64, r *row) {
	b := t.b
	b.TimeGenerated = append(b.TimeGenerated, tg)
	for name, v := range r.vals {
		c := t.cols[name]
		if c == nil {
			typ, ok := t.types[name]
			if !ok {
				continue
			}
			c = &ingest.Column{Name: name, Type: typ, Valid: make([]bool, b.Rows)}
			switch typ {
			case ingest.TypeInt:
				c.Ints = make([]int64, b.Rows)
			case ingest.TypeReal:
				c.Reals = make([]float64, b.Rows)
			case ingest.TypeBool:
				c.Bools = make([]bool, b.Rows)
			case ingest.TypeDatetime:
				c.Times = make([]int64, b.Rows)
			default:
				c.Strings = make([]string, b.Rows)
			}
			t.cols[name] = c
			b.Columns = append(b.Columns, c)
		}
		appendValue(c, v)
	}
	b.Rows++
	for _, c := range b.Columns {
		if len(c.Valid) < b.Rows {
			appendValue(c, nil)
		}
	}
}

// appendValue appends v (nil for null) converted to c's type.
func appendValue(c *ingest.Column, v any) {
	valid := v != nil
	switch c.Type {
	case ingest.TypeInt:
		var n int64
		switch x := v.(type) {
		case int64:
			n = x
		case float64:
			n = int64(x)
		}
		c.Ints = append(c.Ints, n)
	case ingest.TypeReal:
		f, _ := v.(float64)
		c.Reals = append(c.Reals, f)
	case ingest.TypeBool:
		b, _ := v.(bool)
		c.Bools = append(c.Bools, b)
	case ingest.TypeDatetime:
		n, _ := v.(int64)
		c.Times = append(c.Times, n)
	default:
		var s string
		switch x := v.(type) {
		case string:
			s = x
		case json.RawMessage:
			s = string(x)
		case bool:
			s = strconv.FormatBool(x)
		case float64:
			s = strconv.FormatFloat(x, 'g', -1, 64)
		case int64:
			s = strconv.FormatInt(x, 10)
		}
		c.Strings = append(c.Strings, s)
	}
	c.Valid = append(c.Valid, valid)
}

// fields reads baseData's members.
type fields map[string]json.RawMessage

func (f fields) str(name string) (string, bool, *itemError) {
	raw, ok := f[name]
	if !ok || string(raw) == "null" {
		return "", false, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false, badItem("Field '%s' must be a string.", name)
	}
	return s, true, nil
}

func (f fields) num(name string) (float64, bool, *itemError) {
	raw, ok := f[name]
	if !ok || string(raw) == "null" {
		return 0, false, nil
	}
	var n float64
	if err := json.Unmarshal(raw, &n); err != nil || math.IsInf(n, 0) {
		return 0, false, badItem("Field '%s' must be a number.", name)
	}
	return n, true, nil
}

func (f fields) boolean(name string) (bool, bool, *itemError) {
	raw, ok := f[name]
	if !ok || string(raw) == "null" {
		return false, false, nil
	}
	var b bool
	if err := json.Unmarshal(raw, &b); err != nil {
		// Some SDKs send "true"/"false".
		var s string
		if json.Unmarshal(raw, &s) == nil {
			if v, err := strconv.ParseBool(s); err == nil {
				return v, true, nil
			}
		}
		return false, false, badItem("Field '%s' must be a boolean.", name)
	}
	return b, true, nil
}

// required returns a missing-field error in Azure's wording.
func required(name, typ, expected string) *itemError {
	return badItem("Field '%s' on type '%s' is required but missing or empty. Expected: %s, Actual: undefined", name, typ, expected)
}

// strCol copies a string field to a column; req makes it required.
func strCol(f fields, r *row, field, col, typ string, req bool) *itemError {
	s, ok, err := f.str(field)
	if err != nil {
		return err
	}
	if !ok || s == "" {
		if req {
			return required(field, typ, "string")
		}
		return nil
	}
	r.set(col, s)
	return nil
}

func durationCol(f fields, r *row, typ string, req bool) *itemError {
	s, ok, err := f.str("duration")
	if err != nil {
		return err
	}
	if !ok || s == "" {
		if req {
			return required("duration", typ, "string")
		}
		return nil
	}
	ms, valid := parseDuration(s)
	if !valid {
		return badItem("Field 'duration' on type '%s' is not a valid TimeSpan: '%s'.", typ, clip(s))
	}
	r.set("DurationMs", ms)
	return nil
}

func successCol(f fields, r *row, dflt bool) *itemError {
	b, ok, err := f.boolean("success")
	if err != nil {
		return err
	}
	if !ok {
		b = dflt
	}
	r.set("Success", b)
	return nil
}

// dynamicCol copies an object member (properties, measurements) as JSON.
func dynamicCol(f fields, r *row, field, col string) *itemError {
	raw, ok := f[field]
	if !ok || string(raw) == "null" {
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return badItem("Field '%s' must be an object.", field)
	}
	if len(m) == 0 {
		return nil
	}
	text, _ := json.Marshal(m) // compact, keys sorted
	r.set(col, json.RawMessage(text))
	return nil
}

func all(errs ...*itemError) *itemError {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

func requestCells(bd map[string]json.RawMessage, r *row) *itemError {
	f := fields(bd)
	const typ = "RequestData"
	return all(strCol(f, r, "id", "Id", typ, true), strCol(f, r, "name", "Name", typ, false),
		durationCol(f, r, typ, true), strCol(f, r, "responseCode", "ResultCode", typ, true),
		successCol(f, r, true), strCol(f, r, "source", "Source", typ, false), strCol(f, r, "url", "Url", typ, false),
		dynamicCol(f, r, "properties", "Properties"), dynamicCol(f, r, "measurements", "Measurements"))
}

func dependencyCells(bd map[string]json.RawMessage, r *row) *itemError {
	f := fields(bd)
	const typ = "RemoteDependencyData"
	return all(strCol(f, r, "id", "Id", typ, false), strCol(f, r, "name", "Name", typ, true),
		durationCol(f, r, typ, true), strCol(f, r, "resultCode", "ResultCode", typ, false), successCol(f, r, true),
		strCol(f, r, "data", "Data", typ, false), strCol(f, r, "target", "Target", typ, false),
		strCol(f, r, "type", "DependencyType", typ, false),
		dynamicCol(f, r, "properties", "Properties"), dynamicCol(f, r, "measurements", "Measurements"))
}

// severity reads severityLevel: a number 0–4 or its name.
func severity(f fields, r *row) *itemError {
	raw, ok := f["severityLevel"]
	if !ok || string(raw) == "null" {
		return nil
	}
	var n float64
	if json.Unmarshal(raw, &n) == nil && n >= 0 && n <= 4 && n == math.Trunc(n) {
		r.set("SeverityLevel", int64(n))
		return nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		for i, name := range []string{"Verbose", "Information", "Warning", "Error", "Critical"} {
			if strings.EqualFold(s, name) {
				r.set("SeverityLevel", int64(i))
				return nil
			}
		}
	}
	return badItem("Field 'severityLevel' must be 0 to 4 or Verbose, Information, Warning, Error or Critical.")
}

func messageCells(bd map[string]json.RawMessage, r *row) *itemError {
	f := fields(bd)
	return all(strCol(f, r, "message", "Message", "MessageData", true), severity(f, r),
		dynamicCol(f, r, "properties", "Properties"), dynamicCol(f, r, "measurements", "Measurements"))
}

func eventCells(bd map[string]json.RawMessage, r *row) *itemError {
	f := fields(bd)
	return all(strCol(f, r, "name", "Name", "EventData", true),
		dynamicCol(f, r, "properties", "Properties"), dynamicCol(f, r, "measurements", "Measurements"))
}

func pageViewCells(bd map[string]json.RawMessage, r *row) *itemError {
	f := fields(bd)
	const typ = "PageViewData"
	return all(strCol(f, r, "name", "Name", typ, true), strCol(f, r, "id", "Id", typ, false),
		strCol(f, r, "url", "Url", typ, false), durationCol(f, r, typ, false),
		dynamicCol(f, r, "properties", "Properties"), dynamicCol(f, r, "measurements", "Measurements"))
}

func availabilityCells(bd map[string]json.RawMessage, r *row) *itemError {
	f := fields(bd)
	const typ = "AvailabilityData"
	if _, ok, _ := f.boolean("success"); !ok {
		return required("success", typ, "bool")
	}
	return all(strCol(f, r, "id", "Id", typ, true), strCol(f, r, "name", "Name", typ, true),
		durationCol(f, r, typ, true), successCol(f, r, false), strCol(f, r, "runLocation", "Location", typ, false),
		strCol(f, r, "message", "Message", typ, false),
		dynamicCol(f, r, "properties", "Properties"), dynamicCol(f, r, "measurements", "Measurements"))
}

func perfCounterCells(bd map[string]json.RawMessage, r *row) *itemError {
	f := fields(bd)
	const typ = "PerformanceCounterData"
	if err := all(strCol(f, r, "categoryName", "Category", typ, true), strCol(f, r, "counterName", "Counter", typ, true),
		strCol(f, r, "instanceName", "Instance", typ, false), dynamicCol(f, r, "properties", "Properties")); err != nil {
		return err
	}
	if s, _, _ := f.str("counterName"); s != "" {
		r.set("Name", s)
	}
	v, ok, err := f.num("value")
	if err != nil {
		return err
	}
	if !ok {
		return required("value", typ, "double")
	}
	r.set("Value", v)
	return nil
}

func metricCells(bd map[string]json.RawMessage, r *row) *itemError {
	var points []map[string]json.RawMessage
	if err := json.Unmarshal(bd["metrics"], &points); err != nil || len(points) == 0 {
		return required("metrics", "MetricData", "array")
	}
	if len(points) > 1 {
		return badItem("MetricData must have exactly one data point in 'metrics'; it has %d.", len(points))
	}
	p := fields(points[0])
	const typ = "DataPoint"
	if err := strCol(p, r, "name", "Name", typ, true); err != nil {
		return err
	}
	v, ok, err := p.num("value")
	if err != nil {
		return err
	}
	if !ok {
		return required("value", typ, "double")
	}
	r.set("Sum", v)
	count, hasCount, err := p.num("count")
	if err != nil {
		return err
	}
	if hasCount && count >= 1 && count == math.Trunc(count) {
		r.set("ItemCount", int64(count))
	}
	for _, m := range [][2]string{{"min", "Min"}, {"max", "Max"}} {
		x, has, err := p.num(m[0])
		if err != nil {
			return err
		}
		if !has {
			x = v
		}
		r.set(m[1], x)
	}
	return dynamicCol(fields(bd), r, "properties", "Properties")
}

// exception is one entry of ExceptionData.exceptions.
type exception struct {
	TypeName    string `json:"typeName"`
	Message     string `json:"message"`
	ParsedStack []struct {
		Assembly string `json:"assembly"`
		Method   string `json:"method"`
	} `json:"parsedStack"`
}

func exceptionCells(bd map[string]json.RawMessage, r *row) *itemError {
	f := fields(bd)
	const typ = "ExceptionData"
	var list []exception
	if err := json.Unmarshal(bd["exceptions"], &list); err != nil || len(list) == 0 {
		return required("exceptions", typ, "array")
	}
	for i, e := range list {
		if e.TypeName == "" {
			return required(fmt.Sprintf("exceptions[%d].typeName", i), "ExceptionDetails", "string")
		}
	}
	frame := func(e exception) (assembly, method string) {
		if len(e.ParsedStack) > 0 {
			return e.ParsedStack[0].Assembly, e.ParsedStack[0].Method
		}
		return "", ""
	}
	outer, inner := list[0], list[len(list)-1]
	oa, om := frame(outer)
	ia, im := frame(inner)
	setNonEmpty := func(col, v string) {
		if v != "" {
			r.set(col, v)
		}
	}
	setNonEmpty("ExceptionType", outer.TypeName)
	setNonEmpty("Message", outer.Message)
	setNonEmpty("Assembly", oa)
	setNonEmpty("Method", om)
	setNonEmpty("OuterType", outer.TypeName)
	setNonEmpty("OuterMessage", outer.Message)
	setNonEmpty("OuterAssembly", oa)
	setNonEmpty("OuterMethod", om)
	setNonEmpty("InnermostType", inner.TypeName)
	setNonEmpty("InnermostMessage", inner.Message)
	setNonEmpty("InnermostAssembly", ia)
	setNonEmpty("InnermostMethod", im)
	r.set("Details", json.RawMessage(bd["exceptions"]))
	problem, _, err := f.str("problemId")
	if err != nil {
		return err
	}
	if problem == "" {
		problem = outer.TypeName
		if om != "" {
			problem += " at " + om
		}
	}
	r.set("ProblemId", problem)
	return all(severity(f, r), dynamicCol(f, r, "properties", "Properties"), dynamicCol(f, r, "measurements", "Measurements"))
}

// itemRow maps a checked envelope to its table and row: the kind's columns,
// the context tags and the component's columns. received is the time of
// receipt (ticks).
func itemRow(env *Envelope, c *Component, received int64) (string, int64, *row, *itemError) {
	k := kinds[env.Data.BaseType]
	var bd map[string]json.RawMessage
	if err := json.Unmarshal(env.Data.BaseData, &bd); err != nil {
		return "", 0, nil, badItem("Field 'baseData' must be an object.")
	}
	r := &row{vals: make(map[string]any, 24)}
	if err := k.cells(bd, r); err != nil {
		return "", 0, nil, err
	}
	for tag, v := range env.Tags {
		if col, ok := tagColumns[tag]; ok && v != "" {
			r.set(col, v)
		}
	}
	if ip, ok := r.vals["ClientIP"]; ok && !c.DisableIPMasking && ip != "" {
		r.set("ClientIP", "0.0.0.0")
	}
	r.set("IKey", strings.ToLower(c.InstrumentationKey))
	r.set("ResourceGUID", c.AppID)
	r.set("_ResourceId", strings.ToLower(c.ResourceID))
	if _, ok := r.vals["ItemCount"]; !ok {
		count := int64(1)
		if env.SampleRate != nil && *env.SampleRate > 0 && *env.SampleRate < 100 {
			count = int64(math.Round(100 / *env.SampleRate))
		}
		r.set("ItemCount", count)
	}
	given, has := parseTime(env.Time)
	return k.table, ingest.ResolveTimeGenerated(given, has, received), r, nil
}
