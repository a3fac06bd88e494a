package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kustodian/kustodian/internal/identity"
	"github.com/kustodian/kustodian/internal/ingest"
	"github.com/kustodian/kustodian/internal/meta"
	"github.com/kustodian/kustodian/internal/monitor"
	"github.com/kustodian/kustodian/internal/pipeline"
	"github.com/kustodian/kustodian/internal/transform"
)

// MonitorAudience is the audience of Logs Ingestion API tokens.
const MonitorAudience = ingest.MonitorAudience

// newPipeline builds the ingestion pipeline and its metric.
func (s *Server) newPipeline() *pipeline.Pipeline {
	filtered := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "kustodian_ingest_filtered_rows_total", Help: "Rows data collection rule transformations filtered out (not stored, by the rule's design).",
	})
	s.registry.MustRegister(filtered)
	return pipeline.New(pipeline.Options{Storage: storage{s}, Filtered: func(n int) { filtered.Add(float64(n)) }})
}

// logsIngestionOptions wires the Logs Ingestion API: tokens for
// MonitorAudience, the Monitoring Metrics Publisher data action on the rule,
// rules from the metadata store, the shared pipeline.
func (s *Server) logsIngestionOptions(ids *identity.Service, authz *identity.Authorizer, rows prometheus.Counter) ingest.LogsOptions {
	return ingest.LogsOptions{
		Authenticate: func(ctx context.Context, token string) (string, error) {
			c, err := ids.Verify(ctx, token, MonitorAudience)
			if errors.Is(err, identity.ErrInvalidToken) {
				return "", fmt.Errorf("%w: %v", ingest.ErrUnauthenticated, err)
			} else if err != nil {
				return "", err
			}
			return c.ObjectID, nil
		},
		Authorize: func(ctx context.Context, principal, rule string) error {
			err := authz.CheckData(ctx, principal, identity.TelemetryWriteAction, rule)
			if errors.Is(err, identity.ErrForbidden) {
				return fmt.Errorf("%w: %v", ingest.ErrForbidden, err)
			}
			return err
		},
		Rules:    &ingestRules{s: s, cache: map[string]*compiled{}},
		Pipeline: s.pipeline,
		Log:      s.cfg.Log,
		Observe:  func(_ string, n int) { rows.Add(float64(n)) },
	}
}

// ingestRules resolves data collection rules for the Logs Ingestion API,
// compiling each flow's transformation once per version of the rule.
type ingestRules struct {
	s     *Server
	mu    sync.Mutex
	cache map[string]*compiled // by immutable id
}

type compiled struct {
	updated time.Time
	flows   []*transform.Transform // by flow index
}

func (g *ingestRules) Rule(ctx context.Context, immutableID, stream string) (*ingest.Rule, error) {
	var res *meta.Resource
	var doc *monitor.DCRDoc
	out := &ingest.Rule{}
	type dest struct {
		flow  int
		table string
		ws    string // resource id
	}
	var dests []dest
	err := g.s.state.Store.View(ctx, func(tx meta.Tx) error {
		var err error
		res, doc, err = monitor.RuleByImmutableID(ctx, tx, immutableID)
		if errors.Is(err, meta.ErrNotFound) {
			return fmt.Errorf("%w: %s", ingest.ErrUnknownRule, immutableID)
		} else if err != nil {
			return err
		}
		out.ResourceID = res.ID
		for i, f := range doc.Flows {
			reads := false
			for _, s := range f.Streams {
				reads = reads || s == stream
			}
			if !reads {
				continue
			}
			for _, dn := range f.Destinations {
				for _, d := range doc.Destinations {
					if d.Name == dn {
						dests = append(dests, dest{flow: i, table: f.Table(), ws: d.WorkspaceResourceID})
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	st, ok := doc.Stream(stream)
	if !ok || len(dests) == 0 {
		return out, fmt.Errorf("%w: %s", ingest.ErrUnknownStream, stream)
	}
	trs, err := g.transforms(ctx, immutableID, res.UpdatedAt, doc)
	if err != nil {
		return nil, err
	}
	in := monitor.StreamColumns(st.Columns)
	for _, d := range dests {
		var customerID string
		err := g.s.state.Store.View(ctx, func(tx meta.Tx) error {
			wres, err := tx.Resource(ctx, d.ws)
			if err != nil {
				return err
			}
			ws, err := decodeWorkspace(wres)
			customerID = ws
			return err
		})
		if errors.Is(err, meta.ErrNotFound) {
			return nil, fmt.Errorf("%w: %s", ingest.ErrUnknownWorkspace, d.ws)
		} else if err != nil {
			return nil, err
		}
		info, err := g.s.lookupWorkspace(ctx, customerID, false)
		if err != nil {
			return nil, err
		}
		t, err := g.s.target(ctx, customerID, info.account, d.table)
		if err != nil {
			return nil, err
		}
		if t.Schema == nil {
			return nil, fmt.Errorf("%w: table %s", ingest.ErrUnknownWorkspace, d.table)
		}
		if out.Admission == "" {
			out.Admission = t.CustomerID
		}
		out.Flows = append(out.Flows, pipeline.Flow{In: in, Transform: trs[d.flow], Target: t})
	}
	return out, nil
}

// transforms returns the rule's compiled transformations, compiling them
// when the rule changed.
func (g *ingestRules) transforms(ctx context.Context, id string, updated time.Time, doc *monitor.DCRDoc) ([]*transform.Transform, error) {
	key := strings.ToLower(id)
	g.mu.Lock()
	c := g.cache[key]
	g.mu.Unlock()
	if c != nil && c.updated.Equal(updated) {
		return c.flows, nil
	}
	c = &compiled{updated: updated}
	for _, f := range doc.Flows {
		var in []transform.Column
		if len(f.Streams) > 0 {
			if st, ok := doc.Stream(f.Streams[0]); ok {
				in = monitor.StreamColumns(st.Columns)
			}
		}
		tr, err := transform.Compile(ctx, f.TransformKql, in)
		if err != nil {
			return nil, fmt.Errorf("rule %s: a transformation accepted when written no longer compiles: %w", id, err)
		}
		c.flows = append(c.flows, tr)
	}
	g.mu.Lock()
	if len(g.cache) > 10000 {
		clear(g.cache)
	}
	g.cache[key] = c
	g.mu.Unlock()
	return c.flows, nil
}

func decodeWorkspace(res *meta.Resource) (string, error) {
	var doc monitor.WorkspaceDoc
	if err := json.Unmarshal(res.Body, &doc); err != nil {
		return "", err
	}
	return doc.CustomerID, nil
}

// storedTable returns the columns storage holds for a workspace's table
// (a classic table the Data Collector API created), for the tables API.
func (s *Server) storedTable(ctx context.Context, customerID, table string) ([]monitor.TableColumn, bool, error) {
	eng := s.engine.Load()
	if eng == nil {
		return nil, false, nil
	}
	ts, err := eng.Tables(ctx, strings.ToLower(customerID))
	if err != nil {
		return nil, false, err
	}
	for _, t := range ts {
		if t.Name != table {
			continue
		}
		cols := []monitor.TableColumn{{Name: "TimeGenerated", Type: "datetime"}}
		for _, c := range t.Columns {
			if c.Name == "TimeGenerated" {
				continue
			}
			cols = append(cols, monitor.TableColumn{Name: c.Name, Type: kqlType(c.Type).String()})
		}
		return cols, true, nil
	}
	return nil, false, nil
}
