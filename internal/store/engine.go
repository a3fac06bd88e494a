package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kustodian/kustodian/internal/meta"
	"github.com/kustodian/kustodian/internal/store/vfs"
)

// Keys is what the Engine needs of the key layer: the AEK of any generation
// of an account for reads (Keyring), and the AEK of the account's current
// generation for writes. Errors (a revoked or unavailable key) are passed
// through wrapped with %w, so errors.Is works for the key layer's sentinels.
type Keys interface {
	Keyring
	// WriteAEK returns the AEK of the account's current generation.
	WriteAEK(ctx context.Context, account string) (*AEK, error)
}

// Engine defaults.
const (
	DefaultFlushRows     = 65536
	DefaultFlushAge      = 10 * time.Second
	DefaultSegmentWindow = time.Hour
	// DefaultMaxTableColumns is Azure's limit of custom columns per table.
	DefaultMaxTableColumns = 500
	// segmentBlockRows bounds the rows of one block the engine writes.
	segmentBlockRows = 65536
)

// EngineOptions configures OpenEngine.
type EngineOptions struct {
	// FS holds the WALs and segments; nil means vfs.OS.
	FS vfs.FS
	// Dir is the root directory: {Dir}/{account}/wal and
	// {Dir}/{account}/segments (the account escaped, see accountDir).
	Dir string
	// Catalog stores catalog and schema documents (kinds "store.*"). The
	// Engine does not close it.
	Catalog meta.Store
	// Keys supplies AEKs.
	Keys Keys
	// TableIDKey is the 32-byte secret for deriving table ids.
	TableIDKey []byte
	// Log receives background errors and repairs; nil means slog.Default().
	Log *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// FlushRows is the buffered row count per (account, workspace, table)
	// that triggers a flush in Run; zero means DefaultFlushRows.
	FlushRows int
	// FlushAge is the age of the oldest buffered row after which Run
	// flushes; zero means DefaultFlushAge.
	FlushAge time.Duration
	// SegmentWindow is the TimeGenerated window of one segment; zero means
	// DefaultSegmentWindow.
	SegmentWindow time.Duration
	// CompactInterval is how often Run compacts small segments (the first
	// pass comes one interval after Run starts); zero means
	// DefaultCompactInterval, a negative value disables compaction in Run
	// (Compact still works when called).
	CompactInterval time.Duration
	// CompactMinRows: a segment with fewer rows is small and may be merged
	// with the other small segments of its table and window; zero means
	// DefaultCompactMinRows.
	CompactMinRows int
	// CompactMaxRows bounds the rows of a segment that compaction writes;
	// zero means DefaultCompactMaxRows.
	CompactMaxRows int
	// MaxTableColumns bounds the columns of a table in an account besides
	// TimeGenerated: Append refuses rows that would add a column past it
	// (ErrTooManyColumns). Zero means DefaultMaxTableColumns; negative
	// means no limit. Tables already past it keep their columns.
	MaxTableColumns int

	// moveBatchSegments bounds the segments of one MoveAccount batch; zero
	// means moveBatchSegments (tests make batches small).
	moveBatchSegments int
	// oldFormat, if set (segVersion1 or segVersion2), makes the engine
	// write what earlier versions wrote: segments of that format, WAL
	// records of version 1 and catalog rows of version 1, all with times
	// in Unix nanoseconds (tests of upgrades).
	oldFormat byte
	// scanLocked, if set, is called by Scan after it has taken the sources
	// of an account, with the locks of all accounts held (tests).
	scanLocked func(account string)
}

// ErrNotLoaded is wrapped (together with the key layer's error, when there
// was one) by Append, Scan and Tables for an account whose WAL and schemas
// could not be loaded, typically because its key was refused.
var ErrNotLoaded = errors.New("store: storage account not loaded")

// ErrTooManyColumns is wrapped by Append when the rows would give a table
// more columns than EngineOptions.MaxTableColumns; nothing is written.
var ErrTooManyColumns = errors.New("store: too many columns in the table")

