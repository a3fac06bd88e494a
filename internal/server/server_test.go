package server

import (
	"context"
	"io"
	"log/slog"
	"testing"
)

// TestStopWhileStarting: a server asked to stop while it is still starting
// (loading keys, opening the storage engine) shuts down cleanly instead of
// reporting the cancellation as a failure.
func TestStopWhileStarting(t *testing.T) {
	for i := 0; i < 3; i++ {
		srv, err := New(context.Background(), Config{Listen: "127.0.0.1:0", DataDir: t.TempDir(),
			Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := srv.Serve(ctx); err != nil {
			t.Fatalf("Serve after an immediate stop: %v", err)
		}
	}
}

func TestConfigValidation(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"feature approval", Config{FeatureApproval: "sometimes"}},
		{"refresh too short", Config{KeyRefreshInterval: 5_000_000_000}},
		{"refresh too long", Config{KeyRefreshInterval: 61_000_000_000}},
		{"outage buffering", Config{OutageBuffering: "drop"}},
		{"public url", Config{PublicURL: "http://x/"}},
		{"tls pair", Config{TLSCert: "c.pem"}},
		{"pkcs11 label", Config{PKCS11Module: "/lib/x.so"}},
		{"negative delay", Config{ProvisioningDelay: -1}},
		{"client share above 100%", Config{AdmissionClientShare: 101}},
		{"negative client share", Config{AdmissionClientShare: -1}},
		{"bodies too small for one post", Config{IngestBodyBytes: 16 << 20}},
		{"a share of bodies too small for one post", Config{IngestBodyBytes: 40 << 20, AdmissionClientShare: 50}},
		{"batches too small for one post", Config{IngestBatchBytes: 40 << 20, AdmissionClientShare: 100}},
		{"negative batches", Config{IngestBatchBytes: -1}},
		{"negative header timeout", Config{ReadHeaderTimeout: -1}},
		{"negative replay entries", Config{CollectorReplayEntries: -1}},
	}
	for _, tt := range tests {
		if err := tt.cfg.setDefaults(); err == nil {
			t.Errorf("%s: accepted", tt.name)
		}
	}
	var ok Config
	if err := ok.setDefaults(); err != nil || ok.Listen != DefaultListen || ok.KeyRefreshInterval != DefaultKeyRefreshInterval || ok.OutageBuffering != "platform" {
		t.Fatalf("defaults: %+v, %v", ok, err)
	}
	if ok.IngestBodyBytes != DefaultIngestBodyBytes || ok.IngestBatchBytes != DefaultIngestBatchBytes || ok.AdmissionClientShare != DefaultAdmissionClientShare ||
		ok.AdmissionWait != DefaultAdmissionWait || ok.BodyMinRate != DefaultBodyMinRate || ok.BodyReadGrace != DefaultBodyReadGrace ||
		ok.ReadHeaderTimeout != DefaultReadHeaderTimeout || ok.IdleTimeout != DefaultIdleTimeout {
		t.Fatalf("admission defaults: %+v", ok)
	}
}
