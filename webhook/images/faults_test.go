package images

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"go.uber.org/goleak"

	"github.com/strata-project/strata/internal/testutil"
)

// The faults below are what a real registry does not do: lie about digests,
// rate limit, trickle, hang, send endless bodies, demand tokens, redirect to
// a metadata service. Each top-level test checks for leaked goroutines, so
// none is parallel at the top level: a parallel sibling's goroutines would
// look leaked. Their subtests run in parallel with each other.

// margin is how long a call may outlive its deadline: the time to unwind.
const margin = 500 * time.Millisecond

// faultFunc answers a request instead of the registry, or passes it to next.
type faultFunc func(w http.ResponseWriter, req *http.Request, next http.Handler)

func setFault(reg *testRegistry, f faultFunc) {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	reg.wrap = func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) { f(w, req, next) })
	}
}

// onPath applies f to requests whose path contains part; the rest reach the registry.
func onPath(part string, f faultFunc) faultFunc {
	return func(w http.ResponseWriter, req *http.Request, next http.Handler) {
		if !strings.Contains(req.URL.Path, part) {
			next.ServeHTTP(w, req)
			return
		}
		f(w, req, next)
	}
}

func requestCount(reg *testRegistry) int {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	return len(reg.requests)
}

// newFaultResolver is newTestResolver with a transport whose idle
// connections are closed when the test ends, so that none looks leaked.
func newFaultResolver(t *testing.T, reg *testRegistry, opts Options) *Resolver {
	t.Helper()
	tr := newBaseTransport(nil)
	t.Cleanup(tr.CloseIdleConnections)
	opts.Transport = tr
	return newTestResolver(t, reg, opts)
}

// resolveTimed resolves image under a deadline of budget and fails t when the
// call outlives it by more than margin.
func resolveTimed(t *testing.T, r *Resolver, image string, access Access, budget time.Duration) (*Image, time.Duration, error) {
	t.Helper()
	start := time.Now()
	img, err := r.Resolve(testContext(t, budget), image, access)
	elapsed := time.Since(start)
	if elapsed > budget+margin {
		t.Errorf("Resolve(%q) returned after %v, want within its %v deadline", image, elapsed, budget)
	}
	return img, elapsed, err
}

// wantKind fails t unless err is an *Error of kind whose message mentions
// each of mentions (the registry, the repository, what to do).
func wantKind(t *testing.T, image string, err error, kind Kind, mentions ...string) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || e.Kind != kind {
		t.Errorf("Resolve(%q) = %v, want kind %v", image, err, kind)
		return e
	}
	for _, m := range mentions {
		if !strings.Contains(e.Error(), m) {
			t.Errorf("Resolve(%q) = %q, want a message that mentions %q", image, e.Error(), m)
		}
	}
	return e
}

// checkNoLeaks fails t if goroutines started during the test outlive its
// cleanups. The fault tests are not parallel at the top level, so that no
// neighbour's goroutines are counted.
func checkNoLeaks(t *testing.T) {
	t.Helper()
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
}

// staticKeychain hands one authenticator to one registry host.
type staticKeychain struct {
	host string
	auth authn.Authenticator
}

func (k staticKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	if r.RegistryStr() != k.host {
		return authn.Anonymous, nil
	}
	return k.auth, nil
}

