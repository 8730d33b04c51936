package cloud

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/strata-project/strata/test/cloudtest"
	"github.com/strata-project/strata/webhook/images"
	"github.com/strata-project/strata/webhook/internal/imagetest"
)

// privateRegistry is go-containerregistry's registry behind basic auth, as
// docker-registry with htpasswd is: it answers only to user and password.
// exchange, when set, serves ACR's /oauth2/exchange on the same host.
type privateRegistry struct {
	*httptest.Server
	addr, user, password string

	mu       sync.Mutex
	exchange http.HandlerFunc
}

func newPrivateRegistry(t testing.TB, user, password string) *privateRegistry {
	t.Helper()
	p := &privateRegistry{user: user, password: password}
	registry := imagetest.BasicAuth(user, password, imagetest.RegistryHandler())
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		p.mu.Lock()
		exchange := p.exchange
		p.mu.Unlock()
		if req.URL.Path == "/oauth2/exchange" && exchange != nil {
			exchange(w, req)
			return
		}
		registry.ServeHTTP(w, req)
	}))
	t.Cleanup(p.Close)
	p.addr = strings.TrimPrefix(p.URL, "http://")
	return p
}

// push writes a random image to repoTag on the registry, with its password.
func (p *privateRegistry) push(t testing.TB, repoTag string) {
	t.Helper()
	imagetest.Push(t, p.addr+"/"+repoTag, imagetest.Image(t, 1, nil), remote.WithAuth(&authn.Basic{Username: p.user, Password: p.password}))
}

// resolver resolves images of hosts on reg: each host is mapped to the
// registry's address, as the demo maps strata-demo.local, and read over
// plain HTTP.
func resolver(t testing.TB, reg *privateRegistry, opts images.Options, hosts ...string) *images.Resolver {
	t.Helper()
	opts.Hosts = map[string]string{}
	for _, h := range hosts {
		opts.Hosts[h] = reg.addr
		opts.Insecure = append(opts.Insecure, h)
	}
	opts.Keychain = authn.NewMultiKeychain() // not the developer's docker config
	opts.Cloud.Helper = Helper
	r, err := images.NewResolver(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

func testContext(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// standIn counts the calls on a stand-in of a cloud token API.
type standIn = cloudtest.StandIn

func wait(t testing.TB, req *http.Request) { cloudtest.Wait(t, req) }
