package webhook

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/strata-project/strata/internal/testutil"
)

const imagesMd = "../docs/images.md"

// docs/images.md's table of caches gives the shares of cache.maxBytes that
// are not the resolver's (webhook/images asserts those): each is the
// fraction cacheBudget and inputPartsBytes give of the default budget.
func TestImagesMdCacheTableStatesTheSharesOutsideTheResolver(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	total := cfg.Cache.MaxBytes.Value()
	_, secrets, results, lineages := cfg.cacheBudget()
	rows := map[string]string{}
	for _, cells := range testutil.DocTable(t, imagesMd, "## Caches\n") {
		if len(cells) == 4 {
			rows[cells[0]] = cells[2]
		}
	}
	for _, want := range []struct {
		row   string
		bytes int64
	}{
		{"pull-secret credentials (`serve` with pull secrets)", secrets},
		{"policy results", results},
		{"lineages", lineages},
	} {
		if share := fmt.Sprintf("1/%d", total/want.bytes); !strings.HasPrefix(rows[want.row], share) {
			t.Errorf("docs/images.md: the %s cache's share is %q; the code gives it %s of cache.maxBytes", want.row, rows[want.row], share)
		}
	}
	// The parts' row is the one whose first cell names them.
	var parts string
	for row, share := range rows {
		if strings.HasPrefix(row, "parts of the policy input") {
			parts = share
		}
	}
	if share := fmt.Sprintf("1/%d:", total/cfg.inputPartsBytes()); !strings.HasPrefix(parts, share) {
		t.Errorf("docs/images.md: the input parts' share is %q; the code gives them %s of cache.maxBytes", parts, share)
	}
}

// docs/images.md: a workload is checked on at most 1,000 containers ×
// platforms, and a check resolves its images 8 at a time: the Checker's
// defaults.
func TestImagesMdStatesTheCheckersBounds(t *testing.T) {
	t.Parallel()
	opts := NewChecker(CheckerOptions{}).opts
	doc := testutil.DocProse(t, imagesMd)
	for _, sentence := range []string{
		fmt.Sprintf("A workload is checked on at most %s containers × platforms (`CheckerOptions.MaxEvaluations`", thousands(opts.MaxEvaluations)),
		fmt.Sprintf("the fetches that outlive an admission are at most the ones it had started (%d at a time)", opts.Concurrency),
	} {
		if !strings.Contains(doc, sentence) {
			t.Errorf("docs/images.md does not say %q, which the Checker's defaults make true", sentence)
		}
	}
}

// docs/images.md: a fetch shared by concurrent callers, and the wait for a
// registry's response headers, are bounded by registry.timeout: the
// configuration gives the resolver registry.timeout as its FetchTimeout,
// which bounds both (webhook/images tests each with FetchTimeout).
func TestImagesMdRegistryTimeoutBoundsSharedFetchesAndHeaders(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.Registry.Timeout.Duration = 1234 * time.Millisecond
	if got := cfg.resolverOptions().FetchTimeout; got != cfg.Registry.Timeout.Duration {
		t.Errorf("resolverOptions().FetchTimeout = %v with registry.timeout %v; docs/images.md says the one bounds the other", got, cfg.Registry.Timeout.Duration)
	}
	doc := testutil.DocProse(t, imagesMd)
	for _, sentence := range []string{
		"(singleflight) runs detached from any one caller, bounded by `registry.timeout`",
		"The default transport waits at most `registry.timeout` for response headers (`ResponseHeaderTimeout`)",
	} {
		if !strings.Contains(doc, sentence) {
			t.Errorf("docs/images.md no longer says %q", sentence)
		}
	}
}
