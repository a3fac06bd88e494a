package keyvault

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/kustodian/kustodian/internal/meta"
)

func b64u(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func unb64u(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("%q is not unpadded base64url: %v", s, err)
	}
	return b
}

func TestNewRequiresOptions(t *testing.T) {
	e := newEnv(t, envOptions{})
	good := Options{Store: e.svc.store, Vaults: e.vaults, Software: e.software, VerifyToken: e.verify,
		AuthorityHost: "https://h/", DNSSuffix: "vault.localhost"}
	for name, mut := range map[string]func(*Options){
		"store":     func(o *Options) { o.Store = nil },
		"vaults":    func(o *Options) { o.Vaults = nil },
		"software":  func(o *Options) { o.Software = nil },
		"verify":    func(o *Options) { o.VerifyToken = nil },
		"authority": func(o *Options) { o.AuthorityHost = "" },
		"suffix":    func(o *Options) { o.DNSSuffix = "" },
		"bad":       func(o *Options) { o.DNSSuffix = "https://x" },
	} {
		o := good
		mut(&o)
		if _, err := New(o); err == nil {
			t.Errorf("%s: New accepted missing or bad option", name)
		}
	}
	if _, err := New(good); err != nil {
		t.Fatal(err)
	}
}

func TestAddressing(t *testing.T) {
	e := newEnv(t, envOptions{})
	s := e.svc
	if got := s.VaultURI("KV1", "8443"); got != "https://kv1.vault.localhost:8443/" {
		t.Errorf("VaultURI = %s", got)
	}
	if got := s.VaultURI("kv1", ""); got != "https://kv1.vault.localhost/" {
		t.Errorf("VaultURI = %s", got)
	}
	for host, want := range map[string]string{
		"kv1.vault.localhost:8443": "https://vault.localhost:8443",
		"kv1.vault.localhost":      "https://vault.localhost",
		"localhost:9000":           "https://vault.localhost:9000",
	} {
		if got := s.Audience(host); got != want {
			t.Errorf("Audience(%s) = %s, want %s", host, got, want)
		}
	}
	for _, tc := range []struct {
		host, path string
		match      bool
	}{
		{"kv1.vault.localhost:8443", "/keys", true},
		{"KV1.Vault.Localhost", "/", true},
		{"vault.localhost:8443", "/keys", false},
		{"a.b.vault.localhost", "/keys", false},
		{"localhost:8443", "/keyvault/kv1/keys", true},
		{"localhost:8443", "/keyvault/kv1", false},
		{"localhost:8443", "/subscriptions/x", false},
	} {
		r, _ := http.NewRequest("GET", "https://"+tc.host+tc.path, nil)
		r.Host = tc.host
		if got := s.Match(r); got != tc.match {
			t.Errorf("Match(%s%s) = %v", tc.host, tc.path, got)
		}
	}
}

func TestAuthentication(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.create("k", nil)
	wantChallenge := `Bearer authorization="https://127.0.0.1:8443/` + tenantA + `", resource="https://vault.localhost:8443"`
	for _, tc := range []struct {
		name, tok string
		aud       string
	}{
		{"no token", "", testAud},
		{"malformed token", "nonsense", testAud},
		{"another service's audience", adminTok, "https://management.azure.com"},
		{"another port's audience", adminTok, "https://vault.localhost:9443"},
		{"other tenant", token(tenantB, adminOID), testAud},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.audience = tc.aud
			defer func() { e.audience = testAud }()
			r := e.must(e.do("GET", "/keys/k", tc.tok, nil), 401)
			if got := r.header.Get("WWW-Authenticate"); got != wantChallenge {
				t.Errorf("challenge %q, want %q", got, wantChallenge)
			}
			if code, _, _ := r.err(t); code != "Unauthorized" {
				t.Errorf("code %s", code)
			}
		})
	}
	// The challenge a path-style request gets names the same audience.
	r := e.must(e.doHost("localhost:8443", "POST", "/keyvault/kv1/keys/k/create", "", nil), 401)
	if got := r.header.Get("WWW-Authenticate"); got != wantChallenge {
		t.Errorf("path-style challenge %q", got)
	}
	e.must(e.do("GET", "/keys/k", adminTok, nil), 200)
}

func TestRequestErrors(t *testing.T) {
	e := newEnv(t, envOptions{})
	for _, tc := range []struct {
		name, method, path string
		status             int
		code               string
	}{
		{"no api-version", "GET", "/keys?x=1&api-version=", 400, "BadParameter"},
		{"unknown api-version", "GET", "/keys?api-version=2015-06-01", 400, "BadParameter"},
		{"rotation before 7.3", "POST", "/keys/k/rotate?api-version=7.2", 400, "BadParameter"},
		{"rotation policy before 7.3", "GET", "/keys/k/rotationpolicy?api-version=7.1", 400, "BadParameter"},
		{"random bytes before 7.3", "POST", "/rng?api-version=2016-10-01", 400, "BadParameter"},
		{"unknown path", "GET", "/secrets", 404, "NotFound"},
		{"deep path", "POST", "/keys/k/v/wrapkey/x", 404, "NotFound"},
		{"bad action", "POST", "/keys/k/0123456789abcdef0123456789abcdef/frobnicate", 404, "NotFound"},
		{"method on list", "POST", "/keys", 405, "MethodNotAllowed"},
		{"method on create", "GET", "/keys/k/create", 405, "MethodNotAllowed"},
		{"method on wrap", "GET", "/keys/k/v/wrapkey", 405, "MethodNotAllowed"},
		{"method on deleted", "PUT", "/deletedkeys/k", 405, "MethodNotAllowed"},
		{"unknown key", "GET", "/keys/nope", 404, "KeyNotFound"},
		{"unknown version", "GET", "/keys/nope/0123456789abcdef0123456789abcdef", 404, "KeyNotFound"},
		{"bad name", "POST", "/keys/bad_name/create", 400, "BadParameter"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.must(e.do(tc.method, tc.path, adminTok, "{}"), tc.status)
			if code, _, _ := r.err(t); code != tc.code {
				t.Errorf("code %s, want %s", code, tc.code)
			}
		})
	}
	// Unknown vault.
	r := e.must(e.doHost("nope.vault.localhost:8443", "GET", "/keys", adminTok, nil), 404)
	if code, _, _ := r.err(t); code != "NotFound" {
		t.Errorf("unknown vault: %s", code)
	}
	// Every api-version is served.
	for _, v := range APIVersions {
		e.must(e.do("GET", "/keys?api-version="+v, adminTok, nil), 200)
	}
	r = e.must(e.do("GET", "/keys/nope", adminTok, nil), 404)
	if _, _, msg := r.err(t); !strings.HasPrefix(msg, "A key with (name/id) nope was not found in this key vault.") {
		t.Errorf("404 message %q", msg)
	}
}

func TestCreateKeyShape(t *testing.T) {
	e := newEnv(t, envOptions{})
	r := e.must(e.do("POST", "/keys/MyKey/create", adminTok, map[string]any{
		"kty": "RSA", "key_size": 2048, "tags": map[string]string{"env": "test"},
	}), 200)
	var raw map[string]map[string]any
	r.json(t, &raw)
	if _, ok := raw["release_policy"]; ok {
		t.Error("release_policy present")
	}
	key, attrs := raw["key"], raw["attributes"]
	kid, _ := key["kid"].(string)
	if !regexp.MustCompile(`^https://kv1\.vault\.localhost:8443/keys/MyKey/[0-9a-f]{32}$`).MatchString(kid) {
		t.Errorf("kid %q", kid)
	}
	if key["kty"] != "RSA" || key["e"] != "AQAB" {
		t.Errorf("kty %v e %v", key["kty"], key["e"])
	}
	n, _ := key["n"].(string)
	if strings.ContainsAny(n, "=+/") || len(unb64u(t, n)) != 256 {
		t.Errorf("n %q is not 256 bytes of unpadded base64url", n)
	}
	if ops := key["key_ops"].([]any); len(ops) != 6 {
		t.Errorf("key_ops %v", ops)
	}
	for _, f := range []string{"d", "p", "q", "dp", "dq", "qi"} {
		if _, ok := key[f]; ok {
			t.Errorf("private member %s in the answer", f)
		}
	}
	created, ok := attrs["created"].(float64)
	if !ok || int64(created) != e.clock.Now().Unix() || attrs["updated"] != attrs["created"] {
		t.Errorf("created %v updated %v", attrs["created"], attrs["updated"])
	}
	if attrs["enabled"] != true || attrs["recoveryLevel"] != "Recoverable" || attrs["recoverableDays"] != float64(90) ||
		attrs["exportable"] != false {
		t.Errorf("attributes %v", attrs)
	}
	if raw["tags"]["env"] != "test" {
		t.Errorf("tags %v", raw["tags"])
	}
	// Names are case-insensitive; the name as created is kept.
	var b wireBundle
	e.must(e.do("GET", "/keys/mykey", adminTok, nil), 200).json(t, &b)
	if b.Key.KID != kid {
		t.Errorf("GET by other case: kid %s", b.Key.KID)
	}
}

