package images

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containerd/platforms"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// pushDesc pushes img to repo (by digest) and returns the descriptor an index
// entry for it carries, with the platform left to the caller.
func pushDesc(t testing.TB, reg *testRegistry, repo string, img v1.Image) v1.Descriptor {
	t.Helper()
	d := imageDigest(t, img)
	reg.push(t, repo+"@"+d.String(), img)
	mt, err := img.MediaType()
	if err != nil {
		t.Fatal(err)
	}
	size, err := img.Size()
	if err != nil {
		t.Fatal(err)
	}
	return v1.Descriptor{MediaType: mt, Size: size, Digest: d}
}

// withPlatform returns d listed under platform ("" for an entry without one).
func withPlatform(t testing.TB, d v1.Descriptor, platform string) v1.Descriptor {
	t.Helper()
	if platform == "" {
		d.Platform = nil
		return d
	}
	p, err := v1.ParsePlatform(platform)
	if err != nil {
		t.Fatal(err)
	}
	d.Platform = p
	return d
}

// pushRawIndex stores an OCI index of exactly the given entries in repo, tagged
// tag when tag is not empty, and returns its descriptor. The index is written
// by hand so that it can say anything a hostile registry could.
func pushRawIndex(t testing.TB, reg *testRegistry, repo, tag string, entries ...v1.Descriptor) v1.Descriptor {
	t.Helper()
	if entries == nil {
		entries = []v1.Descriptor{}
	}
	body, err := json.Marshal(v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: entries})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	d := v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}
	putRaw(t, reg, repo, d.String(), types.OCIImageIndex, body)
	if tag != "" {
		putRaw(t, reg, repo, tag, types.OCIImageIndex, body)
	}
	return v1.Descriptor{MediaType: types.OCIImageIndex, Size: int64(len(body)), Digest: d}
}

// evaluatedDigests lists the platform manifests Resolve evaluated.
func evaluatedDigests(img *Image) []string {
	var out []string
	for _, f := range img.Platforms {
		out = append(out, f.Digest.String())
	}
	return out
}

// wantEvaluated fails t unless resolving image evaluated the manifest d,
// which a node pulls: why says why.
func wantEvaluated(t *testing.T, image string, img *Image, d v1.Descriptor, why string) {
	t.Helper()
	if got := evaluatedDigests(img); !slices.Contains(got, d.Digest.String()) {
		t.Errorf("Resolve(%s) evaluated %v, want %s: %s", image, got, d.Digest, why)
	}
}

// wantEvaluatedExactly fails t unless resolving image evaluated the
// manifests want and no other, each once, in any order: why says why.
func wantEvaluatedExactly(t *testing.T, image string, img *Image, why string, want ...v1.Descriptor) {
	t.Helper()
	var wantDigests []string
	for _, d := range want {
		wantDigests = append(wantDigests, d.Digest.String())
	}
	got := evaluatedDigests(img)
	slices.Sort(got)
	slices.Sort(wantDigests)
	if !slices.Equal(got, wantDigests) {
		t.Errorf("Resolve(%s) evaluated %v (%v), want %v: %s", image, got, platformsOf(img), wantDigests, why)
	}
}

func resolveTB(t testing.TB, r *Resolver, image string) (*Image, error) {
	t.Helper()
	return r.Resolve(testContext(t, 10*time.Second), image, Access{})
}

// resolvePushedIndex stores an index of entries as repo:tag and resolves
// it, failing t when it does not resolve.
func resolvePushedIndex(t *testing.T, reg *testRegistry, r *Resolver, repo, tag string, entries ...v1.Descriptor) *Image {
	t.Helper()
	pushRawIndex(t, reg, repo, tag, entries...)
	return resolveOK(t, r, reg.ref(repo+":"+tag), Access{})
}

