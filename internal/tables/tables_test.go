package tables

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

// The embedded catalog holds every table of the reference: hundreds of them.
// The floors catch a generator or data file that lost most of it.
const (
	minTables  = 700
	minColumns = 19000
)

func TestStandardSize(t *testing.T) {
	ts := Standard()
	cols := 0
	for _, tb := range ts {
		cols += len(tb.Columns)
	}
	t.Logf("%d tables, %d columns", len(ts), cols)
	if len(ts) < minTables {
		t.Errorf("%d tables, want at least %d", len(ts), minTables)
	}
	if cols < minColumns {
		t.Errorf("%d columns, want at least %d", cols, minColumns)
	}
}

func TestStandardValid(t *testing.T) {
	names := map[string]bool{}
	prev := ""
	for _, tb := range Standard() {
		if err := Validate(tb); err != nil {
			t.Error(err)
		}
		if names[tb.Name] {
			t.Errorf("table %s listed twice", tb.Name)
		}
		names[tb.Name] = true
		if key := strings.ToLower(tb.Name); key < prev {
			t.Errorf("table %s out of order after %s", tb.Name, prev)
		} else {
			prev = key
		}
		want := "TimeGenerated"
		if classic[tb.Name] {
			want = "timestamp"
		}
		if tb.TimeColumn != want {
			t.Errorf("table %s: time column %s, want %s", tb.Name, tb.TimeColumn, want)
		}
	}
}

var classic = map[string]bool{
	"requests": true, "dependencies": true, "exceptions": true, "traces": true, "customEvents": true,
	"customMetrics": true, "pageViews": true, "availabilityResults": true, "browserTimings": true,
	"performanceCounters": true,
}

func TestWellKnownTables(t *testing.T) {
	for _, name := range []string{
		"AzureDiagnostics", "SecurityEvent", "AzureMetrics", "Event", "Perf", "W3CIISLog", "Syslog",
		"Heartbeat", "AzureActivity", "Usage", "InsightsMetrics", "AppRequests", "AppTraces", "SigninLogs",
		"AuditLogs", "CommonSecurityLog", "OfficeActivity", "DeviceEvents", "DeviceProcessEvents",
		"SecurityAlert", "SecurityIncident", "IdentityInfo", "AADNonInteractiveUserSignInLogs",
		"ContainerLog", "KubePodInventory", "StorageBlobLogs", "ThreatIntelligenceIndicator",
	} {
		if _, ok := Lookup(name); !ok {
			t.Errorf("standard table %s is missing", name)
		}
	}
	for name := range classic {
		if _, ok := Lookup(name); !ok {
			t.Errorf("classic Application Insights table %s is missing", name)
		}
	}
}

