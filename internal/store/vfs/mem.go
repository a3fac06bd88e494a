package vfs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"sync"
)

// ErrInjected is the error MemFS returns for a fault injected by a test.
var ErrInjected = errors.New("vfs: injected fault")

// ErrCrashed is returned by a File that was open when MemFS.Crash ran.
var ErrCrashed = errors.New("vfs: file handle invalidated by simulated crash")

// MemFS is an in-memory FS for tests that can inject faults and simulate a
// crash. It is safe for concurrent use. Paths are cleaned with path.Clean
// and must use forward slashes.
type MemFS struct {
	mu      sync.Mutex
	live    map[string]*memNode // live namespace: path -> file
	durable map[string]*memNode // namespace after the last SyncDir of each dir
	dirs    map[string]bool
	epoch   int // incremented by Crash; handles of older epochs are dead

	writeBudget int64 // bytes still writable before writes fail; <0 = unlimited
	syncErr     error // returned by File.Sync and SyncDir while non-nil
	bytesWrit   int64
	syncs       int
}

type memNode struct {
	data   []byte
	synced []byte
}

// NewMemFS returns an empty MemFS with no faults armed.
func NewMemFS() *MemFS {
	return &MemFS{
		live:        map[string]*memNode{},
		durable:     map[string]*memNode{},
		dirs:        map[string]bool{"/": true, ".": true},
		writeBudget: -1,
	}
}

// FailWritesAfter arms a fault: after n more bytes have been written (to any
// file), writes fail with ErrInjected. The write that crosses the limit
// writes its prefix up to the limit first, like a disk that fills up. A
// negative n disarms the fault.
func (m *MemFS) FailWritesAfter(n int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.writeBudget = n
}

// SetSyncError makes every File.Sync and SyncDir fail with err until it is
// called again with nil. Nothing becomes durable while it is set.
func (m *MemFS) SetSyncError(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.syncErr = err
}

// Stats returns the number of bytes written and of successful syncs
// (File.Sync and SyncDir) since the MemFS was made.
func (m *MemFS) Stats() (bytesWritten int64, syncs int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.bytesWrit, m.syncs
}

// Crash simulates a power loss: every file keeps only the contents of its
// last successful Sync, directory entries revert to their state at the last
// SyncDir of their directory, all open files become unusable (ErrCrashed)
// and armed faults are cleared.
func (m *MemFS) Crash() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.epoch++
	m.live = make(map[string]*memNode, len(m.durable))
	for name, n := range m.durable {
		n.data = append([]byte(nil), n.synced...)
		m.live[name] = n
	}
	m.writeBudget = -1
	m.syncErr = nil
}

// ReadFile returns a copy of the live contents of name (a test helper).
func (m *MemFS) ReadFile(name string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, ok := m.live[path.Clean(name)]
	if !ok {
		return nil, &fs.PathError{Op: "read", Path: name, Err: fs.ErrNotExist}
	}
	return append([]byte(nil), n.data...), nil
}

// WriteFile replaces the live contents of an existing file name with data
// and marks it durable (a test helper for tampering).
func (m *MemFS) WriteFile(name string, data []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, ok := m.live[path.Clean(name)]
	if !ok {
		return &fs.PathError{Op: "write", Path: name, Err: fs.ErrNotExist}
	}
	n.data = append([]byte(nil), data...)
	n.synced = append([]byte(nil), data...)
	return nil
}

func (m *MemFS) checkParent(op, name string) error {
	if !m.dirs[path.Dir(name)] {
		return &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
	}
	return nil
}

// Create implements FS.
func (m *MemFS) Create(name string) (File, error) {
	name = path.Clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.checkParent("create", name); err != nil {
		return nil, err
	}
	n, ok := m.live[name]
	if ok {
		n.data = n.data[:0:0]
	} else {
		n = &memNode{}
		m.live[name] = n
	}
	return &memFile{fs: m, node: n, name: name, epoch: m.epoch, writable: true}, nil
}

func (m *MemFS) open(op, name string, writable bool) (File, error) {
	name = path.Clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	n, ok := m.live[name]
	if !ok {
		return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
	}
	return &memFile{fs: m, node: n, name: name, epoch: m.epoch, writable: writable}, nil
}

// Open implements FS.
func (m *MemFS) Open(name string) (File, error) { return m.open("open", name, false) }

// OpenForAppend implements FS.
func (m *MemFS) OpenForAppend(name string) (File, error) { return m.open("open", name, true) }

// Remove implements FS.
func (m *MemFS) Remove(name string) error {
	name = path.Clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.live[name]; !ok {
		return &fs.PathError{Op: "remove", Path: name, Err: fs.ErrNotExist}
	}
	delete(m.live, name)
	return nil
}

