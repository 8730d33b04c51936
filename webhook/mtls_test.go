package webhook

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/strata-project/strata/test/cluster"
	"github.com/strata-project/strata/webhook/policy"
)

// testCA issues client certificates, as the cluster's CA issues the API
// server's webhook client certificate.
type testCA struct{ *cluster.CA }

func newTestCA(t *testing.T, name string) testCA {
	t.Helper()
	ca, err := cluster.NewCA(name)
	if err != nil {
		t.Fatal(err)
	}
	return testCA{ca}
}

// client returns a TLS client certificate for cn signed by ca.
func (ca testCA) client(t *testing.T, cn string) tls.Certificate {
	t.Helper()
	certPEM, keyPEM, err := ca.Issue(&x509.Certificate{
		Subject:     pkix.Name{CommonName: cn},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// TestWebhookPortRefusesCallersWithoutTheAPIServersClientCertificate: with
// a client CA (and CN) configured, only the API server's client certificate
// is answered; anyone else who reaches the port is refused at the handshake.
func TestWebhookPortRefusesCallersWithoutTheAPIServersClientCertificate(t *testing.T) {
	t.Parallel()
	p := newPipeline(t)
	certDir := t.TempDir()
	serverPool := writeCert(t, certDir)
	clusterCA, otherCA := newTestCA(t, "cluster CA"), newTestCA(t, "other CA")
	caFile := filepath.Join(t.TempDir(), "client-ca.crt")
	if err := os.WriteFile(caFile, clusterCA.PEM, 0o600); err != nil {
		t.Fatal(err)
	}
	srv := startServe(t, ServerOptions{
		CertDir:  certDir,
		ClientCA: caFile,
		ClientCN: "kube-apiserver",
		Handlers: asAdmissionHandlers(handlers(p.Checker, nil, nil)),
	})
	review := reviewOf(t, "mtls-uid", "Pod", "CREATE", podOf("admin", "strata-demo.local/shop/admin:1.0"), nil)

	for _, tc := range []struct {
		name     string
		certs    []tls.Certificate
		answered bool
	}{
		{"no client certificate", nil, false},
		{"a certificate from another CA", []tls.Certificate{otherCA.client(t, "kube-apiserver")}, false},
		{"the cluster CA, another name", []tls.Certificate{clusterCA.client(t, "system:node:worker-1")}, false},
		{"the API server's certificate", []tls.Certificate{clusterCA.client(t, "kube-apiserver")}, true},
	} {
		// Not parallel: the reload below replaces the serving certificate.
		t.Run(tc.name, func(t *testing.T) {
			client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: serverPool, Certificates: tc.certs}}}
			t.Cleanup(client.CloseIdleConnections)
			resp, err := client.Post("https://"+srv.addr+Paths[policy.Enforce]+"?timeout=5s", "application/json", strings.NewReader(string(review)))
			if !tc.answered {
				if err == nil {
					resp.Body.Close()
					t.Fatalf("POST with %s = %s, want the handshake refused", tc.name, resp.Status)
				}
				return
			}
			if err != nil {
				t.Fatalf("POST with %s = %v, want an answer", tc.name, err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("POST with %s = %s, want 200", tc.name, resp.Status)
			}
		})
	}

	// The serving certificate is still reloaded in place with client
	// authentication on: a renewed certificate is served without a restart.
	t.Run("serving certificate reloaded", func(t *testing.T) {
		renewed := writeCert(t, certDir)
		apiServer := []tls.Certificate{clusterCA.client(t, "kube-apiserver")}
		deadline := time.Now().Add(30 * time.Second)
		for {
			client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: renewed, Certificates: apiServer}}}
			resp, err := client.Post("https://"+srv.addr+Paths[policy.Enforce]+"?timeout=5s", "application/json", strings.NewReader(string(review)))
			client.CloseIdleConnections()
			if err == nil {
				resp.Body.Close()
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("POST trusting only the renewed certificate = %v 30s after it was written, want it served", err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	})

	// Health and metrics stay on plain HTTP, for the kubelet's probes.
	resp, err := http.Get("http://" + srv.healthAddr + "/healthz")
	if err != nil {
		t.Fatalf("GET /healthz = %v, want an answer without a client certificate", err)
	}
	resp.Body.Close()
}

func TestClientAuthOptionsErrors(t *testing.T) {
	t.Parallel()
	notPEM := filepath.Join(t.TempDir(), "ca.crt")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		opts ServerOptions
		want string
	}{
		{"CN without a CA", ServerOptions{Addr: "127.0.0.1:0", ClientCN: "kube-apiserver"}, "--client-cn needs --client-ca"},
		{"missing CA file", ServerOptions{Addr: "127.0.0.1:0", ClientCA: filepath.Join(t.TempDir(), "absent.crt")}, "--client-ca"},
		{"CA file without a certificate", ServerOptions{Addr: "127.0.0.1:0", ClientCA: notPEM}, "holds no PEM certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := Serve(t.Context(), tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Serve(%+v) = %v, want an error containing %q", tc.opts, err, tc.want)
			}
		})
	}
}
