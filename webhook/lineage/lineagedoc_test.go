package lineage

import (
	"fmt"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"

	"github.com/strata-project/strata/webhook/images"
)

// docs/lineage.md, "Base claims": verified claims are followed to the
// base's own claims up to 8 levels. Ten images each built on the one before
// and claiming it: the lineage of the last follows 8 claims, and the chain
// holds the 8 bases they verified, not the two below.
func TestClaimsAreFollowedUpToEightLevels(t *testing.T) {
	t.Parallel()
	const levels = 8 // what docs/lineage.md states
	w := newWorld(t, images.Options{Platforms: []string{"linux/amd64"}})
	var img v1.Image = empty.Image
	var digests []images.Digest
	var claims map[string]string
	for i := range levels + 2 {
		img = w.build(img, 1, "linux/amd64")
		repoTag := fmt.Sprintf("base/level%d:1", i)
		digests = append(digests, w.push(repoTag, img, claims))
		claims = w.claim(repoTag, digests[i])
	}
	c := w.catalog(Options{})
	l := c.Lineage(ctx(t), w.facts(fmt.Sprintf("base/level%d:1", levels+1)), images.Access{})
	if len(l.Claims) != levels {
		t.Errorf("Lineage(the 10th image) followed %d claims, want %d", len(l.Claims), levels)
	}
	if len(l.Chain) != levels || l.Chain[0].Digest != digests[1] || l.Chain[levels-1].Digest != digests[levels] {
		t.Errorf("Lineage(the 10th image).Chain = %+v, want the %d images below it, from the 2nd image up", l.Chain, levels)
	}
	for i, cl := range l.Claims {
		if cl.Status != ClaimVerified {
			t.Errorf("claim %d (%s) = %s %q, want verified", i, cl.Name, cl.Status, cl.Reason)
		}
	}
}

// docs/lineage.md, "The catalog": an entry may be a digest reference; the
// image it pins is known with the entry's role.
func TestCatalogEntryMayBeADigestReference(t *testing.T) {
	t.Parallel()
	w := newWorld(t, images.Options{})
	debian := w.build(empty.Image, 1, "linux/amd64")
	d := w.push("base/debian:12", debian, nil)
	w.push("shop/web:1", w.build(debian, 1, "linux/amd64"), nil)
	c := w.refreshedCatalog(Options{Images: []CatalogImage{{Ref: "base/debian@" + d.String(), Role: "os"}}})
	l := c.Lineage(ctx(t), w.facts("shop/web:1"), images.Access{})
	if len(l.Chain) != 1 || l.Chain[0].Digest != d || l.Chain[0].Role != "os" || !l.Complete {
		t.Errorf("Lineage(app on the image a digest entry pins) = %+v, want it, role os, complete", l)
	}
}
