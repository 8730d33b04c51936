//go:build e2e

package e2e

// The chart's audit CronJob (audit.enabled) applied for real, server-side, to
// the suite's kube-apiserver: the API server accepts the CronJob (its
// schedule, time zone and pod spec), the suite's own strata admits it in
// enforce mode with an image that runs as root (only the chart's
// securityContext keeps run-as-root quiet), and the API server's RBAC
// authorizer gives the audit's ServiceAccount exactly the access the chart
// means: list the pod-bearing workloads, write the chosen API's reports,
// get pull secrets only with pullSecrets.enabled, nothing else.

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

const (
	auditRelease = "chartaudit"
	auditName    = auditRelease + "-strata-audit" // strata.auditName
)

// access is one request the audit's ServiceAccount may or may not make.
type access struct {
	verb, group, resource, namespace string
}

func (a access) String() string {
	r := a.resource
	if a.group != "" {
		r += "." + a.group
	}
	if a.namespace == "" {
		return a.verb + " " + r + " (all namespaces)"
	}
	return a.verb + " " + r + " in " + a.namespace
}

// allowedToAudit asks the API server's authorizer (RBAC in the suite) whether
// the audit's ServiceAccount may make the request, as the API server would
// when the audit pod makes it.
func allowedToAudit(t *testing.T, a access) bool {
	t.Helper()
	sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User:   "system:serviceaccount:" + nsEnforce + ":" + auditName,
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + nsEnforce, "system:authenticated"},
		ResourceAttributes: &authorizationv1.ResourceAttributes{
			Verb: a.verb, Group: a.group, Resource: a.resource, Namespace: a.namespace,
		},
	}}
	res, err := s.client.AuthorizationV1().SubjectAccessReviews().Create(t.Context(), sar, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("SubjectAccessReview %s: %v", a, err)
	}
	return res.Status.Allowed
}

// auditManifest renders the audit's objects (and the ConfigMap its pod
// mounts) for release auditRelease in nsEnforce.
func auditManifest(t *testing.T, args ...string) string {
	t.Helper()
	image := s.images.root
	i := strings.LastIndex(image, ":")
	show := []string{"templates/configmap.yaml", "templates/audit-serviceaccount.yaml", "templates/audit-clusterrole.yaml",
		"templates/audit-clusterrolebinding.yaml", "templates/audit-cronjob.yaml", "templates/audit-networkpolicy.yaml"}
	if slices.Contains(args, "pullSecrets.enabled=true") {
		show = append(show, "templates/clusterrole.yaml", "templates/clusterrolebinding.yaml")
	}
	render := []string{"template", auditRelease, "charts/strata", "-n", nsEnforce,
		"--set", "audit.enabled=true", "--set-string", "image.repository=" + image[:i], "--set-string", "image.tag=" + image[i+1:]}
	for _, f := range show {
		render = append(render, "--show-only", f)
	}
	return helmCmd(t, append(render, args...)...)
}

// deleteAuditObjects deletes what auditManifest renders, with or without
// pull secrets.
func deleteAuditObjects(t *testing.T) {
	ctx := context.Background()
	for _, obj := range []string{"cronjob/" + auditName, "serviceaccount/" + auditName, "networkpolicy/" + auditName, "configmap/" + auditRelease + "-strata"} {
		if out, err := s.kubectlRun(ctx, "", "delete", "-n", nsEnforce, "--ignore-not-found", obj); err != nil {
			t.Errorf("cleanup: kubectl delete %s: %v\n%s", obj, err, out)
		}
	}
	for _, obj := range []string{"clusterrole/" + auditName, "clusterrolebinding/" + auditName,
		"clusterrole/" + auditRelease + "-strata-pull-secrets", "clusterrolebinding/" + auditRelease + "-strata-pull-secrets"} {
		if out, err := s.kubectlRun(ctx, "", "delete", "--ignore-not-found", obj); err != nil {
			t.Errorf("cleanup: kubectl delete %s: %v\n%s", obj, err, out)
		}
	}
}

// renderedObject decodes the manifest's one object of kind into v.
func renderedObject(t *testing.T, manifest, kind string, v any) {
	t.Helper()
	for _, doc := range strings.Split(manifest, "\n---\n") {
		if strings.Contains(doc, "\nkind: "+kind+"\n") {
			if err := yaml.UnmarshalStrict([]byte(doc), v); err != nil {
				t.Fatal(err)
			}
			return
		}
	}
	t.Fatalf("the manifest has no %s", kind)
}

