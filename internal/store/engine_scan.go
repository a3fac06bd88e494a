package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kustodian/kustodian/internal/datetime"
	"github.com/kustodian/kustodian/internal/meta"
)

// ScanRequest selects the rows of one workspace table.
type ScanRequest struct {
	Workspace string
	Table     string
	// Account, if set, limits the scan to one storage account (moving an
	// account's data elsewhere); empty scans every account.
	Account string
	// Columns are the columns the caller needs besides TimeGenerated;
	// empty means only row counts (blocks carry TimeGenerated alone).
	Columns []string
	// TimeMin and TimeMax bound TimeGenerated to [TimeMin, TimeMax); a zero
	// value leaves that side open. Any time.Time works, also one outside
	// Kusto's datetime range (see datetime.Bound).
	TimeMin, TimeMax time.Time
	// RowsOnly says the caller needs only row counts: a segment block that
	// lies wholly inside [TimeMin, TimeMax) then comes back with Rows and
	// its time range set and no columns, from the segment's footer
	// (authenticated with the live AEK, which is asked for as the segment is
	// opened) without opening the block. Other blocks come as usual.
	RowsOnly bool
	// OmitTime says the caller does not need TimeGenerated: a segment
	// block wholly inside [TimeMin, TimeMax) then comes without it (its
	// other requested columns only).
	OmitTime bool
	// Equal lists predicates that every row the caller wants satisfies:
	// a segment block whose sealed value filters rule one of them out
	// is skipped. Blocks that may hold matching rows come whole: the
	// caller still applies the predicates.
	Equal []Equal
}

// BlockIterator yields the blocks of a scan. Next returns io.EOF after the
// last block. Blocks are read-only: they may share memory with the engine's
// buffers.
type BlockIterator interface {
	Next(ctx context.Context) (*Block, error)
	Close() error
}

