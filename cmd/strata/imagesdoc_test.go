package main

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/strata-project/strata/internal/testutil"
	"github.com/strata-project/strata/webhook"
)

// docs/images.md: strata's own commands log nothing below info, so none of
// them prints the resolver's debug lines (a registry's withheld error
// body): serve's log starts at info, the others' at warn or error.
func TestServeLogsNothingBelowInfo(t *testing.T) {
	logger, out := serveLogger(io.Discard)
	defer out.Close()
	if logger.Enabled(t.Context(), slog.LevelDebug) || !logger.Enabled(t.Context(), slog.LevelInfo) {
		t.Errorf("serve's logger: debug enabled %v, info enabled %v; docs/images.md says info and above only",
			logger.Enabled(t.Context(), slog.LevelDebug), logger.Enabled(t.Context(), slog.LevelInfo))
	}
}

// docs/images.md's table "Go's soft memory limit" states what strata
// derives: each row's figures are softMemoryLimit's for that input.
func TestImagesMdMemoryLimitTableIsWhatServeSets(t *testing.T) {
	t.Parallel()
	rows := map[string]string{}
	for _, cells := range testutil.DocTable(t, "../../docs/images.md", "### The memory limit") {
		if len(cells) == 2 {
			rows[cells[0]] = cells[1]
		}
	}
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	const container = 1000 << 20
	limit, _, _ := softMemoryLimit(env(memoryLimitEnv, fmt.Sprint(container)), webhook.DefaultCacheBytes)
	budget, _, _ := softMemoryLimit(env(), webhook.DefaultCacheBytes)
	smallest, _, _ := softMemoryLimit(env(), 1<<20)
	if _, _, set := softMemoryLimit(env("GOMEMLIMIT", "200MiB", memoryLimitEnv, "1"), webhook.DefaultCacheBytes); set {
		t.Error("given GOMEMLIMIT, strata sets a limit of its own")
	}
	for _, want := range []struct{ row, says string }{
		{"`GOMEMLIMIT`", "the operator's: strata sets none"},
		{"`STRATA_MEMORY_LIMIT` (the chart passes the container's memory limit)", fmt.Sprintf("%d %% of it", limit*100/container)},
		{"neither", fmt.Sprintf("twice `cache.maxBytes` plus %d MiB, at least %d MiB: %d MiB with the default `%dMi`",
			(budget-2*webhook.DefaultCacheBytes)>>20, smallest>>20, budget>>20, webhook.DefaultCacheBytes>>20)},
	} {
		if !strings.HasPrefix(rows[want.row], want.says) {
			t.Errorf("docs/images.md: given %s, the limit is %q; strata sets %q", want.row, rows[want.row], want.says)
		}
	}
	if gogc := fmt.Sprintf("Under the limit it sets, strata also sets `GOGC` to %d, unless the operator set `GOGC`", boundedGCPercent); !strings.Contains(testutil.DocProse(t, "../../docs/images.md"), gogc) {
		t.Errorf("docs/images.md does not say %q", gogc)
	}
}
