package images

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/strata-project/strata/internal/testutil"
)

// These tests count what a resolution costs in registry requests, because
// round trips, not CPU, decide whether strata answers inside an admission
// budget and stays under a registry's rate limits.

// latency makes every request, pings included, take at least d, as a
// registry across a network does.
func latency(d time.Duration) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			time.Sleep(d)
			next.ServeHTTP(w, req)
		})
	}
}

// setWrap installs a middleware in front of the test registry.
func (r *testRegistry) setWrap(wrap func(http.Handler) http.Handler) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.wrap = wrap
}

// takeAllRequests is takeRequests with the pings (GET /v2/) kept.
func (r *testRegistry) takeAllRequests() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.requests
	r.requests = nil
	return out
}

func configDigest(t *testing.T, img v1.Image) v1.Hash {
	t.Helper()
	d, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func imageDigest(t testing.TB, img v1.Image) v1.Hash {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// sameRequests compares request logs as multisets: concurrent fetches
// arrive in any order.
func sameRequests(got, want []string) bool {
	return slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want)))
}

func resolveOK(t *testing.T, r *Resolver, image string, access Access) *Image {
	t.Helper()
	img, err := r.Resolve(testContext(t, 10*time.Second), image, access)
	if err != nil {
		t.Fatalf("Resolve(%s) error: %v", image, err)
	}
	return img
}

func TestRoundTripSingleImageCold(t *testing.T) {
	t.Parallel()
	reg := newTestRegistry(t)
	img := testImage(t, 3, "1000", "linux/amd64")
	reg.push(t, "shop/web:1", img)
	r := newTestResolver(t, reg, Options{})

	resolveOK(t, r, reg.ref("shop/web:1"), Access{})

	cfg := configDigest(t, img)
	want := []string{"GET /v2/shop/web/manifests/1", "GET /v2/shop/web/blobs/" + cfg.String()}
	got := reg.takeRequests()
	if !slices.Equal(got, want) {
		t.Errorf("Resolve(shop/web:1) requests = %q, want %q", got, want)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range layers {
		d, err := l.Digest()
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(got, "GET /v2/shop/web/blobs/"+d.String()) {
			t.Errorf("Resolve(shop/web:1) fetched layer blob %s; strata must read only the config", d)
		}
	}
}

// The index is one round trip; its platforms are fetched side by side, so a
// two-platform image costs three round trips however many requests it makes.
// Not parallel: the test measures elapsed time.
func TestRoundTripIndexConcurrent(t *testing.T) {
	const rtt = 100 * time.Millisecond
	reg := newTestRegistry(t)
	amd := testImage(t, 2, "1000", "linux/amd64")
	arm := testImage(t, 2, "2000", "linux/arm64")
	reg.push(t, "shop/web:multi", testIndex(t, types.OCIImageIndex, amd, arm))
	// Another tag of the same repository warms the puller (ping and, on a
	// real registry, the token): the steady state of a running webhook.
	reg.push(t, "shop/web:warm", testImage(t, 1, "0", "linux/amd64"))
	r := newTestResolver(t, reg, Options{})
	resolveOK(t, r, reg.ref("shop/web:warm"), Access{})
	reg.takeAllRequests()

	spans := &spanRecorder{}
	reg.setWrap(spans.hold(rtt))
	img := resolveOK(t, r, reg.ref("shop/web:multi"), Access{})

	users := map[string]string{}
	for _, f := range img.Platforms {
		users[f.Platform] = f.Config.User.Raw
	}
	if want := map[string]string{"linux/amd64": "1000", "linux/arm64": "2000"}; !maps.Equal(users, want) {
		t.Errorf("Resolve(shop/web:multi) users by platform = %v, want %v", users, want)
	}

	got := reg.takeAllRequests()
	want := []string{
		"GET /v2/shop/web/manifests/multi",
		"GET /v2/shop/web/manifests/" + imageDigest(t, amd).String(),
		"GET /v2/shop/web/manifests/" + imageDigest(t, arm).String(),
		"GET /v2/shop/web/blobs/" + configDigest(t, amd).String(),
		"GET /v2/shop/web/blobs/" + configDigest(t, arm).String(),
	}
	if !sameRequests(got, want) {
		t.Errorf("Resolve(shop/web:multi) requests = %q, want %q in any order", got, want)
	}
	if len(got) > 0 && got[0] != want[0] {
		t.Errorf("Resolve(shop/web:multi) first request = %q, want the index %q", got[0], want[0])
	}
	// Three round trips, not five: each request is held for rtt, so the two
	// platforms' manifests (and then their configs) must be in flight
	// together, and each pair only after what it depends on.
	for _, pair := range [][2]string{{want[1], want[2]}, {want[3], want[4]}} {
		if !spans.overlap(pair[0], pair[1]) {
			t.Errorf("Resolve(shop/web:multi): %q and %q were not in flight together, want them fetched concurrently", pair[0], pair[1])
		}
	}
	if !spans.after(want[1], want[0]) || !spans.after(want[3], want[1]) {
		t.Errorf("Resolve(shop/web:multi): requests out of order: a manifest before its index, or a config before its manifest")
	}
}

// spanRecorder holds every request for a while and records when each was
// in flight, to tell concurrent fetches from sequential ones without
// timing the whole call.
type spanRecorder struct {
	mu    sync.Mutex
	spans map[string][2]time.Time
}

func (s *spanRecorder) hold(d time.Duration) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			start := time.Now()
			time.Sleep(d)
			next.ServeHTTP(w, req)
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.spans == nil {
				s.spans = map[string][2]time.Time{}
			}
			s.spans[req.Method+" "+req.URL.Path] = [2]time.Time{start, time.Now()}
		})
	}
}

