package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/kustodian/kustodian/internal/meta"
)

// Compaction defaults.
const (
	// DefaultCompactInterval is how often Run compacts small segments.
	DefaultCompactInterval = 5 * time.Minute
	// DefaultCompactMinRows: a segment with fewer rows (half a block) is
	// small. Larger ones cost little per row (a footer, a catalog row) and
	// are left alone.
	DefaultCompactMinRows = segmentBlockRows / 2
	// DefaultCompactMaxRows bounds a compacted segment to two full blocks.
	// A group is merged in memory: this bounds that memory to two blocks'
	// worth of decoded rows, which must fit beside ingestion.
	DefaultCompactMaxRows = 2 * segmentBlockRows
	// compactMaxInputs bounds the segments merged into one.
	compactMaxInputs = 1024
)

// CompactStats counts the work of compaction.
type CompactStats struct {
	// Accounts is the number of accounts visited; Skipped of them were not
	// loaded or their write key was refused, and were left alone.
	Accounts, Skipped int
	// Groups is the number of groups of segments merged into one. Abandoned
	// counts the groups given up without an error: a concurrent Retain or
	// drop removed an input, the account was unloaded, dropped or closed,
	// or the inputs disagree on a column's type.
	Groups, Abandoned int
	// SegmentsIn segments were replaced by SegmentsOut segments.
	SegmentsIn, SegmentsOut int
	// Rows is the number of rows rewritten; BytesIn and BytesOut are the
	// sizes of the segment files read and written.
	Rows, BytesIn, BytesOut int64
}

func (s *CompactStats) add(o CompactStats) {
	s.Accounts += o.Accounts
	s.Skipped += o.Skipped
	s.Groups += o.Groups
	s.Abandoned += o.Abandoned
	s.SegmentsIn += o.SegmentsIn
	s.SegmentsOut += o.SegmentsOut
	s.Rows += o.Rows
	s.BytesIn += o.BytesIn
	s.BytesOut += o.BytesOut
}

// EngineStats are cumulative counters since OpenEngine, for the server to
// export.
type EngineStats struct {
	// CompactPasses counts compaction passes (Compact, called by Run or
	// directly); CompactErrors the passes that returned an error.
	CompactPasses, CompactErrors int64
	// Compacted is the sum of the CompactStats of all passes.
	Compacted CompactStats
}

// Stats returns the engine's cumulative counters.
func (e *Engine) Stats() EngineStats {
	e.statsMu.Lock()
	defer e.statsMu.Unlock()
	return e.stats
}

// compactGroup is a set of small segments of one (workspace, table,
// window) to merge into one. The compaction holds a reference on each input.
type compactGroup struct {
	ws, tid string
	inputs  []*segEntry
	rows    int
}

// errCompactConflict abandons a group whose inputs disagree on a column's
// type: merging would have to drop a column.
var errCompactConflict = errors.New("store: compact: inputs disagree on a column's type")

// Compact merges small segments, once, in every loaded account whose write
// key is available; accounts that are not loaded or whose key is refused are
// skipped (logged, not an error). Within one (account, workspace, table,
// SegmentWindow), the segments of the account's current AEK generation with
// fewer than CompactMinRows rows are merged, in groups of at least two and
// at most CompactMaxRows rows, into one segment sealed under that
// generation, rows sorted by TimeGenerated. Segments of older generations
// are never rewritten: data stays under the key it was written under.
//
// Each group is read and written without blocking Append, Scan or flush,
// then committed in one catalog transaction (new segment in, inputs out) if
// no Retain, drop or unload took an input or the account meanwhile;
// otherwise it is abandoned and its output deleted. A crash at any point
// leaves either the inputs or the output in the catalog, and the next load
// deletes the other files. Scans that hold an input keep reading it; its
// file is deleted when the last of them lets go.
//
// The errors of all accounts are joined; the stats count what was done
// even so.
func (e *Engine) Compact(ctx context.Context) (CompactStats, error) {
	var st CompactStats
	e.mu.Lock()
	done := e.done
	e.mu.Unlock()
	if done {
		return st, ErrClosed
	}
	start := time.Now()
	e.log.Debug("store: compaction started")
	accts := e.accounts()
	slices.SortFunc(accts, func(x, y *account) int { return strings.Compare(x.name, y.name) })
	var errs []error
	for _, a := range accts {
		if err := ctx.Err(); err != nil {
			errs = append(errs, fmt.Errorf("store: compact: %w", err))
			break
		}
		if err := e.compactAccount(ctx, a, &st); err != nil {
			errs = append(errs, fmt.Errorf("account %s: %w", a.name, err))
		}
	}
	err := errors.Join(errs...)
	e.statsMu.Lock()
	e.stats.CompactPasses++
	if err != nil {
		e.stats.CompactErrors++
	}
	e.stats.Compacted.add(st)
	e.statsMu.Unlock()
	level := slog.LevelDebug
	if st.Groups > 0 || st.Abandoned > 0 || err != nil {
		level = slog.LevelInfo
	}
	args := []any{"accounts", st.Accounts, "skipped", st.Skipped,
		"groups", st.Groups, "abandoned", st.Abandoned, "segmentsIn", st.SegmentsIn, "segmentsOut", st.SegmentsOut,
		"rows", st.Rows, "bytesIn", st.BytesIn, "bytesOut", st.BytesOut, "duration", time.Since(start)}
	if err != nil {
		args = append(args, "err", err)
	}
	e.log.Log(ctx, level, "store: compaction finished", args...)
	return st, err
}

