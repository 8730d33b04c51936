//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/strata-project/strata/test/cluster"
)

// startAPIServer starts etcd and kube-apiserver from test/tools/bin and
// writes an admin kubeconfig for kubectl and strata.
func (s *suite) startAPIServer() error {
	opts := cluster.APIServerOptions{ToolsBin: s.toolsBin, Dir: s.dir}
	if s.mtls != nil {
		opts.AdmissionConfigFile = s.mtls.admissionConfig
	}
	var err error
	s.apiserver, err = cluster.StartAPIServer(opts)
	if err != nil {
		return err
	}
	s.client, s.kubeconfig = s.apiserver.Client, s.apiserver.Kubeconfig
	return nil
}

// kubectl runs the real kubectl against the test API server and returns
// its combined output, where kubectl prints warnings and denials.
func (s *suite) kubectlRun(ctx context.Context, stdin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.kubectl, append([]string{"--kubeconfig", s.kubeconfig}, args...)...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// kubectl must not find a user's cache or config outside the test.
	cmd.Env = append(os.Environ(), "HOME="+s.dir, "KUBECACHEDIR="+filepath.Join(s.dir, "kubecache"))
	err := cmd.Run()
	return out.String(), err
}

func (s *suite) kubectlApply(ctx context.Context, ns, manifest string, extra ...string) (string, error) {
	return s.kubectlRun(ctx, manifest, append([]string{"apply", "-n", ns, "-f", "-"}, extra...)...)
}

// The webhooks the chart would install: one per mode, each selecting its
// namespaces by name, which no tenant can change.
func webhookConfiguration(addr string, caBundle []byte) *admissionregistrationv1.ValidatingWebhookConfiguration {
	none := admissionregistrationv1.SideEffectClassNone
	equivalent := admissionregistrationv1.Equivalent
	timeout := int32(5)
	rules := []admissionregistrationv1.RuleWithOperations{
		rule("", "v1", "pods", "pods/ephemeralcontainers"),
		rule("apps", "v1", "deployments", "replicasets", "statefulsets", "daemonsets"),
		rule("batch", "v1", "jobs", "cronjobs"),
	}
	cfg := &admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "strata"}}
	for _, mode := range []struct {
		name, ns string
		policy   admissionregistrationv1.FailurePolicyType
	}{
		{"enforce", nsEnforce, admissionregistrationv1.Fail},
		{"warn", nsWarn, admissionregistrationv1.Ignore},
		{"audit", nsAudit, admissionregistrationv1.Ignore},
	} {
		url := "https://" + addr + "/validate/" + mode.name
		failure := mode.policy
		cfg.Webhooks = append(cfg.Webhooks, admissionregistrationv1.ValidatingWebhook{
			Name:                    mode.name + ".strata.dev",
			ClientConfig:            admissionregistrationv1.WebhookClientConfig{URL: &url, CABundle: caBundle},
			Rules:                   rules,
			FailurePolicy:           &failure,
			MatchPolicy:             &equivalent,
			SideEffects:             &none,
			TimeoutSeconds:          &timeout,
			AdmissionReviewVersions: []string{"v1"},
			NamespaceSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
				Key: "kubernetes.io/metadata.name", Operator: metav1.LabelSelectorOpIn, Values: []string{mode.ns},
			}}},
		})
	}
	return cfg
}

func rule(group, version string, resources ...string) admissionregistrationv1.RuleWithOperations {
	scope := admissionregistrationv1.AllScopes
	return admissionregistrationv1.RuleWithOperations{
		Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
		Rule: admissionregistrationv1.Rule{
			APIGroups: []string{group}, APIVersions: []string{version}, Resources: resources, Scope: &scope,
		},
	}
}

func registerWebhooks(ctx context.Context, c kubernetes.Interface, addr string, caBundle []byte) error {
	_, err := c.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx, webhookConfiguration(addr, caBundle), metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("registering the webhooks: %w", err)
	}
	return nil
}

// waitWebhooks probes each mode until the API server calls strata for it:
// webhook configurations take effect asynchronously.
func (s *suite) waitWebhooks(ctx context.Context) error {
	probes := []struct {
		ns   string
		seen func(out string, err error) bool
	}{
		{nsEnforce, func(out string, err error) bool { return err != nil && strings.Contains(out, "[run-as-root]") }},
		{nsWarn, func(out string, err error) bool { return err == nil && strings.Contains(out, "Warning:") }},
		{nsAudit, func(out string, err error) bool {
			return err == nil && len(s.strata.decisions(func(d decision) bool { return d.Namespace == nsAudit && d.Name == "webhook-probe" })) > 0
		}},
	}
	deadline := time.Now().Add(60 * time.Second)
	for _, p := range probes {
		for {
			out, err := s.kubectlApply(ctx, p.ns, podYAML("webhook-probe", s.images.root), "--dry-run=server")
			if p.seen(out, err) {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("the %s webhook did not take effect within 60s; last kubectl output (err %v):\n%s", p.ns, err, out)
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
	return nil
}
