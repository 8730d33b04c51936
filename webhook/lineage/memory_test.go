package lineage

import (
	"fmt"
	"runtime"
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
	before := memtest.HeapInUse()
	for n := range lineages {
		name := fmt.Sprintf("registry.example.com/base-%d:", n) + strings.Repeat("x", size)
		key := lineageKey{digest: images.Digest{byte(n), byte(n >> 8)}, platform: "linux/amd64"}
		c.remember(ix, key, Lineage{Claims: []Claim{{Name: name, Source: "annotation", Status: ClaimMismatch, Reason: "layers differ"}}})
	}
	after := memtest.HeapInUse()
	runtime.KeepAlive(c)
	const budget, slack = DefaultCacheBytes, 4 << 20
	if grew := after - before; grew > budget+slack {
		t.Errorf("%d lineages claiming %d KiB names left the heap %d MiB larger, want at most the %d MiB budget + %d MiB", lineages, size>>10, grew>>20, budget>>20, slack>>20)
	}
	t.Logf("%d lineages claiming %d KiB names: heap %d KiB before, %d KiB after", lineages, size>>10, before>>10, after>>10)
}
