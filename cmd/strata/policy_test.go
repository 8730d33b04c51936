package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/strata-project/strata/internal/testutil"
)

// policy test runs a user's Rego tests with strata's engine: the example
// policy's pass; a failing test fails the command (exit 1, named); a test
// of a policy calling http.send does not compile, as strata serve would not
// load it; the built-in library is there to import.
func TestPolicyTest(t *testing.T) {
	dir := t.TempDir()
	testutil.WriteFile(t, dir, "mine.rego", `# METADATA
# title: mine
package strata.policies.mine

import data.strata.lib

violation contains lib.finding("no latest") if endswith(input.container.image, ":latest")
`)
	testutil.WriteFile(t, dir, "mine_test.rego", `package strata.policies.mine_test

import data.strata.policies.mine

test_latest_is_a_violation if count(mine.violation) == 1 with input as {"container": {"name": "a", "type": "container", "image": "x:latest"}, "image": {}}
test_wrongly_expects_nothing if count(mine.violation) == 0 with input as {"container": {"name": "a", "type": "container", "image": "x:latest"}, "image": {}}
`)
	net := t.TempDir()
	testutil.WriteFile(t, net, "net.rego", "package strata.policies.net\n\nviolation contains \"x\" if http.send({\"method\": \"GET\", \"url\": \"http://example.com\"})\n")
	testutil.WriteFile(t, net, "net_test.rego", "package strata.policies.net_test\n\ntest_x if true\n")
	for _, tc := range []struct {
		args     []string
		wantCode int
		want     []string
	}{
		{[]string{"../../examples/policies", "-v", "--coverage"}, 0, []string{"test_tag_from_pinned_registry_is_a_violation: PASS", "coverage ../../examples/policies/pinned_digest.rego: 100.0%", "PASS: 17/17"}},
		{[]string{dir}, 1, []string{"mine_test.rego:6: data.strata.policies.mine_test.test_wrongly_expects_nothing: FAIL", "FAIL: 1/2"}},
		{[]string{net}, 2, []string{"http.send"}},
	} {
		var stdout, stderr bytes.Buffer
		code := run(t.Context(), append([]string{"policy", "test"}, tc.args...), &stdout, &stderr)
		if code != tc.wantCode {
			t.Errorf("policy test %v = exit %d, want %d; stdout:\n%s\nstderr:\n%s", tc.args, code, tc.wantCode, stdout.String(), stderr.String())
		}
		for _, w := range tc.want {
			if !strings.Contains(stdout.String()+stderr.String(), w) {
				t.Errorf("policy test %v printed:\n%s%s\nwant %q", tc.args, stdout.String(), stderr.String(), w)
			}
		}
	}
	var stdout, stderr bytes.Buffer
	if code := run(t.Context(), []string{"policy", "schema"}, &stdout, &stderr); code != 0 || !json.Valid(stdout.Bytes()) || !strings.Contains(stdout.String(), "strata.dev/v1") {
		t.Errorf("policy schema = exit %d, %d bytes (valid JSON %t), want the input schema", code, stdout.Len(), json.Valid(stdout.Bytes()))
	}
}

// inspect -o input prints the policy input the Checker builds, one per
// container × platform: for --pod, the pod's containers with their
// effective securityContext; for IMAGE alone, a one-container Pod.
func TestInspectPrintsThePolicyInput(t *testing.T) {
	pod := testutil.WriteFile(t, t.TempDir(), "pod.yaml", `apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop}
spec:
  securityContext: {runAsNonRoot: true}
  initContainers: [{name: init, image: strata-demo.local/shop/web:1.0}]
  containers: [{name: app, image: strata-demo.local/shop/admin:1.0, securityContext: {runAsUser: 1000}}]
`)
	type input struct {
		APIVersion string `json:"apiVersion"`
		Workload   struct{ Name, Namespace string }
		Container  struct {
			Name            string
			SecurityContext map[string]any
		}
		Image struct{ Ref, Digest, Platform string }
	}
	for _, tc := range []struct {
		args  []string
		names []string
	}{
		{[]string{"--pod", pod}, []string{"init", "app"}},
		{[]string{"shop/web:1.0"}, []string{"app"}},
	} {
		var stdout, stderr bytes.Buffer
		code := run(t.Context(), append([]string{"inspect", "--demo", "-o", "input"}, tc.args...), &stdout, &stderr)
		var got []input
		if err := json.Unmarshal(stdout.Bytes(), &got); code != 0 || err != nil {
			t.Fatalf("inspect -o input %v = exit %d, %v; stderr:\n%s", tc.args, code, err, stderr.String())
		}
		if len(got) != len(tc.names) {
			t.Fatalf("inspect -o input %v printed %d inputs, want %d", tc.args, len(got), len(tc.names))
		}
		for i, in := range got {
			if in.APIVersion != "strata.dev/v1" || in.Container.Name != tc.names[i] || !strings.HasPrefix(in.Image.Digest, "sha256:") || in.Image.Platform != "linux/amd64" {
				t.Errorf("input %d = %+v, want container %s with a resolved linux/amd64 image", i, in, tc.names[i])
			}
		}
		if tc.names[0] == "init" && (got[1].Container.SecurityContext["runAsUser"] != float64(1000) || got[1].Container.SecurityContext["runAsNonRoot"] != true || got[0].Workload.Namespace != "shop") {
			t.Errorf("app's input = %+v, want the effective securityContext (runAsUser 1000 over the pod's runAsNonRoot) in namespace shop", got[1])
		}
	}
}
