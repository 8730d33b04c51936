package lineage

import (
	"fmt"
	"hash/maphash"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/empty"

	"github.com/strata-project/strata/webhook/images"
)

// syntheticCatalog builds a catalog of n images of 1–15 layers each, in
// families that share prefixes as real bases do, plus a 20-layer image
// built on one of them.
func syntheticCatalog(n int) (*Catalog, *images.Facts) {
	rng := rand.New(rand.NewPCG(uint64(n), 7))
	randomDigest := func() (d images.Digest) {
		for i := range d {
			d[i] = byte(rng.Uint32())
		}
		return d
	}
	var nodes []*node
	var roots [][]images.Digest
	for i := range n {
		var ids []images.Digest
		if len(roots) > 0 && rng.IntN(2) == 0 {
			parent := roots[rng.IntN(len(roots))]
			ids = append(ids, parent...)
		}
		for len(ids) < 1+rng.IntN(15) || len(ids) == 0 {
			ids = append(ids, randomDigest())
		}
		if len(ids) > 15 {
			ids = ids[:15]
		}
		if len(ids) <= 5 {
			roots = append(roots, ids)
		}
		nodes = append(nodes, &node{digest: randomDigest(), platform: "linux/amd64", diffIDs: ids, role: "os", names: []string{fmt.Sprintf("registry.example.com/base/img%d:1", i)}})
	}
	base := nodes[len(nodes)/2]
	app := &images.Facts{Digest: randomDigest(), Platform: "linux/amd64", DiffIDs: append([]images.Digest{}, base.diffIDs...)}
	for len(app.DiffIDs) < 20 {
		app.DiffIDs = append(app.DiffIDs, randomDigest())
	}
	c := &Catalog{opts: Options{MaxClaimDepth: 8}, seed: maphash.MakeSeed()}
	c.current.Store(newIndex(c.seed, nodes, map[string]*tagState{}))
	return c, app
}

func BenchmarkLineageMatch(b *testing.B) {
	for _, size := range []int{10, 1000, 10000} {
		b.Run(fmt.Sprintf("catalog=%d", size), func(b *testing.B) {
			c, app := syntheticCatalog(size)
			ix := c.current.Load()
			if l := c.lineage(b.Context(), ix, app, images.Access{}); len(l.Chain) == 0 {
				b.Fatalf("the synthetic app matched nothing in a catalog of %d", size)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				c.lineage(b.Context(), ix, app, images.Access{}) // uncached: the matching itself
			}
		})
	}
}

// BenchmarkCatalogMemory reports the heap bytes the index holds per catalog
// image of 10 layers.
func BenchmarkCatalogMemory(b *testing.B) {
	const n = 10000
	for b.Loop() {
		rng := rand.New(rand.NewPCG(1, 1))
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		nodes := make([]*node, n)
		for i := range nodes {
			ids := make([]images.Digest, 10)
			for j := range ids {
				for k := range ids[j] {
					ids[j][k] = byte(rng.Uint32())
				}
			}
			var d images.Digest
			d[0], d[1] = byte(i), byte(i>>8)
			nodes[i] = &node{digest: d, platform: "linux/amd64", diffIDs: ids, role: "os", names: []string{fmt.Sprintf("registry.example.com/base/image-%05d:12", i)}}
		}
		ix := newIndex(maphash.MakeSeed(), nodes, nil)
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "B/image")
		runtime.KeepAlive(ix)
	}
}

// BenchmarkCatalogRefresh1000 refreshes a catalog of 1,000 tags of which
// ten moved: unchanged tags must cost one HEAD each and nothing else.
func BenchmarkCatalogRefresh1000(b *testing.B) {
	w := newWorld(b, images.Options{TagTTL: 1})
	var entries []CatalogImage
	for i := range 1000 {
		repo := fmt.Sprintf("base/img%04d:1", i)
		w.push(repo, w.build(empty.Image, 1, "linux/amd64"), nil)
		entries = append(entries, CatalogImage{Ref: repo, Role: "os"})
	}
	c := w.catalog(Options{Images: entries, Concurrency: 16})
	if err := c.Refresh(b.Context()); err != nil {
		b.Fatal(err)
	}
	var heads int64
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		for j := range 10 {
			w.push(fmt.Sprintf("base/img%04d:1", (i*10+j)%1000), w.build(empty.Image, 1, "linux/amd64"), nil)
		}
		w.heads.Store(0)
		w.gets.Store(0)
		b.StartTimer()
		if err := c.Refresh(b.Context()); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		heads = w.heads.Load()
		if heads != 1000 || w.gets.Load() != 10 {
			b.Fatalf("refresh of 1,000 tags with 10 moved: %d HEAD, %d GET manifest requests; want 1000 and 10", w.heads.Load(), w.gets.Load())
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(heads)/1000, "HEAD/tag")
}

// catalogStateBytes records n catalog tags, each a single-platform image of
// 3 layers (the full-size scenario's runtimes: the OS base's 2 and one of
// their own), twice (a refresh that finds nothing moved), builds the index
// and returns the heap bytes the catalog holds per tag: its state and the
// index, not the facts, which the resolver's cache holds.
func catalogStateBytes(tb testing.TB, n int) float64 {
	tb.Helper()
	rng := rand.New(rand.NewPCG(3, 3))
	digest := func() (d images.Digest) {
		for i := range d {
			d[i] = byte(rng.Uint32())
		}
		return d
	}
	osLayers := []images.Digest{digest(), digest()}
	refs := make([]images.Reference, n)
	imgs := make([]*images.Image, n)
	for i := range n {
		ref, err := images.ParseReference(fmt.Sprintf("registry.example.com/base/runtime-%05d:1", i))
		if err != nil {
			tb.Fatal(err)
		}
		f := &images.Facts{Digest: digest(), Platform: "linux/amd64", DiffIDs: append(slices.Clip(osLayers), digest())}
		refs[i], imgs[i] = ref, &images.Image{Ref: ref.String(), Digest: f.Digest, Platforms: []*images.Facts{f}}
	}
	c, err := NewCatalog(nil, nil, Options{})
	if err != nil {
		tb.Fatal(err)
	}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 2 {
		c.mu.Lock()
		for i := range n {
			c.record(refs[i], "runtime", imgs[i])
		}
		c.current.Store(c.buildIndex())
		c.mu.Unlock()
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(c)
	runtime.KeepAlive(imgs)
	return float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
}

// BenchmarkCatalogStateMemory reports what a catalog of 10,000 tags holds
// per tag beyond the facts of its images.
func BenchmarkCatalogStateMemory(b *testing.B) {
	for b.Loop() {
		b.ReportMetric(catalogStateBytes(b, 10000), "B/tag")
	}
}
