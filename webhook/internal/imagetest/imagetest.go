// Package imagetest gives strata's tests a registry to push to and images
// whose config they choose: the real go-containerregistry registry, in
// process, and random layers under a config the test edits.
package imagetest

import (
	"crypto/x509"
	"io"
	"log"
	"net/http"
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
	return serve(tb, RegistryHandler())
}

// serve serves h over plain HTTP for the test's lifetime and returns its
// host:port.
func serve(tb testing.TB, h http.Handler) string {
	srv := httptest.NewServer(h)
	tb.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// RegistryHandler is go-containerregistry's registry, its log discarded.
func RegistryHandler() http.Handler {
	return registry.New(registry.Logger(log.New(io.Discard, "", 0)))
}

// BasicAuth is next answering only to user and password, as docker-registry
// with htpasswd does: anything else gets 401 and a Basic challenge.
func BasicAuth(user, password string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if u, p, ok := req.BasicAuth(); !ok || u != user || p != password {
			w.Header().Set("WWW-Authenticate", `Basic realm="private"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, req)
	})
}

// BasicAuthRegistry starts an in-process registry that answers only to user
// and password, as docker-registry with htpasswd does, for the test's
// lifetime, and returns its host:port (plain HTTP).
func BasicAuthRegistry(tb testing.TB, user, password string) string {
	tb.Helper()
	return serve(tb, BasicAuth(user, password, RegistryHandler()))
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
	srv := httptest.NewTLSServer(RegistryHandler())
	tb.Cleanup(srv.Close)
	image := strings.TrimPrefix(srv.URL, "https://") + "/" + repoTag
	Push(tb, image, Image(tb, 1, nil), remote.WithTransport(srv.Client().Transport))
	return image, srv.Certificate()
}

// Pushable is what Push writes: a v1.Image or a v1.ImageIndex.
type Pushable interface {
	remote.Taggable
	Digest() (v1.Hash, error)
}

// Push writes t as ref (host/repository:tag) with everything it refers to
// (an index's images too) and returns its digest. The registry is reached
// over plain HTTP unless opts give it a TLS transport; the push ends with
// the test.
func Push(tb testing.TB, ref string, t Pushable, opts ...remote.Option) v1.Hash {
	tb.Helper()
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		tb.Fatal(err)
	}
	if err := remote.Push(r, t, append([]remote.Option{remote.WithContext(tb.Context())}, opts...)...); err != nil {
		tb.Fatalf("pushing %s: %v", ref, err)
	}
	d, err := t.Digest()
	if err != nil {
		tb.Fatal(err)
	}
	return d
}
