//go:build e2e

package e2e

// The chart's audit run for real: the strata binary runs the CronJob's
// strata audit -A --write-reports as the audit's ServiceAccount
// (impersonated), whose only rights are the chart-rendered ClusterRole, and
// the API server's RBAC authorizer decides every call the report writer
// makes. The role is the least the writer needs: with it, reports are
// created, updated and pruned; without any one of its report verbs, a run
// that needs that verb fails, naming it.

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/strata-project/strata/test/cluster"
	"github.com/strata-project/strata/webhook/audit"
)

const nsAuditRun = "e2e-audit-run"

func TestChartAuditRunsWithItsRBACAlone(t *testing.T) {
	showLogsOnFailure(t)
	needHelm(t)
	installReportCRDs(t)
	ctx := t.Context()
	manifest := auditManifest(t)
	t.Cleanup(func() { deleteAuditObjects(t) })
	out, err := kubectl(t, manifest, "apply", "--server-side", "--force-conflicts", "-n", nsEnforce, "-f", "-")
	mustAllow(t, "kubectl apply --server-side of the audit objects", out, err)
	run := auditJob(t, manifest)

	apps := s.client.AppsV1()
	deploy := func(name, image string, runAsUser *int64) metav1.Object {
		t.Helper()
		d, err := apps.Deployments(nsAuditRun).Create(ctx, reportDeployment(nsAuditRun, name, image, runAsUser), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	if err := cluster.CreateNamespace(ctx, s.client, nsAuditRun); err != nil {
		t.Fatal(err)
	}
	web, admin := deploy("web", "shop/web:1.0", nil), deploy("admin", "shop/admin:1.0", nil)
	doomed, err := s.client.CoreV1().Pods(nsAuditRun).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: nsAuditRun, Name: "doomed"}, Spec: reportPodSpec("shop/web:1.0", nil)}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	setAdminUser := func(uid *int64) {
		t.Helper()
		d, err := apps.Deployments(nsAuditRun).Get(ctx, "admin", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		d.Spec.Template.Spec.Containers[0].SecurityContext.RunAsUser = uid
		if _, err := apps.Deployments(nsAuditRun).Update(ctx, d, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	dyn, err := dynamic.NewForConfig(s.apiserver.Config)
	if err != nil {
		t.Fatal(err)
	}
	api := audit.ReportAPIWGPolicy
	gone := func(obj metav1.Object) bool {
		_, err := dyn.Resource(reportResources[api]).Namespace(obj.GetNamespace()).Get(ctx, audit.ReportName(string(obj.GetUID())), metav1.GetOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Fatal(err)
		}
		return apierrors.IsNotFound(err)
	}
	succeeds := func(what string, args ...string) string {
		t.Helper()
		stderr, err := run(args...)
		if err != nil || strings.Contains(strings.ToLower(stderr), "forbidden") {
			t.Fatalf("%s: strata audit as the audit's ServiceAccount = %v, want no error and nothing forbidden; stderr:\n%s", what, err, stderr)
		}
		return stderr
	}

	// Run 1 creates every report; run 2 updates the one of the workload
	// fixed and prunes the one of the pod deleted. A refusal to read pull
	// secrets is no error of the run: it leaves every image unresolved, and
	// checkServedReport wants some results passing.
	succeeds("first run")
	for _, obj := range []metav1.Object{web, admin, doomed} {
		checkServedReport(t, dyn, api, obj)
	}
	if r := reportResult(t, getReport(t, dyn, api, admin), "run-as-root"); r["result"] != "fail" {
		t.Errorf("first run: admin run-as-root = %v, want fail", r)
	}
	setAdminUser(reportInt64(1000))
	if err := s.client.CoreV1().Pods(nsAuditRun).Delete(ctx, "doomed", metav1.DeleteOptions{GracePeriodSeconds: reportInt64(0)}); err != nil {
		t.Fatal(err)
	}
	succeeds("second run")
	if r := reportResult(t, getReport(t, dyn, api, admin), "run-as-root"); r["result"] != "pass" {
		t.Errorf("second run: admin run-as-root = %v, want pass (the report updated)", r)
	}
	if !gone(doomed) {
		t.Errorf("second run: the report of the deleted pod %s is still there, want it pruned", doomed.GetName())
	}

	// A run with a selector saw part of its scope: it deletes nothing.
	if err := apps.Deployments(nsAuditRun).Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if stderr := succeeds("run with -l", "-l", "app=admin"); !strings.Contains(stderr, " 0 deleted") || gone(web) {
		t.Errorf("strata audit -l app=admin after web was deleted: web's report kept %v, want kept and 0 deleted; stderr:\n%s", !gone(web), stderr)
	}

	// The controls: each report verb of the role taken away in turn, with a
	// cluster that needs it, fails the run with the API server's refusal.
	// web's report is left to prune; then a new workload needs a report; then
	// a changed one an update.
	for _, c := range []struct {
		verb    string
		prepare func()
	}{
		{"delete", func() {}},
		{"create", func() { deploy("fresh", "shop/web:1.0", nil) }},
		{"patch", func() { setAdminUser(nil) }},
		{"list", func() {}},
	} {
		c.prepare()
		restore := withoutReportVerb(t, c.verb)
		stderr, err := run()
		restore()
		want := `cannot ` + c.verb + ` resource "policyreports" in API group "wgpolicyk8s.io"`
		if err == nil || !strings.Contains(stderr, want) {
			t.Errorf("strata audit without %s on the reports = %v, want it to fail with %q; stderr:\n%s", c.verb, err, want, stderr)
			continue
		}
		t.Logf("without %s: %s", c.verb, stderr[strings.LastIndex(stderr[:strings.Index(stderr, want)], "\n")+1:])
	}
}

// auditJob returns a function that runs the rendered CronJob's strata
// command, with the rendered ConfigMap's strata.yaml, as the CronJob's
// ServiceAccount, and returns its stderr.
func auditJob(t *testing.T, manifest string) func(extra ...string) (string, error) {
	t.Helper()
	var cj batchv1.CronJob
	var cm corev1.ConfigMap
	renderedObject(t, manifest, "CronJob", &cj)
	renderedObject(t, manifest, "ConfigMap", &cm)
	dir := t.TempDir()
	config := filepath.Join(dir, "strata.yaml")
	if err := os.WriteFile(config, []byte(cm.Data["strata.yaml"]), 0o600); err != nil {
		t.Fatal(err)
	}
	pod := cj.Spec.JobTemplate.Spec.Template.Spec
	args := slices.Clone(pod.Containers[0].Args)
	for i, a := range args {
		if strings.HasPrefix(a, "--config=") {
			args[i] = "--config=" + config
		}
	}
	kc, err := clientcmd.LoadFromFile(s.kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	for _, user := range kc.AuthInfos {
		user.Impersonate = "system:serviceaccount:" + cj.Namespace + ":" + pod.ServiceAccountName
	}
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, kubeconfig); err != nil {
		t.Fatal(err)
	}
	return func(extra ...string) (string, error) {
		_, stderr, err := strataDemo(t.Context(), kubeconfig, args[0], append(slices.Clone(args[1:]), extra...)...)
		return stderr, err
	}
}

// withoutReportVerb takes verb away from the audit ClusterRole's report
// rule until the API server's authorizer no longer allows it, and returns
// what gives it back the same way.
func withoutReportVerb(t *testing.T, verb string) (restore func()) {
	t.Helper()
	roles := s.client.RbacV1().ClusterRoles()
	role, err := roles.Get(t.Context(), auditName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(role.Rules, func(r rbacv1.PolicyRule) bool { return slices.Contains(r.APIGroups, "wgpolicyk8s.io") })
	chart := role.Rules[i].Verbs
	set := func(verbs []string, allowed bool) {
		t.Helper()
		role, err := roles.Get(t.Context(), auditName, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		role.Rules[i].Verbs = verbs
		if _, err := roles.Update(t.Context(), role, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		a := access{verb, "wgpolicyk8s.io", "policyreports", nsAuditRun}
		for deadline := time.Now().Add(30 * time.Second); allowedToAudit(t, a) != allowed; time.Sleep(100 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("the authorizer still says %v to %s 30 s after the ClusterRole changed", !allowed, a)
			}
		}
	}
	set(slices.DeleteFunc(slices.Clone(chart), func(v string) bool { return v == verb }), false)
	return func() { set(chart, true) }
}
