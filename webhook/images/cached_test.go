package images

import (
	"reflect"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/strata-project/strata/internal/testutil"
)

// TestCachedAnswersWhatResolveWouldFromItsCachesAlone: Cached, which a
// warm admission asks before starting a goroutine per image, answers only
// an image Resolve would answer from its caches, and the same image; never
// one of another scope, past its tag TTL, or not yet resolved; and never
// asks the registry.
func TestCachedAnswersWhatResolveWouldFromItsCachesAlone(t *testing.T) {
	reg := newTestRegistry(t)
	reg.push(t, "cached/app:1", testImage(t, 1, "10001", "linux/amd64"))
	reg.push(t, "cached/multi:1", testIndex(t, types.OCIImageIndex, testImage(t, 1, "", "linux/amd64"), testImage(t, 1, "", "linux/arm64")))
	clock := testutil.NewClock(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	r := newTestResolver(t, reg, Options{Now: clock.Now, TagTTL: time.Minute, Platforms: []string{"linux/amd64", "linux/arm64"}})

	for _, repoTag := range []string{"cached/app:1", "cached/multi:1"} {
		image := reg.ref(repoTag)
		if img, ok := r.Cached(image, Access{}); ok {
			t.Errorf("Cached(%q) before any Resolve = %+v, want false", image, img)
		}
		if _, err := r.Resolve(testContext(t, 5*time.Second), image, Access{}); err != nil {
			t.Fatal(err)
		}
		reg.takeRequests()
		got, ok := r.Cached(image, Access{})
		want, err := r.Resolve(testContext(t, 5*time.Second), image, Access{})
		if !ok || err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("Cached(%q) = %+v, %t; Resolve = %+v, %v; want the same image", image, got, ok, want, err)
		}
		if reqs := reg.takeRequests(); len(reqs) > 0 {
			t.Errorf("Cached and Resolve of a cached %q asked the registry: %q", image, reqs)
		}
		if img, ok := r.Cached(image, Access{Scope: "other-namespace"}); ok {
			t.Errorf("Cached(%q) for another scope = %+v, want false", image, img)
		}
	}
	clock.Advance(time.Minute)
	if img, ok := r.Cached(reg.ref("cached/app:1"), Access{}); ok {
		t.Errorf("Cached past the tag TTL = %+v, want false: Resolve would ask the registry", img)
	}
	if img, ok := r.Cached("not a reference", Access{}); ok {
		t.Errorf("Cached(an invalid reference) = %+v, want false", img)
	}
}
