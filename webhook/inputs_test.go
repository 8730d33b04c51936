package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/strata-project/strata/webhook/policy"
	"github.com/strata-project/strata/webhook/workload"
)

// inputsGolden holds the policy inputs the pipeline builds for the cases
// of TestPolicyInputsGolden. The built-in policies' Rego tests read them as
// data.testdata.inputs (opa test loads policies/testdata/*.json there), so
// that they decide on what Go emits, not on shapes written by hand.
var inputsGolden = filepath.Join("..", "policies", "testdata", "inputs.json")

// recorder evaluates with the real engine and keeps every input it was given.
type recorder struct {
	next Evaluator
	mu   sync.Mutex
	seen []policy.Value
}

func (r *recorder) Evaluate(ctx context.Context, container, platform string, input policy.Input) []policy.Violation {
	r.mu.Lock()
	r.seen = append(r.seen, input.Value())
	r.mu.Unlock()
	return r.next.Evaluate(ctx, container, platform, input)
}

// TestPolicyInputsGolden runs pods through the real pipeline (the demo
// registry, its catalog, the built-in policies) and compares the one input
// each yields with policies/testdata/inputs.json; -update rewrites it. The
// policies each input violates are asserted here, independently of the
// file, so that regenerating cannot bless a wrong input.
func TestPolicyInputsGolden(t *testing.T) {
	t.Parallel()
	p := newPipeline(t)
	image := func(repoTag string) string { return p.Demo.Ref(repoTag) }
	inputs := map[string]any{}
	for _, tc := range []struct {
		name string
		// spec is the pod's spec; its one container is named app.
		spec string
		want []string // the policies violated, sorted
	}{
		{"compliant", `{"containers": [{"name": "app", "image": "` + image("shop/web:1.0") + `"}]}`, nil},
		{"root_image", `{"containers": [{"name": "app", "image": "` + image("shop/admin:1.0") + `"}]}`, []string{"run-as-root"}},
		{"root_image_run_as_user", `{"securityContext": {"runAsUser": 1000}, "containers": [{"name": "app", "image": "` + image("shop/admin:1.0") + `"}]}`, nil},
		{"root_image_run_as_non_root", `{"containers": [{"name": "app", "image": "` + image("shop/admin:1.0") + `", "securityContext": {"runAsNonRoot": true}}]}`, []string{"run-as-root"}},
		{"run_as_user_zero", `{"containers": [{"name": "app", "image": "` + image("shop/web:1.0") + `", "securityContext": {"runAsUser": 0}}]}`, []string{"run-as-root"}},
		{"root_init_container", `{"initContainers": [{"name": "app", "image": "` + image("shop/admin:1.0") + `"}], "containers": []}`, []string{"run-as-root"}},
		{"root_sidecar", `{"initContainers": [{"name": "app", "image": "` + image("shop/admin:1.0") + `", "restartPolicy": "Always"}], "containers": []}`, []string{"run-as-root"}},
		{"too_deep", `{"containers": [{"name": "app", "image": "` + image("shop/report:1.0") + `"}]}`, []string{"lineage-depth"}},
		{"unknown_base", `{"containers": [{"name": "app", "image": "` + image("shop/legacy:1.0") + `"}]}`, []string{"approved-base"}},
		{"stale_base", `{"containers": [{"name": "app", "image": "` + image("shop/billing:1.0") + `"}]}`, []string{"base-freshness", "base-freshness"}},
		{"not_found", `{"containers": [{"name": "app", "image": "` + image("shop/missing:1.0") + `"}]}`, []string{"image-resolution"}},
		{"pod_os_mismatch", `{"os": {"name": "windows"}, "containers": [{"name": "app", "image": "` + image("shop/web:1.0") + `"}]}`, []string{"image-resolution"}},
	} {
		rec := &recorder{next: p.Engine}
		opts := p.Checker.opts
		opts.Evaluator = rec
		c := NewChecker(opts)
		raw := []byte(`{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "shop-` + tc.name + `", "namespace": "shop", "labels": {"app": "shop"}}, "spec": ` + tc.spec + `}`)
		w, err := workload.Decode(schema.GroupKind{Kind: "Pod"}, raw)
		if err != nil {
			t.Fatalf("%s: workload.Decode() = %v", tc.name, err)
		}
		req := policy.Request{Operation: "CREATE", Namespace: "shop", User: "alice@example.com", Mode: policy.Enforce}
		var got []string
		for _, v := range c.Check(t.Context(), req, w) {
			got = append(got, v.Policy)
		}
		slices.Sort(got)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: Check() violates %v, want %v", tc.name, got, tc.want)
		}
		if len(rec.seen) != 1 {
			t.Fatalf("%s: the pipeline built %d inputs, want 1", tc.name, len(rec.seen))
		}
		if inputs[tc.name], err = ast.JSON(rec.seen[0]); err != nil {
			t.Fatalf("%s: the input is not JSON: %v", tc.name, err)
		}
	}
	got, err := json.MarshalIndent(map[string]any{"inputs": inputs}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	if *update {
		if err := os.WriteFile(inputsGolden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(inputsGolden)
	if err != nil {
		t.Fatalf("%v (run go test ./webhook -run TestPolicyInputsGolden -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("the pipeline's policy inputs differ from %s (%s): the Rego tests decide on stale inputs; review the change and run go test ./webhook -run TestPolicyInputsGolden -update", inputsGolden, differingCases(t, inputs, want))
	}
}

// differingCases names the cases whose input differs from the golden file's,
// with the input the pipeline built now.
func differingCases(t *testing.T, got map[string]any, golden []byte) string {
	t.Helper()
	var doc struct{ Inputs map[string]json.RawMessage }
	if err := json.Unmarshal(golden, &doc); err != nil {
		return fmt.Sprintf("the file is not JSON: %v", err)
	}
	var out []string
	for _, name := range slices.Sorted(maps.Keys(got)) {
		now, err := json.Marshal(got[name])
		if err != nil {
			t.Fatal(err)
		}
		var was bytes.Buffer
		if err := json.Compact(&was, doc.Inputs[name]); err != nil || !bytes.Equal(was.Bytes(), now) {
			out = append(out, fmt.Sprintf("%s is now %s", name, now))
		}
	}
	for name := range doc.Inputs {
		if _, ok := got[name]; !ok {
			out = append(out, name+" is no longer built")
		}
	}
	return strings.Join(out, "; ")
}
