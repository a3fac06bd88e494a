package server

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kustodian/kustodian/internal/query"
)

// registerQueryMetrics exports the Query API's governance: queries by
// outcome and the configured limits (queries running and waiting are the
// "queries" pool's kustodian_admission_* metrics). It returns the
// handler's Observe hook.
func (s *Server) registerQueryMetrics(limits query.Limits) func(code string, d time.Duration) {
	outcomes := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "kustodian_queries_total",
		Help: "Queries by outcome: ok, or the error code answered (ThrottledError, ServiceUnavailable, GatewayTimeout, PartialError, ...).",
	}, []string{"code"})
	s.registry.MustRegister(outcomes)
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
