package lineage

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/strata-project/strata/webhook/images"
	"github.com/strata-project/strata/webhook/internal/uniq"
)

// Lineage returns what the platform image f is built on: the catalog
// images its layers start with, and the bases it claims, each claim checked
// against the layers and followed while it holds. access is used to read
// claimed bases, with the same credentials as the image itself. The
// lineage is shared with the cache and every caller given it since: it is
// read, never changed.
func (c *Catalog) Lineage(ctx context.Context, f *images.Facts, access images.Access) Lineage {
	ix := c.current.Load()
	key := lineageKey{digest: f.Digest, platform: f.Platform, scope: access.Scope}
	if l, ok := c.cached(ix, key); ok {
		return l
	}
	l := c.lineage(ctx, ix, f, access)
	c.remember(ix, key, l)
	return l
}

func (c *Catalog) lineage(ctx context.Context, ix *index, f *images.Facts, access images.Access) Lineage {
	found, self := ix.ancestors(f.Digest, f.DiffIDs)
	claims, bases := c.followClaims(ctx, f, access)

	// One chain entry per prefix length: images that add no layer to their
	// parent cannot be told apart by layers, and are one level.
	byLen := map[int]*Entry{}
	for _, n := range found {
		e, ok := byLen[len(n.diffIDs)]
		if !ok {
			byLen[len(n.diffIDs)] = ix.entry(n, EvidenceLayers)
			continue
		}
		e.Refs = uniq.Append(e.Refs, n.names...)
	}
	for _, b := range bases {
		e, ok := byLen[b.layers]
		switch {
		case !ok:
			byLen[b.layers] = ix.sourcedEntry(b, b.evidence...)
		case e.Digest == b.digest:
			e.Evidence = uniq.Append(e.Evidence, b.evidence...)
			ix.addSourcedName(e, b)
		default:
			// Same layers as a catalog image, another digest (a base that
			// changed only its config): the level stays what the catalog
			// saw, with its names, since the claim's name never was the
			// catalog image's; the claim is listed under Claims, and its
			// tag may still say the level is stale.
			ix.markSourcedTagMoved(e, b)
		}
	}

	out := Lineage{Claims: claims, Chain: make([]Entry, 0, len(byLen))}
	for _, e := range byLen {
		out.Chain = append(out.Chain, withSources(*e))
	}
	slices.SortFunc(out.Chain, func(a, b Entry) int { return cmp.Compare(a.Layers, b.Layers) })
	if self != nil {
		e := withSources(*ix.entry(self, EvidenceLayers))
		out.Self = &e
	}
	out.Depth = len(out.Chain) + 1
	switch {
	case len(out.Chain) > 0:
		out.Complete = out.Chain[0].Role == "os"
	case out.Self != nil:
		out.Complete = out.Self.Role == "os"
	}
	return out
}

func (ix *index) entry(n *node, evidence ...string) *Entry {
	current, moved, now := ix.isCurrent(n)
	return &Entry{
		Refs:          slices.Clone(n.names),
		Digest:        n.digest,
		Role:          n.role,
		Layers:        len(n.diffIDs),
		Evidence:      evidence,
		Current:       current,
		MovedTag:      moved,
		CurrentDigest: now,
	}
}

// withSources says, from its evidence, who named e and how it was checked:
// every source's ancestor is verified by its layers.
func withSources(e Entry) Entry {
	e.Sources = make([]string, 0, len(e.Evidence))
	for _, ev := range e.Evidence {
		source := ev
		if ev == EvidenceLayers {
			source = SourceCatalog
		}
		e.Sources = uniq.Append(e.Sources, source)
	}
	e.Verified = VerifiedLayers
	return e
}

// followClaims checks the base claims of f (its annotations, labels and
// build provenance), then those of the verified base, and so on, up to
// MaxClaimDepth and never through the same image twice. Of several verified
// bases (a provenance lists a base and an image built on it) the one with
// the most layers is the parent.
func (c *Catalog) followClaims(ctx context.Context, f *images.Facts, access images.Access) ([]Claim, []sourcedBase) {
	var claims []Claim
	var bases []sourcedBase
	visited := map[images.Digest]bool{f.Digest: true}
	cur := f
	for range c.opts.MaxClaimDepth {
		var next *images.Facts
		var found sourcedBase
		var evidence []string
		level := append(claimsOf(cur), provenanceClaims(cur)...)
		verified := c.verifyAll(ctx, cur, level, access)
		for i, cl := range level {
			if cl.Status != ClaimVerified {
				claims = append(claims, cl)
				continue
			}
			base, cb := verified[i].facts, verified[i].base
			if base != nil && visited[base.Digest] {
				cl.Status, cl.Reason = ClaimMismatch, fmt.Sprintf("%s claims a base that is already in its own chain (a cycle)", cur.Ref)
				base = nil
			}
			claims = append(claims, cl)
			switch {
			case base == nil:
			case next == nil || len(base.DiffIDs) > len(next.DiffIDs):
				next, found, evidence = base, cb, []string{evidenceOf(cl.Source)}
			case base.Digest == next.Digest:
				evidence = uniq.Append(evidence, evidenceOf(cl.Source))
			}
		}
		if next == nil {
			break
		}
		found.evidence = evidence
		visited[next.Digest] = true
		bases = append(bases, found)
		cur = next
	}
	return claims, bases
}

