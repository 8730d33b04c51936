//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"maps"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/strata-project/strata/test/cluster"
	"github.com/strata-project/strata/webhook/audit"
)

// auditWorkload is one workload the audit must find once, with its outcome
// in enforce and the policy of its first violation.
type auditWorkload struct {
	ns, kind, name, image string
	outcome               audit.Outcome
	policy                string
	pods                  int
}

// demoImage names one of the demo's images, which strata audit --demo
// serves: the suite's API server runs no kubelet, so nothing pulls them.
func demoImage(repoTag string) string { return "strata-demo.local/" + repoTag }

// Workloads of every pod-bearing kind in three namespaces the webhooks do
// not select; a Deployment's three pods created as the ReplicaSet
// controller would (the suite runs no controllers), with ownerReferences:
// strata audit -A -o json finds exactly the expected violations, each
// workload once, the Deployment's pods counted under it.
func TestAuditAgainstAnAPIServer(t *testing.T) {
	showLogsOnFailure(t)
	ctx := t.Context()
	want := []auditWorkload{
		{"audit-shop", "Deployment", "web", demoImage("shop/web:1.0"), audit.OutcomeAllow, "", 3},
		{"audit-shop", "StatefulSet", "legacy", demoImage("shop/legacy:1.0"), audit.OutcomeDeny, "approved-base", 0},
		{"audit-ops", "DaemonSet", "agent", demoImage("shop/admin:1.0"), audit.OutcomeDeny, "run-as-root", 0},
		{"audit-ops", "CronJob", "report", demoImage("shop/report:1.0"), audit.OutcomeDeny, "lineage-depth", 0},
		{"audit-pay", "Job", "billing", demoImage("shop/billing:1.0"), audit.OutcomeWarn, "base-freshness", 0},
		{"audit-pay", "Pod", "admin", demoImage("shop/admin:1.0"), audit.OutcomeDeny, "run-as-root", 0},
	}
	var workloads []placed
	for _, w := range want {
		workloads = append(workloads, placed{w.ns, w.kind, w.name, w.image})
	}
	createWorkloads(ctx, t, []string{"audit-shop", "audit-ops", "audit-pay"}, workloads)
	createReplicas(ctx, t, "audit-shop", "web", 3)

	p := runAudit(ctx, t, "-A", "-o", "json")
	got := map[string]audit.WorkloadImpact{}
	for _, w := range p.Workloads {
		if !strings.HasPrefix(w.Namespace, "audit-") {
			continue // the rest of the suite's objects
		}
		key := w.Namespace + "/" + w.Kind + "/" + w.Name
		if _, dup := got[key]; dup {
			t.Errorf("%s is listed twice", key)
		}
		got[key] = w
	}
	if len(got) != len(want) {
		t.Errorf("strata audit found %d workloads in the audit namespaces (%v), want %d: one per owner, no ReplicaSet, no replica pod", len(got), slices.Sorted(maps.Keys(got)), len(want))
	}
	for _, w := range want {
		key := w.ns + "/" + w.kind + "/" + w.name
		g, ok := got[key]
		switch {
		case !ok:
			t.Errorf("strata audit did not find %s", key)
		case g.Outcome != w.outcome:
			t.Errorf("%s: outcome %s (%+v), want %s", key, g.Outcome, g.Violations, w.outcome)
		case w.policy != "" && (g.First == nil || g.First.Policy != w.policy || g.Image != w.image):
			t.Errorf("%s: first violation %+v on image %q, want [%s] on %s", key, g.First, g.Image, w.policy, w.image)
		case w.pods > 0 && g.Pods != w.pods:
			t.Errorf("%s: %d pods, want %d", key, g.Pods, w.pods)
		}
	}

	// -n reads one namespace; -l selects workloads by label.
	p = runAudit(ctx, t, "-n", "audit-ops", "-o", "json")
	if n := len(p.Workloads); n != 2 {
		t.Errorf("strata audit -n audit-ops found %d workloads, want 2", n)
	}
	// -l is on the workloads' own labels, as kubectl get -l is: the
	// Deployment's, not its pods'.
	if out, err := s.kubectlRun(ctx, "", "label", "-n", "audit-shop", "deployment/web", "tier=frontend"); err != nil {
		t.Fatalf("kubectl label: %v\n%s", err, out)
	}
	p = runAudit(ctx, t, "-n", "audit-shop", "-l", "tier=frontend", "-o", "json")
	if len(p.Workloads) != 1 || p.Workloads[0].Name != "web" || p.Workloads[0].Pods != 3 {
		t.Errorf("strata audit -n audit-shop -l tier=frontend = %+v, want the web Deployment alone, with its 3 pods", p.Workloads)
	}
}

