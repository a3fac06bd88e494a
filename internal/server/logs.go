package server

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/kustodian/kustodian/internal/audit"
	"github.com/kustodian/kustodian/internal/ingest"
	"github.com/kustodian/kustodian/internal/kek"
	"github.com/kustodian/kustodian/internal/kql"
	"github.com/kustodian/kustodian/internal/meta"
	"github.com/kustodian/kustodian/internal/monitor"
	"github.com/kustodian/kustodian/internal/pipeline"
	"github.com/kustodian/kustodian/internal/query"
	"github.com/kustodian/kustodian/internal/store"
)

// storeKeys gives the storage engine the AEK manager's keys.
type storeKeys struct{ m *kek.Manager }

func (k storeKeys) AEK(ctx context.Context, account string, generation uint32) (*store.AEK, error) {
	key, err := k.m.AEK(ctx, account, generation)
	if err != nil {
		return nil, err
	}
	defer key.Zero()
	return store.NewAEK(generation, key)
}

func (k storeKeys) WriteAEK(ctx context.Context, account string) (*store.AEK, error) {
	gen, key, err := k.m.WriteKey(ctx, account)
	if err != nil {
		return nil, err
	}
	defer key.Zero()
	return store.NewAEK(gen, key)
}

// tableIDKey returns the secret that derives table ids in the catalog,
// created on first use and kept sealed under the master key.
func (st *State) tableIDKey(ctx context.Context) ([]byte, error) {
	const name = "store/table-id-key"
	aad := []byte("kustodian/store/table-id-key/v1")
	var key []byte
	err := st.Store.Update(ctx, func(tx meta.Tx) error {
		sealed, err := tx.Secret(ctx, "server", name)
		if err == nil {
			key, err = st.Sealer.Open(sealed, aad)
			return err
		}
		if !errors.Is(err, meta.ErrNotFound) {
			return err
		}
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return err
		}
		sealed, err = st.Sealer.Seal(key, aad)
		if err != nil {
			return err
		}
		return tx.PutSecret(ctx, "server", name, sealed)
	})
	return key, err
}

// workspaceInfo is what the data plane needs of a workspace.
type workspaceInfo struct {
	resourceID string
	account    string // where new data goes
	primary    string
	secondary  string
}

