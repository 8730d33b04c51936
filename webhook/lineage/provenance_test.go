package lineage

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/strata-project/strata/webhook/images"
	"github.com/strata-project/strata/webhook/images/provenancetest"
)

// pushBuild pushes img as repoTag in an index, with BuildKit's provenance
// listing materials when there are any, and returns the index's digest.
func (w *world) pushBuild(repoTag string, img v1.Image, p *provenancetest.Provenance) images.Digest {
	w.t.Helper()
	return w.write(repoTag, provenancetest.Index(w.t, provenancetest.Build{Image: img, Provenance: p}))
}

// material is the provenance entry BuildKit writes for an image the build
// resolved from repoTag to d (an index digest when the tag names an index).
func (w *world) material(repoTag string, d images.Digest) provenancetest.Material {
	return provenancetest.Material{URI: provenancetest.PURL(w.t, w.ref(repoTag)+"@"+d.String(), "linux/amd64"), Digest: d.String()}
}

// TestProvenanceGivesTheChainOfABaseNotInTheCatalog: the catalog knows only
// debian; the app's base, vendor/jdk, is in no catalog and the app carries
// no annotation. Its provenance (a two-stage build, the builder image
// listed first) names the builder and jdk; jdk's own provenance names
// debian. The chain is debian > jdk > app, complete, each edge from
// provenance verified by layers; the builder is recorded as used in the
// build, not a base.
func TestProvenanceGivesTheChainOfABaseNotInTheCatalog(t *testing.T) {
	t.Parallel()
	w := newWorld(t, images.Options{Platforms: []string{"linux/amd64"}})
	debian := w.build(empty.Image, 1, "linux/amd64")
	debianDigest := w.push("base/debian:12", debian, nil)
	golang := w.build(empty.Image, 2, "linux/amd64")
	golangIndex := w.pushBuild("vendor/golang:1.22", golang, nil)
	jdk := w.build(debian, 2, "linux/amd64")
	jdkIndex := w.pushBuild("vendor/jdk:21", jdk, &provenancetest.Provenance{
		Materials: []provenancetest.Material{w.material("base/debian:12", debianDigest)},
	})
	w.pushBuild("shop/app:1", w.build(jdk, 1, "linux/amd64"), &provenancetest.Provenance{
		StatementType: provenancetest.StatementV01, PredicateType: provenancetest.PredicateSLSA02,
		Materials: []provenancetest.Material{w.material("vendor/golang:1.22", golangIndex), w.material("vendor/jdk:21", jdkIndex)},
	})
	c := w.refreshedCatalog(Options{Images: []CatalogImage{{Ref: "base/debian:12", Role: "os"}}})

	l := c.Lineage(ctx(t), w.facts("shop/app:1"), images.Access{})
	if got := chainRoles(w, l); got != "os:base/debian:12 > :claimed vendor/jdk:21" || l.Depth != 3 || !l.Complete {
		t.Fatalf("Lineage(app) = %q depth %d complete %v, want os:base/debian:12 > :claimed vendor/jdk:21, depth 3, complete; claims %+v", got, l.Depth, l.Complete, l.Claims)
	}
	root, base := l.Chain[0], l.Chain[1]
	if !slices.Equal(root.Sources, []string{SourceCatalog, SourceProvenance}) || root.Verified != VerifiedLayers {
		t.Errorf("debian: sources %v verified %q, want [catalog provenance] layers", root.Sources, root.Verified)
	}
	if !slices.Equal(base.Sources, []string{SourceProvenance}) || base.Verified != VerifiedLayers || base.Digest != digestOf(t, jdk) || len(base.Refs) != 0 {
		t.Errorf("jdk: %+v, want sources [provenance], verified layers, digest %s, no refs (a name only the provenance gives is never a ref)", base, digestOf(t, jdk))
	}
	var builder, jdkClaim *Claim
	for i, cl := range l.Claims {
		switch {
		case strings.Contains(cl.Name, "vendor/golang"):
			builder = &l.Claims[i]
		case strings.Contains(cl.Name, "vendor/jdk"):
			jdkClaim = &l.Claims[i]
		}
	}
	if builder == nil || builder.Source != SourceProvenance || builder.Status != ClaimMismatch || !strings.Contains(builder.Reason, "used in the build, not a base") {
		t.Errorf("builder claim = %+v, want provenance, mismatch, used in the build, not a base", builder)
	}
	if jdkClaim == nil || jdkClaim.Status != ClaimVerified || jdkClaim.Digest != jdkIndex.String() {
		t.Errorf("jdk claim = %+v, want verified at %s", jdkClaim, jdkIndex)
	}
}

