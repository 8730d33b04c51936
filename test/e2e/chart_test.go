//go:build e2e

package e2e

// The Helm chart (charts/strata) against the suite's real kube-apiserver:
// every rendering is accepted by the API server (a server-side dry run), and
// the real helm installs, upgrades and uninstalls a release.
//
// The release is not called strata: the chart names its objects after the
// release (strata → strata), and the suite's own webhook configuration is
// already called strata. helm would refuse to adopt it, and a server-side
// apply would conflict with the suite's fields.
//
// While the chart is installed its webhook entries select (almost) every
// namespace and call a Service that has no pods (envtest runs no
// controllers): with mode=enforce (failurePolicy Fail) the API server refuses
// every pod, deployment, ... in those namespaces. These tests never call
// t.Parallel, so no other test runs meanwhile, and they wait, before
// returning, until the API server has stopped calling the chart's webhooks.

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"github.com/strata-project/strata/test/chartdocs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/strata-project/strata/test/cluster"
)

const (
	chartRelease   = "chart"
	chartFullname  = "chart-strata"   // strata.fullname: <release>-strata
	chartNSRender  = "strata-chart"   // the server-side dry runs; also where the webhook probes create pods
	chartNSInstall = "strata-chart-2" // the installed release

	chartReleaseSelector = "app.kubernetes.io/managed-by=Helm,app.kubernetes.io/instance=" + chartRelease
)

// helmRun runs the real helm from the repository root against the suite's
// API server. stdout and stderr are kept apart: helm template's stdout is
// YAML, its warnings go to stderr.
func (s *suite) helmRun(ctx context.Context, args ...string) (stdout, stderr string, err error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(s.toolsBin, "helm"), args...)
	cmd.Dir = s.root
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	// helm must not find a user's configuration, repositories or cluster.
	home := filepath.Join(s.dir, "helm")
	cmd.Env = append(os.Environ(),
		"HOME="+s.dir,
		"KUBECONFIG="+s.kubeconfig,
		"HELM_KUBECONTEXT=",
		"HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"),
		"HELM_DATA_HOME="+filepath.Join(home, "data"),
	)
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

func helmCmd(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, err := s.helmRun(t.Context(), args...)
	if err != nil {
		t.Fatalf("helm %s: %v\nstderr:\n%s\nstdout:\n%s", strings.Join(args, " "), err, errOut, out)
	}
	return out
}

func needHelm(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(s.toolsBin, "helm")); err != nil {
		t.Fatalf("the chart tests need the real helm in %s: run make tools (%v)", s.toolsBin, err)
	}
}