func TestCreateKeyValidation(t *testing.T) {
	for _, tc := range []struct {
		name   string
		eo     envOptions
		sku    string
		body   any
		status int
		inner  string
		msg    string
	}{
		{name: "rsa 3072", body: map[string]any{"kty": "RSA", "key_size": 3072}, status: 200},
		{name: "rsa 4096", body: map[string]any{"kty": "RSA", "key_size": 4096}, status: 200},
		{name: "ec", body: map[string]any{"kty": "EC", "crv": "P-256"}, status: 400, msg: "not supported"},
		{name: "oct-hsm", body: map[string]any{"kty": "oct-HSM"}, status: 400, msg: "not supported"},
		{name: "unknown kty", body: map[string]any{"kty": "DSA"}, status: 400, msg: "invalid"},
		{name: "no kty", body: map[string]any{}, status: 400, msg: "required"},
		{name: "size 1024", body: map[string]any{"kty": "RSA", "key_size": 1024}, status: 400, msg: "key size"},
		{name: "exponent 3", body: map[string]any{"kty": "RSA", "public_exponent": 3}, status: 400, msg: "exponent"},
		{name: "exponent 65537", body: map[string]any{"kty": "RSA", "public_exponent": 65537}, status: 200},
		{name: "bad key_ops", body: map[string]any{"kty": "RSA", "key_ops": []string{"fly"}}, status: 400, msg: "key operation"},
		{name: "exportable", body: map[string]any{"kty": "RSA", "attributes": map[string]any{"exportable": true}}, status: 400, msg: "release policy"},
		{name: "release policy", body: map[string]any{"kty": "RSA", "release_policy": map[string]any{"data": "eA"}}, status: 400, msg: "release"},
		{name: "exp before nbf", body: map[string]any{"kty": "RSA", "attributes": map[string]any{"nbf": 2000, "exp": 1000}}, status: 400, msg: "exp"},
		{name: "too many tags", body: map[string]any{"kty": "RSA", "tags": manyTags(16)}, status: 400, msg: "tags"},
		{name: "not json", body: "{", status: 400, msg: "JSON"},
		{name: "wrong type", body: `{"kty":"RSA","key_size":"big"}`, status: 400, msg: "key_size"},
		{name: "hsm on standard", sku: "standard", body: map[string]any{"kty": "RSA-HSM"}, status: 403, inner: "ForbiddenByPolicy", msg: "standard vault"},
		{name: "hsm without backend", body: map[string]any{"kty": "RSA-HSM"}, status: 400, msg: "no HSM backend"},
		{name: "hsm from software", eo: envOptions{softwareHSM: true}, body: map[string]any{"kty": "RSA-HSM"}, status: 200},
		{name: "hsm backend", eo: envOptions{hsm: true}, body: map[string]any{"kty": "RSA-HSM"}, status: 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.eo)
			if tc.sku != "" {
				e.vaults.update("kv1", func(v *VaultConfig) { v.SKU = tc.sku })
			}
			r := e.must(e.do("POST", "/keys/k/create", adminTok, tc.body), tc.status)
			if tc.status != 200 {
				code, inner, msg := r.err(t)
				if tc.status == 400 && code != "BadParameter" || tc.status == 403 && code != "Forbidden" {
					t.Errorf("code %s", code)
				}
				if inner != tc.inner || !strings.Contains(msg, tc.msg) {
					t.Errorf("inner %q message %q, want %q", inner, msg, tc.msg)
				}
				return
			}
			var b wireBundle
			r.json(t, &b)
			if body, ok := tc.body.(map[string]any); ok {
				if want, _ := body["kty"].(string); b.Key.Kty != want {
					t.Errorf("kty %s, want %s", b.Key.Kty, want)
				}
				if size, ok := body["key_size"].(int); ok && len(unb64u(t, b.Key.N))*8 != size {
					t.Errorf("modulus of %d bytes, want %d bits", len(unb64u(t, b.Key.N)), size)
				}
			}
		})
	}
}

func manyTags(n int) map[string]string {
	m := map[string]string{}
	for i := range n {
		m[string(rune('a'+i))] = "v"
	}
	return m
}

func TestVersionsGetUpdate(t *testing.T) {
	e := newEnv(t, envOptions{})
	v1 := e.create("k", map[string]any{"tags": map[string]string{"a": "1"}})
	e.clock.advance(time.Minute)
	v2 := e.create("k", map[string]any{"key_ops": []string{"wrapKey", "unwrapKey"}})
	if v1.version() == v2.version() || v1.Key.N == v2.Key.N {
		t.Fatal("a second create did not make a new version")
	}
	var got wireBundle
	e.must(e.do("GET", "/keys/k/", adminTok, nil), 200).json(t, &got)
	if got.Key.KID != v2.Key.KID {
		t.Errorf("latest is %s, want %s", got.Key.KID, v2.Key.KID)
	}
	e.must(e.do("GET", "/keys/k/"+v1.version(), adminTok, nil), 200).json(t, &got)
	if got.Key.KID != v1.Key.KID || got.Tags["a"] != "1" {
		t.Errorf("version 1: %+v", got)
	}
	r := e.must(e.do("GET", "/keys/k/ffffffffffffffffffffffffffffffff", adminTok, nil), 404)
	if _, _, msg := r.err(t); !strings.Contains(msg, "(name/id) k/ffffffffffffffffffffffffffffffff was not found") {
		t.Errorf("message %q", msg)
	}

	var list struct {
		Value []struct {
			KID string `json:"kid"`
		} `json:"value"`
		NextLink *string `json:"nextLink"`
	}
	e.must(e.do("GET", "/keys/k/versions", adminTok, nil), 200).json(t, &list)
	if len(list.Value) != 2 || list.Value[0].KID != v1.Key.KID || list.Value[1].KID != v2.Key.KID || list.NextLink != nil {
		t.Errorf("versions %+v", list)
	}
	e.must(e.do("GET", "/keys/nope/versions", adminTok, nil), 404)

	// PATCH the latest: attributes, key_ops, tags.
	e.clock.advance(time.Minute)
	nbf, exp := e.clock.Now().Add(-time.Hour).Unix(), e.clock.Now().Add(time.Hour).Unix()
	e.must(e.do("PATCH", "/keys/k", adminTok, map[string]any{
		"attributes": map[string]any{"enabled": false, "nbf": nbf, "exp": exp},
		"key_ops":    []string{"wrapkey"}, "tags": map[string]string{"t": "x"},
	}), 200).json(t, &got)
	if got.Attributes.Enabled || *got.Attributes.NBF != nbf || *got.Attributes.Exp != exp ||
		!slices.Equal(got.Key.KeyOps, []string{"wrapKey"}) || got.Tags["t"] != "x" ||
		got.Attributes.Updated != e.clock.Now().Unix() || got.Attributes.Created == got.Attributes.Updated {
		t.Errorf("after PATCH: %+v", got)
	}
	// PATCH a given version leaves the others alone.
	var cleared wireBundle
	e.must(e.do("PATCH", "/keys/k/"+v1.version(), adminTok, map[string]any{"tags": map[string]string{}}), 200).json(t, &cleared)
	if len(cleared.Tags) != 0 {
		t.Errorf("tags not cleared: %v", cleared.Tags)
	}
	got = wireBundle{}
	e.must(e.do("GET", "/keys/k", adminTok, nil), 200).json(t, &got)
	if got.Attributes.Enabled || got.Tags["t"] != "x" {
		t.Errorf("latest changed by PATCH of v1: %+v", got)
	}
	for _, bad := range []any{
		map[string]any{"key_ops": []string{"nope"}},
		map[string]any{"attributes": map[string]any{"exp": 1, "nbf": 5}},
		map[string]any{"attributes": map[string]any{"exportable": true}},
		map[string]any{"attributes": map[string]any{"enabled": "yes"}},
	} {
		e.must(e.do("PATCH", "/keys/k", adminTok, bad), 400)
	}
	e.must(e.do("PATCH", "/keys/nope", adminTok, map[string]any{}), 404)
}

