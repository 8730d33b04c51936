//go:build e2e

package e2e

import (
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

	"github.com/strata-project/strata/test/cloudtest"
)

// cloudCase is one cloud registry helper under test: the host its
// registry goes by, the htpasswd user and token its stand-in issues for it.
type cloudCase struct {
	helper      string // registry.credentials' name for it
	host        string
	user, token string
	standIn     func(t *testing.T, token string) *cloudtest.StandIn
}

var (
	ecrCase    = cloudCase{helper: "ecr", host: cloudtest.ECRHost, user: "AWS", token: "e2e-ecr-token", standIn: standInECR}
	googleCase = cloudCase{helper: "google", host: cloudtest.GARHost, user: "_token", token: "e2e-gke-access-token", standIn: cloudtest.Metadata}
)

// standInECR is the ECR stand-in with tokens valid for ECR's 12 hours.
func standInECR(t *testing.T, token string) *cloudtest.StandIn {
	return cloudtest.ECR(t, token, time.Now, 12*time.Hour)
}

// startCloudRegistry starts a docker-registry with htpasswd (c's user and
// token) whose certificate, from the suite's CA, names c.host besides
// 127.0.0.1: strata dials it for that host through registry.hosts and
// verifies TLS for the name, as for the cloud's own registry.
func startCloudRegistry(t *testing.T, c cloudCase) *registry {
	t.Helper()
	crt, key, err := s.pki.CA.Issue(&x509.Certificate{
		Subject:     pkix.Name{CommonName: c.host},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:    []string{c.host, "localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	})
	if err != nil {
		t.Fatal(err)
	}
	crtFile, keyFile := filepath.Join(s.dir, c.helper+"-tls.crt"), filepath.Join(s.dir, c.helper+"-tls.key")
	for f, b := range map[string][]byte{crtFile: crt, keyFile: key} {
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	r, err := startRegistryWithCert(t.Context(), c.helper, s.dir, s.pki, crtFile, keyFile, c.user, c.token)
	if err != nil {
		t.Fatalf("starting the %s registry: %v", c.helper, err)
	}
	t.Cleanup(r.Stop)
	return r
}

// copyPrivateImage pushes the suite's private application to repoTag on r
// (under its address) and returns its reference under host.
func copyPrivateImage(t *testing.T, r *registry, host, repoTag string) string {
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
	return host + "/" + repoTag
}

// cloudConfig is the suite's strata configuration with c.host mapped to
// reg, and the given registry.credentials.
func cloudConfig(t *testing.T, c cloudCase, reg *registry, credentials string) string {
	t.Helper()
	block := fmt.Sprintf("  timeout: 3s\n  hosts:\n    %s: %s\n  credentials: %s\n", c.host, reg.addr, credentials)
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
	checkCloudImage(t, ecrCase)
}

// The same for Artifact Registry, read with the GKE metadata server's
// Workload Identity token.
func TestGooglePrivateImageWithoutPullSecretIsReadWithStrataIdentity(t *testing.T) {
	checkCloudImage(t, googleCase)
}

func checkCloudImage(t *testing.T, c cloudCase) {
	showLogsOnFailure(t)
	reg := startCloudRegistry(t, c)
	var refs []string
	for i := range 3 {
		refs = append(refs, copyPrivateImage(t, reg, c.host, fmt.Sprintf("team/app-%d:1", i)))
	}
	// Before either strata starts: they inherit the stand-in's settings
	// (the endpoints, and IRSA's role and token file for ECR).
	api := c.standIn(t, c.token)
	nsOn, nsOff := "e2e-"+c.helper, "e2e-"+c.helper+"-off"
	on := startEnforcing(t, "strata-"+c.helper, cloudConfig(t, c, reg, "["+c.helper+"]"), nsOn)
	off := startEnforcing(t, "strata-"+c.helper+"-off", cloudConfig(t, c, reg, "[]"), nsOff)

	t.Run("helper on: admitted with one token request", func(t *testing.T) {
		for i, ref := range refs {
			pod := fmt.Sprintf("%s-%d", c.helper, i)
			what := ref + " without a pull secret, " + c.helper + " helper on"
			out, err := apply(t, nsOn, podYAML(pod, ref))
			mustAllow(t, what, out, err)
			mustContain(t, what, out, "created")
			if d, ok := on.loggedDecision("enforce", nsOn, pod); !ok || d.Decision != "allowed" {
				t.Errorf("%s's decision on pod %s = %+v (logged %v), want allowed in enforce", on.Name, pod, d, ok)
			}
		}
		if n := api.Calls.Load(); n != 1 {
			t.Errorf("%d pods of %d %s repositories made %d token requests, want 1", len(refs), len(refs), c.helper, n)
		}
	})

	t.Run("helper off: denied naming the helper", func(t *testing.T) {
		before := api.Calls.Load()
		what := c.helper + " image without a pull secret, helper off"
		out, err := apply(t, nsOff, podYAML(c.helper+"-off", refs[0]))
		mustDeny(t, what, out, err)
		mustContain(t, what, out, "[image-resolution]",
			"no credentials for "+c.host+": the "+c.helper+" helper is not enabled (registry.credentials)")
		mustNotExist(t, nsOff, "pod", c.helper+"-off")
		if n := api.Calls.Load() - before; n != 0 {
			t.Errorf("strata with the %s helper off called its token API %d times", c.helper, n)
		}
	})

	// Neither strata logs the token, plain or as basic credentials.
	for _, p := range []*strataProc{on, off} {
		p.settle()
		b, err := os.ReadFile(p.Log)
		if err != nil {
			t.Fatal(err)
		}
		for _, secret := range []string{c.token, base64.StdEncoding.EncodeToString([]byte(c.user + ":" + c.token))} {
			if strings.Contains(string(b), secret) {
				t.Errorf("%s logged the %s token", p.Name, c.helper)
			}
		}
	}
}
