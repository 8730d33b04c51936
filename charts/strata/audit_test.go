package strata_test

// The audit CronJob (audit.enabled): `strata audit -A --write-reports` on a
// schedule, with its own ServiceAccount and only the RBAC it needs, in a pod
// that passes strata's own policies.

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"
)

const auditName = fullname + "-audit"

// The workloads `strata audit` lists: list only (no watch, no get), nothing else.
var auditListRules = []rbacv1.PolicyRule{
	{APIGroups: []string{""}, Resources: []string{"pods", "replicationcontrollers"}, Verbs: []string{"list"}},
	{APIGroups: []string{"apps"}, Resources: []string{"daemonsets", "deployments", "replicasets", "statefulsets"}, Verbs: []string{"list"}},
	{APIGroups: []string{"batch"}, Resources: []string{"cronjobs", "jobs"}, Verbs: []string{"list"}},
}

// The report verbs the writer needs: list, server-side apply (patch, and
// create when the apply creates the report) and delete; never get or update
// (TestChartAuditRunsWithItsRBACAlone, test/e2e, asks the API server).
var reportVerbs = []string{"list", "create", "patch", "delete"}

func (r rendered) cronJob() batchv1.CronJob {
	var cj batchv1.CronJob
	r.one("CronJob", &cj)
	return cj
}

// byName decodes every object of kind in a rendering, strictly, by name.
func byName[T any](r rendered, kind string) map[string]T {
	r.t.Helper()
	out := map[string]T{}
	for _, obj := range all[T](r, kind) {
		out[any(&obj).(metav1.Object).GetName()] = obj
	}
	return out
}

func (r rendered) serviceAccounts() map[string]corev1.ServiceAccount {
	return byName[corev1.ServiceAccount](r, "ServiceAccount")
}

func (r rendered) clusterRoles() map[string]rbacv1.ClusterRole {
	return byName[rbacv1.ClusterRole](r, "ClusterRole")
}

func (r rendered) clusterRoleBindings() map[string]rbacv1.ClusterRoleBinding {
	return byName[rbacv1.ClusterRoleBinding](r, "ClusterRoleBinding")
}

// roleBindings are in several namespaces under one name: a list.
func (r rendered) roleBindings() []rbacv1.RoleBinding {
	return all[rbacv1.RoleBinding](r, "RoleBinding")
}

func bindsAuditAccount(subjects []rbacv1.Subject) bool {
	return slices.ContainsFunc(subjects, func(s rbacv1.Subject) bool {
		return s.Kind == "ServiceAccount" && s.Name == auditName && s.Namespace == namespace
	})
}

// auditRules is every rule the rendering grants the audit ServiceAccount in
// every namespace, through ClusterRoleBindings (RoleBindings: roleBindings).
func (r rendered) auditRules() []rbacv1.PolicyRule {
	roles := r.clusterRoles()
	var rules []rbacv1.PolicyRule
	for _, b := range r.clusterRoleBindings() {
		if bindsAuditAccount(b.Subjects) {
			if b.RoleRef.Kind != "ClusterRole" {
				r.t.Fatalf("ClusterRoleBinding %s refers to a %s", b.Name, b.RoleRef.Kind)
			}
			role, ok := roles[b.RoleRef.Name]
			if !ok {
				r.t.Fatalf("ClusterRoleBinding %s binds ClusterRole %s, which the chart does not render", b.Name, b.RoleRef.Name)
			}
			rules = append(rules, role.Rules...)
		}
	}
	return rules
}

