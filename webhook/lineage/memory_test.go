package lineage

import (
	"fmt"
	"strings"
	"testing"

	"github.com/strata-project/strata/webhook/images"

	"github.com/strata-project/strata/webhook/internal/memtest"
)

// A lineage's claims carry the base names images' annotations give, which
// tenants write: the lineage cache kept 4,096 lineages whatever they held,
// so 1,000 images claiming 1 MiB names kept about 1 GB. It is now bounded by
// the bytes its lineages hold.
func TestLargeClaimsCannotHoldTheLineageCachePastItsBudget(t *testing.T) {
	w := newWorld(t, images.Options{})
	c := w.catalog(Options{})
	ix := c.current.Load()
	const lineages, size = 1000, 1 << 20
	memtest.HeldWithin(t, memtest.Bound{What: fmt.Sprintf("%d lineages claiming %d KiB names", lineages, size>>10), Budget: DefaultCacheBytes, Slack: 4 << 20}, func() {
		for n := range lineages {
			name := fmt.Sprintf("registry.example.com/base-%d:", n) + strings.Repeat("x", size)
			key := lineageKey{digest: images.Digest{byte(n), byte(n >> 8)}, platform: "linux/amd64"}
			c.remember(ix, key, Lineage{Claims: []Claim{{Name: name, Source: "annotation", Status: ClaimMismatch, Reason: "layers differ"}}})
		}
	}, c)
}