// compactAccount runs one compaction pass over an account.
func (e *Engine) compactAccount(ctx context.Context, a *account, st *CompactStats) error {
	a.compactMu.Lock()
	defer a.compactMu.Unlock()
	st.Accounts++
	skip := func(msg string, args ...any) error {
		st.Skipped++
		e.log.Info("store: compaction: account skipped: "+msg, append([]any{"account", a.name}, args...)...)
		return nil
	}
	a.mu.RLock()
	loaded, halted := a.loaded, a.compactHalted
	a.mu.RUnlock()
	switch {
	case !loaded:
		st.Skipped++
		e.log.Debug("store: compaction: account not loaded, skipped", "account", a.name)
		return nil
	case halted:
		return skip("an earlier commit's outcome is unknown; compaction resumes after a restart")
	}
	aek, err := e.o.Keys.WriteAEK(ctx, a.name)
	if err != nil {
		return skip("key refused", "err", err)
	}
	a.mu.RLock()
	if !a.loaded {
		a.mu.RUnlock()
		st.Skipped++
		return nil
	}
	groups := e.planCompaction(a, aek.Generation())
	a.mu.RUnlock()
	release := func(groups []compactGroup) {
		for _, g := range groups {
			e.releaseInputs(a, g.inputs)
		}
	}
	for i, g := range groups {
		if err := ctx.Err(); err != nil {
			release(groups[i:])
			return fmt.Errorf("store: compact: %w", err)
		}
		if err := e.compactGroup(ctx, a, aek, g, st); err != nil {
			release(groups[i+1:])
			if ctx.Err() == nil {
				if _, kerr := e.o.Keys.WriteAEK(ctx, a.name); kerr != nil {
					// The key went away during the pass: not a failure
					// of compaction.
					return skip("key refused during the pass", "err", kerr)
				}
			}
			return err
		}
	}
	return nil
}

