package strata_test

// The chart is rendered by the real helm (built by `make tools`) and its
// objects are decoded strictly into the Kubernetes API types, so a misspelt
// field in a template fails here, not in a cluster.

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"github.com/strata-project/strata/test/chartdocs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"
)

const (
	release   = "guard"
	namespace = "strata-system"
	fullname  = "guard-strata"
)

var modes = []string{"enforce", "warn", "audit"}

func helmPath(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", "test", "tools", "bin", "helm"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("the chart tests need the real helm at %s: run make tools (%v)", p, err)
	}
	return p
}

// helm runs the real helm binary in the chart directory.
func helm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(helmPath(t), args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), errors.New(stderr.String() + err.Error())
	}
	return stdout.String(), nil
}

// rendered is the output of helm template: raw documents by kind.
type rendered struct {
	t    *testing.T
	docs map[string][][]byte
}

// render renders the chart with args (--set ..., -f ...) and fails the test
// if helm refuses.
func render(t *testing.T, args ...string) rendered {
	t.Helper()
	out, err := renderErr(t, args...)
	if err != nil {
		t.Fatalf("helm template %s: %v", strings.Join(args, " "), err)
	}
	return out
}

func renderErr(t *testing.T, args ...string) (rendered, error) {
	t.Helper()
	out, err := helm(t, append([]string{"template", release, ".", "--namespace", namespace}, args...)...)
	if err != nil {
		return rendered{}, err
	}
	r := rendered{t: t, docs: map[string][][]byte{}}
	for doc := range strings.SplitSeq(out, "\n---\n") {
		var meta metav1.TypeMeta
		if err := yaml.Unmarshal([]byte(doc), &meta); err != nil {
			t.Fatalf("helm template produced invalid YAML: %v\n%s", err, doc)
		}
		if meta.Kind == "" {
			continue
		}
		r.docs[meta.Kind] = append(r.docs[meta.Kind], []byte(doc))
	}
	return r, nil
}

func (r rendered) count(kind string) int { return len(r.docs[kind]) }

// one decodes the only object of kind into out, strictly.
func (r rendered) one(kind string, out any) {
	r.t.Helper()
	docs := r.docs[kind]
	if len(docs) != 1 {
		r.t.Fatalf("rendered %d %s objects, want 1", len(docs), kind)
	}
	if err := yaml.UnmarshalStrict(docs[0], out); err != nil {
		r.t.Fatalf("%s does not decode strictly: %v\n%s", kind, err, docs[0])
	}
}

// all decodes every object of kind in a rendering, strictly, in the order
// helm rendered them.
func all[T any](r rendered, kind string) []T {
	r.t.Helper()
	var out []T
	for _, doc := range r.docs[kind] {
		var obj T
		if err := yaml.UnmarshalStrict(doc, &obj); err != nil {
			r.t.Fatalf("%s does not decode strictly: %v\n%s", kind, err, doc)
		}
		out = append(out, obj)
	}
	return out
}

func (r rendered) webhookConfig() admissionv1.ValidatingWebhookConfiguration {
	var vwc admissionv1.ValidatingWebhookConfiguration
	r.one("ValidatingWebhookConfiguration", &vwc)
	return vwc
}

func (r rendered) deployment() appsv1.Deployment {
	var d appsv1.Deployment
	r.one("Deployment", &d)
	return d
}

// strataConfig is strata.yaml as rendered into the ConfigMap.
func (r rendered) strataConfig() (string, map[string]any) {
	r.t.Helper()
	var raw string
	for _, cm := range all[corev1.ConfigMap](r, "ConfigMap") {
		if cm.Name == fullname {
			raw = cm.Data["strata.yaml"]
		}
	}
	var cfg map[string]any
	if err := yaml.Unmarshal([]byte(raw), &cfg); err != nil {
		r.t.Fatalf("strata.yaml: %v\n%s", err, raw)
	}
	return raw, cfg
}

// entry is mode's entry, on its path with or without pinning.
func entry(t *testing.T, vwc admissionv1.ValidatingWebhookConfiguration, mode string) admissionv1.ValidatingWebhook {
	t.Helper()
	for _, w := range vwc.Webhooks {
		if w.ClientConfig.Service != nil && w.ClientConfig.Service.Path != nil &&
			(*w.ClientConfig.Service.Path == "/validate/"+mode || *w.ClientConfig.Service.Path == "/validate/"+mode+"/pinned") {
			return w
		}
	}
	t.Fatalf("no webhook entry calls /validate/%s", mode)
	return admissionv1.ValidatingWebhook{}
}