// TestChartRenderings applies every rendering of the chart (the defaults and
// each ci/*-values.yaml) to the API server as a server-side dry run: every
// object must be of a served kind and pass the API server's validation.
func TestChartRenderings(t *testing.T) {
	showLogsOnFailure(t)
	needHelm(t)
	if err := cluster.CreateNamespace(t.Context(), s.client, chartNSRender); err != nil {
		t.Fatal(err)
	}
	// cert-manager's and prometheus-operator's kinds (ci/certmanager-values.yaml,
	// ci/notify-values.yaml), as CRDs that accept any field.
	crds := filepath.Join(s.root, "test", "e2e", "testdata", "crds")
	out, err := kubectl(t, "", "apply", "--server-side", "-f", crds)
	mustAllow(t, "kubectl apply the test CRDs", out, err)
	t.Cleanup(func() {
		if out, err := s.kubectlRun(context.Background(), "", "delete", "--ignore-not-found", "--wait=false", "-f", crds); err != nil {
			t.Errorf("deleting the test CRDs: %v\n%s", err, out)
		}
	})
	out, err = kubectl(t, "", "wait", "--for=condition=Established", "--timeout=30s", "-f", crds)
	mustAllow(t, "kubectl wait for the test CRDs", out, err)

	files, err := filepath.Glob(filepath.Join(s.root, "charts", "strata", "ci", "*-values.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no charts/strata/ci/*-values.yaml (err %v)", err)
	}
	cases := []struct{ name, file string }{{"defaults", ""}}
	for _, f := range files {
		cases = append(cases, struct{ name, file string }{strings.TrimSuffix(filepath.Base(f), ".yaml"), f})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := []string{"template", chartRelease, "charts/strata", "-n", chartNSRender}
			if c.file != "" {
				args = append(args, "-f", c.file)
			}
			manifest := helmCmd(t, args...)
			kinds := topLevelKinds(manifest)
			if len(kinds) == 0 {
				t.Fatalf("helm %s rendered no objects:\n%s", strings.Join(args, " "), manifest)
			}
			out, err := kubectl(t, manifest, "apply", "--server-side", "--dry-run=server", "-n", chartNSRender, "-f", "-")
			if err != nil {
				t.Fatalf("kubectl apply --server-side --dry-run=server of helm %s: %v\n%s", strings.Join(args, " "), err, out)
			}
			// Every rendered object was applied, none skipped.
			if n := strings.Count(out, "serverside-applied (server dry run)"); n != len(kinds) {
				t.Errorf("kubectl applied %d objects, helm rendered %d (%v):\n%s", n, len(kinds), kinds, out)
			}
			mustContain(t, "server-side dry run", out, "validatingwebhookconfiguration.admissionregistration.k8s.io/"+chartFullname+" serverside-applied (server dry run)")
			if strings.HasSuffix(c.file, "certmanager-values.yaml") {
				mustContain(t, "server-side dry run with cert-manager", out,
					"certificate.cert-manager.io/"+chartFullname+" serverside-applied",
					"issuer.cert-manager.io/"+chartFullname+"-ca serverside-applied",
					"servicemonitor.monitoring.coreos.com/"+chartFullname+" serverside-applied")
			}
			if strings.HasSuffix(c.file, "notify-values.yaml") {
				mustContain(t, "server-side dry run with notifications", out,
					"prometheusrule.monitoring.coreos.com/"+chartFullname+" serverside-applied")
			}
		})
	}
	// A dry run creates nothing.
	out, err = kubectl(t, "", "get", "validatingwebhookconfiguration", chartFullname)
	if err == nil || !strings.Contains(out, "NotFound") {
		t.Errorf("validatingwebhookconfiguration %s after dry runs: want NotFound, got (err %v):\n%s", chartFullname, err, out)
	}
}

// topLevelKinds lists the kind of every document in a rendering.
func topLevelKinds(manifest string) []string {
	var kinds []string
	for _, l := range strings.Split(manifest, "\n") {
		if k, ok := strings.CutPrefix(l, "kind: "); ok {
			kinds = append(kinds, strings.TrimSpace(k))
		}
	}
	return kinds
}