// Engine is the log store: an encrypted WAL per storage account, in-memory
// buffers per (account, workspace, table), and immutable segments listed in
// the catalog. It is safe for concurrent use.
type Engine struct {
	o     EngineOptions
	fs    vfs.FS
	log   *slog.Logger
	kick  chan struct{}
	mu    sync.Mutex // guards accts, acctGen and done
	accts map[string]*account
	// acctGen counts the accounts created since OpenEngine: Scan checks
	// that its set of accounts did not grow while it took their locks.
	acctGen uint64
	done    bool
	// dropMu: DropWorkspace holds it exclusively, each batch of a
	// MoveAccount shared, so that no batch copies rows of a workspace that
	// a drop has removed from the target but not yet from the source.
	dropMu sync.RWMutex

	statsMu sync.Mutex
	stats   EngineStats
}

// OpenEngine opens the engine and recovers every account known to the
// catalog: it replays each WAL into buffers (skipping records already in
// segments). An account whose keys are refused stays not loaded — its files
// are neither read nor deleted — and Append, Scan and Tables for it fail with
// the key error until Recover (or a later Append) loads it.
func OpenEngine(ctx context.Context, o EngineOptions) (*Engine, error) {
	if o.FS == nil {
		o.FS = vfs.OS
	}
	if o.Catalog == nil || o.Keys == nil {
		return nil, errors.New("store: OpenEngine: Catalog and Keys are required")
	}
	if len(o.TableIDKey) != 32 {
		return nil, fmt.Errorf("store: OpenEngine: TableIDKey has %d bytes, want 32", len(o.TableIDKey))
	}
	if o.Dir == "" {
		return nil, errors.New("store: OpenEngine: no Dir")
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.FlushRows <= 0 {
		o.FlushRows = DefaultFlushRows
	}
	if o.FlushAge <= 0 {
		o.FlushAge = DefaultFlushAge
	}
	if o.SegmentWindow <= 0 {
		o.SegmentWindow = DefaultSegmentWindow
	}
	if o.CompactInterval == 0 {
		o.CompactInterval = DefaultCompactInterval
	}
	if o.CompactMinRows <= 0 {
		o.CompactMinRows = DefaultCompactMinRows
	}
	if o.CompactMaxRows <= 0 {
		o.CompactMaxRows = DefaultCompactMaxRows
	}
	if o.MaxTableColumns == 0 {
		o.MaxTableColumns = DefaultMaxTableColumns
	}
	if o.moveBatchSegments <= 0 {
		o.moveBatchSegments = moveBatchSegments
	}
	o.TableIDKey = append([]byte(nil), o.TableIDKey...)
	e := &Engine{o: o, fs: o.FS, log: o.Log, kick: make(chan struct{}, 1), accts: map[string]*account{}}
	if err := e.fs.MkdirAll(o.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: OpenEngine: %w", err)
	}
	names, err := e.catalogAccounts(ctx)
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		a := e.newAccount(name)
		if err := e.loadCatalog(ctx, a); err != nil {
			return nil, err
		}
		e.accts[name] = a
	}
	e.Recover(ctx)
	return e, nil
}

// Recover tries to load every account that is not loaded (its keys were
// refused at start or since), and unloads every loaded account whose key is
// now refused (dropping its plaintext buffers; the WAL keeps the data). The
// key layer's owner calls it after each key refresh. Failures are logged and
// remembered for Append and Scan to return.
func (e *Engine) Recover(ctx context.Context) {
	for _, a := range e.accounts() {
		_, kerr := e.o.Keys.WriteAEK(ctx, a.name)
		a.flushMu.Lock()
		a.mu.Lock()
		switch {
		case kerr != nil && a.loaded:
			e.log.Warn("store: unloading account: key refused", "account", a.name, "err", kerr)
			a.unloadLocked(fmt.Errorf("%w: %w", ErrNotLoaded, kerr))
		case kerr != nil:
			a.loadErr = fmt.Errorf("%w: %w", ErrNotLoaded, kerr)
		case !a.loaded:
			if err := e.loadLocked(ctx, a); err != nil {
				e.log.Warn("store: account not loaded", "account", a.name, "err", err)
			}
		}
		a.mu.Unlock()
		a.flushMu.Unlock()
	}
}

func (e *Engine) accounts() []*account {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]*account, 0, len(e.accts))
	for _, a := range e.accts {
		out = append(out, a)
	}
	return out
}