// TestPinnedColumns pins columns and types of a few tables as the reference
// publishes them.
func TestPinnedColumns(t *testing.T) {
	pins := map[string]map[string]string{
		"Heartbeat": {
			"TimeGenerated": "datetime", "Computer": "string", "ComputerIP": "string", "OSType": "string",
			"Category": "string", "Version": "string", "ComputerPrivateIPs": "dynamic", "IsGatewayInstalled": "bool",
			"RemoteIPLatitude": "real", "RemoteIPLongitude": "real", "ResourceId": "string", "_ResourceId": "string",
			"SourceSystem": "string", "Type": "string", "VMUUID": "string", "_BilledSize": "real",
		},
		"SecurityEvent": {
			"TimeGenerated": "datetime", "EventID": "int", "Computer": "string", "Account": "string",
			"AccountType": "string", "LogonType": "int", "IpAddress": "string", "Activity": "string",
			"TargetUserName": "string", "SubjectUserName": "string", "EventData": "string", "TenantId": "string",
			"ErrorCode": "int",
		},
		"Perf": {
			"TimeGenerated": "datetime", "Computer": "string", "ObjectName": "string", "CounterName": "string",
			"InstanceName": "string", "CounterValue": "real", "CounterPath": "string", "SampleCount": "int",
			"Min": "real", "Max": "real", "BucketStartTime": "datetime",
		},
		"AzureDiagnostics": {
			"TimeGenerated": "datetime", "ResourceType": "string", "ResourceProvider": "string",
			"OperationName": "string", "Category": "string", "Resource": "string", "ResourceGroup": "string",
			"ResultType": "string", "CallerIPAddress": "string", "DurationMs": "long", "AdditionalFields": "dynamic",
			"identity_claim_appid_g": "guid", "httpStatusCode_d": "real", "isAccessPolicyMatch_b": "bool",
			"SubscriptionId": "string", "TenantId": "string", "Type": "string", "_ResourceId": "string",
		},
		"Syslog": {
			"TimeGenerated": "datetime", "Computer": "string", "Facility": "string", "SeverityLevel": "string",
			"SyslogMessage": "string", "ProcessID": "int", "HostIP": "string",
		},
		"SigninLogs": {
			"TimeGenerated": "datetime", "UserPrincipalName": "string", "ResultType": "string",
			"IPAddress": "string", "LocationDetails": "dynamic", "ConditionalAccessPolicies": "dynamic",
		},
		"requests": {
			"timestamp": "datetime", "id": "string", "name": "string", "url": "string", "success": "string",
			"resultCode": "string", "duration": "real", "itemType": "string", "customDimensions": "dynamic",
			"customMeasurements": "dynamic", "operation_Id": "string", "operation_Name": "string",
			"cloud_RoleName": "string", "appId": "string", "itemCount": "int",
		},
		"customMetrics": {"timestamp": "datetime", "name": "string", "value": "real", "valueCount": "int"},
		"exceptions":    {"timestamp": "datetime", "problemId": "string", "severityLevel": "int", "details": "dynamic"},
	}
	for name, cols := range pins {
		tb, ok := Lookup(name)
		if !ok {
			t.Errorf("table %s is missing", name)
			continue
		}
		for col, typ := range cols {
			c, ok := tb.Column(col)
			switch {
			case !ok:
				t.Errorf("%s.%s is missing", name, col)
			case c.Type != typ:
				t.Errorf("%s.%s has type %s, want %s", name, col, c.Type, typ)
			}
		}
	}
	if tb, _ := Lookup("AzureDiagnostics"); len(tb.Columns) < 200 {
		t.Errorf("AzureDiagnostics has %d columns; the reference's complete list has about 200", len(tb.Columns))
	}
	if tb, _ := Lookup("Heartbeat"); !contains(tb.Categories, "Virtual Machines") || !contains(tb.Solutions, "LogManagement") {
		t.Errorf("Heartbeat: categories %q, solutions %q", tb.Categories, tb.Solutions)
	}
	if tb, _ := Lookup("requests"); tb.TimeColumn != "timestamp" {
		t.Errorf("requests: time column %q, want timestamp", tb.TimeColumn)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestLookupIsCaseSensitive(t *testing.T) {
	if _, ok := Lookup("heartbeat"); ok {
		t.Error(`Lookup("heartbeat") found a table; Kusto table names are case-sensitive`)
	}
	if _, ok := Lookup("Requests"); ok {
		t.Error(`Lookup("Requests") found a table; the classic table is "requests"`)
	}
	if _, ok := Lookup("NoSuchTable"); ok {
		t.Error("Lookup of an unknown table succeeded")
	}
}

func TestCallersGetCopies(t *testing.T) {
	a, _ := Lookup("Heartbeat")
	a.Columns[0].Name = "Changed"
	a.Categories[0] = "Changed"
	b, _ := Lookup("Heartbeat")
	if b.Columns[0].Name == "Changed" || b.Categories[0] == "Changed" {
		t.Error("a change to a looked-up table reached the catalog")
	}
	all := Standard()
	all[0].Columns[0].Type = "changed"
	if Standard()[0].Columns[0].Type == "changed" {
		t.Error("a change to Standard's result reached the catalog")
	}
}

func TestCodecRoundTrip(t *testing.T) {
	in := []Table{
		{Name: "T1", TimeColumn: "TimeGenerated", Categories: []string{"A b", "C"}, Solutions: []string{"S"},
			Columns: []Column{{"TimeGenerated", "datetime"}, {"x", "long"}, {"_y", "dynamic"}}},
		{Name: "t2", TimeColumn: "timestamp", Columns: []Column{{"timestamp", "datetime"}}},
	}
	var buf bytes.Buffer
	if err := Encode(&buf, []string{"a header"}, in); err != nil {
		t.Fatal(err)
	}
	out, err := Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Errorf("round trip:\n got %+v\nwant %+v", out, in)
	}
}

func TestDecodeRejects(t *testing.T) {
	for name, text := range map[string]string{
		"column before table": "\tx\tlong\n",
		"unknown type":        "T\tTimeGenerated\t\t\n\tTimeGenerated\tdatetime\n\tx\tdecimal\n",
		"duplicate column":    "T\tTimeGenerated\t\t\n\tTimeGenerated\tdatetime\n\tx\tlong\n\tx\tlong\n",
		"duplicate table":     "T\tTimeGenerated\t\t\n\tTimeGenerated\tdatetime\nT\tTimeGenerated\t\t\n\tTimeGenerated\tdatetime\n",
		"no time column":      "T\tTimeGenerated\t\t\n\tx\tlong\n",
		"time column type":    "T\tTimeGenerated\t\t\n\tTimeGenerated\tstring\n",
		"bad table name":      "T-1\tTimeGenerated\t\t\n\tTimeGenerated\tdatetime\n",
		"short table line":    "T\tTimeGenerated\n\tTimeGenerated\tdatetime\n",
		"short column line":   "T\tTimeGenerated\t\t\n\tTimeGenerated\n",
	} {
		if _, err := Decode(strings.NewReader(text)); err == nil {
			t.Errorf("%s: Decode accepted %q", name, text)
		}
	}
}
