package kek

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
)

// fakeClient is a Client over an in-memory key; each field may inject a
// failure.
type fakeClient struct {
	info              KeyInfo
	getErr, wrapErr   error
	unwrapErr         error
	corruptUnwrap     bool
	lastWrapVersion   string
	lastUnwrapVersion string
}

func (f *fakeClient) GetKey(ctx context.Context, ref KeyRef) (*KeyInfo, error) {
	if f.getErr != nil {
		return nil, f.getErr
	}
	i := f.info
	return &i, nil
}

func (f *fakeClient) Wrap(ctx context.Context, ref KeyRef, p []byte) ([]byte, string, error) {
	f.lastWrapVersion = ref.Version
	if f.wrapErr != nil {
		return nil, "", f.wrapErr
	}
	out := append([]byte("w:"), p...)
	return out, f.info.KID, nil
}

func (f *fakeClient) Unwrap(ctx context.Context, ref KeyRef, w []byte) ([]byte, error) {
	f.lastUnwrapVersion = ref.Version
	if f.unwrapErr != nil {
		return nil, f.unwrapErr
	}
	out := bytes.Clone(w[2:])
	if f.corruptUnwrap {
		out[0] ^= 1
	}
	return out, nil
}

func responseError(status int, code string) error {
	return responseErrorInner(status, code, "")
}

func responseErrorInner(status int, code, inner string) error {
	body := `{"error":{"code":"` + code + `","message":"m"`
	if inner != "" {
		body += `,"innererror":{"code":"` + inner + `"}`
	}
	body += `}}`
	resp := &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(body)), Request: &http.Request{Method: "GET"}}
	resp.Request.URL, _ = resp.Request.URL.Parse("https://kv.vault.localhost/keys/k")
	return runtime.NewResponseError(resp)
}

func goodInfo() KeyInfo {
	return KeyInfo{KID: "https://kv.vault.localhost/keys/k/v1", Version: "v1", Kty: "RSA", Bits: 2048, Enabled: true,
		RecoveryLevel: "Recoverable"}
}

func TestValidate(t *testing.T) {
	past, future := time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	tests := []struct {
		name    string
		mutate  func(*fakeClient)
		minBits int
		want    string // condition; "" = valid
	}{
		{name: "valid", mutate: func(*fakeClient) {}},
		{name: "valid HSM key 3072", mutate: func(f *fakeClient) { f.info.Kty, f.info.Bits = "RSA-HSM", 3072 }, minBits: 3072},
		{name: "protected subscription level", mutate: func(f *fakeClient) { f.info.RecoveryLevel = "Recoverable+ProtectedSubscription" }},
		{name: "no purge protection", mutate: func(f *fakeClient) { f.info.RecoveryLevel = "Recoverable+Purgeable" }, want: "KeyVaultNotRecoverable"},
		{name: "no soft delete", mutate: func(f *fakeClient) { f.info.RecoveryLevel = "Purgeable" }, want: "KeyVaultNotRecoverable"},
		{name: "disabled", mutate: func(f *fakeClient) { f.info.Enabled = false }, want: "KeyDisabled"},
		{name: "expired", mutate: func(f *fakeClient) { f.info.Expires = &past }, want: "KeyExpired"},
		{name: "not yet valid", mutate: func(f *fakeClient) { f.info.NotBefore = &future }, want: "KeyNotYetValid"},
		{name: "EC key", mutate: func(f *fakeClient) { f.info.Kty = "EC" }, want: "KeyTypeNotSupported"},
		{name: "key_ops allow wrap", mutate: func(f *fakeClient) { f.info.Ops = []string{"wrapKey", "unwrapKey", "sign"} }},
		{name: "key_ops without unwrap", mutate: func(f *fakeClient) { f.info.Ops = []string{"wrapKey", "sign"} }, want: "KeyOperationNotAllowed"},
		{name: "too small", mutate: func(f *fakeClient) {}, minBits: 3072, want: "KeySizeTooSmall"},
		{name: "no get permission", mutate: func(f *fakeClient) { f.getErr = classify("get", KeyRef{}, responseError(403, "Forbidden")) }, want: "KeyVaultAccessDenied"},
		{name: "vault missing", mutate: func(f *fakeClient) { f.getErr = classify("get", KeyRef{}, responseError(404, "NotFound")) }, want: "KeyVaultNotFound"},
		{name: "disabled between get and wrap", mutate: func(f *fakeClient) {
			f.wrapErr = classify("wrapKey", KeyRef{}, responseErrorInner(403, "Forbidden", "KeyDisabled"))
		}, want: "KeyDisabled"},
		{name: "key missing", mutate: func(f *fakeClient) { f.getErr = classify("get", KeyRef{}, responseError(404, "KeyNotFound")) }, want: "KeyNotFound"},
		{name: "no wrap permission", mutate: func(f *fakeClient) { f.wrapErr = classify("wrapKey", KeyRef{}, responseError(403, "Forbidden")) }, want: "KeyVaultAccessDenied"},
		{name: "no unwrap permission", mutate: func(f *fakeClient) { f.unwrapErr = classify("unwrapKey", KeyRef{}, responseError(403, "Forbidden")) }, want: "KeyVaultAccessDenied"},
		{name: "vault down", mutate: func(f *fakeClient) { f.getErr = classify("get", KeyRef{}, responseError(503, "ServiceUnavailable")) }, want: "KeyVaultRequestFailed"},
		{name: "unreachable", mutate: func(f *fakeClient) { f.getErr = classify("get", KeyRef{}, errors.New("dial tcp: connection refused")) }, want: "KeyVaultUnreachable"},
		{name: "round trip mismatch", mutate: func(f *fakeClient) { f.corruptUnwrap = true }, want: "KeyRoundTripFailed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeClient{info: goodInfo()}
			tt.mutate(f)
			info, err := Validate(context.Background(), f, KeyRef{VaultURI: "https://kv.vault.localhost/", Name: "k"}, tt.minBits)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				if info.Version != "v1" || f.lastWrapVersion != "v1" || f.lastUnwrapVersion != "v1" {
					t.Fatalf("round trip did not pin the version: %q %q", f.lastWrapVersion, f.lastUnwrapVersion)
				}
				return
			}
			var fl *Failure
			if !errors.As(err, &fl) || fl.Condition != tt.want {
				t.Fatalf("Validate error = %v, want condition %s", err, tt.want)
			}
			if fl.Message == "" {
				t.Fatal("failure without message")
			}
		})
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		err  error
		want error
	}{
		{responseError(401, "Unauthorized"), ErrRevoked},
		{responseError(403, "Forbidden"), ErrRevoked},
		{responseError(404, "KeyNotFound"), ErrRevoked},
		{responseError(429, "Throttled"), ErrTransient},
		{responseError(500, "InternalError"), ErrTransient},
		{responseError(503, "ServiceUnavailable"), ErrTransient},
		{errors.New("dial tcp 127.0.0.1:1: connection refused"), ErrTransient},
	}
	for _, tt := range tests {
		got := classify("unwrapKey", KeyRef{VaultURI: "https://kv", Name: "k", Version: "v"}, tt.err)
		if !errors.Is(got, tt.want) {
			t.Errorf("classify(%v) = %v, want class %v", tt.err, got, tt.want)
		}
		if strings.Contains(got.Error(), "w:") {
			t.Errorf("error leaks data: %v", got)
		}
	}
	if err := classify("get", KeyRef{}, context.Canceled); !errors.Is(err, context.Canceled) {
		t.Errorf("cancellation must stay cancellation, got %v", err)
	}
}
