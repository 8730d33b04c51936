package webhook

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"go.uber.org/goleak"

	"github.com/strata-project/strata/webhook/demo"
	"github.com/strata-project/strata/webhook/images"
	"github.com/strata-project/strata/webhook/internal/hangtest"
	"github.com/strata-project/strata/webhook/policy"
	"github.com/strata-project/strata/webhook/workload"
)

// podWithImages is a Pod whose n containers each run a distinct image of host.
func podWithImages(host string, n int) *workload.Workload {
	w := &workload.Workload{Kind: "Pod", Name: "many", Namespace: "shop"}
	for i := range n {
		w.Containers = append(w.Containers, workload.Container{
			Name:  fmt.Sprintf("c%d", i),
			Type:  "container",
			Image: fmt.Sprintf("%s/app%d:1", host, i),
		})
	}
	return w
}

// The attack: one Pod with thousands of distinct images at a registry that
// hangs, on a 5s request. It was answered after 7.2s, with 37k goroutines
// and ~7,900 registry connections (concurrency 8). Past 500 containers (on
// two platforms) the bound on evaluations answers at once (the next test);
// up to it, the answer comes within the request's deadline, registry
// connections stay within the per-host bound, and nothing keeps running for
// the images never started.
func TestPodWithHundredsOfImagesAtAHangingRegistryIsAnsweredInTime(t *testing.T) {
	// Not parallel: goroutines are counted.
	p := newPipeline(t)
	ignore := goleak.IgnoreCurrent()
	before := runtime.NumGoroutine()
	reg := hangtest.New(t)
	resolver, err := images.NewResolver(images.Options{
		Hosts:        map[string]string{"hang.test": strings.TrimPrefix(reg.URL, "http://")},
		Insecure:     []string{"hang.test"},
		Keychain:     authn.NewMultiKeychain(),
		FetchTimeout: 2 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	// 500 containers × 2 platforms: the most the default bound lets through.
	const n = 500
	c := NewChecker(CheckerOptions{Resolver: resolver, Lineage: p.Catalog, Evaluator: p.Engine, ResolveBudget: time.Second})
	w := podWithImages("hang.test", n)

	const deadline = 5 * time.Second
	ctx, cancel := context.WithTimeout(t.Context(), deadline)
	defer cancel()
	start := time.Now()
	var peak atomic.Int64
	stop := make(chan struct{})
	var sampler sync.WaitGroup
	sampler.Go(func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
				if n := int64(runtime.NumGoroutine()); n > peak.Load() {
					peak.Store(n)
				}
			}
		}
	})
	vs := c.Check(ctx, policy.Request{Operation: "CREATE", Namespace: "shop", Mode: policy.Enforce}, w)
	took := time.Since(start)
	close(stop)
	sampler.Wait()

	if took >= deadline {
		t.Errorf("Check(pod with %d images at a hanging registry) answered after %v, want within the request's %v", n, took, deadline)
	}
	if d := Decide(policy.Enforce, vs); d.Allowed {
		t.Errorf("Decide(enforce, Check(pod with %d unresolvable images)) allowed it, want a denial", n)
	}
	for _, v := range vs {
		if v.Policy != "image-resolution" {
			t.Errorf("Check(pod at a hanging registry) = violation %+v, want only image-resolution", v)
			break
		}
	}
	// A slot is given back when its request gives up; the registry sees that
	// connection close a moment later, so up to twice the bound may overlap.
	if got, want := reg.MaxOpen(), 16; got > 2*want {
		t.Errorf("Check(pod with %d images) held %d registry connections at once, want at most the per-host bound %d (twice that while closing)", n, got, want)
	}
	if got := peak.Load() - int64(before); got > 500 {
		t.Errorf("Check(pod with %d images) ran %d more goroutines at its peak, want a bounded few hundred", n, got)
	}
	resolver.Close()
	reg.Close()
	goleak.VerifyNone(t, ignore)
}