func TestListPaging(t *testing.T) {
	e := newEnv(t, envOptions{})
	var want []string
	for i := range 7 {
		name := "key-" + string(rune('a'+i))
		e.create(name, nil)
		want = append(want, name)
	}
	e.create("gone", nil)
	e.must(e.do("DELETE", "/keys/gone", adminTok, nil), 200)

	var got []string
	path := "/keys?maxresults=3"
	pages := 0
	for path != "" {
		var page struct {
			Value []struct {
				KID        string `json:"kid"`
				Attributes struct {
					Enabled bool `json:"enabled"`
				} `json:"attributes"`
			} `json:"value"`
			NextLink *string `json:"nextLink"`
		}
		e.must(e.do("GET", path, adminTok, nil), 200).json(t, &page)
		pages++
		for _, v := range page.Value {
			if !strings.HasPrefix(v.KID, "https://kv1.vault.localhost:8443/keys/") || !v.Attributes.Enabled {
				t.Errorf("item %+v", v)
			}
			got = append(got, strings.TrimPrefix(v.KID, "https://kv1.vault.localhost:8443/keys/"))
		}
		path = ""
		if page.NextLink != nil {
			u, err := url.Parse(*page.NextLink)
			if err != nil || u.Host != testHost || u.Query().Get("$skiptoken") == "" || u.Query().Get("api-version") != "7.6" {
				t.Fatalf("nextLink %q", *page.NextLink)
			}
			path = u.RequestURI()
		}
	}
	if !slices.Equal(got, want) || pages != 3 {
		t.Errorf("listed %v in %d pages, want %v in 3", got, pages, want)
	}
	e.must(e.do("GET", "/keys?maxresults=0", adminTok, nil), 400)
	e.must(e.do("GET", "/keys?maxresults=26", adminTok, nil), 400)
	e.must(e.do("GET", "/keys?$skiptoken=***", adminTok, nil), 400)

	var deleted struct {
		Value []struct {
			KID        string `json:"kid"`
			RecoveryID string `json:"recoveryId"`
		} `json:"value"`
	}
	e.must(e.do("GET", "/deletedkeys", adminTok, nil), 200).json(t, &deleted)
	if len(deleted.Value) != 1 || deleted.Value[0].RecoveryID != "https://kv1.vault.localhost:8443/deletedkeys/gone" {
		t.Errorf("deleted keys %+v", deleted)
	}
}

// wrap wraps value with a key version through the handler.
func (e *env) op(name, version, action string, body map[string]any, tok string) resp {
	return e.do("POST", "/keys/"+name+"/"+version+"/"+action, tok, body)
}

func TestWrapUnwrapAllAlgorithms(t *testing.T) {
	e := newEnv(t, envOptions{})
	k := e.create("kek", nil)
	aek := make([]byte, 32)
	rand.Read(aek)
	var failures []string
	for _, alg := range []string{AlgRSAOAEP, AlgRSAOAEP256, AlgRSA15} {
		t.Run(alg, func(t *testing.T) {
			var w keyOperationResultWire
			e.must(e.op("kek", "", "wrapkey", map[string]any{"alg": alg, "value": b64u(aek)}, adminTok), 200).json(t, &w)
			if w.KID != k.Key.KID {
				t.Errorf("kid %s", w.KID)
			}
			wrapped := unb64u(t, w.Value)
			var u keyOperationResultWire
			e.must(e.op("kek", k.version(), "unwrapkey", map[string]any{"alg": alg, "value": w.Value}, adminTok), 200).json(t, &u)
			if got := unb64u(t, u.Value); string(got) != string(aek) {
				t.Fatal("unwrap returned other bytes")
			}
			// The public key alone wraps too (what a client may do locally).
			n := new(big.Int).SetBytes(unb64u(t, k.Key.N))
			pub := &rsa.PublicKey{N: n, E: 65537}
			if alg == AlgRSAOAEP256 {
				local, _ := rsa.EncryptOAEP(crypto.SHA256.New(), rand.Reader, pub, aek, nil)
				e.must(e.op("kek", "", "unwrapkey", map[string]any{"alg": alg, "value": b64u(local)}, adminTok), 200)
			}
			// Tampering: flip one byte anywhere, truncate, empty, extend.
			// PKCS#1 v1.5 has no integrity check: a flipped byte decrypts to
			// well-formed padding with probability about 2^-16, so RSA1_5 is
			// tampered deterministically instead (a value above the modulus, or zero).
			for _, i := range []int{0, 7, len(wrapped) / 2, len(wrapped) - 1} {
				bad := slices.Clone(wrapped)
				bad[i] ^= 0x01
				if alg == AlgRSA15 {
					bad = bytes.Repeat([]byte{0xff * byte(i%2)}, len(wrapped)) // above the modulus, or zero
				}
				r := e.must(e.op("kek", "", "unwrapkey", map[string]any{"alg": alg, "value": b64u(bad)}, adminTok), 400)
				_, _, msg := r.err(t)
				failures = append(failures, msg)
			}
			for _, bad := range [][]byte{wrapped[:len(wrapped)-1], {}, append(slices.Clone(wrapped), 0)} {
				r := e.must(e.op("kek", "", "unwrapkey", map[string]any{"alg": alg, "value": b64u(bad)}, adminTok), 400)
				_, _, msg := r.err(t)
				failures = append(failures, msg)
			}
		})
	}
	for _, m := range failures {
		if m != failures[0] {
			t.Errorf("decrypt failures differ: %q vs %q", m, failures[0])
		}
	}
	for _, tc := range []struct {
		body map[string]any
		msg  string
	}{
		{map[string]any{"alg": "A256KW", "value": "AA"}, "not supported"},
		{map[string]any{"value": "AA"}, "missing"},
		{map[string]any{"alg": AlgRSAOAEP256}, "missing"},
		{map[string]any{"alg": AlgRSAOAEP256, "value": "!!"}, "JSON"},
		{map[string]any{"alg": AlgRSAOAEP256, "value": b64u(make([]byte, 300))}, "too long"},
		{map[string]any{"alg": AlgRSAOAEP256, "value": "AA", "iv": "AA"}, "symmetric"},
	} {
		r := e.must(e.op("kek", "", "wrapkey", tc.body, adminTok), 400)
		if _, _, msg := r.err(t); !strings.Contains(msg, tc.msg) {
			t.Errorf("%v: message %q, want %q", tc.body, msg, tc.msg)
		}
	}
	e.must(e.op("kek", "ffffffffffffffffffffffffffffffff", "wrapkey", map[string]any{"alg": AlgRSAOAEP256, "value": "AA"}, adminTok), 404)
}

type keyOperationResultWire struct {
	KID   string `json:"kid"`
	Value string `json:"value"`
}

