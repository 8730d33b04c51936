//go:build loadtest

package bench

import (
	"bufio"
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// wireCounts are a webhook server's own counts of what its callers paid on
// the wire (webhook.Serve's metrics, on its health listener's /metrics):
// connections, TLS handshakes, answers and their bytes by path.
type wireCounts struct {
	accepted, full, resumed float64
	protocols               map[string]float64 // handshakes by application protocol
	answers, answerBytes    map[string]float64 // by path
}

// scrapeWire reads s's counts.
func scrapeWire(ctx context.Context, s *server) (wireCounts, error) {
	w := wireCounts{protocols: map[string]float64{}, answers: map[string]float64{}, answerBytes: map[string]float64{}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+s.health+"/metrics", nil)
	if err != nil {
		return w, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return w, fmt.Errorf("reading %s's /metrics: %w", s.name, err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		series, value, ok := strings.Cut(sc.Text(), " ")
		if !ok || strings.HasPrefix(series, "#") {
			continue
		}
		metric, labelText, _ := strings.Cut(series, "{")
		labels := parseLabels(strings.TrimSuffix(labelText, "}"))
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			continue
		}
		switch metric {
		case "strata_connections_accepted_total":
			if labels["listener"] == "webhook" {
				w.accepted += v
			}
		case "strata_tls_handshakes_total":
			w.protocols[labels["protocol"]] += v
			if labels["resumed"] == "true" {
				w.resumed += v
			} else {
				w.full += v
			}
		case "strata_webhook_response_size_bytes_count":
			w.answers[labels["path"]] += v
		case "strata_webhook_response_size_bytes_sum":
			w.answerBytes[labels["path"]] += v
		}
	}
	return w, sc.Err()
}

// since is w minus an earlier reading of the same server.
func (w wireCounts) since(before wireCounts) wireCounts {
	d := wireCounts{accepted: w.accepted - before.accepted, full: w.full - before.full, resumed: w.resumed - before.resumed,
		protocols: map[string]float64{}, answers: map[string]float64{}, answerBytes: map[string]float64{}}
	for p, v := range w.protocols {
		if v -= before.protocols[p]; v > 0 {
			d.protocols[p] = v
		}
	}
	for p, v := range w.answers {
		if n := v - before.answers[p]; n > 0 {
			d.answers[p] = n
			d.answerBytes[p] = w.answerBytes[p] - before.answerBytes[p]
		}
	}
	return d
}

// add sums the counts of two servers of one scenario.
func (w wireCounts) add(o wireCounts) wireCounts {
	d := w.since(wireCounts{})
	d.accepted, d.full, d.resumed = d.accepted+o.accepted, d.full+o.full, d.resumed+o.resumed
	for p, v := range o.protocols {
		d.protocols[p] += v
	}
	for p, v := range o.answers {
		d.answers[p] += v
		d.answerBytes[p] += o.answerBytes[p]
	}
	return d
}

// wireTable renders, for each run with a webhook, what the API server paid
// on the wire per 1,000 creates.
func wireTable(rows []apiRow) string {
	var b strings.Builder
	b.WriteString("| kind | conc. | scenario | webhook calls / create | connections accepted per 1,000 creates | TLS handshakes per 1,000 creates: full / resumed | protocol | answer bytes: mean by path |\n")
	b.WriteString("|---|---:|---|---:|---:|---|---|---|\n")
	for _, r := range rows {
		if r.wire == nil {
			continue
		}
		w := *r.wire
		creates := float64(r.res.Allowed + r.res.Denied)
		if creates == 0 {
			continue
		}
		var calls float64
		var sizes []string
		for _, path := range slices.Sorted(maps.Keys(w.answers)) {
			calls += w.answers[path]
			sizes = append(sizes, fmt.Sprintf("%s %.0f B", path, w.answerBytes[path]/w.answers[path]))
		}
		protocols := slices.Sorted(maps.Keys(w.protocols))
		if len(protocols) == 0 {
			protocols = []string{"— (no handshake)"}
		}
		fmt.Fprintf(&b, "| %s | %d | %s | %.2f | %.1f | %.1f / %.1f | %s | %s |\n",
			r.kind, r.concurrency, r.scenario, calls/creates, 1000*w.accepted/creates, 1000*w.full/creates, 1000*w.resumed/creates,
			strings.Join(protocols, ", "), strings.Join(sizes, "<br>"))
	}
	return b.String()
}
