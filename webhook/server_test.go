package webhook

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"github.com/strata-project/strata/webhook/images"
	"io"
	"log/slog"
	"maps"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/strata-project/strata/internal/logtest"
	"github.com/strata-project/strata/webhook/policy"
)

// gather returns every counter of reg, and the sample count of every
// histogram (as name_count), keyed by name{label="value",...}: the
// exposition format, without prometheus/testutil and its dependencies.
func gather(t *testing.T, reg prometheus.Gatherer) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather() = %v", err)
	}
	out := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			key := "{" + strings.Join(labels, ",") + "}"
			switch {
			case m.GetCounter() != nil:
				out[f.GetName()+key] = m.GetCounter().GetValue()
			case m.GetHistogram() != nil:
				out[f.GetName()+"_count"+key] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}

// syncBuffer is a log sink the race detector accepts.
type syncBuffer = logtest.Buffer

func TestMetricsAndDecisionLog(t *testing.T) {
	t.Parallel()
	p := newPipeline(t)
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatalf("NewMetrics() = %v", err)
	}
	var logs syncBuffer
	hs := handlers(p.Checker, m, slog.New(slog.NewJSONHandler(&logs, nil)))
	srv := map[policy.Action]string{}
	for mode, h := range hs {
		srv[mode] = serveHandler(t, h).URL
	}
	const admin, web = "strata-demo.local/shop/admin:1.0", "strata-demo.local/shop/web:1.0"
	noUID := reviewOf(t, "", "Pod", "CREATE", podOf("admin", admin), nil)
	var del map[string]any
	if err := json.Unmarshal(reviewOf(t, "del", "Pod", "CREATE", nil, nil), &del); err != nil {
		t.Fatal(err)
	}
	del["request"].(map[string]any)["operation"] = "DELETE"
	deleteBody, _ := json.Marshal(del)

	for _, send := range []struct {
		mode policy.Action
		body []byte
	}{
		{policy.Enforce, reviewOf(t, "u1", "Pod", "CREATE", podOf("admin", admin), nil)},
		{policy.Enforce, reviewOf(t, "u2", "Pod", "CREATE", podOf("web", web), nil)},
		{policy.Enforce, noUID},
		{policy.Enforce, deleteBody},
		{policy.Warn, reviewOf(t, "u3", "Pod", "CREATE", podOf("admin", admin), nil)},
		{policy.Audit, reviewOf(t, "u4", "Pod", "CREATE", podOf("admin", admin), nil)},
	} {
		admit(t, srv[send.mode], send.body)
	}

	want := map[string]float64{
		`strata_decisions_total{decision="allowed",mode="audit"}`:        1,
		`strata_decisions_total{decision="allowed",mode="enforce"}`:      2,
		`strata_decisions_total{decision="allowed",mode="warn"}`:         1,
		`strata_decisions_total{decision="denied",mode="enforce"}`:       1,
		`strata_decisions_total{decision="error",mode="enforce"}`:        1,
		`strata_violations_total{action="audit",policy="run-as-root"}`:   1,
		`strata_violations_total{action="enforce",policy="run-as-root"}`: 1,
		`strata_violations_total{action="warn",policy="run-as-root"}`:    1,
		`strata_admission_duration_seconds_count{mode="audit"}`:          1,
		`strata_admission_duration_seconds_count{mode="enforce"}`:        4,
		`strata_admission_duration_seconds_count{mode="warn"}`:           1,
	}
	got := gather(t, reg)
	for _, key := range slices.Sorted(maps.Keys(got)) {
		if got[key] != want[key] {
			t.Errorf("%s = %v, want %v", key, got[key], want[key])
		}
	}
	for _, key := range slices.Sorted(maps.Keys(want)) {
		if _, ok := got[key]; !ok {
			t.Errorf("%s is not gathered, want %v", key, want[key])
		}
	}

	if _, err := NewMetrics(reg); err == nil {
		t.Errorf("NewMetrics(a registry that has them) = nil error, want a duplicate registration error")
	}

	// One log line per decision, with constant keys.
	lines := strings.Split(strings.TrimSpace(logs.Await(`"msg":"admission decision"`, 6)), "\n")
	if len(lines) != 6 {
		t.Fatalf("decision log has %d lines, want 6:\n%s", len(lines), logs.String())
	}
	// A line is written once its answer is sent, so the next review can be
	// answered and logged first: the lines are found by their uid.
	byUID := map[string]string{}
	for _, l := range lines {
		var id struct{ UID string }
		if err := json.Unmarshal([]byte(l), &id); err != nil {
			t.Fatal(err)
		}
		byUID[id.UID] = l
	}
	var first struct {
		Msg, UID, Mode, Operation, Kind, Namespace, Name, User, Decision, Message string
		DryRun                                                                    bool
		Policies                                                                  []string
	}
	if err := json.Unmarshal([]byte(byUID["u1"]), &first); err != nil {
		t.Fatal(err)
	}
	if first.Msg != "admission decision" || first.UID != "u1" || first.Mode != "enforce" || first.Decision != "denied" ||
		first.Name != "admin" || first.Namespace != "shop" || first.User != "alice@example.com" ||
		len(first.Policies) != 1 || first.Policies[0] != "run-as-root" || !strings.HasPrefix(first.Message, "strata denied") {
		t.Errorf("u1's decision log line = %s, want the denial of u1 by run-as-root", byUID["u1"])
	}
	if !strings.Contains(byUID[""], `"decision":"error"`) {
		t.Errorf("log line of a request without uid = %s, want decision error", byUID[""])
	}
	// Each line names what it judged: the reference and the digest it
	// resolved to, so that a log reader knows which image was allowed.
	for uid, image := range map[string]string{"u1": admin, "u2": web, "u3": admin, "u4": admin} {
		resolved, err := p.Resolver.Resolve(t.Context(), image, images.Access{})
		if err != nil {
			t.Fatal(err)
		}
		var line struct {
			Images []struct{ Container, Image, Digest string }
		}
		if err := json.Unmarshal([]byte(byUID[uid]), &line); err != nil {
			t.Fatalf("%s's decision log line: %v", uid, err)
		}
		if len(line.Images) != 1 || line.Images[0].Container != "app" || line.Images[0].Image != image || line.Images[0].Digest != resolved.Digest.String() {
			t.Errorf("%s's decision log line images = %+v, want [{app %s %s}]", uid, line.Images, image, resolved.Digest)
		}
	}
}