// modesOf returns the modes whose entries the API server would call for a
// namespace named ns: the namespaceSelectors evaluated as the API server does.
func modesOf(t *testing.T, vwc admissionv1.ValidatingWebhookConfiguration, ns string) []string {
	t.Helper()
	got, err := chartdocs.NamespaceModes(vwc, ns)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestWebhookConfiguration(t *testing.T) {
	t.Parallel()
	wantFailure := map[string]admissionv1.FailurePolicyType{"enforce": admissionv1.Fail, "warn": admissionv1.Ignore, "audit": admissionv1.Ignore}
	wantResources := map[string][]string{
		"":      {"pods", "pods/ephemeralcontainers", "replicationcontrollers"},
		"apps":  {"deployments", "replicasets", "statefulsets", "daemonsets"},
		"batch": {"jobs", "cronjobs"},
	}
	for _, def := range modes {
		t.Run("default "+def, func(t *testing.T) {
			t.Parallel()
			// Each mode lists its own namespace; the default mode's list is
			// redundant but allowed.
			vwc := render(t, "--set", "mode="+def,
				"--set", "namespaces.enforce={prod}", "--set", "namespaces.warn={staging}", "--set", "namespaces.audit={legacy}",
				"--set", "exempt.namespaces={monitoring}").webhookConfig()
			if len(vwc.Webhooks) != 3 {
				t.Fatalf("webhooks = %d entries, want 3", len(vwc.Webhooks))
			}
			for _, mode := range modes {
				w := entry(t, vwc, mode)
				svc := w.ClientConfig.Service
				if svc.Name != fullname || svc.Namespace != namespace || svc.Port == nil || *svc.Port != 443 {
					t.Errorf("%s: service = %s/%s:%v, want %s/%s:443", mode, svc.Namespace, svc.Name, svc.Port, namespace, fullname)
				}
				if w.FailurePolicy == nil || *w.FailurePolicy != wantFailure[mode] {
					t.Errorf("%s: failurePolicy = %v, want %s", mode, w.FailurePolicy, wantFailure[mode])
				}
				if w.MatchPolicy == nil || *w.MatchPolicy != admissionv1.Equivalent {
					t.Errorf("%s: matchPolicy = %v, want Equivalent", mode, w.MatchPolicy)
				}
				if w.SideEffects == nil || *w.SideEffects != admissionv1.SideEffectClassNone {
					t.Errorf("%s: sideEffects = %v, want None", mode, w.SideEffects)
				}
				if w.TimeoutSeconds == nil || *w.TimeoutSeconds != 5 {
					t.Errorf("%s: timeoutSeconds = %v, want 5", mode, w.TimeoutSeconds)
				}
				if !slices.Equal(w.AdmissionReviewVersions, []string{"v1"}) {
					t.Errorf("%s: admissionReviewVersions = %v, want [v1]", mode, w.AdmissionReviewVersions)
				}
				if len(w.ClientConfig.CABundle) == 0 {
					t.Errorf("%s: empty caBundle", mode)
				}
				if len(w.MatchConditions) != 1 || !strings.Contains(w.MatchConditions[0].Expression, "oldObject.spec.containers") {
					t.Errorf("%s: matchConditions = %v, want the image-unchanged Pod update condition", mode, w.MatchConditions)
				}
				got := map[string][]string{}
				for _, rule := range w.Rules {
					if !slices.Equal(rule.Operations, []admissionv1.OperationType{admissionv1.Create, admissionv1.Update}) {
						t.Errorf("%s: rule %v: operations = %v, want CREATE, UPDATE", mode, rule.Resources, rule.Operations)
					}
					for _, g := range rule.APIGroups {
						got[g] = append(got[g], rule.Resources...)
					}
				}
				for g, want := range wantResources {
					if !slices.Equal(got[g], want) {
						t.Errorf("%s: resources of group %q = %v, want %v", mode, g, got[g], want)
					}
				}
				// The exclusion is written into every selector, not only implied.
				if !excludes(w.NamespaceSelector, namespace, "kube-system", "monitoring") {
					t.Errorf("%s: namespaceSelector %v does not exclude %s, kube-system and monitoring", mode, w.NamespaceSelector, namespace)
				}
			}
			for ns, want := range map[string][]string{
				"prod": {"enforce"}, "staging": {"warn"}, "legacy": {"audit"},
				"unlisted": {def}, "default": {def},
				namespace: nil, "kube-system": nil, "monitoring": nil,
			} {
				if got := modesOf(t, vwc, ns); !slices.Equal(got, want) {
					t.Errorf("namespace %s is sent to %v, want %v", ns, got, want)
				}
			}
		})
	}
}

// excludes reports whether sel has a NotIn on the namespace name listing all of names.
func excludes(sel *metav1.LabelSelector, names ...string) bool {
	for _, e := range sel.MatchExpressions {
		if e.Key == "kubernetes.io/metadata.name" && e.Operator == metav1.LabelSelectorOpNotIn {
			for _, n := range names {
				if !slices.Contains(e.Values, n) {
					return false
				}
			}
			return true
		}
	}
	return false
}

func TestUnlistedModeMatchesNothing(t *testing.T) {
	t.Parallel()
	vwc := render(t).webhookConfig()
	for _, ns := range []string{"default", "team-a", namespace, "kube-system"} {
		want := []string{"audit"}
		if ns == namespace || ns == "kube-system" {
			want = nil
		}
		if got := modesOf(t, vwc, ns); !slices.Equal(got, want) {
			t.Errorf("default values: namespace %s is sent to %v, want %v", ns, got, want)
		}
	}
}

func TestFailurePolicyOverride(t *testing.T) {
	t.Parallel()
	vwc := render(t, "--set", "webhook.failurePolicy.enforce=Ignore", "--set", "webhook.failurePolicy.warn=Fail").webhookConfig()
	for mode, want := range map[string]admissionv1.FailurePolicyType{"enforce": admissionv1.Ignore, "warn": admissionv1.Fail, "audit": admissionv1.Ignore} {
		if got := entry(t, vwc, mode).FailurePolicy; *got != want {
			t.Errorf("%s: failurePolicy = %s, want %s", mode, *got, want)
		}
	}
}

func TestTimeouts(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args         []string
		webhook      int32
		registryWant string
	}{
		{nil, 5, "4s"},
		{[]string{"--set", "webhook.timeoutSeconds=10"}, 10, "9s"},
		{[]string{"--set", "webhook.timeoutSeconds=2"}, 2, "1s"},
		{[]string{"--set", "webhook.timeoutSeconds=8", "--set", "registry.timeout=2500ms"}, 8, "2500ms"},
	} {
		r := render(t, tc.args...)
		for _, w := range r.webhookConfig().Webhooks {
			if *w.TimeoutSeconds != tc.webhook {
				t.Errorf("%v: %s timeoutSeconds = %d, want %d", tc.args, w.Name, *w.TimeoutSeconds, tc.webhook)
			}
		}
		_, cfg := r.strataConfig()
		if got := cfg["registry"].(map[string]any)["timeout"]; got != tc.registryWant {
			t.Errorf("%v: strata.yaml registry.timeout = %v, want %s", tc.args, got, tc.registryWant)
		}
	}
	// A registry budget at or past the webhook's timeout would let the API
	// server give up first and apply the failurePolicy instead of strata's decision.
	for _, timeout := range []string{"5s", "5000ms", "7s"} {
		if _, err := renderErr(t, "--set", "registry.timeout="+timeout); err == nil || !strings.Contains(err.Error(), "must be below webhook.timeoutSeconds") {
			t.Errorf("registry.timeout=%s with a 5s webhook: err = %v, want a refusal", timeout, err)
		}
	}
}