func TestIndexEntryLyingAboutOSIsRefused(t *testing.T) {
	t.Parallel()
	reg := newTestRegistry(t)
	r := newTestResolver(t, reg, Options{})
	rootWindows := pushDesc(t, reg, "lie/app", testImage(t, 1, "root", "windows/amd64"))
	nonRootArm := pushDesc(t, reg, "lie/app", testImage(t, 1, "1000", "linux/arm64"))
	// A linux/amd64 node pulls the entry listed as linux/amd64 and runs it,
	// whatever its config claims; a config that says windows must not turn
	// the Linux checks off.
	pushRawIndex(t, reg, "lie/app", "1", withPlatform(t, rootWindows, "linux/amd64"), withPlatform(t, nonRootArm, "linux/arm64"))
	img, err := resolveTB(t, r, reg.ref("lie/app:1"))
	if err == nil {
		t.Fatalf("Resolve(lie/app:1) = platforms %v, want a %s error: the linux/amd64 entry's config says windows/amd64", platformsOf(img), KindInconsistent)
	}
	wantKind(t, reg.ref("lie/app:1"), err, KindInconsistent, "lying about itself", rootWindows.Digest.String(), "linux/amd64", "windows/amd64")
}

func TestIndexEntryVariantDisagreementIsRefusedOnlyWhenBothStateOne(t *testing.T) {
	t.Parallel()
	reg := newTestRegistry(t)
	r := newTestResolver(t, reg, Options{Platforms: []string{"linux/arm/v7"}})
	v6 := pushDesc(t, reg, "variant/app", testImage(t, 1, "1000", "linux/arm/v6"))
	plain := pushDesc(t, reg, "variant/app", testImage(t, 1, "1000", "linux/arm"))
	pushRawIndex(t, reg, "variant/app", "lie", withPlatform(t, v6, "linux/arm/v7"))
	pushRawIndex(t, reg, "variant/app", "silent", withPlatform(t, plain, "linux/arm/v7"))
	_, err := resolveTB(t, r, reg.ref("variant/app:lie"))
	wantKind(t, reg.ref("variant/app:lie"), err, KindInconsistent, "linux/arm/v7", "linux/arm/v6")
	if _, err := resolveTB(t, r, reg.ref("variant/app:silent")); err != nil {
		t.Errorf("Resolve(variant/app:silent) = %v, want no error: a config without a variant does not contradict linux/arm/v7", err)
	}
}

func TestAttestationAnnotationDoesNotHideARealEntry(t *testing.T) {
	t.Parallel()
	reg := newTestRegistry(t)
	r := newTestResolver(t, reg, Options{})
	rootAmd := pushDesc(t, reg, "attest/hidden", testImage(t, 1, "root", "linux/amd64"))
	nonRootArm := pushDesc(t, reg, "attest/hidden", testImage(t, 1, "1000", "linux/arm64"))
	hidden := withPlatform(t, rootAmd, "linux/amd64")
	hidden.Annotations = map[string]string{"vnd.docker.reference.type": "attestation-manifest", "vnd.docker.reference.digest": nonRootArm.Digest.String()}
	img := resolvePushedIndex(t, reg, r, "attest/hidden", "1", hidden, withPlatform(t, nonRootArm, "linux/arm64"))
	wantEvaluated(t, "attest/hidden:1", img, rootAmd, "the linux/amd64 entry that containerd pulls despite its attestation annotation")
}

func TestIndexEntryWithoutPlatformIsMatchedByItsConfig(t *testing.T) {
	t.Parallel()
	reg := newTestRegistry(t)
	r := newTestResolver(t, reg, Options{})
	rootAmd := pushDesc(t, reg, "noplat/app", testImage(t, 1, "root", "linux/amd64"))
	s390x := pushDesc(t, reg, "noplat/app", testImage(t, 1, "root", "linux/s390x"))
	nonRootArm := pushDesc(t, reg, "noplat/app", testImage(t, 1, "1000", "linux/arm64"))
	img := resolvePushedIndex(t, reg, r, "noplat/app", "1", withPlatform(t, rootAmd, ""), withPlatform(t, s390x, ""), withPlatform(t, nonRootArm, "linux/arm64"))
	wantEvaluated(t, "noplat/app:1", img, rootAmd, "the entry without a platform whose config says linux/amd64")
	if slices.Contains(evaluatedDigests(img), s390x.Digest.String()) {
		t.Errorf("Resolve(noplat/app:1) evaluated the linux/s390x entry %s, which no configured node pulls", s390x.Digest)
	}
}

