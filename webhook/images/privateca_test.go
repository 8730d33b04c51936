package images

import (
	"crypto/x509"
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// A registry behind a private CA: without RootCAs the error says to trust
// the CA (registry.caFile), not to reach the registry without TLS, also
// when the failure is served again from the cache; with the CA among
// RootCAs, the image resolves.
func TestRegistryBehindAPrivateCA(t *testing.T) {
	t.Parallel()
	srv := httptest.NewTLSServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "https://")
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(host + "/app/web:1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, remote.WithTransport(srv.Client().Transport)); err != nil {
		t.Fatal(err)
	}

	untrusting, err := NewResolver(Options{Keychain: authn.NewMultiKeychain()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(untrusting.Close)
	for range 2 { // the second answer comes from the remembered failure
		_, err = untrusting.Resolve(testContext(t, 10*time.Second), host+"/app/web:1", Access{})
		if KindOf(err) != KindNetwork || !strings.HasPrefix(err.Error(), host+"'s TLS certificate for app/web is not signed by a trusted authority: if the registry uses its own CA, trust it with registry.caFile") {
			t.Errorf("Resolve behind an untrusted CA = %v, want a network error that says to trust the CA with registry.caFile", err)
		}
	}

	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	trusting, err := NewResolver(Options{Keychain: authn.NewMultiKeychain(), RootCAs: pool})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(trusting.Close)
	if got, err := trusting.Resolve(testContext(t, 10*time.Second), host+"/app/web:1", Access{}); err != nil || len(got.Platforms) != 1 {
		t.Errorf("Resolve with the CA in RootCAs = %v, %v; want the image", got, err)
	}
}