func TestAuditCronJobRunsStrataAuditWithTheWebhooksConfiguration(t *testing.T) {
	t.Parallel()
	r := render(t, "--set", "audit.enabled=true", "--set", "policies.custom.mine\\.rego=package strata.policies.mine")
	cj := r.cronJob()
	d := r.deployment()
	if cj.Name != auditName || cj.Namespace != namespace {
		t.Errorf("CronJob %s/%s, want %s/%s", cj.Namespace, cj.Name, namespace, auditName)
	}
	spec := cj.Spec
	if spec.Schedule != "0 * * * *" {
		t.Errorf("schedule = %q, want hourly 0 * * * *", spec.Schedule)
	}
	if spec.TimeZone != nil {
		t.Errorf("timeZone = %q, want none by default", *spec.TimeZone)
	}
	if spec.ConcurrencyPolicy != batchv1.ForbidConcurrent {
		t.Errorf("concurrencyPolicy = %q, want Forbid", spec.ConcurrencyPolicy)
	}
	if spec.SuccessfulJobsHistoryLimit == nil || *spec.SuccessfulJobsHistoryLimit != 3 || spec.FailedJobsHistoryLimit == nil || *spec.FailedJobsHistoryLimit != 1 {
		t.Errorf("history limits = %v successful, %v failed; want 3 and 1", spec.SuccessfulJobsHistoryLimit, spec.FailedJobsHistoryLimit)
	}
	job := spec.JobTemplate.Spec
	if job.ActiveDeadlineSeconds == nil || *job.ActiveDeadlineSeconds != 1800 {
		t.Errorf("activeDeadlineSeconds = %v, want 1800", job.ActiveDeadlineSeconds)
	}
	if job.BackoffLimit == nil || *job.BackoffLimit != 0 {
		t.Errorf("backoffLimit = %v, want 0 (the next schedule is the retry)", job.BackoffLimit)
	}
	pod := job.Template.Spec
	if pod.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("restartPolicy = %q, want Never", pod.RestartPolicy)
	}
	if pod.ServiceAccountName != auditName {
		t.Errorf("serviceAccountName = %q, want %q (its own, not the webhook's)", pod.ServiceAccountName, auditName)
	}
	if pod.AutomountServiceAccountToken == nil || !*pod.AutomountServiceAccountToken {
		t.Error("the audit pod has no service account token: it cannot list workloads")
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(pod.Containers))
	}
	c := pod.Containers[0]
	wantArgs := []string{"audit", "-A", "--write-reports", "--report-api=wgpolicyk8s", "--qps=50", "--pull-secrets=false", "--config=/etc/strata/strata.yaml"}
	if !slices.Equal(c.Args, wantArgs) {
		t.Errorf("args = %q, want %q", c.Args, wantArgs)
	}
	webhook := d.Spec.Template.Spec.Containers[0]
	if c.Image != webhook.Image || c.ImagePullPolicy != webhook.ImagePullPolicy {
		t.Errorf("image %s (%s), want the webhook's %s (%s)", c.Image, c.ImagePullPolicy, webhook.Image, webhook.ImagePullPolicy)
	}
	if c.Resources.Limits.Memory().IsZero() || c.Resources.Requests.Cpu().IsZero() {
		t.Errorf("resources = %+v, want CPU requests and a memory limit", c.Resources)
	}
	if v, ok := envFrom(c, "STRATA_MEMORY_LIMIT"); !ok || v != "limits.memory" {
		t.Errorf("STRATA_MEMORY_LIMIT from %q, want limits.memory", v)
	}
	// The same strata.yaml and the same custom policies as the webhook, from
	// the same ConfigMaps, at the same paths.
	if got, want := mountedConfigMaps(c, pod.Volumes), mountedConfigMaps(webhook, d.Spec.Template.Spec.Volumes); len(want) != 2 || !equalMaps(got, want) {
		t.Errorf("audit mounts ConfigMaps %v, want the webhook's %v", got, want)
	}
	for _, v := range pod.Volumes {
		if v.ConfigMap == nil {
			t.Errorf("volume %s is not a ConfigMap: the audit needs no certificate nor anything else", v.Name)
		}
	}

	r = render(t, "--set", "audit.enabled=true", "--set", "audit.reportAPI=openreports", "--set", "audit.schedule=*/15 * * * *",
		"--set", "audit.timeZone=Europe/Paris", "--set", "audit.qps=5", "--set", "audit.activeDeadlineSeconds=600",
		"--set", "audit.successfulJobsHistoryLimit=1", "--set", "audit.failedJobsHistoryLimit=5", "--set", "audit.backoffLimit=2",
		"--set", "audit.extraArgs={--mode=warn,--selector=team=a}", "--set", "image.digest=sha256:"+strings.Repeat("a", 64))
	cj = r.cronJob()
	if cj.Spec.Schedule != "*/15 * * * *" || cj.Spec.TimeZone == nil || *cj.Spec.TimeZone != "Europe/Paris" ||
		*cj.Spec.SuccessfulJobsHistoryLimit != 1 || *cj.Spec.FailedJobsHistoryLimit != 5 ||
		*cj.Spec.JobTemplate.Spec.ActiveDeadlineSeconds != 600 || *cj.Spec.JobTemplate.Spec.BackoffLimit != 2 {
		t.Errorf("CronJob spec = %+v, want the values given", cj.Spec)
	}
	c = cj.Spec.JobTemplate.Spec.Template.Spec.Containers[0]
	wantArgs = []string{"audit", "-A", "--write-reports", "--report-api=openreports", "--qps=5", "--pull-secrets=false", "--config=/etc/strata/strata.yaml", "--mode=warn", "--selector=team=a"}
	if !slices.Equal(c.Args, wantArgs) {
		t.Errorf("args = %q, want %q", c.Args, wantArgs)
	}
	if want := "ghcr.io/strata-project/strata@sha256:" + strings.Repeat("a", 64); c.Image != want {
		t.Errorf("image = %q, want the pinned %q", c.Image, want)
	}
}

