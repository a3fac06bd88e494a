package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The tests of other languages' clients (the Azure CLI, the Python and
// JavaScript SDKs) run only where they are installed, which a variable
// says: unset, they skip; set, a missing client is a failure, not a skip.
// .ci/run installs the clients and sets the variables.
const (
	envAzCLI  = "KUSTODIAN_TEST_AZCLI"
	envPython = "KUSTODIAN_TEST_PYTHON"
	envNode   = "KUSTODIAN_TEST_NODE"
)

// requireClient skips the test unless the variable env is set, and then
// returns the path of the program, failing the test if it is missing.
func requireClient(t *testing.T, env, program, install string) string {
	t.Helper()
	if os.Getenv(env) == "" {
		t.Skipf("%s is not set: this test needs %s (%s)", env, program, install)
	}
	for _, p := range []string{"/usr/bin/" + program, program} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	t.Fatalf("%s is set but %s is not installed (%s)", env, program, install)
	return ""
}

// clientEnv is the environment a client program runs in: this process's,
// without any Azure or Python setting of the machine's that could send it
// elsewhere, plus extra.
func clientEnv(extra ...string) []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "AZURE_"), strings.HasPrefix(k, "ARM_"), strings.HasPrefix(k, "MSAL_"),
			k == "PYTHONPATH", k == "PYTHONHOME", k == "REQUESTS_CA_BUNDLE", k == "SSL_CERT_FILE",
			k == "NODE_OPTIONS", k == "NODE_EXTRA_CA_CERTS", strings.HasSuffix(strings.ToUpper(k), "_PROXY"):
			continue
		}
		out = append(out, kv)
	}
	return append(out, extra...)
}

// pythonVaultNames writes a Python usercustomize module into dir that
// resolves every *.vault.localhost name to the loopback address, as an
// /etc/hosts line would for each vault, without root; put dir on
// PYTHONPATH. (Python imports usercustomize at startup; Debian's own
// sitecustomize is left alone.)
func pythonVaultNames(t *testing.T, dir string) {
	t.Helper()
	const shim = `# Resolve *.vault.localhost to the loopback address (Kustodian's vaults).
import socket

_getaddrinfo = socket.getaddrinfo


def _vault_getaddrinfo(host, *args, **kwargs):
    if isinstance(host, str) and host.lower().rstrip(".").endswith(".vault.localhost"):
        host = "127.0.0.1"
    return _getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = _vault_getaddrinfo
`
	if err := os.WriteFile(filepath.Join(dir, "usercustomize.py"), []byte(shim), 0o644); err != nil {
		t.Fatal(err)
	}
}

// runClient runs a client program and returns its standard output; a
// failure (or a run longer than timeout) fails the test with its output.
func runClient(t *testing.T, timeout time.Duration, env []string, dir, program string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, program, args...)
	cmd.Env, cmd.Dir = env, dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	if testing.Verbose() {
		t.Logf("%s %s (%.1fs)", filepath.Base(program), strings.Join(redact(args), " "), time.Since(start).Seconds())
	}
	if err != nil {
		t.Fatalf("%s %s: %v\nstdout: %s\nstderr: %s", filepath.Base(program), strings.Join(redact(args), " "), err,
			stdout.Bytes(), stderr.Bytes())
	}
	return stdout.Bytes()
}

// redact hides the value of a -p or --password argument (after it, or
// after "=").
func redact(args []string) []string {
	out := append([]string(nil), args...)
	for i := range out {
		switch {
		case i > 0 && (out[i-1] == "-p" || out[i-1] == "--password"):
			out[i] = "***"
		case strings.HasPrefix(out[i], "--password="):
			out[i] = "--password=***"
		case strings.HasPrefix(out[i], "-p="):
			out[i] = "-p=***"
		}
	}
	return out
}

// jsonOf decodes a client's JSON output.
func jsonOf[T any](t *testing.T, out []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("client output is not JSON: %v: %s", err, out)
	}
	return v
}
