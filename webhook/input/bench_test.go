package input

import (
	"fmt"
	"testing"

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
func BenchmarkEvaluatePod(b *testing.B) {
	e := builtinEngine(b)
	pod := podSubjects()
	if n := len(e.Evaluate(b.Context(), "web", "linux/amd64", pod[0].Value())); n == 0 {
		b.Fatal("the benchmark pod violates nothing; it should exercise the policies")
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, s := range pod {
			e.Evaluate(b.Context(), s.Container.Name, s.Platform(), s.Value())
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

// BenchmarkEvaluatePodUncached changes what the policies read (the image
// as written) every time, so no result is reused: the cost of a template
// strata has not seen before.
func BenchmarkEvaluatePodUncached(b *testing.B) {
	e := builtinEngine(b)
	pod := podSubjects()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		for _, s := range pod {
			s.Container.Image = fmt.Sprintf("registry.example.com/shop/web:%d", i)
			e.Evaluate(b.Context(), s.Container.Name, s.Platform(), s.Value())
		}
	}
}

func builtinEngine(b *testing.B) *policy.Engine {
	b.Helper()
	e, err := policy.New(b.Context(), policy.Options{Builtins: policies.FS, Data: map[string]any{
		"approvedBases": []any{"registry.example.com/base/*"},
	}})
	if err != nil {
		b.Fatal(err)
	}
	return e
}
