//go:build loadtest

package bench

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/strata-project/strata/internal/wirecost"
)

// scrapeWire reads what s's callers have paid on the wire so far, from
// webhook.Serve's metrics on its health listener's /metrics.
func scrapeWire(ctx context.Context, s *server) (wirecost.Cost, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+s.health+"/metrics", nil)
	if err != nil {
		return wirecost.Cost{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return wirecost.Cost{}, fmt.Errorf("reading %s's /metrics: %w", s.name, err)
	}
	defer resp.Body.Close()
	return wirecost.Parse(resp.Body)
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
		for _, path := range slices.Sorted(maps.Keys(w.Answers)) {
			calls += w.Answers[path]
			sizes = append(sizes, fmt.Sprintf("%s %.0f B", path, w.AnswerBytes[path]/w.Answers[path]))
		}
		protocols := slices.Sorted(maps.Keys(w.Protocols))
		if len(protocols) == 0 {
			protocols = []string{"— (no handshake)"}
		}
		fmt.Fprintf(&b, "| %s | %d | %s | %.2f | %.1f | %.1f / %.1f | %s | %s |\n",
			r.kind, r.concurrency, r.scenario, calls/creates, 1000*w.Accepted/creates, 1000*w.Full/creates, 1000*w.Resumed/creates,
			strings.Join(protocols, ", "), strings.Join(sizes, "<br>"))
	}
	return b.String()
}