func envFrom(c corev1.Container, name string) (string, bool) {
	for _, e := range c.Env {
		if e.Name == name && e.ValueFrom != nil && e.ValueFrom.ResourceFieldRef != nil {
			return e.ValueFrom.ResourceFieldRef.Resource, true
		}
	}
	return "", false
}

// mountedConfigMaps maps each mount path of c to the ConfigMap (and subPath) behind it.
func mountedConfigMaps(c corev1.Container, volumes []corev1.Volume) map[string]string {
	out := map[string]string{}
	for _, m := range c.VolumeMounts {
		for _, v := range volumes {
			if v.Name == m.Name && v.ConfigMap != nil {
				out[m.MountPath] = v.ConfigMap.Name + "/" + m.SubPath
				if !m.ReadOnly {
					out[m.MountPath] += " (writable)"
				}
			}
		}
	}
	return out
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestAuditRBACIsTheLeastItNeeds: list on the pod-bearing workloads, the
// report verbs on the chosen API's reports, nothing else: no wildcard, no
// watch, no secrets unless pullSecrets.enabled.
func TestAuditRBACIsTheLeastItNeeds(t *testing.T) {
	t.Parallel()
	for api, reports := range map[string]rbacv1.PolicyRule{
		"wgpolicyk8s": {APIGroups: []string{"wgpolicyk8s.io"}, Resources: []string{"policyreports", "clusterpolicyreports"}, Verbs: reportVerbs},
		"openreports": {APIGroups: []string{"openreports.io"}, Resources: []string{"reports", "clusterreports"}, Verbs: reportVerbs},
	} {
		t.Run(api, func(t *testing.T) {
			t.Parallel()
			r := render(t, "--set", "audit.enabled=true", "--set", "audit.reportAPI="+api)
			want := append(slices.Clone(auditListRules), reports)
			if got := r.auditRules(); !rulesEqual(got, want) {
				t.Errorf("the audit ServiceAccount may\n%+v\nwant exactly\n%+v", got, want)
			}
			role, ok := r.clusterRoles()[auditName]
			if !ok {
				t.Fatalf("no ClusterRole %s", auditName)
			}
			for _, rule := range role.Rules {
				for _, field := range [][]string{rule.APIGroups, rule.Resources, rule.Verbs} {
					if slices.Contains(field, "*") {
						t.Errorf("rule %+v has a wildcard", rule)
					}
				}
			}
			binding, ok := r.clusterRoleBindings()[auditName]
			if !ok || binding.RoleRef.Name != auditName || len(binding.Subjects) != 1 || !bindsAuditAccount(binding.Subjects) {
				t.Errorf("ClusterRoleBinding %s = %+v, want %s bound to %s/%s only", auditName, binding, auditName, namespace, auditName)
			}
			sa, ok := r.serviceAccounts()[auditName]
			if !ok || sa.Namespace != namespace {
				t.Fatalf("ServiceAccounts %v, want %s in %s", r.serviceAccounts(), auditName, namespace)
			}
			if sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken {
				t.Error("the audit ServiceAccount mounts its token into any pod; only the audit pod asks for it")
			}
			// The webhook's own account gains nothing from the audit.
			webhookSA := r.serviceAccounts()[fullname]
			for _, b := range r.clusterRoleBindings() {
				if slices.ContainsFunc(b.Subjects, func(s rbacv1.Subject) bool { return s.Name == webhookSA.Name }) {
					t.Errorf("ClusterRoleBinding %s binds the webhook's ServiceAccount with pullSecrets disabled", b.Name)
				}
			}
		})
	}
}

// TestAuditReadsPullSecretsOnlyWhereTheWebhookDoes: the audit resolves images
// as the webhook does, so it gets get on secrets and serviceaccounts exactly
// when and where the webhook does (pullSecrets), never list.
func TestAuditReadsPullSecretsOnlyWhereTheWebhookDoes(t *testing.T) {
	t.Parallel()
	secretsRule := rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets", "serviceaccounts"}, Verbs: []string{"get"}}

	r := render(t, "--set", "audit.enabled=true", "--set", "pullSecrets.enabled=true")
	rules := r.auditRules()
	if !slices.ContainsFunc(rules, func(rule rbacv1.PolicyRule) bool {
		return rulesEqual([]rbacv1.PolicyRule{rule}, []rbacv1.PolicyRule{secretsRule})
	}) {
		t.Errorf("pullSecrets enabled: the audit may %+v, want get on secrets and serviceaccounts as the webhook", rules)
	}
	if args := r.cronJob().Spec.JobTemplate.Spec.Template.Spec.Containers[0].Args; !slices.Contains(args, "--pull-secrets=true") {
		t.Errorf("pullSecrets enabled: the audit runs %q, want --pull-secrets=true", args)
	}
	b := r.clusterRoleBindings()[fullname+"-pull-secrets"]
	if !bindsAuditAccount(b.Subjects) || !slices.ContainsFunc(b.Subjects, func(s rbacv1.Subject) bool { return s.Name == fullname }) {
		t.Errorf("ClusterRoleBinding %s subjects = %+v, want the webhook's and the audit's ServiceAccounts", b.Name, b.Subjects)
	}

	r = render(t, "--set", "audit.enabled=true", "--set", "pullSecrets.enabled=true", "--set", "pullSecrets.namespaces={team-a,team-b}")
	var namespaces []string
	for _, b := range r.roleBindings() {
		if !bindsAuditAccount(b.Subjects) {
			t.Errorf("RoleBinding %s/%s does not bind the audit ServiceAccount: subjects %+v", b.Namespace, b.Name, b.Subjects)
		}
		namespaces = append(namespaces, b.Namespace)
	}
	if !slices.Equal(namespaces, []string{"team-a", "team-b"}) {
		t.Errorf("pull-secret RoleBindings in %v, want team-a and team-b", namespaces)
	}
	if rules := r.auditRules(); !rulesEqual(rules, append(slices.Clone(auditListRules), rbacv1.PolicyRule{APIGroups: []string{"wgpolicyk8s.io"}, Resources: []string{"policyreports", "clusterpolicyreports"}, Verbs: reportVerbs})) {
		t.Errorf("pullSecrets.namespaces: cluster-wide the audit may %+v, want no secrets outside the namespaces listed", rules)
	}

	// Disabled: not a rule anywhere names secrets.
	r = render(t, "--set", "audit.enabled=true")
	for name, role := range r.clusterRoles() {
		for _, rule := range role.Rules {
			if slices.Contains(rule.Resources, "secrets") {
				t.Errorf("pullSecrets disabled: ClusterRole %s grants %+v", name, rule)
			}
		}
	}
	if n := r.count("Role") + r.count("RoleBinding"); n != 0 {
		t.Errorf("pullSecrets disabled: %d Roles and RoleBindings, want none", n)
	}
}

// TestAuditPodPassesStrataPolicies: the audit pod is as locked down as the
// webhook's, and is not one of the webhook's pods for the Service, the
// PodDisruptionBudget or the NetworkPolicy.
func TestAuditPodPassesStrataPolicies(t *testing.T) {
	t.Parallel()
	r := render(t, "--set", "audit.enabled=true", "--set", "nodeSelector.pool=system",
		"--set", "tolerations[0].key=dedicated", "--set", "tolerations[0].operator=Exists", "--set", "imagePullSecrets={regcred}")
	pod := r.cronJob().Spec.JobTemplate.Spec.Template
	d := r.deployment()
	psc := pod.Spec.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser != 65532 ||
		psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod securityContext = %+v", psc)
	}
	sc := pod.Spec.Containers[0].SecurityContext
	if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser != 65532 ||
		sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) != 0 ||
		sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("container securityContext = %+v", sc)
	}
	if pod.Spec.NodeSelector["pool"] != "system" || len(pod.Spec.Tolerations) != 1 || pod.Spec.Tolerations[0].Key != "dedicated" {
		t.Errorf("nodeSelector %v, tolerations %+v: want the Deployment's when audit sets none", pod.Spec.NodeSelector, pod.Spec.Tolerations)
	}
	if len(pod.Spec.ImagePullSecrets) != 1 || pod.Spec.ImagePullSecrets[0].Name != "regcred" {
		t.Errorf("imagePullSecrets = %+v, want the webhook's regcred to pull the same image", pod.Spec.ImagePullSecrets)
	}

	podLabels := labels.Set(pod.Labels)
	var svc corev1.Service
	r.one("Service", &svc)
	var pdb policyv1.PodDisruptionBudget
	r.one("PodDisruptionBudget", &pdb)
	np := byName[networkingv1.NetworkPolicy](r, "NetworkPolicy")[fullname]
	selectors := map[string]*metav1.LabelSelector{
		"Service":             {MatchLabels: svc.Spec.Selector},
		"PodDisruptionBudget": pdb.Spec.Selector,
		"NetworkPolicy":       &np.Spec.PodSelector,
		"Deployment":          d.Spec.Selector,
	}
	for kind, ls := range selectors {
		sel, err := metav1.LabelSelectorAsSelector(ls)
		if err != nil {
			t.Fatal(err)
		}
		if sel.Matches(podLabels) {
			t.Errorf("the %s's selector %v selects the audit pods %v: it must select the webhook's pods only", kind, sel, pod.Labels)
		}
	}
	if pod.Labels["app.kubernetes.io/instance"] != release || pod.Labels["app.kubernetes.io/component"] != "audit" {
		t.Errorf("audit pod labels = %v, want the release's instance and component audit", pod.Labels)
	}

	r = render(t, "--set", "audit.enabled=true", "--set", "nodeSelector.pool=system", "--set", "audit.nodeSelector.pool=batch",
		"--set", "tolerations[0].key=dedicated", "--set", "tolerations[0].operator=Exists", "--set", "audit.tolerations[0].key=batch", "--set", "audit.tolerations[0].operator=Exists")
	spec := r.cronJob().Spec.JobTemplate.Spec.Template.Spec
	if spec.NodeSelector["pool"] != "batch" || len(spec.Tolerations) != 1 || spec.Tolerations[0].Key != "batch" {
		t.Errorf("nodeSelector %v, tolerations %+v: want audit's own", spec.NodeSelector, spec.Tolerations)
	}
}

