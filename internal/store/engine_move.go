package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/kustodian/kustodian/internal/meta"
)

// ErrAccountMoving is wrapped by Append for a storage account that
// MoveAccount is moving (or has moved) to another account: nothing was
// written. It is transient for the caller: retry, or write to the target.
var ErrAccountMoving = errors.New("store: storage account is being moved to another account")

// MoveStats counts the work of a MoveAccount.
type MoveStats struct {
	// Batches is the number of catalog transactions committed; Segments
	// segments holding Rows rows moved in them.
	Batches, Segments int
	Rows              int64
	// BytesIn and BytesOut are the sizes of the segment files read (in the
	// source) and written (in the target).
	BytesIn, BytesOut int64
	// Abandoned counts batches given up and planned again because a
	// concurrent Retain or drop removed one of their segments.
	Abandoned int
}

// Bounds of one batch of MoveAccount: the segments copied before one
// catalog commit.
const (
	moveBatchSegments = 64
	moveBatchBytes    = 256 << 20
)

// errMoveCatalog: the catalog does not list a segment the source lists in
// memory; the transaction is rolled back.
var errMoveCatalog = errors.New("store: move: the catalog does not list a segment being moved")

// MoveAccount moves all the data of storage account from into account to,
// exactly once, and returns what it moved. It is how an outage buffer goes
// under its cluster's customer key.
//
//  1. Both accounts' keys are checked first (to's write key, every
//     generation from's segments need), and from's table schemas against
//     to's: if a key is refused or a column's type differs, nothing
//     changes.
//  2. from is closed to Appends: those in flight finish, later ones fail
//     with ErrAccountMoving (in memory only; a restart opens it again).
//  3. from is flushed: all its data is in catalogued segments, its WAL
//     files below the new floor are removed.
//  4. In batches, each segment of from is read (all blocks and columns,
//     under from's keys) and written as a new segment of to under to's
//     current write key (same workspace, table and time range); then ONE
//     catalog transaction puts the new segment rows, to's placement of the
//     workspace and to's sealed schemas (the union of to's columns and the
//     moved ones) and deletes from's segment rows; then, holding both
//     accounts' write locks, the in-memory lists are swapped, so a Scan
//     sees each row once, in from or in to.
//
// A crash before a batch's commit leaves its new files orphans in to (the
// next load deletes them) and from intact, so a later MoveAccount moves it
// again; after the commit, from's files are the orphans. The commit checks
// the column types again, against what to knows then (an Append to to may
// have added a column meanwhile): a conflict fails the move before that
// batch commits. On success from holds no segments and stays closed: the
// caller drops it (DropAccount) and destroys its keys. On failure from is
// opened to Appends again; batches already committed stay moved (each row
// is in exactly one account) and a later call moves the rest. Moving an
// unknown or dropped account moves nothing; to is created if needed.
//
// Plaintext is only ever in memory, one block at a time.
func (e *Engine) MoveAccount(ctx context.Context, from, to string) (st MoveStats, err error) {
	if from == "" || to == "" {
		return st, errors.New("store: move account: empty account id")
	}
	if from == to {
		return st, fmt.Errorf("store: move account %s: source and target are the same", from)
	}
	wrap := func(err error) error {
		return fmt.Errorf("store: move account %s to %s: %w", from, to, err)
	}
	e.mu.Lock()
	done, src := e.done, e.accts[from]
	e.mu.Unlock()
	if done {
		return st, wrap(ErrClosed)
	}
	if src == nil {
		return st, nil
	}
	src.compactMu.Lock()
	defer src.compactMu.Unlock()
	start := time.Now()

	// 1. Keys, and whether there is anything to do.
	src.mu.RLock()
	dropped, halted := src.dropped, src.moveHalted || src.compactHalted
	gens := map[uint32]bool{}
	for _, s := range src.segs {
		gens[s.doc.Generation] = true
	}
	src.mu.RUnlock()
	if dropped {
		return st, nil
	}
	if halted {
		return st, wrap(errors.New("an earlier commit of the source's segments has an unknown outcome; restart first"))
	}
	aek, err := e.o.Keys.WriteAEK(ctx, to)
	if err != nil {
		return st, wrap(fmt.Errorf("write key of %s: %w", to, err))
	}
	if _, err := e.o.Keys.WriteAEK(ctx, from); err != nil {
		return st, wrap(fmt.Errorf("key of %s: %w", from, err))
	}
	for _, g := range slices.Sorted(maps.Keys(gens)) {
		if _, err := e.o.Keys.AEK(ctx, from, g); err != nil {
			return st, wrap(fmt.Errorf("key generation %d of %s: %w", g, from, err))
		}
	}
	if err := e.ready(ctx, src); err != nil {
		if src.isDropped() {
			return st, nil
		}
		return st, wrap(err)
	}
	src.mu.RUnlock()
	dst, err := e.account(ctx, to, true)
	if err != nil {
		return st, wrap(err)
	}
	if err := e.ready(ctx, dst); err != nil {
		return st, wrap(err)
	}
	dstMoving := dst.moving
	dst.mu.RUnlock()
	if dstMoving {
		return st, wrap(fmt.Errorf("account %s is itself being moved", to))
	}
	if err := e.checkMoveSchemas(src, dst); err != nil {
		return st, wrap(err)
	}

	// 2. Close from to Appends (mu.Lock waits for those in flight).
	src.mu.Lock()
	if src.dropped {
		src.mu.Unlock()
		return st, nil
	}
	src.moving = true
	src.mu.Unlock()
	defer func() {
		if err != nil {
			src.mu.Lock()
			src.moving = false
			src.mu.Unlock()
			e.log.Warn("store: moving account failed; it takes Appends again", "from", from, "to", to,
				"segments", st.Segments, "rows", st.Rows, "err", err)
		}
	}()

	// 3. Everything of from into segments.
	if err := e.flushAccount(ctx, src); err != nil {
		return st, wrap(err)
	}
	src.mu.RLock()
	dropped, loaded := src.dropped, src.loaded
	buffered := len(src.frozen) > 0
	src.bufMu.Lock()
	for _, f := range src.live {
		buffered = buffered || f.rows > 0
	}
	src.bufMu.Unlock()
	src.mu.RUnlock()
	switch {
	case dropped:
		return st, nil
	case !loaded:
		return st, wrap(fmt.Errorf("account %s was unloaded", from))
	case buffered:
		return st, wrap(fmt.Errorf("account %s still has buffered rows after its flush", from))
	}

	// 4. The segments, batch by batch.
	for {
		if err := ctx.Err(); err != nil {
			return st, wrap(err)
		}
		more, err := e.moveBatch(ctx, src, dst, aek, &st)
		if err != nil {
			return st, wrap(err)
		}
		if !more {
			break
		}
	}
	e.log.Info("store: account moved", "from", from, "to", to, "batches", st.Batches, "segments", st.Segments,
		"rows", st.Rows, "bytesIn", st.BytesIn, "bytesOut", st.BytesOut, "abandoned", st.Abandoned,
		"duration", time.Since(start))
	return st, nil
}

