package images

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sync/errgroup"

	"github.com/strata-project/strata/internal/testutil"
)

func benchPush(tb testing.TB, reg *testRegistry, repoTag string, t remote.Taggable) {
	tb.Helper()
	ref, err := name.ParseReference(reg.ref(repoTag))
	if err != nil {
		tb.Fatal(err)
	}
	if err := remote.MultiWrite(map[name.Reference]remote.Taggable{ref: t}); err != nil {
		tb.Fatalf("pushing %s: %v", ref, err)
	}
	reg.takeAllRequests()
}

// benchResolver is newTestResolver without the cleanup, which would keep
// the Resolver reachable; the caller closes it.
func benchResolver(tb testing.TB, reg *testRegistry, opts Options) *Resolver {
	tb.Helper()
	opts.Insecure = append(opts.Insecure, reg.host)
	if opts.Keychain == nil {
		opts.Keychain = authn.NewMultiKeychain()
	}
	r, err := NewResolver(opts)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

func mustResolve(tb testing.TB, ctx context.Context, r *Resolver, image string) *Image {
	tb.Helper()
	img, err := r.Resolve(ctx, image, Access{})
	if err != nil {
		tb.Fatalf("Resolve(%s) error: %v", image, err)
	}
	return img
}

// countPings splits a request log into pings and the rest.
func countPings(reqs []string) (pings, others int) {
	for _, q := range reqs {
		if q == "GET /v2/" {
			pings++
		} else {
			others++
		}
	}
	return pings, others
}

func BenchmarkResolveWarm(b *testing.B) {
	reg := newTestRegistry(b)
	single := testImage(b, 3, "1000", "linux/amd64")
	benchPush(b, reg, "shop/web:1", single)
	benchPush(b, reg, "shop/web:multi", testIndex(b, types.OCIImageIndex,
		testImage(b, 3, "1000", "linux/amd64"), testImage(b, 3, "2000", "linux/arm64")))
	d, err := single.Digest()
	if err != nil {
		b.Fatal(err)
	}
	r := benchResolver(b, reg, Options{})
	b.Cleanup(r.Close)
	for _, tc := range []struct{ name, image string }{
		{"tag", reg.ref("shop/web:1")},
		{"digest", reg.ref("shop/web@" + d.String())},
		{"index", reg.ref("shop/web:multi")},
	} {
		b.Run(tc.name, func(b *testing.B) {
			ctx := b.Context()
			mustResolve(b, ctx, r, tc.image)
			reg.takeAllRequests()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := r.Resolve(ctx, tc.image, Access{}); err != nil {
					b.Fatal(err)
				}
			}
			if reqs := reg.takeAllRequests(); len(reqs) != 0 {
				b.Fatalf("warm Resolve(%s) made %d requests: %q", tc.image, len(reqs), reqs)
			}
		})
	}
}

// benchRTT is the round trip injected in the latency benchmarks, so that the
// results read as "round trips per resolution".
const benchRTT = 20 * time.Millisecond

func BenchmarkResolveCold(b *testing.B) {
	reg := newTestRegistry(b)
	benchPush(b, reg, "shop/web:1", testImage(b, 3, "1000", "linux/amd64"))
	benchPush(b, reg, "shop/web:multi", testIndex(b, types.OCIImageIndex,
		testImage(b, 3, "1000", "linux/amd64"), testImage(b, 3, "2000", "linux/arm64")))
	benchPush(b, reg, "shop/web:warm", testImage(b, 1, "0", "linux/amd64"))
	reg.setWrap(latency(benchRTT))
	base := newBaseTransport(nil)
	b.Cleanup(base.CloseIdleConnections)

	for _, tc := range []struct {
		name, tag  string
		warmPuller bool
	}{
		{"image/new-puller", "shop/web:1", false},
		{"image/warm-puller", "shop/web:1", true},
		{"index/new-puller", "shop/web:multi", false},
		{"index/warm-puller", "shop/web:multi", true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			ctx := b.Context()
			var pings, others int
			b.ReportAllocs()
			for b.Loop() {
				// A new Resolver per iteration keeps every resolution cold.
				b.StopTimer()
				r := benchResolver(b, reg, Options{Transport: base})
				if tc.warmPuller {
					// Another tag of the repository: ping (and token) done.
					mustResolve(b, ctx, r, reg.ref("shop/web:warm"))
				}
				reg.takeAllRequests()
				b.StartTimer()

				mustResolve(b, ctx, r, reg.ref(tc.tag))

				b.StopTimer()
				p, o := countPings(reg.takeAllRequests())
				pings, others = pings+p, others+o
				r.Close()
				b.StartTimer()
			}
			n := float64(b.N)
			b.ReportMetric(float64(b.Elapsed())/float64(benchRTT)/n, "RTT/op")
			b.ReportMetric(float64(others)/n, "requests/op")
			b.ReportMetric(float64(pings)/n, "pings/op")
		})
	}
}