// lookupWorkspace finds a live workspace by its customer id, with the
// storage account its new data goes to: the linked cluster's, else the
// shared one.
func (s *Server) lookupWorkspace(ctx context.Context, customerID string, withKeys bool) (*workspaceInfo, error) {
	var info *workspaceInfo
	err := s.state.Store.View(ctx, func(tx meta.Tx) error {
		res, doc, err := monitor.WorkspaceByCustomerID(ctx, tx, customerID)
		if errors.Is(err, meta.ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		info = &workspaceInfo{resourceID: res.ID, account: sharedAccount}
		if doc.ClusterResourceID != "" {
			cres, err := tx.Resource(ctx, doc.ClusterResourceID)
			if err != nil {
				return err
			}
			var cluster monitor.ClusterDoc
			if err := json.Unmarshal(cres.Body, &cluster); err != nil {
				return err
			}
			info.account = clusterAccount(cluster.ClusterID)
		}
		if withKeys {
			info.primary, info.secondary, err = monitor.SharedKeys(ctx, tx, s.state.Sealer, doc.CustomerID)
		}
		return err
	})
	if err == nil && info == nil {
		err = fmt.Errorf("workspace %s: %w", customerID, ingest.ErrUnknownWorkspace)
	}
	return info, err
}

// ingestDirectory adapts workspace lookups to ingestion.
type ingestDirectory struct{ s *Server }

func (d ingestDirectory) Workspace(ctx context.Context, customerID string) (*ingest.Workspace, error) {
	info, err := d.s.lookupWorkspace(ctx, customerID, true)
	if err != nil {
		return nil, err
	}
	return &ingest.Workspace{CustomerID: strings.ToLower(customerID), PrimaryKey: info.primary, SecondaryKey: info.secondary,
		Route: info.account}, nil
}

// ingestSink stores ingested batches in the workspace's storage account.
type ingestSink struct{ s *Server }

func (k ingestSink) Append(ctx context.Context, ws *ingest.Workspace, b *ingest.Batch) error {
	t, err := k.s.target(ctx, ws.CustomerID, ws.Route, b.Table)
	if err != nil {
		return err
	}
	// A batch of more rows than the store takes in one Rows is split; the
	// chunks go in one Append, one WAL record: all or nothing.
	p := k.s.pipeline
	if p == nil { // a Server assembled by a test
		p = pipeline.New(pipeline.Options{Storage: storage{k.s}})
	}
	return p.Write(ctx, t, toRows(b, store.MaxBlockRows), b.Rows)
}

// target resolves where a workspace's table goes, with its declared
// schema when the tables API created it (nil for a classic table).
func (s *Server) target(ctx context.Context, customerID, route, table string) (pipeline.Target, error) {
	t := pipeline.Target{CustomerID: strings.ToLower(customerID), Route: route, Table: table}
	err := s.state.Store.View(ctx, func(tx meta.Tx) error {
		res, _, err := monitor.WorkspaceByCustomerID(ctx, tx, customerID)
		if errors.Is(err, meta.ErrNotFound) {
			return nil // found by the caller's directory a moment ago: no declared schema
		} else if err != nil {
			return err
		}
		doc, err := monitor.LookupTable(ctx, tx, res.ID, table)
		if errors.Is(err, meta.ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		t.Schema = schemaColumns(doc)
		return nil
	})
	return t, err
}

// schemaColumns is a table's declared schema for the pipeline.
func schemaColumns(doc *monitor.TableDoc) []pipeline.Column {
	var cols []pipeline.Column
	for _, c := range doc.Schema() {
		t, _ := kql.ParseType(c.Type)
		cols = append(cols, pipeline.Column{Name: c.Name, Type: t})
	}
	return cols
}

// storage is the pipeline's last step: rows into a storage account's WAL.
type storage struct{ s *Server }

func (st storage) Append(ctx context.Context, account string, rows []store.Rows, n int) error {
	k := st
	eng := k.s.engine.Load()
	if eng == nil {
		return fmt.Errorf("%w: storage is starting", ingest.ErrUnavailable)
	}
	if err := k.s.keys.m.EnsurePlatform(ctx, account); err != nil {
		return err
	}
	for attempt := 1; ; attempt++ {
		err := eng.Append(ctx, account, rows)
		switch {
		case errors.Is(err, store.ErrTooManyColumns):
			return fmt.Errorf("%w: %v", ingest.ErrTooManyColumns, err)
		case errors.Is(err, kek.ErrKeyRevoked):
			return fmt.Errorf("%w: %v", ingest.ErrRevoked, err)
		case errors.Is(err, kek.ErrKeyUnavailable) && k.s.cfg.OutageBuffering == "platform" && strings.HasPrefix(account, "cluster/"):
			// The seed's outage behaviour: keep the data under the platform key
			// until the customer key returns, then move it under the CMK.
			outage := outageAccount(account)
			if err := k.s.keys.m.EnsurePlatform(ctx, outage); err != nil {
				return err
			}
			err := eng.Append(ctx, outage, rows)
			if errors.Is(err, store.ErrTooManyColumns) {
				return fmt.Errorf("%w: %v", ingest.ErrTooManyColumns, err)
			}
			if errors.Is(err, store.ErrAccountMoving) && attempt < maxIngestAttempts {
				// The customer key came back after the first try and the
				// buffer is being moved under it: the cluster account
				// takes the data now.
				continue
			}
			if errors.Is(err, store.ErrAccountMoving) || errors.Is(err, store.ErrNotLoaded) {
				return fmt.Errorf("%w: %v", ingest.ErrUnavailable, err)
			}
			if err != nil {
				return err
			}
			k.s.outageRows.Add(float64(n))
			return nil
		case errors.Is(err, kek.ErrKeyUnavailable), errors.Is(err, store.ErrNotLoaded), errors.Is(err, store.ErrAccountMoving):
			return fmt.Errorf("%w: %v", ingest.ErrUnavailable, err)
		}
		return err
	}
}

// maxIngestAttempts bounds the tries of one ingested batch when the customer
// key flaps between its account and the outage buffer.
const maxIngestAttempts = 3

// outageAccount is the platform-key account that buffers a cluster
// account's ingestion while its customer key is unavailable.
func outageAccount(clusterAccount string) string {
	return "outage/" + strings.TrimPrefix(clusterAccount, "cluster/")
}

// drainOutageBuffers moves every outage buffer whose cluster key is
// available again into the cluster's account (re-encrypting it under the
// customer's key) and destroys the platform copy: its rows, files and keys.
// The move is exactly once (store.Engine.MoveAccount): each batch of
// segments leaves the buffer and enters the cluster account in one catalog
// transaction, so a crash at any point leaves every row in exactly one of
// them and the next drain moves the rest. From the start of the move the
// buffer refuses new rows (ingestion then writes to the cluster account,
// whose key is back), so no acknowledged row is written to it after its
// last batch and dropped with it.
func (s *Server) drainOutageBuffers(ctx context.Context) {
	s.drainMu.Lock()
	defer s.drainMu.Unlock()
	eng := s.engine.Load()
	accounts, err := s.keys.accounts(ctx)
	if err != nil {
		return
	}
	for _, outage := range accounts {
		if !strings.HasPrefix(outage, "outage/") {
			continue
		}
		target := "cluster/" + strings.TrimPrefix(outage, "outage/")
		if st, _ := s.keys.m.State(target); st != kek.Available {
			continue
		}
		moved, err := s.drainOne(ctx, eng, outage, target)
		if err != nil {
			s.cfg.Log.Error("draining an outage buffer failed; it will be retried", "account", outage, "err", err)
			continue
		}
		if err := eng.DropAccount(ctx, outage); err != nil {
			s.cfg.Log.Error("dropping a drained outage buffer failed", "account", outage, "err", err)
			continue
		}
		if err := s.keys.m.Shred(ctx, outage); err != nil {
			s.cfg.Log.Error("shredding a drained outage buffer failed", "account", outage, "err", err)
			continue
		}
		s.cfg.Log.Info("outage buffer moved under the customer key", "account", target, "rows", moved)
		_ = s.state.Store.Update(ctx, func(tx meta.Tx) error {
			return audit.Record(ctx, tx, audit.Event{Time: time.Now(), Kind: "OutageBufferDrained", Account: target,
				Cause: fmt.Sprintf("%d rows buffered under the platform key during the outage were re-encrypted under the customer key; the platform copy was destroyed", moved)})
		})
	}
}

// drainOne moves the outage buffer's data into the cluster account and
// returns the number of rows moved. The buffer is left empty and closed to
// ingestion, for the caller to drop.
func (s *Server) drainOne(ctx context.Context, eng *store.Engine, outage, target string) (int64, error) {
	st, err := eng.MoveAccount(ctx, outage, target)
	s.drainedRows.Add(float64(st.Rows)) // batches committed stay moved, even on error
	if err != nil {
		return st.Rows, err
	}
	s.cfg.Log.Debug("outage buffer moved", "from", outage, "to", target, "segments", st.Segments,
		"batches", st.Batches, "bytes", st.BytesOut)
	return st.Rows, nil
}

// queryData exposes one workspace's tables to the query engine.
type queryData struct {
	engine    *store.Engine
	workspace string
	// declared returns the columns the tables API declares for a table of
	// the workspace (a custom table, or a standard one with its _CF
	// columns); ok is false for a table it does not know.
	declared func(ctx context.Context, table string) (cols []monitor.TableColumn, ok bool, err error)
}

func dataErr(err error) error {
	switch {
	case errors.Is(err, kek.ErrKeyRevoked):
		return fmt.Errorf("%w: %v", query.ErrRevoked, err)
	case errors.Is(err, kek.ErrKeyUnavailable):
		return fmt.Errorf("%w: %v", query.ErrUnavailable, err)
	case errors.Is(err, store.ErrCorrupt), errors.Is(err, store.ErrUnknownVersion):
		// Also when an account could not load because its WAL or a
		// sealed schema fails authentication.
		return fmt.Errorf("%w: %v", query.ErrDataIntegrity, err)
	case errors.Is(err, store.ErrNotLoaded):
		return fmt.Errorf("%w: %v", query.ErrUnavailable, err)
	}
	return err
}

func (d queryData) Table(ctx context.Context, name string) (*kql.Schema, error) {
	tables, err := d.engine.Tables(ctx, d.workspace)
	if err != nil {
		return nil, dataErr(err)
	}
	var stored []store.ColumnSchema
	for _, t := range tables {
		if t.Name == name {
			stored = t.Columns
			break
		}
	}
	var declared []monitor.TableColumn
	if d.declared != nil {
		cols, ok, err := d.declared(ctx, name)
		if err != nil {
			return nil, err
		}
		if ok {
			declared = cols
		}
	}
	return workspaceSchema(name, stored, declared) // a table may have no data yet
}

// TableNames lists the workspace's tables that hold data, for the
// query language's union * and table name wildcards (kql.TableLister).
func (d queryData) TableNames(ctx context.Context) ([]string, error) {
	tables, err := d.engine.Tables(ctx, d.workspace)
	if err != nil {
		return nil, dataErr(err)
	}
	names := make([]string, 0, len(tables))
	for _, t := range tables {
		names = append(names, t.Name)
	}
	return names, nil
}

func (d queryData) Scan(ctx context.Context, req kql.ScanRequest) (kql.BatchIterator, error) {
	want := map[string]bool{}
	var cols []string
	for _, c := range req.Columns {
		want[c] = true
		switch c {
		case colTenantID, colType, colSourceSystem, store.TimeColumn:
		default:
			cols = append(cols, c)
		}
	}
	sr := store.ScanRequest{Workspace: d.workspace, Table: req.Table, Columns: cols, TimeMin: req.TimeMin, TimeMax: req.TimeMax,
		// No column at all: only Batch.Len matters, which segment footers
		// answer without opening blocks.
		RowsOnly: len(req.Columns) == 0, OmitTime: !want[store.TimeColumn]}
	for _, e := range req.Equal {
		switch e.Column {
		case colTenantID, colType, colSourceSystem, store.TimeColumn:
			// Produced here, not stored.
		default:
			sr.Equal = append(sr.Equal, store.Equal{Column: e.Column, Value: e.Value})
		}
	}
	it, err := d.engine.Scan(ctx, sr)
	if err != nil {
		return nil, dataErr(err)
	}
	return &batchIter{it: it, workspace: d.workspace, table: req.Table, want: want}, nil
}

type batchIter struct {
	it               store.BlockIterator
	workspace, table string
	want             map[string]bool
}

func (b *batchIter) Next(ctx context.Context) (*kql.Batch, error) {
	blk, err := b.it.Next(ctx)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, io.EOF
		}
		return nil, dataErr(err)
	}
	return toBatch(blk, b.workspace, b.table, b.want), nil
}

