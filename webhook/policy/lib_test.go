package policy

import (
	"io/fs"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/strata-project/strata/policies"
)

// A user's policy imports the built-ins' library (docs/policy-input.md) and
// names containers as they do; the library itself is not a policy.
func TestUserPolicyImportsTheLibrary(t *testing.T) {
	t.Parallel()
	dir := policyDir(t, map[string]string{"no_latest.rego": `package strata.policies.no_latest

import data.strata.lib

violation contains lib.finding(sprintf("%s: image %q is written with :latest", [lib.subject, input.container.image])) if {
	endswith(input.container.image, ":latest")
}
`})
	e, err := New(t.Context(), Options{Builtins: policies.FS, Paths: []string{dir}})
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	for _, m := range e.Policies() {
		if strings.Contains(m.Source, "lib.rego") {
			t.Errorf("Policies() lists %s (%s): the library is not a policy", m.ID, m.Source)
		}
	}
	in := mustInput(t, `{"container": {"name": "migrate", "type": "init", "image": "nginx:latest"}, "image": {"platform": "linux/amd64"}, "lineage": {}}`)
	got := e.Evaluate(t.Context(), "migrate", "linux/amd64", InputOf(in))
	want := `init container "migrate": image "nginx:latest" is written with :latest`
	var found bool
	for _, v := range got {
		if v.Policy == "no-latest" {
			found = v.Msg == want && v.Platform == "linux/amd64"
		}
	}
	if !found {
		t.Errorf("Evaluate() = %+v, want a no-latest violation %q on linux/amd64", got, want)
	}
}

// Every built-in policy names its container through data.strata.lib and
// defines no subject of its own: a copy would drift from the others.
func TestBuiltinPoliciesShareTheLibrary(t *testing.T) {
	t.Parallel()
	names, err := fs.Glob(policies.FS, "*.rego")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, name := range names {
		if strings.HasSuffix(name, "_test.rego") || name == "lib.rego" {
			continue
		}
		raw, err := fs.ReadFile(policies.FS, name)
		if err != nil {
			t.Fatal(err)
		}
		m, err := ast.ParseModuleWithOpts(name, string(raw), parseOptions)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		imports := false
		for _, imp := range m.Imports {
			imports = imports || imp.Path.String() == "data.strata.lib"
		}
		if !imports {
			t.Errorf("%s does not import data.strata.lib", name)
		}
		for _, r := range m.Rules {
			if n := r.Head.Name.String(); n == "subject" {
				t.Errorf("%s:%d defines its own %s; use lib.subject", name, r.Location.Row, n)
			}
		}
	}
	if checked < 5 {
		t.Errorf("checked %d built-in policies, want the 5", checked)
	}
}