// verifiedBase is what verify found for one claim.
type verifiedBase struct {
	facts *images.Facts
	base  sourcedBase
}

// verifyAll verifies the claims of one image at once, each reading its
// candidate in parallel: a provenance lists the base with the builder
// images, and reading them one after another would cost a round trip each.
// It sets each claim's status; a claim already decided is left as it is.
func (c *Catalog) verifyAll(ctx context.Context, claimant *images.Facts, claims []Claim, access images.Access) []verifiedBase {
	out := make([]verifiedBase, len(claims))
	var wg sync.WaitGroup
	for i := range claims {
		if claims[i].Status != "" {
			continue
		}
		wg.Go(func() {
			out[i].facts, out[i].base = c.verify(ctx, claimant, &claims[i], access)
		})
	}
	wg.Wait()
	return out
}

// evidenceOf is the evidence a verified claim of source gives.
func evidenceOf(source string) string {
	if source == SourceProvenance {
		return EvidenceProvenance
	}
	return EvidenceAnnotation
}

// claimsOf reads base claims from manifest annotations, then from config
// labels when they say something the annotations do not.
func claimsOf(f *images.Facts) []Claim {
	var out []Claim
	for _, src := range []struct {
		source string
		kv     images.Strings
	}{{"annotation", f.Annotations}, {"label", f.Config.Labels}} {
		name, digest := src.kv.Get(images.AnnotationBaseName), src.kv.Get(images.AnnotationBaseDigest)
		if name == "" && digest == "" {
			continue
		}
		if slices.ContainsFunc(out, func(c Claim) bool { return c.Name == name && c.Digest == digest }) {
			continue
		}
		out = append(out, Claim{By: f.Digest, Name: name, Digest: digest, Source: src.source})
	}
	return out
}

// verify reads the claimed base (pinned to the claimed digest when there is
// one) for the claimant's platform and checks that its layers are a prefix
// of the claimant's. It sets cl's status and returns the base when verified.
// A claim of tag@digest also says whether the tag has moved on since; a
// claim that names no tag says nothing about freshness.
func (c *Catalog) verify(ctx context.Context, claimant *images.Facts, cl *Claim, access images.Access) (*images.Facts, sourcedBase) {
	var none sourcedBase
	if cl.Name == "" {
		cl.Status, cl.Reason = ClaimUnreachable, "the claim has a base digest but no base name (org.opencontainers.image.base.name) to fetch it from"
		return nil, none
	}
	ref, err := images.ParseReference(cl.Name)
	if err != nil {
		cl.Status, cl.Reason = ClaimUnreachable, err.Error()
		return nil, none
	}
	target := ref.String()
	if cl.Digest != "" {
		d, err := images.ParseDigest(cl.Digest)
		if err != nil {
			cl.Status, cl.Reason = ClaimUnreachable, err.Error()
			return nil, none
		}
		target = ref.WithDigest(d).String()
	}
	img, err := c.resolver.Resolve(ctx, target, access)
	if err != nil {
		cl.Status, cl.Reason = ClaimUnreachable, err.Error()
		return nil, none
	}
	base := samePlatform(img, claimant.Platform)
	if base == nil {
		cl.Status, cl.Reason = ClaimMismatch, fmt.Sprintf("%s has no %s image", target, claimant.Platform)
		return nil, none
	}
	if base.Digest == claimant.Digest || len(base.DiffIDs) > len(claimant.DiffIDs) || !slices.Equal(base.DiffIDs, claimant.DiffIDs[:len(base.DiffIDs)]) {
		cl.Status, cl.Reason = ClaimMismatch, fmt.Sprintf("the layers of %s are not the first layers of this image", target)
		if cl.Source == SourceProvenance {
			// Every image a build used is listed, builder stages included:
			// only the base's layers start the image's.
			cl.Reason = "used in the build, not a base: " + cl.Reason
		}
		return nil, none
	}
	cl.Status = ClaimVerified
	found := sourcedBase{digest: base.Digest, platform: base.Platform, layers: len(base.DiffIDs)}
	found.name, found.tag = namedBy(cl.Name, ref)
	if cl.Digest != "" && !ref.ByDigest() && found.tag != "" {
		// Unknown if the tag cannot be read now: freshness is advisory, and
		// the claim itself held.
		if now, err := c.resolver.Resolve(ctx, ref.String(), access); err == nil {
			if f := samePlatform(now, claimant.Platform); f != nil && f.Digest != base.Digest {
				found.now = f.Digest
			}
		}
	}
	return base, found
}

// samePlatform picks the claimed base's image for platform; a single-platform
// base is taken as it is and judged by its layers.
func samePlatform(img *images.Image, platform string) *images.Facts {
	for _, f := range img.Platforms {
		if f.Platform == platform {
			return f
		}
	}
	if len(img.Platforms) == 1 {
		return img.Platforms[0]
	}
	return nil
}