func TestHealthMux(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	m.forMode(policy.Enforce).observe("denied", &Decision{Violations: []policy.Violation{{Policy: "run-as-root", Action: policy.Enforce}}}, time.Millisecond)

	ok := func() (string, error) { return "", nil }
	detail := func(d string) func() (string, error) { return func() (string, error) { return d, nil } }
	failing := func() (string, error) { return "", errors.New("the catalog has not loaded yet") }

	for _, tc := range []struct {
		name     string
		checks   map[string]func() (string, error)
		gatherer prometheus.Gatherer
		path     string
		wantCode int
		wantBody string // exact, or a substring for /metrics
	}{
		{"healthz", nil, nil, "/healthz", 200, "ok\n"},
		{"healthz while not ready", map[string]func() (string, error){"catalog": failing}, nil, "/healthz", 200, "ok\n"},
		{"ready", map[string]func() (string, error){"webhook": ok, "catalog": detail("5 images"), "policies": detail("generation 1")}, nil, "/readyz", 200,
			"[+] catalog ok (5 images)\n[+] policies ok (generation 1)\n[+] webhook ok\n"},
		{"catalog not loaded", map[string]func() (string, error){"webhook": ok, "catalog": failing, "policies": detail("generation 1")}, nil, "/readyz", 503,
			"[-] catalog: the catalog has not loaded yet\n[+] policies ok (generation 1)\n[+] webhook ok\n"},
		{"metrics", nil, reg, "/metrics", 200, `strata_violations_total{action="enforce",policy="run-as-root"} 1`},
		{"no gatherer", nil, nil, "/metrics", 404, "404 page not found\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := httptest.NewRecorder()
			healthMux(tc.checks, tc.gatherer).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tc.path, nil))
			body := rec.Body.String()
			match := body == tc.wantBody
			if tc.path == "/metrics" && tc.wantCode == 200 {
				match = strings.Contains(body, tc.wantBody) && strings.Contains(body, `strata_decisions_total{decision="denied",mode="enforce"} 1`)
			}
			if rec.Code != tc.wantCode || !match {
				t.Errorf("GET %s = %d %q, want %d %q", tc.path, rec.Code, body, tc.wantCode, tc.wantBody)
			}
		})
	}
}

