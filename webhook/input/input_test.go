package input

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/strata-project/strata/webhook/images"
	"github.com/strata-project/strata/webhook/input/inputtest"
	"github.com/strata-project/strata/webhook/lineage"
	"github.com/strata-project/strata/webhook/policy"
	"github.com/strata-project/strata/webhook/workload"
)

func ptr[T any](v T) *T { return &v }

// subjects covers the shapes of input Go builds: a resolved image with a
// lineage, a named image user, and a resolution failure.
func subjects() map[string]*Subject {
	app, base, now := images.Digest{3}, images.Digest{1}, images.Digest{2}
	facts := &images.Facts{
		Ref: "registry.example.com/shop/web@" + app.String(), Digest: app, Platform: "linux/amd64",
		MediaType: "application/vnd.oci.image.manifest.v1+json", Layers: 6, Size: 1 << 20,
		LayerSizes:  []int64{1 << 19, 1 << 18, 1 << 17, 1 << 16, 1 << 15, 1 << 15},
		Annotations: images.StringsOf(map[string]string{images.AnnotationBaseName: "registry.example.com/base/debian:12"}),
		DiffIDs:     []images.Digest{{9}},
		History:     []images.History{{CreatedBy: "COPY app /app"}},
		Config: images.Config{
			User: images.ParseUser("0:0"), Env: []string{"A=b"}, Entrypoint: []string{"/app"},
			Created: time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), Labels: images.StringsOf(map[string]string{"team": "shop"}),
		},
	}
	named := *facts
	named.Config.User = images.ParseUser("app")
	img := &images.Image{Ref: "registry.example.com/shop/web:1.2", Digest: app, Platforms: []*images.Facts{facts}}
	w := &workload.Workload{Kind: "Deployment", Name: "web", Namespace: "shop", Labels: map[string]string{"app": "web"}}
	c := workload.Container{Name: "web", Type: "init", Image: "registry.example.com/shop/web:1.2",
		SecurityContext: workload.SecurityContext{RunAsUser: ptr(int64(1000)), RunAsNonRoot: ptr(true), WindowsRunAsUserName: ptr("ContainerUser")}}
	l := lineage.Lineage{
		Chain: []lineage.Entry{
			{Refs: []string{"registry.example.com/base/debian:12"}, Digest: base, Role: "os", Layers: 1, Evidence: []string{"layers"}, MovedTag: "registry.example.com/base/debian:12", CurrentDigest: now},
			{ClaimedName: "registry.example.com/base/temurin:21", Digest: now, Layers: 2, Evidence: []string{"annotation"}, Current: true},
		},
		Depth:  3,
		Claims: []lineage.Claim{{By: app, Name: "registry.example.com/base/debian:12", Source: "annotation", Status: "mismatch", Reason: "layers differ"}},
	}
	req := policy.Request{Operation: "CREATE", Namespace: "shop", User: "alice"}
	return map[string]*Subject{
		"resolved":   {Request: req, Workload: w, Container: c, Image: img, Facts: facts, Lineage: l},
		"named user": {Request: req, Workload: w, Container: workload.Container{Name: "web", Type: "container", Image: "nginx"}, Image: img, Facts: &named, Lineage: lineage.Lineage{Depth: 1}},
		"unresolved": {Request: req, Workload: w, Container: c, Err: &images.Error{Kind: images.KindUnauthorized, Registry: "registry.example.com", Repository: "shop/web"}},
	}
}

