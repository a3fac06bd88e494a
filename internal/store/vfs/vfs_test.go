package vfs

import (
	"errors"
	"io"
	"path/filepath"
	"reflect"
	"testing"
)

// TestConformance runs the same operations on OS and MemFS.
func TestConformance(t *testing.T) {
	for name, mk := range map[string]func(t *testing.T) (FS, string){
		"os":  func(t *testing.T) (FS, string) { return OS, t.TempDir() },
		"mem": func(t *testing.T) (FS, string) { return NewMemFS(), "/root" },
	} {
		t.Run(name, func(t *testing.T) {
			fsys, dir := mk(t)
			sub := filepath.Join(dir, "a", "b")
			if err := fsys.MkdirAll(sub, 0o700); err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(sub, "f")
			f, err := fsys.Create(p)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.Write([]byte("hello ")); err != nil {
				t.Fatal(err)
			}
			if err := f.Sync(); err != nil {
				t.Fatal(err)
			}
			f.Close()
			f, err = fsys.OpenForAppend(p)
			if err != nil {
				t.Fatal(err)
			}
			_ = f.Truncate(5)
			_, _ = f.Write([]byte("!world"))
			if n, _ := f.Size(); n != 11 {
				t.Fatalf("size %d, want 11", n)
			}
			buf := make([]byte, 11)
			if _, err := f.ReadAt(buf, 0); err != nil || string(buf) != "hello!world" {
				t.Fatalf("ReadAt: %q, %v", buf, err)
			}
			if _, err := f.ReadAt(buf, 5); !errors.Is(err, io.EOF) {
				t.Fatalf("short ReadAt: %v, want EOF", err)
			}
			f.Close()
			ro, _ := fsys.Open(p)
			if _, err := ro.Write([]byte("x")); err == nil {
				t.Fatal("write to read-only file succeeded")
			}
			ro.Close()
			if err := fsys.Rename(p, p+"2"); err != nil {
				t.Fatal(err)
			}
			if err := fsys.SyncDir(sub); err != nil {
				t.Fatal(err)
			}
			if names, _ := fsys.List(sub); !reflect.DeepEqual(names, []string{"f2"}) {
				t.Fatalf("List = %v", names)
			}
			if err := fsys.Remove(p + "2"); err != nil {
				t.Fatal(err)
			}
			if _, err := fsys.Open(p); err == nil {
				t.Fatal("opened a renamed-away file")
			}
		})
	}
}

func TestMemFSCrash(t *testing.T) {
	m := NewMemFS()
	_ = m.MkdirAll("/d", 0o700)
	f, _ := m.Create("/d/synced")
	f.Write([]byte("durable"))
	f.Sync()
	f.Write([]byte(" lost"))
	m.SyncDir("/d")
	g, _ := m.Create("/d/nodirsync") // data synced, entry not
	g.Write([]byte("x"))
	g.Sync()
	m.Crash()
	if _, err := f.Write([]byte("x")); !errors.Is(err, ErrCrashed) {
		t.Fatalf("write on pre-crash handle: %v", err)
	}
	if got, _ := m.ReadFile("/d/synced"); string(got) != "durable" {
		t.Fatalf("after crash: %q", got)
	}
	if names, _ := m.List("/d"); !reflect.DeepEqual(names, []string{"synced"}) {
		t.Fatalf("after crash List = %v", names)
	}
	// Rename without SyncDir is undone by a crash.
	_ = m.Rename("/d/synced", "/d/moved")
	m.Crash()
	if names, _ := m.List("/d"); !reflect.DeepEqual(names, []string{"synced"}) {
		t.Fatalf("unsynced rename survived: %v", names)
	}
}

func TestMemFSFaults(t *testing.T) {
	m := NewMemFS()
	_ = m.MkdirAll("/d", 0o700)
	f, _ := m.Create("/d/f")
	m.FailWritesAfter(3)
	n, err := f.Write([]byte("abcdef"))
	if n != 3 || !errors.Is(err, ErrInjected) {
		t.Fatalf("Write = %d, %v", n, err)
	}
	m.FailWritesAfter(-1)
	m.SetSyncError(ErrInjected)
	if err := f.Sync(); !errors.Is(err, ErrInjected) {
		t.Fatalf("Sync = %v", err)
	}
	if err := m.SyncDir("/d"); !errors.Is(err, ErrInjected) {
		t.Fatalf("SyncDir = %v", err)
	}
	m.SetSyncError(nil)
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if w, s := m.Stats(); w != 3 || s != 1 {
		t.Fatalf("Stats = %d, %d", w, s)
	}
}
