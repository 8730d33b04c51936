package webhook

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/strata-project/strata/webhook/policy"
)

// docs/mtls.md: --client-ca is read once at start; a changed file takes a
// restart. With the file rewritten to another CA, and the serving
// certificate since reloaded (so the reload has run after the change), the
// first CA's client is still answered and the new CA's is refused. Without
// --client-cn, any common name the CA signed is answered.
func TestClientCAFileIsReadOnceAtStart(t *testing.T) {
	t.Parallel()
	p := newPipeline(t)
	certDir := t.TempDir()
	writeCert(t, certDir)
	first, second := newTestCA(t, "first CA"), newTestCA(t, "second CA")
	caFile := filepath.Join(t.TempDir(), "client-ca.crt")
	if err := os.WriteFile(caFile, first.PEM, 0o600); err != nil {
		t.Fatal(err)
	}
	srv := startServe(t, ServerOptions{CertDir: certDir, ClientCA: caFile, Handlers: asAdmissionHandlers(handlers(p.Checker, nil, nil))})
	review := string(reviewOf(t, "client-ca-uid", "Pod", "CREATE", podOf("admin", "strata-demo.local/shop/admin:1.0"), nil))
	answered := func(roots *x509.CertPool, ca testCA, cn string) bool {
		client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{ca.client(t, cn)}}}}
		defer client.CloseIdleConnections()
		resp, err := client.Post("https://"+srv.addr+Paths[policy.Enforce]+"?timeout=5s", "application/json", strings.NewReader(review))
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	}

	if err := os.WriteFile(caFile, second.PEM, 0o600); err != nil {
		t.Fatal(err)
	}
	renewed := writeCert(t, certDir)
	for deadline := time.Now().Add(30 * time.Second); !answered(renewed, first, "kube-apiserver"); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the renewed serving certificate, with the first CA's client, was not answered within 30 s")
		}
	}
	if answered(renewed, second, "kube-apiserver") {
		t.Error("a client of the CA written after start was answered: --client-ca was read again")
	}
	if !answered(renewed, first, "system:node:worker-1") {
		t.Error("without --client-cn, a client of the CA with another common name was refused, want answered")
	}
}
