//go:build cgo

package pkcs11

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	p11 "github.com/miekg/pkcs11"
)

// A module is one loaded and initialised PKCS#11 library. C_Initialize and
// C_Finalize act on the whole process, so each library is loaded once and
// shared by the Backends that use it, and finalised when the last one closes.
type module struct {
	key      string // registry key: the resolved path, or the bare name
	path     string // as configured, for messages
	p        *p11.Ctx
	finalize bool          // we initialised the library, so we finalise it
	refs     int           // Backends using the module; guarded by modules.mu
	inUse    map[uint]bool // slots with an open Backend; guarded by modules.mu
}

var modules = struct {
	mu sync.Mutex
	m  map[string]*module
}{m: make(map[string]*module)}

// acquireModule loads and initialises the module at path, or returns the
// already loaded one, adding a reference.
func acquireModule(path string) (*module, error) {
	if path == "" {
		return nil, errors.New("pkcs11: no module path configured")
	}
	key := path
	if strings.ContainsRune(path, '/') {
		// dlopen reports a missing file no better than a broken one;
		// check first so that the error says which.
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("pkcs11: module: %w", err)
		}
		if abs, err := filepath.Abs(path); err == nil {
			key = abs
			if real, err := filepath.EvalSymlinks(abs); err == nil {
				key = real
			}
		}
	}

	modules.mu.Lock()
	defer modules.mu.Unlock()
	if m := modules.m[key]; m != nil {
		m.refs++
		return m, nil
	}
	p := p11.New(path)
	if p == nil {
		return nil, fmt.Errorf("pkcs11: cannot load module %q: not a PKCS#11 library, or a library it needs is missing", path)
	}
	m := &module{key: key, path: path, p: p, finalize: true, refs: 1, inUse: make(map[uint]bool)}
	if err := p.Initialize(); err != nil {
		if !errors.Is(err, p11.Error(p11.CKR_CRYPTOKI_ALREADY_INITIALIZED)) {
			p.Destroy()
			return nil, fmt.Errorf("pkcs11: initialising module %q: %w", path, err)
		}
		// Someone else in the process initialised it; leave finalising
		// to them.
		m.finalize = false
	}
	modules.m[key] = m
	return m, nil
}

// reserve marks slot as used by a Backend.
func (m *module) reserve(slot uint) error {
	modules.mu.Lock()
	defer modules.mu.Unlock()
	if m.inUse[slot] {
		return ErrTokenInUse
	}
	m.inUse[slot] = true
	return nil
}

// unreserve undoes reserve.
func (m *module) unreserve(slot uint) {
	modules.mu.Lock()
	defer modules.mu.Unlock()
	delete(m.inUse, slot)
}

// release drops a reference, finalising and unloading the library with the
// last one.
func (m *module) release() error {
	modules.mu.Lock()
	defer modules.mu.Unlock()
	m.refs--
	if m.refs > 0 {
		return nil
	}
	delete(modules.m, m.key)
	var err error
	if m.finalize {
		if ferr := m.p.Finalize(); ferr != nil {
			err = fmt.Errorf("pkcs11: finalising module %q: %w", m.path, ferr)
		}
	}
	m.p.Destroy()
	return err
}

// findToken returns the slot holding the token labelled label.
func (m *module) findToken(label string) (uint, p11.TokenInfo, error) {
	slots, err := m.p.GetSlotList(true)
	if err != nil {
		return 0, p11.TokenInfo{}, fmt.Errorf("pkcs11: listing slots of module %q: %w", m.path, err)
	}
	var (
		found  []uint
		info   p11.TokenInfo
		labels []string
	)
	for _, slot := range slots {
		ti, err := m.p.GetTokenInfo(slot)
		if err != nil {
			continue // a slot in trouble is not the one we want
		}
		if ti.Flags&p11.CKF_TOKEN_INITIALIZED == 0 {
			continue // free slot (SoftHSM keeps one)
		}
		l := strings.TrimRight(ti.Label, " \x00")
		labels = append(labels, fmt.Sprintf("%q", l))
		if l == label {
			found = append(found, slot)
			info = ti
		}
	}
	switch len(found) {
	case 0:
		present := "none"
		if len(labels) > 0 {
			present = strings.Join(labels, ", ")
		}
		return 0, info, fmt.Errorf("%w: no token labelled %q in module %q (tokens present: %s)", ErrTokenNotFound, label, m.path, present)
	case 1:
		return found[0], info, nil
	default:
		return 0, info, fmt.Errorf("pkcs11: %d tokens labelled %q in module %q; labels must be unique", len(found), label, m.path)
	}
}