// TestChartInstallUpgradeUninstall installs the chart with the real helm
// (the default: audit everywhere), upgrades it to enforce by default and
// uninstalls it. No --wait: envtest runs no controllers, no pod ever runs.
func TestChartInstallUpgradeUninstall(t *testing.T) {
	showLogsOnFailure(t)
	needHelm(t)
	// The probes' namespace: selected by the chart's default-mode entry, by
	// none of the suite's own webhooks.
	if err := cluster.CreateNamespace(t.Context(), s.client, chartNSRender); err != nil {
		t.Fatal(err)
	}
	// Safety net: whatever failed, the webhook configuration must not outlive
	// this test, or every later test's pods would be sent to a Service
	// without pods.
	t.Cleanup(func() {
		ctx := context.Background()
		if out, errOut, err := s.helmRun(ctx, "uninstall", chartRelease, "-n", chartNSInstall, "--ignore-not-found"); err != nil {
			t.Errorf("cleanup: helm uninstall: %v\n%s%s", err, errOut, out)
		}
		// Only the release's: by its labels, never the suite's own by name.
		vwcs := s.client.AdmissionregistrationV1().ValidatingWebhookConfigurations()
		list, err := vwcs.List(ctx, metav1.ListOptions{LabelSelector: chartReleaseSelector})
		if err != nil {
			t.Errorf("cleanup: listing the release's webhook configurations: %v", err)
		} else {
			for _, c := range list.Items {
				if err := vwcs.Delete(ctx, c.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
					t.Errorf("cleanup: deleting validatingwebhookconfiguration %s: %v", c.Name, err)
				}
			}
		}
		mwcs := s.client.AdmissionregistrationV1().MutatingWebhookConfigurations()
		if list, err := mwcs.List(ctx, metav1.ListOptions{LabelSelector: chartReleaseSelector}); err == nil {
			for _, c := range list.Items {
				if err := mwcs.Delete(ctx, c.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
					t.Errorf("cleanup: deleting mutatingwebhookconfiguration %s: %v", c.Name, err)
				}
			}
		}
		if err := s.waitChartWebhookGone(ctx); err != nil {
			t.Error("cleanup:", err)
		}
	})

	var caBundle []byte
	var notes string
	if !t.Run("install", func(t *testing.T) {
		notes = helmCmd(t, "install", chartRelease, "charts/strata", "-n", chartNSInstall, "--create-namespace")
		cfg := getChartWebhooks(t)
		wantDefaultMode(t, cfg, "audit", admissionregistrationv1.Ignore)
		caBundle = checkCABundle(t, cfg)
	}) {
		t.FailNow()
	}

	// The audit → enforce path NOTES.txt (as this install printed it) and
	// the chart README show, each command run as written over the values
	// of the ones before, against the API server: team-a moves to warn,
	// then to enforce, and stays enforced once enforce is the default.
	if !t.Run("the documented upgrade steps", func(t *testing.T) {
		readme, err := os.ReadFile(filepath.Join(s.root, "charts/strata/README.md"))
		if err != nil {
			t.Fatal(err)
		}
		_, printed, ok := strings.Cut(notes, "NOTES:")
		if !ok {
			t.Fatalf("helm install printed no NOTES:\n%s", notes)
		}
		for _, doc := range []struct{ name, text string }{{"NOTES.txt", printed}, {"charts/strata/README.md", string(readme)}} {
			helmCmd(t, "upgrade", chartRelease, "charts/strata", "-n", chartNSInstall, "--reset-values")
			steps := chartdocs.UpgradeSteps(doc.text)
			modeSteps := 0
			for _, step := range steps {
				helmCmd(t, append([]string{"upgrade", chartRelease, "charts/strata", "-n", chartNSInstall, "--reuse-values"}, step...)...)
				if !strings.Contains(strings.Join(step, " "), "namespaces.") {
					continue // the catalog or approvedBases: it upgraded
				}
				got, err := chartdocs.NamespaceModes(*getChartWebhooks(t), "team-a")
				if err != nil {
					t.Fatal(err)
				}
				if want := []string{"warn", "enforce", "enforce"}[min(modeSteps, 2)]; len(got) != 1 || got[0] != want {
					t.Errorf("%s: after helm upgrade %v, the API server calls %v for team-a, want %s", doc.name, step, got, want)
				}
				modeSteps++
			}
			if modeSteps != 3 {
				t.Errorf("%s: %d of its %d upgrade commands set namespaces, want 3 (warn, enforce, enforce by default)", doc.name, modeSteps, len(steps))
			}
		}
	}) {
		t.FailNow()
	}

	if !t.Run("upgrade to enforce", func(t *testing.T) {
		helmCmd(t, "upgrade", chartRelease, "charts/strata", "-n", chartNSInstall, "--set", "mode=enforce")
		cfg := getChartWebhooks(t)
		enforce := wantDefaultMode(t, cfg, "enforce", admissionregistrationv1.Fail)
		// lookup found the Secret: the CA is the one generated at install.
		if got := checkCABundle(t, cfg); !bytes.Equal(got, caBundle) {
			t.Errorf("caBundle changed across helm upgrade:\nbefore:\n%s\nafter:\n%s", caBundle, got)
		}

		// The API server applies it: a pod in an unlisted namespace goes to
		// the enforce entry, which fails closed (the Service has no pods)...
		deadline := time.Now().Add(30 * time.Second)
		for {
			out, err := apply(t, chartNSRender, podYAML("chart-probe", s.images.good), "--dry-run=server")
			if err != nil && strings.Contains(out, `failed calling webhook "enforce.strata.dev"`) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("a pod in %s was not sent to the chart's enforce entry within 30s; last kubectl output (err %v):\n%s", chartNSRender, err, out)
			}
			time.Sleep(250 * time.Millisecond)
		}
		// The pin entry (pinDigests.enabled.enforce) follows the enforce entry's namespaces.
		pin, err := s.client.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(t.Context(), chartFullname, metav1.GetOptions{})
		if err != nil || len(pin.Webhooks) != 1 || !reflect.DeepEqual(pin.Webhooks[0].NamespaceSelector, enforce.NamespaceSelector) {
			t.Errorf("mutatingwebhookconfiguration %s = %+v (err %v), want one pin entry with the enforce entry's namespaceSelector", chartFullname, pin, err)
		}
		// ...and the release namespace is exempt.
		out, err := apply(t, chartNSInstall, podYAML("chart-probe", s.images.good), "--dry-run=server")
		mustAllow(t, "a pod in the release namespace under enforce", out, err)
	}) {
		t.FailNow()
	}

	t.Run("uninstall", func(t *testing.T) {
		helmCmd(t, "uninstall", chartRelease, "-n", chartNSInstall)
		out, err := kubectl(t, "", "get", "validatingwebhookconfiguration", chartFullname)
		if err == nil || !strings.Contains(out, "NotFound") {
			t.Errorf("kubectl get validatingwebhookconfiguration %s after uninstall: want NotFound, got (err %v):\n%s", chartFullname, err, out)
		}
		list, err := s.client.AdmissionregistrationV1().ValidatingWebhookConfigurations().List(t.Context(),
			metav1.ListOptions{LabelSelector: chartReleaseSelector})
		if err != nil {
			t.Fatal(err)
		}
		if len(list.Items) > 0 {
			t.Errorf("validating webhook configurations of release %s after uninstall: %d, want none", chartRelease, len(list.Items))
		}
		pins, err := s.client.AdmissionregistrationV1().MutatingWebhookConfigurations().List(t.Context(),
			metav1.ListOptions{LabelSelector: chartReleaseSelector})
		if err != nil {
			t.Fatal(err)
		}
		if len(pins.Items) > 0 {
			t.Errorf("mutating webhook configurations of release %s after uninstall: %d, want none", chartRelease, len(pins.Items))
		}
		if err := s.waitChartWebhookGone(t.Context()); err != nil {
			t.Fatal(err)
		}
	})
}

