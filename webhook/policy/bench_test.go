package policy

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/strata-project/strata/policies"
)

// podSubjects is a pod of three containers, each image on two platforms.
func podSubjects() []*Subject {
	base := subjects()["resolved"]
	var out []*Subject
	for _, name := range []string{"web", "sidecar", "migrate"} {
		for _, platform := range []string{"linux/amd64", "linux/arm64"} {
			s := *base
			f := *base.Facts
			f.Platform = platform
			s.Facts = &f
			s.Container.Name = name
			out = append(out, &s)
		}
	}
	return out
}

func builtinEngine(tb testing.TB) *Engine {
	tb.Helper()
	e, err := New(tb.Context(), Options{Builtins: policies.FS, Data: map[string]any{
		"approvedBases": []any{"registry.example.com/base/*"},
	}})
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

// BenchmarkEvaluatePod evaluates every built-in policy for a pod of three
// containers on two platforms: the input is built and evaluated six times.
// Each round writes the image under a new tag, which the policies read, so
// none of the six is answered by the result cache (TestBenchmarkPodMissesCache):
// this is the cost of a template strata has not seen before.
func BenchmarkEvaluatePod(b *testing.B) {
	e := builtinEngine(b)
	pod := podSubjects()
	if n := len(e.Evaluate(b.Context(), "web", "linux/amd64", pod[0].Input())); n == 0 {
		b.Fatal("the benchmark pod violates nothing; it should exercise the policies")
	}
	b.ReportAllocs()
	round := 0
	for b.Loop() {
		round++
		evaluateRound(b.Context(), e, pod, round)
	}
}

// BenchmarkEvaluatePodCached evaluates the same pod again and again: after
// the first round every evaluation is a result-cache hit, the cost of a
// template strata has seen before.
func BenchmarkEvaluatePodCached(b *testing.B) {
	e := builtinEngine(b)
	pod := podSubjects()
	b.ReportAllocs()
	for b.Loop() {
		for _, s := range pod {
			e.Evaluate(b.Context(), s.Container.Name, s.Platform(), s.Input())
		}
	}
}

// evaluateRound evaluates pod with its images written as ...:round, a tag
// no earlier round used.
func evaluateRound(ctx context.Context, e *Engine, pod []*Subject, round int) {
	for _, s := range pod {
		s.Container.Image = fmt.Sprintf("registry.example.com/shop/web:%d", round)
		e.Evaluate(ctx, s.Container.Name, s.Platform(), s.Input())
	}
}

// TestBenchmarkPodMissesCache holds BenchmarkEvaluatePod to what it
// says: no evaluation of a round is answered from the result cache.
func TestBenchmarkPodMissesCache(t *testing.T) {
	t.Parallel()
	e := builtinEngine(t)
	pod := podSubjects()
	for round := 1; round <= 3; round++ {
		for _, s := range pod {
			s.Container.Image = fmt.Sprintf("registry.example.com/shop/web:%d", round)
			if resultCached(e, s.Input()) {
				t.Fatalf("round %d: the input of %s on %s was a result-cache hit, want every evaluation uncached", round, s.Container.Name, s.Platform())
			}
		}
		evaluateRound(t.Context(), e, pod, round)
	}
}

// BenchmarkInput is the cost of building one input.
func BenchmarkInput(b *testing.B) {
	s := podSubjects()[0]
	b.ReportAllocs()
	for b.Loop() {
		s.Input()
	}
}

// BenchmarkReload recompiles the built-in policies.
func BenchmarkReload(b *testing.B) {
	e := builtinEngine(b)
	b.ReportAllocs()
	for b.Loop() {
		if err := e.Reload(b.Context()); err != nil {
			b.Fatal(err)
		}
	}
}

// TestBuiltinPoliciesShareResultsAcrossPodNames is what test/bench/README.md
// says of the warm "each pod its own name" case: the built-in policies read
// the container, the image and the lineage, not the workload's name, so two
// replicas named apart by generateName share one cached result.
func TestBuiltinPoliciesShareResultsAcrossPodNames(t *testing.T) {
	t.Parallel()
	e := builtinEngine(t)
	if got, want := e.current.Load().results.keys, []string{"container", "image", "lineage"}; !slices.Equal(got, want) {
		t.Errorf("the built-in policies' result-cache keys = %v, want %v (update test/bench/README.md if this changed)", got, want)
	}
	named := func(name string) *Subject {
		s := *podSubjects()[0]
		w := *s.Workload
		w.Name = name
		s.Workload = &w
		return &s
	}
	a, b := named("web-7d4b9c-abcde"), named("web-7d4b9c-xyz12")
	e.Evaluate(t.Context(), a.Container.Name, a.Platform(), a.Input())
	if !resultCached(e, b.Input()) {
		t.Error("a replica differing only in its name missed the built-in policies' result cache")
	}
}

// resultCached reports whether the serving policy set has a cached result
// for input.
func resultCached(e *Engine, input Value) bool {
	c := e.current.Load().results
	_, hit := c.get(c.key(input))
	return hit
}
