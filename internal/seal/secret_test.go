package seal

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

var secretBytes = []byte("hunter2-very-secret-key-material")

func TestSecretFmt(t *testing.T) {
	s := Secret(bytes.Clone(secretBytes))
	type holder struct {
		Name string
		Key  Secret
	}
	h := holder{Name: "k1", Key: s}
	tests := []struct {
		format string
		arg    any
	}{
		{"%v", s}, {"%s", s}, {"%+v", s}, {"%#v", s}, {"%q", s},
		{"%x", s}, {"%X", s}, {"% x", s}, {"%d", s}, {"%08b", s}, {"%c", s},
		{"%v", h}, {"%+v", h}, {"%#v", h}, {"%v", &h}, {"%+v", []Secret{s}},
		{"%v", map[string]Secret{"k": s}}, {"%v", any(s)},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			out := fmt.Sprintf(tt.format, tt.arg)
			if !strings.Contains(out, Redacted) {
				t.Errorf("%s gave %q, want it redacted", tt.format, out)
			}
			assertNoLeak(t, out, secretBytes)
		})
	}
	if got := fmt.Sprintf("%v %s %+v %#v", s, s, s, s); got != strings.Repeat(Redacted+" ", 3)+Redacted {
		t.Errorf("got %q", got)
	}
	if s.String() != Redacted || s.GoString() != Redacted {
		t.Error("String or GoString not redacted")
	}
}

func TestSecretSlog(t *testing.T) {
	s := Secret(bytes.Clone(secretBytes))
	handlers := []struct {
		name string
		new  func(*bytes.Buffer) slog.Handler
	}{
		{"json", func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) }},
		{"text", func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) }},
	}
	for _, h := range handlers {
		t.Run(h.name, func(t *testing.T) {
			var buf bytes.Buffer
			log := slog.New(h.new(&buf))
			log.Info("loaded key", "key", s)
			log.Info("loaded key", slog.Any("key", s), slog.Group("g", "key", s))
			log.With("key", s).Info("with")
			log.Info("struct", "holder", struct{ Key Secret }{s})
			out := buf.String()
			if !strings.Contains(out, Redacted) {
				t.Errorf("log output %q has no redaction marker", out)
			}
			assertNoLeak(t, out, secretBytes)
		})
	}
}

type xmlHolder struct {
	Key Secret
}

func TestSecretMarshalRefuses(t *testing.T) {
	s := Secret(bytes.Clone(secretBytes))
	tests := []struct {
		name    string
		marshal func() ([]byte, error)
	}{
		{"json", func() ([]byte, error) { return json.Marshal(s) }},
		{"json field", func() ([]byte, error) { return json.Marshal(struct{ Key Secret }{s}) }},
		{"json map value", func() ([]byte, error) { return json.Marshal(map[string]Secret{"k": s}) }},
		{"xml", func() ([]byte, error) { return xml.Marshal(xmlHolder{Key: s}) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := tt.marshal()
			if !errors.Is(err, ErrSecretMarshal) {
				t.Errorf("err %v, want ErrSecretMarshal", err)
			}
			assertNoLeak(t, string(out), secretBytes)
			if err != nil {
				assertNoLeak(t, err.Error(), secretBytes)
			}
		})
	}
}

func TestSecretZero(t *testing.T) {
	s := Secret(bytes.Clone(secretBytes))
	s.Zero()
	if !bytes.Equal(s, make([]byte, len(secretBytes))) {
		t.Fatal("Zero left bytes behind")
	}
	Secret(nil).Zero() // no panic
}
