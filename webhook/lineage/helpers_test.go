package lineage

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/strata-project/strata/webhook/images"
	"github.com/strata-project/strata/webhook/internal/imagetest"
)

// world is an in-process registry with a resolver reaching it.
type world struct {
	t        testing.TB
	host     string
	resolver *images.Resolver
	heads    atomic.Int64 // HEAD manifest requests
	gets     atomic.Int64 // GET manifest requests
	blobs    atomic.Int64 // GET blob requests (configs, provenance statements)
	// fault, when set, answers the requests it returns true for instead of
	// the registry: the failures a real registry does not produce on demand.
	fault atomic.Pointer[func(rw http.ResponseWriter, req *http.Request) bool]
}

func newWorld(t testing.TB, opts images.Options) *world {
	t.Helper()
	w := &world{t: t}
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, req *http.Request) {
		if f := w.fault.Load(); f != nil && (*f)(rw, req) {
			return
		}
		if strings.Contains(req.URL.Path, "/blobs/") && req.Method == http.MethodGet {
			w.blobs.Add(1)
		}
		if strings.Contains(req.URL.Path, "/manifests/") {
			switch req.Method {
			case http.MethodHead:
				w.heads.Add(1)
			case http.MethodGet:
				w.gets.Add(1)
			}
		}
		reg.ServeHTTP(rw, req)
	}))
	t.Cleanup(srv.Close)
	w.host = strings.TrimPrefix(srv.URL, "http://")
	opts.Insecure = append(opts.Insecure, w.host)
	opts.Keychain = authn.NewMultiKeychain()
	r, err := images.NewResolver(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	w.resolver = r
	return w
}

func (w *world) ref(repoTag string) string { return w.host + "/" + repoTag }

// setFault makes f answer the requests it returns true for; nil heals.
func (w *world) setFault(f func(rw http.ResponseWriter, req *http.Request) bool) {
	if f == nil {
		w.fault.Store(nil)
		return
	}
	w.fault.Store(&f)
}

// build appends n random layers to base, on the given platform.
func (w *world) build(base v1.Image, n int, platform string) v1.Image {
	w.t.Helper()
	img := base
	for range n {
		l, err := random.Layer(64, types.DockerLayer)
		if err != nil {
			w.t.Fatal(err)
		}
		if img, err = mutate.AppendLayers(img, l); err != nil {
			w.t.Fatal(err)
		}
	}
	p, _ := v1.ParsePlatform(platform)
	return imagetest.WithConfig(w.t, img, func(cf *v1.ConfigFile) {
		cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	})
}

// push writes img under repoTag, with base claims when claims is not nil.
func (w *world) push(repoTag string, img v1.Image, claims map[string]string) images.Digest {
	w.t.Helper()
	if claims != nil {
		img = mutate.Annotations(img, claims).(v1.Image)
	}
	return w.write(repoTag, img)
}

// write pushes an image or an index as repoTag and returns its digest.
func (w *world) write(repoTag string, t imagetest.Pushable) images.Digest {
	w.t.Helper()
	imagetest.Push(w.t, w.ref(repoTag), t)
	return digestOf(w.t, t)
}

func (w *world) pushIndex(repoTag string, imgs ...v1.Image) images.Digest {
	w.t.Helper()
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, img := range imgs {
		cf, _ := img.ConfigFile()
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: cf.Platform()}})
	}
	return w.write(repoTag, idx)
}

// claim returns the OCI base annotations naming repoTag at digest d, as
// buildkit writes them.
func (w *world) claim(repoTag string, d images.Digest) map[string]string {
	return map[string]string{
		images.AnnotationBaseName:   w.ref(repoTag),
		images.AnnotationBaseDigest: d.String(),
	}
}

// refreshedCatalog is the catalog of opts after a first Refresh, which
// must succeed.
func (w *world) refreshedCatalog(opts Options) *Catalog {
	w.t.Helper()
	c := w.catalog(opts)
	if err := c.Refresh(ctx(w.t)); err != nil {
		w.t.Fatal(err)
	}
	return c
}

// movedBase is a catalog of one os base, base/debian:12, whose tag was
// re-pointed to a patched build after the catalog last read it, and an
// application, shop/billing:1, built on the old build. The catalog has not
// been refreshed since the move.
type movedBase struct {
	c                    *Catalog
	patched              v1.Image
	oldDigest, newDigest images.Digest
}

func (w *world) moveBase() movedBase {
	w.t.Helper()
	old := w.build(empty.Image, 1, "linux/amd64")
	m := movedBase{oldDigest: w.push("base/debian:12", old, nil)}
	w.push("shop/billing:1", w.build(old, 2, "linux/amd64"), nil)
	m.c = w.refreshedCatalog(Options{Images: []CatalogImage{{Ref: "base/debian:12", Role: "os"}}})
	m.patched = w.build(empty.Image, 1, "linux/amd64")
	m.newDigest = w.push("base/debian:12", m.patched, nil)
	return m
}

// wantOnTheOldBuild fails t unless l, the lineage of an application built
// on the old build, names that build as its base, not current, the tag now
// at the patched one.
func (m movedBase) wantOnTheOldBuild(t testing.TB, what string, l Lineage) {
	t.Helper()
	if len(l.Chain) != 1 || l.Chain[0].Digest != m.oldDigest || l.Chain[0].Current || l.Chain[0].CurrentDigest != m.newDigest {
		t.Errorf("Lineage(%s) = %+v, want the old digest %s, not current, now %s", what, l.Chain, m.oldDigest, m.newDigest)
	}
}

func (w *world) catalog(opts Options) *Catalog {
	w.t.Helper()
	for i := range opts.Images {
		if !strings.Contains(opts.Images[i].Ref, "/") || !strings.Contains(opts.Images[i].Ref, ":") {
			w.t.Fatalf("catalog ref %q: give repo:tag", opts.Images[i].Ref)
		}
		opts.Images[i].Ref = w.ref(opts.Images[i].Ref)
	}
	c, err := NewCatalog(w.resolver, w.resolver, opts)
	if err != nil {
		w.t.Fatal(err)
	}
	return c
}

// facts resolves repoTag and returns the facts of its only (or named) platform.
func (w *world) facts(repoTag string, platform ...string) *images.Facts {
	w.t.Helper()
	img, err := w.resolver.Resolve(ctx(w.t), w.ref(repoTag), images.Access{})
	if err != nil {
		w.t.Fatal(err)
	}
	for _, f := range img.Platforms {
		if len(platform) == 0 || f.Platform == platform[0] {
			return f
		}
	}
	w.t.Fatalf("%s has no platform %v", repoTag, platform)
	return nil
}

// digestOf is the digest of an image or an index, as strata holds it.
func digestOf(t testing.TB, of imagetest.Pushable) images.Digest {
	t.Helper()
	h, err := of.Digest()
	if err != nil {
		t.Fatal(err)
	}
	d, err := images.ParseDigest(h.String())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// chainRoles renders a lineage as "os:debian:12 > runtime:temurin:21"; a
// base known only through a claim shows as ":claimed vendor/jdk:21".
func chainRoles(w *world, l Lineage) string {
	var parts []string
	for _, e := range l.Chain {
		ref := "?"
		switch {
		case len(e.Refs) > 0:
			ref = strings.TrimPrefix(e.Refs[0], w.host+"/")
		case e.ClaimedName != "":
			ref = "claimed " + strings.TrimPrefix(e.ClaimedName, w.host+"/")
		}
		parts = append(parts, e.Role+":"+ref)
	}
	return strings.Join(parts, " > ")
}
