package main

import (
	"reflect"
	"testing"

	"github.com/kustodian/kustodian/internal/tables"
)

func TestParsePageWithInclude(t *testing.T) {
	body := []byte(`---
title: Azure Monitor Logs reference - Heartbeat
---

# Heartbeat

Records logged by agents.

## Table attributes

|Attribute|Value|
|---|---|
|**Resource types**|microsoft.compute/virtualmachines,<br>microsoft.kubernetes/connectedclusters|
|**Categories**|Virtual Machines, Containers, IT & Management Tools|
|**Solutions**| LogManagement|
|**Basic log**|No|

## Columns

[!INCLUDE [heartbeat](./includes/heartbeat-include.md)]
`)
	pg, err := parsePage(body)
	if err != nil {
		t.Fatal(err)
	}
	want := &page{name: "Heartbeat", include: "./includes/heartbeat-include.md",
		categories: []string{"Virtual Machines", "Containers", "IT & Management Tools"}, solutions: []string{"LogManagement"}}
	if !reflect.DeepEqual(pg, want) {
		t.Errorf("got %+v\nwant %+v", pg, want)
	}
}

func TestParsePageInline(t *testing.T) {
	body := []byte(`# AzureDiagnostics

## AdditionalFields column

| Column 1 | Column 2 |
|:---|:---|
| abc | def |

## Categories

- Azure Resources
- Security

## Solutions

- LogManagement

## Columns

|Column|Type|Description|
|---|---|---|
|ActivityId_g|Guid||
|AdditionalFields|||
|DurationMs|BigInt||
`)
	pg, err := parsePage(body)
	if err != nil {
		t.Fatal(err)
	}
	want := &page{name: "AzureDiagnostics", categories: []string{"Azure Resources", "Security"}, solutions: []string{"LogManagement"},
		rows: []row{{"ActivityId_g", "Guid"}, {"AdditionalFields", ""}, {"DurationMs", "BigInt"}}}
	if !reflect.DeepEqual(pg, want) {
		t.Errorf("got %+v\nwant %+v", pg, want)
	}
}

func TestParsePageNotATable(t *testing.T) {
	pg, err := parsePage([]byte("# Log Analytics tables for microsoft.web/sites\n\n## Columns\n"))
	if err != nil || pg != nil {
		t.Errorf("got %+v, %v; want no page", pg, err)
	}
}

func TestAddColumns(t *testing.T) {
	tb := &tables.Table{Name: "T"}
	notes, err := addColumns(tb, []row{
		{"TimeGenerated", "DateTime"}, {"a", "Double"}, {"b", "Guid"}, {"a", "real"}, {"b", "String"},
		{"c", "boolean"}, {"d", "BigInt"}, {"AdditionalFields", ""}, {"e", "timespan"},
	}, "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	col := func(name, typ string) tables.Column { return tables.Column{Name: name, Type: typ} }
	want := []tables.Column{col("TimeGenerated", "datetime"), col("a", "real"), col("b", "string"), col("c", "bool"),
		col("d", "long"), col("AdditionalFields", "dynamic"), col("e", "timespan")}
	if !reflect.DeepEqual(tb.Columns, want) {
		t.Errorf("got %v\nwant %v", tb.Columns, want)
	}
	if len(notes) != 1 {
		t.Errorf("notes %q, want one on b's two types", notes)
	}
	if _, err := addColumns(tb, []row{{"x", "decimal128"}}, "test", nil); err == nil {
		t.Error("an unknown type was accepted")
	}
	if _, err := addColumns(tb, []row{{"x", ""}}, "test", nil); err == nil {
		t.Error("a blank type was accepted for a column other than AdditionalFields")
	}
}
