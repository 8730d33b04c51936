package lineage

import (
	"slices"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/strata-project/strata/webhook/images"
)

// DefaultCacheBytes is the lineage cache's budget when the options give
// none: its share of the chart's cache.maxBytes (64Mi), at about 1 KiB a
// lineage some 8,000 of them. strata serve passes its share of
// cache.maxBytes.
const DefaultCacheBytes = 8 << 20

// lineageKey identifies a computed lineage: claims are read with the
// caller's credentials, so the scope is part of it.
type lineageKey struct {
	digest   images.Digest
	platform string
	scope    string
}

// lineageIDs numbers the lineages remembered, in every Catalog of the
// process: an ID is never given twice.
var lineageIDs atomic.Uint64

type lineageEntry struct {
	ix      *index // the catalog state it was computed against
	lineage Lineage
	expires time.Time
}

// cached returns a lineage computed against the same catalog state within
// ClaimTTL: base claims and the tags they name can move, the catalog swaps
// its index when it learns anything.
func (c *Catalog) cached(ix *index, key lineageKey) (Lineage, bool) {
	e, ok := c.lineages.Get(key)
	if !ok || e.ix != ix || c.opts.Now().After(e.expires) {
		return Lineage{}, false
	}
	return e.lineage, true
}

func (c *Catalog) remember(ix *index, key lineageKey, l Lineage) {
	// A claim that could not be read may be a passing registry failure:
	// read it again next time rather than for ClaimTTL.
	if slices.ContainsFunc(l.Claims, func(cl Claim) bool { return cl.Status == ClaimUnreachable }) {
		return
	}
	l = cloneLineage(l) // the caller that computed l holds it too
	l.ID = lineageIDs.Add(1)
	c.lineages.Add(key, lineageEntry{ix: ix, lineage: l, expires: c.opts.Now().Add(c.opts.ClaimTTL)}, int64(len(key.platform)+len(key.scope))+lineageCost(l))
}

// lineageCost estimates the bytes l holds: its entries and claims with
// their strings, which claims fill with names tenants write.
func lineageCost(l Lineage) int64 {
	n := int64(unsafe.Sizeof(lineageEntry{}))
	entry := func(e Entry) {
		n += int64(unsafe.Sizeof(e)) + int64(len(e.ClaimedName)+len(e.Role)+len(e.MovedTag))
		for _, s := range e.Refs {
			n += 16 + int64(len(s))
		}
		for _, s := range e.Evidence {
			n += 16 + int64(len(s))
		}
	}
	for _, e := range l.Chain {
		entry(e)
	}
	if l.Self != nil {
		entry(*l.Self)
	}
	for _, cl := range l.Claims {
		n += int64(unsafe.Sizeof(cl)) + int64(len(cl.Name)+len(cl.Digest)+len(cl.Source)+len(cl.Status)+len(cl.Reason))
	}
	return n
}

// cloneLineage copies the lists of l, so that the cache's lineage is not
// the one the caller that computed it holds.
func cloneLineage(l Lineage) Lineage {
	l.Chain = slices.Clone(l.Chain)
	l.Claims = slices.Clone(l.Claims)
	return l
}
