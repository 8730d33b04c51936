package webhook

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/strata-project/strata/webhook/images"
	"github.com/strata-project/strata/webhook/policy"
)

// Metrics are strata's Prometheus metrics. A nil *Metrics records nothing.
type Metrics struct {
	decisions  *prometheus.CounterVec
	violations *prometheus.CounterVec
	duration   *prometheus.HistogramVec
}

// NewMetrics creates strata's metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "strata_decisions_total",
			Help: "Admission decisions, by mode and decision (allowed, denied, error).",
		}, []string{"mode", "decision"}),
		violations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "strata_violations_total",
			Help: "Policy violations, by policy and the action they had (enforce, warn, audit).",
		}, []string{"policy", "action"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "strata_admission_duration_seconds",
			Help:    "Time to decide an admission request, registry work included.",
			Buckets: []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5},
		}, []string{"mode"}),
	}
	for _, c := range []prometheus.Collector{m.decisions, m.violations, m.duration} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// modeMetrics are one mode's series of the decisions and their durations,
// found once, when its Handler is made: finding a series by its labels is
// a hash and a lock an admission. Its series are exported from then, at 0.
// A nil *modeMetrics records nothing.
type modeMetrics struct {
	m                        *Metrics
	allowed, denied, errored prometheus.Counter
	duration                 prometheus.Observer
}

// forMode returns mode's series.
func (m *Metrics) forMode(mode policy.Action) *modeMetrics {
	if m == nil {
		return nil
	}
	return &modeMetrics{
		m:        m,
		allowed:  m.decisions.WithLabelValues(string(mode), "allowed"),
		denied:   m.decisions.WithLabelValues(string(mode), "denied"),
		errored:  m.decisions.WithLabelValues(string(mode), "error"),
		duration: m.duration.WithLabelValues(string(mode)),
	}
}

// observe counts a decision (allowed, denied or error) and its violations.
func (mm *modeMetrics) observe(decision string, d *Decision, took time.Duration) {
	if mm == nil {
		return
	}
	switch decision {
	case "allowed":
		mm.allowed.Inc()
	case "denied":
		mm.denied.Inc()
	default:
		mm.errored.Inc()
	}
	mm.duration.Observe(took.Seconds())
	if d == nil {
		return
	}
	for _, v := range d.Violations {
		mm.m.violations.WithLabelValues(v.Policy, string(v.Action)).Inc()
	}
}

// credentialsCollector exports the cloud helpers' credential lookups as
// strata_registry_credentials_total{provider,result}.
type credentialsCollector struct {
	counts func() []images.CloudCredentialCount
	desc   *prometheus.Desc
}

// NewCredentialsCollector returns the collector of strata_registry_credentials_total
// for the resolver's cloud helpers (registry.credentials).
func NewCredentialsCollector(r *images.Resolver) prometheus.Collector {
	return &credentialsCollector{
		counts: r.CloudCredentialCounts,
		desc: prometheus.NewDesc("strata_registry_credentials_total",
			"Credential lookups of the cloud registry helpers (registry.credentials), by provider and result: issued (the token API answered), cached, error (the token API failed), error-cached (a failure within 30s answered again without asking).",
			[]string{"provider", "result"}, nil),
	}
}

func (c *credentialsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *credentialsCollector) Collect(ch chan<- prometheus.Metric) {
	for _, n := range c.counts() {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue, float64(n.N), n.Provider, n.Result)
	}
}
