package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kustodian/kustodian/internal/datetime"
	"github.com/kustodian/kustodian/internal/meta"
)

// account is the engine's state of one storage account.
//
// Lock order within an account: compactMu, then flushMu, then mu, then
// bufMu; refMu is a leaf (nothing is locked or done on disk while it is
// held). Append holds mu.RLock from the WAL append to the buffer insert, so
// a holder of mu.Lock (flush's rotate and swap, load, unload, commit) sees
// every acknowledged record either in the buffers or not yet in the WAL.
//
// Across accounts (only Scan and MoveAccount hold locks of two accounts at
// once; see lockAccounts): the source's compactMu, then Engine.dropMu, then
// the target's flushMu, then the mu of every account involved in order of
// account name (Scan: read locks of all accounts; MoveAccount's commit:
// write locks of source and target), then one bufMu at a time. Engine.mu
// may be taken while holding an account's mu (never the other way round).
// No one holds two accounts' flushMu or compactMu, or takes an account's
// compactMu or flushMu while holding another account's mu.
type account struct {
	name   string
	key    string // accountDir(name): path element and catalog key prefix
	dir    string
	walDir string
	segDir string

	compactMu sync.Mutex // one compaction, or one move out of the account, at a time
	flushMu   sync.Mutex // one flush, load, unload or drop at a time

	mu       sync.RWMutex
	loaded   bool
	dropped  bool
	loadErr  error
	wal      *WAL
	segs     []*segEntry       // catalog rows (plaintext; kept while not loaded)
	floor    uint64            // WAL files below it are in segments
	tombs    map[string]uint64 // dropped workspace → WAL seq
	frozen   []map[tkey]*buffer
	building map[string]bool // segment files compaction is writing, not yet in the catalog
	// limbo holds compacted segment files whose catalog commit has an
	// unknown outcome; compactHalted stops the account's compaction until
	// a restart reads the catalog's truth.
	limbo         map[string]bool
	compactHalted bool
	// flushHalted is set when a flush's catalog commit has an unknown
	// outcome: flushing stops until a restart (the WAL keeps every record
	// and the buffers stay readable; the next load reads the truth from the
	// catalog). mu guards it.
	flushHalted error
	// moving closes the account to Appends (they fail with
	// ErrAccountMoving): set by MoveAccount when it starts, cleared if it
	// fails, kept after it succeeds (the caller drops the account). In
	// memory only: a restart opens the account again.
	moving bool
	// moveHalted refuses moves out of the account until a restart: a
	// move's catalog commit had an unknown outcome.
	moveHalted bool

	refMu   sync.Mutex
	retired map[*segEntry]bool // out of the catalog, file kept for its readers

	bufMu   sync.Mutex
	live    map[tkey]*buffer
	schemas map[tkey]*tableSchema
	placed  map[string]bool // workspaces with data in this account
}

// unloadLocked forgets the plaintext state (buffers, schemas) and closes the
// WAL; files and catalog stay. mu must be held.
func (a *account) unloadLocked(why error) {
	if a.wal != nil {
		a.wal.Close()
		a.wal = nil
	}
	a.bufMu.Lock()
	a.live, a.schemas = nil, nil
	a.bufMu.Unlock()
	a.frozen = nil
	for _, s := range a.segs {
		s.filters.Clear()
	}
	a.loaded = false
	a.loadErr = why
}

