package input

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/strata-project/strata/internal/testutil"
	"github.com/strata-project/strata/webhook/images"
	"github.com/strata-project/strata/webhook/lineage"
)

var policyInputMd = filepath.Join("..", "..", "docs", "policy-input.md")

// docs/policy-input.md names the fields of the input: those of the input
// it shows, and those its prose names by their path (image.staleReason).
// Every field the builder emits is one of them, and every one of them is
// a field the builder emits: in the inputs the real pipeline built
// (policies/testdata/inputs.json), or in the inputs of subjects(), or in
// one subject with every optional field set.
func TestPolicyInputMdNamesEveryFieldTheBuilderEmits(t *testing.T) {
	t.Parallel()
	documented := policyInputDocFields(t)
	var emitted []string
	for _, in := range goldenInputs(t) {
		emitted = append(emitted, testutil.JSONFields(t, in, documented)...)
	}
	built := subjects()
	built["every optional field"] = everyOptionalField()
	invalid := everyOptionalField()
	invalid.Facts.Config.User = images.ParseUser("app:")
	built["an invalid user"] = invalid
	for _, s := range built {
		emitted = append(emitted, testutil.JSONFields(t, []byte(s.Value().Value().String()), documented)...)
	}
	slices.Sort(emitted)
	emitted = slices.Compact(emitted)
	for _, f := range emitted {
		if !slices.Contains(documented, f) {
			t.Errorf("the input builder emits %s, which docs/policy-input.md does not name", f)
		}
	}
	for _, f := range documented {
		if !slices.Contains(emitted, f) {
			t.Errorf("docs/policy-input.md names %s, which no input the builder emits holds", f)
		}
	}
}

// docs/policy-input.md lists the values of image.error.kind: each kind of
// webhook/images/errors.go, and unknown, the kind of an input whose image
// failed unclassified (TestUnresolvedSubjectWithoutError). The list is the
// bullet's backquoted kinds outside parentheses; a kind added to errors.go
// or dropped from it fails here.
func TestPolicyInputMdListsEveryErrorKind(t *testing.T) {
	t.Parallel()
	section := testutil.DocSection(t, policyInputMd, "## Fields that need care")
	_, bullet, ok := strings.Cut(section, "\n- `image.error.kind` is one of ")
	if !ok {
		t.Fatal("docs/policy-input.md has no bullet \"`image.error.kind` is one of\"")
	}
	bullet, _, _ = strings.Cut(bullet, "\n- ")
	var listed []string
	depth := 0
	var outside strings.Builder
	for _, r := range bullet {
		switch {
		case r == '(':
			depth++
		case r == ')':
			depth--
		case depth == 0:
			outside.WriteRune(r)
		}
	}
	for _, m := range regexp.MustCompile("`([a-z]+(?:-[a-z]+)*)`").FindAllStringSubmatch(outside.String(), -1) {
		listed = append(listed, m[1])
	}
	slices.Sort(listed)
	listed = slices.Compact(listed)

	var unclassified struct {
		Image struct{ Error struct{ Kind string } }
	}
	s := &Subject{Container: subjects()["unresolved"].Container}
	if err := json.Unmarshal([]byte(s.Value().Value().String()), &unclassified); err != nil {
		t.Fatal(err)
	}
	kinds := append(errorKinds(t), unclassified.Image.Error.Kind)
	slices.Sort(kinds)
	if !slices.Equal(listed, kinds) {
		t.Errorf("docs/policy-input.md lists the kinds %v; the input's image.error.kind is one of %v", listed, kinds)
	}
}

// errorKinds are the values of the constants of type Kind in
// webhook/images/errors.go.
func errorKinds(t *testing.T) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), filepath.Join("..", "images", "errors.go"), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	ast.Inspect(f, func(n ast.Node) bool {
		spec, ok := n.(*ast.ValueSpec)
		if !ok || spec.Type == nil || fmt.Sprint(spec.Type) != "Kind" {
			return true
		}
		for _, v := range spec.Values {
			if lit, ok := v.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				kinds = append(kinds, strings.Trim(lit.Value, `"`))
			}
		}
		return true
	})
	if len(kinds) == 0 {
		t.Fatal("webhook/images/errors.go declares no Kind")
	}
	return kinds
}

