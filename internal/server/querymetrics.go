package server

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kustodian/kustodian/internal/query"
)

// registerQueryMetrics exports the Query API's governance: queries by
// outcome, queries running and waiting, and the configured limits. It
// returns the handler's Observe hook; handler gives the handler once made.
func (s *Server) registerQueryMetrics(limits query.Limits, handler func() *query.Handler) func(code string, d time.Duration) {
	outcomes := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "kustodian_queries_total",
		Help: "Queries by outcome: ok, or the error code answered (ThrottledError, ServiceUnavailable, GatewayTimeout, PartialError, ...).",
	}, []string{"code"})
	s.registry.MustRegister(outcomes)
	state := func(pick func(running, waiting int) int) func() float64 {
		return func() float64 {
			if h := handler(); h != nil {
				return float64(pick(h.Running()))
			}
			return 0
		}
	}
	s.registry.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "kustodian_queries_running", Help: "Queries holding a slot (running or writing their result)."},
			state(func(r, _ int) int { return r })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "kustodian_queries_waiting", Help: "Queries waiting for a slot."},
			state(func(_, w int) int { return w })),
	)
	l := limits
	l.SetDefaults()
	limit := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "kustodian_query_limit", Help: "The configured query limits, by name (seconds, rows, bytes or queries).",
	}, []string{"limit"})
	for name, v := range map[string]float64{
		"timeout_seconds":       l.Timeout.Seconds(),
		"max_timeout_seconds":   l.MaxTimeout.Seconds(),
		"result_rows":           float64(l.MaxResultRows),
		"result_bytes":          float64(l.MaxResultBytes),
		"memory_bytes":          float64(l.MaxMemoryBytes),
		"concurrent":            float64(l.MaxConcurrent),
		"per_principal":         float64(l.MaxPerPrincipal),
		"queued":                float64(l.MaxQueued),
		"queue_timeout_seconds": l.QueueTimeout.Seconds(),
	} {
		limit.WithLabelValues(name).Set(v)
	}
	s.registry.MustRegister(limit)
	return func(code string, _ time.Duration) {
		if code == "" {
			code = "ok"
		}
		outcomes.WithLabelValues(code).Inc()
	}
}
