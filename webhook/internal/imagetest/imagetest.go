// Package imagetest gives strata's tests a registry to push to and images
// whose config they choose: the real go-containerregistry registry, in
// process, and random layers under a config the test edits.
package imagetest

import (
	"crypto/x509"
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Registry starts an in-process registry for the test's lifetime, its log
// discarded, and returns its host:port (plain HTTP).
func Registry(tb testing.TB) string {
	tb.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	tb.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// Image is a random image of layers 256-byte layers whose config edit has
// changed (edit may be nil).
func Image(tb testing.TB, layers int, edit func(*v1.ConfigFile)) v1.Image {
	tb.Helper()
	img, err := random.Image(256, int64(layers))
	if err != nil {
		tb.Fatal(err)
	}
	if edit == nil {
		return img
	}
	return WithConfig(tb, img, edit)
}

// WithConfig is img with its config as edit changes it (edit gets a copy).
func WithConfig(tb testing.TB, img v1.Image, edit func(*v1.ConfigFile)) v1.Image {
	tb.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		tb.Fatal(err)
	}
	cf = cf.DeepCopy()
	edit(cf)
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		tb.Fatal(err)
	}
	return img
}

// TLSRegistry starts an in-process registry behind TLS with a certificate of
// its own CA, for the test's lifetime, and pushes a random image as repoTag:
// a registry a client reaches only when it trusts that CA. It returns the
// image's reference and the certificate to trust.
func TLSRegistry(tb testing.TB, repoTag string) (string, *x509.Certificate) {
	tb.Helper()
	srv := httptest.NewTLSServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	tb.Cleanup(srv.Close)
	image := strings.TrimPrefix(srv.URL, "https://") + "/" + repoTag
	ref, err := name.ParseReference(image)
	if err != nil {
		tb.Fatal(err)
	}
	if err := remote.Write(ref, Image(tb, 1, nil), remote.WithTransport(srv.Client().Transport)); err != nil {
		tb.Fatal(err)
	}
	return image, srv.Certificate()
}
