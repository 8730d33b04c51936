package images

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/strata-project/strata/internal/testutil"
	"github.com/strata-project/strata/webhook/internal/hangtest"
)

// An attacker's pod names thousands of distinct images at a registry that
// hangs; each resolution gives up at its deadline, but the shared fetches it
// left behind used to go on, one connection each, far past any concurrency
// setting. The number of registry requests in flight is bounded per host.
func TestHangingRegistryCannotHoldMoreConnectionsThanTheRequestBound(t *testing.T) {
	checkNoLeaks(t)
	hs := hangtest.New(t)
	tr := newBaseTransport(map[string]string{"hang.test": strings.TrimPrefix(hs.URL, "http://")})
	t.Cleanup(tr.CloseIdleConnections)
	const perHost = 4
	r, err := NewResolver(Options{
		Keychain:           authn.NewMultiKeychain(),
		Insecure:           []string{"hang.test"},
		Transport:          tr,
		FetchTimeout:       2 * time.Second,
		MaxRequestsPerHost: perHost,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)

	const images = 200
	ctx := testContext(t, 500*time.Millisecond)
	var wg sync.WaitGroup
	errs := make([]error, images)
	for i := range images {
		wg.Go(func() { _, errs[i] = r.Resolve(ctx, fmt.Sprintf("hang.test/app%d:1", i), Access{}) })
	}
	wg.Wait()
	for i, err := range errs {
		if KindOf(err) != KindTimeout {
			t.Fatalf("Resolve(hang.test/app%d:1) = %v, want kind %v", i, err, KindTimeout)
		}
	}
	// A slot is given back when its request gives up; the registry sees that
	// connection close a moment later, so up to twice the bound may overlap.
	if got := hs.MaxOpen(); got > 2*perHost {
		t.Errorf("%d resolutions at a hanging registry held %d connections at once, want at most MaxRequestsPerHost = %d (twice that while closing)", images, got, perHost)
	}
}

// A resolution asked for after its budget has ended must not start a fetch
// that goes on without it: that is how one admission kept thousands of
// registry requests running after it had been answered.
func TestResolveAfterTheBudgetEndedSendsNothing(t *testing.T) {
	reg := newTestRegistry(t)
	reg.push(t, "late/app:1", testImage(t, 1, "1000", "linux/amd64"))
	reg.push(t, "other/app:1", testImage(t, 1, "1000", "linux/amd64"))
	r := newTestResolver(t, reg, Options{})

	ended, cancel := context.WithCancel(t.Context())
	cancel()
	image := reg.ref("late/app:1")
	if _, err := r.Resolve(ended, image, Access{}); KindOf(err) != KindTimeout {
		t.Fatalf("Resolve(%q) with its budget ended = %v, want kind %v", image, err, KindTimeout)
	}
	// A full resolution of another image: a fetch the first call left
	// behind would have reached the registry by the time this one is done.
	if _, err := r.Resolve(testContext(t, 5*time.Second), reg.ref("other/app:1"), Access{}); err != nil {
		t.Fatal(err)
	}
	for _, q := range reg.takeRequests() {
		if strings.Contains(q, "/late/app/") {
			t.Errorf("Resolve(%q) after its budget ended sent %q to the registry, want nothing", image, q)
		}
	}
}

// A registry that accepts the connection and never sends a status line must
// not hold a request whose caller gave no deadline (the catalog's tag
// listing, a refresh): the transport gives up waiting for headers.
func TestHangingRegistryCannotHoldARequestPastTheHeaderTimeout(t *testing.T) {
	hs := hangtest.New(t)
	r, err := NewResolver(Options{
		Keychain:     authn.NewMultiKeychain(),
		Insecure:     []string{"hang.test"},
		Hosts:        map[string]string{"hang.test": strings.TrimPrefix(hs.URL, "http://")},
		FetchTimeout: 300 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	done := make(chan error, 1)
	go func() {
		_, err := r.Tags(t.Context(), "hang.test/base/os", Access{})
		done <- err
	}()
	select {
	case err := <-done:
		if KindOf(err) != KindTimeout {
			t.Errorf("Tags(hang.test/base/os) at a hanging registry = %v, want kind %v", err, KindTimeout)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("Tags(hang.test/base/os) at a hanging registry, without a caller deadline, had not returned after 20s; want the header timeout (FetchTimeout 300ms) to end it")
	}
}

// connectProxy is an HTTPS proxy that records the CONNECT targets it is
// asked for and refuses them all: the test only needs to know whether strata
// asked.
type connectProxy struct{ *recordingServer }

func newConnectProxy(t *testing.T) *connectProxy {
	t.Helper()
	return &connectProxy{newRecordingServer(t, func(req *http.Request) string { return req.Method + " " + req.Host },
		func(w http.ResponseWriter, req *http.Request) {
			_, _ = io.Copy(io.Discard, req.Body)
			http.Error(w, "no upstream in this test", http.StatusBadGateway)
		})}
}

// recordingServer is a test server that records one line of each request it
// receives, line(req), and answers with answer.
type recordingServer struct {
	*httptest.Server
	mu    sync.Mutex
	lines []string
}

func newRecordingServer(t *testing.T, line func(*http.Request) string, answer http.HandlerFunc) *recordingServer {
	t.Helper()
	s := &recordingServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		s.mu.Lock()
		s.lines = append(s.lines, line(req))
		s.mu.Unlock()
		answer(w, req)
	}))
	t.Cleanup(s.Close)
	return s
}

// seen is the lines recorded so far.
func (s *recordingServer) seen() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.lines...)
}

