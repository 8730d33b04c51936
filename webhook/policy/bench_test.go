package policy

import (
	"slices"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/strata-project/strata/policies"
)

func builtinEngine(b *testing.B) *Engine {
	b.Helper()
	e, err := New(b.Context(), Options{Builtins: policies.FS, Data: map[string]any{
		"approvedBases": []any{"registry.example.com/base/*"},
	}})
	if err != nil {
		b.Fatal(err)
	}
	return e
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
	e := newEngine(t, Options{Builtins: policies.FS})
	if got, want := e.current.Load().results.keys, []string{"container", "image", "lineage"}; !slices.Equal(got, want) {
		t.Errorf("the built-in policies' result-cache keys = %v, want %v (update test/bench/README.md and webhook/input's TestBenchmarkPodMissesCache if this changed)", got, want)
	}
	named := func(name string) ast.Value {
		in := largeConfigInput(1, 16).(ast.Object).Copy()
		w := in.Get(ast.StringTerm("workload")).Value.(ast.Object).Copy()
		w.Insert(ast.StringTerm("name"), ast.StringTerm(name))
		in.Insert(ast.StringTerm("workload"), ast.NewTerm(w))
		return in
	}
	e.Evaluate(t.Context(), "web", "linux/amd64", InputOf(named("web-7d4b9c-abcde")))
	if _, hit := cached(e, named("web-7d4b9c-xyz12")); !hit {
		t.Error("a replica differing only in its name missed the built-in policies' result cache")
	}
}

// The key of an input is the key of the object of the keys the policies
// read, written without building that object: the shortcut must be the
// same bytes, or a key the policies do not read could split or join
// results.
func TestResultKeyIsTheKeyOfTheObjectOfTheReadKeys(t *testing.T) {
	t.Parallel()
	in := largeConfigInput(7, 16).(ast.Object)
	keys := []string{"container", "image", "lineage"}
	read := ast.NewObject()
	for _, k := range keys {
		read.Insert(ast.StringTerm(k), in.Get(ast.StringTerm(k)))
	}
	if got, want := newResultCache(1<<20, keys).key(InputOf(in)), newResultCache(1<<20, nil).key(InputOf(read)); got != want {
		t.Errorf("key(input) reading %v = %x, want the key of their object %x", keys, got, want)
	}
	other := in.Copy()
	other.Insert(ast.StringTerm("workload"), ast.StringTerm("another"))
	if newResultCache(1<<20, keys).key(InputOf(in)) != newResultCache(1<<20, keys).key(InputOf(other)) {
		t.Error("inputs differing only in a key the policies do not read have different keys")
	}
	other.Insert(ast.StringTerm("image"), ast.StringTerm("another"))
	if newResultCache(1<<20, keys).key(InputOf(in)) == newResultCache(1<<20, keys).key(InputOf(other)) {
		t.Error("inputs differing in a key the policies read have the same key")
	}
}