func TestPodDisruptionBudget(t *testing.T) {
	t.Parallel()
	if n := render(t, "--set", "replicas=1").count("PodDisruptionBudget"); n != 0 {
		t.Errorf("replicas=1: %d PodDisruptionBudgets, want none (minAvailable 1 would block every drain)", n)
	}
	r := render(t, "--set", "replicas=2")
	var pdb policyv1.PodDisruptionBudget
	r.one("PodDisruptionBudget", &pdb)
	if pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.IntValue() != 1 {
		t.Errorf("minAvailable = %v, want 1", pdb.Spec.MinAvailable)
	}
	d := r.deployment()
	sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
	if err != nil || !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
		t.Errorf("PDB selector %v does not select the pods (%v): %v", pdb.Spec.Selector, d.Spec.Template.Labels, err)
	}
}

func TestCertificatesGenerate(t *testing.T) {
	t.Parallel()
	r := render(t)
	var secret corev1.Secret
	r.one("Secret", &secret)
	if secret.Type != corev1.SecretTypeTLS {
		t.Errorf("Secret type = %s, want kubernetes.io/tls", secret.Type)
	}
	d := r.deployment()
	if got := secretVolume(d); got != secret.Name {
		t.Errorf("the pods mount Secret %q, want %q", got, secret.Name)
	}
	for _, w := range r.webhookConfig().Webhooks {
		if !bytes.Equal(w.ClientConfig.CABundle, secret.Data["ca.crt"]) {
			t.Errorf("%s: caBundle is not the generated CA in the Secret", w.Name)
		}
	}
	// The serving certificate is valid for the name the API server dials.
	ca := x509.NewCertPool()
	if !ca.AppendCertsFromPEM(secret.Data["ca.crt"]) {
		t.Fatal("ca.crt holds no PEM certificate")
	}
	block, _ := pem.Decode(secret.Data["tls.crt"])
	if block == nil {
		t.Fatal("tls.crt holds no PEM certificate")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	dnsName := fullname + "." + namespace + ".svc"
	if _, err := cert.Verify(x509.VerifyOptions{DNSName: dnsName, Roots: ca}); err != nil {
		t.Errorf("the serving certificate does not verify for %s: %v", dnsName, err)
	}
	if r.count("Certificate") != 0 || r.count("Issuer") != 0 {
		t.Error("generate mode rendered cert-manager objects")
	}
}

func TestCertificatesCertManager(t *testing.T) {
	t.Parallel()
	r := render(t, "--set", "certificates.mode=certManager")
	if n := r.count("Secret"); n != 0 {
		t.Errorf("certManager: %d Secrets rendered, want none (cert-manager writes it)", n)
	}
	vwc := r.webhookConfig()
	if got, want := vwc.Annotations["cert-manager.io/inject-ca-from"], namespace+"/"+fullname; got != want {
		t.Errorf("cert-manager.io/inject-ca-from = %q, want %q", got, want)
	}
	for _, w := range vwc.Webhooks {
		if len(w.ClientConfig.CABundle) != 0 {
			t.Errorf("%s: caBundle set at render time; cainjector owns it", w.Name)
		}
	}
	// The Certificate the annotation names writes the Secret the pods mount.
	var serving map[string]any
	for _, doc := range r.docs["Certificate"] {
		var c map[string]any
		if err := yaml.Unmarshal(doc, &c); err != nil {
			t.Fatal(err)
		}
		if c["metadata"].(map[string]any)["name"] == fullname {
			serving = c
		}
	}
	if serving == nil {
		t.Fatalf("no Certificate named %s among %d", fullname, r.count("Certificate"))
	}
	spec := serving["spec"].(map[string]any)
	if got := secretVolume(r.deployment()); got != spec["secretName"] {
		t.Errorf("the pods mount Secret %q, the Certificate writes %q", got, spec["secretName"])
	}
	if dns := spec["dnsNames"].([]any); !slices.Contains(dns, any(fullname+"."+namespace+".svc")) {
		t.Errorf("dnsNames = %v, want %s.%s.svc among them", dns, fullname, namespace)
	}
	if n := r.count("Issuer"); n != 2 {
		t.Errorf("%d Issuers, want 2 (self-signed for the CA, the CA for the serving certificate)", n)
	}
}

func TestCertificatesSecret(t *testing.T) {
	t.Parallel()
	ca := base64.StdEncoding.EncodeToString([]byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"))
	r := render(t, "--set", "certificates.mode=secret", "--set", "certificates.secret.name=my-tls", "--set", "certificates.secret.caBundle="+ca)
	if n := r.count("Secret"); n != 0 {
		t.Errorf("secret mode: %d Secrets rendered, want none", n)
	}
	if got := secretVolume(r.deployment()); got != "my-tls" {
		t.Errorf("the pods mount Secret %q, want my-tls", got)
	}
	for _, w := range r.webhookConfig().Webhooks {
		if got := base64.StdEncoding.EncodeToString(w.ClientConfig.CABundle); got != ca {
			t.Errorf("%s: caBundle = %s, want the value given", w.Name, got)
		}
	}
	if _, err := renderErr(t, "--set", "certificates.mode=secret"); err == nil {
		t.Error("certificates.mode=secret without a Secret name or caBundle rendered")
	}
}

func secretVolume(d appsv1.Deployment) string {
	for _, v := range d.Spec.Template.Spec.Volumes {
		if v.Name == "tls" && v.Secret != nil {
			return v.Secret.SecretName
		}
	}
	return ""
}

func TestRBAC(t *testing.T) {
	t.Parallel()
	rbacKinds := []string{"Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"}

	r := render(t)
	for _, kind := range rbacKinds {
		if n := r.count(kind); n != 0 {
			t.Errorf("pullSecrets disabled: %d %s objects, want none", n, kind)
		}
	}
	var sa corev1.ServiceAccount
	r.one("ServiceAccount", &sa)
	if sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken {
		t.Error("the ServiceAccount mounts its token by default")
	}
	pod := r.deployment().Spec.Template.Spec
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Error("pullSecrets disabled: the pod mounts a service account token")
	}
	if !slices.Contains(pod.Containers[0].Args, "--pull-secrets=false") {
		t.Errorf("pullSecrets disabled: args = %v, want --pull-secrets=false so strata serve does not look for a token", pod.Containers[0].Args)
	}

	r = render(t, "--set", "pullSecrets.enabled=true")
	var role rbacv1.ClusterRole
	r.one("ClusterRole", &role)
	want := []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets", "serviceaccounts"}, Verbs: []string{"get"}}}
	if !rulesEqual(role.Rules, want) {
		t.Errorf("ClusterRole rules = %+v, want only get on secrets and serviceaccounts", role.Rules)
	}
	var binding rbacv1.ClusterRoleBinding
	r.one("ClusterRoleBinding", &binding)
	if binding.RoleRef.Name != role.Name || len(binding.Subjects) != 1 || binding.Subjects[0].Name != fullname || binding.Subjects[0].Namespace != namespace {
		t.Errorf("ClusterRoleBinding = %+v, want %s bound to service account %s/%s", binding, role.Name, namespace, fullname)
	}
	pod = r.deployment().Spec.Template.Spec
	if pod.AutomountServiceAccountToken == nil || !*pod.AutomountServiceAccountToken {
		t.Error("pullSecrets enabled: the pod has no service account token")
	}
	if !slices.Contains(pod.Containers[0].Args, "--pull-secrets=true") {
		t.Errorf("pullSecrets enabled: args = %v, want --pull-secrets=true", pod.Containers[0].Args)
	}

	r = render(t, "--set", "pullSecrets.enabled=true", "--set", "pullSecrets.namespaces={team-a,team-b}")
	if r.count("ClusterRole") != 0 || r.count("ClusterRoleBinding") != 0 || r.count("Role") != 2 || r.count("RoleBinding") != 2 {
		t.Errorf("pullSecrets.namespaces: ClusterRole %d, ClusterRoleBinding %d, Role %d, RoleBinding %d; want 0, 0, 2, 2",
			r.count("ClusterRole"), r.count("ClusterRoleBinding"), r.count("Role"), r.count("RoleBinding"))
	}
	for _, role := range all[rbacv1.Role](r, "Role") {
		if !slices.Contains([]string{"team-a", "team-b"}, role.Namespace) || !rulesEqual(role.Rules, want) {
			t.Errorf("Role %s/%s rules %+v", role.Namespace, role.Name, role.Rules)
		}
	}
}

func rulesEqual(a, b []rbacv1.PolicyRule) bool {
	return slices.EqualFunc(a, b, func(x, y rbacv1.PolicyRule) bool {
		return slices.Equal(x.APIGroups, y.APIGroups) && slices.Equal(x.Resources, y.Resources) &&
			slices.Equal(x.Verbs, y.Verbs) && len(x.ResourceNames) == 0 && len(x.NonResourceURLs) == 0
	})
}

// TestPodPassesItsOwnPolicies: strata's pod is what run-as-root and the
// Pod Security "restricted" profile ask of every other pod.
func TestDeployment(t *testing.T) {
	t.Parallel()
	r := render(t, "--set", "priorityClassName=system-cluster-critical", "--set", "policies.custom.mine\\.rego=package strata.policies.mine")
	d := r.deployment()
	pod := d.Spec.Template.Spec
	if *d.Spec.Replicas != 2 {
		t.Errorf("replicas = %d, want 2", *d.Spec.Replicas)
	}
	if pod.PriorityClassName != "system-cluster-critical" {
		t.Errorf("priorityClassName = %q", pod.PriorityClassName)
	}
	psc := pod.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser != 65532 ||
		psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod securityContext = %+v", psc)
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(pod.Containers))
	}
	c := pod.Containers[0]
	sc := c.SecurityContext
	if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser != 65532 ||
		sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) != 0 ||
		sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("container securityContext = %+v", sc)
	}
	// strata sets Go's soft memory limit below the container's own; a
	// GOMEMLIMIT here would override it with the whole limit.
	if v, ok := envFrom(c, "STRATA_MEMORY_LIMIT"); !ok || v != "limits.memory" {
		t.Errorf("STRATA_MEMORY_LIMIT from %q, want limits.memory", v)
	}
	if _, ok := envFrom(c, "GOMEMLIMIT"); ok {
		t.Error("GOMEMLIMIT is set from the limit; want it unset, so that strata's 90 % applies")
	}
	wantArgs := []string{"serve", "--config=/etc/strata/strata.yaml", "--cert-dir=/etc/strata/tls", "--addr=:8443", "--health-addr=:8080", "--pull-secrets=false", "--max-connections=1000", "--health-max-connections=64"}
	if !slices.Equal(c.Args, wantArgs) {
		t.Errorf("args = %q, want %q", c.Args, wantArgs)
	}
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	if ports["webhook"] != 8443 || ports["health"] != 8080 {
		t.Errorf("ports = %v, want webhook 8443 and health 8080", ports)
	}
	for name, p := range map[string]*corev1.Probe{"/readyz": c.ReadinessProbe, "/healthz": c.LivenessProbe} {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != name || p.HTTPGet.Port.String() != "health" {
			t.Errorf("probe %s = %+v", name, p)
		}
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("resources = %+v, want CPU requests and a memory limit", c.Resources)
	}
	var keys []string
	for _, tsc := range pod.TopologySpreadConstraints {
		keys = append(keys, tsc.TopologyKey)
		if tsc.WhenUnsatisfiable != corev1.ScheduleAnyway {
			t.Errorf("%s: whenUnsatisfiable = %s, want ScheduleAnyway", tsc.TopologyKey, tsc.WhenUnsatisfiable)
		}
	}
	if !slices.Equal(keys, []string{"kubernetes.io/hostname", "topology.kubernetes.io/zone"}) {
		t.Errorf("topologySpreadConstraints keys = %v", keys)
	}
	mounts := map[string]string{}
	for _, m := range c.VolumeMounts {
		mounts[m.Name] = m.MountPath
	}
	if mounts["config"] != "/etc/strata/strata.yaml" || mounts["tls"] != "/etc/strata/tls" || mounts["policies"] != "/etc/strata/policies" {
		t.Errorf("volume mounts = %v", mounts)
	}

	var svc corev1.Service
	r.one("Service", &svc)
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 443 || svc.Spec.Ports[0].TargetPort.String() != "webhook" {
		t.Errorf("Service ports = %+v, want 443 → webhook (8443)", svc.Spec.Ports)
	}
	sel := labels.SelectorFromSet(svc.Spec.Selector)
	if !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
		t.Errorf("Service selector %v does not select the pods %v", svc.Spec.Selector, d.Spec.Template.Labels)
	}
}

