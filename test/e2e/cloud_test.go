//go:build e2e

package e2e

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/strata-project/strata/test/cloudtest"
	"github.com/strata-project/strata/test/cluster"
)

// ecrToken is the password of the ECR registry's htpasswd user, AWS: what
// the ECR stand-in issues as the authorization token, as ECR does.
const ecrToken = "e2e-ecr-token"

// The enforce namespaces of the ECR test, each served by its own strata:
// one with the ecr helper on, one with it off.
const (
	nsECR    = "e2e-ecr"
	nsECROff = "e2e-ecr-off"
)

// startECRRegistry starts a docker-registry with htpasswd (user AWS,
// password ecrToken) whose certificate, from the suite's CA, names
// cloudtest.ECRHost besides 127.0.0.1: strata dials it for the ECR host
// through registry.hosts and verifies TLS for that name, as for ECR.
func startECRRegistry(t *testing.T) *registry {
	t.Helper()
	crt, key, err := s.pki.CA.Issue(&x509.Certificate{
		Subject:     pkix.Name{CommonName: cloudtest.ECRHost},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:    []string{cloudtest.ECRHost, "localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	})
	if err != nil {
		t.Fatal(err)
	}
	crtFile, keyFile := filepath.Join(s.dir, "ecr-tls.crt"), filepath.Join(s.dir, "ecr-tls.key")
	for f, b := range map[string][]byte{crtFile: crt, keyFile: key} {
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	r, err := startRegistryWithCert(t.Context(), "ecr", s.dir, s.pki, crtFile, keyFile, "AWS", ecrToken)
	if err != nil {
		t.Fatalf("starting the ECR registry: %v", err)
	}
	t.Cleanup(r.Stop)
	return r
}

// copyPrivateImage pushes the suite's private application to repoTag on r
// (under its address) and returns its reference under the ECR host name.
func copyPrivateImage(t *testing.T, r *registry, repoTag string) string {
	t.Helper()
	ref, err := name.ParseReference(s.images.private)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(ref, s.priv.pushOptions(t.Context())...)
	if err != nil {
		t.Fatalf("reading %s: %v", s.images.private, err)
	}
	if _, err := r.push(t.Context(), repoTag, img); err != nil {
		t.Fatal(err)
	}
	return cloudtest.ECRHost + "/" + repoTag
}

// startEnforcing starts a strata of its own, named name, with config, and
// registers it as the enforce webhook of namespace ns alone; it returns
// once the API server calls it.
func startEnforcing(t *testing.T, name, ns, config string) *strataProc {
	t.Helper()
	p, err := startStrataAs(t.Context(), s, s.strataBin, name, config)
	if err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	t.Cleanup(p.Stop)
	if err := cluster.CreateNamespace(t.Context(), s.client, ns); err != nil {
		t.Fatal(err)
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
				Key: "kubernetes.io/metadata.name", Operator: metav1.LabelSelectorOpIn, Values: []string{ns},
			}}},
		}},
	}
	adm := s.client.AdmissionregistrationV1().ValidatingWebhookConfigurations()
	if _, err := adm.Create(t.Context(), vwc, metav1.CreateOptions{}); err != nil {
		t.Fatalf("registering the enforce webhook of %s: %v", ns, err)
	}
	t.Cleanup(func() { _ = adm.Delete(context.Background(), vwc.Name, metav1.DeleteOptions{}) })
	deadline := time.Now().Add(60 * time.Second)
	for {
		out, err := apply(t, ns, podYAML("webhook-probe", s.images.root), "--dry-run=server")
		if err != nil && strings.Contains(out, "[run-as-root]") {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("the enforce webhook of %s did not take effect within 60s; last output (err %v):\n%s", ns, err, out)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// ecrConfig is the suite's strata configuration with the ECR host mapped
// to the ECR registry, and the given registry.credentials.
func ecrConfig(t *testing.T, reg *registry, credentials string) string {
	t.Helper()
	block := fmt.Sprintf("  timeout: 3s\n  hosts:\n    %s: %s\n  credentials: %s\n", cloudtest.ECRHost, reg.addr, credentials)
	config := strings.Replace(strataConfig(s), "  timeout: 3s\n", block, 1)
	if !strings.Contains(config, "credentials:") {
		t.Fatalf("the suite's strata configuration has no registry.timeout line to add registry.hosts after:\n%s", config)
	}
	return config
}

// A private ECR image, in a docker-registry that answers only to the token
// ECR issues, on pods with no imagePullSecret, through the real API server:
// with the ecr helper on, strata reads it with its own (IRSA) identity and
// admits the pods at one token request for them all; with the helper off
// it denies them in enforce as image-resolution naming the helper.
func TestECRPrivateImageWithoutPullSecretIsReadWithStrataIdentity(t *testing.T) {
	showLogsOnFailure(t)
	reg := startECRRegistry(t)
	var refs []string
	for i := range 3 {
		refs = append(refs, copyPrivateImage(t, reg, fmt.Sprintf("team/app-%d:1", i)))
	}
	// Before either strata starts: they inherit the stand-in's AWS settings
	// (IRSA's role and token file, the STS and ECR endpoints).
	ecr := cloudtest.ECR(t, ecrToken, time.Now, 12*time.Hour)
	on := startEnforcing(t, "strata-ecr", nsECR, ecrConfig(t, reg, "[ecr]"))
	off := startEnforcing(t, "strata-ecr-off", nsECROff, ecrConfig(t, reg, "[]"))

	t.Run("helper on: admitted with one token request", func(t *testing.T) {
		for i, ref := range refs {
			pod := fmt.Sprintf("ecr-%d", i)
			out, err := apply(t, nsECR, podYAML(pod, ref))
			mustAllow(t, "ECR image "+ref+" without a pull secret, ecr helper on", out, err)
			mustContain(t, "ECR image "+ref+" without a pull secret, ecr helper on", out, "created")
			if d, ok := on.loggedDecision("enforce", nsECR, pod); !ok || d.Decision != "allowed" || d.Mode != "enforce" {
				t.Errorf("strata-ecr's decision on pod %s = %+v (logged %v), want allowed in enforce", pod, d, ok)
			}
		}
		if n := ecr.Calls.Load(); n != 1 {
			t.Errorf("%d pods of %d ECR repositories made %d ecr:GetAuthorizationToken calls, want 1", len(refs), len(refs), n)
		}
	})

	t.Run("helper off: denied naming the helper", func(t *testing.T) {
		before := ecr.Calls.Load()
		out, err := apply(t, nsECROff, podYAML("ecr-off", refs[0]))
		mustDeny(t, "ECR image without a pull secret, ecr helper off", out, err)
		mustContain(t, "ECR image without a pull secret, ecr helper off", out, "[image-resolution]",
			"no credentials for "+cloudtest.ECRHost+": the ecr helper is not enabled (registry.credentials)")
		mustNotExist(t, nsECROff, "pod", "ecr-off")
		if n := ecr.Calls.Load() - before; n != 0 {
			t.Errorf("strata with the ecr helper off called ECR's token API %d times", n)
		}
	})

	// Neither strata logs the token, plain or as ECR encodes it.
	for _, p := range []*strataProc{on, off} {
		b, err := os.ReadFile(p.Log)
		if err != nil {
			t.Fatal(err)
		}
		for _, secret := range []string{ecrToken, base64.StdEncoding.EncodeToString([]byte("AWS:" + ecrToken))} {
			if strings.Contains(string(b), secret) {
				t.Errorf("%s logged the ECR token", p.Name)
			}
		}
	}
}
