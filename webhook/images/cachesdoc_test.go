package images

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/strata-project/strata/internal/testutil"
)

// docs/images.md's table of caches gives each of the resolver's caches its
// share of the resolver's part of cache.maxBytes ("10/16 × 53 %"; the 10/16
// is asserted in webhook) and the lifetimes of sessions, ping answers and
// pull-secret credentials: they are the shares and lifetimes the code uses,
// and the shares add up to the whole part.
func TestImagesMdCacheTableStatesTheResolversSharesAndLifetimes(t *testing.T) {
	t.Parallel()
	rows := map[string][]string{}
	for _, cells := range testutil.DocTable(t, "../../docs/images.md", "## Caches\n") {
		if len(cells) == 4 {
			rows[cells[0]] = cells[1:]
		}
	}
	hour := fmt.Sprintf("%d h", pullerTTL/time.Hour)
	secrets := NewPullSecrets(nil, PullSecretOptions{}).opts.TTL
	r := newTestResolver(t, newTestRegistry(t), Options{}).opts
	for _, want := range []struct {
		row, share, lifetime string
	}{
		{"platform facts", pct(cacheShares.facts), "immutable"},
		{"index children", pct(cacheShares.indexes), "immutable"},
		{"reference → digest, and not found", pct(cacheShares.refs), fmt.Sprintf("`registry.tagTTL` (%d m), then one HEAD re-checks it; a \"not found\" %d s", r.TagTTL/time.Minute, r.NotFoundTTL/time.Second)},
		{"tag hints (last digest of a reference in any scope)", pct(cacheShares.hints), "LRU"},
		{"parsed references", pct(cacheShares.parsed), "LRU"},
		{"registry sessions", pct(cacheShares.sessions), hour},
		{"ping answers", pct(cacheShares.pings), hour},
		{`build provenance (and "none")`, pct(cacheShares.provenance), "immutable"},
		{"pull-secret credentials (`serve` with pull secrets)", "1/16", fmt.Sprintf("%d min", secrets/time.Minute)},
	} {
		cells, ok := rows[want.row]
		if !ok {
			t.Errorf("docs/images.md: no cache row %q", want.row)
			continue
		}
		if !strings.HasPrefix(cells[1], want.share) || !strings.HasPrefix(cells[2], want.lifetime) {
			t.Errorf("docs/images.md: %s: share %q, lifetime %q; the code's are %q and %q", want.row, cells[1], cells[2], want.share, want.lifetime)
		}
	}
	s := cacheShares
	if sum := s.facts + s.indexes + s.refs + s.hints + s.parsed + s.sessions + s.pings + s.provenance; sum != 100 {
		t.Errorf("the resolver's cache shares add up to %d %%, want 100 %%", sum)
	}
}

// pct is how docs/images.md writes a resolver cache's share.
func pct(p int64) string { return fmt.Sprintf("10/16 × %d %%", p) }
