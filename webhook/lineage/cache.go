package lineage

import (
	"slices"
	"time"

	"github.com/strata-project/strata/webhook/images"
)

// lineageCacheSize bounds the lineages remembered.
const lineageCacheSize = 4096

// lineageKey identifies a computed lineage: claims are read with the
// caller's credentials, so the scope is part of it.
type lineageKey struct {
	digest   images.Digest
	platform string
	scope    string
}

type lineageEntry struct {
	ix      *index // the catalog state it was computed against
	lineage Lineage
	expires time.Time
}

// cached returns a lineage computed against the same catalog state within
// ClaimTTL: base claims and the tags they name can move, the catalog swaps
// its index when it learns anything.
func (c *Catalog) cached(ix *index, key lineageKey) (Lineage, bool) {
	c.cacheMu.Lock()
	e, ok := c.lineages[key]
	c.cacheMu.Unlock()
	if !ok || e.ix != ix || c.opts.Now().After(e.expires) {
		return Lineage{}, false
	}
	return cloneLineage(e.lineage), true
}

func (c *Catalog) remember(ix *index, key lineageKey, l Lineage) {
	// A claim that could not be read may be a passing registry failure:
	// read it again next time rather than for ClaimTTL.
	if slices.ContainsFunc(l.Claims, func(cl Claim) bool { return cl.Status == ClaimUnreachable }) {
		return
	}
	c.cacheMu.Lock()
	defer c.cacheMu.Unlock()
	if len(c.lineages) >= lineageCacheSize {
		clear(c.lineages) // the working set refills within a few admissions
	}
	c.lineages[key] = lineageEntry{ix: ix, lineage: cloneLineage(l), expires: c.opts.Now().Add(c.opts.ClaimTTL)}
}

// cloneLineage copies the slices a caller might change.
func cloneLineage(l Lineage) Lineage {
	l.Chain = slices.Clone(l.Chain)
	l.Claims = slices.Clone(l.Claims)
	return l
}