func TestNestedIndexIsWalkedInto(t *testing.T) {
	t.Parallel()
	reg := newTestRegistry(t)
	r := newTestResolver(t, reg, Options{})
	rootAmd := pushDesc(t, reg, "nested/app", testImage(t, 1, "root", "linux/amd64"))
	nonRootArm := pushDesc(t, reg, "nested/app", testImage(t, 1, "1000", "linux/arm64"))
	inner := pushRawIndex(t, reg, "nested/app", "", withPlatform(t, rootAmd, "linux/amd64"))
	img := resolvePushedIndex(t, reg, r, "nested/app", "1", withPlatform(t, inner, "linux/amd64"), withPlatform(t, nonRootArm, "linux/arm64"))
	wantEvaluated(t, "nested/app:1", img, rootAmd, "the linux/amd64 image inside the nested index")
}

func TestEveryCandidateANodeMayPickIsEvaluated(t *testing.T) {
	t.Parallel()
	reg := newTestRegistry(t)
	r := newTestResolver(t, reg, Options{})
	amd := pushDesc(t, reg, "cand/app", testImage(t, 1, "1000", "linux/amd64"))
	amdV3 := pushDesc(t, reg, "cand/app", testImage(t, 1, "root", "linux/amd64/v3"))
	i386 := pushDesc(t, reg, "cand/app", testImage(t, 1, "root", "linux/386"))
	arm := pushDesc(t, reg, "cand/app", testImage(t, 1, "1000", "linux/arm64"))
	armV82 := pushDesc(t, reg, "cand/app", testImage(t, 1, "root", "linux/arm64/v8.2"))
	for _, tc := range []struct {
		name    string
		entries []v1.Descriptor
		want    []v1.Descriptor
	}{
		// amd64 v1 and v2 nodes pull the first, v3 and v4 nodes the second.
		{"levels", []v1.Descriptor{withPlatform(t, amd, "linux/amd64"), withPlatform(t, amdV3, "linux/amd64/v3")}, []v1.Descriptor{amd, amdV3}},
		// An amd64 node falls back to 386.
		{"386-fallback", []v1.Descriptor{withPlatform(t, i386, "linux/386"), withPlatform(t, arm, "linux/arm64")}, []v1.Descriptor{i386, arm}},
		// Where amd64 exists, no amd64 node picks 386.
		{"386-shadowed", []v1.Descriptor{withPlatform(t, amd, "linux/amd64"), withPlatform(t, i386, "linux/386")}, []v1.Descriptor{amd}},
		// An arm64 v8.2 (or later) node picks the v8.2 entry.
		{"arm64-variant", []v1.Descriptor{withPlatform(t, arm, "linux/arm64"), withPlatform(t, armV82, "linux/arm64/v8.2")}, []v1.Descriptor{arm, armV82}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img := resolvePushedIndex(t, reg, r, "cand/app", tc.name, tc.entries...)
			wantEvaluatedExactly(t, "cand/app:"+tc.name, img, "what the nodes of the configured platforms pick", tc.want...)
		})
	}
}

func TestSameDigestListedAsWindowsAndLinuxDoesNotPoisonTheCache(t *testing.T) {
	t.Parallel()
	reg := newTestRegistry(t)
	r := newTestResolver(t, reg, Options{})
	// A config that states no platform: whatever an index lists it as must
	// not become a fact about the manifest that the next index inherits.
	silent := pushDesc(t, reg, "poison/app", testImage(t, 1, "root", ""))
	pushRawIndex(t, reg, "poison/app", "win", withPlatform(t, silent, "windows/amd64"))
	pushRawIndex(t, reg, "poison/app", "linux", withPlatform(t, silent, "linux/amd64"))
	win := resolveOK(t, r, reg.ref("poison/app:win"), Access{})
	linux := resolveOK(t, r, reg.ref("poison/app:linux"), Access{})
	for _, img := range []*Image{win, linux} {
		if len(img.Platforms) != 1 || img.Platforms[0].Platform != "" {
			t.Errorf("Resolve(%s) platforms = %q, want one manifest with no platform: its config states none, and an index entry's platform is no fact about the manifest", img.Written, platformsOf(img))
		}
	}
}

func TestIndexWithThousandsOfEntriesIsOneBoundedError(t *testing.T) {
	t.Parallel()
	reg := newTestRegistry(t)
	r := newTestResolver(t, reg, Options{})
	amd := pushDesc(t, reg, "huge/app", testImage(t, 1, "1000", "linux/amd64"))
	entries := make([]v1.Descriptor, 3000)
	for i := range entries {
		entries[i] = withPlatform(t, amd, "linux/amd64")
	}
	pushRawIndex(t, reg, "huge/app", "1", entries...)
	_, err := resolveTB(t, r, reg.ref("huge/app:1"))
	wantKind(t, reg.ref("huge/app:1"), err, KindTooComplex, "3000", fmt.Sprint(defaultMaxIndexEntries))
	if n := len(reg.takeRequests()); n > 3 {
		t.Errorf("Resolve(huge/app:1) made %d registry requests, want at most 3 (the index, no children)", n)
	}
}

