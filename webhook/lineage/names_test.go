package lineage

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/strata-project/strata/webhook/images"
)

// TestClaimOfACatalogTagAtAnotherDigestBorrowsNoName: an image built on
// base/os:experimental claims base/os:1 (a catalog os tag) with the
// experimental digest. The claim holds by layers, but the catalog never saw
// base/os:1 point to that digest: the base is known by its digest only, the
// name stays a claim, and it takes neither the tag's name nor its role.
func TestClaimOfACatalogTagAtAnotherDigestBorrowsNoName(t *testing.T) {
	t.Parallel()
	w := newWorld(t, images.Options{})
	w.push("base/os:1", w.build(empty.Image, 1, "linux/amd64"), nil)
	experimental := w.build(empty.Image, 2, "linux/amd64")
	expDigest := w.push("base/os:experimental", experimental, nil)
	w.push("shop/app:1", w.build(experimental, 1, "linux/amd64"), w.claim("base/os:1", expDigest))
	c := w.refreshedCatalog(Options{Images: []CatalogImage{{Ref: "base/os:1", Role: "os"}}})

	l := c.Lineage(ctx(t), w.facts("shop/app:1"), images.Access{})
	if len(l.Claims) != 1 || l.Claims[0].Status != ClaimVerified {
		t.Fatalf("Lineage(app on experimental claiming base/os:1).Claims = %+v, want one verified claim", l.Claims)
	}
	if len(l.Chain) != 1 {
		t.Fatalf("Lineage(app on experimental claiming base/os:1).Chain = %+v, want one entry", l.Chain)
	}
	e := l.Chain[0]
	if e.Digest != expDigest || len(e.Refs) != 0 || e.Role != "" || e.ClaimedName != w.ref("base/os:1") {
		t.Errorf("Lineage(app on experimental claiming base/os:1).Chain[0] = refs %v role %q claimedName %q digest %s, want no refs, no role, claimedName %s, digest %s",
			e.Refs, e.Role, e.ClaimedName, e.Digest, w.ref("base/os:1"), expDigest)
	}
	if l.Complete {
		t.Error("Lineage(app on experimental claiming base/os:1).Complete = true, want false: the root is no known os")
	}
	// The claimed tag points elsewhere: the claim may say the base is stale.
	if e.Current || e.MovedTag != w.ref("base/os:1") {
		t.Errorf("Chain[0] = current %v moved tag %q, want not current, moved tag %s: the claimed tag points to another digest", e.Current, e.MovedTag, w.ref("base/os:1"))
	}
}

// TestClaimOfATagTheCatalogSawAtThatDigestIsNamed: the honest counterpart.
// The catalog saw base/os:1 point to the claimed digest (it has moved on
// since), so the base gets the tag's name and role, and is stale.
func TestClaimOfATagTheCatalogSawAtThatDigestIsNamed(t *testing.T) {
	t.Parallel()
	w := newWorld(t, images.Options{TagTTL: 1})
	old := w.build(empty.Image, 1, "linux/amd64")
	oldDigest := w.push("base/os:1", old, nil)
	runtime := w.build(old, 1, "linux/amd64")
	w.push("shop/app:1", w.build(runtime, 1, "linux/amd64"), w.claim("vendor/runtime:1", w.push("vendor/runtime:1", runtime, w.claim("base/os:1", oldDigest))))
	c := w.refreshedCatalog(Options{Images: []CatalogImage{{Ref: "base/os:1", Role: "os"}}})
	w.push("base/os:1", w.build(empty.Image, 1, "linux/amd64"), nil)
	if err := c.Refresh(ctx(t)); err != nil {
		t.Fatal(err)
	}
	l := c.Lineage(ctx(t), w.facts("shop/app:1"), images.Access{})
	if len(l.Chain) != 2 || !slices.Equal(l.Chain[0].Refs, []string{w.ref("base/os:1")}) || l.Chain[0].Role != "os" || l.Chain[0].Current || !l.Complete {
		t.Errorf("Lineage(app on a runtime on the old base/os:1) = %+v complete %v, want base/os:1 named, os, not current, complete", l.Chain, l.Complete)
	}
	if rt := l.Chain[1]; len(rt.Refs) != 0 || rt.ClaimedName != w.ref("vendor/runtime:1") || rt.Role != "" {
		t.Errorf("Lineage(...).Chain[1] = %+v, want the runtime by digest, claimed as vendor/runtime:1, no role", rt)
	}
}