// TestAuditPodIsAllowedByStrataCheck gives the rendered CronJob to strata
// check in enforce mode, with an image that runs as root: only the chart's
// securityContext keeps run-as-root from denying it.
func TestAuditPodIsAllowedByStrataCheck(t *testing.T) {
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "strata")
	build := exec.Command("go", "build", "-o", bin, "./cmd/strata")
	build.Dir = filepath.Join("..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/strata: %v\n%s", err, out)
	}
	r := render(t, "--set", "audit.enabled=true", "--set", "image.repository=strata-demo.local/shop/admin", "--set", "image.tag=1.0")
	check := func(doc []byte) (string, []any) {
		manifest := filepath.Join(t.TempDir(), "cronjob.yaml")
		if err := os.WriteFile(manifest, doc, 0o644); err != nil {
			t.Fatal(err)
		}
		out, _ := exec.Command(bin, "check", "--demo", "--mode=enforce", "-o", "json", "-f", manifest).Output()
		var res struct {
			Objects []struct {
				Kind, Decision string
				Violations     []any
			}
		}
		if err := json.Unmarshal(out, &res); err != nil || len(res.Objects) != 1 || res.Objects[0].Kind != "CronJob" {
			t.Fatalf("strata check: %v\n%s", err, out)
		}
		return res.Objects[0].Decision, res.Objects[0].Violations
	}
	if decision, violations := check(r.docs["CronJob"][0]); decision != "allow" || len(violations) != 0 {
		t.Errorf("strata check --mode enforce of the audit CronJob: %s, violations %v; want allowed without any", decision, violations)
	}
	// The same CronJob without the pod's user: the image's root user decides, and strata denies.
	cj := r.cronJob()
	cj.Spec.JobTemplate.Spec.Template.Spec.SecurityContext = nil
	cj.Spec.JobTemplate.Spec.Template.Spec.Containers[0].SecurityContext = nil
	raw, err := yaml.Marshal(cj)
	if err != nil {
		t.Fatal(err)
	}
	if decision, _ := check(raw); decision != "deny" {
		t.Errorf("the CronJob without its securityContext: %s, want deny (the check would prove nothing)", decision)
	}
}