func TestIndexNestedBeyondTheDepthBoundIsOneBoundedError(t *testing.T) {
	t.Parallel()
	reg := newTestRegistry(t)
	r := newTestResolver(t, reg, Options{})
	d := withPlatform(t, pushDesc(t, reg, "deep/app", testImage(t, 1, "root", "linux/amd64")), "linux/amd64")
	for range defaultMaxIndexDepth {
		d = withPlatform(t, pushRawIndex(t, reg, "deep/app", "", d), "linux/amd64")
	}
	pushRawIndex(t, reg, "deep/app", "1", d)
	_, err := resolveTB(t, r, reg.ref("deep/app:1"))
	wantKind(t, reg.ref("deep/app:1"), err, KindTooComplex, "nested", fmt.Sprint(defaultMaxIndexDepth))
}

func TestIndexAtTheDepthBoundIsWalked(t *testing.T) {
	t.Parallel()
	reg := newTestRegistry(t)
	r := newTestResolver(t, reg, Options{})
	leaf := pushDesc(t, reg, "deep/ok", testImage(t, 1, "root", "linux/amd64"))
	d := withPlatform(t, leaf, "linux/amd64")
	for range defaultMaxIndexDepth - 1 {
		d = withPlatform(t, pushRawIndex(t, reg, "deep/ok", "", d), "linux/amd64")
	}
	img := resolvePushedIndex(t, reg, r, "deep/ok", "1", d)
	wantEvaluatedExactly(t, "deep/ok:1", img, fmt.Sprintf("the leaf under %d indexes", defaultMaxIndexDepth), leaf)
}

func TestSelectedArtifactIsRefusedNotSkipped(t *testing.T) {
	t.Parallel()
	reg := newTestRegistry(t)
	r := newTestResolver(t, reg, Options{})
	intoto := pushDesc(t, reg, "art/app", attestationImage(t))
	arm := pushDesc(t, reg, "art/app", testImage(t, 1, "1000", "linux/arm64"))
	// Listed as linux/amd64, the entry is what an amd64 node pulls: it
	// cannot run, and strata says so rather than checking the rest.
	pushRawIndex(t, reg, "art/app", "1", withPlatform(t, intoto, "linux/amd64"), withPlatform(t, arm, "linux/arm64"))
	_, err := resolveTB(t, r, reg.ref("art/app:1"))
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindUnsupported || !strings.Contains(err.Error(), "linux/amd64") {
		t.Errorf("Resolve(art/app:1) = %v, want an %s error naming linux/amd64", err, KindUnsupported)
	}
}

// attestationImage is an in-toto attestation manifest as BuildKit pushes it:
// a config that is no image config, and in-toto layers.
func attestationImage(t testing.TB) v1.Image {
	t.Helper()
	return mutate.MediaType(mutate.ConfigMediaType(testImage(t, 1, "", ""), "application/vnd.in-toto+json"), types.OCIManifestSchema1)
}

func TestConfiguredPlatformStandsForItsNodes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		configured string
		want       []string // node platforms, containerd-normalized
	}{
		{"linux/amd64", []string{"linux/amd64", "linux/amd64/v2", "linux/amd64/v3", "linux/amd64/v4"}},
		{"linux/amd64/v1", []string{"linux/amd64", "linux/amd64/v2", "linux/amd64/v3", "linux/amd64/v4"}},
		{"linux/amd64/v3", []string{"linux/amd64/v3"}},
		{"linux/arm64/v8", nil}, // every arm64 variant: checked by count below
		{"linux/arm/v6", []string{"linux/arm/v6"}},
		{"linux/arm", []string{"linux/arm/v5", "linux/arm/v6", "linux/arm/v7", "linux/arm/v8"}},
		{"linux/s390x", []string{"linux/s390x"}},
	} {
		p, err := v1.ParsePlatform(tc.configured)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, n := range nodesOf(*p) {
			got = append(got, platforms.Format(n.spec))
		}
		if tc.want == nil {
			if len(got) != len(nodeVariants["arm64"]) {
				t.Errorf("nodesOf(%s) = %v, want every arm64 variant", tc.configured, got)
			}
			continue
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("nodesOf(%s) = %v, want %v", tc.configured, got, tc.want)
		}
	}
}