func TestEncryptDecryptSignVerify(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.create("k", nil)
	var enc, dec keyOperationResultWire
	e.must(e.op("k", "", "encrypt", map[string]any{"alg": AlgRSAOAEP256, "value": b64u([]byte("hi"))}, adminTok), 200).json(t, &enc)
	e.must(e.op("k", "", "decrypt", map[string]any{"alg": AlgRSAOAEP256, "value": enc.Value}, adminTok), 200).json(t, &dec)
	if string(unb64u(t, dec.Value)) != "hi" {
		t.Fatal("decrypt returned other bytes")
	}
	for _, alg := range []string{AlgRS256, AlgRS384, AlgRS512, AlgPS256, AlgPS384, AlgPS512} {
		h, _, _ := signatureHash(alg)
		d := h.New()
		d.Write([]byte("payload"))
		digest := d.Sum(nil)
		var sig keyOperationResultWire
		e.must(e.op("k", "", "sign", map[string]any{"alg": alg, "value": b64u(digest)}, adminTok), 200).json(t, &sig)
		var ok struct{ Value bool }
		e.must(e.op("k", "", "verify", map[string]any{"alg": alg, "digest": b64u(digest), "value": sig.Value}, adminTok), 200).json(t, &ok)
		if !ok.Value {
			t.Errorf("%s: signature does not verify", alg)
		}
		digest[0] ^= 1
		e.must(e.op("k", "", "verify", map[string]any{"alg": alg, "digest": b64u(digest), "value": sig.Value}, adminTok), 200).json(t, &ok)
		if ok.Value {
			t.Errorf("%s: signature verifies over another digest", alg)
		}
		e.must(e.op("k", "", "sign", map[string]any{"alg": alg, "value": b64u(digest[:3])}, adminTok), 400)
	}
	e.must(e.op("k", "", "sign", map[string]any{"alg": "ES256", "value": b64u(make([]byte, 32))}, adminTok), 400)
	e.must(e.op("k", "", "verify", map[string]any{"alg": AlgRS256, "digest": b64u(make([]byte, 32))}, adminTok), 400)
}

func TestKeyStateRefusals(t *testing.T) {
	e := newEnv(t, envOptions{})
	now := e.clock.Now()
	aek := b64u(make([]byte, 32))
	wrapOf := func(name string) string {
		var w keyOperationResultWire
		e.must(e.op(name, "", "wrapkey", map[string]any{"alg": AlgRSAOAEP256, "value": aek}, adminTok), 200).json(t, &w)
		return w.Value
	}
	e.create("disabled", nil)
	e.create("expired", nil)
	e.create("future", nil)
	e.create("wraponly", map[string]any{"key_ops": []string{"wrapKey"}})
	wrapped := map[string]string{"disabled": wrapOf("disabled"), "expired": wrapOf("expired"), "future": wrapOf("future"), "wraponly": wrapOf("wraponly")}
	e.must(e.do("PATCH", "/keys/disabled", adminTok, map[string]any{"attributes": map[string]any{"enabled": false}}), 200)
	e.must(e.do("PATCH", "/keys/expired", adminTok, map[string]any{"attributes": map[string]any{"exp": now.Add(-time.Second).Unix()}}), 200)
	e.must(e.do("PATCH", "/keys/future", adminTok, map[string]any{"attributes": map[string]any{"nbf": now.Add(time.Hour).Unix()}}), 200)

	for _, tc := range []struct {
		key, action string
		status      int
		inner, msg  string
	}{
		{"disabled", "wrapkey", 403, "KeyDisabled", "Operation wrapKey is not allowed on a disabled key."},
		{"disabled", "unwrapkey", 403, "KeyDisabled", "Operation unwrapKey is not allowed on a disabled key."},
		{"disabled", "encrypt", 403, "KeyDisabled", "Operation encrypt is not allowed on a disabled key."},
		{"disabled", "sign", 403, "KeyDisabled", "Operation sign is not allowed on a disabled key."},
		{"expired", "wrapkey", 403, "KeyExpired", "Operation wrapKey is not allowed on an expired key."},
		{"expired", "encrypt", 403, "KeyExpired", "Operation encrypt is not allowed on an expired key."},
		{"expired", "unwrapkey", 200, "", ""},
		{"future", "wrapkey", 403, "KeyNotYetValid", "Operation wrapKey is not allowed on a not-yet-valid key."},
		{"future", "unwrapkey", 200, "", ""},
		{"wraponly", "unwrapkey", 403, "ForbiddenByPolicy", "Operation unwrapKey is not allowed by the key's key_ops."},
		{"wraponly", "sign", 403, "ForbiddenByPolicy", "Operation sign is not allowed by the key's key_ops."},
	} {
		t.Run(tc.key+"/"+tc.action, func(t *testing.T) {
			value := aek
			if tc.action == "unwrapkey" {
				value = wrapped[tc.key]
			}
			alg := AlgRSAOAEP256
			if tc.action == "sign" {
				alg = AlgRS256
			}
			r := e.must(e.op(tc.key, "", tc.action, map[string]any{"alg": alg, "value": value}, adminTok), tc.status)
			if tc.status == 200 {
				return
			}
			code, inner, msg := r.err(t)
			if code != "Forbidden" || inner != tc.inner || msg != tc.msg {
				t.Errorf("got %s/%s %q", code, inner, msg)
			}
		})
	}
	// GET still works on a disabled key.
	e.must(e.do("GET", "/keys/disabled", adminTok, nil), 200)
}

