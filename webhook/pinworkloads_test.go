package webhook

import "testing"

// docs/pinning.md, "Workloads keep their tags": Deployments, StatefulSets,
// DaemonSets, Jobs, CronJobs and ReplicaSets are allowed as written, their
// template's tag kept; a Pod of the same image is pinned.
func TestPinLeavesEveryWorkloadTemplateAsWritten(t *testing.T) {
	t.Parallel()
	p := newPipeline(t)
	pin := servePinner(t, NewPinner(PinnerOptions{Checker: p.checkerVia(t, p.Demo.Addr)})).URL
	pod := podOf("web", p.Demo.Ref("shop/web:1.0"))
	if r := admit(t, pin, reviewOf(t, "pin-pod", "Pod", "CREATE", pod, nil)); !r.Allowed || len(r.Patch) == 0 {
		t.Fatalf("pin(Pod of shop/web:1.0) = allowed %v, patch %s; want it pinned (else the cases below prove nothing)", r.Allowed, r.Patch)
	}
	template := map[string]any{"metadata": map[string]any{"labels": map[string]any{"app": "web"}}, "spec": pod["spec"]}
	for _, tc := range []struct {
		apiVersion, kind string
		spec             map[string]any
	}{
		{"apps/v1", "Deployment", map[string]any{"template": template}},
		{"apps/v1", "StatefulSet", map[string]any{"template": template}},
		{"apps/v1", "DaemonSet", map[string]any{"template": template}},
		{"apps/v1", "ReplicaSet", map[string]any{"template": template}},
		{"batch/v1", "Job", map[string]any{"template": template}},
		{"batch/v1", "CronJob", map[string]any{"schedule": "@hourly", "jobTemplate": map[string]any{"spec": map[string]any{"template": template}}}},
	} {
		object := map[string]any{"apiVersion": tc.apiVersion, "kind": tc.kind, "metadata": map[string]any{"name": "web", "namespace": "shop"}, "spec": tc.spec}
		if r := admit(t, pin, reviewOf(t, "pin-"+tc.kind, tc.kind, "CREATE", object, nil)); !r.Allowed || len(r.Patch) != 0 {
			t.Errorf("pin(%s of shop/web:1.0) = allowed %v, patch %s; want allowed as written", tc.kind, r.Allowed, r.Patch)
		}
	}
}