func (a *account) isDropped() bool {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.dropped
}

// checkMoveSchemas fails if a column of a table of src has another type in
// the same table of dst, before anything is written. (The commit checks
// again, against what dst knows then.)
func (e *Engine) checkMoveSchemas(src, dst *account) error {
	src.mu.RLock()
	src.bufMu.Lock()
	mine := map[tkey][]ColumnSchema{}
	for k, s := range src.schemas {
		mine[k] = slices.Clone(s.cols)
	}
	src.bufMu.Unlock()
	src.mu.RUnlock()
	dst.mu.RLock()
	defer dst.mu.RUnlock()
	dst.bufMu.Lock()
	defer dst.bufMu.Unlock()
	for k, cols := range mine {
		if err := schemaConflict(dst.schemas[k], k, cols); err != nil {
			return err
		}
	}
	return nil
}

// schemaConflict reports a column of cols whose type differs from the one
// s (which may be nil) has.
func schemaConflict(s *tableSchema, k tkey, cols []ColumnSchema) error {
	if s == nil {
		return nil
	}
	for _, c := range cols {
		if t, ok := s.types[c.Name]; ok && t != c.Type {
			return fmt.Errorf("table %q of workspace %s: column %q is %s in the target, %s in the source",
				k.table, k.ws, c.Name, t, c.Type)
		}
	}
	return nil
}