func BenchmarkRecheckAfterTTL(b *testing.B) {
	const ttl = time.Minute
	reg := newTestRegistry(b)
	benchPush(b, reg, "shop/web:1", testImage(b, 3, "1000", "linux/amd64"))
	for _, latent := range []bool{false, true} {
		b.Run(fmt.Sprintf("latency=%t", latent), func(b *testing.B) {
			ctx := b.Context()
			clock := testutil.NewClock(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
			r := benchResolver(b, reg, Options{Now: clock.Now, TagTTL: ttl})
			defer r.Close()
			mustResolve(b, ctx, r, reg.ref("shop/web:1"))
			if latent {
				reg.setWrap(latency(benchRTT))
				defer reg.setWrap(nil)
			}
			reg.takeAllRequests()
			var pings, others int
			b.ReportAllocs()
			for b.Loop() {
				clock.Advance(ttl + time.Second)
				mustResolve(b, ctx, r, reg.ref("shop/web:1"))
				b.StopTimer()
				p, o := countPings(reg.takeAllRequests())
				pings, others = pings+p, others+o
				b.StartTimer()
			}
			n := float64(b.N)
			if latent {
				b.ReportMetric(float64(b.Elapsed())/float64(benchRTT)/n, "RTT/op")
			}
			b.ReportMetric(float64(others)/n, "requests/op")
			b.ReportMetric(float64(pings)/n, "pings/op")
		})
	}
}

// realisticImages returns n images that share 12 layers and differ in their
// configs, each as a typical application image's: a USER, five env vars, a
// command, a few labels and a short history of 12 steps.
func realisticImages(tb testing.TB, n int) []v1.Image {
	tb.Helper()
	base, err := random.Image(256, 12)
	if err != nil {
		tb.Fatal(err)
	}
	baseCfg, err := base.ConfigFile()
	if err != nil {
		tb.Fatal(err)
	}
	steps := []string{
		"ADD rootfs.tar.xz / # buildkit",
		"RUN apt-get update && apt-get install -y ca-certificates tzdata # buildkit",
		"RUN groupadd -g 1001 app && useradd -u 1001 -g app app # buildkit",
		"WORKDIR /app",
		"COPY go.mod go.sum ./ # buildkit",
		"RUN go mod download # buildkit",
		"COPY . . # buildkit",
		"RUN CGO_ENABLED=0 go build -o /app/bin/server ./cmd/server # buildkit",
		"COPY config.yaml /etc/app/config.yaml # buildkit",
		"RUN chown -R app:app /app # buildkit",
		"COPY entrypoint.sh /usr/local/bin/ # buildkit",
		"RUN chmod +x /usr/local/bin/entrypoint.sh # buildkit",
	}
	created := time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC)
	out := make([]v1.Image, n)
	for i := range out {
		cf := baseCfg.DeepCopy()
		version := fmt.Sprintf("1.4.%d", i)
		cf.OS, cf.Architecture = "linux", "amd64"
		cf.Created = v1.Time{Time: created.Add(time.Duration(i) * time.Minute)}
		cf.Config.User = "1001"
		cf.Config.Env = []string{
			"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			"LANG=C.UTF-8",
			"TZ=UTC",
			"APP_HOME=/app",
			"APP_VERSION=" + version,
		}
		cf.Config.Cmd = []string{"/app/bin/server", "--config", "/etc/app/config.yaml"}
		cf.Config.WorkingDir = "/app"
		cf.Config.Labels = map[string]string{
			"org.opencontainers.image.source":   "https://github.com/example/shop",
			"org.opencontainers.image.revision": fmt.Sprintf("%040x", i),
			"org.opencontainers.image.version":  version,
		}
		cf.History = make([]v1.History, len(steps))
		for j, s := range steps {
			cf.History[j] = v1.History{Created: cf.Created, CreatedBy: s}
		}
		if out[i], err = mutate.ConfigFile(base, cf); err != nil {
			tb.Fatal(err)
		}
	}
	return out
}

