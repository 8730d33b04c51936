package webhook

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/strata-project/strata/webhook/policy"
)

// inactiveDesc is strata_policy_inactive: 1 for a policy that is on but
// can report nothing (a data key it requires is empty, as approvedBases is
// by default), so that an alert can tell a quiet policy from a silent one.
var inactiveDesc = prometheus.NewDesc(
	"strata_policy_inactive",
	"1 when a loaded policy that is not off reports nothing because a data key it requires is empty; 0 when it is active.",
	[]string{"policy"}, nil,
)

// PolicyCollector exports strata_policy_inactive for the policies serving
// at the time of each scrape, so that a reload is reflected.
type PolicyCollector struct {
	policies func() []policy.Meta
}

// NewPolicyCollector returns a collector over policies, such as
// (*policy.Engine).Policies.
func NewPolicyCollector(policies func() []policy.Meta) *PolicyCollector {
	return &PolicyCollector{policies: policies}
}

// Describe implements prometheus.Collector.
func (c *PolicyCollector) Describe(ch chan<- *prometheus.Desc) { ch <- inactiveDesc }

// Collect implements prometheus.Collector.
func (c *PolicyCollector) Collect(ch chan<- prometheus.Metric) {
	for _, m := range c.policies() {
		if m.Action == policy.Off {
			continue
		}
		v := 0.0
		if m.Inactive != "" {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(inactiveDesc, prometheus.GaugeValue, v, m.ID)
	}
}