func TestFaultLyingDigests(t *testing.T) {
	checkNoLeaks(t)
	amd := testImage(t, 1, "1000", "linux/amd64")
	arm := testImage(t, 1, "0", "linux/arm64")
	amdDigest, _ := amd.Digest()
	armManifest, _ := arm.RawManifest()
	amdConfig, _ := amd.ConfigName()
	armConfig, _ := arm.RawConfigFile()
	for _, tc := range []struct {
		name  string
		image string // on the test registry; "" is lie/app:1
		fault faultFunc
	}{{
		// The index is honest; the registry swaps in another valid manifest for one child.
		name: "child manifest substituted",
		fault: onPath("/manifests/"+amdDigest.String(), func(w http.ResponseWriter, req *http.Request, _ http.Handler) {
			w.Header().Set("Content-Type", string(types.DockerManifestSchema2))
			w.Header().Set("Docker-Content-Digest", amdDigest.String())
			w.Write(armManifest)
		}),
	}, {
		name:  "manifest by digest altered",
		image: "lie/app@" + amdDigest.String(),
		fault: onPath("/manifests/"+amdDigest.String(), func(w http.ResponseWriter, req *http.Request, next http.Handler) {
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, req)
			w.Header().Set("Content-Type", rec.Header().Get("Content-Type"))
			w.Header().Set("Docker-Content-Digest", amdDigest.String())
			w.Write(append(rec.Body.Bytes(), '\n'))
		}),
	}, {
		// A valid config of another image: USER 0 where the image says 1000.
		name: "config blob substituted",
		fault: onPath("/blobs/"+amdConfig.String(), func(w http.ResponseWriter, req *http.Request, _ http.Handler) {
			w.Header().Set("Docker-Content-Digest", amdConfig.String())
			w.Write(armConfig)
		}),
	}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			reg := newTestRegistry(t)
			reg.push(t, "lie/app:1", testIndex(t, types.OCIImageIndex, amd, arm))
			setFault(reg, tc.fault)
			r := newFaultResolver(t, reg, Options{})
			image := reg.ref("lie/app:1")
			if tc.image != "" {
				image = reg.ref(tc.image)
			}
			img, _, err := resolveTimed(t, r, image, Access{}, 5*time.Second)
			if err == nil {
				t.Fatalf("Resolve(%q) = %+v, want kind %v", image, img, KindInvalidContent)
			}
			wantKind(t, image, err, KindInvalidContent, reg.host, "lie/app", "do not trust")
		})
	}
}

func TestFaultRateLimited(t *testing.T) {
	checkNoLeaks(t)
	for _, tc := range []struct {
		name, path string
	}{
		{"manifest", "/manifests/"},
		{"ping", "/v2/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			reg := newTestRegistry(t)
			reg.push(t, "busy/app:1", testImage(t, 1, "", "linux/amd64"))
			var hits atomic.Int32
			setFault(reg, onPath(tc.path, func(w http.ResponseWriter, req *http.Request, _ http.Handler) {
				hits.Add(1)
				w.Header().Set("Retry-After", "120")
				http.Error(w, `{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}`, http.StatusTooManyRequests)
			}))
			r := newFaultResolver(t, reg, Options{})
			image := reg.ref("busy/app:1")
			_, elapsed, err := resolveTimed(t, r, image, Access{}, 5*time.Second)
			e := wantKind(t, image, err, KindRateLimited, reg.host, "retry after 2m0s")
			if e != nil && e.RetryAfter != 120*time.Second {
				t.Errorf("Resolve(%q).RetryAfter = %v, want 2m0s", image, e.RetryAfter)
			}
			if elapsed > time.Second || hits.Load() != 1 {
				t.Errorf("Resolve(%q) took %v and %d rate-limited requests, want under 1s and 1: a 429 is not retried", image, elapsed, hits.Load())
			}
		})
	}
}

func TestFaultTricklingManifest(t *testing.T) {
	checkNoLeaks(t)
	reg := newTestRegistry(t)
	reg.push(t, "slow/app:1", testImage(t, 1, "", "linux/amd64"))
	setFault(reg, onPath("/manifests/", func(w http.ResponseWriter, req *http.Request, next http.Handler) {
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, req)
		w.Header().Set("Content-Type", rec.Header().Get("Content-Type"))
		w.Header().Set("Content-Length", strconv.Itoa(rec.Body.Len()))
		for _, b := range rec.Body.Bytes() {
			if _, err := w.Write([]byte{b}); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-req.Context().Done():
				return
			case <-time.After(time.Second):
			}
		}
	}))
	r := newFaultResolver(t, reg, Options{})
	image := reg.ref("slow/app:1")
	_, _, err := resolveTimed(t, r, image, Access{}, 1500*time.Millisecond)
	wantKind(t, image, err, KindTimeout, reg.host, "slow/app", "registry.timeout")
}