// moveBatch is one batch of MoveAccount: the source's segments (with a
// reader's reference on each), the copies written into the target, and the
// columns of the moved tables.
type moveBatch struct {
	inputs []*segEntry
	outs   []*segEntry
	names  []string // file names of outs, registered in dst.building
	tables map[tkey]*tableSchema
}

// moveBatch moves the next batch of src's segments into dst and reports
// whether there may be more.
func (e *Engine) moveBatch(ctx context.Context, src, dst *account, aek *AEK, st *MoveStats) (bool, error) {
	// A DropWorkspace waits for this batch, and the batch for it: the
	// batch never copies rows a drop is removing.
	e.dropMu.RLock()
	defer e.dropMu.RUnlock()
	b := &moveBatch{tables: map[tkey]*tableSchema{}}
	src.mu.RLock()
	if src.dropped {
		src.mu.RUnlock()
		return false, fmt.Errorf("account %s was dropped during the move", src.name)
	}
	cands := slices.Clone(src.segs)
	slices.SortFunc(cands, func(x, y *segEntry) int {
		return cmp.Or(strings.Compare(x.doc.Workspace, y.doc.Workspace), strings.Compare(x.doc.Table, y.doc.Table),
			cmp.Compare(x.doc.Min, y.doc.Min), strings.Compare(x.doc.Segment, y.doc.Segment))
	})
	var size int64
	for _, s := range cands {
		if len(b.inputs) > 0 && (len(b.inputs) >= e.o.moveBatchSegments || size+s.doc.Size > moveBatchBytes) {
			break
		}
		b.inputs = append(b.inputs, s)
		size += s.doc.Size
	}
	src.ref(b.inputs...)
	src.mu.RUnlock()
	if len(b.inputs) == 0 {
		return false, nil
	}
	defer func() {
		if err := e.releaseSegs(src, b.inputs, false); err != nil {
			e.log.Warn("store: move: removing moved segment files", "account", src.name, "err", err)
		}
	}()
	discard := func() {
		dst.mu.Lock()
		for _, n := range b.names {
			delete(dst.building, n)
		}
		dst.mu.Unlock()
		if err := e.removeSegmentFiles(dst, b.outs); err != nil {
			e.log.Warn("store: move: removing uncommitted copies", "account", dst.name, "err", err)
		}
	}
	for _, in := range b.inputs {
		if err := e.copySegment(ctx, src, dst, aek, in, b); err != nil {
			discard()
			return false, err
		}
	}
	// The target's key may have been refused while the batch was copied:
	// then nothing goes under it.
	if _, err := e.o.Keys.WriteAEK(ctx, dst.name); err != nil {
		discard()
		return false, fmt.Errorf("write key of %s: %w", dst.name, err)
	}
	committed, keep, err := e.commitMove(ctx, src, dst, aek, b)
	if !committed {
		if keep {
			// Unknown outcome: the files stay until a restart (commitMove
			// put them in dst.limbo) and the next load keeps whichever
			// side the catalog lists.
			return false, err
		}
		discard()
		if err != nil {
			return false, err
		}
		st.Abandoned++
		e.log.Debug("store: move: batch abandoned: a segment went away; planning again", "account", src.name)
		return true, nil
	}
	// The catalog's references on the moved segments go now; their files
	// go when the deferred release drops this move's, or when the last
	// scan holding them lets go.
	if err := e.releaseSegs(src, b.inputs, true); err != nil {
		e.log.Warn("store: move: removing moved segment files", "account", src.name, "err", err)
	}
	st.Batches++
	st.Segments += len(b.inputs)
	for i, in := range b.inputs {
		st.Rows += int64(in.doc.Rows)
		st.BytesIn += in.doc.Size
		st.BytesOut += b.outs[i].doc.Size
	}
	return true, nil
}