func TestManifestListedTwiceIsCheckedOnce(t *testing.T) {
	t.Parallel()
	reg := newTestRegistry(t)
	r := newTestResolver(t, reg, Options{})
	amd := pushDesc(t, reg, "twice/app", testImage(t, 1, "1000", "linux/amd64"))
	pushRawIndex(t, reg, "twice/app", "1", withPlatform(t, amd, "linux/amd64"), withPlatform(t, amd, "linux/amd64/v2"))
	for range 2 { // cold, then from the caches
		img := resolveOK(t, r, reg.ref("twice/app:1"), Access{})
		wantEvaluatedExactly(t, "twice/app:1", img, "the manifest listed twice, once", amd)
	}
}

func TestIndexWithoutConfiguredPlatformsChecksEntriesWithoutAPlatformToo(t *testing.T) {
	t.Parallel()
	reg := newTestRegistry(t)
	r := newTestResolver(t, reg, Options{})
	win := pushDesc(t, reg, "fallback/app", testImage(t, 1, "ContainerUser", "windows/amd64"))
	s390x := pushDesc(t, reg, "fallback/app", testImage(t, 1, "root", "linux/s390x"))
	// An s390x node matches no entry with a platform, so it pulls the one
	// without: when strata checks the platforms it was not told about, that
	// one is among them.
	img := resolvePushedIndex(t, reg, r, "fallback/app", "1", withPlatform(t, win, "windows/amd64"), withPlatform(t, s390x, ""))
	wantEvaluatedExactly(t, "fallback/app:1", img, "the windows entry and the s390x entry without a platform", win, s390x)
}

// TestIndexWalkReadsEightEntriesAtATime: an index of 24 images that all
// match the node is read 8 manifests at a time (walkFetches), not all at
// once. The registry holds every entry's manifest request until a 9th is
// in flight, or for 2 s: with the bound at 8 the 9th never comes and the 8
// wait out the 2 s; without a bound it comes at once (docs/images.md).
func TestIndexWalkReadsEightEntriesAtATime(t *testing.T) {
	t.Parallel()
	const atATime = 8 // what docs/images.md states
	reg := newTestRegistry(t)
	r := newTestResolver(t, reg, Options{Platforms: []string{"linux/amd64"}})
	var entries []v1.Descriptor
	children := map[string]bool{}
	for i := range 24 {
		d := pushDesc(t, reg, "wide/app", testImage(t, 1, strconv.Itoa(1000+i), "linux/amd64"))
		entries = append(entries, withPlatform(t, d, "linux/amd64"))
		children["/manifests/"+d.Digest.String()] = true
	}
	pushRawIndex(t, reg, "wide/app", "1", entries...)

	var mu sync.Mutex
	inFlight, most := 0, 0
	release := make(chan struct{})
	var releaseOnce sync.Once
	open := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(open)
	setFault(reg, func(w http.ResponseWriter, req *http.Request, next http.Handler) {
		at := strings.Index(req.URL.Path, "/manifests/")
		if at < 0 || !children[req.URL.Path[at:]] {
			next.ServeHTTP(w, req)
			return
		}
		mu.Lock()
		inFlight++
		most = max(most, inFlight)
		if inFlight == 1 && most == 1 {
			time.AfterFunc(2*time.Second, open)
		}
		if inFlight > atATime {
			open()
		}
		mu.Unlock()
		<-release
		next.ServeHTTP(w, req)
		mu.Lock()
		inFlight--
		mu.Unlock()
	})

	img := resolveOK(t, r, reg.ref("wide/app:1"), Access{})
	if len(img.Platforms) != len(entries) {
		t.Errorf("Resolve(wide/app:1) checked %d manifests, want all %d (a tie: a runtime may pull any)", len(img.Platforms), len(entries))
	}
	mu.Lock()
	defer mu.Unlock()
	if most != atATime {
		t.Errorf("the index walk had %d manifest reads in flight at most, want %d", most, atATime)
	}
}