// planCompaction returns the groups to merge in a, taking a reference on
// every input. a.mu must be held.
func (e *Engine) planCompaction(a *account, gen uint32) []compactGroup {
	type gkey struct {
		ws, tid string
		win     int64
	}
	cands := map[gkey][]*segEntry{}
	for _, s := range a.segs {
		d := &s.doc
		if d.Rows >= e.o.CompactMinRows || d.Generation != gen {
			continue
		}
		w := e.window(d.Min)
		if e.window(d.Max) != w {
			continue // written under another SegmentWindow: leave it
		}
		k := gkey{d.Workspace, d.Table, w}
		cands[k] = append(cands[k], s)
	}
	keys := make([]gkey, 0, len(cands))
	for k, segs := range cands {
		if len(segs) >= 2 {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(x, y gkey) int {
		return cmp.Or(strings.Compare(x.ws, y.ws), strings.Compare(x.tid, y.tid), cmp.Compare(x.win, y.win))
	})
	var out []compactGroup
	for _, k := range keys {
		segs := cands[k]
		// Arrival order (flush, then time), which the stable sort by time
		// keeps for equal times.
		slices.SortFunc(segs, func(x, y *segEntry) int {
			return cmp.Or(cmp.Compare(x.doc.WALSeq, y.doc.WALSeq), cmp.Compare(x.doc.Min, y.doc.Min),
				strings.Compare(x.doc.Segment, y.doc.Segment))
		})
		cur := compactGroup{ws: k.ws, tid: k.tid}
		emit := func() {
			if len(cur.inputs) >= 2 {
				a.ref(cur.inputs...)
				out = append(out, cur)
			}
			cur = compactGroup{ws: k.ws, tid: k.tid}
		}
		for _, s := range segs {
			if len(cur.inputs) > 0 && (cur.rows+s.doc.Rows > e.o.CompactMaxRows || len(cur.inputs) >= compactMaxInputs) {
				emit()
			}
			cur.inputs = append(cur.inputs, s)
			cur.rows += s.doc.Rows
		}
		emit()
	}
	return out
}

// releaseInputs drops the compaction's references on inputs.
func (e *Engine) releaseInputs(a *account, inputs []*segEntry) {
	if err := e.releaseSegs(a, inputs, false); err != nil {
		e.log.Warn("store: compaction: removing replaced segment files", "account", a.name, "err", err)
	}
}

// compactGroup merges one group and commits it; see Compact. It always
// releases the group's references.
func (e *Engine) compactGroup(ctx context.Context, a *account, aek *AEK, g compactGroup, st *CompactStats) error {
	defer e.releaseInputs(a, g.inputs)
	a.mu.RLock()
	gone := !a.loaded || !allListed(a.segs, g.inputs)
	a.mu.RUnlock()
	if gone {
		st.Abandoned++ // taken by a Retain, drop or earlier unload
		return nil
	}
	k, v, err := e.mergeInputs(ctx, a, g)
	if errors.Is(err, errCompactConflict) {
		st.Abandoned++
		e.log.Warn("store: compaction: group left alone", "account", a.name, "table", g.tid, "err", err)
		return nil
	}
	if err != nil {
		return err
	}
	// Sort by time, keeping the input order for equal times.
	idx := make([]int, v.rows)
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(x, y int) int { return cmp.Compare(v.times[x], v.times[y]) })
	blocks := make([]*Block, 0, (v.rows+segmentBlockRows-1)/segmentBlockRows)
	var seq uint64
	var bytesIn int64
	for _, s := range g.inputs {
		seq = max(seq, s.doc.WALSeq)
		bytesIn += s.doc.Size
	}
	for lo := 0; lo < len(idx); lo += segmentBlockRows {
		blocks = append(blocks, v.gather(idx[lo:min(lo+segmentBlockRows, len(idx))]))
	}

	id, err := NewFileID(nil)
	if err != nil {
		return fmt.Errorf("store: compact: %w", err)
	}
	name := id.String() + segSuffix
	a.mu.Lock()
	if a.dropped || !a.loaded {
		a.mu.Unlock()
		st.Abandoned++
		return nil
	}
	a.building[name] = true // removeOrphans (a reload) and DropAccount keep it
	a.mu.Unlock()
	out, err := e.writeSegment(ctx, a, aek, id, k, blocks, seq)
	if err != nil {
		a.mu.Lock()
		delete(a.building, name)
		a.mu.Unlock()
		return fmt.Errorf("store: compact: %w", err)
	}
	committed, keep, err := e.commitCompaction(ctx, a, g, out, name)
	if !committed {
		if !keep {
			if rerr := e.removeSegmentFiles(a, []*segEntry{out}); rerr != nil {
				e.log.Warn("store: compaction: removing uncommitted output", "account", a.name, "err", rerr)
			}
		}
		if err != nil {
			return err
		}
		st.Abandoned++
		e.log.Debug("store: compaction: group abandoned: an input or the account went away", "account", a.name)
		return nil
	}
	// The catalog's references on the inputs go now; the files go when the
	// deferred release drops this compaction's, or when the last scan
	// holding them lets go.
	if err := e.releaseSegs(a, g.inputs, true); err != nil {
		e.log.Warn("store: compaction: removing replaced segment files", "account", a.name, "err", err)
	}
	st.Groups++
	st.SegmentsIn += len(g.inputs)
	st.SegmentsOut++
	st.Rows += int64(out.doc.Rows)
	st.BytesIn += bytesIn
	st.BytesOut += out.doc.Size
	return nil
}

