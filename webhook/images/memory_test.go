package images

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/strata-project/strata/webhook/internal/memtest"
)

// pings counts the GET /v2/ requests the registry has seen and forgets
// every request recorded so far, so that the log itself is not retained.
func (r *testRegistry) pings() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, q := range r.requests {
		if q == "GET /v2/" {
			n++
		}
	}
	r.requests = nil
	return n
}

// memoryTestBudget is the resolver's CacheBytes in the memory tests: small,
// so that what an attacker sends exceeds it many times over.
const memoryTestBudget = 1 << 20

// retainedSlack is what a resolver may keep beyond its caches' budget:
// connection pools, the registry's request log, the allocator's free spans.
const retainedSlack = 2 << 20

// resolveMissing resolves image, which the registry does not have, and
// fails t unless the answer is that.
func resolveMissing(t *testing.T, ctx context.Context, r *Resolver, image string) {
	t.Helper()
	if _, err := r.Resolve(ctx, image, Access{}); KindOf(err) != KindNotFound {
		t.Fatalf("Resolve(%q) = %v, want kind %v", image, err, KindNotFound)
	}
}

// floodOfMissing resolves n references the registry does not have, the
// i-th named by ref(i), and fails t when they leave the heap more than the
// resolver's budget larger. It returns the /v2/ pings the flood sent; what
// the registry recorded of the requests is dropped before the heap is read.
func floodOfMissing(t *testing.T, reg *testRegistry, r *Resolver, what string, n int, ref func(int) string) (pings int) {
	t.Helper()
	ctx := testContext(t, 5*time.Minute)
	before, after := memtest.HeldWithin(t, memtest.Bound{What: fmt.Sprintf("%d %s", n, what), Budget: memoryTestBudget, Slack: retainedSlack}, func() {
		for i := range n {
			resolveMissing(t, ctx, r, ref(i))
		}
		pings = reg.pings()
	}, r)
	t.Logf("%d bytes per reference", (after-before)/int64(n))
	return pings
}

// Each "not found" was remembered at a cost of 1 but held
// go-containerregistry's error with its *http.Request (its URL, headers and
// context): 40,000 unique failing tags held 293 MB. A remembered failure is
// now a small typed error costed by its size, so the flood stays within
// the cache budget, and the remembered answer still says what failed.
func TestFloodOfFailingTagsCannotHoldMemoryPastTheCacheBudget(t *testing.T) {
	reg := newTestRegistry(t)
	r := newTestResolver(t, reg, Options{CacheBytes: memoryTestBudget, NotFoundTTL: time.Hour})
	ctx := testContext(t, 5*time.Minute)
	resolveMissing(t, ctx, r, reg.ref("flood/app:missing"))
	reg.pings()
	tags := 10000
	if testing.Short() {
		tags = 3000
	}
	floodOfMissing(t, reg, r, "unique failing tags", tags, func(i int) string { return reg.ref(fmt.Sprintf("flood/app:missing-%d", i)) })

	// The most recent failure is answered from the cache, as it was seen.
	last := reg.ref(fmt.Sprintf("flood/app:missing-%d", tags-1))
	_, err := r.Resolve(ctx, last, Access{})
	wantKind(t, last, err, KindNotFound, "flood/app")
	if got := reg.takeRequests(); len(got) != 0 {
		t.Errorf("Resolve(%q) again within NotFoundTTL sent %q, want the remembered answer", last, got)
	}
	for _, want := range []string{"404", "manifests/missing-"} {
		if err != nil && !strings.Contains(err.Error(), want) {
			t.Errorf("Resolve(%q) from the cache = %q, want it to mention %q", last, err, want)
		}
	}
}

// Every new repository made a new go-containerregistry reader in the scope's
// puller, kept for an hour, and paid a /v2/ ping: 60,000 unique
// repositories climbed past 420 MB and sent 200,323 requests. The ping is
// now asked once per registry host and scope, and the per-repository
// sessions are an LRU within the byte budget.
func TestThousandsOfRepositoriesCostOnePingAndABoundedHeap(t *testing.T) {
	reg := newTestRegistry(t)
	reg.push(t, "real/app:1", testImage(t, 1, "1000", "linux/amd64"))
	r := newTestResolver(t, reg, Options{CacheBytes: memoryTestBudget})
	ctx := testContext(t, 5*time.Minute)
	if _, err := r.Resolve(ctx, reg.ref("real/app:1"), Access{}); err != nil {
		t.Fatal(err)
	}
	reg.pings()
	repos := 5000
	if testing.Short() {
		repos = 2000
	}
	if got := floodOfMissing(t, reg, r, "unique repositories", repos, func(i int) string { return reg.ref(fmt.Sprintf("tenant/repo-%d:1", i)) }); got > 0 {
		t.Errorf("%d new repositories on a registry already pinged sent %d pings (GET /v2/), want none", repos, got)
	}

	// The image resolved first still resolves, with its session rebuilt if
	// it was evicted, and without a new ping.
	if _, err := r.Resolve(ctx, reg.ref("real/app@"+resolveOK(t, r, reg.ref("real/app:1"), Access{}).Digest.String()), Access{}); err != nil {
		t.Errorf("Resolve(real/app by digest) after the flood = %v", err)
	}
	if got := reg.pings(); got > 0 {
		t.Errorf("a repository whose session was evicted sent %d pings, want none", got)
	}
}

// Issue 16: a cached image fact cost 3,496 bytes (BenchmarkFactsMemory):
// each held its own copy of the platform, the media type, the history text
// of its base and of every earlier build, its labels in a Go map, and each
// step's created time and comment, which nothing reads. The facts now hold
// one copy of what images share and only what policies and inspect read.
// Measured as BenchmarkFactsMemory measures it, on the same images: builds
// of one application on one 12-layer base, each with a config of its own
// (version, revision, created), 12 history steps, 5 env vars, 3 labels.
func TestCachedFactsCostAtMostOneKiB(t *testing.T) {
	n := 2000
	if testing.Short() {
		n = 500
	}
	m := measureFacts(t, n, nil)
	t.Logf("%d cached facts: %.0f bytes each freed with them, %.0f kept over the heap before the first resolution; cost estimated %.0f", n, m.perFact, m.sinceStart, m.cost)
	for _, got := range []struct {
		what  string
		bytes float64
	}{{"freed with each fact", m.perFact}, {"kept per fact", m.sinceStart}} {
		if got.bytes > 1024 {
			t.Errorf("%s: %.0f bytes, want at most 1 KiB", got.what, got.bytes)
		}
	}
	// The cache's byte bound charges each fact for all it holds, shared or
	// not, so that no tenant can hold more than the budget through it.
	if m.cost < m.sinceStart {
		t.Errorf("(*Facts).cost() = %.0f bytes a fact, below the %.0f it keeps: the cache budget would not bound the facts", m.cost, m.sinceStart)
	}
}