// TestClaimNamingOnlyADigestGetsNoInventedLatest: a claim whose name has no
// tag (a repository, or repository@digest) names no tag at all. It must not
// become repository:latest, take the role of a catalog repository:latest, or
// be called stale because :latest points elsewhere.
func TestClaimNamingOnlyADigestGetsNoInventedLatest(t *testing.T) {
	t.Parallel()
	w := newWorld(t, images.Options{})
	w.push("base/os:latest", w.build(empty.Image, 1, "linux/amd64"), nil)
	pinned := w.build(empty.Image, 1, "linux/amd64")
	d := w.push("base/os:2025", pinned, nil)
	w.push("shop/bare:1", w.build(pinned, 1, "linux/amd64"), map[string]string{
		images.AnnotationBaseName: w.ref("base/os"), images.AnnotationBaseDigest: d.String(),
	})
	w.push("shop/pinned:1", w.build(pinned, 1, "linux/amd64"), map[string]string{
		images.AnnotationBaseName: w.ref("base/os") + "@" + d.String(),
	})
	c := w.refreshedCatalog(Options{Images: []CatalogImage{{Ref: "base/os:latest", Role: "os"}}})
	for _, app := range []string{"shop/bare:1", "shop/pinned:1"} {
		l := c.Lineage(ctx(t), w.facts(app), images.Access{})
		if len(l.Chain) != 1 || len(l.Claims) != 1 || l.Claims[0].Status != ClaimVerified {
			t.Errorf("Lineage(%s) = chain %+v claims %+v, want one verified claimed base", app, l.Chain, l.Claims)
			continue
		}
		e := l.Chain[0]
		if strings.Contains(e.ClaimedName, ":latest") || slices.ContainsFunc(e.Refs, func(r string) bool { return strings.HasSuffix(r, ":latest") }) {
			t.Errorf("Lineage(%s).Chain[0] = refs %v claimedName %q, want no invented :latest", app, e.Refs, e.ClaimedName)
		}
		if e.ClaimedName != w.ref("base/os") {
			t.Errorf("Lineage(%s).Chain[0].ClaimedName = %q, want the repository %s", app, e.ClaimedName, w.ref("base/os"))
		}
		if e.Role != "" || !e.Current || l.Complete {
			t.Errorf("Lineage(%s).Chain[0] = role %q current %v (complete %v), want no role, current, incomplete: no tag was claimed", app, e.Role, e.Current, l.Complete)
		}
	}
}

// TestClaimedNameWithARegistryPortIsNoTag: the colon of a registry port is
// not a tag; a claimed name gets a tag only when it spells one.
func TestClaimedNameWithARegistryPortIsNoTag(t *testing.T) {
	t.Parallel()
	d := "sha256:" + strings.Repeat("a", 64)
	for _, tc := range []struct{ written, name, tag string }{
		{"localhost:5000/base/os", "localhost:5000/base/os", ""},
		{"localhost:5000/base/os@" + d, "localhost:5000/base/os", ""},
		{"localhost:5000/base/os:1", "localhost:5000/base/os:1", "localhost:5000/base/os:1"},
		{"localhost:5000/base/os:1@" + d, "localhost:5000/base/os:1", "localhost:5000/base/os:1"},
		{"debian", "docker.io/library/debian", ""},
		{"debian:12", "docker.io/library/debian:12", "docker.io/library/debian:12"},
	} {
		ref, err := images.ParseReference(tc.written)
		if err != nil {
			t.Fatal(err)
		}
		if name, tag := namedBy(tc.written, ref); name != tc.name || tag != tc.tag {
			t.Errorf("namedBy(%q) = %q, %q; want %q, %q", tc.written, name, tag, tc.name, tc.tag)
		}
	}
}