// overlap reports two requests in flight at the same time.
func (s *spanRecorder) overlap(a, b string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	x, okx := s.spans[a]
	y, oky := s.spans[b]
	return okx && oky && x[0].Before(y[1]) && y[0].Before(x[1])
}

// after reports that b had finished before a started.
func (s *spanRecorder) after(a, b string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	x, okx := s.spans[a]
	y, oky := s.spans[b]
	return okx && oky && !x[0].Before(y[1])
}

func TestRoundTripWarmIsFree(t *testing.T) {
	t.Parallel()
	reg := newTestRegistry(t)
	d := reg.push(t, "shop/web:1", testImage(t, 2, "1000", "linux/amd64"))
	reg.push(t, "shop/web:multi", testIndex(t, types.OCIImageIndex,
		testImage(t, 1, "1000", "linux/amd64"), testImage(t, 1, "2000", "linux/arm64")))
	r := newTestResolver(t, reg, Options{})
	for _, image := range []string{reg.ref("shop/web:1"), reg.ref("shop/web@" + d.String()), reg.ref("shop/web:multi")} {
		first := resolveOK(t, r, image, Access{})
		reg.takeAllRequests()
		second := resolveOK(t, r, image, Access{})
		if got := reg.takeAllRequests(); len(got) != 0 {
			t.Errorf("second Resolve(%s) within the TTL made requests %q, want none", image, got)
		}
		if second.Digest != first.Digest || !slices.Equal(second.Platforms, first.Platforms) {
			t.Errorf("second Resolve(%s) = %s %v, want the cached %s %v", image, second.Digest, second.Platforms, first.Digest, first.Platforms)
		}
	}
}

