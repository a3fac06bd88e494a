package keyvault

import (
	"bytes"
	"context"
	"testing"
)

// BenchmarkWrapUnwrap measures a wrap and an unwrap of a 32-byte key with
// a software RSA-2048 key and RSA-OAEP-256: in the backend alone, and
// through the HTTP handler (authentication, authorization, metadata
// lookups, JSON).
func BenchmarkWrapUnwrap(b *testing.B) {
	aek := bytes.Repeat([]byte{0x42}, 32)
	b.Run("backend", func(b *testing.B) {
		ctx := context.Background()
		sb := newTestSoftware(testSealer(b))
		pub, ref, err := sb.GenerateRSA(ctx, 2048, "kv1/bench/v1")
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			wrapped, err := sb.Encrypt(ctx, ref, pub, AlgRSAOAEP256, aek)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := sb.Decrypt(ctx, ref, AlgRSAOAEP256, wrapped); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("handler", func(b *testing.B) {
		e := newEnv(b, envOptions{})
		e.create("bench", nil)
		body := map[string]any{"alg": AlgRSAOAEP256, "value": b64u(aek)}
		b.ReportAllocs()
		for b.Loop() {
			var w keyOperationResultWire
			e.must(e.op("bench", "", "wrapkey", body, adminTok), 200).json(b, &w)
			e.must(e.op("bench", "", "unwrapkey", map[string]any{"alg": AlgRSAOAEP256, "value": w.Value}, adminTok), 200)
		}
	})
}