func TestFaultHugeManifest(t *testing.T) {
	checkNoLeaks(t)
	const size = 50 << 20
	for _, tc := range []struct {
		name       string
		withLength bool
	}{
		{"content-length", true},
		{"chunked", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			reg := newTestRegistry(t)
			written := make(chan int64, 8)
			setFault(reg, onPath("/manifests/", func(w http.ResponseWriter, req *http.Request, _ http.Handler) {
				w.Header().Set("Content-Type", string(types.DockerManifestSchema2))
				if tc.withLength {
					w.Header().Set("Content-Length", strconv.Itoa(size))
				}
				chunk := bytes.Repeat([]byte{' '}, 32<<10)
				var n int64
				for n < size {
					m, err := w.Write(chunk)
					n += int64(m)
					if err != nil {
						break
					}
				}
				written <- n
			}))
			r := newFaultResolver(t, reg, Options{})
			image := reg.ref("big/app:1")
			_, elapsed, err := resolveTimed(t, r, image, Access{}, 5*time.Second)
			wantKind(t, image, err, KindInvalidContent, reg.host, "big/app", "larger than the 4194304-byte limit")
			select {
			case n := <-written:
				// What the server got rid of before strata hung up: socket
				// buffers, not the 50 MiB strata refused to read.
				if n > 24<<20 {
					t.Errorf("Resolve(%q) let the registry write %d bytes, want strata to hang up long before 50 MiB", image, n)
				}
				t.Logf("registry wrote %d bytes in %v before strata hung up", n, elapsed)
			case <-time.After(5 * time.Second):
				t.Errorf("Resolve(%q) returned, but the registry is still writing 5s later: strata did not hang up", image)
			}
		})
	}
}

// bearerRegistry is a test registry behind a token server that hands out
// one token for user:pass, counting the token requests.
func bearerRegistry(t *testing.T, user, pass string) (*testRegistry, *atomic.Int32) {
	t.Helper()
	reg := newTestRegistry(t)
	reg.push(t, "auth/app:1", testImage(t, 1, "1000", "linux/amd64"))
	reg.push(t, "auth/app:2", testImage(t, 1, "1001", "linux/amd64"))
	const token = "tok-0123"
	challenge := fmt.Sprintf(`Bearer realm="http://%s/token",service="test"`, reg.host)
	var tokens atomic.Int32
	setFault(reg, func(w http.ResponseWriter, req *http.Request, next http.Handler) {
		if req.URL.Path == "/token" {
			tokens.Add(1)
			q := req.URL.Query()
			u, p, ok := req.BasicAuth()
			if !ok || u != user || p != pass || q.Get("service") != "test" || q.Get("scope") != "repository:auth/app:pull" {
				http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}`, http.StatusUnauthorized)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"token":%q,"expires_in":300}`, token)
			return
		}
		if req.Header.Get("Authorization") != "Bearer "+token {
			w.Header().Set("WWW-Authenticate", challenge)
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, req)
	})
	return reg, &tokens
}

func TestFaultBearerTokenFlow(t *testing.T) {
	checkNoLeaks(t)
	const user, pass = "ci", "s3cret-pw"
	t.Run("token reused", func(t *testing.T) {
		t.Parallel()
		reg, tokens := bearerRegistry(t, user, pass)
		r := newFaultResolver(t, reg, Options{})
		access := Access{Scope: "x", Keychain: staticKeychain{reg.host, authn.FromConfig(authn.AuthConfig{Username: user, Password: pass})}}
		for i, tag := range []string{"auth/app:1", "auth/app:2"} {
			image := reg.ref(tag)
			img, _, err := resolveTimed(t, r, image, access, 5*time.Second)
			if err != nil {
				t.Fatalf("Resolve(%q) = %v, want success with the token", image, err)
			}
			if want := fmt.Sprint(1000 + i); img.Platforms[0].Config.User.Raw != want {
				t.Errorf("Resolve(%q) user = %q, want %q", image, img.Platforms[0].Config.User.Raw, want)
			}
			if got := tokens.Load(); got != 1 {
				t.Errorf("after Resolve(%q): %d token requests, want 1: the token of auth/app is reused", image, got)
			}
		}
	})
	for _, tc := range []struct {
		name string
		auth authn.Authenticator // nil: the resolver's anonymous keychain
	}{
		{"no credentials", nil},
		{"wrong password", authn.FromConfig(authn.AuthConfig{Username: user, Password: "not-" + pass})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			reg, _ := bearerRegistry(t, user, pass)
			r := newFaultResolver(t, reg, Options{})
			var access Access
			if tc.auth != nil {
				access = Access{Scope: "y", Keychain: staticKeychain{reg.host, tc.auth}}
			}
			image := reg.ref("auth/app:1")
			_, _, err := resolveTimed(t, r, image, access, 5*time.Second)
			wantKind(t, image, err, KindUnauthorized, reg.host, "auth/app", "add an imagePullSecret")
			if err != nil && strings.Contains(err.Error(), pass) {
				t.Errorf("Resolve(%q) = %q, which shows a password", image, err)
			}
		})
	}
}

