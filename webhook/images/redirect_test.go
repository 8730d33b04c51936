package images

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// secretBody is what an internal service answers; it must never reach a
// message a tenant reads.
const secretBody = "INTERNAL-SECRET-BODY path=/internal/admin/dump"

// publicRegistryHost is the name the tests give the in-process registry, made
// to resolve to a public (documentation) address for the redirect guard while
// the dial goes to the test server on loopback.
const publicRegistryHost = "registry.strata.test"

// internalService is an HTTPS server on 127.0.0.1 standing for an internal
// admin endpoint: it counts its requests and answers with secretBody.
func internalService(t *testing.T) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		hits.Add(1)
		http.Error(w, secretBody, http.StatusInternalServerError)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

// internalName is the name the redirects use for the internal service: a
// name, not an IP literal, because go-containerregistry refuses private IP
// literals itself but follows names that resolve to them. The httptest
// certificate is valid for it.
const internalName = "example.com"

// internalURL is internal's URL under internalName.
func internalURL(internal *httptest.Server, path string) string {
	_, port, _ := net.SplitHostPort(internal.Listener.Addr().String())
	return "https://" + net.JoinHostPort(internalName, port) + path
}

// publicRegistryResolver returns a resolver that reaches reg as
// publicRegistryHost and internal as internalName (which resolves to
// 127.0.0.1), trusts internal's certificate (so that only the guard can
// refuse it), and believes publicRegistryHost resolves to a public address.
func publicRegistryResolver(t *testing.T, reg *testRegistry, internal *httptest.Server, opts Options) *Resolver {
	t.Helper()
	opts.Hosts = map[string]string{publicRegistryHost: reg.host, internalName: internal.Listener.Addr().String()}
	tr := newBaseTransport(opts.Hosts)
	t.Cleanup(tr.CloseIdleConnections)
	pool := x509.NewCertPool()
	pool.AddCert(internal.Certificate())
	tr.TLSClientConfig.RootCAs = pool
	opts.Transport = tr
	opts.Insecure = append(opts.Insecure, publicRegistryHost)
	r := newTestResolver(t, reg, opts)
	g := r.transport.(*guard)
	real := g.lookup
	g.lookup = func(ctx context.Context, host string) ([]netip.Addr, error) {
		if host == publicRegistryHost {
			return []netip.Addr{netip.MustParseAddr("203.0.113.7")}, nil
		}
		return real(ctx, host)
	}
	return r
}

func TestRedirectFromPublicRegistryToLoopbackIsRefusedAndItsBodyNeverShown(t *testing.T) {
	checkNoLeaks(t)
	img := testImage(t, 1, "", "linux/amd64")
	cfg, _ := img.ConfigName()
	for _, tc := range []struct {
		name string
		path string // the path the registry redirects
	}{
		{"config blob", "/blobs/" + cfg.String()},
		{"manifest", "/manifests/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			internal, hits := internalService(t)
			reg := newTestRegistry(t)
			reg.push(t, "meta/app:1", img)
			setFault(reg, onPath(tc.path, func(w http.ResponseWriter, req *http.Request, _ http.Handler) {
				http.Redirect(w, req, internalURL(internal, "/internal/admin/dump"), http.StatusTemporaryRedirect)
			}))
			r := publicRegistryResolver(t, reg, internal, Options{})
			image := publicRegistryHost + "/meta/app:1"
			_, _, err := resolveTimed(t, r, image, Access{}, 3*time.Second)
			if err == nil {
				t.Fatalf("Resolve(%q) followed a redirect to %s, want a refusal", image, internalURL(internal, ""))
			}
			if strings.Contains(err.Error(), "INTERNAL-SECRET-BODY") {
				t.Errorf("Resolve(%q) = %q, want no part of the internal service's body in the message", image, err)
			}
			wantKind(t, image, err, KindNetwork, publicRegistryHost, "registry.allow")
			if n := hits.Load(); n != 0 {
				t.Errorf("the internal service on 127.0.0.1 (as %s) got %d requests, want 0", internalName, n)
			}
		})
	}
}