// Scan returns the rows of a workspace table in every storage account that
// holds data of the workspace (a workspace's data may sit in the shared
// account and a cluster account): segments pruned by the catalog's time
// ranges, then the in-memory buffers. Rows outside [TimeMin, TimeMax) are
// filtered out. A requested column absent from a block (a segment written
// before the column existed) is absent from that block: treat it as null.
// If any account holding the workspace is not loaded or its key is refused,
// Scan fails with that error rather than return partial results (a dropped
// account holds nothing and is skipped; so is the key of an account moved
// out by MoveAccount that contributes nothing). The sources are taken while
// the read locks of all accounts are held together, so a MoveAccount commit
// is entirely before or after the scan: every row is seen exactly once.
//
// The iterator holds the segments it will read: a concurrent Retain, drop
// or compaction does not take them away from it (their files are deleted
// when it advances past them or is closed). Close it when done; an
// iterator dropped without Close lets go of its segments when it is garbage
// collected.
func (e *Engine) Scan(ctx context.Context, req ScanRequest) (BlockIterator, error) {
	st := &scanState{e: e, min: math.MinInt64, max: math.MaxInt64, want: map[string]bool{},
		rowsOnly: req.RowsOnly, omitTime: req.OmitTime, eq: slices.Clone(req.Equal), window: max(2, runtime.GOMAXPROCS(0))}
	if scanWindow > 0 {
		st.window = scanWindow
	}
	it := &scanIter{st: st}
	it.cleanup = runtime.AddCleanup(it, func(st *scanState) { st.close() }, it.st)
	if !req.TimeMin.IsZero() {
		st.min = datetime.Bound(req.TimeMin)
	}
	if !req.TimeMax.IsZero() {
		st.max = datetime.Bound(req.TimeMax)
	}
	st.cols = []string{TimeColumn}
	for _, c := range req.Columns {
		if c != TimeColumn && !st.want[c] {
			st.want[c] = true
			st.cols = append(st.cols, c)
		}
	}
	if st.min >= st.max {
		return it, nil
	}
	tid := e.tableID(req.Workspace, req.Table)
	k := tkey{req.Workspace, req.Table}
	accts := e.lockAccountsForScan(req.Account)
	// Every account's read lock is held together: a MoveAccount commit
	// (which holds the write locks of its source and target) is wholly
	// before or after this snapshot, so each row is seen exactly once.
	var check []*account // accounts whose key must still be given
	var failed error
	for _, a := range accts {
		if failed != nil || a.dropped || !a.holds(req.Workspace) {
			continue
		}
		if !a.loaded {
			failed = fmt.Errorf("store: scan: account %s: %w", a.name, a.loadErr)
			continue
		}
		n := len(st.srcs)
		for _, s := range a.segs {
			if s.doc.Workspace != req.Workspace || s.doc.Table != tid || s.doc.Max < st.min || s.doc.Min >= st.max {
				continue
			}
			src := &scanSource{acct: a, seg: s}
			for i, b := range s.doc.Blocks {
				if b.Max >= st.min && b.Min < st.max {
					src.blocks = append(src.blocks, i)
				}
			}
			if len(src.blocks) > 0 {
				a.ref(s)
				st.srcs = append(st.srcs, src)
			}
		}
		a.bufMu.Lock()
		for _, m := range a.frozen {
			if f := m[k]; f != nil && f.rows > 0 {
				st.srcs = append(st.srcs, &scanSource{acct: a, buf: f.view(k)})
			}
		}
		if f := a.live[k]; f != nil && f.rows > 0 {
			st.srcs = append(st.srcs, &scanSource{acct: a, buf: f.view(k)})
		}
		a.bufMu.Unlock()
		// An account being moved (or moved) out takes no Appends: if it
		// gave nothing to this scan, its data is elsewhere and its key
		// (which the caller may be about to destroy) does not matter.
		if !a.moving || len(st.srcs) > n || a.holdsSegments(req.Workspace) {
			check = append(check, a)
		}
		if e.o.scanLocked != nil {
			e.o.scanLocked(a.name)
		}
	}
	unlockAccountsRead(accts)
	if failed != nil {
		it.Close()
		return nil, failed
	}
	for _, a := range check {
		if _, err := e.o.Keys.WriteAEK(ctx, a.name); err != nil {
			it.Close()
			return nil, fmt.Errorf("store: scan: account %s: %w", a.name, err)
		}
	}
	return it, nil
}

// lockAccountsForScan read-locks the mu of every account (only the one
// named, if only is set) in order of name and returns them; see
// unlockAccountsRead. If an account was created meanwhile (a MoveAccount's
// target, say), it starts again, so that no account holding data is left
// out of the snapshot.
func (e *Engine) lockAccountsForScan(only string) []*account {
	for {
		all, gen := e.accountsSorted()
		accts := all[:0]
		for _, a := range all {
			if only == "" || a.name == only {
				accts = append(accts, a)
			}
		}
		for _, a := range accts {
			a.mu.RLock()
		}
		if e.accountsCreated() == gen {
			return accts
		}
		unlockAccountsRead(accts)
	}
}

func unlockAccountsRead(accts []*account) {
	for i := len(accts) - 1; i >= 0; i-- {
		accts[i].mu.RUnlock()
	}
}

// lockAccounts write-locks the mu of each of accts in order of name (the
// lock order between accounts) and returns the function that unlocks them.
func lockAccounts(accts ...*account) func() {
	accts = slices.Clone(accts)
	slices.SortFunc(accts, func(x, y *account) int { return strings.Compare(x.name, y.name) })
	for _, a := range accts {
		a.mu.Lock()
	}
	return func() {
		for i := len(accts) - 1; i >= 0; i-- {
			accts[i].mu.Unlock()
		}
	}
}

// holdsSegments reports whether the account lists segments of workspace
// ws. mu must be held.
func (a *account) holdsSegments(ws string) bool {
	for _, s := range a.segs {
		if s.doc.Workspace == ws {
			return true
		}
	}
	return false
}