// Behind HTTPS_PROXY strata dials only the proxy, so the dial guard saw the
// proxy's address and a registry host name that resolves to the cloud
// metadata service was handed to the proxy to CONNECT to. The guard now
// resolves the target itself and refuses before the proxy is asked.
func TestProxiedRequestToAMetadataHostIsRefusedBeforeConnect(t *testing.T) {
	proxy := newConnectProxy(t)
	t.Setenv("HTTPS_PROXY", proxy.URL)
	t.Setenv("https_proxy", proxy.URL)
	t.Setenv("NO_PROXY", "")
	t.Setenv("no_proxy", "")
	r, err := NewResolver(Options{
		Keychain: authn.NewMultiKeychain(),
		// As DNS would answer for a host name an attacker controls.
		Hosts: map[string]string{"metadata.attacker.test": "169.254.169.254:443"},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	image := "metadata.attacker.test/latest/meta-data:1"
	_, err = r.Resolve(testContext(t, 5*time.Second), image, Access{})
	wantKind(t, image, err, KindNetwork, "metadata.attacker.test")
	if err != nil && !strings.Contains(err.Error(), "169.254.169.254") {
		t.Errorf("Resolve(%q) = %q, want the refused metadata address named", image, err)
	}
	if asked := proxy.seen(); len(asked) != 0 {
		t.Errorf("Resolve(%q) behind HTTPS_PROXY asked the proxy for %q, want no request: the target resolves to a metadata address", image, asked)
	}
}

// A digest cannot move, so a digest reference whose re-check fails is served
// as it was, not marked stale (which enforce mode would refuse); a tag's
// stale answer carries its age and the failed re-check.
func TestStaleAnswerIsOnlyATagsAndSaysWhy(t *testing.T) {
	reg := newTestRegistry(t)
	digest := reg.push(t, "pinned/app:1", testImage(t, 1, "1000", "linux/amd64"))
	clock := testutil.NewClock(time.Date(2026, 11, 30, 3, 0, 0, 0, time.UTC))
	r := newTestResolver(t, reg, Options{Now: clock.Now, TagTTL: time.Minute})
	tag, pinned := reg.ref("pinned/app:1"), reg.ref("pinned/app@"+digest.String())
	for _, image := range []string{tag, pinned} {
		if _, err := r.Resolve(testContext(t, 5*time.Second), image, Access{}); err != nil {
			t.Fatalf("Resolve(%q) with the registry up = %v", image, err)
		}
	}
	clock.Advance(12 * time.Minute)
	setFault(reg, func(w http.ResponseWriter, req *http.Request, _ http.Handler) {
		http.Error(w, "maintenance", http.StatusServiceUnavailable)
	})
	img, err := r.Resolve(testContext(t, 5*time.Second), pinned, Access{})
	if err != nil || img.Stale {
		t.Errorf("Resolve(%q) past the TTL with the registry failing = %+v, %v; want the digest, not stale", pinned, img, err)
	}
	img, err = r.Resolve(testContext(t, 5*time.Second), tag, Access{})
	if err != nil || !img.Stale || img.StaleAge != 12*time.Minute || img.StaleCause == nil || img.StaleCause.Kind != KindUnavailable {
		t.Fatalf("Resolve(%q) past the TTL with the registry failing = %+v, %v; want stale, 12m old, with an unavailable cause", tag, img, err)
	}
	refused := img.RefuseStale()
	for _, want := range []string{"503", "refuses", digest.String(), "12m0s ago"} {
		if !strings.Contains(refused.Error(), want) {
			t.Errorf("RefuseStale() = %q, want it to mention %q", refused, want)
		}
	}
	if refused.Kind != KindUnavailable {
		t.Errorf("RefuseStale().Kind = %v, want the failed re-check's %v", refused.Kind, KindUnavailable)
	}
}
