package lineage

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/empty"

	"github.com/strata-project/strata/webhook/images"
)

// docs/lineage.md, "Decisions": a dated tag still at the old build does not
// make that build current once another tag that named it has moved.
func TestDatedTagAtTheOldBuildDoesNotMakeAMovedBaseCurrent(t *testing.T) {
	t.Parallel()
	w := newWorld(t, images.Options{})
	old := w.build(empty.Image, 1, "linux/amd64")
	oldDigest := w.push("base/debian:12", old, nil)
	w.push("base/debian:12.7", old, nil)
	w.push("shop/billing:1", w.build(old, 2, "linux/amd64"), nil)
	c := w.refreshedCatalog(Options{Images: []CatalogImage{{Ref: "base/debian:12*", Role: "os"}}})
	newDigest := w.push("base/debian:12", w.build(empty.Image, 1, "linux/amd64"), nil)
	if err := c.Refresh(ctx(t)); err != nil {
		t.Fatal(err)
	}
	l := c.Lineage(ctx(t), w.facts("shop/billing:1"), images.Access{})
	if len(l.Chain) != 1 || l.Chain[0].Digest != oldDigest || l.Chain[0].Current || l.Chain[0].CurrentDigest != newDigest {
		t.Errorf("Lineage(app on a build that 12.7 still names and 12 left) = %+v, want %s not current, now %s", l.Chain, oldDigest, newDigest)
	}
}

// docs/lineage.md, "Decisions": when a claimed tag cannot be read now, its
// base's freshness is left as current, even though the tag has moved; the
// claim itself still holds.
func TestClaimedTagThatCannotBeReadNowLeavesTheBaseCurrent(t *testing.T) {
	t.Parallel()
	w := newWorld(t, images.Options{})
	base := w.build(empty.Image, 2, "linux/amd64")
	baseDigest := w.push("vendor/jdk:21", base, nil)
	w.push("shop/billing:1", w.build(base, 1, "linux/amd64"), w.claim("vendor/jdk:21", baseDigest))
	facts := w.facts("shop/billing:1")
	w.push("vendor/jdk:21", w.build(empty.Image, 2, "linux/amd64"), nil) // moved: readable, it would be stale
	w.setFault(func(rw http.ResponseWriter, req *http.Request) bool {
		if strings.HasSuffix(req.URL.Path, "/vendor/jdk/manifests/21") {
			rw.WriteHeader(http.StatusServiceUnavailable)
			return true
		}
		return false
	})
	l := w.catalog(Options{}).Lineage(ctx(t), facts, images.Access{})
	if len(l.Chain) != 1 || l.Chain[0].Digest != baseDigest || !l.Chain[0].Current || l.Chain[0].Verified != "layers" {
		t.Errorf("Lineage(app claiming a tag the registry fails to serve) = %+v, want %s verified by layers and current", l.Chain, baseDigest)
	}
}

// docs/lineage.md, "Decisions": a chain is complete only at a catalog root:
// a root found through a claim alone, or a catalog image of another role,
// leaves it incomplete.
func TestChainIsCompleteOnlyAtACatalogOSRoot(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		catalog []CatalogImage
		want    bool
	}{
		{"claimed root, not in the catalog", nil, false},
		{"claimed root, a catalog runtime", []CatalogImage{{Ref: "base/debian:12", Role: "runtime"}}, false},
		{"claimed root, a catalog os", []CatalogImage{{Ref: "base/debian:12", Role: "os"}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, images.Options{})
			base := w.build(empty.Image, 1, "linux/amd64")
			d := w.push("base/debian:12", base, nil)
			w.push("shop/billing:1", w.build(base, 1, "linux/amd64"), w.claim("base/debian:12", d))
			l := w.refreshedCatalog(Options{Images: tc.catalog}).Lineage(ctx(t), w.facts("shop/billing:1"), images.Access{})
			if len(l.Chain) != 1 || l.Chain[0].Digest != d || l.Complete != tc.want {
				t.Errorf("Lineage(app claiming base/debian:12) = %+v, complete %v; want the chain %s, complete %v", l.Chain, l.Complete, d, tc.want)
			}
		})
	}
}
