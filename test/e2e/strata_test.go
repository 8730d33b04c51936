//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/strata-project/strata/test/cluster"
	"github.com/strata-project/strata/webhook"
)

// strataProc is the real strata binary serving the three webhook paths.
type strataProc struct {
	cluster.Proc
	addr, health string
}

func startStrata(ctx context.Context, s *suite, bin string) (*strataProc, error) {
	return startStrataAs(ctx, s, bin, "strata", strataConfig(s))
}

// startStrataAs starts another strata process, named name (its log and
// configuration files are named after it), with its own configuration.
func startStrataAs(ctx context.Context, s *suite, bin, name, config string) (*strataProc, error) {
	addr, err := cluster.FreeAddr()
	if err != nil {
		return nil, err
	}
	health, err := cluster.FreeAddr()
	if err != nil {
		return nil, err
	}
	certDir := filepath.Join(s.dir, "strata-certs")
	if err := s.pki.CertDir(certDir); err != nil {
		return nil, err
	}
	// strata's own docker config is empty: the private registry is reachable
	// only with a pod's pull secrets.
	home := filepath.Join(s.dir, "strata-home")
	if err := os.MkdirAll(filepath.Join(home, ".docker"), 0o755); err != nil {
		return nil, err
	}
	cfgFile := filepath.Join(s.dir, name+".yaml")
	if err := os.WriteFile(cfgFile, []byte(config), 0o600); err != nil {
		return nil, err
	}
	p := &strataProc{
		Proc: cluster.Proc{
			Name: name,
			Bin:  bin,
			Args: []string{"serve", "--config", cfgFile, "--addr", addr, "--health-addr", health, "--cert-dir", certDir, "--kubeconfig", s.kubeconfig},
			Env:  []string{"SSL_CERT_FILE=" + s.pki.CAFile, "SSL_CERT_DIR=" + filepath.Join(s.dir, "no-cert-dir"), "HOME=" + home, "DOCKER_CONFIG=" + filepath.Join(home, ".docker")},
			Log:  filepath.Join(s.dir, name+".log"),
		},
		addr: addr, health: health,
	}
	if err := p.Start(); err != nil {
		return nil, err
	}
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := cluster.WaitHTTP(wctx, &p.Proc, "http://"+health+"/readyz", nil, func(code int) bool { return code == http.StatusOK }); err != nil {
		p.Stop()
		return nil, err
	}
	return p, nil
}

// startStrataFor starts a strata of its own for a test, named name, with
// config, and creates namespace ns for it to serve; it stops when t ends.
func startStrataFor(t *testing.T, name, ns, config string) *strataProc {
	t.Helper()
	p, err := startStrataAs(t.Context(), s, s.strataBin, name, config)
	if err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	t.Cleanup(p.Stop)
	if err := cluster.CreateNamespace(t.Context(), s.client, ns); err != nil {
		t.Fatal(err)
	}
	return p
}

// startEnforcing starts a strata of its own, named name, with config, and
// registers it as the enforce webhook of the namespaces given alone, which
// it creates; it returns once the API server calls it.
func startEnforcing(t *testing.T, name, config string, namespaces ...string) *strataProc {
	t.Helper()
	p := startStrataFor(t, name, namespaces[0], config)
	for _, ns := range namespaces[1:] {
		if err := cluster.CreateNamespace(t.Context(), s.client, ns); err != nil {
			t.Fatal(err)
		}
	}
	none := admissionregistrationv1.SideEffectClassNone
	fail := admissionregistrationv1.Fail
	timeout := int32(10)
	url := "https://" + p.addr + "/validate/enforce"
	vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name:                    "enforce." + name + ".strata.dev",
			ClientConfig:            admissionregistrationv1.WebhookClientConfig{URL: &url, CABundle: s.pki.CAPEM},
			Rules:                   []admissionregistrationv1.RuleWithOperations{rule("", "v1", "pods")},
			FailurePolicy:           &fail,
			SideEffects:             &none,
			TimeoutSeconds:          &timeout,
			AdmissionReviewVersions: []string{"v1"},
			NamespaceSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
				Key: "kubernetes.io/metadata.name", Operator: metav1.LabelSelectorOpIn, Values: namespaces,
			}}},
		}},
	}
	adm := s.client.AdmissionregistrationV1().ValidatingWebhookConfigurations()
	if _, err := adm.Create(t.Context(), vwc, metav1.CreateOptions{}); err != nil {
		t.Fatalf("registering the enforce webhook of %v: %v", namespaces, err)
	}
	t.Cleanup(func() { _ = adm.Delete(context.Background(), vwc.Name, metav1.DeleteOptions{}) })
	deadline := time.Now().Add(60 * time.Second)
	for {
		out, err := apply(t, namespaces[0], podYAML("webhook-probe", s.images.root), "--dry-run=server")
		if err != nil && strings.Contains(out, "[run-as-root]") {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("the enforce webhook of %v did not take effect within 60s; last output (err %v):\n%s", namespaces, err, out)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func strataConfig(s *suite) string {
	img := s.images
	return fmt.Sprintf(`mode: enforce
policies:
  data:
    approvedBases: [%q]
    maxDepth: 3
catalog:
  images:
    - {ref: %q, role: os}
    - {ref: %q, role: runtime}
    - {ref: %q, role: framework}
platforms: [linux/amd64]
registry:
  timeout: 3s
exempt:
  namespaces: [kube-system, %s]
`, s.pub.ref("base/os:*"), img.os, img.runtime, img.framework, nsStrata)
}

// decision is the part of strata's one log line per decision the suite reads.
type decision struct {
	Msg       string   `json:"msg"`
	Mode      string   `json:"mode"`
	Operation string   `json:"operation"`
	Kind      string   `json:"kind"`
	Namespace string   `json:"namespace"`
	Name      string   `json:"name"`
	DryRun    bool     `json:"dryRun"`
	Decision  string   `json:"decision"`
	Policies  []string `json:"policies"`
	Message   string   `json:"message"`
	Lineage   []struct {
		Container string `json:"container"`
		Platform  string `json:"platform"`
		Chain     []struct {
			Digest   string   `json:"digest"`
			Sources  []string `json:"sources"`
			Verified string   `json:"verified"`
		} `json:"chain"`
	} `json:"lineage"`
}

// settle waits until p has written the log lines it holds: strata writes
// its log in batches, within webhook.DefaultLogInterval. A test that
// looks for a line's absence settles first.
func (p *strataProc) settle() { time.Sleep(2 * webhook.DefaultLogInterval) }

// decisions returns the decision log lines that match.
func (p *strataProc) decisions(match func(decision) bool) []decision {
	return logLines(p.Log, func(d decision) bool { return d.Msg == "admission decision" && match(d) })
}

// logLines decodes each JSON line of a log file into a T and returns those
// keep accepts; a missing file has none.
func logLines[T any](path string, keep func(T) bool) []T {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []T
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var line T
		if json.Unmarshal(sc.Bytes(), &line) == nil && keep(line) {
			out = append(out, line)
		}
	}
	return out
}