// runAudit runs the strata binary's audit against the suite's API server.
func runAudit(ctx context.Context, t *testing.T, args ...string) audit.Preview {
	t.Helper()
	var p audit.Preview
	runDemoCommand(ctx, t, &p, "audit", args...)
	return p
}

// runDemoCommand runs the strata binary's command, with the demo's
// registry and catalog, against the suite's API server, and decodes its
// JSON output into v.
func runDemoCommand(ctx context.Context, t *testing.T, v any, command string, args ...string) {
	t.Helper()
	out, stderr, err := strataDemo(ctx, s.kubeconfig, command, args...)
	if err != nil || json.Unmarshal(out, v) != nil {
		t.Fatalf("strata %s %s = %v; stdout:\n%s\nstderr:\n%s", command, strings.Join(args, " "), err, out, stderr)
	}
}

// strataDemo runs the strata binary's command, with the demo's registry
// and catalog, against the suite's API server with kubeconfig's
// credentials.
func strataDemo(ctx context.Context, kubeconfig, command string, args ...string) (stdout []byte, stderr string, err error) {
	ctx, cancel := context.WithTimeout(ctx, 120*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.strataBin, append([]string{command, "--demo", "--kubeconfig", kubeconfig}, args...)...)
	cmd.Env = []string{"HOME=" + s.dir}
	var errOut strings.Builder
	cmd.Stderr = &errOut
	stdout, err = cmd.Output()
	return stdout, errOut.String(), err
}

// placed is a workload the test creates: its namespace, kind, name and
// image.
type placed struct{ ns, kind, name, image string }

// createWorkloads creates the namespaces, then the workloads in them with
// kubectl apply, as a user would.
func createWorkloads(ctx context.Context, t *testing.T, namespaces []string, workloads []placed) {
	t.Helper()
	for _, ns := range namespaces {
		if err := cluster.CreateNamespace(ctx, s.client, ns); err != nil {
			t.Fatal(err)
		}
	}
	for _, w := range workloads {
		if out, err := s.kubectlApply(ctx, w.ns, manifest(w.kind, w.name, w.image)); err != nil {
			t.Fatalf("kubectl apply %s %s/%s: %v\n%s", w.kind, w.ns, w.name, err, out)
		}
	}
}

// createReplicas creates the ReplicaSet the Deployment controller would
// and n pods owned by it, as the ReplicaSet controller would.
func createReplicas(ctx context.Context, t *testing.T, ns, name string, n int) {
	t.Helper()
	d, err := s.client.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	controller := true
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{
			Name: name + "-5d8f7c", Labels: d.Spec.Template.Labels,
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: name, UID: d.UID, Controller: &controller}},
		},
		Spec: appsv1.ReplicaSetSpec{Replicas: d.Spec.Replicas, Selector: d.Spec.Selector, Template: d.Spec.Template},
	}
	if rs, err = s.client.AppsV1().ReplicaSets(ns).Create(ctx, rs, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{
				Name: rs.Name + "-" + string(rune('a'+i)), Labels: d.Spec.Template.Labels,
				OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: rs.Name, UID: rs.UID, Controller: &controller}},
			},
			Spec: d.Spec.Template.Spec,
		}
		if _, err := s.client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}
