package policy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strata-project/strata/policies"
)

// TestAPatternThatDoesNotCompileIsRefusedAtLoad: a buildTools pattern that
// does not compile, from a data file beside the policies (which strata
// config validate does not read), is refused when the policies load, naming
// the policy and the key; a reload that brings one keeps the serving set.
func TestAPatternThatDoesNotCompileIsRefusedAtLoad(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	data := filepath.Join(dir, "data.yaml")
	broken := "buildTools:\n  broken:\n    match: \"(unclosed\"\n"
	writeFiles(t, dir, map[string]string{"labelled.rego": warnPolicy, "data.yaml": broken})
	_, err := New(t.Context(), Options{Builtins: policies.FS, Paths: []string{dir}})
	if err == nil || !strings.Contains(err.Error(), "policy single-stage-build: buildTools.broken.match: (unclosed is not a regular expression (RE2); fix the value") {
		t.Fatalf("New with a broken buildTools pattern: %v, want the pattern named", err)
	}

	if err := os.WriteFile(data, []byte("buildTools:\n  bazel:\n    match: 'bazel build'\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e := newEngine(t, Options{Builtins: policies.FS, Paths: []string{dir}})
	generation := e.Status().Generation
	if err := os.WriteFile(data, []byte(broken), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := e.Reload(t.Context()); err == nil || !strings.Contains(err.Error(), "buildTools.broken.match") {
		t.Fatalf("Reload with a broken buildTools pattern: %v, want the pattern named", err)
	}
	if got := e.Status().Generation; got != generation {
		t.Errorf("after a refused reload the generation is %d, want the serving set's %d", got, generation)
	}
}