func TestInputMatchesSchema(t *testing.T) {
	t.Parallel()
	schema := inputtest.Schema(t)
	for name, s := range subjects() {
		input, err := jsonschema.UnmarshalJSON(strings.NewReader(s.Value().Value().String()))
		if err != nil {
			t.Fatalf("%s: Value() is not JSON: %v", name, err)
		}
		if err := schema.Validate(input); err != nil {
			t.Errorf("%s: Value() does not match input.schema.json: %v\n%s", name, err, s.Value().Value())
		}
	}
	// The inputs the pipeline built for the Rego tests (TestPolicyInputsGolden).
	raw, err := os.ReadFile(filepath.Join("..", "..", "policies", "testdata", "inputs.json"))
	if err != nil {
		t.Fatal(err)
	}
	var golden struct{ Inputs map[string]json.RawMessage }
	if err := json.Unmarshal(raw, &golden); err != nil {
		t.Fatal(err)
	}
	if len(golden.Inputs) == 0 {
		t.Fatal("policies/testdata/inputs.json holds no input")
	}
	for name, in := range golden.Inputs {
		input, err := jsonschema.UnmarshalJSON(bytes.NewReader(in))
		if err != nil {
			t.Fatalf("policies/testdata/inputs.json: %s: %v", name, err)
		}
		if err := schema.Validate(input); err != nil {
			t.Errorf("policies/testdata/inputs.json: %s does not match input.schema.json: %v", name, err)
		}
	}
}

func TestInputValues(t *testing.T) {
	t.Parallel()
	s := subjects()
	for _, tc := range []struct {
		subject, path string
		want          string
	}{
		{"resolved", "input.container.securityContext.runAsUser", "1000"},
		{"resolved", "input.container.securityContext.windowsRunAsUserName", `"ContainerUser"`},
		{"resolved", "input.container.type", `"init"`},
		{"resolved", "input.image.config.user.uid", "0"},
		{"resolved", "input.image.platform", `"linux/amd64"`},
		{"resolved", "input.image.historyLength", "1"},
		{"resolved", "input.image.layerSizes", "[524288,262144,131072,65536,32768,32768]"},
		// The direct base, the last of the chain, has 2 layers.
		{"resolved", "input.image.baseSize", "786432"},
		{"resolved", "input.image.history[0]", `{"createdBy":"COPY app /app","emptyLayer":false}`},
		{"named user", "input.image.baseSize", "0"},
		{"resolved", "input.lineage.chain[0].currentDigest", `"` + (images.Digest{2}).String() + `"`},
		{"resolved", "input.lineage.claims[0].reason", `"layers differ"`},
		{"resolved", "input.lineage.chain[1].claimedName", `"registry.example.com/base/temurin:21"`},
		{"resolved", "count(input.lineage.chain[1].refs)", "0"},
		{"resolved", "input.lineage.chain[0].movedTag", `"registry.example.com/base/debian:12"`},
		{"named user", "input.image.config.user.uid", "null"},
		{"named user", "input.image.config.user.name", `"app"`},
		{"named user", "object.get(input.container.securityContext, \"runAsUser\", \"absent\")", `"absent"`},
		{"unresolved", "input.image.error.kind", `"unauthorized"`},
		{"unresolved", "input.image.ref", `"registry.example.com/shop/web:1.2"`},
		{"unresolved", "input.lineage.depth", "1"},
	} {
		got := evalPath(t, s[tc.subject].Value().Value(), tc.path)
		if got != tc.want {
			t.Errorf("%s: %s = %s, want %s", tc.subject, tc.path, got, tc.want)
		}
	}
}

// evalPath evaluates a Rego expression over input with a throwaway engine.
func evalPath(t *testing.T, input ast.Value, expr string) string {
	t.Helper()
	dir := t.TempDir()
	probe := "package strata.policies.probe\n\nviolation contains {\"msg\": json.marshal(" + expr + "), \"container\": \"\", \"platform\": \"\"} if true\n"
	if err := os.WriteFile(filepath.Join(dir, "probe.rego"), []byte(probe), 0o600); err != nil {
		t.Fatal(err)
	}
	e, err := policy.New(t.Context(), policy.Options{Paths: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	got := e.Evaluate(t.Context(), "", "", policy.InputOf(input))
	if len(got) != 1 {
		return "<undefined>"
	}
	return got[0].Msg
}

func TestUnresolvedSubjectWithoutError(t *testing.T) {
	t.Parallel()
	s := &Subject{Container: workload.Container{Name: "web", Image: "nginx"}}
	if got := evalPath(t, s.Value().Value(), "input.image.error.kind"); got != `"unknown"` {
		t.Errorf("a subject with neither facts nor error: image.error.kind = %s, want unknown: it must never look resolved", got)
	}
	if s.Platform() != "" {
		t.Errorf("Platform() = %q, want empty", s.Platform())
	}
}