func TestRoundTripRecheckAfterTTL(t *testing.T) {
	t.Parallel()
	reg := newTestRegistry(t)
	clock := testutil.NewClock(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	const ttl = time.Minute
	r := newTestResolver(t, reg, Options{Now: clock.Now, TagTTL: ttl})
	oldImg := testImage(t, 2, "1000", "linux/amd64")
	oldDigest := reg.push(t, "shop/web:1", oldImg)
	tag := reg.ref("shop/web:1")

	first := resolveOK(t, r, tag, Access{})
	reg.takeRequests()

	t.Run("unchanged tag", func(t *testing.T) {
		clock.Advance(ttl + time.Second)
		img := resolveOK(t, r, tag, Access{})
		want := []string{"HEAD /v2/shop/web/manifests/1"}
		all := reg.takeAllRequests()
		if got := withoutPings(all); !slices.Equal(got, want) {
			t.Errorf("Resolve(%s) after the TTL: requests = %q, want %q", tag, got, want)
		}
		if pings := len(all) - len(withoutPings(all)); pings > 0 {
			t.Logf("Resolve(%s) after the TTL also pinged the registry %d time(s): the puller expires with the tag", tag, pings)
		}
		if img.Digest != first.Digest || img.Platforms[0] != first.Platforms[0] {
			t.Errorf("Resolve(%s) after the TTL = %s, want the cached facts of %s", tag, img.Digest, first.Digest)
		}
	})

	t.Run("re-pointed tag", func(t *testing.T) {
		newImg := testImage(t, 2, "2000", "linux/amd64")
		newDigest := reg.push(t, "shop/web:1", newImg)
		clock.Advance(ttl + time.Second)
		img := resolveOK(t, r, tag, Access{})
		want := []string{
			"HEAD /v2/shop/web/manifests/1",
			"GET /v2/shop/web/manifests/" + newDigest.String(),
			"GET /v2/shop/web/blobs/" + configDigest(t, newImg).String(),
		}
		if got := reg.takeRequests(); !slices.Equal(got, want) {
			t.Errorf("Resolve(%s) after re-pointing: requests = %q, want %q", tag, got, want)
		}
		if img.Digest.String() != newDigest.String() || img.Platforms[0].Config.User.Raw != "2000" {
			t.Errorf("Resolve(%s) after re-pointing = %s user %q, want %s user 2000", tag, img.Digest, img.Platforms[0].Config.User.Raw, newDigest)
		}

		pinned := reg.ref("shop/web@" + oldDigest.String())
		old := resolveOK(t, r, pinned, Access{})
		if old.Digest != first.Digest || old.Platforms[0] != first.Platforms[0] || old.Platforms[0].Config.User.Raw != "1000" {
			t.Errorf("Resolve(%s) = %s user %q, want the cached facts of %s user 1000", pinned, old.Digest, old.Platforms[0].Config.User.Raw, first.Digest)
		}
		// This scope never resolved the digest itself, so one HEAD proves it
		// may read it; the facts come from the cache.
		got := reg.takeRequests()
		if len(got) > 1 || (len(got) == 1 && got[0] != "HEAD /v2/shop/web/manifests/"+oldDigest.String()) {
			t.Errorf("Resolve(%s) requests = %q, want at most a HEAD of the digest", pinned, got)
		}
	})
}

func withoutPings(reqs []string) []string {
	return slices.DeleteFunc(slices.Clone(reqs), func(q string) bool { return q == "GET /v2/" })
}

func TestRoundTripConcurrentCallersShareOneFetch(t *testing.T) {
	t.Parallel()
	const callers = 500
	reg := newTestRegistry(t)
	img := testImage(t, 2, "1000", "linux/amd64")
	d := reg.push(t, "shop/web:1", img)
	r := newTestResolver(t, reg, Options{})
	// Latency makes the callers overlap the fetch instead of finding it cached.
	reg.setWrap(latency(50 * time.Millisecond))

	start := make(chan struct{})
	var wg sync.WaitGroup
	errs := make([]error, callers)
	digests := make([]Digest, callers)
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			img, err := r.Resolve(testContext(t, 30*time.Second), reg.ref("shop/web:1"), Access{})
			errs[i] = err
			if err == nil {
				digests[i] = img.Digest
			}
		}()
	}
	close(start)
	wg.Wait()

	for i, err := range errs {
		if err != nil {
			t.Fatalf("caller %d: Resolve(shop/web:1) error: %v", i, err)
		}
		if digests[i].String() != d.String() {
			t.Fatalf("caller %d: Resolve(shop/web:1) = %s, want %s", i, digests[i], d)
		}
	}
	all := reg.takeAllRequests()
	want := []string{"GET /v2/shop/web/manifests/1", "GET /v2/shop/web/blobs/" + configDigest(t, img).String()}
	if got := withoutPings(all); !slices.Equal(got, want) {
		t.Errorf("%d concurrent Resolve(shop/web:1) requests = %q, want one set %q", callers, got, want)
	}
	if pings := len(all) - len(withoutPings(all)); pings > 1 {
		t.Errorf("%d concurrent Resolve(shop/web:1) pinged %d times, want at most 1", callers, pings)
	}
}