func TestAccessPolicies(t *testing.T) {
	e := newEnv(t, envOptions{})
	digest := make([]byte, 32)
	var backup string
	setup := func(t *testing.T) string {
		t.Helper()
		// A fresh key per case; "del-" keys are soft-deleted.
		name := "k" + strings.ReplaceAll(strings.ToLower(t.Name()[len("TestAccessPolicies/"):]), "/", "-")
		name = regexp.MustCompile(`[^0-9a-z-]`).ReplaceAllString(name, "")
		e.create(name, nil)
		return name
	}
	type tc struct {
		perm string
		req  func(t *testing.T, tok string) resp
	}
	cases := []tc{
		{PermGet, func(t *testing.T, tok string) resp { return e.do("GET", "/keys/"+setup(t), tok, nil) }},
		{PermList, func(t *testing.T, tok string) resp { return e.do("GET", "/keys", tok, nil) }},
		{PermCreate, func(t *testing.T, tok string) resp {
			return e.do("POST", "/keys/newkey/create", tok, map[string]any{"kty": "RSA"})
		}},
		{PermImport, func(t *testing.T, tok string) resp {
			return e.do("PUT", "/keys/imported", tok, map[string]any{"key": privateJWK(t)})
		}},
		{PermUpdate, func(t *testing.T, tok string) resp { return e.do("PATCH", "/keys/"+setup(t), tok, map[string]any{}) }},
		{PermDelete, func(t *testing.T, tok string) resp { return e.do("DELETE", "/keys/"+setup(t), tok, nil) }},
		{PermRecover, func(t *testing.T, tok string) resp {
			n := setup(t)
			e.must(e.do("DELETE", "/keys/"+n, adminTok, nil), 200)
			return e.do("POST", "/deletedkeys/"+n+"/recover", tok, nil)
		}},
		{PermPurge, func(t *testing.T, tok string) resp {
			n := setup(t)
			e.must(e.do("DELETE", "/keys/"+n, adminTok, nil), 200)
			return e.do("DELETE", "/deletedkeys/"+n, tok, nil) // purge protection: 403 ForbiddenByPolicy when allowed
		}},
		{PermBackup, func(t *testing.T, tok string) resp {
			r := e.do("POST", "/keys/"+setup(t)+"/backup", tok, nil)
			if r.status == 200 {
				var b struct{ Value string }
				r.json(t, &b)
				backup = b.Value
			}
			return r
		}},
		{PermRestore, func(t *testing.T, tok string) resp {
			return e.do("POST", "/keys/restore", tok, map[string]any{"value": backup}) // 409: the key exists
		}},
		{PermWrapKey, func(t *testing.T, tok string) resp {
			return e.op(setup(t), "", "wrapkey", map[string]any{"alg": AlgRSAOAEP256, "value": "AAAA"}, tok)
		}},
		{PermUnwrapKey, func(t *testing.T, tok string) resp {
			return e.op(setup(t), "", "unwrapkey", map[string]any{"alg": AlgRSAOAEP256, "value": "AAAA"}, tok) // 400: not a ciphertext
		}},
		{PermEncrypt, func(t *testing.T, tok string) resp {
			return e.op(setup(t), "", "encrypt", map[string]any{"alg": AlgRSAOAEP256, "value": "AAAA"}, tok)
		}},
		{PermDecrypt, func(t *testing.T, tok string) resp {
			return e.op(setup(t), "", "decrypt", map[string]any{"alg": AlgRSAOAEP256, "value": "AAAA"}, tok)
		}},
		{PermSign, func(t *testing.T, tok string) resp {
			return e.op(setup(t), "", "sign", map[string]any{"alg": AlgRS256, "value": b64u(digest)}, tok)
		}},
		{PermVerify, func(t *testing.T, tok string) resp {
			return e.op(setup(t), "", "verify", map[string]any{"alg": AlgRS256, "digest": b64u(digest), "value": "AAAA"}, tok)
		}},
		{PermRotate, func(t *testing.T, tok string) resp { return e.do("POST", "/keys/"+setup(t)+"/rotate", tok, nil) }},
		{PermGetPolicy, func(t *testing.T, tok string) resp { return e.do("GET", "/keys/"+setup(t)+"/rotationpolicy", tok, nil) }},
		{PermSetPolicy, func(t *testing.T, tok string) resp {
			return e.do("PUT", "/keys/"+setup(t)+"/rotationpolicy", tok, map[string]any{"lifetimeActions": []any{}})
		}},
	}
	var all []string
	for _, c := range cases {
		all = append(all, c.perm)
	}
	user := token(tenantA, userOID)
	for _, c := range cases {
		t.Run(c.perm+"/granted", func(t *testing.T) {
			// Permission names are case-insensitive.
			e.setPolicies(AccessPolicy{TenantID: tenantA, ObjectID: adminOID, Keys: []string{"all"}},
				AccessPolicy{TenantID: tenantA, ObjectID: userOID, Keys: []string{strings.ToUpper(c.perm)}})
			if r := c.req(t, user); r.status == 403 {
				if _, inner, _ := r.err(t); inner == InnerAccessDenied {
					t.Fatalf("denied with the permission: %s", r.body)
				}
			} else if r.status >= 500 || r.status == 401 {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
		})
		t.Run(c.perm+"/denied", func(t *testing.T) {
			others := slices.DeleteFunc(slices.Clone(all), func(p string) bool { return p == c.perm })
			e.setPolicies(AccessPolicy{TenantID: tenantA, ObjectID: adminOID, Keys: []string{"all"}},
				AccessPolicy{TenantID: tenantA, ObjectID: userOID, Keys: others})
			r := e.must(c.req(t, user), 403)
			code, inner, msg := r.err(t)
			want := "The user, group or application 'appid=app-" + userOID + ";oid=" + userOID + ";iss=https://sts.example/" + tenantA +
				"/' does not have keys " + c.perm + " permission on key vault 'kv1;location=westeurope'. " +
				"For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287"
			if code != "Forbidden" || inner != "AccessDenied" || msg != want {
				t.Errorf("got %s/%s %q\nwant %q", code, inner, msg, want)
			}
		})
	}
	t.Run("no policy", func(t *testing.T) {
		e.setPolicies(AccessPolicy{TenantID: tenantA, ObjectID: adminOID, Keys: []string{"all"}})
		e.must(e.do("GET", "/keys", user, nil), 403)
	})
	t.Run("compound identity", func(t *testing.T) {
		e.setPolicies(AccessPolicy{TenantID: tenantA, ObjectID: userOID, ApplicationID: "app-x", Keys: []string{"list"}})
		e.must(e.do("GET", "/keys", user, nil), 403)
		e.must(e.do("GET", "/keys", user+":app-x", nil), 200)
	})
	t.Run("policy of another tenant", func(t *testing.T) {
		e.setPolicies(AccessPolicy{TenantID: tenantB, ObjectID: userOID, Keys: []string{"all"}})
		e.must(e.do("GET", "/keys", user, nil), 403)
	})
}

// privateJWK returns a pooled RSA key as a private JWK.
func privateJWK(t testing.TB) map[string]any {
	t.Helper()
	k, err := poolKey(2048)
	if err != nil {
		t.Fatal(err)
	}
	k.Precompute()
	return map[string]any{
		"kty": "RSA", "n": b64u(k.N.Bytes()), "e": b64u(big.NewInt(int64(k.E)).Bytes()), "d": b64u(k.D.Bytes()),
		"p": b64u(k.Primes[0].Bytes()), "q": b64u(k.Primes[1].Bytes()), "dp": b64u(k.Precomputed.Dp.Bytes()),
		"dq": b64u(k.Precomputed.Dq.Bytes()), "qi": b64u(k.Precomputed.Qinv.Bytes()),
	}
}

func TestImport(t *testing.T) {
	e := newEnv(t, envOptions{hsm: true})
	jwk := privateJWK(t)
	var b wireBundle
	e.must(e.do("PUT", "/keys/imp", adminTok, map[string]any{
		"key": jwk, "tags": map[string]string{"src": "byo"}, "attributes": map[string]any{"enabled": true},
	}), 200).json(t, &b)
	if b.Key.Kty != "RSA" || b.Key.N != jwk["n"] || b.Tags["src"] != "byo" {
		t.Fatalf("imported bundle %+v", b)
	}
	// Wrap locally with the public key, unwrap in the vault.
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(unb64u(t, jwk["n"].(string))), E: 65537}
	ct, _ := rsa.EncryptOAEP(crypto.SHA1.New(), rand.Reader, pub, []byte("aek!"), nil)
	var u keyOperationResultWire
	e.must(e.op("imp", "", "unwrapkey", map[string]any{"alg": AlgRSAOAEP, "value": b64u(ct)}, adminTok), 200).json(t, &u)
	if string(unb64u(t, u.Value)) != "aek!" {
		t.Fatal("unwrap of an imported key returned other bytes")
	}
	// Also at /keys/{name}/import.
	e.must(e.do("PUT", "/keys/imp2/import", adminTok, map[string]any{"key": privateJWK(t)}), 200)

	without := func(field string) map[string]any {
		m := privateJWK(t)
		delete(m, field)
		return m
	}
	wrongDP := privateJWK(t)
	wrongDP["dp"] = b64u([]byte{1, 2, 3})
	wrongD := privateJWK(t)
	wrongD["d"] = b64u([]byte{1, 2, 3})
	ec := map[string]any{"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA", "d": "AA"}
	for _, tc := range []struct {
		name   string
		body   map[string]any
		status int
		msg    string
	}{
		{"no key", map[string]any{}, 400, "missing"},
		{"public only", map[string]any{"key": without("d")}, 400, "private key"},
		{"no p", map[string]any{"key": without("p")}, 400, "private key"},
		{"wrong dp", map[string]any{"key": wrongDP}, 400, "not a valid"},
		{"wrong d", map[string]any{"key": wrongD}, 400, "not a valid"},
		{"ec", map[string]any{"key": ec}, 400, "not supported"},
		{"hsm import", map[string]any{"key": privateJWK(t), "Hsm": true}, 400, "Importing RSA-HSM keys is not supported"},
		{"byok", map[string]any{"key": map[string]any{"kty": "RSA-HSM", "key_hsm": "AAAA", "n": "AA", "e": "AQAB"}}, 400, "BYOK"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.must(e.do("PUT", "/keys/bad", adminTok, tc.body), tc.status)
			if _, _, msg := r.err(t); !strings.Contains(msg, tc.msg) {
				t.Errorf("message %q, want %q", msg, tc.msg)
			}
			if strings.Contains(string(r.body), jwk["d"].(string)[:20]) {
				t.Error("answer carries private key material")
			}
		})
	}
	// With the software backend serving RSA-HSM, HSM import works.
	e2 := newEnv(t, envOptions{softwareHSM: true})
	e2.must(e2.do("PUT", "/keys/h", adminTok, map[string]any{"key": privateJWK(t), "Hsm": true}), 200).json(t, &b)
	if b.Key.Kty != "RSA-HSM" {
		t.Errorf("kty %s", b.Key.Kty)
	}
	e2.vaults.update("kv1", func(v *VaultConfig) { v.SKU = "standard" })
	e2.must(e2.do("PUT", "/keys/h2", adminTok, map[string]any{"key": privateJWK(t), "Hsm": true}), 403)
}

