package seal

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// maxKeyFileSize bounds what LoadOrCreateKeyFile reads; a valid file is 44
// bytes plus a line ending.
const maxKeyFileSize = 4096

// LoadOrCreateKeyFile reads a 32-byte master key from path and returns a
// Sealer for it, creating the file with a new random key (crypto/rand) if it
// does not exist.
//
// The file holds the key as standard, padded base64 (44 characters);
// surrounding whitespace such as a trailing newline is ignored. It is created
// with mode 0600, its parent directory (if missing) with mode 0700, and it
// appears complete or not at all: concurrent first starts agree on one key.
//
// On Unix it refuses a file that is accessible by group or others, with an
// error saying how to fix it (chmod 600), and it refuses a file that does
// not decode to exactly 32 bytes. Losing this file makes every sealed value
// unreadable, so it must be backed up with the data it protects.
func LoadOrCreateKeyFile(path string) (*Sealer, error) {
	s, err := loadKeyFile(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return s, err
	}
	if err := createKeyFile(path); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, err
	}
	// Load what is on disk now: the key just written, or that of a process
	// that created the file first.
	return loadKeyFile(path)
}

func loadKeyFile(path string) (*Sealer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("seal: master key file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("seal: master key file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("seal: master key file %s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); runtime.GOOS != "windows" && perm&0o077 != 0 {
		return nil, fmt.Errorf("seal: master key file %s has mode %04o and is accessible by group or others; "+
			"restrict it with: chmod 600 %s", path, perm, path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFileSize+1))
	defer clear(data)
	if err != nil {
		return nil, fmt.Errorf("seal: reading master key file %s: %w", path, err)
	}
	if len(data) > maxKeyFileSize {
		return nil, fmt.Errorf("seal: master key file %s is too large to be a master key", path)
	}
	text := bytes.TrimSpace(data)
	key := make([]byte, base64.StdEncoding.DecodedLen(len(text)))
	defer clear(key)
	n, err := base64.StdEncoding.Decode(key, text)
	if err != nil {
		// The error would only give an offset, but say nothing of the content.
		return nil, fmt.Errorf("seal: master key file %s is not valid base64", path)
	}
	if n != KeySize {
		return nil, fmt.Errorf("seal: master key file %s holds a %d-byte key, want %d bytes (%d base64 characters)",
			path, n, KeySize, base64.StdEncoding.EncodedLen(KeySize))
	}
	return New(key[:n])
}

// createKeyFile writes a new random key to path unless path exists, in which
// case it returns an error matching fs.ErrExist. The key is written and
// synced under a temporary name, then hard-linked to path, which never
// replaces an existing file.
func createKeyFile(path string) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("seal: creating master key directory: %w", err)
	}
	key := make([]byte, KeySize)
	rand.Read(key)
	text := make([]byte, base64.StdEncoding.EncodedLen(KeySize), base64.StdEncoding.EncodedLen(KeySize)+1)
	base64.StdEncoding.Encode(text, key)
	text = append(text, '\n')
	clear(key)
	defer clear(text)

	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*") // mode 0600
	if err != nil {
		return fmt.Errorf("seal: creating master key file: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	defer f.Close()
	if err := f.Chmod(0o600); err != nil {
		return fmt.Errorf("seal: creating master key file: %w", err)
	}
	if _, err := f.Write(text); err != nil {
		return fmt.Errorf("seal: writing master key file: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("seal: writing master key file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("seal: writing master key file: %w", err)
	}
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return err
		}
		// Some file systems have no hard links; fall back to an exclusive
		// create, which also never replaces an existing file.
		if err := writeExclusive(path, text); err != nil {
			return err
		}
	}
	return syncDir(dir)
}

// writeExclusive creates path with mode 0600 and writes data to it, failing
// with an error matching fs.ErrExist if path exists.
func writeExclusive(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return err
		}
		return fmt.Errorf("seal: creating master key file: %w", err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
		return fmt.Errorf("seal: writing master key file: %w", err)
	}
	return nil
}

// syncDir makes a new directory entry in dir durable (not possible, and not
// needed, on Windows).
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("seal: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("seal: syncing %s: %w", dir, err)
	}
	return nil
}
