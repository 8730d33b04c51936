package webhook

import (
	"fmt"
	"maps"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/strata-project/strata/internal/testutil"
)

// spelled is how docs/serving.md writes a duration: "10 s", "2 min".
func spelled(d time.Duration) string {
	if d >= time.Minute && d%time.Minute == 0 {
		return fmt.Sprintf("%d min", d/time.Minute)
	}
	return fmt.Sprintf("%d s", d/time.Second)
}

// servingLimitsRows reads the cells of docs/serving.md's limits table by
// the row's first cell.
func servingLimitsRows(t *testing.T) map[string][]string {
	t.Helper()
	rows := map[string][]string{}
	for _, cells := range testutil.DocTable(t, "../docs/serving.md", "## Limits\n") {
		rows[cells[0]] = cells[1:]
	}
	return rows
}

// The limits docs/serving.md states for each listener are the defaults
// Serve applies: a changed default fails here, not in an operator's sizing.
func TestServingDocumentStatesTheDefaultLimits(t *testing.T) {
	w, h := DefaultWebhookLimits(), DefaultHealthLimits()
	rows := servingLimitsRows(t)
	for _, want := range []struct {
		row             string
		webhook, health string
	}{
		{"connections open at once", testutil.Thousands(w.MaxConns) + " (", fmt.Sprint(h.MaxConns) + " ("},
		{"TLS handshake", spelled(w.HeaderTimeout), "—"},
		{"request headers", spelled(w.HeaderTimeout) + ",", spelled(h.HeaderTimeout) + ","},
		{"request body", fmt.Sprintf("(at most %s) less %d ms", spelled(maxWebhookTimeout), DefaultMargin.Milliseconds()), "10 s in all"},
		{"writing the answer", fmt.Sprintf("at most %s), and at most %s from the headers", spelled(maxWebhookTimeout), spelled(maxWebhookTimeout+10*time.Second)), "10 s"},
		{"a review's uid", fmt.Sprintf("at most %d bytes", maxUIDBytes), "—"},
		{"a review's body", fmt.Sprintf("%d MiB (`413` beyond); at most %d KiB set aside", maxReviewBytes>>20, preallocatedBodyBytes>>10), "—"},
		{"an answer's message", fmt.Sprintf("%d KiB", maxAnswerMessageBytes>>10), "—"},
		{"idle keep-alive connection", spelled(w.IdleTimeout), spelled(h.IdleTimeout)},
	} {
		cells, ok := rows[want.row]
		if !ok || len(cells) != 2 {
			t.Errorf("docs/serving.md: no limits row %q of two cells", want.row)
			continue
		}
		if !strings.Contains(cells[0], want.webhook) || !strings.Contains(cells[1], want.health) {
			t.Errorf("docs/serving.md: %s: webhook %q, health %q; the code's defaults are %q and %q", want.row, cells[0], cells[1], want.webhook, want.health)
		}
	}
}

// The bounds docs/serving.md states in its prose, outside the limits
// table, are the code's too.
func TestServingDocumentProseStatesTheBounds(t *testing.T) {
	t.Parallel()
	prose := testutil.DocProse(t, "../docs/serving.md")
	w, h := DefaultWebhookLimits(), DefaultHealthLimits()
	for _, want := range []string{
		fmt.Sprintf("a %d MiB body limit (`413` beyond", maxReviewBytes>>20),
		fmt.Sprintf("a uid past %d bytes", maxUIDBytes),
		fmt.Sprintf("strata's idle timeout, %d minutes, is longer", w.IdleTimeout/time.Minute),
		fmt.Sprintf("%s connections: the API server needs one per admission request in flight", testutil.Thousands(w.MaxConns)),
		fmt.Sprintf("Prometheus (one keep-alive connection per scraper): %d is far above", h.MaxConns),
		fmt.Sprintf("Each admission request may carry up to %d MiB", maxReviewBytes>>20),
		fmt.Sprintf("a line is out within %d ms, or once %d KiB are held", DefaultLogInterval/time.Millisecond, DefaultLogBytes>>10),
		fmt.Sprintf("loses at most the last %d ms of lines", DefaultLogInterval/time.Millisecond),
	} {
		if !strings.Contains(prose, want) {
			t.Errorf("docs/serving.md does not say %q, which is what the code does", want)
		}
	}
}

// The connection metrics docs/serving.md names, name{labels}, are the ones
// Serve registers, with those labels, and it names every one of them.
func TestServingDocumentNamesTheConnectionMetrics(t *testing.T) {
	t.Parallel()
	m, err := newConnMetrics(nil)
	if err != nil {
		t.Fatal(err)
	}
	registered := map[string]string{}
	descs := make(chan *prometheus.Desc, 16)
	for _, c := range []prometheus.Collector{m.open, m.dropped, m.accepted, m.handshakes, m.answers} {
		c.Describe(descs)
	}
	close(descs)
	desc := regexp.MustCompile(`fqName: "([^"]+)".*variableLabels: \{([^}]*)\}`)
	for d := range descs {
		parts := desc.FindStringSubmatch(d.String())
		if parts == nil {
			t.Fatalf("cannot read the metric description %s", d)
		}
		registered[parts[1]] = parts[2]
	}
	documented := map[string]string{}
	for _, named := range regexp.MustCompile("`(strata_[a-z_]+)\\{([a-z,]+)\\}`").FindAllStringSubmatch(string(testutil.ReadFile(t, "../docs/serving.md")), -1) {
		documented[named[1]] = named[2]
	}
	if !maps.Equal(documented, registered) {
		t.Errorf("docs/serving.md names the metrics %v; Serve registers %v", documented, registered)
	}
}