// Rename implements FS.
func (m *MemFS) Rename(oldname, newname string) error {
	oldname, newname = path.Clean(oldname), path.Clean(newname)
	m.mu.Lock()
	defer m.mu.Unlock()
	n, ok := m.live[oldname]
	if !ok {
		return &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: fs.ErrNotExist}
	}
	if err := m.checkParent("rename", newname); err != nil {
		return err
	}
	delete(m.live, oldname)
	m.live[newname] = n
	return nil
}

// MkdirAll implements FS.
func (m *MemFS) MkdirAll(dir string, _ os.FileMode) error {
	dir = path.Clean(dir)
	m.mu.Lock()
	defer m.mu.Unlock()
	for d := dir; !m.dirs[d]; d = path.Dir(d) {
		m.dirs[d] = true
	}
	return nil
}

// List implements FS.
func (m *MemFS) List(dir string) ([]string, error) {
	dir = path.Clean(dir)
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.dirs[dir] {
		return nil, &fs.PathError{Op: "list", Path: dir, Err: fs.ErrNotExist}
	}
	var names []string
	for name := range m.live {
		if path.Dir(name) == dir {
			names = append(names, path.Base(name))
		}
	}
	for d := range m.dirs {
		if d != dir && path.Dir(d) == dir {
			names = append(names, path.Base(d))
		}
	}
	sort.Strings(names)
	return names, nil
}

// SyncDir implements FS: the live entries of dir become durable.
func (m *MemFS) SyncDir(dir string) error {
	dir = path.Clean(dir)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.syncErr != nil {
		return fmt.Errorf("vfs: sync dir %s: %w", dir, m.syncErr)
	}
	for name := range m.durable {
		if path.Dir(name) == dir {
			delete(m.durable, name)
		}
	}
	for name, n := range m.live {
		if path.Dir(name) == dir {
			m.durable[name] = n
		}
	}
	m.syncs++
	return nil
}

type memFile struct {
	fs       *MemFS
	node     *memNode
	name     string
	epoch    int
	writable bool
	closed   bool
}

func (f *memFile) check(op string) error {
	if f.closed {
		return &fs.PathError{Op: op, Path: f.name, Err: fs.ErrClosed}
	}
	if f.epoch != f.fs.epoch {
		return &fs.PathError{Op: op, Path: f.name, Err: ErrCrashed}
	}
	return nil
}

func (f *memFile) Write(p []byte) (int, error) {
	m := f.fs
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := f.check("write"); err != nil {
		return 0, err
	}
	if !f.writable {
		return 0, &fs.PathError{Op: "write", Path: f.name, Err: fs.ErrPermission}
	}
	n := len(p)
	var err error
	if m.writeBudget >= 0 && int64(n) > m.writeBudget {
		n = int(m.writeBudget)
		err = &fs.PathError{Op: "write", Path: f.name, Err: ErrInjected}
	}
	f.node.data = append(f.node.data, p[:n]...)
	if m.writeBudget >= 0 {
		m.writeBudget -= int64(n)
	}
	m.bytesWrit += int64(n)
	return n, err
}

func (f *memFile) ReadAt(p []byte, off int64) (int, error) {
	m := f.fs
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := f.check("read"); err != nil {
		return 0, err
	}
	if off < 0 {
		return 0, &fs.PathError{Op: "read", Path: f.name, Err: fs.ErrInvalid}
	}
	if off >= int64(len(f.node.data)) {
		return 0, io.EOF
	}
	n := copy(p, f.node.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (f *memFile) Sync() error {
	m := f.fs
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := f.check("sync"); err != nil {
		return err
	}
	if m.syncErr != nil {
		return &fs.PathError{Op: "sync", Path: f.name, Err: m.syncErr}
	}
	f.node.synced = append(f.node.synced[:0:0], f.node.data...)
	m.syncs++
	return nil
}

func (f *memFile) Size() (int64, error) {
	m := f.fs
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := f.check("stat"); err != nil {
		return 0, err
	}
	return int64(len(f.node.data)), nil
}

func (f *memFile) Truncate(size int64) error {
	m := f.fs
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := f.check("truncate"); err != nil {
		return err
	}
	if !f.writable {
		return &fs.PathError{Op: "truncate", Path: f.name, Err: fs.ErrPermission}
	}
	if size < 0 {
		return &fs.PathError{Op: "truncate", Path: f.name, Err: fs.ErrInvalid}
	}
	if size <= int64(len(f.node.data)) {
		f.node.data = f.node.data[:size]
	} else {
		f.node.data = append(f.node.data, make([]byte, size-int64(len(f.node.data)))...)
	}
	return nil
}

func (f *memFile) Close() error {
	m := f.fs
	m.mu.Lock()
	defer m.mu.Unlock()
	if f.closed {
		return &fs.PathError{Op: "close", Path: f.name, Err: fs.ErrClosed}
	}
	f.closed = true
	return nil
}
