package input

import (
	"fmt"
	"io/fs"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/strata-project/strata/policies"
	"github.com/strata-project/strata/webhook/policy"
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

// BenchmarkEvaluatePod evaluates every built-in policy for a pod of three
// containers on two platforms: the input is built and evaluated six times.
// Each round writes the image under a new tag, which the policies read, so
// none of the six is answered by the result cache (TestBenchmarkPodMissesCache):
// this is the cost of a template strata has not seen before.
func BenchmarkEvaluatePod(b *testing.B) {
	e := builtinEngine(b)
	pod := podSubjects()
	if n := len(e.Evaluate(b.Context(), "web", "linux/amd64", pod[0].Value())); n == 0 {
		b.Fatal("the benchmark pod violates nothing; it should exercise the policies")
	}
	b.ReportAllocs()
	round := 0
	for b.Loop() {
		round++
		for _, s := range inRound(pod, round) {
			e.Evaluate(b.Context(), s.Container.Name, s.Platform(), s.Value())
		}
	}
}

// BenchmarkEvaluatePodParts is BenchmarkEvaluatePod as the Checker runs it:
// the image and lineage parts of the input come from Parts, built once for
// the image, and each round's containers, never seen before, are evaluated.
func BenchmarkEvaluatePodParts(b *testing.B) {
	evaluateUncachedRounds(b, builtinEngine(b))
}

// evaluateUncachedRounds evaluates with e, in each round of b, the pod's
// six inputs with containers never seen before, their parts built once.
func evaluateUncachedRounds(b *testing.B, e *policy.Engine) {
	pod := podSubjects()
	parts := NewParts(0)
	b.ReportAllocs()
	round := 0
	for b.Loop() {
		round++
		common := &Common{}
		for _, s := range inRound(pod, round) {
			s.Common = common
			e.Evaluate(b.Context(), s.Container.Name, s.Platform(), parts.Input(s))
		}
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
			e.Evaluate(b.Context(), s.Container.Name, s.Platform(), s.Value())
		}
	}
}

// BenchmarkEvaluatePodCachedParts is BenchmarkEvaluatePodCached with the
// image part of each input taken from Parts, as the Checker does: the image
// is neither built nor hashed again.
func BenchmarkEvaluatePodCachedParts(b *testing.B) {
	e := builtinEngine(b)
	pod := podSubjects()
	parts := NewParts(0)
	b.ReportAllocs()
	for b.Loop() {
		common := &Common{}
		for _, s := range pod {
			s.Common = common
			e.Evaluate(b.Context(), s.Container.Name, s.Platform(), parts.Input(s))
		}
	}
}

// inRound writes pod's images as ...:round, a tag no earlier round used.
func inRound(pod []*Subject, round int) []*Subject {
	for _, s := range pod {
		s.Container.Image = fmt.Sprintf("registry.example.com/shop/web:%d", round)
	}
	return pod
}

// TestBenchmarkPodMissesCache holds BenchmarkEvaluatePod to what it says.
// The built-in policies' results are keyed on the input's container, image
// and lineage (webhook/policy's TestBuiltinPoliciesShareResultsAcrossPodNames
// pins those keys), so a round whose container values were never seen
// before cannot be answered from the cache.
func TestBenchmarkPodMissesCache(t *testing.T) {
	t.Parallel()
	pod := podSubjects()
	seen := map[string]int{}
	for round := 1; round <= 3; round++ {
		for _, s := range inRound(pod, round) {
			container := s.Value().Value().(ast.Object).Get(ast.StringTerm("container")).String()
			if earlier, ok := seen[container]; ok && earlier != round {
				t.Fatalf("round %d: the input of %s on %s repeats round %d's container, so it would be a result-cache hit", round, s.Container.Name, s.Platform(), earlier)
			}
			seen[container] = round
		}
	}
}

// BenchmarkInput is the cost of building one input.
func BenchmarkInput(b *testing.B) {
	s := podSubjects()[0]
	b.ReportAllocs()
	for b.Loop() {
		s.Value()
	}
}

func builtinEngine(b *testing.B) *policy.Engine {
	b.Helper()
	return engineOf(b, policies.FS)
}

// engineOf is an engine of the policies in builtins, with the benchmarks'
// approved bases.
func engineOf(b *testing.B, builtins fs.FS) *policy.Engine {
	b.Helper()
	e, err := policy.New(b.Context(), policy.Options{Builtins: builtins, Data: map[string]any{
		"approvedBases": []any{"registry.example.com/base/*"},
	}})
	if err != nil {
		b.Fatal(err)
	}
	return e
}

// BenchmarkPartsInput is Parts.Input for the six inputs of a pod whose
// parts are all cached: "remembered" with the lineage the catalog serves
// from its cache (an ID), "computed" with one it computed anew (no ID,
// found by its fingerprint).
func BenchmarkPartsInput(b *testing.B) {
	for _, id := range []uint64{1 << 62, 0} {
		name := "remembered"
		if id == 0 {
			name = "computed"
		}
		b.Run(name, func(b *testing.B) {
			pod := podSubjects()
			parts := NewParts(0)
			for _, s := range pod {
				s.Lineage.ID = id
				s.Common = &Common{}
				parts.Input(s)
			}
			b.ReportAllocs()
			for b.Loop() {
				for _, s := range pod {
					parts.Input(s)
				}
			}
		})
	}
}