// holds reports whether the account has data of workspace ws. mu must be
// held.
func (a *account) holds(ws string) bool {
	a.bufMu.Lock()
	p := a.placed[ws]
	a.bufMu.Unlock()
	if p {
		return true
	}
	for _, s := range a.segs {
		if s.doc.Workspace == ws {
			return true
		}
	}
	return false
}

type scanSource struct {
	acct   *account
	seg    *segEntry // holds a reference, dropped by scanState.releaseBefore or close
	blocks []int     // block indexes to read
	buf    bufView
	// open is the segment, opened by the first job that needs it.
	once sync.Once
	open *Segment
	err  error
}

// scanWindow, when positive, replaces the number of blocks a scan reads at
// once (benchmarks of this package compare with 1).
var scanWindow int

type scanIter struct {
	st      *scanState
	cleanup runtime.Cleanup
}

// scanState is the state of a scan, apart from the iterator so that a
// cleanup can release it when an iterator is dropped without Close.
//
// Blocks are read, decrypted, decoded and time-filtered by up to window
// jobs at once, each on its own goroutine (a bounded pool: a scan uses
// every core), and handed out in order by Next. Sources are released (their
// segments closed and let go of) once Next has moved past them.
type scanState struct {
	e        *Engine
	min, max int64
	cols     []string
	want     map[string]bool
	rowsOnly bool
	omitTime bool
	eq       []Equal
	window   int

	mu       sync.Mutex // the iterator and its cleanup
	srcs     []*scanSource
	released int // srcs[:released] are released
	nextSrc  int // the next job's source
	nextPos  int // and its position in the source (block index, or buffer row)
	queue    []*scanJob
	wg       sync.WaitGroup // running jobs
	closed   bool
}

// scanJob reads one block of a source.
type scanJob struct {
	src  int
	pos  int // index into blocks, or first buffer row
	hi   int // buffer: end row
	done chan struct{}
	b    *Block
	err  error
}

func (it *scanIter) Next(ctx context.Context) (*Block, error) {
	st := it.st
	st.mu.Lock()
	defer st.mu.Unlock()
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if st.closed {
			return nil, io.EOF
		}
		st.fill(ctx)
		if len(st.queue) == 0 {
			st.releaseBefore(len(st.srcs))
			return nil, io.EOF
		}
		j := st.queue[0]
		select {
		case <-j.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		st.queue = st.queue[1:]
		st.releaseBefore(j.src)
		if j.err != nil {
			return nil, j.err
		}
		if j.b != nil {
			return j.b, nil
		}
	}
}

// fill starts jobs until window are queued or every block has one. mu
// must be held.
func (st *scanState) fill(ctx context.Context) {
	for len(st.queue) < st.window && st.nextSrc < len(st.srcs) {
		src := st.srcs[st.nextSrc]
		j := &scanJob{src: st.nextSrc, pos: st.nextPos, done: make(chan struct{})}
		if src.seg != nil {
			if st.nextPos >= len(src.blocks) {
				st.nextSrc, st.nextPos = st.nextSrc+1, 0
				continue
			}
			st.nextPos++
		} else {
			if st.nextPos >= src.buf.rows {
				st.nextSrc, st.nextPos = st.nextSrc+1, 0
				continue
			}
			j.hi = min(st.nextPos+segmentBlockRows, src.buf.rows)
			st.nextPos = j.hi
		}
		st.queue = append(st.queue, j)
		st.wg.Add(1)
		go func() {
			defer st.wg.Done()
			j.b, j.err = st.run(ctx, src, j)
			close(j.done)
		}()
	}
}

