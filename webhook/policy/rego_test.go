package policy

import (
	"io/fs"
	"os"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/tester"
	"github.com/open-policy-agent/opa/v1/util"

	"github.com/strata-project/strata/policies"
)

// TestRego runs every _test.rego of the built-in and example policies
// through OPA's tester, with the capabilities strata serves with, each as a
// subtest: `go test` runs them all, and none can be skipped.
func TestRego(t *testing.T) {
	for _, tc := range []struct {
		name     string
		fsys     fs.FS
		testdata fs.FS // JSON documents read as data.testdata, as opa test loads them
		minTests int
	}{
		{"builtin", policies.FS, os.DirFS("../../policies/testdata"), 40},
		{"examples", os.DirFS("../../examples/policies"), nil, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			modules := map[string]*ast.Module{}
			err := fs.WalkDir(tc.fsys, ".", func(p string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() || !strings.HasSuffix(p, ".rego") {
					return err
				}
				raw, err := fs.ReadFile(tc.fsys, p)
				if err != nil {
					return err
				}
				m, err := ast.ParseModuleWithOpts(p, string(raw), parseOptions)
				if err != nil {
					return err
				}
				modules[p] = m
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			compiler := ast.NewCompiler().WithCapabilities(restrictedCapabilities())
			runner := tester.NewRunner().SetCompiler(compiler).SetModules(modules)
			if tc.testdata != nil {
				runner = runner.SetStore(inmem.NewFromObject(map[string]any{"testdata": readTestdata(t, tc.testdata)}))
			}
			results, err := runner.RunTests(t.Context(), nil)
			if err != nil {
				t.Fatalf("compiling the %s policies and their tests: %v", tc.name, err)
			}
			ran := 0
			for r := range results {
				ran++
				t.Run(strings.TrimPrefix(r.Package, "data.")+"."+r.Name, func(t *testing.T) {
					switch {
					case r.Error != nil:
						t.Errorf("%s: error: %v", r.Location, r.Error)
					case r.Skip:
						t.Errorf("%s: skipped (todo_ tests are not allowed)", r.Location)
					case r.Fail:
						t.Errorf("%s: failed", r.Location)
					}
				})
			}
			if ran < tc.minTests {
				t.Errorf("ran %d Rego tests of the %s policies, want at least %d", ran, tc.name, tc.minTests)
			}
		})
	}
}

// readTestdata merges the JSON objects at the top of fsys, as opa test
// merges the documents of one directory.
func readTestdata(t *testing.T, fsys fs.FS) map[string]any {
	t.Helper()
	names, err := fs.Glob(fsys, "*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(names) == 0 {
		t.Fatal("no JSON document in the Rego tests' testdata")
	}
	out := map[string]any{}
	for _, name := range names {
		raw, err := fs.ReadFile(fsys, name)
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := util.UnmarshalJSON(raw, &doc); err != nil {
			t.Fatalf("testdata/%s: %v", name, err)
		}
		for k, v := range doc {
			if _, dup := out[k]; dup {
				t.Fatalf("testdata/%s: %q is defined twice", name, k)
			}
			out[k] = v
		}
	}
	return out
}