func TestStrataConfig(t *testing.T) {
	t.Parallel()
	_, cfg := render(t, "--set", "exempt.namespaces={monitoring}", "--set", "policies.actions.lineage-depth=warn").strataConfig()
	exempt := cfg["exempt"].(map[string]any)["namespaces"].([]any)
	for _, ns := range []string{namespace, "kube-system", "monitoring"} {
		if !slices.Contains(exempt, any(ns)) {
			t.Errorf("strata.yaml exempt.namespaces = %v, want %s among them", exempt, ns)
		}
	}
	pol := cfg["policies"].(map[string]any)
	if pol["actions"].(map[string]any)["lineage-depth"] != "warn" {
		t.Errorf("policies.actions = %v", pol["actions"])
	}
	if _, ok := pol["paths"]; ok {
		t.Errorf("policies.paths = %v without custom policies", pol["paths"])
	}
	r := render(t, "--set", "policies.custom.mine\\.rego=package strata.policies.mine")
	_, cfg = r.strataConfig()
	if got := cfg["policies"].(map[string]any)["paths"]; !slices.Equal(got.([]any), []any{"/etc/strata/policies"}) {
		t.Errorf("policies.paths = %v, want [/etc/strata/policies]", got)
	}
	if r.count("ConfigMap") != 2 {
		t.Errorf("%d ConfigMaps, want strata.yaml's and the policies'", r.count("ConfigMap"))
	}
}