func (b *batchIter) Close() error { return b.it.Close() }

// queryWorkspace resolves a workspace for the Query API.
func (s *Server) queryWorkspace(ctx context.Context, customerID string) (string, query.Data, error) {
	info, err := s.lookupWorkspace(ctx, customerID, false)
	if errors.Is(err, ingest.ErrUnknownWorkspace) {
		return "", nil, query.ErrWorkspaceNotFound
	} else if err != nil {
		return "", nil, err
	}
	eng := s.engine.Load()
	if eng == nil {
		return "", nil, fmt.Errorf("%w: storage is starting", query.ErrUnavailable)
	}
	declared := func(ctx context.Context, table string) ([]monitor.TableColumn, bool, error) {
		var cols []monitor.TableColumn
		err := s.state.Store.View(ctx, func(tx meta.Tx) error {
			doc, err := monitor.LookupTable(ctx, tx, info.resourceID, table)
			if err != nil {
				return err
			}
			cols = doc.Schema()
			return nil
		})
		if errors.Is(err, meta.ErrNotFound) {
			return nil, false, nil
		}
		return cols, err == nil, err
	}
	return info.resourceID, queryData{engine: eng, workspace: strings.ToLower(customerID), declared: declared}, nil
}

// resolveWorkspace returns the customer id of the workspace a query names
// by resource id, name or customer id (query.Options.ResolveWorkspace).
// A name held by workspaces in several resource groups resolves to one.
func (s *Server) resolveWorkspace(ctx context.Context, ref string) (string, error) {
	var id string
	err := s.state.Store.View(ctx, func(tx meta.Tx) error {
		list, err := tx.Resources(ctx, meta.ResourceQuery{Type: monitor.TypeWorkspace})
		if err != nil {
			return err
		}
		for _, res := range list {
			var doc monitor.WorkspaceDoc
			if json.Unmarshal(res.Body, &doc) != nil {
				continue
			}
			name := res.ID[strings.LastIndex(res.ID, "/")+1:]
			if strings.EqualFold(ref, res.ID) || strings.EqualFold(ref, doc.CustomerID) || strings.EqualFold(ref, name) {
				id = doc.CustomerID
				return nil
			}
		}
		return nil
	})
	if err == nil && id == "" {
		err = fmt.Errorf("workspace %q: %w", ref, query.ErrWorkspaceNotFound)
	}
	return id, err
}