// The same pod with the default bounds: 4,000 containers × 2 platforms is
// past the bound on evaluations per request, which is reported once, by
// name, without a single registry request and without 4,000 violations.
func TestPodWithThousandsOfImagesGetsOneBoundViolation(t *testing.T) {
	t.Parallel()
	reg := hangtest.New(t)
	resolver, err := images.NewResolver(images.Options{
		Hosts:    map[string]string{"hang.test": strings.TrimPrefix(reg.URL, "http://")},
		Insecure: []string{"hang.test"},
		Keychain: authn.NewMultiKeychain(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(resolver.Close)
	p := newPipeline(t)
	c := NewChecker(CheckerOptions{Resolver: resolver, Lineage: p.Catalog, Evaluator: p.Engine})
	for _, mode := range []policy.Action{policy.Enforce, policy.Warn, policy.Audit} {
		vs := c.Check(t.Context(), policy.Request{Operation: "CREATE", Namespace: "shop", Mode: mode}, podWithImages("hang.test", 4000))
		if len(vs) != 1 || vs[0].Policy != "image-resolution" || !strings.Contains(vs[0].Msg, "4000 containers") || !strings.Contains(vs[0].Msg, "1000") {
			t.Fatalf("Check(%s, pod with 4000 images) = %d violations, first %+v; want one image-resolution violation naming the bound (1000 evaluations) and the 4000 containers", mode, len(vs), first(vs))
		}
		d := Decide(mode, vs)
		if d.Allowed != (mode != policy.Enforce) {
			t.Errorf("Decide(%s, the bound's violation) allowed = %v, want a denial only in enforce", mode, d.Allowed)
		}
	}
	if reg.Total() != 0 {
		t.Errorf("Check(pod past the bound) opened %d registry connections, want none", reg.Total())
	}
}

func first(vs []policy.Violation) policy.Violation {
	if len(vs) == 0 {
		return policy.Violation{}
	}
	return vs[0]
}

// noPlatforms resolves every image to an Image with no platform facts: a
// Resolver that found nothing to check must not make a pod pass unchecked.
type noPlatforms struct{}

func (noPlatforms) Resolve(_ context.Context, image string, _ images.Access) (*images.Image, error) {
	return &images.Image{Written: image, Ref: image}, nil
}

func TestImageWithZeroPlatformsIsAResolutionError(t *testing.T) {
	t.Parallel()
	p := newPipeline(t)
	c := NewChecker(CheckerOptions{Resolver: noPlatforms{}, Lineage: p.Catalog, Evaluator: p.Engine})
	w := &workload.Workload{Kind: "Pod", Name: "empty", Namespace: "shop",
		Containers: []workload.Container{{Name: "app", Type: "container", Image: "registry.example.com/app:1"}}}
	vs := c.Check(t.Context(), policy.Request{Operation: "CREATE", Namespace: "shop", Mode: policy.Enforce}, w)
	if len(vs) != 1 || vs[0].Policy != "image-resolution" || !strings.Contains(vs[0].Msg, "no platform") {
		t.Fatalf("Check(image resolved to zero platforms) = %+v, want one image-resolution violation saying it has no platform to check", vs)
	}
	if d := Decide(policy.Enforce, vs); d.Allowed {
		t.Errorf("Decide(enforce, image with zero platforms) allowed it, want a denial")
	}
}

// registryFront stands in front of a registry: it counts the requests it
// passes on and, while down is set, answers 503 to every request instead,
// a registry outage during which a tag may have moved.
type registryFront struct {
	requests atomic.Int64
	down     atomic.Bool
}

// frontRegistry puts a registryFront before the registry at addr and
// returns the front's host:port.
func frontRegistry(t *testing.T, addr string) (string, *registryFront) {
	t.Helper()
	f := &registryFront{}
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: addr})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if f.down.Load() {
			http.Error(w, "maintenance", http.StatusServiceUnavailable)
			return
		}
		f.requests.Add(1)
		proxy.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), f
}

// switchableRegistry fronts the registry at addr; setting down takes it
// down.
func switchableRegistry(t *testing.T, addr string) (host string, down *atomic.Bool) {
	t.Helper()
	host, f := frontRegistry(t, addr)
	return host, &f.down
}

// countingRegistry fronts the registry at addr and counts the requests it
// passes on.
func countingRegistry(t *testing.T, addr string) (host string, requests *atomic.Int64) {
	t.Helper()
	host, f := frontRegistry(t, addr)
	return host, &f.requests
}

// The attack: re-point a tag to a root image, then keep the registry
// answering 503 to strata's re-check. strata went on deciding on the old,
// compliant digest for up to tagTTL + 1h. In enforce mode the tag is now
// unresolved, with a reason that names the stale fallback it refused; warn
// and audit use the old digest and say so.
func TestTagRepointedDuringRegistryOutageIsNotDecidedOnTheStaleDigestInEnforce(t *testing.T) {
	t.Parallel()
	p := newPipeline(t)
	addr, down := switchableRegistry(t, p.Demo.Addr)
	var elapsed atomic.Int64 // what the resolver's clock has moved on
	now := func() time.Time {
		return time.Date(2026, 11, 30, 3, 0, 0, 0, time.UTC).Add(time.Duration(elapsed.Load()))
	}
	resolver, err := images.NewResolver(images.Options{
		Hosts:    map[string]string{demo.Host: addr},
		Insecure: []string{demo.Host},
		Keychain: authn.NewMultiKeychain(),
		TagTTL:   time.Minute,
		Now:      now,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(resolver.Close)
	c := NewChecker(CheckerOptions{Resolver: resolver, Lineage: p.Catalog, Evaluator: p.Engine})
	w := &workload.Workload{Kind: "Pod", Name: "web", Namespace: "shop",
		Containers: []workload.Container{{Name: "web", Type: "container", Image: p.Demo.Ref("shop/web:1.0")}}}
	check := func(mode policy.Action) Decision {
		return Decide(mode, c.Check(t.Context(), policy.Request{Operation: "CREATE", Namespace: "shop", Mode: mode}, w))
	}
	if d := check(policy.Enforce); !d.Allowed || len(d.Violations) != 0 {
		t.Fatalf("Check(enforce, shop/web:1.0 with the registry up) = %+v, want allowed without violations", d)
	}

	elapsed.Add(int64(12 * time.Minute))
	down.Store(true)

	d := check(policy.Enforce)
	if d.Allowed {
		t.Fatalf("Check(enforce, shop/web:1.0 past its tag TTL, registry answering 503) allowed it on the digest seen 12m ago, want a denial")
	}
	t.Logf("enforce: %s", d.Message)
	for _, want := range []string{"image-resolution", "503", "refuses", "12m0s ago", "enforce"} {
		if !strings.Contains(d.Message, want) {
			t.Errorf("Check(enforce, stale tag) denial = %q, want it to mention %q", d.Message, want)
		}
	}
	for _, mode := range []policy.Action{policy.Warn, policy.Audit} {
		d := check(mode)
		if !d.Allowed {
			t.Errorf("Check(%s, stale tag) = denied %q, want allowed", mode, d.Message)
		}
		said := strings.Join(d.Warnings, "\n") + d.Audit
		t.Logf("%s: %s", mode, said)
		for _, want := range []string{"stale", "503", "12m0s ago"} {
			if !strings.Contains(said, want) {
				t.Errorf("Check(%s, stale tag) warnings %q, audit %q; want them to mention %q", mode, d.Warnings, d.Audit, want)
			}
		}
	}
}