func TestTokenRealmOnLoopbackFromPublicRegistryIsRefused(t *testing.T) {
	checkNoLeaks(t)
	internal, hits := internalService(t)
	reg := newTestRegistry(t)
	reg.push(t, "meta/app:1", testImage(t, 1, "", "linux/amd64"))
	setFault(reg, func(w http.ResponseWriter, req *http.Request, _ http.Handler) {
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm=%q,service="test"`, internalURL(internal, "/token")))
		http.Error(w, `{"errors":[{"code":"UNAUTHORIZED"}]}`, http.StatusUnauthorized)
	})
	r := publicRegistryResolver(t, reg, internal, Options{})
	image := publicRegistryHost + "/meta/app:1"
	_, _, err := resolveTimed(t, r, image, Access{}, 3*time.Second)
	wantKind(t, image, err, KindNetwork, publicRegistryHost)
	if n := hits.Load(); n != 0 {
		t.Errorf("the token realm on 127.0.0.1 got %d requests, want 0", n)
	}
}

func TestRegistryErrorBodyNeverReachesTheMessage(t *testing.T) {
	checkNoLeaks(t)
	img := testImage(t, 1, "", "linux/amd64")
	for _, tc := range []struct {
		status int
		body   string
		kind   Kind
	}{
		{http.StatusBadRequest, secretBody, KindInvalidContent},
		{http.StatusForbidden, `{"errors":[{"code":"DENIED","message":"` + secretBody + `"}]}`, KindUnauthorized},
		{http.StatusNotFound, `{"errors":[{"code":"MANIFEST_UNKNOWN","message":"` + secretBody + `","detail":"` + secretBody + `"}]}`, KindNotFound},
		{http.StatusInternalServerError, secretBody + strings.Repeat("x", 60<<10), KindUnavailable},
		{http.StatusBadGateway, "<html>" + secretBody + "</html>", KindUnavailable},
	} {
		t.Run(strconv.Itoa(tc.status), func(t *testing.T) {
			reg := newTestRegistry(t)
			reg.push(t, "err/app:1", img)
			setFault(reg, onPath("/manifests/", func(w http.ResponseWriter, req *http.Request, _ http.Handler) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			var logged bytes.Buffer
			logger := slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{Level: slog.LevelDebug}))
			r := newFaultResolver(t, reg, Options{Logger: logger})
			image := reg.ref("err/app:1")
			_, _, err := resolveTimed(t, r, image, Access{}, 3*time.Second)
			// What reaches the message: the method, the URL, the status (docs/images.md).
			e := wantKind(t, image, err, tc.kind, "GET http://"+reg.host+"/v2/err/app/manifests/1: unexpected status code "+strconv.Itoa(tc.status)+" "+http.StatusText(tc.status))
			if e != nil && strings.Contains(e.Error(), "INTERNAL-SECRET-BODY") {
				t.Errorf("Resolve(%q) = %q, want the status and no part of the registry's error body", image, e.Error())
			}
			// The body stays available to the operator, truncated, in strata's own debug log.
			if !strings.Contains(logged.String(), "INTERNAL-SECRET-BODY") {
				t.Errorf("debug log = %q, want the withheld error body in it", logged.String())
			}
			for _, line := range strings.Split(logged.String(), "\n") {
				if len(line) > 4*maxLoggedErrorBody {
					t.Errorf("debug log line of %d bytes, want the error body truncated to %d", len(line), maxLoggedErrorBody)
				}
			}
		})
	}
}

// TestRedirectIntoInternalRangesDecision pins the rule: a redirect or token
// realm into a non-public range is followed only from a host that lives in
// that same range, to the host itself, or to a host in registry.allow.
func TestRedirectIntoInternalRangesDecision(t *testing.T) {
	addrs := map[string][]netip.Addr{
		"public.example":  {netip.MustParseAddr("203.0.113.7")},
		"s3.example":      {netip.MustParseAddr("198.51.100.9")},
		"private.example": {netip.MustParseAddr("10.0.0.5"), netip.MustParseAddr("fd00::5")},
		"minio.internal":  {netip.MustParseAddr("10.0.0.6")},
		"mixed.example":   {netip.MustParseAddr("203.0.113.8"), netip.MustParseAddr("10.0.0.8")},
		"cgnat.internal":  {netip.MustParseAddr("100.64.3.4")},
	}
	g := &guard{
		allow: map[string]bool{"allowed.internal": true},
		lookup: func(_ context.Context, host string) ([]netip.Addr, error) {
			if a, err := netip.ParseAddr(host); err == nil {
				return []netip.Addr{a}, nil
			}
			if host == "allowed.internal" {
				return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
			}
			if a, ok := addrs[host]; ok {
				return a, nil
			}
			return nil, errors.New("no such host")
		},
	}
	for _, tc := range []struct {
		from, to string
		refused  bool
	}{
		{"public.example", "https://s3.example/blob", false},
		{"public.example", "https://127.0.0.1:8443/internal/admin/dump", true},
		{"public.example", "https://[::1]/x", true},
		{"public.example", "https://0.0.0.0/x", true},
		{"public.example", "https://minio.internal/blob", true},
		{"public.example", "https://192.168.1.1/x", true},
		{"public.example", "https://[fd12::1]/x", true},
		{"public.example", "https://cgnat.internal/x", true},
		{"public.example", "https://[::ffff:10.0.0.1]/x", true},
		{"mixed.example", "https://minio.internal/blob", true},
		{"private.example", "https://minio.internal/blob", false},
		{"private.example", "https://127.0.0.1/x", true},
		{"private.example", "https://cgnat.internal/x", true},
		{"127.0.0.1", "https://127.0.0.1:9000/x", false},
		{"public.example", "https://allowed.internal/x", false},
		{"public.example", "https://unresolvable.example/x", false},
	} {
		req := &http.Request{URL: &url.URL{Scheme: "https", Host: tc.from, Path: "/v2/"}}
		req = req.WithContext(t.Context())
		u, _ := url.Parse(tc.to)
		err := g.checkInternal(req, u)
		if (err != nil) != tc.refused {
			t.Errorf("redirect from %s to %s: err = %v, want refused=%v", tc.from, tc.to, err, tc.refused)
		}
	}
}

// TestRedirectToNameRebindingToLoopbackIsRefusedAtDial: the redirect's target
// name resolves to a public address when the redirect is checked and to
// 127.0.0.1 when it is dialled (DNS rebinding); the dial refuses it.
func TestRedirectToNameRebindingToLoopbackIsRefusedAtDial(t *testing.T) {
	checkNoLeaks(t)
	img := testImage(t, 1, "", "linux/amd64")
	cfg, _ := img.ConfigName()
	internal, hits := internalService(t)
	reg := newTestRegistry(t)
	reg.push(t, "meta/app:1", img)
	setFault(reg, onPath("/blobs/"+cfg.String(), func(w http.ResponseWriter, req *http.Request, _ http.Handler) {
		http.Redirect(w, req, internalURL(internal, "/internal/admin/dump"), http.StatusTemporaryRedirect)
	}))
	r := publicRegistryResolver(t, reg, internal, Options{})
	g := r.transport.(*guard)
	registryLookup := g.lookup
	g.lookup = func(ctx context.Context, host string) ([]netip.Addr, error) {
		if host == internalName {
			return []netip.Addr{netip.MustParseAddr("198.51.100.1")}, nil // what the check sees
		}
		return registryLookup(ctx, host)
	}
	image := publicRegistryHost + "/meta/app:1"
	_, _, err := resolveTimed(t, r, image, Access{}, 3*time.Second)
	if err == nil || strings.Contains(err.Error(), "INTERNAL-SECRET-BODY") {
		t.Errorf("Resolve(%q) = %v, want a refusal without the internal service's body", image, err)
	}
	wantKind(t, image, err, KindNetwork, publicRegistryHost, "loopback")
	if n := hits.Load(); n != 0 {
		t.Errorf("the internal service on 127.0.0.1 (as %s, rebinding) got %d requests, want 0", internalName, n)
	}
}