func TestValuesRejected(t *testing.T) {
	t.Parallel()
	const schemaError = "values don't meet the specifications of the schema"
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown key", []string{"--set", "enforce=true"}, schemaError},
		{"unknown nested key", []string{"--set", "webhook.failurePolicy.default=Fail"}, schemaError},
		{"mode block", []string{"--set", "mode=block"}, schemaError},
		{"timeout 30", []string{"--set", "webhook.timeoutSeconds=30"}, schemaError},
		{"no connection", []string{"--set", "connections.webhook=0"}, schemaError},
		{"connections not a number", []string{"--set-string", "connections.health=64\n            - --dev"}, schemaError},
		{"failurePolicy", []string{"--set", "webhook.failurePolicy.audit=Deny"}, schemaError},
		{"policy action", []string{"--set", "policies.actions.run-as-root=deny"}, schemaError},
		{"namespace name", []string{"--set", "namespaces.enforce={Team_A}"}, schemaError},
		{"certificate mode", []string{"--set", "certificates.mode=selfSigned"}, schemaError},
		{"custom policy file name", []string{"--set", "policies.custom.policy\\.txt=x"}, schemaError},
		{"network policy without control plane", []string{"--set", "networkPolicy.controlPlaneCIDRs={}"}, schemaError},
		{"network policy with control plane removed", []string{"--set", "networkPolicy.controlPlaneCIDRs=null"}, "networkPolicy.controlPlaneCIDRs is empty"},
		{"control plane not a CIDR", []string{"--set", "networkPolicy.controlPlaneCIDRs={apiserver}"}, schemaError},
		{"client auth without a CA", []string{"--set", "webhook.clientAuth.enabled=true"}, schemaError},
		{"client auth with two CAs", []string{"--set", "webhook.clientAuth.enabled=true", "--set", "webhook.clientAuth.configMap=ca", "--set-file", "webhook.clientAuth.caBundle=testdata/client-ca.crt"}, schemaError},
		{"client CA not PEM", []string{"--set", "webhook.clientAuth.enabled=true", "--set", "webhook.clientAuth.caBundle=LS0tLS1CRUdJTg=="}, schemaError},
		{"namespace in two modes", []string{"--set", "namespaces.enforce={prod}", "--set", "namespaces.warn={prod}"}, `namespace "prod" is listed under namespaces.enforce and namespaces.warn`},
		{"release namespace given a mode", []string{"--set", "namespaces.enforce={" + namespace + "}"}, "strata never checks it"},
		{"kube-system given a mode", []string{"--set", "namespaces.audit={kube-system}"}, "strata never checks it"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := renderErr(t, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("helm template %v: err = %v, want %q", tc.args, err, tc.want)
			}
		})
	}
}

