// Package wirecost reads, from a webhook server's own metrics, what its
// callers paid on the wire: the connections it accepted, its TLS handshakes
// (full or resumed, by application protocol) and its answers and their bytes
// by path. The webhook's tests read them from the server's registry, the API
// server bench from the /metrics page of a server in another process; both
// count with this one tally, so the two cannot drift apart.
package wirecost

import (
	"fmt"
	"io"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// The metrics the tally reads, as webhook.Serve registers them.
const (
	acceptedMetric   = "strata_connections_accepted_total"
	handshakesMetric = "strata_tls_handshakes_total"
	answersMetric    = "strata_webhook_response_size_bytes"
	// webhookListener is the listener label of the webhook port: the
	// health port's connections are not the API server's.
	webhookListener = "webhook"
)

// Cost is what a webhook server's callers paid on the wire, from its start
// or (after Since) between two readings.
type Cost struct {
	// Accepted is the connections accepted on the webhook listener.
	Accepted float64
	// Full and Resumed are the TLS handshakes completed without and with
	// a resumed session.
	Full, Resumed float64
	// Protocols are the handshakes by application protocol negotiated.
	Protocols map[string]float64
	// Answers and AnswerBytes are the answers and the sum of their body
	// sizes, by path.
	Answers, AnswerBytes map[string]float64
}

func newCost() Cost {
	return Cost{Protocols: map[string]float64{}, Answers: map[string]float64{}, AnswerBytes: map[string]float64{}}
}

// FromFamilies tallies gathered metric families; families of other metrics
// are passed over.
func FromFamilies(families []*dto.MetricFamily) Cost {
	c := newCost()
	for _, f := range families {
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			switch f.GetName() {
			case acceptedMetric:
				if labels["listener"] == webhookListener {
					c.Accepted += m.GetCounter().GetValue()
				}
			case handshakesMetric:
				n := m.GetCounter().GetValue()
				c.Protocols[labels["protocol"]] += n
				if labels["resumed"] == "true" {
					c.Resumed += n
				} else {
					c.Full += n
				}
			case answersMetric:
				h := m.GetHistogram()
				c.Answers[labels["path"]] += float64(h.GetSampleCount())
				c.AnswerBytes[labels["path"]] += h.GetSampleSum()
			}
		}
	}
	return c
}

// Gather tallies what g, the server's registry, holds now.
func Gather(g prometheus.Gatherer) (Cost, error) {
	families, err := g.Gather()
	if err != nil {
		return Cost{}, fmt.Errorf("gathering the webhook server's metrics: %w", err)
	}
	return FromFamilies(families), nil
}

// Parse tallies a /metrics page in Prometheus's text format.
func Parse(r io.Reader) (Cost, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	byName, err := p.TextToMetricFamilies(r)
	if err != nil {
		return Cost{}, fmt.Errorf("parsing the webhook server's /metrics: %w", err)
	}
	families := make([]*dto.MetricFamily, 0, len(byName))
	for _, f := range byName {
		families = append(families, f)
	}
	return FromFamilies(families), nil
}

// Since is c minus an earlier reading of the same server: what happened in
// between. Protocols and paths with nothing in between are left out.
func (c Cost) Since(before Cost) Cost {
	d := newCost()
	d.Accepted, d.Full, d.Resumed = c.Accepted-before.Accepted, c.Full-before.Full, c.Resumed-before.Resumed
	for p, v := range c.Protocols {
		if v -= before.Protocols[p]; v > 0 {
			d.Protocols[p] = v
		}
	}
	for p, v := range c.Answers {
		if n := v - before.Answers[p]; n > 0 {
			d.Answers[p] = n
			d.AnswerBytes[p] = c.AnswerBytes[p] - before.AnswerBytes[p]
		}
	}
	return d
}

// Plus sums the costs of two servers of one run.
func (c Cost) Plus(o Cost) Cost {
	d := c.Since(Cost{})
	d.Accepted, d.Full, d.Resumed = d.Accepted+o.Accepted, d.Full+o.Full, d.Resumed+o.Resumed
	for p, v := range o.Protocols {
		d.Protocols[p] += v
	}
	for p, v := range o.Answers {
		d.Answers[p] += v
		d.AnswerBytes[p] += o.AnswerBytes[p]
	}
	return d
}

// MeanAnswer is the mean body size of the answers on path, 0 when there
// were none.
func (c Cost) MeanAnswer(path string) float64 {
	if c.Answers[path] == 0 {
		return 0
	}
	return c.AnswerBytes[path] / c.Answers[path]
}