// account returns the account, creating it (catalog row, directories) when
// create is set.
func (e *Engine) account(ctx context.Context, name string, create bool) (*account, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.done {
		return nil, ErrClosed
	}
	if a := e.accts[name]; a != nil || !create {
		return a, nil
	}
	if name == "" {
		return nil, errors.New("store: empty account id")
	}
	if err := e.putDocs(ctx, kindAccount, accountDir(name), accountDoc{Account: name}); err != nil {
		return nil, err
	}
	a := e.newAccount(name)
	a.loadErr = ErrNotLoaded
	e.accts[name] = a
	e.acctGen++
	return a, nil
}

// accountsSorted returns every account in order of name (the lock order
// between accounts) and the count of accounts created so far.
func (e *Engine) accountsSorted() ([]*account, uint64) {
	e.mu.Lock()
	out := make([]*account, 0, len(e.accts))
	for _, a := range e.accts {
		out = append(out, a)
	}
	gen := e.acctGen
	e.mu.Unlock()
	slices.SortFunc(out, func(x, y *account) int { return strings.Compare(x.name, y.name) })
	return out, gen
}

// accountsCreated returns the count of accounts created so far.
func (e *Engine) accountsCreated() uint64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.acctGen
}

func (e *Engine) newAccount(name string) *account {
	dir := filepath.Join(e.o.Dir, accountDir(name))
	return &account{
		name: name, key: accountDir(name), dir: dir,
		walDir: filepath.Join(dir, "wal"), segDir: filepath.Join(dir, "segments"),
		loadErr: ErrNotLoaded, placed: map[string]bool{}, tombs: map[string]uint64{},
		building: map[string]bool{}, limbo: map[string]bool{}, retired: map[*segEntry]bool{},
	}
}

// ready returns a loaded account with a.mu read-locked, loading it first if
// needed. The caller must RUnlock.
func (e *Engine) ready(ctx context.Context, a *account) error {
	a.mu.RLock()
	if a.loaded {
		return nil
	}
	a.mu.RUnlock()
	a.flushMu.Lock()
	a.mu.Lock()
	var err error
	if !a.loaded && !a.dropped {
		err = e.loadLocked(ctx, a)
	} else if a.dropped {
		err = fmt.Errorf("%w: account dropped", ErrNotLoaded)
	}
	a.mu.Unlock()
	a.flushMu.Unlock()
	if err != nil {
		return err
	}
	a.mu.RLock()
	if !a.loaded {
		err := a.loadErr
		a.mu.RUnlock()
		return err
	}
	return nil
}