// TestNoClaimEverNamesABaseTheCatalogDidNotSee builds random families whose
// images claim random catalog tags (and random other names) for their real
// bases, some seen by the catalog, some not, and checks the class: every
// name in a chain entry's refs, and its role, come from the catalog's own
// record of that digest.
func TestNoClaimEverNamesABaseTheCatalogDidNotSee(t *testing.T) {
	t.Parallel()
	w := newWorld(t, images.Options{})
	rng := rand.New(rand.NewPCG(3, 4))
	var catalogImages []CatalogImage
	type base struct {
		img    v1.Image
		digest images.Digest
	}
	var bases []base
	var catalogTags []string
	for i := range 6 {
		parent := empty.Image
		if len(bases) > 0 && rng.IntN(2) == 0 {
			parent = bases[rng.IntN(len(bases))].img
		}
		img := w.build(parent, 1+rng.IntN(2), "linux/amd64")
		repoTag := fmt.Sprintf("base/b%d:1", i)
		d := w.push(repoTag, img, nil)
		bases = append(bases, base{img, d})
		if i%3 != 2 { // b2 and b5 are not in the catalog
			catalogImages = append(catalogImages, CatalogImage{Ref: repoTag, Role: []string{"os", "runtime"}[rng.IntN(2)]})
			catalogTags = append(catalogTags, repoTag)
		}
	}
	c := w.refreshedCatalog(Options{Images: catalogImages})
	ix := c.current.Load()
	for i := range 30 {
		b := bases[rng.IntN(len(bases))]
		if i%2 == 0 { // half the apps are built on a base the catalog never saw
			b = bases[2+3*rng.IntN(2)]
		}
		// The claim names a tag at a digest that really is the base (so it
		// verifies): a catalog tag, the base's own tag, or no tag at all.
		var claimed string
		switch rng.IntN(3) {
		case 0:
			claimed = catalogTags[rng.IntN(len(catalogTags))]
		case 1:
			claimed = fmt.Sprintf("base/b%d:1", slices.IndexFunc(bases, func(x base) bool { return x.digest == b.digest }))
		default:
			claimed = fmt.Sprintf("base/b%d", rng.IntN(len(bases)))
		}
		repo := claimed
		if j := strings.LastIndex(repo, ":"); j > strings.LastIndex(repo, "/") {
			repo = repo[:j]
		}
		// Make the claimed digest readable under the claimed repository, as
		// an attacker who can push there would.
		w.push(repo+":"+fmt.Sprintf("planted-%d", i), b.img, nil)
		app := fmt.Sprintf("shop/app:%d", i)
		w.push(app, w.build(b.img, 1, "linux/amd64"), map[string]string{
			images.AnnotationBaseName: w.ref(claimed), images.AnnotationBaseDigest: b.digest.String(),
		})
		l := c.Lineage(ctx(t), w.facts(app), images.Access{})
		if len(l.Claims) != 1 || l.Claims[0].Status != ClaimVerified {
			t.Fatalf("Lineage(%s claiming %s) claims = %+v, want one verified claim", app, claimed, l.Claims)
		}
		for _, e := range l.Chain {
			n, seen := ix.byDigest[e.Digest]
			for _, ref := range e.Refs {
				if !seen || !slices.Contains(n.names, ref) {
					t.Errorf("Lineage(%s claiming %s): entry %s has ref %s, which the catalog never saw point to it", app, claimed, e.Digest, ref)
				}
			}
			wantRole := "" // a digest the catalog never saw has no role
			if seen {
				wantRole = n.role
			}
			if e.Role != wantRole {
				t.Errorf("Lineage(%s claiming %s): entry %s has role %q, want the catalog's %q", app, claimed, e.Digest, e.Role, wantRole)
			}
			if strings.HasSuffix(e.ClaimedName, ":latest") {
				t.Errorf("Lineage(%s claiming %s): claimed name %q has an invented :latest", app, claimed, e.ClaimedName)
			}
		}
	}
}

