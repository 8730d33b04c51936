package images

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/strata-project/strata/webhook/internal/imagetest"
)

// testRegistry is go-containerregistry's in-process registry behind a
// middleware that records every request, so tests can count round trips.
type testRegistry struct {
	*httptest.Server
	host string

	mu       sync.Mutex
	requests []string // "METHOD /path"
	// wrap, when set, handles requests instead of the registry (a fault).
	wrap func(next http.Handler) http.Handler
}

func newTestRegistry(t testing.TB) *testRegistry {
	t.Helper()
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	tr := &testRegistry{}
	tr.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		tr.mu.Lock()
		tr.requests = append(tr.requests, req.Method+" "+req.URL.Path)
		wrap := tr.wrap
		tr.mu.Unlock()
		if wrap != nil {
			wrap(reg).ServeHTTP(w, req)
			return
		}
		reg.ServeHTTP(w, req)
	}))
	t.Cleanup(tr.Close)
	tr.host = strings.TrimPrefix(tr.URL, "http://")
	return tr
}

// log returns and forgets the requests seen so far, pings (GET /v2/) left out.
func (r *testRegistry) takeRequests() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, q := range r.requests {
		if q != "GET /v2/" {
			out = append(out, q)
		}
	}
	r.requests = nil
	return out
}

func (r *testRegistry) ref(repoTag string) string { return r.host + "/" + repoTag }

// push writes an image or an index as repoTag on the test registry; the
// requests it took are not counted against the test.
func (r *testRegistry) push(t testing.TB, repoTag string, img imagetest.Pushable) v1.Hash {
	t.Helper()
	d := imagetest.Push(t, r.ref(repoTag), img)
	r.takeRequests()
	return d
}

// testImage is a random image of the given number of layers, with its
// config's USER and platform set.
func testImage(t testing.TB, layers int, user, platform string) v1.Image {
	t.Helper()
	var p *v1.Platform
	if platform != "" {
		var err error
		if p, err = v1.ParsePlatform(platform); err != nil {
			t.Fatal(err)
		}
	}
	return imagetest.Image(t, layers, func(cf *v1.ConfigFile) {
		cf.Config.User = user
		cf.OS, cf.Architecture, cf.Variant = "", "", ""
		if p != nil {
			cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
		}
	})
}

// testIndex builds an index of the images, each under its config's platform.
func testIndex(t testing.TB, mt types.MediaType, imgs ...v1.Image) v1.ImageIndex {
	t.Helper()
	idx := mutate.IndexMediaType(empty.Index, mt)
	for _, img := range imgs {
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        img,
			Descriptor: v1.Descriptor{Platform: cf.Platform()},
		})
	}
	return idx
}

// newTestResolver returns a Resolver that reaches the test registry over
// plain HTTP and uses no ambient credentials.
func newTestResolver(t testing.TB, reg *testRegistry, opts Options) *Resolver {
	t.Helper()
	opts.Insecure = append(opts.Insecure, reg.host)
	if opts.Keychain == nil {
		opts.Keychain = authn.NewMultiKeychain() // anonymous
	}
	r, err := NewResolver(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

func testContext(t testing.TB, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}