// loadLocked loads an account: key check, sealed schemas, orphan cleanup,
// WAL replay. flushMu and mu must be held. On failure nothing has been read
// or deleted unless the key was given.
func (e *Engine) loadLocked(ctx context.Context, a *account) (err error) {
	defer func() {
		if err != nil {
			if !errors.Is(err, ErrNotLoaded) {
				err = fmt.Errorf("%w: %w", ErrNotLoaded, err)
			}
			a.unloadLocked(err)
		}
	}()
	if _, err := e.o.Keys.WriteAEK(ctx, a.name); err != nil {
		return err
	}
	schemas := map[tkey]*tableSchema{}
	err = e.o.Catalog.View(ctx, func(tx meta.Tx) error {
		docs, err := tx.Docs(ctx, kindTable, a.key+"/")
		if err != nil {
			return err
		}
		for _, d := range docs {
			var td tableDoc
			if err := json.Unmarshal(d.Body, &td); err != nil {
				return fmt.Errorf("%w: table doc: %v", ErrCorrupt, err)
			}
			aek, err := e.o.Keys.AEK(ctx, a.name, td.Generation)
			if err != nil {
				return fmt.Errorf("schema AEK generation %d: %w", td.Generation, err)
			}
			sp, err := openSchema(aek, a.name, td.Workspace, td.Table, td.Sealed)
			if err != nil {
				return err
			}
			if e.tableID(td.Workspace, sp.Name) != td.Table {
				return fmt.Errorf("%w: schema of table %s names another table", ErrCorrupt, td.Table)
			}
			ts := &tableSchema{types: map[string]ColumnType{}}
			for _, c := range sp.Columns {
				ts.add(c.Name, c.Type)
			}
			schemas[tkey{td.Workspace, sp.Name}] = ts
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, d := range []string{a.walDir, a.segDir} {
		if err := e.fs.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}
	for _, d := range []string{e.o.Dir, a.dir} {
		if err := e.fs.SyncDir(d); err != nil {
			return err
		}
	}
	if err := e.removeOrphans(a); err != nil {
		return err
	}
	w, err := OpenWAL(e.fs, a.walDir, WALOptions{Account: a.name, Keyring: e.o.Keys, Logger: e.log})
	if err != nil {
		return err
	}
	if err := w.RemoveBefore(a.floor); err != nil {
		w.Close()
		return err
	}
	a.bufMu.Lock()
	a.live, a.schemas = map[tkey]*buffer{}, schemas
	a.bufMu.Unlock()
	now := e.o.Now()
	err = w.Replay(ctx, func(seq uint64, recs [][]byte) error {
		if seq < a.floor {
			return nil // already in segments
		}
		for _, r := range recs {
			ws, table, b, err := unmarshalRowsRecord(r)
			if err != nil {
				return err
			}
			if t, ok := a.tombs[ws]; ok && seq < t {
				continue // workspace dropped after this record
			}
			a.bufMu.Lock()
			if err := a.registerSchema(tkey{ws, table}, b); err != nil {
				e.log.Error("store: replay: schema conflict; conflicting column dropped", "account", a.name, "err", err)
			}
			a.placed[ws] = true
			a.addLocked(tkey{ws, table}, b, now)
			a.bufMu.Unlock()
		}
		return nil
	})
	if err != nil {
		w.Close()
		return err
	}
	a.wal = w
	a.loaded, a.loadErr = true, nil
	return nil
}

// removeOrphans deletes segment files the catalog does not list: leftovers
// of a flush or compaction that crashed before its catalog commit (finished
// segments and ".tmp" files), or of a removal (Retain, a drop, the inputs of
// a compaction) that crashed after its catalog commit. It keeps the files
// still in use in this process: segments that left the catalog but are
// still read by a scan, and segments a compaction is writing. mu must be
// held.
func (e *Engine) removeOrphans(a *account) error {
	names, err := e.fs.List(a.segDir)
	if err != nil {
		return err
	}
	known := a.fileNamesInUse(true)
	removed := false
	for _, n := range names {
		if known[n] {
			continue
		}
		if err := e.fs.Remove(filepath.Join(a.segDir, n)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		removed = true
	}
	if removed {
		return e.fs.SyncDir(a.segDir)
	}
	return nil
}

const segSuffix = ".seg"

// registerSchema adds the columns of b to the table's schema, or fails
// without changing it when a column's type differs. bufMu must be held.
func (a *account) registerSchema(k tkey, b *Block) error {
	s := a.schemas[k]
	if s == nil {
		s = &tableSchema{types: map[string]ColumnType{}}
		s.add(TimeColumn, TypeDateTime)
	}
	for i := range b.Columns {
		c := &b.Columns[i]
		if t, ok := s.types[c.Name]; ok && t != c.Type {
			return fmt.Errorf("store: table %q column %q is %s, not %s", k.table, c.Name, t, c.Type)
		}
	}
	for i := range b.Columns {
		s.add(b.Columns[i].Name, b.Columns[i].Type)
	}
	a.schemas[k] = s
	return nil
}

// checkColumns fails without changing anything when registering blocks
// (of the tables keys) would fail: a column's type differs from the one the
// table (or an earlier block of the call) has, or a table would get more
// than limit columns besides TimeGenerated (limit < 0: no limit). bufMu
// must be held, from the check to the registration, so that concurrent
// Appends cannot together pass the limit.
func (a *account) checkColumns(keys []tkey, blocks []*Block, limit int) error {
	type pending struct {
		have  int
		types map[string]ColumnType // columns new to the table in this call
	}
	tables := map[tkey]*pending{}
	for i, b := range blocks {
		k, s := keys[i], a.schemas[keys[i]]
		p := tables[k]
		if p == nil {
			p = &pending{types: map[string]ColumnType{}}
			if s != nil {
				p.have = len(s.cols) - 1 // TimeGenerated
			}
			tables[k] = p
		}
		for j := range b.Columns {
			c := &b.Columns[j]
			if c.Name == TimeColumn {
				continue
			}
			t, ok := p.types[c.Name]
			if !ok && s != nil {
				t, ok = s.types[c.Name]
			}
			if ok && t != c.Type {
				return fmt.Errorf("store: table %q column %q is %s, not %s", k.table, c.Name, t, c.Type)
			}
			if ok {
				continue
			}
			p.types[c.Name] = c.Type
			p.have++
			if limit >= 0 && p.have > limit {
				return fmt.Errorf("store: table %q would have more than %d columns (%d new in this append): %w",
					k.table, limit, len(p.types), ErrTooManyColumns)
			}
		}
	}
	return nil
}

// addLocked buffers b and returns the buffer's row count. bufMu must be
// held.
func (a *account) addLocked(k tkey, b *Block, now time.Time) int {
	f := a.live[k]
	if f == nil {
		f = newBuffer(now)
		a.live[k] = f
	}
	f.add(b)
	return f.rows
}

// due reports whether the account has buffers to flush now.
func (a *account) due(now time.Time, rows int, age time.Duration) bool {
	a.mu.RLock()
	defer a.mu.RUnlock()
	if !a.loaded {
		return false
	}
	if len(a.frozen) > 0 {
		return true
	}
	a.bufMu.Lock()
	defer a.bufMu.Unlock()
	for _, f := range a.live {
		if f.rows >= rows || now.Sub(f.firstAt) >= age {
			return true
		}
	}
	return false
}

// flushAccount writes the account's buffers to segments. See Flush.
func (e *Engine) flushAccount(ctx context.Context, a *account) error {
	a.flushMu.Lock()
	defer a.flushMu.Unlock()
	a.mu.Lock()
	if !a.loaded {
		err := a.loadErr
		a.mu.Unlock()
		if a.dropped || errors.Is(err, ErrClosed) {
			return nil
		}
		return err
	}
	if a.flushHalted != nil {
		err := a.flushHalted
		a.mu.Unlock()
		return err
	}
	a.bufMu.Lock()
	empty := len(a.live) == 0 && len(a.frozen) == 0
	a.bufMu.Unlock()
	if empty {
		a.mu.Unlock()
		return nil
	}
	aek, err := e.o.Keys.WriteAEK(ctx, a.name)
	if err != nil {
		a.mu.Unlock()
		return fmt.Errorf("store: flush: %w", err)
	}
	seq, err := a.wal.Rotate()
	if err != nil {
		a.mu.Unlock()
		return fmt.Errorf("store: flush: %w", err)
	}
	a.bufMu.Lock()
	if len(a.live) > 0 {
		a.frozen = append(a.frozen, a.live)
		a.live = map[tkey]*buffer{}
	}
	frozen := slices.Clone(a.frozen)
	schemas := map[tkey]schemaPlain{}
	for _, m := range frozen {
		for k := range m {
			if s := a.schemas[k]; s != nil {
				schemas[k] = schemaPlain{Name: k.table, Columns: slices.Clone(s.cols)}
			}
		}
	}
	a.bufMu.Unlock()
	wal := a.wal
	a.mu.Unlock()

	var written []*segEntry
	cleanup := func() {
		for _, s := range written {
			e.fs.Remove(a.segPath(s.doc.Segment))
		}
	}
	for _, m := range frozen {
		keys := slices.SortedFunc(func(yield func(tkey) bool) {
			for k := range m {
				if !yield(k) {
					return
				}
			}
		}, func(x, y tkey) int { return strings.Compare(x.ws+"\x00"+x.table, y.ws+"\x00"+y.table) })
		for _, k := range keys {
			f := m[k]
			segs, err := e.writeSegments(ctx, a, aek, k, f.view(k), seq)
			written = append(written, segs...)
			if err != nil {
				cleanup()
				return fmt.Errorf("store: flush: %w", err)
			}
		}
	}
	tables := map[tkey]tableDoc{}
	for k, sp := range schemas {
		tid := e.tableID(k.ws, k.table)
		sealed, err := sealSchema(aek, a.name, k.ws, tid, sp)
		if err != nil {
			cleanup()
			return fmt.Errorf("store: flush: seal schema: %w", err)
		}
		tables[k] = tableDoc{Account: a.name, Workspace: k.ws, Table: tid, Generation: aek.Generation(), Sealed: sealed}
	}
	a.mu.RLock()
	var doneTombs []string
	for ws, t := range a.tombs {
		if t <= seq {
			doneTombs = append(doneTombs, ws)
		}
	}
	a.mu.RUnlock()
	err = e.o.Catalog.Update(ctx, func(tx meta.Tx) error {
		if err := e.putSegmentsAndSchemas(ctx, tx, a, written, slices.Collect(maps.Values(tables))); err != nil {
			return err
		}
		for _, ws := range doneTombs {
			if err := tx.DeleteDoc(ctx, kindTomb, a.key+"/"+ws); err != nil {
				return err
			}
		}
		return putJSON(ctx, tx, kindAccount, a.key, accountDoc{Account: a.name, WALFloor: seq})
	})
	if err != nil {
		// Did it commit anyway (a lost reply)? Removing the segments of a
		// committed flush would lose their rows: the floor has moved past
		// their WAL files.
		committed, verr := e.floorCommitted(context.WithoutCancel(ctx), a, seq)
		switch {
		case verr != nil:
			a.mu.Lock()
			for _, w := range written { // a reload must not delete them as orphans
				a.limbo[w.doc.Segment+segSuffix] = true
			}
			a.flushHalted = fmt.Errorf("store: flush of account %s halted until restart: an earlier commit's outcome is unknown: %w", a.name, err)
			a.mu.Unlock()
			e.log.Error("store: flush: commit outcome unknown; the account's flushes stop until restart (the WAL keeps every record)",
				"account", a.name, "err", err, "checkErr", verr)
			return fmt.Errorf("store: flush: catalog: %w (outcome unknown: %w)", err, verr)
		case !committed:
			cleanup()
			return fmt.Errorf("store: flush: catalog: %w", err)
		}
		e.log.Warn("store: flush: catalog commit reported an error but committed", "account", a.name, "err", err)
	}
	a.mu.Lock()
	a.segs = append(a.segs, written...)
	a.frozen = nil
	a.floor = seq
	for _, ws := range doneTombs {
		delete(a.tombs, ws)
	}
	a.mu.Unlock()
	if err := wal.RemoveBefore(seq); err != nil {
		// Harmless: the floor in the catalog makes replay skip them, and
		// the next load removes them.
		e.log.Warn("store: flush: removing WAL files", "account", a.name, "err", err)
	}
	return nil
}

// writeSegments writes the rows of one buffer view as one segment per
// SegmentWindow of TimeGenerated, blocks of at most segmentBlockRows rows.
func (e *Engine) writeSegments(ctx context.Context, a *account, aek *AEK, k tkey, v bufView, seq uint64) ([]*segEntry, error) {
	groups := map[int64][]int{}
	first := e.window(v.times[0])
	split := false
	for _, t := range v.times {
		if e.window(t) != first {
			split = true
			break
		}
	}
	if split {
		for i, t := range v.times {
			w := e.window(t)
			groups[w] = append(groups[w], i)
		}
	}
	var out []*segEntry
	write := func(blocks []*Block) error {
		id, err := NewFileID(nil)
		if err != nil {
			return err
		}
		s, err := e.writeSegment(ctx, a, aek, id, k, blocks, seq)
		if err != nil {
			return err
		}
		out = append(out, s)
		return nil
	}
	if !split {
		var blocks []*Block
		for lo := 0; lo < v.rows; lo += segmentBlockRows {
			blocks = append(blocks, v.block(lo, min(lo+segmentBlockRows, v.rows), nil))
		}
		return out, write(blocks)
	}
	wins := slices.Sorted(func(yield func(int64) bool) {
		for w := range groups {
			if !yield(w) {
				return
			}
		}
	})
	for _, w := range wins {
		idx := groups[w]
		var blocks []*Block
		for lo := 0; lo < len(idx); lo += segmentBlockRows {
			blocks = append(blocks, v.gather(idx[lo:min(lo+segmentBlockRows, len(idx))]))
		}
		if err := write(blocks); err != nil {
			return out, err
		}
	}
	return out, nil
}

// writeSegment writes blocks (rows of table k) as segment id of account a,
// sealed under aek, and returns its catalog entry (not yet committed) with
// WALSeq seq. On failure it removes what it wrote, as far as it can (the
// next load deletes leftovers: they are not in the catalog).
func (e *Engine) writeSegment(ctx context.Context, a *account, aek *AEK, id FileID, k tkey, blocks []*Block, seq uint64) (*segEntry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	tid := e.tableID(k.ws, k.table)
	path := a.segPath(id.String())
	w, err := CreateSegment(e.fs, path, SegmentOptions{
		Account: a.name, ID: id, Workspace: k.ws, Table: k.table, AEK: aek, format: e.o.oldFormat,
	})
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*segEntry, error) {
		w.Abort()
		// Finish may have failed before or after the rename.
		e.fs.Remove(path + ".tmp")
		e.fs.Remove(path)
		return nil, err
	}
	for _, b := range blocks {
		if err := ctx.Err(); err != nil {
			return fail(err)
		}
		if _, err := w.Append(b); err != nil {
			return fail(err)
		}
	}
	m, err := w.Finish()
	if err != nil {
		return fail(err)
	}
	return a.segmentEntry(k.ws, tid, id, m, seq), nil
}

// segmentEntry returns the catalog entry (not yet committed) of a segment
// of a that was just written, with WALSeq seq.
func (a *account) segmentEntry(ws, tid string, id FileID, m *SegmentMeta, seq uint64) *segEntry {
	d := segmentDoc{Version: segDocTicks, Account: a.name, Workspace: ws, Table: tid, Segment: id.String(),
		Generation: m.Generation, Min: m.MinTime, Max: m.MaxTime,
		Rows: m.Rows, Size: m.Size, WALSeq: seq}
	for _, bm := range m.Blocks {
		d.Blocks = append(d.Blocks, blockDoc{Offset: bm.Offset, Length: bm.Length, Rows: bm.Rows,
			Min: bm.MinTime, Max: bm.MaxTime})
	}
	return newSegEntry(a.key+"/"+ws+"/"+tid+"/"+d.Segment, id, d)
}

// segPath returns the path of the segment file with the given id.
func (a *account) segPath(id string) string {
	return filepath.Join(a.segDir, id+segSuffix)
}

// window returns the number of the SegmentWindow that holds time t
// (ticks), rounding towards minus infinity: no overflow for any datetime,
// year 1 and year 9999 included.
func (e *Engine) window(t int64) int64 {
	return datetime.Window(t, max(datetime.SpanTicks(e.o.SegmentWindow), 1))
}

// floorCommitted reads the account's WAL floor back from the catalog and
// reports whether it is seq (the flush that moved it there committed).
func (e *Engine) floorCommitted(ctx context.Context, a *account, seq uint64) (bool, error) {
	var ad accountDoc
	err := e.o.Catalog.View(ctx, func(tx meta.Tx) error {
		body, err := tx.Doc(ctx, kindAccount, a.key)
		if err != nil {
			return err
		}
		return json.Unmarshal(body, &ad)
	})
	if err != nil {
		return false, err
	}
	return ad.WALFloor == seq, nil
}
