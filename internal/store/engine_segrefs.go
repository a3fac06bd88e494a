package store

import (
	"errors"
	"fmt"
	"io/fs"
)

// Segment lifetimes.
//
// A segment file is deleted when the last holder of its segEntry lets go:
// the catalog holds one reference while the segment is listed in
// account.segs, and every reader (a scan iterator, a compaction, a move)
// takes one while it holds account.mu, i.e. while the segment is certainly
// listed, and drops it when done. Removing a segment from the catalog
// (Retain, a drop, a compaction's or a move's commit) drops the catalog's
// reference after the catalog transaction; whoever drops the last reference
// removes the file. A segment out of the catalog but still read is
// "retired": removeOrphans and DropAccount leave its file alone.

// ref takes a reader's reference on each of segs. a.mu must be held (read or
// write) and segs must be listed in a.segs.
func (a *account) ref(segs ...*segEntry) {
	a.refMu.Lock()
	defer a.refMu.Unlock()
	for _, s := range segs {
		s.refs++
	}
}

// unref drops one reference from each of segs: a reader's, or, with retire,
// the catalog's (the segments have just left a.segs and the catalog). It
// returns the segments nobody holds any more; the caller removes their files
// (removeSegmentFiles), after releasing its locks.
func (a *account) unref(segs []*segEntry, retire bool) []*segEntry {
	a.refMu.Lock()
	defer a.refMu.Unlock()
	var dead []*segEntry
	for _, s := range segs {
		if s.refs <= 0 {
			continue // already gone; never counts twice
		}
		s.refs--
		switch {
		case s.refs == 0:
			delete(a.retired, s)
			dead = append(dead, s)
		case retire:
			a.retired[s] = true
		}
	}
	return dead
}

// fileNamesInUse returns the names of the segment files (in segDir) the
// account must keep: listed in the catalog, retired but still read, being
// written by a compaction (with its ".tmp" file), and with limbo the outputs
// of compactions whose commit has an unknown outcome. mu must be held.
func (a *account) fileNamesInUse(limbo bool) map[string]bool {
	known := map[string]bool{}
	for _, s := range a.segs {
		known[s.doc.Segment+segSuffix] = true
	}
	for n := range a.building {
		known[n] = true
		known[n+".tmp"] = true
	}
	if limbo {
		for n := range a.limbo {
			known[n] = true
		}
	}
	a.refMu.Lock()
	for s := range a.retired {
		known[s.doc.Segment+segSuffix] = true
	}
	a.refMu.Unlock()
	return known
}

// releaseSegs drops references (see unref) and removes the files of the
// segments nobody holds any more. No lock of a may be held.
func (e *Engine) releaseSegs(a *account, segs []*segEntry, retire bool) error {
	if dead := a.unref(segs, retire); len(dead) > 0 {
		return e.removeSegmentFiles(a, dead)
	}
	return nil
}

// removeSegmentFiles removes the files of segs (a missing file is not an
// error) and syncs the directory.
func (e *Engine) removeSegmentFiles(a *account, segs []*segEntry) error {
	var errs []error
	for _, s := range segs {
		if err := e.fs.Remove(a.segPath(s.doc.Segment)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if err := e.fs.SyncDir(a.segDir); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("store: removing segment files of account %s: %w", a.name, err)
	}
	return nil
}