// networkPolicyPorts maps each ingress port to the CIDRs it admits ("*"
// for a peer that is not an ipBlock).
func networkPolicyIngress(np networkingv1.NetworkPolicy) map[int32][]string {
	ingress := map[int32][]string{}
	for _, rule := range np.Spec.Ingress {
		for _, p := range rule.Ports {
			for _, peer := range rule.From {
				if peer.IPBlock == nil {
					ingress[p.Port.IntVal] = append(ingress[p.Port.IntVal], "*")
					continue
				}
				ingress[p.Port.IntVal] = append(ingress[p.Port.IntVal], peer.IPBlock.CIDR)
			}
		}
	}
	return ingress
}

// networkPolicyEgress maps each egress port to the CIDRs it reaches ("*" for
// a rule without destinations).
func networkPolicyEgress(np networkingv1.NetworkPolicy) map[int32][]string {
	egress := map[int32][]string{}
	for _, rule := range np.Spec.Egress {
		for _, p := range rule.Ports {
			for _, peer := range rule.To {
				egress[p.Port.IntVal] = append(egress[p.Port.IntVal], peer.IPBlock.CIDR)
			}
			if len(rule.To) == 0 {
				egress[p.Port.IntVal] = append(egress[p.Port.IntVal], "*")
			}
		}
	}
	return egress
}

// TestWebhookPortOpenToEveryPodByDefaultIsClosed: the chart's NetworkPolicy
// is on by default, admitting the webhook port only from the control plane's
// CIDRs (which a value narrows) and the metrics port only from metricsFrom.
func TestWebhookPortOpenToEveryPodByDefaultIsClosed(t *testing.T) {
	t.Parallel()
	var np networkingv1.NetworkPolicy
	render(t).one("NetworkPolicy", &np)
	if !slices.Equal(np.Spec.PolicyTypes, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}) {
		t.Errorf("default policyTypes = %v, want Ingress only: egress is restricted once registryCIDRs names the registries", np.Spec.PolicyTypes)
	}
	ingress := networkPolicyIngress(np)
	if !slices.Equal(ingress[8443], []string{"0.0.0.0/0", "::/0"}) || len(ingress) != 1 {
		t.Errorf("default ingress = %v, want only 8443 from the default controlPlaneCIDRs", ingress)
	}
	if n := render(t, "--set", "networkPolicy.enabled=false").count("NetworkPolicy"); n != 0 {
		t.Errorf("%d NetworkPolicies with networkPolicy.enabled=false, want none", n)
	}

	render(t, "--set", "networkPolicy.controlPlaneCIDRs={172.18.0.0/24}").one("NetworkPolicy", &np)
	if got := networkPolicyIngress(np)[8443]; !slices.Equal(got, []string{"172.18.0.0/24"}) {
		t.Errorf("ingress to 8443 from %v, want only controlPlaneCIDRs' 172.18.0.0/24", got)
	}

	render(t, "-f", "ci/pullsecrets-values.yaml").one("NetworkPolicy", &np)
	ingress = networkPolicyIngress(np)
	if !slices.Equal(ingress[8080], []string{"*"}) {
		t.Errorf("ingress to 8080 from %v, want metricsFrom's namespace selector", ingress[8080])
	}
	egress := networkPolicyEgress(np)
	if !slices.Contains(egress[53], "*") || !slices.Contains(egress[443], "0.0.0.0/0") || !slices.Contains(egress[6443], "10.96.0.1/32") {
		t.Errorf("egress = %v, want DNS, the registries on 443 and the API server", egress)
	}
	// Without pullSecrets.enabled, strata never calls the API server.
	var noSecrets networkingv1.NetworkPolicy
	render(t, "-f", "ci/pullsecrets-values.yaml", "--set", "pullSecrets.enabled=false").one("NetworkPolicy", &noSecrets)
	egress = networkPolicyEgress(noSecrets)
	for _, cidrs := range egress {
		if slices.Contains(cidrs, "10.96.0.1/32") {
			t.Errorf("egress = %v without pullSecrets.enabled, want no rule to apiServerCIDRs", egress)
		}
	}
	if !slices.Contains(egress[443], "0.0.0.0/0") {
		t.Errorf("egress = %v without pullSecrets.enabled, want the registries still on 443", egress)
	}
}

