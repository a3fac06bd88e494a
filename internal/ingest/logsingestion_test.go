package ingest

import (
	"errors"
	"testing"
)

func TestParseLogsPath(t *testing.T) {
	for _, c := range []struct {
		path, rule, stream string
		ok                 bool
	}{
		{"/dataCollectionRules/dcr-1/streams/Custom-App", "dcr-1", "Custom-App", true},
		{"/dataCollectionRules/dcr-1/streams/", "", "", false},
		{"/dataCollectionRules//streams/x", "", "", false},
		{"/dataCollectionRules/dcr-1/streams/a/b", "", "", false},
		{"/dataCollectionRules/dcr-1/other/a", "", "", false},
		{"/api/logs", "", "", false},
	} {
		rule, stream, ok := parseLogsPath(c.path)
		if ok != c.ok || rule != c.rule || stream != c.stream {
			t.Errorf("parseLogsPath(%q) = %q, %q, %v", c.path, rule, stream, ok)
		}
	}
}

func TestDecodeRecords(t *testing.T) {
	for _, c := range []struct {
		name, body string
		n          int // records; -1: error
	}{
		{"two", `[{"a":1},{"b":"x"}]`, 2},
		{"spaces", " [ {} ] ", 1},
		{"empty array", `[]`, -1},
		{"object", `{"a":1}`, -1},
		{"not an object", `[{"a":1},2]`, -1},
		{"trailing", `[{}] x`, -1},
		{"truncated", `[{"a":`, -1},
		{"empty", ``, -1},
	} {
		t.Run(c.name, func(t *testing.T) {
			recs, err := decodeRecords([]byte(c.body))
			if c.n < 0 {
				var le *logsError
				if !errors.As(err, &le) || le.status != 400 {
					t.Fatalf("err = %v, want a 400", err)
				}
				return
			}
			if err != nil || len(recs) != c.n {
				t.Fatalf("= %d records, %v; want %d", len(recs), err, c.n)
			}
		})
	}
}

func FuzzDecodeRecords(f *testing.F) {
	for _, s := range []string{`[{"a":1}]`, `[]`, `{}`, `[{"a":[1,{"b":null}]},{}]`, `[1]`, ``} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		recs, err := decodeRecords(b)
		if err == nil && len(recs) == 0 {
			t.Fatal("no records and no error")
		}
	})
}

func FuzzParseLogsPath(f *testing.F) {
	f.Add("/dataCollectionRules/dcr-1/streams/Custom-App")
	f.Fuzz(func(t *testing.T, p string) {
		rule, stream, ok := parseLogsPath(p)
		if ok && (rule == "" || stream == "") {
			t.Fatal("empty rule or stream accepted")
		}
	})
}