// copySegment writes a copy of src's segment in into dst, sealed under aek,
// one block at a time, and adds it to b. The copy's file name is registered
// in dst.building first (removeOrphans and DropAccount leave it alone).
func (e *Engine) copySegment(ctx context.Context, src, dst *account, aek *AEK, in *segEntry, b *moveBatch) error {
	id, err := NewFileID(nil)
	if err != nil {
		return err
	}
	name := id.String() + segSuffix
	dst.mu.Lock()
	if dst.dropped || !dst.loaded {
		dst.mu.Unlock()
		return fmt.Errorf("account %s was dropped or unloaded during the move", dst.name)
	}
	dst.building[name] = true
	dst.mu.Unlock()
	b.names = append(b.names, name)

	seg, err := OpenSegment(ctx, e.fs, src.segPath(in.doc.Segment), src.name, in.id, e.o.Keys)
	if err != nil {
		return fmt.Errorf("segment %s of %s: %w", in.doc.Segment, src.name, err)
	}
	defer seg.Close()
	m := seg.Meta()
	if m.Workspace != in.doc.Workspace || e.tableID(m.Workspace, m.Table) != in.doc.Table ||
		m.Rows != in.doc.Rows || m.Generation != in.doc.Generation || len(m.Blocks) != len(in.doc.Blocks) {
		return fmt.Errorf("%w: segment %s of %s does not match its catalog entry", ErrCorrupt, in.doc.Segment, src.name)
	}
	k := tkey{m.Workspace, m.Table}
	ts := b.tables[k]
	if ts == nil {
		ts = &tableSchema{types: map[string]ColumnType{}}
		ts.add(TimeColumn, TypeDateTime)
		b.tables[k] = ts
	}
	path := dst.segPath(id.String())
	w, err := CreateSegment(e.fs, path, SegmentOptions{Account: dst.name, ID: id, Workspace: k.ws, Table: k.table, AEK: aek})
	if err != nil {
		return err
	}
	fail := func(err error) error {
		w.Abort()
		// Finish may have failed before or after the rename.
		e.fs.Remove(path + ".tmp")
		e.fs.Remove(path)
		return err
	}
	for i := range m.Blocks {
		if err := ctx.Err(); err != nil {
			return fail(err)
		}
		blk, err := seg.ReadBlock(ctx, i, nil)
		if err != nil {
			return fail(fmt.Errorf("segment %s of %s: %w", in.doc.Segment, src.name, err))
		}
		for _, c := range blk.Columns {
			if t, ok := ts.types[c.Name]; ok && t != c.Type {
				return fail(fmt.Errorf("%w: table %s of workspace %s: column %q is %s in one segment of %s and %s in another",
					ErrCorrupt, in.doc.Table, k.ws, c.Name, t, src.name, c.Type))
			}
			ts.add(c.Name, c.Type)
		}
		if _, err := w.Append(blk); err != nil {
			return fail(fmt.Errorf("segment %s of %s: %w", in.doc.Segment, src.name, err))
		}
	}
	sm, err := w.Finish()
	if err != nil {
		return fail(err)
	}
	if sm.Rows != in.doc.Rows || sm.MinTime != in.doc.Min || sm.MaxTime != in.doc.Max {
		e.fs.Remove(path)
		return fmt.Errorf("%w: copy of segment %s of %s differs in rows or time range", ErrCorrupt, in.doc.Segment, src.name)
	}
	// WALSeq 0: the rows came from another account's WAL.
	b.outs = append(b.outs, dst.segmentEntry(k.ws, in.doc.Table, id, sm, 0))
	return nil
}