func TestSoftDeleteRecoverPurge(t *testing.T) {
	t.Run("purge protection", func(t *testing.T) {
		e := newEnv(t, envOptions{})
		k := e.create("k", nil)
		e.clock.advance(time.Hour)
		var d wireBundle
		e.must(e.do("DELETE", "/keys/k", adminTok, nil), 200).json(t, &d)
		now := e.clock.Now()
		if d.RecoveryID != "https://kv1.vault.localhost:8443/deletedkeys/k" || *d.DeletedDate != now.Unix() ||
			*d.ScheduledPurgeDate != now.AddDate(0, 0, 90).Unix() || d.Key.KID != k.Key.KID {
			t.Errorf("deleted bundle %+v", d)
		}
		e.must(e.do("GET", "/keys/k", adminTok, nil), 404)
		e.must(e.do("DELETE", "/keys/k", adminTok, nil), 404)
		e.must(e.op("k", "", "wrapkey", map[string]any{"alg": AlgRSAOAEP256, "value": "AA"}, adminTok), 404)
		r := e.must(e.do("POST", "/keys/k/create", adminTok, map[string]any{"kty": "RSA"}), 409)
		code, inner, msg := r.err(t)
		if code != "Conflict" || inner != "ObjectIsDeletedButRecoverable" ||
			msg != "Key k is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the key can only be recovered or purged." {
			t.Errorf("409: %s/%s %q", code, inner, msg)
		}
		e.must(e.do("PUT", "/keys/k", adminTok, map[string]any{"key": privateJWK(t)}), 409)
		e.must(e.do("GET", "/deletedkeys/k", adminTok, nil), 200).json(t, &d)
		if d.RecoveryID == "" || d.Key.KID != k.Key.KID {
			t.Errorf("GET deleted %+v", d)
		}
		r = e.must(e.do("DELETE", "/deletedkeys/k", adminTok, nil), 403)
		code, inner, msg = r.err(t)
		if code != "Forbidden" || inner != "ForbiddenByPolicy" || !strings.HasPrefix(msg, `Operation "purge" is not allowed because purge protection is enabled for this vault.`) {
			t.Errorf("purge: %s/%s %q", code, inner, msg)
		}
		var rec wireBundle
		e.must(e.do("POST", "/deletedkeys/k/recover", adminTok, nil), 200).json(t, &rec)
		if rec.Key.KID != k.Key.KID || rec.RecoveryID != "" {
			t.Errorf("recovered %+v", rec)
		}
		e.must(e.do("GET", "/keys/k", adminTok, nil), 200)
		e.must(e.do("GET", "/deletedkeys/k", adminTok, nil), 404)
		e.must(e.do("POST", "/deletedkeys/k/recover", adminTok, nil), 404)
		r = e.must(e.do("DELETE", "/deletedkeys/nope", adminTok, nil), 404)
		if _, _, msg := r.err(t); msg != "Deleted Key not found: nope" {
			t.Errorf("message %q", msg)
		}

		// Maintenance purges after the retention period, not before.
		e.must(e.do("DELETE", "/keys/k", adminTok, nil), 200)
		e.clock.advance(89 * 24 * time.Hour)
		if err := e.svc.Maintain(t.Context()); err != nil {
			t.Fatal(err)
		}
		e.must(e.do("GET", "/deletedkeys/k", adminTok, nil), 200)
		e.clock.advance(2 * 24 * time.Hour)
		if err := e.svc.Maintain(t.Context()); err != nil {
			t.Fatal(err)
		}
		e.must(e.do("GET", "/deletedkeys/k", adminTok, nil), 404)
		e.create("k", nil)
	})
	t.Run("purgeable", func(t *testing.T) {
		e := newEnv(t, envOptions{hsm: true})
		e.vaults.update("kv1", func(v *VaultConfig) { v.PurgeProtection = false; v.SoftDeleteRetentionDays = 7 })
		k := e.create("k", map[string]any{"kty": "RSA-HSM"})
		if k.Attributes.RecoveryLevel != "CustomizedRecoverable+Purgeable" || *k.Attributes.RecoverableDays != 7 {
			t.Errorf("recovery %s %d", k.Attributes.RecoveryLevel, *k.Attributes.RecoverableDays)
		}
		e.create("k", map[string]any{"kty": "RSA-HSM"})
		var d wireBundle
		e.must(e.do("DELETE", "/keys/k", adminTok, nil), 200).json(t, &d)
		if *d.ScheduledPurgeDate != e.clock.Now().AddDate(0, 0, 7).Unix() {
			t.Errorf("scheduled purge %d", *d.ScheduledPurgeDate)
		}
		if e.hsm.destroyed != 0 {
			t.Fatal("soft delete destroyed material")
		}
		r := e.must(e.do("DELETE", "/deletedkeys/k", adminTok, nil), 204)
		if len(r.body) != 0 {
			t.Errorf("purge body %q", r.body)
		}
		if e.hsm.destroyed != 2 {
			t.Errorf("purge destroyed %d versions, want 2", e.hsm.destroyed)
		}
		e.must(e.do("GET", "/deletedkeys/k", adminTok, nil), 404)
		e.create("k", nil)
	})
	t.Run("no soft delete", func(t *testing.T) {
		e := newEnv(t, envOptions{hsm: true})
		e.vaults.update("kv1", func(v *VaultConfig) { v.SoftDeleteEnabled = false; v.PurgeProtection = false })
		k := e.create("k", map[string]any{"kty": "RSA-HSM"})
		if k.Attributes.RecoveryLevel != "Purgeable" || k.Attributes.RecoverableDays != nil {
			t.Errorf("recovery %s", k.Attributes.RecoveryLevel)
		}
		var d wireBundle
		e.must(e.do("DELETE", "/keys/k", adminTok, nil), 200).json(t, &d)
		if d.RecoveryID != "" || d.ScheduledPurgeDate != nil || e.hsm.destroyed != 1 {
			t.Errorf("hard delete: %+v, destroyed %d", d, e.hsm.destroyed)
		}
		e.must(e.do("GET", "/deletedkeys/k", adminTok, nil), 404)
		e.create("k", nil)
	})
}

