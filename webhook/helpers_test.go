package webhook

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	"github.com/google/go-containerregistry/pkg/authn"
	admissionv1 "k8s.io/api/admission/v1"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/strata-project/strata/webhook/demo"
	"github.com/strata-project/strata/webhook/images"
	"github.com/strata-project/strata/webhook/policy"
)

// margin is what Serve gives Endpoint.
const margin = DefaultMargin

func TestMain(m *testing.M) {
	flag.Parse()
	// controller-runtime complains on stderr when its logger is never set.
	ctrllog.SetLogger(logr.Discard())
	os.Exit(m.Run())
}

// newPipeline is the real evaluation path of `strata serve --demo`, built
// by NewPipeline from the default configuration: the demo registry, a
// resolver reaching it without ambient credentials, the lineage catalog of
// its bases (loaded) and the built-in policies with the demo's approved base.
func newPipeline(t testing.TB) *Pipeline {
	t.Helper()
	return newPipelineWith(t, DefaultConfig())
}

// newPipelineWith is newPipeline built from cfg.
func newPipelineWith(t testing.TB, cfg Config) *Pipeline {
	t.Helper()
	ctx := t.Context()
	p, err := NewPipeline(ctx, cfg, PipelineOptions{Demo: true, Keychain: authn.NewMultiKeychain()})
	if err != nil {
		t.Fatalf("NewPipeline() = %v", err)
	}
	t.Cleanup(p.Close)
	if err := p.LoadCatalog(ctx); err != nil {
		t.Fatalf("LoadCatalog() = %v", err)
	}
	return p
}

// newResolver returns a resolver that reaches demo.Host at addr over plain
// HTTP, without ambient credentials.
func newResolver(t testing.TB, addr string) *images.Resolver {
	t.Helper()
	r, err := images.NewResolver(images.Options{
		Hosts:    map[string]string{demo.Host: addr},
		Insecure: []string{demo.Host},
		Keychain: authn.NewMultiKeychain(),
	})
	if err != nil {
		t.Fatalf("images.NewResolver() = %v", err)
	}
	t.Cleanup(r.Close)
	return r
}

// checkerVia is p's checker, exemptions and all, but with its registry
// reached at addr.
func (p *Pipeline) checkerVia(t testing.TB, addr string) *Checker {
	t.Helper()
	opts := p.Checker.opts
	opts.Resolver = newResolver(t, addr)
	return NewChecker(opts)
}

// checkerOn is p's policies and catalog over a resolver that reaches the
// test registry at host over plain HTTP, checking platforms (default: the
// resolver's).
func (p *Pipeline) checkerOn(t testing.TB, host string, platforms ...string) *Checker {
	t.Helper()
	r, err := images.NewResolver(images.Options{Insecure: []string{host}, Keychain: authn.NewMultiKeychain(), Platforms: platforms})
	if err != nil {
		t.Fatalf("images.NewResolver() = %v", err)
	}
	t.Cleanup(r.Close)
	return NewChecker(CheckerOptions{Resolver: r, Lineage: p.Catalog, Evaluator: p.Engine})
}

// handlers returns a Handler per mode over c, as cmd/strata builds them.
// asAdmissionHandlers is what Serve takes.
func asAdmissionHandlers(hs map[policy.Action]*Handler) map[policy.Action]admission.Handler {
	out := make(map[policy.Action]admission.Handler, len(hs))
	for mode, h := range hs {
		out[mode] = h
	}
	return out
}

func handlers(c *Checker, m *Metrics, logger *slog.Logger) map[policy.Action]*Handler {
	hs := map[policy.Action]*Handler{}
	for _, mode := range []policy.Action{policy.Enforce, policy.Warn, policy.Audit} {
		hs[mode] = NewHandler(HandlerOptions{Checker: c, Mode: mode, Metrics: m, Logger: logger})
	}
	return hs
}

// serveHandler serves h as Serve does: through Endpoint (decoding, body
// limit, deadline, panic recovery).
func serveHandler(t testing.TB, h *Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(Endpoint(h, margin, nil))
	t.Cleanup(srv.Close)
	return srv
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// post sends body to url as the API server does and decodes the answer.
func post(t testing.TB, client *http.Client, url, contentType string, body []byte) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("POST %s: reading the answer: %v", url, err)
	}
	return resp, raw
}

// admit posts an AdmissionReview and returns its response, which must be
// there.
func admit(t testing.TB, url string, body []byte) *admissionv1.AdmissionResponse {
	t.Helper()
	resp, raw := post(t, http.DefaultClient, url, "application/json", body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s = HTTP %d %s, want 200", url, resp.StatusCode, raw)
	}
	return decodeReview(t, raw)
}

func decodeReview(t testing.TB, raw []byte) *admissionv1.AdmissionResponse {
	t.Helper()
	var ar admissionv1.AdmissionReview
	if err := json.Unmarshal(raw, &ar); err != nil {
		t.Fatalf("the answer is not an AdmissionReview: %v\n%s", err, raw)
	}
	if ar.Response == nil {
		t.Fatalf("the AdmissionReview has no response:\n%s", raw)
	}
	return ar.Response
}

// reviewOf builds an AdmissionReview request around object (and oldObject,
// when not nil).
func reviewOf(t testing.TB, uid, kind, operation string, object, oldObject any) []byte {
	t.Helper()
	// The group is the object's, as the API server sends it.
	group := ""
	if o, ok := object.(map[string]any); ok {
		if av, ok := o["apiVersion"].(string); ok {
			group, _, _ = strings.Cut(av, "/")
			if !strings.Contains(av, "/") {
				group = ""
			}
		}
	}
	req := map[string]any{
		"uid":       uid,
		"kind":      map[string]string{"group": group, "version": "v1", "kind": kind},
		"resource":  map[string]string{"group": group, "version": "v1", "resource": strings.ToLower(kind) + "s"},
		"namespace": "shop",
		"operation": operation,
		"userInfo":  map[string]string{"username": "alice@example.com"},
		"object":    object,
	}
	if oldObject != nil {
		req["oldObject"] = oldObject
	}
	raw, err := json.Marshal(map[string]any{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": req})
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// editReview returns the AdmissionReview raw with its request changed by
// edit, for the fields reviewOf does not set.
func editReview(t testing.TB, raw []byte, edit func(req map[string]any)) []byte {
	t.Helper()
	var ar map[string]any
	if err := json.Unmarshal(raw, &ar); err != nil {
		t.Fatal(err)
	}
	edit(ar["request"].(map[string]any))
	out, err := json.Marshal(ar)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// podOf is a Pod running image in one container named app.
func podOf(name, image string) map[string]any {
	return map[string]any{
		"apiVersion": "v1",
		"kind":       "Pod",
		"metadata":   map[string]any{"name": name, "namespace": "shop"},
		"spec": map[string]any{
			"containers": []any{map[string]any{"name": "app", "image": image}},
		},
	}
}

// goldenReview returns the response recorded at path; under -update it
// records raw there instead and returns nil.
func goldenReview(t *testing.T, path string, raw []byte) *admissionv1.AdmissionResponse {
	t.Helper()
	if *update {
		var pretty bytes.Buffer
		if err := json.Indent(&pretty, raw, "", "  "); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return nil
	}
	golden, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update to write it)", err, strings.Split(t.Name(), "/")[0])
	}
	return decodeReview(t, golden)
}
