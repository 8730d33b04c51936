//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/yaml"
)

// README.md and the chart's README: the chart renders "a non-root
// read-only strata pod that passes its own policies". The chart's webhook
// Deployment, rendered with an image that runs as root (so that only the
// chart's securityContext can keep run-as-root quiet), is admitted by the
// suite's strata in enforce with no violation of any built-in policy; the
// same Deployment without its securityContext is denied, so the admission
// proves something.
func TestChartWebhookPodPassesStrataInEnforce(t *testing.T) {
	showLogsOnFailure(t)
	needHelm(t)
	image := s.images.root
	i := strings.LastIndex(image, ":")
	manifest := helmCmd(t, "template", "podcheck", "charts/strata", "-n", nsEnforce, "--show-only", "templates/deployment.yaml",
		"--set-string", "image.repository="+image[:i], "--set-string", "image.tag="+image[i+1:])
	var dep appsv1.Deployment
	if err := yaml.UnmarshalStrict([]byte(manifest), &dep); err != nil {
		t.Fatalf("the rendered Deployment: %v\n%s", err, manifest)
	}
	pod := &dep.Spec.Template.Spec
	if len(pod.Containers) == 0 || pod.SecurityContext == nil || pod.Containers[0].SecurityContext == nil {
		t.Fatalf("the rendered Deployment has no securityContext to test:\n%s", manifest)
	}

	out, err := apply(t, nsEnforce, manifest, "--dry-run=server")
	mustAllow(t, "the chart's Deployment, server-side dry run in enforce", out, err)
	if d, ok := loggedDecision(t, "enforce", nsEnforce, dep.Name); !ok || d.Decision != "allowed" || len(d.Policies) != 0 {
		t.Errorf("the suite's strata decision on Deployment %s = %+v (found %v), want allowed with no policy violated", dep.Name, d, ok)
	}

	pod.SecurityContext = nil
	for i := range pod.Containers {
		pod.Containers[i].SecurityContext = nil
	}
	dep.Name += "-bare"
	raw, err := yaml.Marshal(dep)
	if err != nil {
		t.Fatal(err)
	}
	out, err = apply(t, nsEnforce, string(raw), "--dry-run=server")
	mustDeny(t, fmt.Sprintf("Deployment %s without securityContext", dep.Name), out, err)
	mustContain(t, "Deployment without securityContext", out, "[run-as-root]")
}