// retain drops, per workspace, whole segments older than its retention.
func (s *Server) retain(ctx context.Context) {
	var ws []struct {
		id   string
		days int64
	}
	_ = s.state.Store.View(ctx, func(tx meta.Tx) error {
		list, err := tx.Resources(ctx, meta.ResourceQuery{Type: monitor.TypeWorkspace})
		if err != nil {
			return err
		}
		for _, res := range list {
			var doc monitor.WorkspaceDoc
			if json.Unmarshal(res.Body, &doc) == nil {
				ws = append(ws, struct {
					id   string
					days int64
				}{strings.ToLower(doc.CustomerID), doc.RetentionInDays})
			}
		}
		return nil
	})
	now := time.Now()
	for _, w := range ws {
		n, err := s.engine.Load().Retain(ctx, w.id, now.Add(-time.Duration(w.days)*24*time.Hour))
		if err != nil {
			s.cfg.Log.Error("retention failed", "workspace", w.id, "err", err)
		} else if n > 0 {
			s.cfg.Log.Info("retention removed segments", "workspace", w.id, "segments", n)
		}
	}
}

// onPurge destroys the data of a cluster or workspace purged for good: a
// workspace's rows in every account, or a cluster's whole storage account
// with its keys (crypto-shredding: without the generations, no copy of the
// data can ever be decrypted again).
func (s *Server) onPurge(res *meta.Resource) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	switch {
	case strings.EqualFold(res.Type, monitor.TypeWorkspace):
		var doc monitor.WorkspaceDoc
		if err := json.Unmarshal(res.Body, &doc); err != nil {
			s.cfg.Log.Error("purged workspace unreadable", "workspace", res.ID, "err", err)
			return
		}
		if eng := s.engine.Load(); eng != nil {
			if err := eng.DropWorkspace(ctx, strings.ToLower(doc.CustomerID)); err != nil {
				s.cfg.Log.Error("dropping a purged workspace's data failed", "workspace", res.ID, "err", err)
				return
			}
		}
		s.cfg.Log.Info("purged workspace's data destroyed", "workspace", res.ID)
	case strings.EqualFold(res.Type, monitor.TypeCluster):
		var doc monitor.ClusterDoc
		if err := json.Unmarshal(res.Body, &doc); err != nil {
			s.cfg.Log.Error("purged cluster unreadable", "cluster", res.ID, "err", err)
			return
		}
		account := clusterAccount(doc.ClusterID)
		if err := s.keys.m.Shred(ctx, account); err != nil {
			s.cfg.Log.Error("shredding a purged cluster's keys failed", "cluster", res.ID, "err", err)
			return
		}
		if eng := s.engine.Load(); eng != nil {
			if err := eng.DropAccount(ctx, account); err != nil {
				s.cfg.Log.Error("dropping a purged cluster's data failed (its keys are destroyed)", "cluster", res.ID, "err", err)
				return
			}
		}
		s.cfg.Log.Info("purged cluster's keys and data destroyed", "cluster", res.ID, "account", account)
	}
}