// commitMove commits a batch: ONE catalog transaction that puts the copies,
// dst's placements and sealed schemas and deletes the inputs, then the swap
// of the in-memory lists, all under dst.flushMu (no flush of dst seals an
// older schema over the union) and both accounts' write locks (a Scan sees
// the batch in src or in dst, never both or neither). It reports whether it
// committed; when it did not, the copies are the caller's to remove unless
// keep is set (the outcome is unknown: the files stay in dst.limbo until a
// restart and moves out of src stop). Not committed with a nil error: an
// input went away (a Retain or drop); plan again.
func (e *Engine) commitMove(ctx context.Context, src, dst *account, aek *AEK, b *moveBatch) (committed, keep bool, err error) {
	dst.flushMu.Lock()
	defer dst.flushMu.Unlock()
	unlock := lockAccounts(src, dst)
	defer unlock()
	for _, n := range b.names {
		delete(dst.building, n)
	}
	switch {
	case src.dropped:
		return false, false, fmt.Errorf("account %s was dropped during the move", src.name)
	case dst.dropped || !dst.loaded:
		return false, false, fmt.Errorf("account %s was dropped or unloaded during the move", dst.name)
	case dst.moving:
		return false, false, fmt.Errorf("account %s is itself being moved", dst.name)
	case !allListed(src.segs, b.inputs):
		return false, false, nil
	}
	keys := slices.SortedFunc(func(yield func(tkey) bool) {
		for k := range b.tables {
			if !yield(k) {
				return
			}
		}
	}, func(x, y tkey) int { return cmp.Or(strings.Compare(x.ws, y.ws), strings.Compare(x.table, y.table)) })
	var tables []tableDoc
	var newWS []string
	dst.bufMu.Lock()
	for _, k := range keys {
		cur := dst.schemas[k]
		if err := schemaConflict(cur, k, b.tables[k].cols); err != nil {
			dst.bufMu.Unlock()
			return false, false, err
		}
		u := &tableSchema{types: map[string]ColumnType{}}
		if cur == nil {
			u.add(TimeColumn, TypeDateTime)
		} else {
			for _, c := range cur.cols {
				u.add(c.Name, c.Type)
			}
		}
		for _, c := range b.tables[k].cols {
			u.add(c.Name, c.Type)
		}
		tid := e.tableID(k.ws, k.table)
		sealed, err := sealSchema(aek, dst.name, k.ws, tid, schemaPlain{Name: k.table, Columns: u.cols})
		if err != nil {
			dst.bufMu.Unlock()
			return false, false, fmt.Errorf("seal schema: %w", err)
		}
		tables = append(tables, tableDoc{Account: dst.name, Workspace: k.ws, Table: tid, Generation: aek.Generation(), Sealed: sealed})
		if !dst.placed[k.ws] && !slices.Contains(newWS, k.ws) {
			newWS = append(newWS, k.ws)
		}
	}
	dst.bufMu.Unlock()

	// The copies are written: finish the commit even if the caller is
	// cancelled, rather than leave its outcome unknown.
	ctx = context.WithoutCancel(ctx)
	err = e.o.Catalog.Update(ctx, func(tx meta.Tx) error {
		for _, s := range b.inputs {
			if _, err := tx.Doc(ctx, kindSegment, s.key); errors.Is(err, meta.ErrNotFound) {
				return fmt.Errorf("%w: segment %s of %s", errMoveCatalog, s.doc.Segment, src.name)
			} else if err != nil {
				return err
			}
			if err := tx.DeleteDoc(ctx, kindSegment, s.key); err != nil {
				return err
			}
		}
		if err := e.putSegmentsAndSchemas(ctx, tx, dst, b.outs, tables); err != nil {
			return err
		}
		for _, ws := range newWS {
			if err := putJSON(ctx, tx, kindPlacement, dst.key+"/"+ws, placementDoc{Account: dst.name, Workspace: ws}); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, errMoveCatalog) {
		return false, false, err
	}
	if err != nil {
		// Did it commit anyway (a lost reply)? Deleting the copies of a
		// committed batch would lose its rows.
		found, verr := e.docExists(ctx, kindSegment, b.outs[0].key)
		switch {
		case verr != nil:
			for _, n := range b.names {
				dst.limbo[n] = true
			}
			src.moveHalted = true
			e.log.Error("store: move: commit outcome unknown; moves out of the account stopped until restart",
				"from", src.name, "to", dst.name, "err", err, "checkErr", verr)
			return false, true, fmt.Errorf("catalog: %w (outcome unknown: %w)", err, verr)
		case !found:
			return false, false, fmt.Errorf("catalog: %w", err)
		}
		e.log.Warn("store: move: catalog commit reported an error but committed", "from", src.name, "to", dst.name, "err", err)
	}
	in := make(map[*segEntry]bool, len(b.inputs))
	for _, s := range b.inputs {
		in[s] = true
	}
	keepSegs := make([]*segEntry, 0, len(src.segs)-len(b.inputs))
	for _, s := range src.segs {
		if !in[s] {
			keepSegs = append(keepSegs, s)
		}
	}
	src.segs = keepSegs
	dst.segs = append(dst.segs, b.outs...)
	dst.bufMu.Lock()
	for _, k := range keys {
		s := dst.schemas[k]
		if s == nil {
			s = &tableSchema{types: map[string]ColumnType{}}
			s.add(TimeColumn, TypeDateTime)
			dst.schemas[k] = s
		}
		for _, c := range b.tables[k].cols {
			s.add(c.Name, c.Type)
		}
		dst.placed[k.ws] = true
	}
	dst.bufMu.Unlock()
	return true, false, nil
}
