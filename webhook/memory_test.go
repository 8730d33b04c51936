package webhook

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/strata-project/strata/webhook/internal/imagetest"
	"github.com/strata-project/strata/webhook/internal/memtest"
	"github.com/strata-project/strata/webhook/policy"
	"github.com/strata-project/strata/webhook/workload"
)

// largeConfigImages pushes n images to host/large/app-i:1 that share one
// config of labels totalling labelBytes (so that the registry holds it
// once) and differ by an annotation, each a distinct digest to strata.
func largeConfigImages(t *testing.T, host string, n, labelBytes int) []string {
	t.Helper()
	img := imagetest.Image(t, 1, func(cf *v1.ConfigFile) {
		cf.OS, cf.Architecture = "linux", "amd64"
		cf.Config.User = "1000"
		cf.Config.Labels = map[string]string{}
		for i := 0; i*1024 < labelBytes; i++ {
			cf.Config.Labels[fmt.Sprintf("org.example.blob.%04d", i)] = strings.Repeat("x", 1000)
		}
	})
	refs := make([]string, n)
	for i := range n {
		ref := fmt.Sprintf("%s/large/app-%d:1", host, i)
		tagged, err := name.ParseReference(ref)
		if err != nil {
			t.Fatal(err)
		}
		distinct := mutate.Annotations(img, map[string]string{"org.example.n": fmt.Sprint(i)}).(v1.Image)
		if err := remote.Write(tagged, distinct); err != nil {
			t.Fatalf("pushing %s: %v", ref, err)
		}
		refs[i] = ref
	}
	return refs
}

// memoryOverhead is what the pipeline may keep beyond cache.maxBytes after
// a flood: the allocator's spans and size-class rounding that the caches'
// estimates leave out, connection pools, the test registry's manifests.
const memoryOverhead = 16 << 20

// Issue 19 §2's acceptance: 50,000 distinct failing references (each its
// own repository, so each a remembered failure and a registry session) and
// 1,000 images with 1 MiB of config labels, admitted through the Checker
// that serve builds, leave the heap within cache.maxBytes plus a fixed
// overhead: no cache of strata grows with what tenants send.
func TestFloodOfFailingReferencesAndLargeConfigsStaysWithinTheCacheBudget(t *testing.T) {
	// The full scale (the numbers) takes minutes; the default and
	// -short runs are scaled down to fit go test's time under -race.
	failing, large, labelBytes := 1000, 20, 1<<20
	if os.Getenv("STRATA_MEMORY_FULL_SCALE") != "" {
		failing, large = 50000, 1000
	} else if testing.Short() {
		failing, large = 500, 10
	}
	host := imagetest.Registry(t)
	refs := largeConfigImages(t, host, large, labelBytes)

	cfg := DefaultConfig()
	cfg.Platforms = []string{"linux/amd64"}
	cfg.Registry.Insecure = []string{host}
	cfg.Registry.Timeout = Duration{time.Minute}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	p, err := NewPipeline(t.Context(), cfg, PipelineOptions{Keychain: authn.NewMultiKeychain()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	req := policy.Request{Operation: "CREATE", Namespace: "tenant", Mode: policy.Enforce}
	admit := func(i int, images ...string) []policy.Violation {
		w := &workload.Workload{Kind: "Pod", Name: fmt.Sprintf("pod-%d", i), Namespace: "tenant"}
		for j, image := range images {
			w.Containers = append(w.Containers, workload.Container{Name: fmt.Sprintf("c%d", j), Type: workload.TypeContainer, Image: image})
		}
		return p.Checker.Check(t.Context(), req, w)
	}
	admit(-1, refs[0])

	what := fmt.Sprintf("%d failing references and %d images with %d KiB of config labels", failing, large, labelBytes>>10)
	t.Logf("cache.maxBytes %s", cfg.Cache.MaxBytes.String())
	memtest.HeldWithin(t, memtest.Bound{What: what, Budget: cfg.Cache.MaxBytes.Value(), Slack: memoryOverhead}, func() {
		const perPod = 50
		for i := 0; i < failing; i += perPod {
			var images []string
			for j := i; j < i+perPod && j < failing; j++ {
				images = append(images, fmt.Sprintf("%s/missing-%d/app:%d", host, j, j))
			}
			vs := admit(i, images...)
			if len(vs) != len(images) || vs[0].Policy != "image-resolution" {
				t.Fatalf("a pod of %d missing images got %d violations (first %+v), want one image-resolution violation each", len(images), len(vs), vs[0])
			}
		}
		for i, ref := range refs {
			for _, v := range admit(i, ref) {
				if v.Policy == "image-resolution" || v.Policy == policy.PolicyError {
					t.Fatalf("admitting %s: %+v, want it resolved and evaluated", ref, v)
				}
			}
		}
	}, p)
}

// cache.maxBytes reads bytes or a quantity, is split between the caches,
// and refuses a budget too small to serve.
func TestCacheMaxBytesIsOneBudgetSplitBetweenTheCaches(t *testing.T) {
	cfg := DefaultConfig()
	if got := cfg.Cache.MaxBytes.Value(); got != 32<<20 {
		t.Errorf("default cache.maxBytes = %d, want 32 MiB", got)
	}
	cfg.Cache.MaxBytes = resource.MustParse("32Mi")
	resolver, secrets, results, lineages := cfg.cacheBudget()
	parts := cfg.inputPartsBytes()
	if resolver+secrets+results+lineages+parts > 32<<20 || resolver != 20<<20 || secrets != 2<<20 || results != 4<<20 || lineages != 4<<20 || parts != 2<<20 {
		t.Errorf("cacheBudget() of 32Mi = %d, %d, %d, %d, inputPartsBytes() = %d, want 20 MiB, 2 MiB, 4 MiB, 4 MiB, 2 MiB", resolver, secrets, results, lineages, parts)
	}
	if got := cfg.resolverOptions().CacheBytes; got != resolver {
		t.Errorf("resolverOptions().CacheBytes = %d, want %d", got, resolver)
	}
	if got := cfg.policyOptions().ResultCacheBytes; got != results {
		t.Errorf("policyOptions().ResultCacheBytes = %d, want %d", got, results)
	}
	if got := cfg.catalogOptions().CacheBytes; got != lineages {
		t.Errorf("catalogOptions().CacheBytes = %d, want %d", got, lineages)
	}
	cfg.Cache.MaxBytes = resource.MustParse("1Mi")
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "cache.maxBytes") {
		t.Errorf("Validate() with cache.maxBytes 1Mi = %v, want it refused", err)
	}
}