// A second scope must prove it can read the image, but the content is the
// same: a HEAD proves it, and Docker Hub does not count HEADs against its
// pull rate limit the way it counts manifest GETs.
func TestRoundTripSecondScopeChecksAccessOnly(t *testing.T) {
	t.Parallel()
	reg := newTestRegistry(t)
	img := testImage(t, 2, "1000", "linux/amd64")
	reg.push(t, "shop/web:1", img)
	r := newTestResolver(t, reg, Options{})
	tag := reg.ref("shop/web:1")

	a := resolveOK(t, r, tag, Access{Scope: "a"})
	reg.takeRequests()
	b := resolveOK(t, r, tag, Access{Scope: "b"})
	got := reg.takeRequests()

	if b.Digest != a.Digest || b.Platforms[0] != a.Platforms[0] {
		t.Errorf("Resolve(%s) in scope b = %s, want the facts scope a cached for %s", tag, b.Digest, a.Digest)
	}
	t.Run("config not fetched again", func(t *testing.T) {
		cfg := "GET /v2/shop/web/blobs/" + configDigest(t, img).String()
		if slices.Contains(got, cfg) {
			t.Errorf("Resolve(%s) in scope b requests = %q: fetched the config again", tag, got)
		}
	})
	t.Run("access checked with a HEAD", func(t *testing.T) {
		want := []string{"HEAD /v2/shop/web/manifests/1"}
		if !slices.Equal(got, want) {
			t.Errorf("Resolve(%s) in scope b requests = %q, want %q (fetchRef GETs a tag whose content another scope already holds)", tag, got, want)
		}
	})
}

// slowBlobs delays blob GETs only, to hold a resolution between its manifest
// and its config.
func slowBlobs(d time.Duration) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if req.Method == http.MethodGet && strings.Contains(req.URL.Path, "/blobs/") {
				time.Sleep(d)
			}
			next.ServeHTTP(w, req)
		})
	}
}

// waitForRequest polls the log until a request starting with prefix arrived;
// it does not consume the log.
func (r *testRegistry) waitForRequest(t *testing.T, prefix string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		seen := slices.ContainsFunc(r.requests, func(q string) bool { return strings.HasPrefix(q, prefix) })
		r.mu.Unlock()
		if seen {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("no request %q reached the registry", prefix)
}

// Callers that arrive while the first resolution of a tag is reading its
// config find the tag already cached but not its facts; they must join that
// fetch, not GET the manifest again each.
func TestRoundTripLateCallersJoinTheFetch(t *testing.T) {
	t.Parallel()
	const late = 20
	reg := newTestRegistry(t)
	img := testImage(t, 2, "1000", "linux/amd64")
	reg.push(t, "shop/web:1", img)
	r := newTestResolver(t, reg, Options{})
	reg.setWrap(slowBlobs(300 * time.Millisecond))

	var wg sync.WaitGroup
	errs := make(chan error, late+1)
	resolve := func() {
		defer wg.Done()
		_, err := r.Resolve(testContext(t, 30*time.Second), reg.ref("shop/web:1"), Access{})
		errs <- err
	}
	wg.Add(1)
	go resolve()
	reg.waitForRequest(t, "GET /v2/shop/web/blobs/")
	for range late {
		wg.Add(1)
		go resolve()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Resolve(shop/web:1) error: %v", err)
		}
	}
	want := []string{"GET /v2/shop/web/manifests/1", "GET /v2/shop/web/blobs/" + configDigest(t, img).String()}
	if got := reg.takeRequests(); !sameRequests(got, want) {
		t.Errorf("Resolve(shop/web:1) by 1 + %d late callers: %d requests, %d of them distinct %q; want one set %q",
			late, len(got), len(slices.Compact(slices.Sorted(slices.Values(got)))), slices.Compact(slices.Sorted(slices.Values(got))), want)
	}
}

