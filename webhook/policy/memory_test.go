package policy

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/strata-project/strata/policies"
	"github.com/strata-project/strata/webhook/images"

	"github.com/strata-project/strata/webhook/internal/memtest"
)

// cached is what the serving set's result cache holds for input.
func cached(e *Engine, input ast.Value) ([]Violation, bool) {
	c := e.current.Load().results
	if c == nil {
		return nil, false
	}
	return c.get(c.key(input))
}

// largeConfigInput is the input of one container whose image config carries
// a label of about size bytes, distinct for each n.
func largeConfigInput(n, size int) ast.Value {
	s := *subjects()["resolved"]
	f := *s.Facts
	f.Digest = images.Digest{byte(n), byte(n >> 8), byte(n >> 16), 0xff}
	f.Ref = fmt.Sprintf("registry.example.com/app-%d@%s", n, f.Digest)
	f.Config.Labels = map[string]string{"org.example.blob": fmt.Sprintf("%08d", n) + strings.Repeat("x", size)}
	s.Facts = &f
	return s.Input()
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
	e.Evaluate(t.Context(), "web", "", largeConfigInput(-1, 16))
	before := memtest.HeapInUse()
	for n := range images {
		if vs := e.Evaluate(t.Context(), "web", "", largeConfigInput(n, size)); len(vs) == 0 {
			t.Fatalf("Evaluate(image %d) = no violation, want at least run-as-root's", n)
		}
	}
	after := memtest.HeapInUse()
	runtime.KeepAlive(e)
	const budget, slack = DefaultResultCacheBytes, 4 << 20
	if grew := after - before; grew > budget+slack {
		t.Errorf("%d inputs with %d KiB labels left the heap %d MiB larger, want at most the %d MiB budget + %d MiB", images, size>>10, grew>>20, budget>>20, slack>>20)
	}
	t.Logf("%d inputs with %d KiB labels: heap %d KiB before, %d KiB after", images, size>>10, before>>10, after>>10)
}

// The cache dropped everything when it was full, so a stream of distinct
// inputs (a tenant creating pods with unique images) flushed the inputs
// every other admission repeats. Eviction is now least recently used: an
// input evaluated again and again stays cached through any flood.
func TestFloodOfDistinctInputsDoesNotEvictTheWorkingSet(t *testing.T) {
	e := newEngine(t, Options{Builtins: policies.FS})
	hot := largeConfigInput(-1, 16)
	e.Evaluate(t.Context(), "web", "", hot)
	for n := range 5000 {
		e.Evaluate(t.Context(), "web", "", largeConfigInput(n, 16))
		if n%50 != 0 {
			continue
		}
		if _, ok := cached(e, hot); !ok {
			t.Fatalf("after %d distinct inputs, the input evaluated every 50 admissions was no longer cached", n+1)
		}
		e.Evaluate(t.Context(), "web", "", hot)
	}
}
