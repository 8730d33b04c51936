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

	admissionv1 "k8s.io/api/admission/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// BenchmarkPin is strata's side of one /mutate/pin call on the warm path
// (every image resolved before): test/bench's ReplicaSet pod (three
// containers, two images to pin, managedFields and the rest of what the API
// server sends), its decision line written as JSON. "handle" is the Pinner
// alone; "serve" adds what controller-runtime's webhook does around it
// (reading and decoding the AdmissionReview, encoding the answer), as
// Serve registers it.
//
//	go test -run '^$' -bench BenchmarkPin -benchmem -benchtime 2000x ./webhook/
func BenchmarkPin(b *testing.B) {
	p := newPipeline(b)
	body, err := os.ReadFile(filepath.Join("..", "test", "bench", "testdata", "warm-pod.json"))
	if err != nil {
		b.Fatal(err)
	}
	var review admissionv1.AdmissionReview
	if err := json.Unmarshal(body, &review); err != nil || review.Request == nil {
		b.Fatalf("warm-pod.json: %v", err)
	}
	pn := NewPinner(PinnerOptions{Checker: p.Checker, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	req := admission.Request{AdmissionRequest: *review.Request}
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
	b.Run("serve", func(b *testing.B) {
		h := WithDeadline(&admission.Webhook{Handler: pn}, margin)
		b.ReportAllocs()
		for b.Loop() {
			rec := httptest.NewRecorder()
			r := httptest.NewRequest(http.MethodPost, PinPath+"?timeout=10s", bytes.NewReader(body))
			r.Header.Set("Content-Type", "application/json")
			h.ServeHTTP(rec, r)
			if rec.Code != http.StatusOK || !bytes.Contains(rec.Body.Bytes(), []byte(`"patch"`)) {
				b.Fatalf("POST %s = HTTP %d %s, want a patch", PinPath, rec.Code, rec.Body.Bytes())
			}
		}
	})
}