func TestRotation(t *testing.T) {
	e := newEnv(t, envOptions{})
	k := e.create("k", map[string]any{"key_size": 3072, "key_ops": []string{"wrapKey", "unwrapKey"}, "tags": map[string]string{"a": "b"}})
	var w keyOperationResultWire
	e.must(e.op("k", "", "wrapkey", map[string]any{"alg": AlgRSAOAEP256, "value": b64u([]byte("aek"))}, adminTok), 200).json(t, &w)
	e.clock.advance(time.Hour)
	var r wireBundle
	e.must(e.do("POST", "/keys/k/rotate", adminTok, nil), 200).json(t, &r)
	if r.version() == k.version() || r.Key.N == k.Key.N || len(unb64u(t, r.Key.N)) != 384 || r.Key.Kty != "RSA" ||
		!slices.Equal(r.Key.KeyOps, k.Key.KeyOps) || r.Tags["a"] != "b" || !r.Attributes.Enabled {
		t.Fatalf("rotated %+v from %+v", r, k)
	}
	var latest wireBundle
	e.must(e.do("GET", "/keys/k", adminTok, nil), 200).json(t, &latest)
	if latest.Key.KID != r.Key.KID {
		t.Error("rotation did not make the new version the latest")
	}
	// The old version still unwraps what it wrapped.
	e.must(e.op("k", k.version(), "unwrapkey", map[string]any{"alg": AlgRSAOAEP256, "value": w.Value}, adminTok), 200)
	e.must(e.op("k", "", "unwrapkey", map[string]any{"alg": AlgRSAOAEP256, "value": w.Value}, adminTok), 400)
	e.must(e.do("POST", "/keys/nope/rotate", adminTok, nil), 404)

	// Rotation policy: a default, then set, validated, applied by Maintain.
	var p rotationPolicyWire
	e.must(e.do("GET", "/keys/k/rotationpolicy", adminTok, nil), 200).json(t, &p)
	if p.ID != "https://kv1.vault.localhost:8443/keys/k/rotationpolicy" || len(p.LifetimeActions) != 1 ||
		p.LifetimeActions[0].Action.Type != "Notify" || *p.LifetimeActions[0].Trigger.TimeBeforeExpiry != "P30D" {
		t.Errorf("default policy %+v", p)
	}
	for _, bad := range []string{
		`{"lifetimeActions":[{"trigger":{"timeAfterCreate":"P1D"},"action":{"type":"Rotate"}}]}`,
		`{"lifetimeActions":[{"trigger":{"timeAfterCreate":"P30D","timeBeforeExpiry":"P30D"},"action":{"type":"Rotate"}}]}`,
		`{"lifetimeActions":[{"trigger":{"timeAfterCreate":"30 days"},"action":{"type":"Rotate"}}]}`,
		`{"lifetimeActions":[{"trigger":{"timeAfterCreate":"P30D"},"action":{"type":"Explode"}}]}`,
		`{"lifetimeActions":[{"trigger":{"timeBeforeExpiry":"P30D"},"action":{"type":"Rotate"}}]}`,
		`{"lifetimeActions":[],"attributes":{"expiryTime":"P7D"}}`,
		`{"lifetimeActions":[{"trigger":{"timeBeforeExpiry":"P100D"},"action":{"type":"Rotate"}}],"attributes":{"expiryTime":"P90D"}}`,
	} {
		r := e.must(e.do("PUT", "/keys/k/rotationpolicy", adminTok, bad), 400)
		if _, _, msg := r.err(t); !strings.HasPrefix(msg, "The rotation policy is invalid") {
			t.Errorf("%s: %q", bad, msg)
		}
	}
	e.must(e.do("PUT", "/keys/k/rotationpolicy", adminTok,
		`{"lifetimeActions":[{"trigger":{"timeAfterCreate":"P30D"},"action":{"type":"rotate"}},`+
			`{"trigger":{"timeBeforeExpiry":"P10D"},"action":{"type":"Notify"}}],"attributes":{"expiryTime":"P90D"}}`), 200).json(t, &p)
	if len(p.LifetimeActions) != 2 || p.LifetimeActions[0].Action.Type != "Rotate" || *p.Attributes.ExpiryTime != "P90D" ||
		*p.Attributes.Created != e.clock.Now().Unix() {
		t.Errorf("policy %+v", p)
	}
	e.must(e.do("GET", "/keys/k/rotationpolicy", adminTok, nil), 200).json(t, &p)
	if len(p.LifetimeActions) != 2 || *p.LifetimeActions[0].Trigger.TimeAfterCreate != "P30D" {
		t.Errorf("stored policy %+v", p)
	}

	e.clock.advance(29 * 24 * time.Hour)
	if err := e.svc.Maintain(t.Context()); err != nil {
		t.Fatal(err)
	}
	e.must(e.do("GET", "/keys/k", adminTok, nil), 200).json(t, &latest)
	if latest.Key.KID != r.Key.KID {
		t.Fatal("rotated before the policy's time")
	}
	e.clock.advance(2 * 24 * time.Hour)
	if err := e.svc.Maintain(t.Context()); err != nil {
		t.Fatal(err)
	}
	e.must(e.do("GET", "/keys/k", adminTok, nil), 200).json(t, &latest)
	if latest.Key.KID == r.Key.KID {
		t.Fatal("not rotated by the policy")
	}
	if latest.Attributes.Exp == nil || *latest.Attributes.Exp != e.clock.Now().AddDate(0, 0, 90).Unix() {
		t.Errorf("exp of the rotated version %v", latest.Attributes.Exp)
	}
	if err := e.svc.Maintain(t.Context()); err != nil {
		t.Fatal(err)
	}
	var again wireBundle
	e.must(e.do("GET", "/keys/k", adminTok, nil), 200).json(t, &again)
	if again.Key.KID != latest.Key.KID {
		t.Fatal("rotated twice")
	}
}

func TestBackupRestore(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.vaults.update("kv1", func(v *VaultConfig) { v.PurgeProtection = false })
	k1 := e.create("k", nil)
	k2 := e.create("k", nil)
	var w keyOperationResultWire
	e.must(e.op("k", k1.version(), "wrapkey", map[string]any{"alg": AlgRSAOAEP256, "value": b64u([]byte("aek"))}, adminTok), 200).json(t, &w)
	var b struct{ Value string }
	e.must(e.do("POST", "/keys/k/backup", adminTok, nil), 200).json(t, &b)
	blob := unb64u(t, b.Value)
	if strings.Contains(string(blob), "versions") || strings.Contains(string(blob), k1.Key.N[:20]) {
		t.Fatal("the backup is not sealed")
	}
	r := e.must(e.do("POST", "/keys/restore", adminTok, map[string]any{"value": b.Value}), 409)
	if code, _, _ := r.err(t); code != "Conflict" {
		t.Errorf("restore over a live key: %s", code)
	}
	e.must(e.do("DELETE", "/keys/k", adminTok, nil), 200)
	e.must(e.do("POST", "/keys/restore", adminTok, map[string]any{"value": b.Value}), 409)
	e.must(e.do("DELETE", "/deletedkeys/k", adminTok, nil), 204)
	var restored wireBundle
	e.must(e.do("POST", "/keys/restore", adminTok, map[string]any{"value": b.Value}), 200).json(t, &restored)
	if restored.Key.KID != k2.Key.KID {
		t.Errorf("restored %s, want %s", restored.Key.KID, k2.Key.KID)
	}
	var u keyOperationResultWire
	e.must(e.op("k", k1.version(), "unwrapkey", map[string]any{"alg": AlgRSAOAEP256, "value": w.Value}, adminTok), 200).json(t, &u)
	if string(unb64u(t, u.Value)) != "aek" {
		t.Fatal("restored key unwraps other bytes")
	}
	tampered := slices.Clone(blob)
	tampered[len(tampered)-3] ^= 1
	for _, bad := range []map[string]any{{"value": b64u(tampered)}, {"value": "AAAA"}, {}} {
		e.must(e.do("POST", "/keys/restore", adminTok, bad), 400)
	}
	// Another tenant's vault refuses the blob.
	e.vaults.put(&VaultConfig{Name: "kv2", TenantID: tenantB, SKU: "standard",
		AccessPolicies: []AccessPolicy{{TenantID: tenantB, ObjectID: adminOID, Keys: []string{"all"}}}})
	r = e.must(e.doHost("kv2.vault.localhost:8443", "POST", "/keys/restore", token(tenantB, adminOID), map[string]any{"value": b.Value}), 400)
	if _, _, msg := r.err(t); !strings.Contains(msg, "another tenant") {
		t.Errorf("message %q", msg)
	}
	e.must(e.do("POST", "/keys/nope/backup", adminTok, nil), 404)
}

