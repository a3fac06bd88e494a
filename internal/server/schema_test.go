package server

import (
	"errors"
	"testing"

	"github.com/kustodian/kustodian/internal/kql"
	"github.com/kustodian/kustodian/internal/monitor"
	"github.com/kustodian/kustodian/internal/store"
)

func schemaTypes(t *testing.T, s *kql.Schema) map[string]kql.Type {
	t.Helper()
	m := map[string]kql.Type{}
	for _, c := range s.Columns {
		if _, dup := m[c.Name]; dup {
			t.Errorf("%s: column %s listed twice", s.Name, c.Name)
		}
		m[c.Name] = c.Type
	}
	return m
}

func TestWorkspaceSchemaStandardWithoutData(t *testing.T) {
	s, err := workspaceSchema("Heartbeat", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := schemaTypes(t, s)
	for name, want := range map[string]kql.Type{
		"TimeGenerated": kql.TypeDatetime, "Computer": kql.TypeString, "IsGatewayInstalled": kql.TypeBool,
		"RemoteIPLatitude": kql.TypeReal, "ComputerPrivateIPs": kql.TypeDynamic,
		// Not in the reference's Heartbeat page, but every table has them.
		colTenantID: kql.TypeString, colType: kql.TypeString,
	} {
		if got[name] != want {
			t.Errorf("Heartbeat.%s: %v, want %v", name, got[name], want)
		}
	}
	if s, err := workspaceSchema("SecurityEvent", nil, nil); err != nil || schemaTypes(t, s)["EventID"] != kql.TypeInt {
		t.Errorf("SecurityEvent.EventID: %v, %v", s, err)
	}
}

func TestWorkspaceSchemaMergesStoredColumns(t *testing.T) {
	stored := []store.ColumnSchema{
		{Name: store.TimeColumn, Type: store.TypeDateTime},
		{Name: "Computer", Type: store.TypeString},
		{Name: "EventID", Type: store.TypeString}, // the standard type wins
		{Name: "Extra_s", Type: store.TypeString}, // a column the reference does not list
	}
	s, err := workspaceSchema("SecurityEvent", stored, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := schemaTypes(t, s)
	if got["EventID"] != kql.TypeInt {
		t.Errorf("EventID: %v, want the standard int", got["EventID"])
	}
	if got["Extra_s"] != kql.TypeString {
		t.Errorf("Extra_s: %v, want the stored string", got["Extra_s"])
	}
	if got["Account"] != kql.TypeString || got[store.TimeColumn] != kql.TypeDatetime {
		t.Errorf("standard columns missing: %v", got)
	}
}

func TestWorkspaceSchemaCustomAndUnknown(t *testing.T) {
	s, err := workspaceSchema("MyApp_CL", []store.ColumnSchema{
		{Name: store.TimeColumn, Type: store.TypeDateTime}, {Name: "level_s", Type: store.TypeString}, {Name: "n_d", Type: store.TypeReal},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range s.Columns {
		names = append(names, c.Name)
	}
	want := []string{store.TimeColumn, "level_s", "n_d", colTenantID, colType, colSourceSystem}
	if len(names) != len(want) {
		t.Fatalf("columns %v, want %v", names, want)
	}
	for i := range want {
		if names[i] != want[i] {
			t.Fatalf("columns %v, want %v", names, want)
		}
	}
	for _, name := range []string{"NoSuchTable", "heartbeat", "requests"} {
		// requests is a classic Application Insights table: not a
		// workspace's.
		if _, err := workspaceSchema(name, nil, nil); !errors.Is(err, kql.ErrTableNotFound) {
			t.Errorf("%s: %v, want ErrTableNotFound", name, err)
		}
	}
}

// TestWorkspaceSchemaDeclared: a table the tables API declares exists with
// its declared columns before any data arrives, and a declared type wins
// over a stored one.
func TestWorkspaceSchemaDeclared(t *testing.T) {
	declared := []monitor.TableColumn{{Name: store.TimeColumn, Type: "dateTime"}, {Name: "Level", Type: "string"}, {Name: "Count", Type: "long"}, {Name: "Ok", Type: "boolean"}}
	s, err := workspaceSchema("Declared_CL", nil, declared)
	if err != nil {
		t.Fatal(err)
	}
	got := schemaTypes(t, s)
	for name, want := range map[string]kql.Type{store.TimeColumn: kql.TypeDatetime, "Level": kql.TypeString, "Count": kql.TypeLong, "Ok": kql.TypeBool, colType: kql.TypeString} {
		if got[name] != want {
			t.Errorf("%s: %v, want %v (schema %v)", name, got[name], want, got)
		}
	}
	s, err = workspaceSchema("Declared_CL", []store.ColumnSchema{{Name: store.TimeColumn, Type: store.TypeDateTime}, {Name: "Count", Type: store.TypeReal}, {Name: "Extra", Type: store.TypeString}}, declared)
	if err != nil {
		t.Fatal(err)
	}
	if got := schemaTypes(t, s); got["Count"] != kql.TypeLong || got["Extra"] != kql.TypeString {
		t.Errorf("with data: %v", got)
	}
	if _, err := workspaceSchema("Declared_CL", nil, []monitor.TableColumn{{Name: "x", Type: "banana"}}); err == nil {
		t.Error("an unknown declared type is accepted")
	}
}
