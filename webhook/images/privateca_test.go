package images

import (
	"crypto/x509"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/strata-project/strata/webhook/internal/imagetest"
)

// A registry behind a private CA: without RootCAs the error says to trust
// the CA (registry.caFile), not to reach the registry without TLS, also
// when the failure is served again from the cache; with the CA among
// RootCAs, the image resolves.
func TestRegistryBehindAPrivateCA(t *testing.T) {
	t.Parallel()
	image, cert := imagetest.TLSRegistry(t, "app/web:1")
	host, _, _ := strings.Cut(image, "/")

	untrusting, err := NewResolver(Options{Keychain: authn.NewMultiKeychain()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(untrusting.Close)
	for range 2 { // the second answer comes from the remembered failure
		_, err = untrusting.Resolve(testContext(t, 10*time.Second), image, Access{})
		if KindOf(err) != KindNetwork || !strings.HasPrefix(err.Error(), host+"'s TLS certificate for app/web is not signed by a trusted authority: if the registry uses its own CA, trust it with registry.caFile") {
			t.Errorf("Resolve behind an untrusted CA = %v, want a network error that says to trust the CA with registry.caFile", err)
		}
	}

	pool := x509.NewCertPool()
	pool.AddCert(cert)
	trusting, err := NewResolver(Options{Keychain: authn.NewMultiKeychain(), RootCAs: pool})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(trusting.Close)
	if got, err := trusting.Resolve(testContext(t, 10*time.Second), image, Access{}); err != nil || len(got.Platforms) != 1 {
		t.Errorf("Resolve with the CA in RootCAs = %v, %v; want the image", got, err)
	}
}

// "add an imagePullSecret" is advice only where pods' pull secrets are
// read: to the command line, or a webhook that reads none, a refusal says
// how to give strata its own credentials.
func TestUnauthorizedAdviceFitsWhereStrataRuns(t *testing.T) {
	err := &Error{Kind: KindUnauthorized, Registry: "registry.example.com", Repository: "private/app", Image: "registry.example.com/private/app:1"}
	if got := err.Error(); !strings.Contains(got, "add an imagePullSecret") {
		t.Errorf("Error() = %q, want the imagePullSecret advice where pods' secrets are read", got)
	}
	got := OwnCredentialsOnly(err).Error()
	if strings.Contains(got, "add an imagePullSecret") || !strings.Contains(got, "docker login, or DOCKER_CONFIG") || !strings.Contains(got, "registry.credentialsSecret") {
		t.Errorf("OwnCredentialsOnly(err).Error() = %q, want strata's own credentials as the advice", got)
	}
	if err.ownCredentialsOnly {
		t.Error("OwnCredentialsOnly changed the error it was given, which the cache shares")
	}
	other := &Error{Kind: KindNotFound, Registry: "r", Image: "r/x:1"}
	if OwnCredentialsOnly(other) != error(other) {
		t.Error("OwnCredentialsOnly changed a not-found error")
	}
}
