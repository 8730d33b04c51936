package lineage

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/empty"

	"github.com/strata-project/strata/internal/logtest"
	"github.com/strata-project/strata/webhook/images"
)

func TestLineageChains(t *testing.T) {
	t.Parallel()
	w := newWorld(t, images.Options{})
	debian := w.build(empty.Image, 1, "linux/amd64")
	temurin := w.build(debian, 3, "linux/amd64")
	spring := w.build(temurin, 2, "linux/amd64")
	boot := w.build(spring, 1, "linux/amd64")
	w.push("base/debian:12", debian, nil)
	w.push("base/temurin:21", temurin, nil)
	w.push("base/spring:3", spring, nil)
	w.push("base/boot:3", boot, nil)
	w.push("shop/web:1.2", w.build(temurin, 2, "linux/amd64"), nil)
	w.push("shop/deep:1", w.build(boot, 1, "linux/amd64"), nil)
	w.push("shop/direct:1", w.build(debian, 1, "linux/amd64"), nil)
	w.push("shop/unknown:1", w.build(empty.Image, 4, "linux/amd64"), nil)

	c := w.catalog(Options{Images: []CatalogImage{
		{Ref: "base/debian:12", Role: "os"},
		{Ref: "base/temurin:21", Role: "runtime"},
		{Ref: "base/spring:3", Role: "framework"},
		{Ref: "base/boot:3", Role: "framework"},
	}})
	if c.Ready() {
		t.Fatal("Ready() before the first load = true, want false")
	}
	if err := c.Refresh(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if !c.Ready() {
		t.Fatal("Ready() after Refresh = false, want true")
	}
	for _, tc := range []struct {
		image     string
		wantChain string
		wantDepth int
		complete  bool
	}{
		{"shop/web:1.2", "os:base/debian:12 > runtime:base/temurin:21", 3, true},
		{"shop/deep:1", "os:base/debian:12 > runtime:base/temurin:21 > framework:base/spring:3 > framework:base/boot:3", 5, true},
		{"shop/direct:1", "os:base/debian:12", 2, true},
		{"shop/unknown:1", "", 1, false},
		{"base/temurin:21", "os:base/debian:12", 2, true},
	} {
		l := c.Lineage(ctx(t), w.facts(tc.image), images.Access{})
		if got := chainRoles(w, l); got != tc.wantChain || l.Depth != tc.wantDepth || l.Complete != tc.complete {
			t.Errorf("Lineage(%s) = %q depth %d complete %v, want %q depth %d complete %v",
				tc.image, got, l.Depth, l.Complete, tc.wantChain, tc.wantDepth, tc.complete)
		}
		for _, e := range l.Chain {
			if !slices.Equal(e.Evidence, []string{EvidenceLayers}) || !e.Current {
				t.Errorf("Lineage(%s) entry %v: evidence %v current %v, want [layers] and current", tc.image, e.Refs, e.Evidence, e.Current)
			}
		}
	}
	if self := c.Lineage(ctx(t), w.facts("base/debian:12"), images.Access{}); self.Self == nil || self.Self.Role != "os" || !self.Complete || self.Depth != 1 {
		t.Errorf("Lineage(base/debian:12) = %+v, want itself as the os root, depth 1, complete", self)
	}
}

func TestLineageSharedTagsAreOneNode(t *testing.T) {
	t.Parallel()
	w := newWorld(t, images.Options{})
	debian := w.build(empty.Image, 2, "linux/amd64")
	w.push("base/debian:12", debian, nil)
	w.push("base/debian:bookworm", debian, nil)
	w.push("shop/web:1", w.build(debian, 1, "linux/amd64"), nil)
	c := w.refreshedCatalog(Options{Images: []CatalogImage{{Ref: "base/debian:12", Role: "os"}, {Ref: "base/debian:bookworm", Role: "os"}}})
	l := c.Lineage(ctx(t), w.facts("shop/web:1"), images.Access{})
	if len(l.Chain) != 1 || len(l.Chain[0].Refs) != 2 || l.Depth != 2 {
		t.Errorf("Lineage over two tags of one image = %+v, want one entry named by both tags", l.Chain)
	}
	if c.Len() != 1 {
		t.Errorf("Catalog.Len() = %d, want 1 node for two tags sharing content", c.Len())
	}
}

func TestLineageStaleBaseAfterRepoint(t *testing.T) {
	t.Parallel()
	// TagTTL of 1ns: every refresh re-checks every tag with a HEAD request.
	w := newWorld(t, images.Options{TagTTL: time.Nanosecond})
	moved := w.moveBase()
	c, newDigest := moved.c, moved.newDigest
	w.push("shop/web:2", w.build(moved.patched, 1, "linux/amd64"), nil)
	w.gets.Store(0)
	w.heads.Store(0)
	w.blobs.Store(0)
	if err := c.Refresh(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if w.heads.Load() != 1 || w.gets.Load() != 1 || w.blobs.Load() != 1 {
		t.Errorf("refresh after a re-point: %d HEAD, %d GET manifest and %d GET blob requests, want 1, 1 (the new manifest) and 1 (its config)", w.heads.Load(), w.gets.Load(), w.blobs.Load())
	}

	billing := c.Lineage(ctx(t), w.facts("shop/billing:1"), images.Access{})
	moved.wantOnTheOldBuild(t, "app on the old base", billing)
	if !billing.Complete {
		t.Errorf("Lineage(app on the old base).Complete = false, want true: the old base is still a known os")
	}
	web := c.Lineage(ctx(t), w.facts("shop/web:2"), images.Access{})
	if len(web.Chain) != 1 || web.Chain[0].Digest != newDigest || !web.Chain[0].Current {
		t.Errorf("Lineage(app on the patched base) = %+v, want the current %s", web.Chain, newDigest)
	}

	// Unchanged tags cost one HEAD each and nothing else.
	w.gets.Store(0)
	w.heads.Store(0)
	w.blobs.Store(0)
	if err := c.Refresh(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if w.heads.Load() != 1 || w.gets.Load() != 0 || w.blobs.Load() != 0 {
		t.Errorf("refresh with nothing changed: %d HEAD, %d GET manifest and %d GET blob requests, want 1, 0 and 0", w.heads.Load(), w.gets.Load(), w.blobs.Load())
	}
}

func TestLineageHistoryIsBounded(t *testing.T) {
	t.Parallel()
	w := newWorld(t, images.Options{TagTTL: time.Nanosecond})
	c := w.catalog(Options{History: 2, Images: []CatalogImage{{Ref: "base/debian:12", Role: "os"}}})
	var apps []string
	for i := range 3 {
		base := w.build(empty.Image, 1, "linux/amd64")
		w.push("base/debian:12", base, nil)
		app := "shop/app:" + string(rune('a'+i))
		w.push(app, w.build(base, 1, "linux/amd64"), nil)
		apps = append(apps, app)
		if err := c.Refresh(ctx(t)); err != nil {
			t.Fatal(err)
		}
	}
	if first := c.Lineage(ctx(t), w.facts(apps[0]), images.Access{}); len(first.Chain) != 0 {
		t.Errorf("Lineage(app on a base 3 builds ago, history 2) = %+v, want forgotten", first.Chain)
	}
	if second := c.Lineage(ctx(t), w.facts(apps[1]), images.Access{}); len(second.Chain) != 1 || second.Chain[0].Current {
		t.Errorf("Lineage(app on the previous base) = %+v, want it recognised and not current", second.Chain)
	}
}

func TestLineageClaims(t *testing.T) {
	t.Parallel()
	w := newWorld(t, images.Options{})
	debian := w.build(empty.Image, 1, "linux/amd64")
	other := w.build(empty.Image, 1, "linux/amd64")
	debianDigest := w.push("base/debian:12", debian, nil)
	w.push("base/other:1", other, nil)
	// Not in the catalog: found only through verified claims.
	runtime := w.build(debian, 2, "linux/amd64")
	runtimeDigest := w.push("vendor/runtime:5", runtime, w.claim("base/debian:12", debianDigest))
	w.push("shop/claimed:1", w.build(runtime, 1, "linux/amd64"), w.claim("vendor/runtime:5", runtimeDigest))
	// Claims debian, is built on something else.
	w.push("shop/spoofed:1", w.build(other, 1, "linux/amd64"), w.claim("base/debian:12", debianDigest))
	// Claims a base in an unreachable registry.
	w.push("shop/faraway:1", w.build(debian, 1, "linux/amd64"), map[string]string{
		images.AnnotationBaseName: "registry.invalid/base/debian:12",
	})

	c := w.refreshedCatalog(Options{Images: []CatalogImage{{Ref: "base/debian:12", Role: "os"}}})

	claimed := c.Lineage(ctx(t), w.facts("shop/claimed:1"), images.Access{})
	if got := chainRoles(w, claimed); got != "os:base/debian:12 > :claimed vendor/runtime:5" || claimed.Depth != 3 || !claimed.Complete {
		t.Errorf("Lineage(shop/claimed:1) = %q depth %d complete %v, want debian then the claimed runtime, depth 3, complete", got, claimed.Depth, claimed.Complete)
	}
	if len(claimed.Claims) != 2 || claimed.Claims[0].Status != ClaimVerified || claimed.Claims[1].Status != ClaimVerified {
		t.Errorf("Lineage(shop/claimed:1).Claims = %+v, want two verified claims (its own and its base's)", claimed.Claims)
	}
	if ev := claimed.Chain[0].Evidence; !slices.Equal(ev, []string{EvidenceLayers, EvidenceAnnotation}) {
		t.Errorf("debian's evidence in shop/claimed:1 = %v, want layers and annotation", ev)
	}

	spoofed := c.Lineage(ctx(t), w.facts("shop/spoofed:1"), images.Access{})
	if len(spoofed.Chain) != 0 || len(spoofed.Claims) != 1 || spoofed.Claims[0].Status != ClaimMismatch {
		t.Errorf("Lineage(shop/spoofed:1) = chain %v claims %+v, want no chain and a mismatched claim", spoofed.Chain, spoofed.Claims)
	}

	faraway := c.Lineage(ctx(t), w.facts("shop/faraway:1"), images.Access{})
	if len(faraway.Claims) != 1 || faraway.Claims[0].Status != ClaimUnreachable || faraway.Claims[0].Reason == "" {
		t.Errorf("Lineage(shop/faraway:1).Claims = %+v, want one unreachable claim with a reason", faraway.Claims)
	}
	if got := chainRoles(w, faraway); got != "os:base/debian:12" {
		t.Errorf("Lineage(shop/faraway:1) = %q, want the layer match to stand", got)
	}
}

func TestLineageClaimNotInAllowList(t *testing.T) {
	t.Parallel()
	w := newWorld(t, images.Options{Allow: []string{"127.0.0.1:1"}}) // the test registry is not allowed
	c := w.catalog(Options{})
	app := &images.Facts{Digest: images.Digest{1}, Platform: "linux/amd64", DiffIDs: []images.Digest{{2}},
		Annotations: images.StringsOf(map[string]string{images.AnnotationBaseName: w.ref("base/debian:12")})}
	l := c.Lineage(ctx(t), app, images.Access{})
	if len(l.Claims) != 1 || l.Claims[0].Status != ClaimUnreachable || !strings.Contains(l.Claims[0].Reason, "not configured to reach") {
		t.Errorf("Lineage(claim on a registry outside registry.allow).Claims = %+v, want unreachable, not fetched", l.Claims)
	}
	if w.gets.Load()+w.heads.Load() != 0 {
		t.Errorf("a claim outside registry.allow made %d requests, want 0", w.gets.Load()+w.heads.Load())
	}
}

func TestLineageClaimCycle(t *testing.T) {
	t.Parallel()
	w := newWorld(t, images.Options{})
	// Digests cannot form a cycle, names can: a claims root:1 and root
	// claims a:1, with the same layers, so each claim fits the layers.
	layers := w.build(empty.Image, 1, "linux/amd64")
	w.push("base/root:1", layers, map[string]string{images.AnnotationBaseName: w.ref("base/a:1")})
	a := w.build(layers, 0, "linux/amd64")
	w.push("base/a:1", a, map[string]string{images.AnnotationBaseName: w.ref("base/root:1"), "variant": "a"})
	c := w.catalog(Options{})
	l := c.Lineage(ctx(t), w.facts("base/a:1"), images.Access{})
	if len(l.Claims) > c.opts.MaxClaimDepth+1 {
		t.Fatalf("Lineage(cycle) followed %d claims, want the cycle cut", len(l.Claims))
	}
	last := l.Claims[len(l.Claims)-1]
	if last.Status != ClaimMismatch || !strings.Contains(last.Reason, "cycle") {
		t.Errorf("Lineage(cycle).Claims = %+v, want the cycle reported", l.Claims)
	}
}

func TestLineageClaimNamesAnIndex(t *testing.T) {
	t.Parallel()
	w := newWorld(t, images.Options{})
	amd := w.build(empty.Image, 1, "linux/amd64")
	arm := w.build(empty.Image, 1, "linux/arm64")
	idx := w.pushIndex("base/debian:12", amd, arm)
	app := w.build(arm, 2, "linux/arm64")
	w.push("shop/web:1", app, map[string]string{
		images.AnnotationBaseName:   w.ref("base/debian:12"),
		images.AnnotationBaseDigest: idx.String(),
	})
	c := w.catalog(Options{})
	l := c.Lineage(ctx(t), w.facts("shop/web:1"), images.Access{})
	if len(l.Claims) != 1 || l.Claims[0].Status != ClaimVerified || len(l.Chain) != 1 || l.Chain[0].Digest != digestOf(t, arm) {
		t.Errorf("Lineage(claim naming an index) = chain %+v claims %+v, want the arm64 platform verified", l.Chain, l.Claims)
	}
}

func TestLineageMultiArchDifferentBases(t *testing.T) {
	t.Parallel()
	w := newWorld(t, images.Options{})
	debianAmd := w.build(empty.Image, 1, "linux/amd64")
	debianArm := w.build(empty.Image, 1, "linux/arm64")
	alpineArm := w.build(empty.Image, 1, "linux/arm64")
	w.pushIndex("base/debian:12", debianAmd, debianArm)
	w.pushIndex("base/alpine:3", alpineArm)
	w.pushIndex("shop/web:1", w.build(debianAmd, 1, "linux/amd64"), w.build(alpineArm, 1, "linux/arm64"))
	c := w.refreshedCatalog(Options{Images: []CatalogImage{{Ref: "base/debian:12", Role: "os"}, {Ref: "base/alpine:3", Role: "os"}}})
	for platform, want := range map[string]string{"linux/amd64": "os:base/debian:12", "linux/arm64": "os:base/alpine:3"} {
		if got := chainRoles(w, c.Lineage(ctx(t), w.facts("shop/web:1", platform), images.Access{})); got != want {
			t.Errorf("Lineage(shop/web:1 %s) = %q, want %q", platform, got, want)
		}
	}
}

func TestCatalogPatternAndFailures(t *testing.T) {
	t.Parallel()
	w := newWorld(t, images.Options{})
	d127 := w.build(empty.Image, 1, "linux/amd64")
	d128 := w.build(empty.Image, 1, "linux/amd64")
	w.push("base/debian:12.7", d127, nil)
	w.push("base/debian:12.8", d128, nil)
	w.push("base/debian:11", w.build(empty.Image, 1, "linux/amd64"), nil)
	w.push("shop/web:1", w.build(d127, 1, "linux/amd64"), nil)
	c := w.catalog(Options{Images: []CatalogImage{{Ref: "base/debian:12*", Role: "os"}, {Ref: "base/missing:1", Role: "runtime"}}})
	err := c.Refresh(ctx(t))
	if err == nil || !strings.Contains(err.Error(), "base/missing:1") {
		t.Errorf("Refresh with an unresolvable image = %v, want an error naming it", err)
	}
	if !c.Ready() || c.Len() != 2 {
		t.Errorf("after a partial load: Ready %v, Len %d; want ready with the two debian:12* images", c.Ready(), c.Len())
	}
	if got := chainRoles(w, c.Lineage(ctx(t), w.facts("shop/web:1"), images.Access{})); got != "os:base/debian:12.7" {
		t.Errorf("Lineage(shop/web:1) = %q, want os:base/debian:12.7 found through the pattern", got)
	}
}

func TestNewCatalogRejectsBadEntries(t *testing.T) {
	t.Parallel()
	for _, img := range []CatalogImage{
		{Ref: "registry.example.com/base/debian:12", Role: ""},
		{Ref: "registry.example.com/base/*:12", Role: "os"},
		{Ref: "registry.example.com/base/debian:[", Role: "os"},
		{Ref: "sha256:" + strings.Repeat("a", 64), Role: "os"},
	} {
		if _, err := NewCatalog(nil, nil, Options{Images: []CatalogImage{img}}); err == nil {
			t.Errorf("NewCatalog(%+v) = nil error, want the entry refused", img)
		}
	}
}

// TestLineageFindsExactlyTheAncestors builds random families and checks
// that matching finds exactly the catalog images each image was built on.
func TestLineageFindsExactlyTheAncestors(t *testing.T) {
	t.Parallel()
	w := newWorld(t, images.Options{})
	rng := rand.New(rand.NewPCG(1, 2))
	type built struct {
		repo      string
		ancestors []string // catalog repos it was built on, root first
	}
	var catalogImages []CatalogImage
	var family []built
	for chain := range 6 {
		base := empty.Image
		var ancestors []string
		for level := range 1 + rng.IntN(5) {
			img := w.build(base, rng.IntN(3)+1, "linux/amd64")
			repo := "fam/c" + string(rune('a'+chain)) + "l" + string(rune('0'+level)) + ":1"
			w.push(repo, img, nil)
			family = append(family, built{repo: repo, ancestors: slices.Clone(ancestors)})
			if rng.IntN(4) != 0 { // most levels are catalogued, some are not
				catalogImages = append(catalogImages, CatalogImage{Ref: repo, Role: "base"})
				ancestors = append(ancestors, repo)
			}
			base = img
		}
	}
	c := w.refreshedCatalog(Options{Images: catalogImages})
	for _, b := range family {
		l := c.Lineage(ctx(t), w.facts(b.repo), images.Access{})
		var got []string
		for _, e := range l.Chain {
			got = append(got, strings.TrimPrefix(e.Refs[0], w.host+"/"))
		}
		if !slices.Equal(got, b.ancestors) || l.Depth != len(b.ancestors)+1 {
			t.Errorf("Lineage(%s) = %v depth %d, want %v depth %d", b.repo, got, l.Depth, b.ancestors, len(b.ancestors)+1)
		}
	}
}

func TestLineageClaimedTagMovedIsStale(t *testing.T) {
	t.Parallel()
	w := newWorld(t, images.Options{})
	oldBase := w.build(empty.Image, 2, "linux/amd64")
	oldDigest := w.push("vendor/jdk:21", oldBase, nil)
	w.push("shop/billing:1", w.build(oldBase, 1, "linux/amd64"), w.claim("vendor/jdk:21", oldDigest))
	newDigest := w.push("vendor/jdk:21", w.build(empty.Image, 2, "linux/amd64"), nil)
	c := w.catalog(Options{}) // not in the catalog: the claim alone tells
	l := c.Lineage(ctx(t), w.facts("shop/billing:1"), images.Access{})
	if len(l.Chain) != 1 || l.Chain[0].Digest != oldDigest || l.Chain[0].Current || l.Chain[0].CurrentDigest != newDigest {
		t.Errorf("Lineage(app claiming a moved tag) = %+v, want %s not current, now %s", l.Chain, oldDigest, newDigest)
	}
}

func TestCatalogRunRetriesFailedImages(t *testing.T) {
	t.Parallel()
	w := newWorld(t, images.Options{TagTTL: time.Nanosecond, NotFoundTTL: time.Nanosecond})
	w.push("base/debian:12", w.build(empty.Image, 1, "linux/amd64"), nil)
	var logs logtest.Buffer
	c := w.catalog(Options{Images: []CatalogImage{{Ref: "base/debian:12", Role: "os"}, {Ref: "base/late:1", Role: "runtime"}},
		Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	runCtx, stop := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		c.Run(runCtx, time.Hour, 20*time.Millisecond)
		close(done)
	}()
	deadline := time.Now().Add(5 * time.Second)
	for !c.Ready() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if !c.Ready() || c.Len() != 1 {
		t.Fatalf("after the first load with one image missing: Ready %v, Len %d; want ready with 1", c.Ready(), c.Len())
	}
	if log := logs.Await("catalog refresh incomplete", 1); !strings.Contains(log, `"level":"WARN","msg":"catalog refresh incomplete; retrying"`) || !strings.Contains(log, "base/late:1") {
		t.Errorf("the log after a load with base/late:1 missing:\n%s\nwant a warning naming it", log)
	}
	w.push("base/late:1", w.build(empty.Image, 1, "linux/amd64"), nil)
	for c.Len() != 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if c.Len() != 2 {
		t.Errorf("Len() = %d after the missing image appeared, want 2: Run must retry failures before the next refresh", c.Len())
	}
	stop()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}

func TestLineageCache(t *testing.T) {
	t.Parallel()
	w := newWorld(t, images.Options{TagTTL: time.Nanosecond})
	clock := &struct{ now time.Time }{time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}
	base := w.build(empty.Image, 1, "linux/amd64")
	baseDigest := w.push("vendor/jdk:21", base, nil)
	w.push("shop/app:1", w.build(base, 1, "linux/amd64"), w.claim("vendor/jdk:21", baseDigest))
	c := w.catalog(Options{ClaimTTL: time.Minute, Now: func() time.Time { return clock.now }})
	app := w.facts("shop/app:1")
	if l := c.Lineage(ctx(t), app, images.Access{}); len(l.Chain) != 1 || !l.Chain[0].Current {
		t.Fatalf("Lineage = %+v, want the claimed base, current", l.Chain)
	}
	newDigest := w.push("vendor/jdk:21", w.build(empty.Image, 1, "linux/amd64"), nil)
	cached := c.Lineage(ctx(t), app, images.Access{})
	if !cached.Chain[0].Current {
		t.Errorf("Lineage within ClaimTTL = %+v, want the cached answer", cached.Chain)
	}
	// The remembered lineage has an ID, the same each time it is served.
	if again := c.Lineage(ctx(t), app, images.Access{}); cached.ID == 0 || again.ID != cached.ID {
		t.Errorf("the cached lineage's IDs = %d, %d; want one ID, not 0", cached.ID, again.ID)
	}
	clock.now = clock.now.Add(2 * time.Minute)
	if l := c.Lineage(ctx(t), app, images.Access{}); l.Chain[0].Current || l.Chain[0].CurrentDigest != newDigest {
		t.Errorf("Lineage after ClaimTTL = %+v, want the moved tag seen: not current, now %s", l.Chain, newDigest)
	}
	// What replaced it is another lineage: never the ID of the first.
	if l := c.Lineage(ctx(t), app, images.Access{}); l.ID == 0 || l.ID == cached.ID {
		t.Errorf("the lineage remembered after ClaimTTL has ID %d, want a new one (the first was %d)", l.ID, cached.ID)
	}
	// An unreachable claim is not remembered.
	far := &images.Facts{Digest: images.Digest{7}, Platform: "linux/amd64", DiffIDs: []images.Digest{{8}},
		Annotations: images.StringsOf(map[string]string{images.AnnotationBaseName: "registry.invalid/base:1"})}
	c.Lineage(ctx(t), far, images.Access{})
	if _, ok := c.cached(c.current.Load(), lineageKey{digest: far.Digest, platform: far.Platform}); ok {
		t.Error("a lineage with an unreachable claim was cached")
	}
}

// A base index may list two manifests for one platform (containerd picks
// between them, so strata checks both); the catalog must remember both as
// what the tag points to now, or an app on the second is called stale and,
// once the tag moves twice, on an unknown base.
func TestBaseWithTwoManifestsForOnePlatformIsCurrentForBoth(t *testing.T) {
	t.Parallel()
	w := newWorld(t, images.Options{Platforms: []string{"linux/amd64"}})
	first := w.build(empty.Image, 1, "linux/amd64")
	second := w.build(empty.Image, 1, "linux/amd64")
	w.pushIndex("base/debian:12", first, second)
	w.push("shop/a:1", w.build(first, 1, "linux/amd64"), nil)
	w.push("shop/b:1", w.build(second, 1, "linux/amd64"), nil)
	c := w.refreshedCatalog(Options{Images: []CatalogImage{{Ref: "base/debian:12", Role: "os"}}})
	for _, app := range []string{"shop/a:1", "shop/b:1"} {
		l := c.Lineage(ctx(t), w.facts(app), images.Access{})
		if len(l.Chain) != 1 || !l.Chain[0].Current || l.Chain[0].Role != "os" {
			t.Errorf("Lineage(%s on one of two linux/amd64 manifests of base/debian:12) = %+v, want that manifest, current, os", app, l.Chain)
		}
	}
}

// A catalog tag pattern speaks the dialect of approvedBases and
// exempt.images: {a,b} are alternatives, where path.Match read them as
// literal characters and the entry named no tag at all.
func TestCatalogTagPatternSpeaksTheSharedGlobDialect(t *testing.T) {
	t.Parallel()
	w := newWorld(t, images.Options{})
	w.push("base/debian:12.7", w.build(empty.Image, 1, "linux/amd64"), nil)
	w.push("base/debian:12.8", w.build(empty.Image, 1, "linux/amd64"), nil)
	w.push("base/debian:11", w.build(empty.Image, 1, "linux/amd64"), nil)
	c := w.catalog(Options{Images: []CatalogImage{{Ref: "base/debian:{12.7,11}", Role: "os"}}})
	if err := c.Refresh(ctx(t)); err != nil || c.Len() != 2 {
		t.Errorf("Refresh with base/debian:{12.7,11} = %v, %d images; want nil and the two tags it names", err, c.Len())
	}
}

// A tag pattern with a typo matched nothing, and the catalog loaded "ok"
// knowing nothing of that base: Unmatched names it; a pattern that
// matches, and an exact tag, are not named.
func TestCatalogNamesPatternsThatMatchNoTag(t *testing.T) {
	t.Parallel()
	w := newWorld(t, images.Options{})
	w.push("base/debian:12.7", w.build(empty.Image, 1, "linux/amd64"), nil)
	w.push("base/debian:11", w.build(empty.Image, 1, "linux/amd64"), nil)
	c := w.catalog(Options{Images: []CatalogImage{
		{Ref: "base/debian:12*", Role: "os"},
		{Ref: "base/debian:13*", Role: "os"},
		{Ref: "base/debian:11", Role: "os"},
	}})
	if err := c.Refresh(ctx(t)); err != nil {
		t.Fatalf("Refresh() = %v", err)
	}
	got := c.Unmatched()
	if len(got) != 1 || !strings.Contains(got[0], "base/debian:13*") || !strings.Contains(got[0], "none of the 2 tags") {
		t.Errorf("Unmatched() = %q, want only base/debian:13*, matching none of the 2 tags", got)
	}
}