func TestAuditDisabledRendersNoAuditObject(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{nil, {"--set", "pullSecrets.enabled=true"}, {"--set", "pullSecrets.enabled=true", "--set", "pullSecrets.namespaces={team-a}"}} {
		r := render(t, args...)
		if n := r.count("CronJob"); n != 0 {
			t.Errorf("%v: %d CronJobs with audit.enabled=false, want none", args, n)
		}
		if _, ok := r.serviceAccounts()[auditName]; ok {
			t.Errorf("%v: the audit ServiceAccount is rendered with audit.enabled=false", args)
		}
		if _, ok := r.clusterRoles()[auditName]; ok {
			t.Errorf("%v: the audit ClusterRole is rendered with audit.enabled=false", args)
		}
		for _, b := range r.clusterRoleBindings() {
			if bindsAuditAccount(b.Subjects) {
				t.Errorf("%v: ClusterRoleBinding %s binds the audit ServiceAccount with audit.enabled=false", args, b.Name)
			}
		}
		for _, b := range r.roleBindings() {
			if bindsAuditAccount(b.Subjects) {
				t.Errorf("%v: RoleBinding %s/%s binds the audit ServiceAccount with audit.enabled=false", args, b.Namespace, b.Name)
			}
		}
	}
}

// TestAuditNameFitsTheCronJobLimit: a CronJob's name may have 52 characters
// (its Jobs add 11); a long release name must not make the API server refuse it.
func TestAuditNameFitsTheCronJobLimit(t *testing.T) {
	t.Parallel()
	out, err := helm(t, "template", strings.Repeat("r", 53), ".", "--namespace", namespace, "--set", "audit.enabled=true", "--show-only", "templates/audit-cronjob.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cj batchv1.CronJob
	if err := yaml.UnmarshalStrict([]byte(out), &cj); err != nil {
		t.Fatalf("CronJob: %v\n%s", err, out)
	}
	if len(cj.Name) > 52 || !strings.HasSuffix(cj.Name, "-audit") || strings.Contains(cj.Name, "--") {
		t.Errorf("CronJob name %q (%d characters), want at most 52 ending in -audit", cj.Name, len(cj.Name))
	}
	if cj.Spec.JobTemplate.Spec.Template.Spec.ServiceAccountName != cj.Name {
		t.Errorf("serviceAccountName %q, want %q", cj.Spec.JobTemplate.Spec.Template.Spec.ServiceAccountName, cj.Name)
	}
}

func TestAuditValuesRejected(t *testing.T) {
	t.Parallel()
	const schemaError = "values don't meet the specifications of the schema"
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"unknown report API", []string{"--set", "audit.reportAPI=foo"}},
		{"schedule not a string", []string{"--set", "audit.schedule=5"}},
		{"schedule not cron", []string{"--set", "audit.schedule=every hour"}},
		{"schedule with six fields", []string{"--set", "audit.schedule=TZ=UTC 0 * * * *"}},
		{"schedule across lines", []string{"--set-string", "audit.schedule=0 * * *\n*"}},
		{"enabled not a boolean", []string{"--set-string", "audit.enabled=yes"}},
		{"no qps", []string{"--set", "audit.qps=0"}},
		{"qps not a number", []string{"--set-string", "audit.qps=20"}},
		{"qps not whole", []string{"--set-json", "audit.qps=2.5"}},
		{"no deadline", []string{"--set", "audit.activeDeadlineSeconds=0"}},
		{"negative history", []string{"--set", "audit.failedJobsHistoryLimit=-1"}},
		{"time zone", []string{"--set", "audit.timeZone=UTC 1"}},
		{"extra argument not a flag", []string{"--set", "audit.extraArgs={warn}"}},
		{"extra argument across lines", []string{"--set-string", "audit.extraArgs[0]=--mode=warn\n--x"}},
		{"unknown audit key", []string{"--set", "audit.watch=true"}},
		{"audit memory", []string{"--set", "audit.resources.limits.memory=lots"}},
		{"audit resource kind", []string{"--set", "audit.resources.requests.gpu=1"}},
		{"audit toleration operator", []string{"--set", "audit.tolerations[0].operator=Bad"}},
		{"audit node label not a string", []string{"--set", "audit.nodeSelector.pool=1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := renderErr(t, append([]string{"--set", "audit.enabled=true"}, tc.args...)...)
			if err == nil || !strings.Contains(err.Error(), schemaError) {
				t.Errorf("helm template %v: err = %v, want %q", tc.args, err, schemaError)
			}
		})
	}
}