// TestClaimOfAConfigOnlyRebuildDoesNotRenameTheCatalogImage: the claimed
// base has the very layers of a catalog image under another digest (only
// its config differs). The level stays what the catalog saw, under the
// catalog's digest and names; the claim's name is not put in front of them.
func TestClaimOfAConfigOnlyRebuildDoesNotRenameTheCatalogImage(t *testing.T) {
	t.Parallel()
	w := newWorld(t, images.Options{})
	debian := w.build(empty.Image, 1, "linux/amd64")
	debianDigest := w.push("base/debian:12", debian, nil)
	rebuilt, err := mutate.Config(debian, v1.Config{Env: []string{"REBUILT=1"}})
	if err != nil {
		t.Fatal(err)
	}
	rebuiltDigest := w.push("vendor/os:1", rebuilt, nil)
	if rebuiltDigest == debianDigest {
		t.Fatal("the config-only rebuild has the catalog image's digest")
	}
	w.push("shop/app:1", w.build(rebuilt, 1, "linux/amd64"), w.claim("vendor/os:1", rebuiltDigest))
	c := w.refreshedCatalog(Options{Images: []CatalogImage{{Ref: "base/debian:12", Role: "os"}}})
	l := c.Lineage(ctx(t), w.facts("shop/app:1"), images.Access{})
	if len(l.Chain) != 1 || len(l.Claims) != 1 || l.Claims[0].Status != ClaimVerified {
		t.Fatalf("Lineage(app on a config-only rebuild) = chain %+v claims %+v, want one level and a verified claim", l.Chain, l.Claims)
	}
	if e := l.Chain[0]; e.Digest != debianDigest || !slices.Equal(e.Refs, []string{w.ref("base/debian:12")}) || e.Role != "os" {
		t.Errorf("Lineage(app on a config-only rebuild).Chain[0] = digest %s refs %v role %q, want the catalog's %s, [base/debian:12], os", e.Digest, e.Refs, e.Role, debianDigest)
	}
}

// With a tag-pattern catalog, a base is named by its floating tag (ubi:9)
// and its dated one (ubi:9.4-20260901). When ubi:9 moves to a patched
// build, the dated tag has not moved: the stale entry must name ubi:9 as the
// tag that moved, never the dated one (issue 18 item 4).
func TestStaleBaseNamesTheTagThatMovedWithPatternCatalogs(t *testing.T) {
	t.Parallel()
	w := newWorld(t, images.Options{})
	old := w.build(empty.Image, 1, "linux/amd64")
	w.push("base/ubi:9.4-20260901", old, nil)
	d := w.push("base/ubi:9", old, nil)
	w.push("shop/app:1", w.build(old, 1, "linux/amd64"), w.claim("base/ubi:9", d))
	c := w.refreshedCatalog(Options{Images: []CatalogImage{{Ref: "base/ubi:9*", Role: "os"}}})
	patched := w.push("base/ubi:9", w.build(empty.Image, 1, "linux/amd64"), nil)
	w.push("base/ubi:9.5-20261101", w.build(empty.Image, 1, "linux/amd64"), nil)
	if err := c.Refresh(ctx(t)); err != nil {
		t.Fatal(err)
	}
	l := c.Lineage(ctx(t), w.facts("shop/app:1"), images.Access{})
	if len(l.Chain) != 1 {
		t.Fatalf("chain = %+v, want the one base", l.Chain)
	}
	e := l.Chain[0]
	if e.Current || e.MovedTag != w.ref("base/ubi:9") || e.CurrentDigest != patched {
		t.Errorf("base entry: current %t, moved tag %q, now %s; want not current, %s moved to %s (refs %v)", e.Current, e.MovedTag, e.CurrentDigest, w.ref("base/ubi:9"), patched, e.Refs)
	}
}