// writeCert writes a self-signed certificate for 127.0.0.1 as tls.crt and
// tls.key in dir, and returns a pool that trusts it.
func writeCert(t *testing.T, dir string) *x509.CertPool {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return writeCertFor(t, dir, key)
}

// writeCertFor is writeCert with the given key (ECDSA or RSA).
func writeCertFor(t *testing.T, dir string, key crypto.Signer) *x509.CertPool {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "strata test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.WriteFile(filepath.Join(dir, "tls.crt"), certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tls.key"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	return pool
}

// running is a Serve started by startServe.
type running struct {
	addr, healthAddr string
	cancel           context.CancelFunc
	done             chan error
}

// serveDemo serves the demo pipeline's handlers, and its pinner, with opts
// (its CertDir, Handlers and Pinner filled in); it returns the server, the
// pool that trusts its certificate, and the pipeline.
func serveDemo(t *testing.T, opts ServerOptions) (*running, *x509.CertPool, *Pipeline) {
	t.Helper()
	p := newPipeline(t)
	opts.CertDir = t.TempDir()
	pool := writeCert(t, opts.CertDir)
	opts.Handlers = asAdmissionHandlers(handlers(p.Checker, nil, nil))
	opts.Pinner = p.Pinner(nil)
	return startServe(t, opts), pool, p
}

// serveAudit serves h alone, on the audit path, with opts (its CertDir and
// Handlers filled in); it returns the server and the pool that trusts its
// certificate. For the tests of connections and limits, which need a
// handler that answers at once or blocks, not the pipeline.
func serveAudit(t *testing.T, h admission.Handler, opts ServerOptions) (*running, *x509.CertPool) {
	t.Helper()
	opts.CertDir = t.TempDir()
	pool := writeCert(t, opts.CertDir)
	opts.Handlers = map[policy.Action]admission.Handler{policy.Audit: h}
	return startServe(t, opts), pool
}

// startServe runs Serve on free loopback ports until it is ready, trying new
// ports if another process took the ones it picked.
func startServe(t *testing.T, opts ServerOptions) *running {
	t.Helper()
	for attempt := 0; ; attempt++ {
		opts.Addr, opts.HealthAddr = closedAddr(t), closedAddr(t)
		ctx, cancel := context.WithCancel(t.Context())
		r := &running{addr: opts.Addr, healthAddr: opts.HealthAddr, cancel: cancel, done: make(chan error, 1)}
		go func() { r.done <- Serve(ctx, opts) }()
		err := r.waitReady()
		if err == nil {
			t.Cleanup(func() {
				cancel()
				<-r.done
			})
			return r
		}
		cancel()
		if attempt == 2 || !strings.Contains(err.Error(), "address already in use") {
			t.Fatalf("Serve(%s, %s) never became ready: %v", opts.Addr, opts.HealthAddr, err)
		}
	}
}

func (r *running) waitReady() error {
	deadline := time.Now().Add(10 * time.Second)
	last := errors.New("no answer")
	for time.Now().Before(deadline) {
		select {
		case err := <-r.done:
			return fmt.Errorf("Serve returned %v", err)
		default:
		}
		resp, err := http.Get("http://" + r.healthAddr + "/readyz")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Errorf("/readyz = %d %q", resp.StatusCode, body)
		} else {
			last = err
		}
		time.Sleep(20 * time.Millisecond)
	}
	return last
}