func TestOutage(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.create("k", nil)
	until := e.clock.Now().Add(90 * time.Second)
	e.svc.InjectOutage("KV1", until)
	if got := e.svc.Outages(); !got["kv1"].Equal(until) || len(got) != 1 {
		t.Fatalf("Outages %v", got)
	}
	r := e.must(e.do("GET", "/keys/k", adminTok, nil), 503)
	if code, _, _ := r.err(t); code != "ServiceUnavailable" || r.header.Get("Retry-After") != "90" {
		t.Errorf("outage answer %s, Retry-After %q", code, r.header.Get("Retry-After"))
	}
	e.must(e.do("GET", "/keys/k", "", nil), 503) // before authentication
	e.clock.advance(91 * time.Second)
	e.must(e.do("GET", "/keys/k", adminTok, nil), 200)
	if len(e.svc.Outages()) != 0 {
		t.Error("expired outage still listed")
	}
	e.svc.InjectOutage("kv1", e.clock.Now().Add(time.Hour))
	e.svc.InjectOutage("kv1", time.Time{})
	e.must(e.do("GET", "/keys/k", adminTok, nil), 200)
}

func TestPathStyle(t *testing.T) {
	e := newEnv(t, envOptions{})
	var b wireBundle
	e.must(e.doHost("localhost:8443", "POST", "/keyvault/kv1/keys/k/create", adminTok, map[string]any{"kty": "RSA"}), 200).json(t, &b)
	if !strings.HasPrefix(b.Key.KID, "https://kv1.vault.localhost:8443/keys/k/") {
		t.Errorf("kid %s", b.Key.KID)
	}
	e.must(e.do("GET", "/keys/k", adminTok, nil), 200)
	e.create("k2", nil)
	var page listResult
	e.must(e.doHost("localhost:8443", "GET", "/keyvault/kv1/keys?maxresults=1", adminTok, nil), 200).json(t, &page)
	if page.NextLink == nil || !strings.HasPrefix(*page.NextLink, "https://localhost:8443/keyvault/kv1/keys?") {
		t.Fatalf("nextLink %v", page.NextLink)
	}
	u, _ := url.Parse(*page.NextLink)
	e.must(e.doHost("localhost:8443", "GET", u.RequestURI(), adminTok, nil), 200).json(t, &page)
	if len(page.Value) != 1 || page.NextLink != nil {
		t.Errorf("second page %+v", page)
	}
}

func TestHSMBackendAndPurgeVault(t *testing.T) {
	e := newEnv(t, envOptions{hsm: true})
	k := e.create("h", map[string]any{"kty": "RSA-HSM"})
	if k.Key.Kty != "RSA-HSM" {
		t.Fatalf("kty %s", k.Key.Kty)
	}
	var w, u keyOperationResultWire
	e.must(e.op("h", "", "wrapkey", map[string]any{"alg": AlgRSAOAEP, "value": b64u([]byte("x"))}, adminTok), 200).json(t, &w)
	e.must(e.op("h", "", "unwrapkey", map[string]any{"alg": AlgRSAOAEP, "value": w.Value}, adminTok), 200).json(t, &u)
	if string(unb64u(t, u.Value)) != "x" {
		t.Fatal("HSM round trip")
	}
	var r wireBundle
	e.must(e.do("POST", "/keys/h/rotate", adminTok, nil), 200).json(t, &r)
	if r.Key.Kty != "RSA-HSM" {
		t.Errorf("rotated kty %s", r.Key.Kty)
	}
	e.create("s", nil)
	e.create("d", map[string]any{"kty": "RSA-HSM"})
	e.must(e.do("DELETE", "/keys/d", adminTok, nil), 200)
	if err := e.svc.PurgeVault(t.Context(), "KV1"); err != nil {
		t.Fatal(err)
	}
	if e.hsm.destroyed != 3 {
		t.Errorf("destroyed %d HSM versions, want 3", e.hsm.destroyed)
	}
	var list listResult
	e.must(e.do("GET", "/keys", adminTok, nil), 200).json(t, &list)
	if len(list.Value) != 0 {
		t.Errorf("keys left after PurgeVault: %+v", list.Value)
	}
	e.must(e.do("GET", "/deletedkeys/d", adminTok, nil), 404)
}

func TestMetrics(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.create("k", nil)
	e.must(e.op("k", "", "wrapkey", map[string]any{"alg": AlgRSAOAEP256, "value": "AAAA"}, adminTok), 200)
	e.must(e.op("k", "", "unwrapkey", map[string]any{"alg": AlgRSAOAEP256, "value": "AAAA"}, adminTok), 400)
	e.must(e.do("GET", "/keys/k", "", nil), 401)
	if got := testutil.ToFloat64(e.svc.requests.WithLabelValues("WrapKey", "200")); got != 1 {
		t.Errorf("WrapKey 200 = %v", got)
	}
	if got := testutil.ToFloat64(e.svc.requests.WithLabelValues("GetKey", "401")); got != 1 {
		t.Errorf("GetKey 401 = %v", got)
	}
	if got := testutil.ToFloat64(e.svc.cryptoOps.WithLabelValues("unwrapKey", "software", "rejected")); got != 1 {
		t.Errorf("unwrap rejected = %v", got)
	}
	if got := testutil.ToFloat64(e.svc.cryptoOps.WithLabelValues("wrapKey", "software", "success")); got != 1 {
		t.Errorf("wrap success = %v", got)
	}
	n, err := testutil.GatherAndCount(e.reg, "kustodian_keyvault_requests_total", "kustodian_keyvault_crypto_operations_total")
	if err != nil || n == 0 {
		t.Errorf("registered metrics: %d %v", n, err)
	}
	// A second service on the same registry shares the collectors.
	o := Options{Store: e.svc.store, Vaults: e.vaults, Software: e.software, VerifyToken: e.verify,
		AuthorityHost: "https://h/", DNSSuffix: "vault.localhost", Registerer: e.reg}
	if _, err := New(o); err != nil {
		t.Fatal(err)
	}
}

func TestRandomBytes(t *testing.T) {
	e := newEnv(t, envOptions{})
	var r struct{ Value string }
	e.must(e.do("POST", "/rng", adminTok, map[string]any{"count": 16}), 200).json(t, &r)
	if len(unb64u(t, r.Value)) != 16 {
		t.Errorf("got %d bytes", len(unb64u(t, r.Value)))
	}
	e.must(e.do("POST", "/rng", adminTok, map[string]any{"count": 0}), 400)
}

func TestISODuration(t *testing.T) {
	base := time.Date(2030, 1, 31, 0, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"P90D":      base.AddDate(0, 0, 90),
		"P1Y":       base.AddDate(1, 0, 0),
		"P1M":       base.AddDate(0, 1, 0),
		"P2W":       base.AddDate(0, 0, 14),
		"P1DT2H30M": base.AddDate(0, 0, 1).Add(150 * time.Minute),
		"pt36h":     base.Add(36 * time.Hour),
	} {
		d, err := parseISODuration(in)
		if err != nil || !d.addTo(base).Equal(want) {
			t.Errorf("%s: %v %v", in, d.addTo(base), err)
		}
	}
	for _, bad := range []string{"", "P", "PT", "90D", "P1H", "PT1D", "P-1D", "P1.5D", "P1DT", "P9999999D"} {
		if _, err := parseISODuration(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestErrorsNeverCarryKeyMaterial(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.create("k", nil)
	// Fetch the sealed reference and make sure no answer ever shows it.
	var ref []byte
	if err := e.svc.store.View(t.Context(), func(tx meta.Tx) error {
		rec, err := loadKey(t.Context(), tx, "kv1", "k")
		if err != nil {
			return err
		}
		v, err := loadVersion(t.Context(), tx, "kv1", "k", rec.Latest)
		ref = v.Ref
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var r softwareRef
	if err := json.Unmarshal(ref, &r); err != nil {
		t.Fatal(err)
	}
	sealed := b64u(r.Sealed)[:24]
	for _, resp := range []resp{
		e.do("GET", "/keys/k", adminTok, nil),
		e.do("GET", "/keys/k/versions", adminTok, nil),
		e.op("k", "", "unwrapkey", map[string]any{"alg": AlgRSA15, "value": "AAAA"}, adminTok),
	} {
		if strings.Contains(string(resp.body), sealed) || strings.Contains(string(resp.body), "sealed") {
			t.Errorf("answer carries the sealed key: %s", resp.body)
		}
	}
}