func TestChartAuditCronJobAndRBACAppliedServerSide(t *testing.T) {
	showLogsOnFailure(t)
	needHelm(t)
	t.Cleanup(func() { deleteAuditObjects(t) })

	workloads := []access{
		{"list", "", "pods", ""}, {"list", "", "replicationcontrollers", ""},
		{"list", "apps", "deployments", ""}, {"list", "apps", "replicasets", ""},
		{"list", "apps", "statefulsets", ""}, {"list", "apps", "daemonsets", ""},
		{"list", "batch", "jobs", ""}, {"list", "batch", "cronjobs", ""},
		{"list", "apps", "deployments", nsWarn},
	}
	reportAccess := func(group string, namespaced, clusterScoped string, verbs ...string) []access {
		var out []access
		for _, verb := range verbs {
			out = append(out, access{verb, group, namespaced, nsWarn}, access{verb, group, clusterScoped, ""})
		}
		return out
	}
	// What the report writer needs (TestChartAuditRunsWithItsRBACAlone), and
	// what it does not.
	needed, unneeded := []string{"list", "create", "patch", "delete"}, []string{"get", "update", "watch", "deletecollection"}
	wgpolicy := reportAccess("wgpolicyk8s.io", "policyreports", "clusterpolicyreports", needed...)
	openreports := reportAccess("openreports.io", "reports", "clusterreports", needed...)
	unneededReports := slices.Concat(reportAccess("wgpolicyk8s.io", "policyreports", "clusterpolicyreports", unneeded...),
		reportAccess("openreports.io", "reports", "clusterreports", unneeded...))
	pullSecrets := []access{{"get", "", "secrets", nsWarn}, {"get", "", "serviceaccounts", nsWarn}}
	never := []access{
		{"watch", "", "pods", ""}, {"get", "", "pods", nsWarn}, {"create", "", "pods", nsWarn},
		{"delete", "apps", "deployments", nsWarn}, {"update", "batch", "cronjobs", nsEnforce},
		{"list", "", "secrets", nsWarn}, {"watch", "", "secrets", ""}, {"list", "", "configmaps", ""},
		{"list", "", "nodes", ""}, {"escalate", "rbac.authorization.k8s.io", "clusterroles", ""},
	}

	for _, tc := range []struct {
		name    string
		args    []string
		allowed []access
		denied  []access
	}{
		{"wgpolicyk8s", []string{"--set", "audit.timeZone=Europe/Paris"},
			slices.Concat(workloads, wgpolicy), slices.Concat(openreports, unneededReports, pullSecrets, never)},
		{"openreports with pull secrets and restricted egress", []string{"--set", "audit.reportAPI=openreports", "--set", "pullSecrets.enabled=true",
			"--set", "networkPolicy.registryCIDRs={10.0.0.0/8}", "--set", "networkPolicy.apiServerCIDRs={10.96.0.1/32}"},
			slices.Concat(workloads, openreports, pullSecrets), slices.Concat(wgpolicy, unneededReports, never)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			manifest := auditManifest(t, tc.args...)
			// Applied for real, server-side, into the namespace the suite's
			// strata enforces: it admits the CronJob or the apply fails.
			out, err := kubectl(t, manifest, "apply", "--server-side", "--force-conflicts", "-n", nsEnforce, "-f", "-")
			mustAllow(t, "kubectl apply --server-side of the audit objects", out, err)
			mustContain(t, "kubectl apply --server-side of the audit objects", out,
				"cronjob.batch/"+auditName+" serverside-applied",
				"serviceaccount/"+auditName+" serverside-applied",
				"clusterrole.rbac.authorization.k8s.io/"+auditName+" serverside-applied",
				"clusterrolebinding.rbac.authorization.k8s.io/"+auditName+" serverside-applied",
				"networkpolicy.networking.k8s.io/"+auditName+" serverside-applied")
			if d, ok := loggedDecision(t, "enforce", nsEnforce, auditName); !ok || d.Decision != "allowed" {
				t.Errorf("the suite's strata decision on CronJob %s = %+v (found %v), want allowed in enforce", auditName, d, ok)
			}

			cj, err := s.client.BatchV1().CronJobs(nsEnforce).Get(t.Context(), auditName, metav1.GetOptions{})
			if err != nil {
				t.Fatalf("the applied CronJob: %v", err)
			}
			if cj.Spec.ConcurrencyPolicy != batchv1.ForbidConcurrent || cj.Spec.JobTemplate.Spec.ActiveDeadlineSeconds == nil ||
				*cj.Spec.JobTemplate.Spec.ActiveDeadlineSeconds != 1800 || cj.Spec.JobTemplate.Spec.Template.Spec.ServiceAccountName != auditName {
				t.Errorf("the CronJob as stored: concurrencyPolicy %s, activeDeadlineSeconds %v, serviceAccountName %s",
					cj.Spec.ConcurrencyPolicy, cj.Spec.JobTemplate.Spec.ActiveDeadlineSeconds, cj.Spec.JobTemplate.Spec.Template.Spec.ServiceAccountName)
			}
			if args := cj.Spec.JobTemplate.Spec.Template.Spec.Containers[0].Args; !slices.Contains(args, "--write-reports") || !slices.Contains(args, "-A") {
				t.Errorf("the CronJob as stored runs %q, want strata audit -A --write-reports", args)
			}

			for _, a := range tc.allowed {
				if !allowedToAudit(t, a) {
					t.Errorf("the audit's ServiceAccount may not %s, which strata audit needs", a)
				}
			}
			for _, a := range tc.denied {
				if allowedToAudit(t, a) {
					t.Errorf("the audit's ServiceAccount may %s: more than it needs", a)
				}
			}
		})
	}

	// The control: without the chart's securityContext the same CronJob, with
	// the same root image, is denied by the suite's strata. The admission
	// above proves something.
	t.Run("denied without its securityContext", func(t *testing.T) {
		var cj batchv1.CronJob
		renderedObject(t, auditManifest(t), "CronJob", &cj)
		pod := &cj.Spec.JobTemplate.Spec.Template.Spec
		if len(pod.Containers) != 1 {
			t.Fatalf("rendered CronJob has %d containers, want 1", len(pod.Containers))
		}
		pod.SecurityContext, pod.Containers[0].SecurityContext = nil, nil
		cj.Name = auditName + "-bare"
		raw, err := yaml.Marshal(cj)
		if err != nil {
			t.Fatal(err)
		}
		out, err := apply(t, nsEnforce, string(raw), "--dry-run=server")
		mustDeny(t, fmt.Sprintf("CronJob %s without securityContext", cj.Name), out, err)
		mustContain(t, "CronJob without securityContext", out, "[run-as-root]")
	})
}