func TestFaultMetadataAddressRefused(t *testing.T) {
	checkNoLeaks(t)
	img := testImage(t, 1, "", "linux/amd64")
	cfg, _ := img.ConfigName()
	redirect := func(to string) faultFunc {
		return onPath("/blobs/"+cfg.String(), func(w http.ResponseWriter, req *http.Request, _ http.Handler) {
			http.Redirect(w, req, to, http.StatusTemporaryRedirect)
		})
	}
	realm := func(realm string) faultFunc {
		return func(w http.ResponseWriter, req *http.Request, next http.Handler) {
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm=%q,service="test"`, realm))
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED"}]}`, http.StatusUnauthorized)
		}
	}
	for _, tc := range []struct {
		name  string
		fault faultFunc
	}{
		{"blob redirect http", redirect("http://169.254.169.254/latest/meta-data")},
		{"blob redirect https", redirect("https://169.254.169.254/latest/meta-data")},
		{"blob redirect ipv6", redirect("https://[fd00:ec2::254]/latest/meta-data")},
		{"token realm http", realm("http://169.254.169.254/token")},
		{"token realm https", realm("https://169.254.169.254/token")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			reg := newTestRegistry(t)
			reg.push(t, "meta/app:1", img)
			setFault(reg, tc.fault)
			r := newFaultResolver(t, reg, Options{})
			image := reg.ref("meta/app:1")
			_, elapsed, err := resolveTimed(t, r, image, Access{}, 3*time.Second)
			wantKind(t, image, err, KindNetwork, reg.host, "meta/app")
			if elapsed > time.Second {
				t.Errorf("Resolve(%q) took %v, want a refusal well under 1s, without a connection attempt", image, elapsed)
			}
		})
	}
}