// commitCompaction replaces the group's inputs by out in the catalog and in
// a.segs, if every input is still listed and the account still loaded. It
// reports whether it did; when it did not, out's file is the caller's to
// remove unless keep is set: the catalog transaction failed and reading the
// catalog back could not tell whether it committed. Then out's file stays
// until the process ends (the next start's load decides from the catalog
// which of out and the inputs are orphans), the account's compaction stops,
// and an error is returned.
func (e *Engine) commitCompaction(ctx context.Context, a *account, g compactGroup, out *segEntry, name string) (committed, keep bool, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.building, name)
	if a.dropped || !a.loaded {
		return false, false, nil
	}
	if !allListed(a.segs, g.inputs) {
		return false, false, nil
	}
	// The output is written: finish the commit even if the caller is
	// cancelled, rather than leave its outcome unknown.
	ctx = context.WithoutCancel(ctx)
	err = e.o.Catalog.Update(ctx, func(tx meta.Tx) error {
		if err := e.putSegment(ctx, tx, out); err != nil {
			return err
		}
		for _, s := range g.inputs {
			if err := tx.DeleteDoc(ctx, kindSegment, s.key); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		// Did it commit anyway (a lost reply)? Deleting the output of a
		// committed compaction would lose its rows.
		found, verr := e.docExists(ctx, kindSegment, out.key)
		switch {
		case verr != nil:
			a.limbo[name] = true
			a.compactHalted = true
			e.log.Error("store: compaction: commit outcome unknown; account's compaction stopped until restart",
				"account", a.name, "segment", out.doc.Segment, "err", err, "checkErr", verr)
			return false, true, fmt.Errorf("store: compact: catalog: %w (outcome unknown: %w)", err, verr)
		case !found:
			return false, false, fmt.Errorf("store: compact: catalog: %w", err)
		}
		e.log.Warn("store: compaction: catalog commit reported an error but committed", "account", a.name, "err", err)
	}
	in := make(map[*segEntry]bool, len(g.inputs))
	for _, s := range g.inputs {
		in[s] = true
	}
	segs := make([]*segEntry, 0, len(a.segs)-len(g.inputs)+1)
	for _, s := range a.segs {
		if !in[s] {
			segs = append(segs, s)
		}
	}
	a.segs = append(segs, out)
	return true, false, nil
}

// allListed reports whether every one of inputs is in segs.
func allListed(segs, inputs []*segEntry) bool {
	listed := make(map[*segEntry]bool, len(segs))
	for _, s := range segs {
		listed[s] = true
	}
	for _, s := range inputs {
		if !listed[s] {
			return false
		}
	}
	return true
}

// mergeInputs reads every block of every input (all columns) into one
// buffer: columns absent from some inputs are null in their rows.
func (e *Engine) mergeInputs(ctx context.Context, a *account, g compactGroup) (tkey, bufView, error) {
	var k tkey
	f := newBuffer(time.Time{})
	types := map[string]ColumnType{}
	for i, s := range g.inputs {
		if err := ctx.Err(); err != nil {
			return k, bufView{}, err
		}
		if err := e.readInput(ctx, a, s, f, types, &k, i == 0); err != nil {
			return k, bufView{}, err
		}
	}
	if f.rows != g.rows {
		return k, bufView{}, fmt.Errorf("store: compact: %w: %d rows read, the catalog lists %d", ErrCorrupt, f.rows, g.rows)
	}
	return k, f.view(k), nil
}

// readInput adds the rows of segment s to f. The first input sets k (the
// table's name is only in the sealed footer); the others must match it.
func (e *Engine) readInput(ctx context.Context, a *account, s *segEntry, f *buffer, types map[string]ColumnType, k *tkey, first bool) error {
	seg, err := OpenSegment(ctx, e.fs, a.segPath(s.doc.Segment), a.name, s.id, e.o.Keys)
	if err != nil {
		return fmt.Errorf("store: compact: %w", err)
	}
	defer seg.Close()
	m := seg.Meta()
	if m.Workspace != s.doc.Workspace || e.tableID(m.Workspace, m.Table) != s.doc.Table ||
		m.Rows != s.doc.Rows || m.Generation != s.doc.Generation || (!first && m.Table != k.table) {
		return fmt.Errorf("store: compact: %w: segment %s does not match its catalog entry", ErrCorrupt, s.doc.Segment)
	}
	*k = tkey{m.Workspace, m.Table}
	for i := range m.Blocks {
		b, err := seg.ReadBlock(ctx, i, nil)
		if err != nil {
			return fmt.Errorf("store: compact: %w", err)
		}
		for _, c := range b.Columns {
			if t, ok := types[c.Name]; ok && t != c.Type {
				return fmt.Errorf("%w: column of segment %s", errCompactConflict, s.doc.Segment)
			}
			types[c.Name] = c.Type
		}
		f.add(b)
	}
	return nil
}