// docs/policy-input.md counts the inputs of policies/testdata/inputs.json
// in words: one pod each.
func TestPolicyInputMdCountsTheGoldenInputs(t *testing.T) {
	t.Parallel()
	words := []string{"no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
		"eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty"}
	n := len(goldenInputs(t))
	if n >= len(words) {
		t.Fatalf("policies/testdata/inputs.json holds %d inputs: give the number in words here", n)
	}
	if want := words[n] + " single-container pods"; !strings.Contains(testutil.DocProse(t, policyInputMd), want) {
		t.Errorf("docs/policy-input.md does not say %q: policies/testdata/inputs.json holds %d inputs", want, n)
	}
}

// everyOptionalField is subjects()'s resolved subject with the fields it
// leaves out set too: the image stale, its user a name and a group, the
// image itself a catalog image, runAsGroup.
func everyOptionalField() *Subject {
	s := *subjects()["resolved"]
	img := *s.Image
	img.Stale, img.StaleCause = true, &images.Error{Kind: images.KindUnavailable, Registry: "registry.example.com", Repository: "shop/web"}
	s.Image = &img
	facts := *s.Facts
	facts.Config.User = images.ParseUser("app:staff")
	s.Facts = &facts
	s.Container.SecurityContext.RunAsGroup = ptr(int64(1000))
	s.Lineage.Self = &lineage.Entry{Refs: []string{"registry.example.com/shop/web:1.2"}, Digest: facts.Digest, Role: "app", Layers: 6, Evidence: []string{"layers"}, Sources: []string{"catalog"}, Verified: "layers", Current: true}
	return &s
}

// goldenInputs are the inputs of policies/testdata/inputs.json.
func goldenInputs(t *testing.T) map[string]json.RawMessage {
	t.Helper()
	var golden struct{ Inputs map[string]json.RawMessage }
	if err := json.Unmarshal(testutil.ReadFile(t, filepath.Join("..", "..", "policies", "testdata", "inputs.json")), &golden); err != nil {
		t.Fatal(err)
	}
	if len(golden.Inputs) == 0 {
		t.Fatal("policies/testdata/inputs.json holds no input")
	}
	return golden.Inputs
}

// docInputPath is a field of the input named in backquotes by its path
// from the input's top, as the prose names them: `image.config.user.uid`,
// `lineage.chain[].refs`, `input.container.image` in Rego.
var docInputPath = regexp.MustCompile("`(?:input\\.)?((?:apiVersion|request|workload|container|image|lineage)(?:\\.[A-Za-z]+(?:\\[\\])?)*)`")

// policyInputDocFields are the fields docs/policy-input.md names: every
// field of the input its first console block shows (the maps of labels and
// annotations as one field each, an array's elements as name[]), every
// path its prose names, and each path that holds one of them. Sorted.
func policyInputDocFields(t *testing.T) []string {
	t.Helper()
	doc := string(testutil.ReadFile(t, policyInputMd))
	_, block, ok := strings.Cut(doc, "```console\n$ strata inspect")
	if !ok {
		t.Fatal("docs/policy-input.md shows no console block of strata inspect")
	}
	block, _, _ = strings.Cut(block, "\n```")
	_, shown, _ := strings.Cut(block, "\n")
	var inputs []any
	if err := json.Unmarshal([]byte(shown), &inputs); err != nil || len(inputs) == 0 {
		t.Fatalf("docs/policy-input.md's console block of strata inspect shows no input: %v", err)
	}
	var fields []string
	var walk func(path string, v any)
	walk = func(path string, v any) {
		if path != "" {
			fields = append(fields, path)
		}
		switch v := v.(type) {
		case map[string]any:
			if name := path[strings.LastIndex(path, ".")+1:]; name == "labels" || name == "annotations" {
				return // a map: its keys are values, not fields
			}
			for k, child := range v {
				walk(strings.TrimPrefix(path+"."+k, "."), child)
			}
		case []any:
			for _, child := range v {
				if _, ok := child.(map[string]any); ok {
					walk(path+"[]", child)
				}
			}
		}
	}
	walk("", inputs[0])
	for _, m := range docInputPath.FindAllStringSubmatch(doc, -1) {
		fields = append(fields, testutil.Holders(m[1])...)
	}
	slices.Sort(fields)
	return slices.Compact(fields)
}