// waitChartWebhookGone waits until the API server no longer calls the chart's
// webhooks (it drops a deleted configuration asynchronously).
func (s *suite) waitChartWebhookGone(ctx context.Context) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := s.kubectlApply(ctx, chartNSRender, podYAML("chart-probe", s.images.good), "--dry-run=server")
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the API server still refuses pods in %s 30s after the chart's webhooks were removed (err %v):\n%s", chartNSRender, err, out)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func getChartWebhooks(t *testing.T) *admissionregistrationv1.ValidatingWebhookConfiguration {
	t.Helper()
	cfg, err := s.client.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(t.Context(), chartFullname, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("validatingwebhookconfiguration %s: %v", chartFullname, err)
	}
	if len(cfg.Webhooks) != 3 {
		t.Errorf("validatingwebhookconfiguration %s has %d entries, want 3 (enforce, warn, audit)", chartFullname, len(cfg.Webhooks))
	}
	return cfg
}

func webhookEntry(t *testing.T, cfg *admissionregistrationv1.ValidatingWebhookConfiguration, mode string) admissionregistrationv1.ValidatingWebhook {
	t.Helper()
	for _, w := range cfg.Webhooks {
		if w.Name == mode+".strata.dev" {
			return w
		}
	}
	t.Fatalf("validatingwebhookconfiguration %s has no entry %s.strata.dev", cfg.Name, mode)
	return admissionregistrationv1.ValidatingWebhook{}
}

func checkService(t *testing.T, w admissionregistrationv1.ValidatingWebhook, path string) {
	t.Helper()
	svc := w.ClientConfig.Service
	if svc == nil || svc.Name != chartFullname || svc.Namespace != chartNSInstall || svc.Path == nil || *svc.Path != path {
		t.Errorf("%s calls %+v, want service %s/%s path %s", w.Name, svc, chartNSInstall, chartFullname, path)
	}
}