func liveHeap() int64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// factsMemory is what n cached images cost in memory, per image.
type factsMemory struct {
	// perFact is what dropping the facts frees: the facts, the strings and
	// lists only they held.
	perFact float64
	// sinceStart is what the facts keep over the heap before the first
	// resolution, the Resolver closed: perFact plus whatever the interning
	// tables and the closed Resolver still hold. It does not depend on when
	// the runtime forgets interned strings that nothing holds any more.
	sinceStart float64
	// withResolver is the whole Resolver per resolved tag.
	withResolver float64
	// cost is what (*Facts).cost estimates for the cache's byte bound.
	cost float64
}

// measureFacts pushes n realisticImages, resolves each by tag through one
// Resolver (16 at a time), calls warm with the Resolver holding them all,
// then measures what the facts keep.
func measureFacts(tb testing.TB, n int, warm func(r *Resolver, tags []string)) factsMemory {
	tb.Helper()
	reg := newTestRegistry(tb)
	todo := make(map[name.Reference]remote.Taggable, n)
	tags := make([]string, n)
	for i, img := range realisticImages(tb, n) {
		tags[i] = reg.ref(fmt.Sprintf("shop/web:%d", i))
		ref, err := name.ParseReference(tags[i])
		if err != nil {
			tb.Fatal(err)
		}
		todo[ref] = img
	}
	if err := remote.MultiWrite(todo, remote.WithJobs(16)); err != nil {
		tb.Fatal(err)
	}
	clear(todo)
	reg.takeAllRequests()
	base := newBaseTransport(nil)
	tb.Cleanup(base.CloseIdleConnections)
	ctx := tb.Context()

	base.CloseIdleConnections()
	before := liveHeap()
	r := benchResolver(tb, reg, Options{Transport: base})
	facts := make([]*Facts, n)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	for i, tag := range tags {
		g.Go(func() error {
			img, err := r.Resolve(gctx, tag, Access{})
			if err != nil {
				return err
			}
			facts[i] = img.Platforms[0]
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		tb.Fatal(err)
	}
	reg.takeAllRequests()
	if warm != nil {
		warm(r, tags)
		if reqs := reg.takeAllRequests(); len(reqs) != 0 {
			tb.Fatalf("warm Resolve made %d requests", len(reqs))
		}
	}

	base.CloseIdleConnections()
	withResolver := liveHeap()
	r.Close() // and unreachable from here on
	base.CloseIdleConnections()
	reg.takeAllRequests()
	factsOnly := liveHeap()
	var cost int64
	for j, f := range facts {
		if f.Layers != 12 || len(f.History) != 12 || len(f.Config.Env) != 5 || f.Config.Labels.Len() != 3 {
			tb.Fatalf("facts of %s: %d layers, %d history entries, %d env vars, %d labels; want 12, 12, 5, 3", tags[j], f.Layers, len(f.History), len(f.Config.Env), f.Config.Labels.Len())
		}
		cost += f.cost()
	}
	clear(facts)
	none := liveHeap()
	runtime.KeepAlive(facts)
	per := func(b int64) float64 { return float64(b) / float64(n) }
	return factsMemory{perFact: per(factsOnly - none), sinceStart: per(factsOnly - before), withResolver: per(withResolver - before), cost: per(cost)}
}

// BenchmarkFactsMemory measures what a cached image costs in memory: the
// facts alone, the whole Resolver per resolved tag, and what (*Facts).cost
// estimates for the cache's byte bound. The timed loop is a warm Resolve
// against a cache holding all of them.
func BenchmarkFactsMemory(b *testing.B) {
	const n = 2000
	m := measureFacts(b, n, func(r *Resolver, tags []string) {
		ctx := b.Context()
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			mustResolve(b, ctx, r, tags[i%n])
			i++
		}
	})
	b.ReportMetric(m.perFact, "B/fact")
	b.ReportMetric(m.sinceStart, "kept-B/fact")
	b.ReportMetric(m.withResolver, "resolver-B/image")
	b.ReportMetric(m.cost, "cost-B/fact")
}
