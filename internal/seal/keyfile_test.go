package seal

import (
	"encoding/base64"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

func TestLoadOrCreateKeyFileCreates(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "keys")
	path := filepath.Join(dir, "master.key")
	s, err := LoadOrCreateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" {
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
		}
		di, err := os.Stat(dir)
		if err != nil {
			t.Fatal(err)
		}
		if di.Mode().Perm() != 0o700 {
			t.Errorf("key directory mode %v, want 0700", di.Mode().Perm())
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.TrimSuffix(string(data), "\n")
	if key, err := base64.StdEncoding.DecodeString(text); err != nil || len(key) != KeySize {
		t.Fatalf("key file %q is not a base64 32-byte key", data)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the key file", len(entries))
	}

	// Loading again gives the same key.
	sealed := mustSeal(t, s, []byte("v"), []byte("a"))
	again, err := LoadOrCreateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := again.Open(sealed, []byte("a")); err != nil {
		t.Fatalf("reloaded key does not open: %v", err)
	}

	// Another file is another key.
	other, err := LoadOrCreateKeyFile(filepath.Join(dir, "other.key"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Open(sealed, []byte("a")); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("other key: err %v, want ErrWrongKey", err)
	}
}

func TestLoadOrCreateKeyFileConcurrentCreate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.key")
	const n = 16
	sealers := make([]*Sealer, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			s, err := LoadOrCreateKeyFile(path)
			if err != nil {
				t.Error(err)
				return
			}
			sealers[i] = s
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	sealed := mustSeal(t, sealers[0], []byte("v"), nil)
	for i, s := range sealers {
		if _, err := s.Open(sealed, nil); err != nil {
			t.Fatalf("sealer %d has a different key: %v", i, err)
		}
	}
}

func TestLoadOrCreateKeyFileRefusesOpenPermissions(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permissions")
	}
	for _, mode := range []fs.FileMode{0o644, 0o640, 0o604, 0o660, 0o602} {
		t.Run(mode.String(), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "master.key")
			writeKeyFile(t, path, base64.StdEncoding.EncodeToString(testKey(1))+"\n")
			if err := os.Chmod(path, mode); err != nil {
				t.Fatal(err)
			}
			_, err := LoadOrCreateKeyFile(path)
			if err == nil {
				t.Fatal("accepted a key file accessible by group or others")
			}
			for _, want := range []string{"group or others", "chmod 600 " + path} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
			assertNoLeak(t, err.Error(), testKey(1))
		})
	}
}

func TestLoadOrCreateKeyFileRefusesBadContent(t *testing.T) {
	key := testKey(0x5a)
	tests := []struct {
		name    string
		content string
		wantMsg string
	}{
		{"empty", "", "0-byte"},
		{"16-byte key", base64.StdEncoding.EncodeToString(key[:16]), "16-byte"},
		{"33-byte key", base64.StdEncoding.EncodeToString(append(key, 1)), "33-byte"},
		{"raw bytes", string(testKey(0xfe)), "base64"},
		{"not base64", "this is not a key at all!!", "base64"},
		{"too large", strings.Repeat("A", 5000), "too large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "master.key")
			writeKeyFile(t, path, tt.content)
			_, err := LoadOrCreateKeyFile(path)
			if err == nil {
				t.Fatal("accepted a bad key file")
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not mention %q", err, tt.wantMsg)
			}
			assertNoLeak(t, err.Error(), key)
			if got, _ := os.ReadFile(path); string(got) != tt.content {
				t.Error("bad key file was overwritten")
			}
		})
	}
}

func TestLoadOrCreateKeyFileAcceptsWhitespace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.key")
	writeKeyFile(t, path, "  "+base64.StdEncoding.EncodeToString(testKey(1))+"\r\n\n")
	s, err := LoadOrCreateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open(mustSeal(t, mustNew(t, testKey(1)), []byte("v"), nil), nil); err != nil {
		t.Fatalf("loaded a different key: %v", err)
	}
}

func writeKeyFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	// WriteFile is subject to the umask; make the mode exact.
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
}
