package webhook

import (
	"crypto/tls"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/strata-project/strata/internal/testutil"
	"github.com/strata-project/strata/webhook/policy"
)

// The openssl commands docs/mtls.md gives make a CA and a client
// certificate for the API server that strata, given that CA and
// --client-cn kube-apiserver, answers: run as written, in a directory of
// their own.
func TestMTLSDocCommandsMakeACertificateStrataAnswers(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Fatal("no openssl to run docs/mtls.md's commands with: make unit installs it")
	}
	block := regexp.MustCompile("(?s)## The API server's client certificate.*?```sh\n(.*?)```").FindStringSubmatch(string(testutil.ReadFile(t, "../docs/mtls.md")))
	if block == nil || !strings.Contains(block[1], "openssl") {
		t.Fatal("docs/mtls.md shows no openssl commands for the API server's client certificate")
	}
	dir := t.TempDir()
	cmd := exec.CommandContext(t.Context(), "bash", "-euc", block[1])
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("docs/mtls.md's openssl commands: %v\n%s", err, out)
	}
	clientCert, err := tls.LoadX509KeyPair(filepath.Join(dir, "apiserver-webhook.crt"), filepath.Join(dir, "apiserver-webhook.key"))
	if err != nil {
		t.Fatal(err)
	}

	p := newPipeline(t)
	certDir := t.TempDir()
	serverPool := writeCert(t, certDir)
	srv := startServe(t, ServerOptions{
		CertDir:  certDir,
		ClientCA: filepath.Join(dir, "webhook-ca.crt"),
		ClientCN: "kube-apiserver",
		Handlers: asAdmissionHandlers(handlers(p.Checker, nil, nil)),
	})
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: serverPool, Certificates: []tls.Certificate{clientCert}}}}
	t.Cleanup(client.CloseIdleConnections)
	review := reviewOf(t, "mtls-doc-uid", "Pod", "CREATE", podOf("admin", "strata-demo.local/shop/admin:1.0"), nil)
	resp, err := client.Post("https://"+srv.addr+Paths[policy.Enforce]+"?timeout=5s", "application/json", strings.NewReader(string(review)))
	if err != nil {
		t.Fatalf("POST with docs/mtls.md's client certificate = %v, want an answer", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("POST with docs/mtls.md's client certificate = %s, want 200", resp.Status)
	}
}