// TestForgedProvenanceNamingAnApprovedBaseIsAMismatch: an image whose
// provenance names the catalog's debian, which its layers do not start
// with, gets a mismatch and no chain: the name and digest it asserts never
// enter the lineage.
func TestForgedProvenanceNamingAnApprovedBaseIsAMismatch(t *testing.T) {
	t.Parallel()
	w := newWorld(t, images.Options{Platforms: []string{"linux/amd64"}})
	debianDigest := w.push("base/debian:12", w.build(empty.Image, 1, "linux/amd64"), nil)
	w.pushBuild("shop/forged:1", w.build(empty.Image, 2, "linux/amd64"), &provenancetest.Provenance{
		Materials: []provenancetest.Material{w.material("base/debian:12", debianDigest)},
	})
	c := w.refreshedCatalog(Options{Images: []CatalogImage{{Ref: "base/debian:12", Role: "os"}}})
	l := c.Lineage(ctx(t), w.facts("shop/forged:1"), images.Access{})
	if len(l.Chain) != 0 || l.Complete {
		t.Errorf("Lineage(forged).Chain = %+v, want empty, incomplete", l.Chain)
	}
	if len(l.Claims) != 1 || l.Claims[0].Source != SourceProvenance || l.Claims[0].Status != ClaimMismatch {
		t.Errorf("Lineage(forged).Claims = %+v, want one provenance claim, mismatch", l.Claims)
	}
}

// TestProvenanceNamingABaseOutsideTheAllowListIsNotFetched: the candidate is
// refused before any request, and the claim says why.
func TestProvenanceNamingABaseOutsideTheAllowListIsNotFetched(t *testing.T) {
	t.Parallel()
	w := newWorld(t, images.Options{Allow: []string{"127.0.0.1:1"}}) // the test registry is not allowed
	c := w.catalog(Options{})
	app := &images.Facts{Digest: images.Digest{1}, Platform: "linux/amd64", DiffIDs: []images.Digest{{2}},
		Provenance: &images.Provenance{Materials: []images.Material{{
			URI:    "pkg:docker/" + w.host + "/base/debian@12?platform=linux%2Famd64",
			Digest: "sha256:" + strings.Repeat("a", 64),
		}}}}
	l := c.Lineage(ctx(t), app, images.Access{})
	if len(l.Claims) != 1 || l.Claims[0].Source != SourceProvenance || l.Claims[0].Status != ClaimUnreachable || !strings.Contains(l.Claims[0].Reason, "not configured to reach") {
		t.Errorf("Lineage(provenance outside registry.allow).Claims = %+v, want unreachable, not fetched", l.Claims)
	}
	if n := w.gets.Load() + w.heads.Load(); n != 0 {
		t.Errorf("a provenance base outside registry.allow made %d requests, want 0", n)
	}
}