// TestWebhookClientAuthWiredToServe: webhook.clientAuth gives strata serve
// the API server's client CA and common name, from the chart's ConfigMap or
// the user's. The chart's ConfigMap is set as docs/mtls.md's helm upgrade
// sets it, its CA file replaced by the test's.
func TestWebhookClientAuthWiredToServe(t *testing.T) {
	t.Parallel()
	ca, err := os.ReadFile("testdata/client-ca.crt")
	if err != nil {
		t.Fatal(err)
	}
	mtls, err := os.ReadFile("../../docs/mtls.md")
	if err != nil {
		t.Fatal(err)
	}
	var documented []string
	for line := range strings.SplitSeq(strings.ReplaceAll(string(mtls), "\\\n", " "), "\n") {
		if strings.Contains(line, "helm upgrade") && strings.Contains(line, "webhook.clientAuth") {
			documented = chartdocs.SetArgs(strings.ReplaceAll(line, "caBundle=webhook-ca.crt", "caBundle=testdata/client-ca.crt"))
		}
	}
	if !slices.Contains(documented, "webhook.clientAuth.enabled=true") || !slices.Contains(documented, "webhook.clientAuth.caBundle=testdata/client-ca.crt") {
		t.Fatalf("docs/mtls.md's helm upgrade sets %q, want webhook.clientAuth.enabled and its caBundle from webhook-ca.crt", documented)
	}
	for _, tc := range []struct {
		name          string
		args          []string
		wantConfigMap string
		wantCN        string
	}{
		{"chart's ConfigMap, as docs/mtls.md sets it", documented, fullname + "-client-ca", "--client-cn=kube-apiserver"},
		{"user's ConfigMap, any CN", []string{"--set", "webhook.clientAuth.configMap=apiserver-client-ca", "--set", "webhook.clientAuth.cn="}, "apiserver-client-ca", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := render(t, append([]string{"--set", "webhook.clientAuth.enabled=true"}, tc.args...)...)
			c := r.deployment().Spec.Template.Spec.Containers[0]
			if !slices.Contains(c.Args, "--client-ca=/etc/strata/client-ca/ca.crt") {
				t.Errorf("args = %q, want --client-ca", c.Args)
			}
			var cn []string
			for _, a := range c.Args {
				if strings.HasPrefix(a, "--client-cn") {
					cn = append(cn, a)
				}
			}
			if tc.wantCN == "" && len(cn) != 0 || tc.wantCN != "" && !slices.Equal(cn, []string{tc.wantCN}) {
				t.Errorf("--client-cn args = %q, want %q", cn, tc.wantCN)
			}
			var mounted bool
			for _, m := range c.VolumeMounts {
				mounted = mounted || m.Name == "client-ca" && m.MountPath == "/etc/strata/client-ca"
			}
			var source string
			for _, v := range r.deployment().Spec.Template.Spec.Volumes {
				if v.Name == "client-ca" && v.ConfigMap != nil {
					source = v.ConfigMap.Name
				}
			}
			if !mounted || source != tc.wantConfigMap {
				t.Errorf("client CA mounted %v from ConfigMap %q, want mounted from %q", mounted, source, tc.wantConfigMap)
			}
			var chartCA []string
			for _, cm := range all[corev1.ConfigMap](r, "ConfigMap") {
				if cm.Name == fullname+"-client-ca" {
					chartCA = append(chartCA, cm.Data["ca.crt"])
				}
			}
			wantChartCA := tc.wantConfigMap == fullname+"-client-ca"
			if wantChartCA && (len(chartCA) != 1 || strings.TrimSpace(chartCA[0]) != strings.TrimSpace(string(ca))) || !wantChartCA && len(chartCA) != 0 {
				t.Errorf("chart's client CA ConfigMaps = %q, want the CA only when caBundle is given", chartCA)
			}
		})
	}
	if args := render(t).deployment().Spec.Template.Spec.Containers[0].Args; slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "--client-") }) {
		t.Errorf("default args = %q, want no client authentication", args)
	}
}

// TestCIValues renders every ci/*-values.yaml (the files the end-to-end suite
// applies to a real API server) and lints the chart with each.
func TestCIValues(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("ci/*-values.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no ci/*-values.yaml: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			r := render(t, "-f", f)
			if n := len(r.webhookConfig().Webhooks); n != 3 {
				t.Errorf("%d webhook entries, want 3", n)
			}
			r.deployment()
			if out, err := helm(t, "lint", "--strict", ".", "-f", f); err != nil {
				t.Errorf("helm lint --strict -f %s: %v\n%s", f, err, out)
			}
		})
	}
}

func TestLint(t *testing.T) {
	t.Parallel()
	if out, err := helm(t, "lint", "--strict", "."); err != nil {
		t.Errorf("helm lint --strict: %v\n%s", err, out)
	}
}