// run reads the block of job j from src. It takes no lock of the scan.
func (st *scanState) run(ctx context.Context, src *scanSource, j *scanJob) (*Block, error) {
	if src.seg == nil {
		return filterTime(src.buf.block(j.pos, j.hi, st.want), st.min, st.max), nil
	}
	i := src.blocks[j.pos]
	filtered := false // every equality's filter of the block was consulted
	if m := src.seg.footer.Load(); m != nil && i < len(m.Blocks) && (st.rowsOnly || len(st.eq) > 0) {
		// What a scan authenticated before (the footer; the value filters
		// it opened); the live AEK must still be given.
		if _, err := st.e.o.Keys.AEK(ctx, src.acct.name, m.Generation); err != nil {
			src.seg.filters.Clear() // derived from content: not kept without the key
			return nil, fmt.Errorf("store: scan: segment %s: AEK generation %d: %w", m.ID, m.Generation, err)
		}
		if bm := m.Blocks[i]; st.rowsOnly && bm.MinTime >= st.min && bm.MaxTime < st.max {
			return &Block{Rows: bm.Rows, MinTime: bm.MinTime, MaxTime: bm.MaxTime}, nil
		}
		if len(st.eq) > 0 {
			ruled, all := src.seg.cachedRuledOut(i, st.eq)
			if ruled {
				return nil, nil
			}
			filtered = all
		}
	}
	src.once.Do(func() {
		a := src.acct
		src.open, src.err = OpenSegment(ctx, st.e.fs, a.segPath(src.seg.doc.Segment), a.name, src.seg.id, st.e.o.Keys)
		if src.err == nil {
			m := src.open.Meta()
			src.seg.footer.Store(&m)
			seg := src.seg
			src.open.onFilter = func(block int, col string, f *valueFilter) {
				seg.filters.Store(filterKey{block, col}, f)
			}
		}
	})
	if src.err != nil {
		return nil, fmt.Errorf("store: scan: %w", src.err)
	}
	if st.rowsOnly {
		// The footer was authenticated with the live AEK as the segment
		// was opened; a block wholly inside the range needs no more.
		bm := src.open.meta.Blocks[i]
		if bm.MinTime >= st.min && bm.MaxTime < st.max {
			return &Block{Rows: bm.Rows, MinTime: bm.MinTime, MaxTime: bm.MaxTime}, nil
		}
	}
	cols := st.cols
	if bm := src.open.meta.Blocks[i]; st.omitTime && bm.MinTime >= st.min && bm.MaxTime < st.max {
		cols = cols[1:] // st.cols[0] is TimeGenerated
	}
	b, err := src.open.readBlockMatch(ctx, i, cols, st.eq, filtered)
	if err != nil {
		return nil, fmt.Errorf("store: scan: %w", err)
	}
	if b == nil {
		return nil, nil
	}
	if len(cols) < len(st.cols) {
		return b, nil // wholly inside the range
	}
	return filterTime(b, st.min, st.max), nil
}

// releaseBefore closes the segments of srcs[:n] and lets go of them. mu
// must be held, and no job of those sources may be running.
func (st *scanState) releaseBefore(n int) {
	for ; st.released < n; st.released++ {
		src := st.srcs[st.released]
		if src.open != nil {
			src.open.Close()
			src.open = nil
		}
		if src.seg != nil {
			st.release(src.acct, []*segEntry{src.seg})
		}
	}
}

func (st *scanState) release(a *account, segs []*segEntry) {
	if err := st.e.releaseSegs(a, segs, false); err != nil {
		st.e.log.Warn("store: scan: removing released segment files", "account", a.name, "err", err)
	}
}

// close waits for running jobs, closes the open segments and lets go of
// every segment not yet released.
func (st *scanState) close() error {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.wg.Wait()
	st.closed = true
	st.queue = nil
	var err error
	for ; st.released < len(st.srcs); st.released++ {
		src := st.srcs[st.released]
		if src.open != nil {
			if cerr := src.open.Close(); cerr != nil && err == nil {
				err = cerr
			}
			src.open = nil
		}
		if src.seg != nil {
			st.release(src.acct, []*segEntry{src.seg})
		}
	}
	return err
}