// wantDefaultMode checks the chart's webhooks when mode is the default
// mode: mode's entry, with failurePolicy failure, calls the Service at
// /validate/<mode> (/pinned in enforce) for every namespace but the exempt ones (the release's
// and kube-system); the other modes' entries take only the namespaces
// listed for them, none here. It returns mode's entry.
func wantDefaultMode(t *testing.T, cfg *admissionregistrationv1.ValidatingWebhookConfiguration, mode string, failure admissionregistrationv1.FailurePolicyType) admissionregistrationv1.ValidatingWebhook {
	t.Helper()
	w := webhookEntry(t, cfg, mode)
	if w.FailurePolicy == nil || *w.FailurePolicy != failure {
		t.Errorf("%s entry failurePolicy = %v, want %s", mode, deref(w.FailurePolicy), failure)
	}
	// The chart pins in enforce namespaces by default (pinDigests), whose
	// validation then requires the pins.
	path := "/validate/" + mode
	if mode == "enforce" {
		path += "/pinned"
	}
	checkService(t, w, path)
	wantSelector(t, w, notIn(chartNSInstall, "kube-system"))
	for _, m := range []string{"enforce", "warn", "audit"} {
		if m != mode {
			wantSelector(t, webhookEntry(t, cfg, m), doesNotExist(), notIn(chartNSInstall, "kube-system"))
		}
	}
	return w
}

func notIn(values ...string) metav1.LabelSelectorRequirement {
	return metav1.LabelSelectorRequirement{Key: "kubernetes.io/metadata.name", Operator: metav1.LabelSelectorOpNotIn, Values: values}
}

func doesNotExist() metav1.LabelSelectorRequirement {
	return metav1.LabelSelectorRequirement{Key: "kubernetes.io/metadata.name", Operator: metav1.LabelSelectorOpDoesNotExist}
}

func wantSelector(t *testing.T, w admissionregistrationv1.ValidatingWebhook, want ...metav1.LabelSelectorRequirement) {
	t.Helper()
	if w.NamespaceSelector == nil || len(w.NamespaceSelector.MatchLabels) > 0 || !reflect.DeepEqual(w.NamespaceSelector.MatchExpressions, want) {
		t.Errorf("%s namespaceSelector = %+v, want matchExpressions %+v", w.Name, w.NamespaceSelector, want)
	}
}

// checkCABundle returns the configuration's caBundle (PEM) after checking
// that every entry has the same one, that it is the CA in the chart's Secret,
// and that the Secret's serving certificate is valid for the Service.
func checkCABundle(t *testing.T, cfg *admissionregistrationv1.ValidatingWebhookConfiguration) []byte {
	t.Helper()
	ca := cfg.Webhooks[0].ClientConfig.CABundle
	if len(ca) == 0 {
		t.Fatalf("%s has an empty caBundle", cfg.Webhooks[0].Name)
	}
	for _, w := range cfg.Webhooks[1:] {
		if !bytes.Equal(w.ClientConfig.CABundle, ca) {
			t.Errorf("%s and %s have different caBundles", cfg.Webhooks[0].Name, w.Name)
		}
	}
	block, _ := pem.Decode(ca)
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatalf("caBundle is not a PEM certificate:\n%s", ca)
	}
	caCert, err := x509.ParseCertificate(block.Bytes)
	if err != nil || !caCert.IsCA {
		t.Fatalf("caBundle: parse error %v, or not a CA (IsCA %v)", err, caCert != nil && caCert.IsCA)
	}
	secret, err := s.client.CoreV1().Secrets(chartNSInstall).Get(t.Context(), chartFullname+"-tls", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the chart's TLS Secret: %v", err)
	}
	if !bytes.Equal(secret.Data["ca.crt"], ca) {
		t.Errorf("Secret %s ca.crt differs from the webhook configuration's caBundle", secret.Name)
	}
	block, _ = pem.Decode(secret.Data["tls.crt"])
	if block == nil {
		t.Fatalf("Secret %s tls.crt is not PEM", secret.Name)
	}
	serving, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatalf("Secret %s tls.crt: %v", secret.Name, err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(caCert)
	if _, err := serving.Verify(x509.VerifyOptions{Roots: roots, DNSName: chartFullname + "." + chartNSInstall + ".svc"}); err != nil {
		t.Errorf("the serving certificate is not valid for the Service under the caBundle: %v", err)
	}
	return ca
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}