// TestNotesTellHowToRunTheAudit: with the audit on, the install notes say
// when it runs, how to start one now and where its reports are.
func TestNotesTellHowToRunTheAudit(t *testing.T) {
	t.Parallel()
	for api, reports := range map[string]string{"wgpolicyk8s": "policyreports.wgpolicyk8s.io", "openreports": "reports.openreports.io"} {
		out, err := helm(t, "install", release, ".", "--namespace", namespace, "--dry-run=client", "--set", "audit.enabled=true", "--set", "audit.reportAPI="+api)
		if err != nil {
			t.Fatal(err)
		}
		_, notes, _ := strings.Cut(out, "NOTES:")
		for _, want := range []string{
			"Audit: strata audit runs on schedule 0 * * * *",
			"kubectl -n " + namespace + " create job --from=cronjob/" + auditName,
			"kubectl get " + reports + " -A -l app.kubernetes.io/managed-by=strata",
		} {
			if !strings.Contains(notes, want) {
				t.Errorf("audit.reportAPI=%s: NOTES lack %q:\n%s", api, want, notes)
			}
		}
	}
	out, err := helm(t, "install", release, ".", "--namespace", namespace, "--dry-run=client")
	if err != nil {
		t.Fatal(err)
	}
	if _, notes, _ := strings.Cut(out, "NOTES:"); strings.Contains(notes, "strata audit runs") {
		t.Errorf("audit disabled, NOTES speak of it:\n%s", notes)
	}
}

