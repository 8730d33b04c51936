package policy

import (
	"testing"

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