// TestStrataAcceptsConfig gives each rendered strata.yaml, and the custom
// policies beside it, to strata itself: unknown keys, invalid values and Rego
// that does not compile all fail `strata check`.
func TestStrataAcceptsConfig(t *testing.T) {
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "strata")
	build := exec.Command("go", "build", "-o", bin, "./cmd/strata")
	build.Dir = filepath.Join("..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/strata: %v\n%s", err, out)
	}
	files, _ := filepath.Glob("ci/*-values.yaml")
	for _, values := range append([]string{"values.yaml"}, files...) {
		t.Run(filepath.Base(values), func(t *testing.T) {
			t.Parallel()
			r := render(t, "-f", values)
			dir := t.TempDir()
			policies := filepath.Join(dir, "policies")
			if err := os.Mkdir(policies, 0o755); err != nil {
				t.Fatal(err)
			}
			for _, cm := range all[corev1.ConfigMap](r, "ConfigMap") {
				if cm.Name != fullname+"-policies" {
					continue
				}
				for file, content := range cm.Data {
					if err := os.WriteFile(filepath.Join(policies, file), []byte(content), 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			raw, _ := r.strataConfig()
			config := filepath.Join(dir, "strata.yaml")
			manifest := filepath.Join(dir, "manifest.yaml")
			// The registry CA the chart mounts (registry.caBundle), as a file.
			ca := filepath.Join(dir, "ca.crt")
			if err := os.WriteFile(ca, testCAPEM(t), 0o644); err != nil {
				t.Fatal(err)
			}
			local := strings.NewReplacer("/etc/strata/policies", policies, "/etc/strata/registry-ca/ca.crt", ca).Replace(raw)
			if err := os.WriteFile(config, []byte(local), 0o644); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command(bin, "config", "validate", "--offline", "-f", config).CombinedOutput(); err != nil {
				t.Errorf("strata config validate (rendered from %s): %v\n%s\n%s", values, err, out, raw)
			}
			if err := os.WriteFile(manifest, []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: nothing-to-check}\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(bin, "check", "--config", config, "-f", manifest).CombinedOutput()
			if err != nil {
				t.Errorf("strata check --config (rendered from %s): %v\n%s\n%s", values, err, out, raw)
			}
		})
	}
}

// TestReadmeGenerated: README.md is gen-readme.go's output for values.yaml,
// so every value is documented and the two never disagree.
func TestReadmeGenerated(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command("go", "run", "gen-readme.go")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go run gen-readme.go: %v\n%s", err, stderr.String())
	}
	have, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(have, stdout.Bytes()) {
		t.Error("README.md is stale: run go run gen-readme.go > README.md in charts/strata")
	}
}

func TestServiceMonitor(t *testing.T) {
	t.Parallel()
	r := render(t, "--set", "metrics.serviceMonitor.enabled=true")
	if n := r.count("ServiceMonitor"); n != 1 {
		t.Fatalf("%d ServiceMonitors, want 1", n)
	}
	var sm struct {
		Spec struct {
			Endpoints []struct{ Port, Path string }
		}
	}
	if err := yaml.Unmarshal(r.docs["ServiceMonitor"][0], &sm); err != nil {
		t.Fatal(err)
	}
	var svc corev1.Service
	r.one("Service", &svc)
	for _, e := range sm.Spec.Endpoints {
		if !slices.ContainsFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == e.Port && p.Port == 8080 }) || e.Path != "/metrics" {
			t.Errorf("ServiceMonitor scrapes %s%s; the Service ports are %+v", e.Port, e.Path, svc.Spec.Ports)
		}
	}
	if n := render(t).count("ServiceMonitor"); n != 0 {
		t.Errorf("%d ServiceMonitors by default, want none (the CRD may not exist)", n)
	}
}

// TestNotes: the install notes say which mode is active and how to go on;
// the warning of a webhook port open to every address stays until the
// CIDRs are narrowed or mutual TLS is on (docs/mtls.md).
func TestNotes(t *testing.T) {
	t.Parallel()
	const openPort = "WARNING: the webhook port (8443) accepts connections from any address"
	for _, tc := range []struct {
		args         []string
		want, absent []string
	}{
		{nil, []string{"Default mode: AUDIT", "From audit to enforce", "--set 'namespaces.enforce={team-a}'", openPort, "networkPolicy.controlPlaneCIDRs"}, nil},
		{[]string{"--set", "webhook.clientAuth.enabled=true", "--set", "webhook.clientAuth.configMap=apiserver-ca"}, []string{"Mutual TLS: strata answers only client certificates signed by ConfigMap apiserver-ca with common name kube-apiserver", "guard-strata.strata-system.svc:443"}, []string{openPort}},
		{[]string{"--set", "networkPolicy.controlPlaneCIDRs={172.18.0.0/24}"}, nil, []string{openPort}},
		{[]string{"--set", "mode=enforce", "--set", "namespaces.audit={legacy}"}, []string{"Default mode: ENFORCE", "audit: legacy"}, nil},
	} {
		out, err := helm(t, append([]string{"install", release, ".", "--namespace", namespace, "--dry-run=client"}, tc.args...)...)
		if err != nil {
			t.Fatalf("helm install --dry-run %v: %v", tc.args, err)
		}
		_, notes, _ := strings.Cut(out, "NOTES:")
		for _, want := range tc.want {
			if !strings.Contains(notes, want) {
				t.Errorf("helm install %v: NOTES lack %q:\n%s", tc.args, want, notes)
			}
		}
		for _, absent := range tc.absent {
			if strings.Contains(notes, absent) {
				t.Errorf("helm install %v: NOTES say %q:\n%s", tc.args, absent, notes)
			}
		}
	}
}

// TestConnectionLimitsWiredToServe: the connections values reach strata
// serve's flags.
func TestConnectionLimitsWiredToServe(t *testing.T) {
	t.Parallel()
	args := render(t, "--set", "connections.webhook=250", "--set", "connections.health=16").deployment().Spec.Template.Spec.Containers[0].Args
	for _, want := range []string{"--max-connections=250", "--health-max-connections=16"} {
		if !slices.Contains(args, want) {
			t.Errorf("args = %q, want %s", args, want)
		}
	}
}

// testCAPEM is a CA certificate in PEM, as a registry.caBundle holds.
func testCAPEM(t *testing.T) []byte {
	t.Helper()
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	defer srv.Close()
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
}

// NOTES say what an install with an empty catalog checks, and how to name
// bases; with a catalog they say nothing of it.
func TestNotesSayWhatAnEmptyCatalogLeavesUnchecked(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want bool
	}{{nil, true}, {[]string{"-f", "ci/catalog-values.yaml"}, false}} {
		out, err := helm(t, append([]string{"install", release, ".", "--namespace", namespace, "--dry-run=client"}, tc.args...)...)
		if err != nil {
			t.Fatalf("helm install --dry-run %v: %v", tc.args, err)
		}
		_, notes, _ := strings.Cut(out, "NOTES:")
		if got := strings.Contains(notes, "The catalog is EMPTY (catalog.images)") && strings.Contains(notes, "--set 'catalog.images[0].ref="); got != tc.want {
			t.Errorf("helm install %v: NOTES say the catalog is empty: %t, want %t\n%s", tc.args, got, tc.want, notes)
		}
	}
}
