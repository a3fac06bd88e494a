package arm

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestValidateTags(t *testing.T) {
	many := func(n int) map[string]string {
		m := make(map[string]string, n)
		for i := range n {
			m[fmt.Sprintf("t%d", i)] = "v"
		}
		return m
	}
	for _, c := range []struct {
		name string
		tags map[string]string
		code string // "" = valid
	}{
		{"none", nil, ""},
		{"fifty", many(50), ""},
		{"fifty-one", many(51), "InvalidTagCount"},
		{"ten thousand", many(10000), "InvalidTagCount"},
		{"longest name and value", map[string]string{strings.Repeat("n", 512): strings.Repeat("v", 256)}, ""},
		{"name of 513", map[string]string{strings.Repeat("n", 513): "v"}, "InvalidTagNameLength"},
		{"name of 100000", map[string]string{strings.Repeat("n", 100000): "v"}, "InvalidTagNameLength"},
		{"empty name", map[string]string{"": "v"}, "InvalidTagNameLength"},
		{"value of 257", map[string]string{"a": strings.Repeat("v", 257)}, "InvalidTagValueLength"},
		{"value of 4 MiB", map[string]string{"a": strings.Repeat("v", 4<<20)}, "InvalidTagValueLength"},
		{"multibyte value of 256 runes", map[string]string{"a": strings.Repeat("é", 256)}, ""},
		{"slash in name", map[string]string{"a/b": "v"}, "InvalidTagNameCharacters"},
		{"names differing in case", map[string]string{"Env": "a", "env": "b"}, "InvalidTagName"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := ValidateTags(c.tags)
			if c.code == "" {
				if err != nil {
					t.Fatalf("ValidateTags: %v", err)
				}
				return
			}
			e, ok := AsError(err)
			if !ok || e.Status != http.StatusBadRequest || e.Code != c.code {
				t.Fatalf("ValidateTags = %v, want 400 %s", err, c.code)
			}
			if len(e.Message) > 400 {
				t.Fatalf("message of %d bytes echoes the input: %.100s…", len(e.Message), e.Message)
			}
		})
	}
}

func TestClip(t *testing.T) {
	for _, c := range []struct {
		in   string
		want string
	}{
		{"", ""},
		{"short", "short"},
		{strings.Repeat("a", 64), strings.Repeat("a", 64)},
		{strings.Repeat("a", 65), strings.Repeat("a", 64) + "…(65 bytes)"},
		{strings.Repeat("é", 100), strings.Repeat("é", 64) + "…(200 bytes)"},
	} {
		got := Clip(c.in)
		if got != c.want {
			t.Errorf("Clip(%d bytes) = %q, want %q", len(c.in), got, c.want)
		}
		if !utf8.ValidString(got) {
			t.Errorf("Clip(%d bytes) is not valid UTF-8", len(c.in))
		}
	}
}

func TestObjectTags(t *testing.T) {
	for _, c := range []struct {
		body   string
		ok     bool
		status int
	}{
		{`{}`, false, 0},
		{`{"tags":{"a":"b"}}`, true, 0},
		{`{"tags":{"a":1}}`, false, http.StatusBadRequest},
		{`{"tags":[]}`, false, http.StatusBadRequest},
		{`{"tags":{"a":"` + strings.Repeat("v", 300) + `"}}`, false, http.StatusBadRequest},
	} {
		v, err := DecodeLenient([]byte(c.body))
		if err != nil {
			t.Fatalf("%s: %v", c.body, err)
		}
		o, _ := AsObject(v)
		_, ok, err := o.Tags()
		if c.status != 0 {
			if e, isArm := AsError(err); !isArm || e.Status != c.status {
				t.Errorf("%s: Tags() err = %v, want %d", c.body, err, c.status)
			}
			continue
		}
		if err != nil || ok != c.ok {
			t.Errorf("%s: Tags() = %v, %v; want ok=%v", c.body, ok, err, c.ok)
		}
	}
}