// TestAuditPodNetworkFollowsTheWebhooks: with networkPolicy.enabled the
// audit pods accept no connection at all (they serve nothing), and once
// registryCIDRs restricts the webhook's egress, theirs is restricted the
// same way, with the API server always reachable (the audit lists workloads
// and writes reports through it).
func TestAuditPodNetworkFollowsTheWebhooks(t *testing.T) {
	t.Parallel()
	auditPolicy := func(r rendered) (networkingv1.NetworkPolicy, bool) {
		for name, np := range byName[networkingv1.NetworkPolicy](r, "NetworkPolicy") {
			if name == auditName {
				return np, true
			}
		}
		return networkingv1.NetworkPolicy{}, false
	}
	r := render(t, "--set", "audit.enabled=true")
	np, ok := auditPolicy(r)
	if !ok {
		t.Fatalf("no NetworkPolicy %s with networkPolicy.enabled", auditName)
	}
	sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
	if err != nil {
		t.Fatal(err)
	}
	pod := r.cronJob().Spec.JobTemplate.Spec.Template
	if !sel.Matches(labels.Set(pod.Labels)) || sel.Matches(labels.Set(r.deployment().Spec.Template.Labels)) {
		t.Errorf("podSelector %v: want the audit pods %v and not the webhook's", sel, pod.Labels)
	}
	if !slices.Equal(np.Spec.PolicyTypes, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}) || len(np.Spec.Ingress) != 0 {
		t.Errorf("policyTypes %v, ingress %+v: want every connection to the audit pods refused, egress open as the webhook's", np.Spec.PolicyTypes, np.Spec.Ingress)
	}

	r = render(t, "--set", "audit.enabled=true", "--set", "networkPolicy.registryCIDRs={10.0.0.0/8}", "--set", "networkPolicy.apiServerCIDRs={10.96.0.1/32}")
	np, _ = auditPolicy(r)
	if !slices.Equal(np.Spec.PolicyTypes, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}) || len(np.Spec.Ingress) != 0 {
		t.Errorf("policyTypes %v, ingress %+v: want no ingress and restricted egress", np.Spec.PolicyTypes, np.Spec.Ingress)
	}
	egress := networkPolicyEgress(np)
	want := map[int32][]string{53: {"*", "*"}, 443: {"10.0.0.0/8", "10.96.0.1/32"}, 6443: {"10.96.0.1/32"}}
	if len(egress) != len(want) {
		t.Errorf("egress = %v, want %v", egress, want)
	}
	for port, cidrs := range want {
		if !slices.Equal(egress[port], cidrs) {
			t.Errorf("egress to port %d: %v, want %v (DNS, the registries, the API server even without pullSecrets)", port, egress[port], cidrs)
		}
	}

	if _, err := renderErr(t, "--set", "audit.enabled=true", "--set", "networkPolicy.registryCIDRs={10.0.0.0/8}"); err == nil ||
		!strings.Contains(err.Error(), "networkPolicy.apiServerCIDRs") {
		t.Errorf("audit with restricted egress and no apiServerCIDRs: err = %v, want a refusal naming networkPolicy.apiServerCIDRs", err)
	}
	if _, ok := auditPolicy(render(t, "--set", "audit.enabled=true", "--set", "networkPolicy.enabled=false")); ok {
		t.Errorf("networkPolicy.enabled=false: the audit NetworkPolicy is rendered")
	}
	if _, ok := auditPolicy(render(t)); ok {
		t.Errorf("audit.enabled=false: the audit NetworkPolicy is rendered")
	}
}