func (it *scanIter) Close() error {
	it.cleanup.Stop()
	return it.st.close()
}

// filterTime returns the rows of b with TimeGenerated in [lo, hi), b itself
// when all are, or nil when none is.
func filterTime(b *Block, lo, hi int64) *Block {
	if b.MinTime >= lo && b.MaxTime < hi {
		return b
	}
	if b.MaxTime < lo || b.MinTime >= hi {
		return nil
	}
	tc := b.Column(TimeColumn)
	var idx []int
	for i, t := range tc.Ints {
		if t >= lo && t < hi {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		return nil
	}
	out := &Block{Rows: len(idx), MinTime: math.MaxInt64, MaxTime: math.MinInt64, Columns: make([]Column, len(b.Columns))}
	for i := range b.Columns {
		out.Columns[i] = gatherColumn(&b.Columns[i], idx)
	}
	for _, t := range out.Column(TimeColumn).Ints {
		out.MinTime = min(out.MinTime, t)
		out.MaxTime = max(out.MaxTime, t)
	}
	return out
}

// Tables returns the tables of a workspace with their columns, the union
// over every account holding data of the workspace (segments and buffers),
// sorted by name. It fails like Scan when such an account is not loaded or
// its key is refused: table and column names are sealed under its AEK.
func (e *Engine) Tables(ctx context.Context, workspace string) ([]TableSchema, error) {
	return e.TablesIn(ctx, "", workspace)
}

// TablesIn is Tables limited to one account (all accounts when account is
// empty).
func (e *Engine) TablesIn(ctx context.Context, account, workspace string) ([]TableSchema, error) {
	byName := map[string]*TableSchema{}
	for _, a := range e.accounts() {
		if account != "" && a.name != account {
			continue
		}
		a.mu.RLock()
		if a.dropped || !a.holds(workspace) {
			a.mu.RUnlock()
			continue
		}
		if !a.loaded {
			err := a.loadErr
			a.mu.RUnlock()
			return nil, fmt.Errorf("store: tables: account %s: %w", a.name, err)
		}
		// See Scan: an account moved out holds no data of its own; what it
		// still knows of the schemas is also in the target.
		check := !a.moving || a.holdsSegments(workspace)
		a.bufMu.Lock()
		for k, s := range a.schemas {
			if k.ws != workspace {
				continue
			}
			t := byName[k.table]
			if t == nil {
				t = &TableSchema{Name: k.table}
				byName[k.table] = t
			}
			for _, c := range s.cols {
				if !slices.ContainsFunc(t.Columns, func(x ColumnSchema) bool { return x.Name == c.Name }) {
					t.Columns = append(t.Columns, c)
				}
			}
		}
		a.bufMu.Unlock()
		a.mu.RUnlock()
		if !check {
			continue
		}
		if _, err := e.o.Keys.WriteAEK(ctx, a.name); err != nil {
			return nil, fmt.Errorf("store: tables: account %s: %w", a.name, err)
		}
	}
	out := make([]TableSchema, 0, len(byName))
	for _, t := range byName {
		out = append(out, *t)
	}
	slices.SortFunc(out, func(x, y TableSchema) int { return strings.Compare(x.Name, y.Name) })
	return out, nil
}

// Retain deletes every segment of the workspace whose rows are all older
// than before (retention), in every account, loaded or not (the catalog's
// time ranges are plaintext, so retention needs no key). Catalog rows go
// first, then files; a crash in between leaves orphan files that the next
// load removes. The file of a segment a scan iterator is still reading is
// removed when the iterator lets go of it. Buffered rows are not affected.
// It returns the number of segments deleted.
func (e *Engine) Retain(ctx context.Context, workspace string, before time.Time) (int, error) {
	cut := datetime.Bound(before) // a row is older than before iff its ticks < cut
	n := 0
	for _, a := range e.accounts() {
		a.mu.Lock()
		var victims, keep []*segEntry
		for _, s := range a.segs {
			if s.doc.Workspace == workspace && s.doc.Max < cut {
				victims = append(victims, s)
			} else {
				keep = append(keep, s)
			}
		}
		if len(victims) == 0 {
			a.mu.Unlock()
			continue
		}
		err := e.o.Catalog.Update(ctx, func(tx meta.Tx) error {
			for _, s := range victims {
				if err := tx.DeleteDoc(ctx, kindSegment, s.key); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			a.mu.Unlock()
			return n, fmt.Errorf("store: retain: catalog: %w", err)
		}
		a.segs = keep
		a.mu.Unlock()
		n += len(victims)
		if err := e.releaseSegs(a, victims, true); err != nil {
			e.log.Warn("store: retain: removing segment files", "account", a.name, "err", err)
		}
	}
	return n, nil
}

// DropAccount removes a storage account's catalog rows, then its segment
// and WAL files (the directories themselves stay, empty). Destroying the
// account's keys (crypto-shredding) is the key layer's part. Dropping an
// unknown account is not an error. Scan iterators opened before may finish
// reading the segments they hold (as far as the keys allow); each such file
// is deleted when the last of them advances past it or is closed. (A crash
// before that leaves files no catalog lists, like a crash in the middle of
// DropAccount; they are under the account's keys, whose destruction
// shreds them, and are deleted if the account id is used again.)
func (e *Engine) DropAccount(ctx context.Context, account string) error {
	e.mu.Lock()
	a := e.accts[account]
	e.mu.Unlock()
	if a == nil {
		return nil
	}
	a.flushMu.Lock()
	defer a.flushMu.Unlock()
	a.mu.Lock()
	defer a.mu.Unlock()
	err := e.o.Catalog.Update(ctx, func(tx meta.Tx) error {
		for _, kind := range []string{kindSegment, kindTable, kindPlacement, kindTomb} {
			docs, err := tx.Docs(ctx, kind, a.key+"/")
			if err != nil {
				return err
			}
			for _, d := range docs {
				if err := tx.DeleteDoc(ctx, kind, d.Key); err != nil {
					return err
				}
			}
		}
		return tx.DeleteDoc(ctx, kindAccount, a.key)
	})
	if err != nil {
		return fmt.Errorf("store: drop account: catalog: %w", err)
	}
	a.unloadLocked(fmt.Errorf("%w: account dropped", ErrNotLoaded))
	a.dropped = true
	segs := a.segs
	a.segs = nil
	// Files of segments no one reads are removed below with the rest of the
	// directory; those still read go when their last reader lets go, and
	// a compaction in progress removes its own output when it sees dropped.
	a.unref(segs, true)
	keep := a.fileNamesInUse(false) // the whole catalog is gone: limbo files are orphans
	e.mu.Lock()
	if e.accts[account] == a {
		delete(e.accts, account)
	}
	e.mu.Unlock()
	var first error
	for _, d := range []string{a.segDir, a.walDir} {
		names, err := e.fs.List(d)
		if err != nil {
			continue // never created
		}
		for _, n := range names {
			if d == a.segDir && keep[n] {
				continue
			}
			if err := e.fs.Remove(filepath.Join(d, n)); err != nil && !errors.Is(err, fs.ErrNotExist) && first == nil {
				first = err
			}
		}
		if err := e.fs.SyncDir(d); err != nil && first == nil {
			first = err
		}
	}
	if first != nil {
		return fmt.Errorf("store: drop account: %w", first)
	}
	return nil
}

// DropWorkspace removes a workspace's data from every account: buffers,
// catalog rows, sealed schemas and segment files. Records of the workspace
// still in a WAL are not rewritten: a tombstone in the catalog (the WAL
// sequence number at the drop) makes replay skip them until a flush moves
// the WAL floor past it. Works for accounts that are not loaded too. Scan
// iterators opened before may finish reading the segments they hold; each
// such file is deleted when the last of them advances past it or is closed
// (after a crash, by the next load).
func (e *Engine) DropWorkspace(ctx context.Context, workspace string) error {
	// No MoveAccount batch runs meanwhile: one could otherwise copy the
	// workspace's rows into an account already done here from one not yet.
	e.dropMu.Lock()
	defer e.dropMu.Unlock()
	for _, a := range e.accounts() {
		if err := e.dropWorkspace(ctx, a, workspace); err != nil {
			return fmt.Errorf("store: drop workspace: account %s: %w", a.name, err)
		}
	}
	return nil
}

func (e *Engine) dropWorkspace(ctx context.Context, a *account, ws string) error {
	a.flushMu.Lock()
	defer a.flushMu.Unlock()
	a.mu.Lock()
	if !a.holds(ws) {
		a.mu.Unlock()
		return nil
	}
	var seq uint64
	if a.loaded {
		s, err := a.wal.Rotate()
		if err != nil {
			a.mu.Unlock()
			return err
		}
		seq = s
	} else if names, err := e.fs.List(a.walDir); err == nil {
		for _, n := range names {
			if s, err := strconv.ParseUint(strings.TrimSuffix(n, walSuffix), 16, 64); err == nil && strings.HasSuffix(n, walSuffix) {
				seq = max(seq, s+1)
			}
		}
	}
	var victims, keep []*segEntry
	for _, s := range a.segs {
		if s.doc.Workspace == ws {
			victims = append(victims, s)
		} else {
			keep = append(keep, s)
		}
	}
	err := e.o.Catalog.Update(ctx, func(tx meta.Tx) error {
		for _, s := range victims {
			if err := tx.DeleteDoc(ctx, kindSegment, s.key); err != nil {
				return err
			}
		}
		// Also segment rows this process does not list (a compaction
		// commit with an unknown outcome), and the sealed schemas.
		for _, kind := range []string{kindSegment, kindTable} {
			docs, err := tx.Docs(ctx, kind, a.key+"/"+ws+"/")
			if err != nil {
				return err
			}
			for _, d := range docs {
				if err := tx.DeleteDoc(ctx, kind, d.Key); err != nil {
					return err
				}
			}
		}
		if err := tx.DeleteDoc(ctx, kindPlacement, a.key+"/"+ws); err != nil {
			return err
		}
		if seq > a.floor {
			return putJSON(ctx, tx, kindTomb, a.key+"/"+ws, tombDoc{Account: a.name, Workspace: ws, Seq: seq})
		}
		return nil
	})
	if err != nil {
		a.mu.Unlock()
		return err
	}
	if seq > a.floor {
		a.tombs[ws] = seq
	}
	a.segs = keep
	a.bufMu.Lock()
	delete(a.placed, ws)
	for k := range a.live {
		if k.ws == ws {
			delete(a.live, k)
		}
	}
	for k := range a.schemas {
		if k.ws == ws {
			delete(a.schemas, k)
		}
	}
	for _, m := range a.frozen {
		for k := range m {
			if k.ws == ws {
				delete(m, k)
			}
		}
	}
	a.bufMu.Unlock()
	a.mu.Unlock()
	return e.releaseSegs(a, victims, true)
}

// Workspaces returns the workspaces that have data in an account, sorted.
func (e *Engine) Workspaces(account string) []string {
	var out []string
	for _, a := range e.accounts() {
		if a.name != account {
			continue
		}
		a.mu.RLock()
		seen := map[string]bool{}
		a.bufMu.Lock()
		for ws := range a.placed {
			seen[ws] = true
		}
		a.bufMu.Unlock()
		for _, sg := range a.segs {
			seen[sg.doc.Workspace] = true
		}
		a.mu.RUnlock()
		for ws := range seen {
			out = append(out, ws)
		}
	}
	slices.Sort(out)
	return out
}
