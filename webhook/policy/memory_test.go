package policy

import (
	"fmt"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/strata-project/strata/policies"
	"github.com/strata-project/strata/webhook/internal/memtest"
)

// cached is what the serving set's result cache holds for input.
func cached(e *Engine, input ast.Value) ([]Violation, bool) {
	c := e.current.Load().results
	if c == nil {
		return nil, false
	}
	return c.get(c.key(InputOf(input)))
}

// largeConfigInput is the input of one container whose image config carries
// a label of about size bytes, distinct for each n. It has the shape
// webhook/input builds (the engine cannot import it): a root image, so that
// run-as-root has a violation to cache.
func largeConfigInput(n, size int) ast.Value {
	digest := fmt.Sprintf("sha256:%064x", uint32(n))
	return ast.MustInterfaceToValue(map[string]any{
		"apiVersion": "strata.dev/v1",
		"request":    map[string]any{"operation": "CREATE", "dryRun": false, "namespace": "shop", "user": "alice"},
		"workload":   map[string]any{"kind": "Deployment", "name": "web", "namespace": "shop", "labels": map[string]any{}, "annotations": map[string]any{}},
		"container":  map[string]any{"name": "web", "type": "container", "image": "registry.example.com/shop/web:1.2", "os": "", "securityContext": map[string]any{}},
		"image": map[string]any{
			"ref": "registry.example.com/shop/web:1.2", "digest": digest,
			"platformRef": fmt.Sprintf("registry.example.com/app-%d@%s", n, digest), "platformDigest": digest,
			"platform": "linux/amd64", "layers": 6, "stale": false,
			"config": map[string]any{
				"user":   map[string]any{"raw": "0:0", "uid": 0, "gid": 0},
				"labels": map[string]any{"org.example.blob": fmt.Sprintf("%08d", n) + strings.Repeat("x", size)},
			},
		},
		"lineage": map[string]any{"chain": []any{}, "depth": 1, "complete": false, "claims": []any{}},
	})
}

// The result cache held every input it had seen, up to 1,024 of them: 1,000
// images with 1 MiB config labels took the heap to 1,050 MB and kept it.
// It now keeps a digest of the input and the violations, within a byte
// budget, so an input's size never stays behind.
func TestLargeConfigLabelsCannotHoldTheResultCachePastItsBudget(t *testing.T) {
	e := newEngine(t, Options{Builtins: policies.FS})
	images, size := 1000, 1<<20
	if testing.Short() {
		images = 200
	}
	e.Evaluate(t.Context(), "web", "", InputOf(largeConfigInput(-1, 16)))
	memtest.HeldWithin(t, memtest.Bound{What: fmt.Sprintf("%d inputs with %d KiB labels", images, size>>10), Budget: DefaultResultCacheBytes, Slack: 4 << 20}, func() {
		for n := range images {
			if vs := e.Evaluate(t.Context(), "web", "", InputOf(largeConfigInput(n, size))); len(vs) == 0 {
				t.Fatalf("Evaluate(image %d) = no violation, want at least run-as-root's", n)
			}
		}
	}, e)
}

// The cache dropped everything when it was full, so a stream of distinct
// inputs (a tenant creating pods with unique images) flushed the inputs
// every other admission repeats. Eviction is now least recently used: an
// input evaluated again and again stays cached through any flood.
func TestFloodOfDistinctInputsDoesNotEvictTheWorkingSet(t *testing.T) {
	e := newEngine(t, Options{Builtins: policies.FS})
	hot := largeConfigInput(-1, 16)
	e.Evaluate(t.Context(), "web", "", InputOf(hot))
	for n := range 5000 {
		e.Evaluate(t.Context(), "web", "", InputOf(largeConfigInput(n, 16)))
		if n%50 != 0 {
			continue
		}
		if _, ok := cached(e, hot); !ok {
			t.Fatalf("after %d distinct inputs, the input evaluated every 50 admissions was no longer cached", n+1)
		}
		e.Evaluate(t.Context(), "web", "", InputOf(hot))
	}
}