func TestServe(t *testing.T) {
	t.Parallel()
	p := newPipeline(t)
	certDir := t.TempDir()
	pool := writeCert(t, certDir)
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	srv := startServe(t, ServerOptions{
		CertDir:  certDir,
		Handlers: asAdmissionHandlers(handlers(p.Checker, m, nil)),
		Checks: map[string]func() (string, error){
			"catalog": func() (string, error) { return fmt.Sprintf("%d images", p.Catalog.Len()), nil },
		},
		Gatherer: reg,
	})

	resp, err := http.Get("http://" + srv.healthAddr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.HasPrefix(string(body), "[+] catalog ok (") || !strings.Contains(string(body), "[+] webhook ok\n") {
		t.Errorf("GET /readyz = %q, want the catalog and webhook checks", body)
	}

	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	t.Cleanup(client.CloseIdleConnections)
	review := reviewOf(t, "serve-uid", "Pod", "CREATE", podOf("admin", "strata-demo.local/shop/admin:1.0"), nil)
	for mode, path := range Paths {
		resp, raw := post(t, client, "https://"+srv.addr+path+"?timeout=5s", "application/json", review)
		if resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 {
			t.Errorf("POST %s: TLS state %+v, want TLS 1.2 or later", path, resp.TLS)
		}
		r := decodeReview(t, raw)
		if r.UID != "serve-uid" || r.Allowed != (mode != policy.Enforce) {
			t.Errorf("POST %s = uid %q, allowed %v; want serve-uid, allowed %v", path, r.UID, r.Allowed, mode != policy.Enforce)
		}
	}

	// The server, not this client, must refuse TLS 1.1.
	old := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}}}
	resp, err = old.Post("https://"+srv.addr+Paths[policy.Enforce], "application/json", strings.NewReader(string(review)))
	if err == nil {
		resp.Body.Close()
		t.Errorf("POST over TLS 1.1 = %s, want a handshake failure", resp.Status)
	} else if !strings.Contains(err.Error(), "protocol version not supported") {
		t.Errorf("POST over TLS 1.1 = %v, want the server to refuse the protocol version", err)
	}

	resp, err = http.Get("http://" + srv.healthAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(metrics), `strata_decisions_total{decision="denied",mode="enforce"} 1`) {
		t.Errorf("GET /metrics lacks the enforce denial:\n%s", metrics)
	}
	// Registered through controller-runtime's webhook server, the paths keep
	// its request metrics (docs/serving.md), in its registry.
	for _, path := range Paths {
		if key := `controller_runtime_webhook_requests_total{code="200",webhook="` + path + `"}`; gather(t, crmetrics.Registry)[key] < 1 {
			t.Errorf("%s = 0 after a review posted to %s, want it counted", key, path)
		}
	}

	// Graceful shutdown.
	srv.cancel()
	start := time.Now()
	select {
	case err := <-srv.done:
		t.Logf("Serve returned %v after %v", err, time.Since(start).Round(time.Millisecond))
		if err != nil {
			t.Errorf("Serve() after cancel = %v, want nil", err)
		}
		srv.done <- err // for the cleanup
	case <-time.After(5 * time.Second):
		t.Fatalf("Serve did not return within 5s of cancel")
	}
	for _, addr := range []string{srv.addr, srv.healthAddr} {
		if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			conn.Close()
			t.Errorf("%s still accepts connections after Serve returned", addr)
		}
	}
}

func TestServeOptionsErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		opts ServerOptions
		want string
	}{
		{"addr without port", ServerOptions{Addr: "localhost"}, `--addr "localhost"`},
		{"port not a number", ServerOptions{Addr: "localhost:https"}, `--addr "localhost:https"`},
		{"mode without a path", ServerOptions{Addr: "127.0.0.1:0", Handlers: map[policy.Action]admission.Handler{policy.Off: NewHandler(HandlerOptions{})}}, `mode "off" has no webhook path`},
		{"bad health addr", ServerOptions{Addr: "127.0.0.1:0", HealthAddr: "256.0.0.1:1"}, "--health-addr"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := Serve(t.Context(), tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Serve(%+v) = %v, want an error containing %q", tc.opts, err, tc.want)
			}
		})
	}
}
