package webhook

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	admissionv1 "k8s.io/api/admission/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/strata-project/strata/webhook/policy"
)

// BenchmarkPin is strata's side of one /mutate/pin call on the warm path
// (every image resolved before): test/bench's ReplicaSet pod (three
// containers, two images to pin, managedFields and the rest of what the API
// server sends), its decision line written as JSON. "handle" is the Pinner
// alone; "serve" adds what Endpoint does around it (reading the
// AdmissionReview, encoding the answer), as Serve registers it.
//
//	go test -run '^$' -bench BenchmarkPin -benchmem -benchtime 2000x ./webhook/
func BenchmarkPin(b *testing.B) {
	p := newPipeline(b)
	body, req := warmPod(b)
	pn := NewPinner(PinnerOptions{Checker: p.Checker, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	if r := pn.Handle(b.Context(), req); len(r.Patch) == 0 {
		b.Fatalf("pin(warm-pod.json) = no patch, want its tags pinned")
	}

	b.Run("handle", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if r := pn.Handle(b.Context(), req); len(r.Patch) == 0 {
				b.Fatal("no patch")
			}
		}
	})
	b.Run("serve", func(b *testing.B) { benchServe(b, pn, PinPath, body, `"patch"`) })
}

// BenchmarkAdmitWarmPod is strata's side of one warm /validate/warn call, as
// make bench-load drives it: test/bench's ReplicaSet pod (one container runs
// as root: a warning), every image and lineage cached, the decision line
// written as JSON. "handle" is the Handler alone; "serve" adds
// what Endpoint does around it, as Serve registers it;
// "floor" is that webhook with a handler that allows everything (what
// test/bench/noop serves), so that serve − floor is what strata adds;
// "serve-logged" is serve with what strata serve adds around it: its
// metrics, and the decision line written to a file (where
// make bench-apiserver sends strata's stdout) as serve writes its log.
//
//	go test -run '^$' -bench BenchmarkAdmitWarmPod -benchmem -benchtime 2000x ./webhook/
func BenchmarkAdmitWarmPod(b *testing.B) {
	p := newPipeline(b)
	body, req := warmPod(b)
	h := NewHandler(HandlerOptions{Checker: p.Checker, Mode: policy.Warn, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	if r := h.Handle(b.Context(), req); !r.Allowed || len(r.Warnings) == 0 {
		b.Fatalf("Handle(warm-pod.json) = allowed %t, warnings %q; want allowed with a warning", r.Allowed, r.Warnings)
	}
	b.Run("handle", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if r := h.Handle(b.Context(), req); !r.Allowed {
				b.Fatal("denied")
			}
		}
	})
	for name, handler := range map[string]admission.Handler{"serve": h, "floor": allowAll{}} {
		b.Run(name, func(b *testing.B) { benchServe(b, handler, Paths[policy.Warn], body, `"allowed":true`) })
	}
	b.Run("serve-logged", func(b *testing.B) {
		benchServe(b, loggedHandler(b, p.Checker), Paths[policy.Warn], body, `"allowed":true`)
	})
}

// loggedHandler is a warn-mode Handler with what strata serve adds around
// it: its metrics, and the decision line written to a file (where make
// bench-apiserver sends strata's stdout) as serve writes its log.
func loggedHandler(b *testing.B, c *Checker) *Handler {
	f, err := os.Create(filepath.Join(b.TempDir(), "strata.log"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	metrics, err := NewMetrics(prometheus.NewRegistry())
	if err != nil {
		b.Fatal(err)
	}
	out := NewLogWriter(f, LogWriterOptions{})
	b.Cleanup(func() { out.Close() })
	return NewHandler(HandlerOptions{Checker: c, Mode: policy.Warn, Metrics: metrics, Logger: slog.New(NewLogHandler(out))})
}

// warmPod is test/bench's warm pod: its AdmissionReview, and its request.
func warmPod(b *testing.B) ([]byte, admission.Request) {
	b.Helper()
	body, err := os.ReadFile(filepath.Join("..", "test", "bench", "testdata", "warm-pod.json"))
	if err != nil {
		b.Fatal(err)
	}
	var review admissionv1.AdmissionReview
	if err := json.Unmarshal(body, &review); err != nil || review.Request == nil {
		b.Fatalf("warm-pod.json: %v", err)
	}
	return body, admission.Request{AdmissionRequest: *review.Request}
}

// benchServe posts body to path through Endpoint around h, as Serve
// registers it, and wants an answer of HTTP 200 holding want.
func benchServe(b *testing.B, h admission.Handler, path string, body []byte, want string) {
	serve := Endpoint(h, margin, nil)
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		postReview(b, serve, path, body, want)
	}
}

// postReview posts body to path through serve and wants an answer of HTTP
// 200 holding want.
func postReview(b *testing.B, serve http.Handler, path string, body []byte, want string) {
	rec := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, path+"?timeout=10s", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	serve.ServeHTTP(rec, r)
	if rec.Code != http.StatusOK || !bytes.Contains(rec.Body.Bytes(), []byte(want)) {
		b.Fatalf("POST %s = HTTP %d %s, want %s", path, rec.Code, rec.Body.Bytes(), want)
	}
}
