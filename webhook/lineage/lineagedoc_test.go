package lineage

import (
	"fmt"
	"hash/maphash"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"

	"github.com/strata-project/strata/webhook/images"
	"github.com/strata-project/strata/webhook/images/provenancetest"
	"github.com/strata-project/strata/webhook/internal/imagetest"
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

// docs/lineage.md, "Layer-prefix matching": every hit of the prefix hashes
// is confirmed by comparing the layers, so a hash collision can never make
// an image look built on a catalog image. A catalog image of other layers
// filed under the hash of the image's first layer is no ancestor; one of
// that layer is.
func TestAHashCollisionNeverMakesAnAncestor(t *testing.T) {
	t.Parallel()
	seed := maphash.MakeSeed()
	layers := []images.Digest{{1}, {2}}
	first := prefixHashes(seed, layers, nil)[0]
	impostor := &node{digest: images.Digest{9}, diffIDs: []images.Digest{{7}}, role: "os"}
	ix := &index{seed: seed, byPrefix: map[uint64][]*node{first: {impostor}}}
	if found, _ := ix.ancestors(images.Digest{3}, layers); len(found) != 0 {
		t.Errorf("ancestors() = %v, want none: the catalog image's layers are not the image's", found)
	}
	base := &node{digest: images.Digest{8}, diffIDs: layers[:1], role: "os"}
	ix.byPrefix[first] = append(ix.byPrefix[first], base)
	if found, _ := ix.ancestors(images.Digest{3}, layers); len(found) != 1 || found[0] != base {
		t.Errorf("ancestors() = %v, want the catalog image of the first layer", found)
	}
}

// docs/lineage.md, "Base claims": the base annotations are read from the
// manifest, and from the config's labels when these say something else. A
// label that repeats the annotation is no second claim; a label alone, or
// one naming another base, is one of its own, verified like the others.
func TestBaseClaimsAreReadFromConfigLabelsThatSaySomethingElse(t *testing.T) {
	t.Parallel()
	w := newWorld(t, images.Options{})
	debian := w.build(empty.Image, 1, "linux/amd64")
	debianDigest := w.push("base/debian:12", debian, nil)
	other := w.build(empty.Image, 1, "linux/amd64")
	otherDigest := w.push("base/other:1", other, nil)
	labelled := func(repoTag string, d images.Digest) v1.Image {
		return imagetest.WithConfig(t, w.build(debian, 1, "linux/amd64"), func(cf *v1.ConfigFile) {
			cf.Config.Labels = w.claim(repoTag, d)
		})
	}
	w.push("shop/label:1", labelled("base/debian:12", debianDigest), nil)
	w.push("shop/same:1", labelled("base/debian:12", debianDigest), w.claim("base/debian:12", debianDigest))
	w.push("shop/other:1", labelled("base/other:1", otherDigest), w.claim("base/debian:12", debianDigest))
	c := w.catalog(Options{})
	for _, tc := range []struct {
		image string
		want  string // source:status of each claim
	}{
		{"shop/label:1", "label:verified"},
		{"shop/same:1", "annotation:verified"},
		{"shop/other:1", "annotation:verified label:mismatch"},
	} {
		l := c.Lineage(ctx(t), w.facts(tc.image), images.Access{})
		var got []string
		for _, cl := range l.Claims {
			got = append(got, cl.Source+":"+cl.Status)
		}
		if fmt.Sprint(got) != "["+tc.want+"]" || len(l.Chain) != 1 || l.Chain[0].Digest != debianDigest {
			t.Errorf("Lineage(%s) = claims %v chain %+v, want claims [%s] and debian as the base", tc.image, got, l.Chain, tc.want)
		}
	}
}

// docs/lineage.md, "Build provenance": the candidates a provenance lists
// are read in parallel, and of several verified ones the one with the most
// layers is the parent. The app is built on jdk, itself on debian; its
// provenance lists both, debian first. Each candidate's first read waits
// until another is in flight (or, once, five seconds, so that reads one
// after another fail the test rather than hang it).
func TestProvenanceCandidatesAreReadTogetherAndTheLongestIsTheParent(t *testing.T) {
	t.Parallel()
	w := newWorld(t, images.Options{Platforms: []string{"linux/amd64"}})
	debian := w.build(empty.Image, 1, "linux/amd64")
	debianIndex := w.pushBuild("vendor/debian:12", debian, nil)
	jdk := w.build(debian, 2, "linux/amd64")
	jdkIndex := w.pushBuild("vendor/jdk:21", jdk, nil)
	w.pushBuild("shop/app:1", w.build(jdk, 1, "linux/amd64"), &provenancetest.Provenance{
		Materials: []provenancetest.Material{w.material("vendor/debian:12", debianIndex), w.material("vendor/jdk:21", jdkIndex)},
	})
	c := w.catalog(Options{})
	app := w.facts("shop/app:1")

	var inFlight, most atomic.Int32
	together := make(chan struct{})
	var once sync.Once
	w.setFault(func(_ http.ResponseWriter, req *http.Request) bool {
		if !strings.Contains(req.URL.Path, "/vendor/") || !strings.Contains(req.URL.Path, "/manifests/") {
			return false
		}
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		if n >= 2 {
			once.Do(func() { close(together) })
		}
		select {
		case <-together:
		case <-time.After(5 * time.Second):
			once.Do(func() { close(together) }) // alone: no read waits again
		}
		return false
	})

	l := c.Lineage(ctx(t), app, images.Access{})
	if most.Load() < 2 {
		t.Errorf("the candidates were read one at a time (at most %d request in flight), want them read together", most.Load())
	}
	if len(l.Claims) != 2 || l.Claims[0].Status != ClaimVerified || l.Claims[1].Status != ClaimVerified {
		t.Fatalf("Lineage(app).Claims = %+v, want debian and jdk both verified", l.Claims)
	}
	if n := len(l.Chain); n == 0 || l.Chain[n-1].Digest != digestOf(t, jdk) || l.Chain[n-1].Layers != 3 {
		t.Errorf("Lineage(app).Chain = %+v, want jdk, the verified candidate of most layers, as the parent", l.Chain)
	}
}

// docs/lineage.md, "Base claims": the claimed base is read with the pod's
// own credentials, those of the access the lineage is asked with: its
// requests go through that access's transport.
func TestClaimedBaseIsReadWithThePodsAccess(t *testing.T) {
	t.Parallel()
	w := newWorld(t, images.Options{})
	debian := w.build(empty.Image, 1, "linux/amd64")
	d := w.push("base/debian:12", debian, nil)
	w.push("shop/app:1", w.build(debian, 1, "linux/amd64"), w.claim("base/debian:12", d))
	c := w.catalog(Options{})
	app := w.facts("shop/app:1")
	var mu sync.Mutex
	var seen []string
	pod := images.Access{Scope: "shop/app-pod", Fence: func(next http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(req *http.Request) (*http.Response, error) {
			mu.Lock()
			seen = append(seen, req.URL.Path)
			mu.Unlock()
			return next.RoundTrip(req)
		})
	}}
	l := c.Lineage(ctx(t), app, pod)
	if len(l.Claims) != 1 || l.Claims[0].Status != ClaimVerified {
		t.Fatalf("Lineage(app).Claims = %+v, want its claim verified", l.Claims)
	}
	mu.Lock()
	defer mu.Unlock()
	// The claimed digest, and the claimed tag for freshness.
	for _, want := range []string{"/v2/base/debian/manifests/" + d.String(), "/v2/base/debian/manifests/12"} {
		if !slices.Contains(seen, want) {
			t.Errorf("the pod's access carried %q, want %s read through it", seen, want)
		}
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// docs/lineage.md, "Build provenance": Git, HTTP and local (pkg:oci)
// inputs of a build are not images strata can read: they are skipped, and
// only the pkg:docker one is a claim.
func TestProvenanceInputsThatAreNotImagesAreSkipped(t *testing.T) {
	t.Parallel()
	f := &images.Facts{Digest: images.Digest{1}, Provenance: &images.Provenance{Materials: []images.Material{
		{URI: "https://github.com/example/app.git#4f2c1b7", Digest: "sha1:4f2c1b7"},
		{URI: "https://example.com/archive.tar.gz", Digest: "sha256:" + strings.Repeat("a", 64)},
		{URI: "pkg:oci/context?platform=linux%2Famd64", Digest: "sha256:" + strings.Repeat("b", 64)},
		{URI: "pkg:docker/debian@12?platform=linux%2Famd64", Digest: "sha256:" + strings.Repeat("c", 64)},
	}}}
	claims := provenanceClaims(f)
	if len(claims) != 1 || claims[0].Name != "debian:12" {
		t.Errorf("provenanceClaims(git, http, pkg:oci and pkg:docker inputs) = %+v, want only the pkg:docker image, debian:12", claims)
	}
}
