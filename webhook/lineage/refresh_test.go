package lineage

import (
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/empty"

	"github.com/strata-project/strata/webhook/images"
)

// TestCatalogRefreshShorterThanTagTTLSeesAMovedBase: with a tag TTL of an
// hour and a refresh every minute, a refresh must still ask the registry
// where each catalog tag points, or a re-pointed (patched) base is not seen
// as stale until the tag TTL ends.
func TestCatalogRefreshShorterThanTagTTLSeesAMovedBase(t *testing.T) {
	t.Parallel()
	w := newWorld(t, images.Options{TagTTL: time.Hour})
	moved := w.moveBase()
	if err := moved.c.Refresh(ctx(t)); err != nil {
		t.Fatal(err)
	}
	moved.wantOnTheOldBuild(t, "app on a base re-pointed within the tag TTL", moved.c.Lineage(ctx(t), w.facts("shop/billing:1"), images.Access{}))
}

// TestCatalogRefreshAtAFailingRegistryDoesNotPassOffTheOldDigest: when the
// registry answers 503 to the re-check, the refresh did not learn where the
// tag points: it keeps what it knew, but reports the tag as not re-checked
// (so that Run retries soon) rather than succeeding on the old digest.
func TestCatalogRefreshAtAFailingRegistryDoesNotPassOffTheOldDigest(t *testing.T) {
	t.Parallel()
	w := newWorld(t, images.Options{})
	base := w.build(empty.Image, 1, "linux/amd64")
	w.push("base/debian:12", base, nil)
	w.push("shop/web:1", w.build(base, 1, "linux/amd64"), nil)
	c := w.refreshedCatalog(Options{Images: []CatalogImage{{Ref: "base/debian:12", Role: "os"}}})
	app := w.facts("shop/web:1")
	w.setFault(func(rw http.ResponseWriter, req *http.Request) bool {
		if !strings.Contains(req.URL.Path, "/manifests/") {
			return false
		}
		rw.WriteHeader(http.StatusServiceUnavailable)
		return true
	})
	err := c.Refresh(ctx(t))
	if err == nil || !strings.Contains(err.Error(), w.ref("base/debian:12")) {
		t.Errorf("Refresh with the registry answering 503 = %v, want an error naming base/debian:12", err)
	}
	if got := chainRoles(w, c.Lineage(ctx(t), app, images.Access{})); got != "os:base/debian:12" {
		t.Errorf("Lineage after a failed re-check = %q, want what was known kept", got)
	}
}

// TestCatalogTagListingAtAHangingRegistryEnds: a registry that never
// answers the tag listing of a pattern entry must not keep the refresh (and
// with it /readyz, which waits for the first load) stuck: the listing is
// bounded by the fetch timeout, even under a context without a deadline.
func TestCatalogTagListingAtAHangingRegistryEnds(t *testing.T) {
	t.Parallel()
	w := newWorld(t, images.Options{})
	w.push("base/debian:12", w.build(empty.Image, 1, "linux/amd64"), nil)
	w.setFault(func(rw http.ResponseWriter, req *http.Request) bool {
		if !strings.HasSuffix(req.URL.Path, "/tags/list") {
			return false
		}
		<-req.Context().Done() // hang until the client gives up
		return true
	})
	c := w.catalog(Options{FetchTimeout: 200 * time.Millisecond, Images: []CatalogImage{{Ref: "base/debian:1*", Role: "os"}}})
	done := make(chan error, 1)
	go func() { done <- c.Refresh(t.Context()) }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "listing tags") {
			t.Errorf("Refresh with a hanging tag listing = %v, want an error saying the listing failed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Refresh with a hanging tag listing did not return within 10s, with a 200ms fetch timeout")
	}
	if !c.Ready() {
		t.Error("Ready() after a refresh whose listing timed out = false, want true: the load is done, with what could be read")
	}
}

// TestCatalogRefreshReportsEachMovedBaseOnce: a refresh that sees a catalog
// tag point elsewhere reports the move once — the tag, what it pointed to
// and what it points to now, per platform — so that the images built on the
// old digest can be rebuilt; the first load, a refresh that sees nothing
// new and a tag that appears for the first time are no moves.
func TestCatalogRefreshReportsEachMovedBaseOnce(t *testing.T) {
	t.Parallel()
	w := newWorld(t, images.Options{})
	oldAmd := w.build(empty.Image, 1, "linux/amd64")
	oldArm := w.build(empty.Image, 1, "linux/arm64")
	oldIndex := w.pushIndex("base/debian:12", oldAmd, oldArm)
	var moves []Move
	c := w.catalog(Options{
		Images: []CatalogImage{{Ref: "base/debian:1*", Role: "os"}},
		Moved:  func(m Move) { moves = append(moves, m) },
	})
	if err := c.Refresh(ctx(t)); err != nil {
		t.Fatal(err)
	}
	w.push("base/debian:13", w.build(empty.Image, 1, "linux/amd64"), nil)
	if err := c.Refresh(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if len(moves) != 0 {
		t.Fatalf("moves after the first load and a new tag = %+v, want none", moves)
	}
	newAmd := w.build(empty.Image, 1, "linux/amd64")
	newIndex := w.pushIndex("base/debian:12", newAmd, oldArm) // only amd64 rebuilt
	for range 2 {
		if err := c.Refresh(ctx(t)); err != nil {
			t.Fatal(err)
		}
	}
	if len(moves) != 1 {
		t.Fatalf("moves after re-pointing base/debian:12 and refreshing twice = %+v, want exactly one", moves)
	}
	m := moves[0]
	want := Move{
		Tag: w.ref("base/debian:12"), Role: "os", From: oldIndex, To: newIndex,
		Platforms: []PlatformMove{{Platform: "linux/amd64", From: []images.Digest{digestOf(t, oldAmd)}, To: []images.Digest{digestOf(t, newAmd)}}},
	}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("Move = %+v, want %+v", m, want)
	}
	tag, now, stale := c.Stale(digestOf(t, oldAmd))
	if !stale || tag != want.Tag || now != digestOf(t, newAmd) {
		t.Errorf("Stale(old amd64 digest) = %q, %s, %v; want %s, %s, true", tag, now, stale, want.Tag, digestOf(t, newAmd))
	}
	if _, _, stale := c.Stale(digestOf(t, oldArm)); stale {
		t.Error("Stale(arm64 digest the tag still points to) = true, want false")
	}
	if same := w.pushIndex("base/debian:12", oldArm, newAmd); same == newIndex { // another index of the same platform images
		t.Fatal("the reordered index has the digest of the one before: the tag did not move")
	}
	if err := c.Refresh(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if len(moves) != 1 {
		t.Errorf("moves after re-pointing base/debian:12 to another index of the same platform images = %+v, want no new one", moves[1:])
	}
}