// TestDockerOfficialImageBaseAnnotationsAreVerified: Docker Official Images
// name their base in short form (debian:bookworm-slim, Docker Hub's
// library/debian) and give the base's per-platform manifest digest, or its
// index's; on the image manifest and on its index descriptor. Both digests
// verify. Docker Hub is this test's registry, reached through Hosts.
func TestDockerOfficialImageBaseAnnotationsAreVerified(t *testing.T) {
	t.Parallel()
	hub := newWorld(t, images.Options{})
	w := hub
	r, err := images.NewResolver(images.Options{
		Platforms: []string{"linux/amd64", "linux/arm64"},
		Hosts:     map[string]string{"index.docker.io": hub.host},
		Insecure:  []string{"docker.io", "index.docker.io"},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	amd, arm := w.build(empty.Image, 1, "linux/amd64"), w.build(empty.Image, 1, "linux/arm64")
	baseIndex := hub.pushIndex("library/debian:bookworm-slim", amd, arm)
	for _, tc := range []struct {
		name   string
		digest func(platformBase v1.Image) images.Digest
	}{
		{"per-platform base digest", func(b v1.Image) images.Digest { return digestOf(t, b) }},
		{"index base digest", func(v1.Image) images.Digest { return baseIndex }},
	} {
		var builds []provenancetest.Build
		for _, b := range []v1.Image{amd, arm} {
			cf, _ := b.ConfigFile()
			claim := map[string]string{images.AnnotationBaseName: "debian:bookworm-slim", images.AnnotationBaseDigest: tc.digest(b).String()}
			img := w.build(b, 2, cf.OS+"/"+cf.Architecture)
			builds = append(builds, provenancetest.Build{Image: mutate.Annotations(img, claim).(v1.Image), Annotations: claim})
		}
		hub.write("library/nginx:doi", provenancetest.Index(t, builds...))
		c, err := NewCatalog(r, r, Options{})
		if err != nil {
			t.Fatal(err)
		}
		img, err := r.Resolve(ctx(t), "nginx:doi", images.Access{})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		bases := map[string]images.Digest{"linux/amd64": digestOf(t, amd), "linux/arm64": digestOf(t, arm)}
		if len(img.Platforms) != 2 {
			t.Fatalf("%s: %d platforms resolved, want 2", tc.name, len(img.Platforms))
		}
		for _, f := range img.Platforms {
			l := c.Lineage(ctx(t), f, images.Access{})
			want := bases[f.Platform]
			if len(l.Chain) != 1 || l.Chain[0].Digest != want || l.Chain[0].ClaimedName != "docker.io/library/debian:bookworm-slim" || len(l.Claims) != 1 || l.Claims[0].Status != ClaimVerified {
				t.Errorf("%s, %s: chain %+v claims %+v, want debian %s verified, claimed as docker.io/library/debian:bookworm-slim", tc.name, f.Platform, l.Chain, l.Claims, want)
			}
		}
	}
}

// TestProvenanceBaseVerificationIsPaidOnce measures what verifying a base
// found through provenance costs: the first image built on it pays for
// reading the base (and the images its provenance lists); a second image
// built on it pays nothing more, the base's facts being cached by digest.
func TestProvenanceBaseVerificationIsPaidOnce(t *testing.T) {
	t.Parallel()
	w := newWorld(t, images.Options{Platforms: []string{"linux/amd64"}})
	golang := w.build(empty.Image, 2, "linux/amd64")
	golangIndex := w.pushBuild("vendor/golang:1.22", golang, nil)
	jdk := w.build(empty.Image, 2, "linux/amd64")
	jdkIndex := w.pushBuild("vendor/jdk:21", jdk, nil)
	materials := []provenancetest.Material{w.material("vendor/golang:1.22", golangIndex), w.material("vendor/jdk:21", jdkIndex)}
	w.pushBuild("shop/one:1", w.build(jdk, 1, "linux/amd64"), &provenancetest.Provenance{Materials: materials})
	w.pushBuild("shop/two:1", w.build(jdk, 1, "linux/amd64"), &provenancetest.Provenance{Materials: materials})
	c := w.catalog(Options{})
	requests := func() int64 { return w.gets.Load() + w.heads.Load() + w.blobs.Load() }

	one, two := w.facts("shop/one:1"), w.facts("shop/two:1")
	before := requests()
	if l := c.Lineage(ctx(t), one, images.Access{}); len(l.Chain) != 1 || l.Chain[0].Digest != digestOf(t, jdk) {
		t.Fatalf("Lineage(one).Chain = %+v, want jdk", l.Chain)
	}
	first := requests() - before
	before = requests()
	if l := c.Lineage(ctx(t), two, images.Access{}); len(l.Chain) != 1 || l.Chain[0].Digest != digestOf(t, jdk) {
		t.Fatalf("Lineage(two).Chain = %+v, want jdk", l.Chain)
	}
	second := requests() - before
	t.Logf("verifying a provenance base not seen before (and the builder image listed with it): %d requests; the same base for a second image: %d", first, second)
	if first == 0 || second != 0 {
		t.Errorf("verification cost %d requests, then %d for a second image on the same base; want some, then 0", first, second)
	}
}

// TestProvenanceListingNineImagesChecksTheFirstEight: a build's provenance
// listing more images than maxProvenanceCandidates (8) costs 8 fetches, not
// one per listed image. The 9th, here the image's real base, is recorded
// unchecked with the reason and never requested (docs/lineage.md).
func TestProvenanceListingNineImagesChecksTheFirstEight(t *testing.T) {
	t.Parallel()
	const checked = 8 // what docs/lineage.md states
	w := newWorld(t, images.Options{Platforms: []string{"linux/amd64"}})
	var materials []provenancetest.Material
	var last v1.Image
	for i := range checked + 1 {
		last = w.build(empty.Image, 1, "linux/amd64")
		repoTag := fmt.Sprintf("vendor/stage%d:1", i)
		materials = append(materials, w.material(repoTag, w.pushBuild(repoTag, last, nil)))
	}
	w.pushBuild("shop/app:1", w.build(last, 1, "linux/amd64"), &provenancetest.Provenance{Materials: materials})
	c := w.catalog(Options{})
	app := w.facts("shop/app:1")
	var ninth atomic.Int64
	w.setFault(func(_ http.ResponseWriter, req *http.Request) bool {
		if strings.Contains(req.URL.Path, fmt.Sprintf("/vendor/stage%d/", checked)) {
			ninth.Add(1)
		}
		return false
	})

	l := c.Lineage(ctx(t), app, images.Access{})
	if len(l.Claims) != checked+1 {
		t.Fatalf("Lineage(app).Claims = %+v, want %d provenance claims", l.Claims, checked+1)
	}
	for i, cl := range l.Claims[:checked] {
		if cl.Status != ClaimMismatch {
			t.Errorf("claim %d (%s) = %s %q, want checked: mismatch, used in the build", i, cl.Name, cl.Status, cl.Reason)
		}
	}
	if cl := l.Claims[checked]; cl.Status != ClaimUnreachable || !strings.Contains(cl.Reason, "first 8 images") {
		t.Errorf("9th claim = %s %q, want unreachable, not checked past the first 8 images", cl.Status, cl.Reason)
	}
	if n := ninth.Load(); n != 0 {
		t.Errorf("the 9th image a provenance lists was requested %d times, want 0", n)
	}
	if len(l.Chain) != 0 {
		t.Errorf("Lineage(app).Chain = %+v, want empty: its base is the 9th image listed, not checked", l.Chain)
	}
}
