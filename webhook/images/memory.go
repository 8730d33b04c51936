package images

import (
	"unsafe"
)

// DefaultCacheBytes is the resolver's cache budget when its options give
// none: its share of the chart's cache.maxBytes (64Mi: 10/16 of it; the
// pull secrets, the input parts, the policy result cache and the lineage
// cache hold the rest). strata serve passes its share of cache.maxBytes.
const DefaultCacheBytes = 40 << 20

// cacheShares are the percentages of CacheBytes each cache may hold. Facts
// are what a cold admission pays for most (a manifest and a config per
// platform), so they get most; each cache is bounded on its own so that a
// flood of one kind (distinct failing references fill refs, distinct
// repositories fill sessions) never evicts another kind's entries.
var cacheShares = struct {
	facts, indexes, refs, hints, parsed, sessions, pings, provenance int64
}{facts: 53, indexes: 5, refs: 15, hints: 5, parsed: 5, sessions: 14, pings: 1, provenance: 2}

// share is pct percent of total bytes.
func share(total, pct int64) int64 { return total / 100 * pct }

// childrenCost estimates what an index's checked children hold: each
// child's digest and its listed platform (a struct of strings, often with
// OS features).
func childrenCost(children []child) int64 {
	n := int64(len(children)) * int64(unsafe.Sizeof(child{}))
	for _, c := range children {
		if c.listed != nil {
			n += int64(unsafe.Sizeof(*c.listed)) + int64(len(c.listed.OS)+len(c.listed.Architecture)+len(c.listed.Variant)+len(c.listed.OSVersion))
			for _, f := range c.listed.OSFeatures {
				n += 16 + int64(len(f))
			}
			for _, f := range c.listed.Features {
				n += 16 + int64(len(f))
			}
		}
	}
	return n
}