// Append makes rows of one storage account durable (one WAL record for all
// of rows, one group-committed fsync: after a crash either every Rows of the
// call is there or none) and then buffers them. It returns nil only once the
// rows are fsynced. Rows are validated first: equal column lengths, no
// TimeGenerated among Columns, no column whose type differs from the one
// already known for the table in this account, no table growing past
// MaxTableColumns (ErrTooManyColumns); a refused call changes nothing. While
// MoveAccount moves the account away (and after it has), Append fails with
// an error wrapping ErrAccountMoving and writes nothing.
func (e *Engine) Append(ctx context.Context, acct string, rows []Rows) error {
	recs := make([][]byte, 0, len(rows))
	blocks := make([]*Block, 0, len(rows))
	keys := make([]tkey, 0, len(rows))
	for i := range rows {
		if len(rows[i].TimeGenerated) == 0 {
			continue
		}
		b, err := rows[i].block()
		if err != nil {
			return err
		}
		rec, err := marshalRowsRecord(nil, rows[i].Workspace, rows[i].Table, b, e.o.oldFormat != 0)
		if err != nil {
			return err
		}
		blocks = append(blocks, b)
		keys = append(keys, tkey{rows[i].Workspace, rows[i].Table})
		recs = append(recs, rec)
	}
	if len(recs) == 0 {
		return nil
	}
	a, err := e.account(ctx, acct, true)
	if err != nil {
		return err
	}
	if err := e.ready(ctx, a); err != nil {
		return err
	}
	defer a.mu.RUnlock()
	if a.moving {
		// MoveAccount waits for Appends in flight (it takes mu.Lock) and
		// then refuses new ones, so that none lands after its last batch.
		return fmt.Errorf("store: append to account %s: %w", acct, ErrAccountMoving)
	}
	aek, err := e.o.Keys.WriteAEK(ctx, acct)
	if err != nil {
		return fmt.Errorf("store: append: %w", err)
	}
	a.wal.SetGeneration(aek.Generation())
	var newWS []string
	a.bufMu.Lock()
	if err := a.checkColumns(keys, blocks, e.o.MaxTableColumns); err != nil {
		a.bufMu.Unlock()
		return err
	}
	for i, b := range blocks {
		if err := a.registerSchema(keys[i], b); err != nil {
			a.bufMu.Unlock()
			return err
		}
		if !a.placed[keys[i].ws] && !slices.Contains(newWS, keys[i].ws) {
			newWS = append(newWS, keys[i].ws)
		}
	}
	a.bufMu.Unlock()
	for _, ws := range newWS {
		if err := e.putDocs(ctx, kindPlacement, a.key+"/"+ws, placementDoc{Account: acct, Workspace: ws}); err != nil {
			return err
		}
		a.bufMu.Lock()
		a.placed[ws] = true
		a.bufMu.Unlock()
	}
	if err := a.wal.Append(ctx, recs); err != nil {
		return fmt.Errorf("store: append: %w", err)
	}
	full := false
	a.bufMu.Lock()
	for i, b := range blocks {
		if a.addLocked(keys[i], b, e.o.Now()) >= e.o.FlushRows {
			full = true
		}
	}
	a.bufMu.Unlock()
	if full {
		select {
		case e.kick <- struct{}{}:
		default:
		}
	}
	return nil
}

// Run flushes accounts whose buffers reach FlushRows rows or FlushAge age,
// and compacts small segments every CompactInterval (in the background, one
// pass at a time, so flushes go on meanwhile), until ctx is done. It returns
// once a compaction in progress has stopped.
func (e *Engine) Run(ctx context.Context) {
	tick := min(e.o.FlushAge/4, time.Second)
	t := time.NewTicker(max(tick, time.Millisecond))
	defer t.Stop()
	var compactC <-chan time.Time
	if e.o.CompactInterval > 0 {
		ct := time.NewTicker(e.o.CompactInterval)
		defer ct.Stop()
		compactC = ct.C
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	compacting := make(chan struct{}, 1)
	for {
		select {
		case <-ctx.Done():
			return
		case <-compactC:
			select {
			case compacting <- struct{}{}:
				wg.Go(func() {
					defer func() { <-compacting }()
					e.Compact(ctx) // logs its outcome
				})
			default: // the previous pass is still running
			}
			continue
		case <-t.C:
		case <-e.kick:
		}
		now := e.o.Now()
		for _, a := range e.accounts() {
			if !a.due(now, e.o.FlushRows, e.o.FlushAge) {
				continue
			}
			if err := e.flushAccount(ctx, a); err != nil && ctx.Err() == nil {
				e.log.Warn("store: flush failed", "account", a.name, "err", err)
			}
		}
	}
}

// Flush writes every loaded account's buffers to segments, commits their
// catalog rows together with the account's new WAL floor, and then deletes
// the flushed WAL files. An account whose key is refused is skipped (its
// data stays in the WAL) and its error is part of the joined result.
func (e *Engine) Flush(ctx context.Context) error {
	var errs []error
	for _, a := range e.accounts() {
		if err := e.flushAccount(ctx, a); err != nil {
			errs = append(errs, fmt.Errorf("account %s: %w", a.name, err))
		}
	}
	return errors.Join(errs...)
}

// Close flushes every account and closes the WALs. The catalog stays open.
func (e *Engine) Close(ctx context.Context) error {
	err := e.Flush(ctx)
	e.mu.Lock()
	e.done = true
	e.mu.Unlock()
	for _, a := range e.accounts() {
		a.flushMu.Lock()
		a.mu.Lock()
		if a.wal != nil {
			if cerr := a.wal.Close(); cerr != nil && err == nil {
				err = cerr
			}
		}
		a.unloadLocked(ErrClosed)
		a.mu.Unlock()
		a.flushMu.Unlock()
	}
	return err
}
