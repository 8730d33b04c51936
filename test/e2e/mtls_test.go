//go:build e2e

package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
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
)

// nsMTLS is selected only by the webhook of the strata that requires the
// API server's client certificate.
const nsMTLS = "e2e-mtls"

// mtlsSetup is what the API server needs, before it starts, to present a
// client certificate to the mutual-TLS strata: an AdmissionConfiguration
// whose kubeconfig names that strata's host:port (and nothing else, so the
// suite's other strata is called as before).
type mtlsSetup struct {
	addr            string // where the mutual-TLS strata listens
	clientCAFile    string // the CA strata trusts for client certificates
	admissionConfig string // --admission-control-config-file
	clientCert      tls.Certificate
}

func prepareMTLS(dir string) (*mtlsSetup, error) {
	addr, err := cluster.FreeAddr()
	if err != nil {
		return nil, err
	}
	ca, err := cluster.NewCA("strata e2e webhook client CA")
	if err != nil {
		return nil, err
	}
	certPEM, keyPEM, err := ca.Issue(&x509.Certificate{
		Subject:     pkix.Name{CommonName: "kube-apiserver"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	if err != nil {
		return nil, err
	}
	m := &mtlsSetup{
		addr:            addr,
		clientCAFile:    filepath.Join(dir, "webhook-client-ca.crt"),
		admissionConfig: filepath.Join(dir, "admission-config.yaml"),
	}
	if m.clientCert, err = tls.X509KeyPair(certPEM, keyPEM); err != nil {
		return nil, err
	}
	kubeconfig := filepath.Join(dir, "webhook-client.kubeconfig")
	files := map[string]string{
		m.clientCAFile:                           string(ca.PEM),
		filepath.Join(dir, "webhook-client.crt"): string(certPEM),
		filepath.Join(dir, "webhook-client.key"): string(keyPEM),
		// The user is matched by the webhook URL's host:port (for a
		// Service, by its DNS name: strata.strata-system.svc:443).
		kubeconfig: fmt.Sprintf(`apiVersion: v1
kind: Config
users:
  - name: %q
    user:
      client-certificate: %s
      client-key: %s
`, addr, filepath.Join(dir, "webhook-client.crt"), filepath.Join(dir, "webhook-client.key")),
		m.admissionConfig: fmt.Sprintf(`apiVersion: apiserver.config.k8s.io/v1
kind: AdmissionConfiguration
plugins:
  - name: ValidatingAdmissionWebhook
    configuration:
      apiVersion: apiserver.config.k8s.io/v1
      kind: WebhookAdmissionConfiguration
      kubeConfigFile: %s
`, kubeconfig),
	}
	for name, content := range files {
		if err := os.WriteFile(name, []byte(content), 0o600); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// startMTLSStrata runs a second strata, like the suite's but answering only
// the API server's client certificate, and registers its webhook for nsMTLS.
func startMTLSStrata(t *testing.T) *strataProc {
	t.Helper()
	ctx := t.Context()
	health, err := cluster.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	p := &strataProc{
		Proc: cluster.Proc{
			Name: "strata-mtls",
			Bin:  s.strata.Bin,
			Args: []string{"serve", "--config", filepath.Join(s.dir, "strata.yaml"), "--addr", s.mtls.addr, "--health-addr", health,
				"--cert-dir", filepath.Join(s.dir, "strata-certs"), "--pull-secrets=false",
				"--client-ca", s.mtls.clientCAFile, "--client-cn", "kube-apiserver"},
			Env: []string{"SSL_CERT_FILE=" + s.pki.CAFile, "SSL_CERT_DIR=" + filepath.Join(s.dir, "no-cert-dir"), "HOME=" + filepath.Join(s.dir, "strata-home"), "DOCKER_CONFIG=" + filepath.Join(s.dir, "strata-home", ".docker")},
			Log: filepath.Join(s.dir, "strata-mtls.log"),
		},
		addr: s.mtls.addr, health: health,
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := cluster.WaitHTTP(wctx, &p.Proc, "http://"+health+"/readyz", nil, func(code int) bool { return code == http.StatusOK }); err != nil {
		t.Fatal(err)
	}

	if err := cluster.CreateNamespace(ctx, s.client, nsMTLS); err != nil {
		t.Fatal(err)
	}
	cfg := webhookConfiguration(s.mtls.addr, s.pki.CAPEM)
	cfg.Name = "strata-mtls"
	enforce := cfg.Webhooks[0]
	enforce.Name = "enforce.mtls.strata.dev"
	enforce.NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": nsMTLS}}
	cfg.Webhooks = []admissionregistrationv1.ValidatingWebhook{enforce}
	if _, err := s.client.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx, cfg, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = s.client.AdmissionregistrationV1().ValidatingWebhookConfigurations().Delete(context.WithoutCancel(ctx), cfg.Name, metav1.DeleteOptions{})
	})
	return p
}

// TestWebhookPortWithMutualTLSAnswersOnlyTheAPIServer: kube-apiserver,
// given a webhook client certificate through its AdmissionConfiguration,
// gets strata's denial of a root pod; a caller without that certificate,
// or with one from another CA, is refused at the handshake.
func TestWebhookPortWithMutualTLSAnswersOnlyTheAPIServer(t *testing.T) {
	p := startMTLSStrata(t)

	// Webhook configurations take effect asynchronously.
	var out string
	var err error
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		out, err = apply(t, nsMTLS, podYAML("root-through-mtls", s.images.root))
		if err != nil && strings.Contains(out, "[run-as-root]") {
			break
		}
	}
	mustDeny(t, "root pod through the mutual-TLS webhook", out, err)
	mustContain(t, "root pod through the mutual-TLS webhook", out, "[run-as-root]")
	mustNotExist(t, nsMTLS, "Pod", "root-through-mtls")

	review := []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"direct","kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"},"namespace":"e2e-mtls","operation":"CREATE","userInfo":{"username":"mallory"},"object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"direct"},"spec":{"containers":[{"name":"app","image":"` + s.images.root + `"}]}}}}`)
	otherCA := s.pki.TLSConfig()
	for _, tc := range []struct {
		name  string
		certs []tls.Certificate
	}{
		{"no client certificate", nil},
		// The suite's serving certificate, signed by the CA the registries use.
		{"a certificate from another CA", []tls.Certificate{mustLoadKeyPair(t, s.pki.CrtFile, s.pki.KeyFile)}},
	} {
		cfg := otherCA.Clone()
		cfg.Certificates = tc.certs
		client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}
		resp, err := client.Post("https://"+s.mtls.addr+"/validate/enforce", "application/json", strings.NewReader(string(review)))
		client.CloseIdleConnections()
		if err == nil {
			resp.Body.Close()
			t.Errorf("POST with %s = %s, want the handshake refused", tc.name, resp.Status)
		}
	}
	p.settle()
	if n := len(p.decisions(func(d decision) bool { return d.Name == "direct" })); n != 0 {
		t.Errorf("strata decided %d direct reviews, want none", n)
	}

	// The API server's own certificate is answered (control for the above).
	cfg := otherCA.Clone()
	cfg.Certificates = []tls.Certificate{s.mtls.clientCert}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}
	defer client.CloseIdleConnections()
	resp, err := client.Post("https://"+s.mtls.addr+"/validate/enforce?timeout=5s", "application/json", strings.NewReader(string(review)))
	if err != nil {
		t.Fatalf("POST with the API server's client certificate = %v, want an answer", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("POST with the API server's client certificate = %s, want 200", resp.Status)
	}
}

func mustLoadKeyPair(t *testing.T, crt, key string) tls.Certificate {
	t.Helper()
	c, err := tls.LoadX509KeyPair(crt, key)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
