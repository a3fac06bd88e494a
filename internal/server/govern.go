package server

import (
	"errors"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kustodian/kustodian/internal/admit"
	"github.com/kustodian/kustodian/internal/arm"
	"github.com/kustodian/kustodian/internal/ingest"
)

// bodyLimits bounds the request body of each surface, whatever its handler
// does (each also checks its own, smaller or equal, limit): a body past it
// fails to read and its connection is not reused.
var bodyLimits = map[string]int64{
	"ingest":   ingest.MaxPostBytes + 1, // +1: the handler tells "longer than declared" apart
	"arm":      arm.MaxBodyBytes + 1,
	"keyvault": 16<<20 + 1, // key restore blobs
	"query":    1<<20 + 1,
	"identity": 1 << 20,
	"admin":    1 << 20,
}

// unreadBodyGrace is how long net/http may go on reading, after the
// handler, a body the handler left unread (up to 256 KiB, to keep the
// connection): what a client has already sent arrives in that time, a
// trickle does not, and then the connection is closed after the answer.
const unreadBodyGrace = time.Second

// governBody returns r with its body bounded (bodyLimits) and made to
// arrive at the configured minimum rate (admit.MinRateBody), and a function
// to call once the handler has returned: for HTTP/1.x, a body the handler
// did not read to its end is read for at most unreadBodyGrace more
// (net/http would read up to 256 KiB of it before answering, with no
// deadline: a slow client could hold the connection at will).
func (s *Server) governBody(w http.ResponseWriter, r *http.Request, surface string) (*http.Request, func()) {
	if r.Body == nil || r.Body == http.NoBody {
		return r, func() {}
	}
	rc := http.NewResponseController(w)
	limit := bodyLimits[surface]
	if limit == 0 {
		limit = 1 << 20
	}
	tb := &trackedBody{ReadCloser: admit.MinRateBody(http.MaxBytesReader(w, r.Body, limit), rc, admit.MinRate{
		BytesPerSecond: s.cfg.BodyMinRate, Grace: s.cfg.BodyReadGrace,
		OnTimeout: func() { s.bodyTimeouts.WithLabelValues(surface).Inc() },
	})}
	// A shallow copy: net/http keeps looking at the original body after
	// the handler (its discard logic), which must stay its own type.
	r2 := r.WithContext(r.Context())
	r2.Body = tb
	return r2, func() {
		if r.ProtoMajor == 1 && !tb.eof {
			_ = rc.SetReadDeadline(time.Now().Add(unreadBodyGrace))
		}
	}
}

// trackedBody records whether a body was read to its end.
type trackedBody struct {
	io.ReadCloser
	eof bool
}

func (b *trackedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if errors.Is(err, io.EOF) {
		b.eof = true
	}
	return n, err
}

// pools are the server's admission pools, exported as metrics. The query
// layer adds its own with addPool, e.g. one slot per query:
//
//	queries := s.pools.add(admit.Options{Name: "queries", Capacity: 8, ClientShare: 4, MaxWait: s.cfg.AdmissionWait})
type pools struct {
	mu  sync.Mutex
	all []*admit.Pool
	by  map[*admit.Pool]string
}

// add creates a pool and exports its metrics under o.Name.
func (p *pools) add(o admit.Options) *admit.Pool {
	pool := admit.New(o)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.by == nil {
		p.by = map[*admit.Pool]string{}
	}
	p.all = append(p.all, pool)
	p.by[pool] = o.Name
	return pool
}

// admissionOptions returns the options of a pool of capacity units with
// the configured client share and wait.
func (s *Server) admissionOptions(name string, capacity int64) admit.Options {
	return admit.Options{
		Name: name, Capacity: capacity, ClientShare: s.cfg.clientShare(capacity),
		MaxWait: max(s.cfg.AdmissionWait, 0), RetryAfter: time.Second,
	}
}

var (
	poolInFlight = prometheus.NewDesc("kustodian_admission_in_flight",
		"Units held now by admitted requests, by pool (bytes for ingest_bodies and ingest_batches).", []string{"pool"}, nil)
	poolCapacity = prometheus.NewDesc("kustodian_admission_capacity",
		"Capacity of the admission pool, by pool (same units as kustodian_admission_in_flight).", []string{"pool"}, nil)
	poolWaiting = prometheus.NewDesc("kustodian_admission_waiting",
		"Requests waiting for room now, by pool.", []string{"pool"}, nil)
	poolAdmitted = prometheus.NewDesc("kustodian_admission_admitted_total",
		"Requests admitted, by pool.", []string{"pool"}, nil)
	poolWaited = prometheus.NewDesc("kustodian_admission_waited_total",
		"Requests admitted after waiting for room, by pool.", []string{"pool"}, nil)
	poolRejected = prometheus.NewDesc("kustodian_admission_rejected_total",
		"Requests refused, by pool and reason: client (429, the client held its share), saturated (503), too_large (413), canceled (the client left while waiting).",
		[]string{"pool", "reason"}, nil)
)

// Describe implements prometheus.Collector.
func (p *pools) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{poolInFlight, poolCapacity, poolWaiting, poolAdmitted, poolWaited, poolRejected} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (p *pools) Collect(ch chan<- prometheus.Metric) {
	p.mu.Lock()
	all := slices.Clone(p.all)
	names := make([]string, len(all))
	for i, pool := range all {
		names[i] = p.by[pool]
	}
	p.mu.Unlock()
	for i, pool := range all {
		st, name := pool.Stats(), names[i]
		ch <- prometheus.MustNewConstMetric(poolInFlight, prometheus.GaugeValue, float64(st.InFlight), name)
		ch <- prometheus.MustNewConstMetric(poolCapacity, prometheus.GaugeValue, float64(st.Capacity), name)
		ch <- prometheus.MustNewConstMetric(poolWaiting, prometheus.GaugeValue, float64(st.Waiting), name)
		ch <- prometheus.MustNewConstMetric(poolAdmitted, prometheus.CounterValue, float64(st.Admitted), name)
		ch <- prometheus.MustNewConstMetric(poolWaited, prometheus.CounterValue, float64(st.Waited), name)
		for _, r := range admit.Reasons {
			ch <- prometheus.MustNewConstMetric(poolRejected, prometheus.CounterValue, float64(st.Rejected[r]), name, string(r))
		}
	}
}