func TestFaultPlainHTTPRefused(t *testing.T) {
	checkNoLeaks(t)
	reg := newTestRegistry(t)
	reg.push(t, "plain/app:1", testImage(t, 1, "", "linux/amd64"))
	tr := newBaseTransport(nil)
	t.Cleanup(tr.CloseIdleConnections)
	r, err := NewResolver(Options{Keychain: authn.NewMultiKeychain(), Transport: tr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	image := reg.ref("plain/app:1")
	_, _, err = resolveTimed(t, r, image, Access{}, 3*time.Second)
	wantKind(t, image, err, KindNetwork, reg.host, "plain/app", "registry.insecure")
	if n := requestCount(reg); n != 0 {
		t.Errorf("Resolve(%q) sent %d plain HTTP requests to a host not in Insecure, want 0", image, n)
	}
}

func TestFaultNotAllowedSendsNothing(t *testing.T) {
	checkNoLeaks(t)
	reg := newTestRegistry(t)
	reg.push(t, "other/app:1", testImage(t, 1, "", "linux/amd64"))
	before := requestCount(reg)
	r := newFaultResolver(t, reg, Options{Allow: []string{"registry.example.com"}})
	image := reg.ref("other/app:1")
	_, _, err := resolveTimed(t, r, image, Access{}, time.Second)
	wantKind(t, image, err, KindNotAllowed, reg.host, "registry.allow")
	if n := requestCount(reg) - before; n != 0 {
		t.Errorf("Resolve(%q) sent %d requests to a registry outside Allow, want 0", image, n)
	}
}

func TestFaultUnavailable(t *testing.T) {
	checkNoLeaks(t)
	reg := newTestRegistry(t)
	reg.push(t, "down/app:1", testImage(t, 1, "", "linux/amd64"))
	before := requestCount(reg)
	setFault(reg, func(w http.ResponseWriter, req *http.Request, _ http.Handler) {
		http.Error(w, "upstream connect error", http.StatusServiceUnavailable)
	})
	r := newFaultResolver(t, reg, Options{})
	image := reg.ref("down/app:1")
	_, elapsed, err := resolveTimed(t, r, image, Access{}, 2*time.Second)
	wantKind(t, image, err, KindUnavailable, reg.host, "down/app", "try again")
	if n := requestCount(reg) - before; n < 2 {
		t.Errorf("Resolve(%q) sent %d requests to a failing registry, want retries", image, n)
	}
	t.Logf("503 with retries: %d requests in %v", requestCount(reg)-before, elapsed)
}

func TestFaultHangingServer(t *testing.T) {
	checkNoLeaks(t)
	reg := newTestRegistry(t)
	setFault(reg, func(w http.ResponseWriter, req *http.Request, _ http.Handler) {
		<-req.Context().Done() // never a status line
	})
	r := newFaultResolver(t, reg, Options{})
	image := reg.ref("hang/app:1")
	_, elapsed, err := resolveTimed(t, r, image, Access{}, time.Second)
	wantKind(t, image, err, KindTimeout, reg.host, "hang/app", "registry.timeout")
	if elapsed < time.Second {
		t.Errorf("Resolve(%q) gave up after %v, before its 1s deadline, on a registry that only hangs", image, elapsed)
	}
}

func TestFaultStaleIfError(t *testing.T) {
	checkNoLeaks(t)
	for _, tc := range []struct {
		name     string
		fault    faultFunc
		wantKind Kind // "": a stale success
	}{
		{"503 serves the previous digest", func(w http.ResponseWriter, req *http.Request, _ http.Handler) {
			http.Error(w, "maintenance", http.StatusServiceUnavailable)
		}, ""},
		{"401 fails", onPath("/manifests/", func(w http.ResponseWriter, req *http.Request, _ http.Handler) {
			http.Error(w, `{"errors":[{"code":"DENIED"}]}`, http.StatusUnauthorized)
		}), KindUnauthorized},
		{"404 fails", onPath("/manifests/", func(w http.ResponseWriter, req *http.Request, _ http.Handler) {
			http.Error(w, `{"errors":[{"code":"MANIFEST_UNKNOWN"}]}`, http.StatusNotFound)
		}), KindNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			reg := newTestRegistry(t)
			digest := reg.push(t, "stale/app:1", testImage(t, 1, "", "linux/amd64"))
			clock := testutil.NewClock(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
			r := newFaultResolver(t, reg, Options{Now: clock.Now, TagTTL: time.Minute})
			image := reg.ref("stale/app:1")
			if img, _, err := resolveTimed(t, r, image, Access{}, 5*time.Second); err != nil || img.Stale {
				t.Fatalf("first Resolve(%q) = %+v, %v; want a fresh success", image, img, err)
			}
			clock.Advance(2 * time.Minute)
			setFault(reg, tc.fault)
			img, _, err := resolveTimed(t, r, image, Access{}, 5*time.Second)
			if tc.wantKind != "" {
				wantKind(t, image, err, tc.wantKind, reg.host, "stale/app")
				return
			}
			if err != nil || !img.Stale || img.Digest.String() != digest.String() {
				t.Errorf("Resolve(%q) past its TTL on a failing registry = %+v, %v; want the previous %s marked stale", image, img, err, digest)
			}
		})
	}
}

// servedBody is a registry response body of size bytes that counts what
// strata reads of it and whether strata closed it.
type servedBody struct {
	left   int64
	read   atomic.Int64
	closed atomic.Bool
}

func (b *servedBody) Read(p []byte) (int, error) {
	if b.left == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	for i := range p {
		p[i] = ' '
	}
	b.left -= int64(len(p))
	b.read.Add(int64(len(p)))
	return len(p), nil
}

func (b *servedBody) Close() error { b.closed.Store(true); return nil }

// oversizedManifests answers every GET of a manifest with a body of size
// bytes, its Content-Length declared or not (a chunked stream), and keeps
// each body it served; other requests reach the registry.
type oversizedManifests struct {
	next     http.RoundTripper
	size     int64
	declared bool

	mu     sync.Mutex
	served []*servedBody
}

func (o *oversizedManifests) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet || !strings.Contains(req.URL.Path, "/manifests/") {
		return o.next.RoundTrip(req)
	}
	body := &servedBody{left: o.size}
	o.mu.Lock()
	o.served = append(o.served, body)
	o.mu.Unlock()
	resp := &http.Response{StatusCode: http.StatusOK, Status: "200 OK", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Content-Type": {string(types.DockerManifestSchema2)}}, Body: body, ContentLength: -1, Request: req}
	if o.declared {
		resp.ContentLength = o.size
		resp.Header.Set("Content-Length", strconv.FormatInt(o.size, 10))
	}
	return resp, nil
}

// docs/images.md says how the 4 MiB body cap treats the two ways a body can
// be too large, and the two are told apart here by what strata reads: a
// declared Content-Length past the cap is refused before one byte of the
// body is read; a stream that declares nothing is read up to the cap and
// fails on the first byte past it (cap + 1 bytes read, nothing more). Both
// fail the resolution as invalid-content, and both bodies are closed.
func TestOversizedBodyIsRefusedUnreadWhenDeclaredAndCutPastTheCapWhenStreamed(t *testing.T) {
	const size, limit = 50 << 20, 4 << 20
	for _, tc := range []struct {
		name     string
		declared bool
		wantRead int64
	}{
		{"content-length", true, 0},
		{"chunked", false, limit + 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := newTestRegistry(t)
			reg.push(t, "big/app:1", testImage(t, 1, "1000", "linux/amd64"))
			base := newBaseTransport(nil)
			t.Cleanup(base.CloseIdleConnections)
			served := &oversizedManifests{next: base, size: size, declared: tc.declared}
			r := newTestResolver(t, reg, Options{Transport: served})
			image := reg.ref("big/app:1")
			_, err := r.Resolve(testContext(t, 30*time.Second), image, Access{})
			wantKind(t, image, err, KindInvalidContent, reg.host, "big/app", "larger than the 4194304-byte limit")
			served.mu.Lock()
			defer served.mu.Unlock()
			if len(served.served) == 0 {
				t.Fatalf("Resolve(%q) fetched no manifest", image)
			}
			for i, b := range served.served {
				if got := b.read.Load(); got != tc.wantRead {
					t.Errorf("Resolve(%q): manifest response %d: strata read %d bytes of the %d-byte body, want %d", image, i, got, size, tc.wantRead)
				}
				if !b.closed.Load() {
					t.Errorf("Resolve(%q): manifest response %d: body not closed", image, i)
				}
			}
		})
	}
}

// docs/images.md: 408, 502, 503 and 504 are retried, so one such answer
// costs a retry and the image still resolves; 500 and 429 are not retried.
func TestTransientStatusesAreRetriedOnceAndOthersAreNot(t *testing.T) {
	checkNoLeaks(t)
	for _, tc := range []struct {
		status  int
		retried bool
	}{
		{http.StatusRequestTimeout, true}, {http.StatusBadGateway, true}, {http.StatusServiceUnavailable, true}, {http.StatusGatewayTimeout, true},
		{http.StatusInternalServerError, false}, {http.StatusTooManyRequests, false},
	} {
		t.Run(strconv.Itoa(tc.status), func(t *testing.T) {
			t.Parallel()
			reg := newTestRegistry(t)
			reg.push(t, "flaky/app:1", testImage(t, 1, "", "linux/amd64"))
			var failed atomic.Int32
			setFault(reg, onPath("/manifests/", func(w http.ResponseWriter, req *http.Request, next http.Handler) {
				if failed.Add(1) == 1 {
					http.Error(w, "once", tc.status)
					return
				}
				next.ServeHTTP(w, req)
			}))
			r := newFaultResolver(t, reg, Options{})
			image := reg.ref("flaky/app:1")
			_, _, err := resolveTimed(t, r, image, Access{}, 5*time.Second)
			if tc.retried && err != nil {
				t.Errorf("Resolve(%q) after one %d = %v, want it retried and resolved", image, tc.status, err)
			}
			if !tc.retried && err == nil {
				t.Errorf("Resolve(%q) after one %d resolved, want the %d returned, not retried", image, tc.status, tc.status)
			}
		})
	}
}

// TestRetrySleepsAre50And100Milliseconds: the sleeps between tries of a
// transient failure are those docs/images.md states, 50 ms then 100 ms
// (each up to 20 % longer, the jitter), instead of go-containerregistry's
// 1 s then 3 s, which no admission budget fits. The sleeps are read from
// the backoff the resolver hands to go-containerregistry, stepped the way
// its retry loop steps it (a sleep between two tries, none after the last),
// not timed.
func TestRetrySleepsAre50And100Milliseconds(t *testing.T) {
	t.Parallel()
	r := newTestResolver(t, newTestRegistry(t), Options{})
	b := r.backoff
	var sleeps []time.Duration
	for b.Steps > 1 {
		sleeps = append(sleeps, b.Step())
	}
	want := []time.Duration{50 * time.Millisecond, 100 * time.Millisecond}
	if len(sleeps) != len(want) {
		t.Fatalf("the resolver's backoff sleeps %v between tries, want %v", sleeps, want)
	}
	for i, s := range sleeps {
		if s < want[i] || s > want[i]+want[i]/5 {
			t.Errorf("sleep %d = %v, want %v to %v", i+1, s, want[i], want[i]+want[i]/5)
		}
	}
}