// Callers arriving a little apart, as the pods of one rollout do, must still
// share one resolution: a caller that finds the tag cached just before its
// facts are must not fetch the manifest again. The race is narrow, so the
// test runs many rounds; a correct resolver makes exactly two requests in
// every one.
func TestRoundTripStaggeredCallersShareOneFetch(t *testing.T) {
	t.Parallel()
	const rounds, callers = 20, 100
	reg := newTestRegistry(t)
	for round := range rounds {
		img := testImage(t, 1, "1000", "linux/amd64")
		tag := fmt.Sprintf("shop/web:%d", round)
		reg.push(t, tag, img)
		r := newTestResolver(t, reg, Options{})
		start := make(chan struct{})
		var wg sync.WaitGroup
		for range callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				time.Sleep(rand.N(3 * time.Millisecond))
				if _, err := r.Resolve(testContext(t, 30*time.Second), reg.ref(tag), Access{}); err != nil {
					t.Errorf("Resolve(%s) error: %v", tag, err)
				}
			}()
		}
		close(start)
		wg.Wait()
		want := []string{"GET /v2/shop/web/manifests/" + strings.TrimPrefix(tag, "shop/web:"), "GET /v2/shop/web/blobs/" + configDigest(t, img).String()}
		if got := reg.takeRequests(); !sameRequests(got, want) {
			t.Fatalf("round %d: %d staggered Resolve(%s): requests = %q, want one set %q", round, callers, tag, got, want)
		}
	}
}

// A puller keeps one authenticated transport per repository, so a scope
// pings (and, on a real registry, fetches a token for) each repository once,
// even when its first resolutions run concurrently.
func TestRoundTripOnePingPerRepository(t *testing.T) {
	t.Parallel()
	const repos = 10
	reg := newTestRegistry(t)
	for i := range repos {
		reg.push(t, fmt.Sprintf("shop/app%d:1", i), testImage(t, 1, "1000", "linux/amd64"))
	}
	r := newTestResolver(t, reg, Options{})
	reg.setWrap(latency(20 * time.Millisecond))
	reg.takeAllRequests()

	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range repos {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if _, err := r.Resolve(testContext(t, 10*time.Second), reg.ref(fmt.Sprintf("shop/app%d:1", i)), Access{}); err != nil {
				t.Errorf("Resolve(shop/app%d:1) error: %v", i, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	// Every repository again, by digest: the scope's puller must know them all.
	for i := range repos {
		img := resolveOK(t, r, reg.ref(fmt.Sprintf("shop/app%d:1", i)), Access{})
		resolveOK(t, r, reg.ref(fmt.Sprintf("shop/app%d@%s", i, img.Digest)), Access{})
	}
	all := reg.takeAllRequests()
	if pings := len(all) - len(withoutPings(all)); pings != repos {
		t.Errorf("resolving images of %d repositories, first concurrently, in one scope: %d pings, want %d (one per repository)", repos, pings, repos)
	}
}
