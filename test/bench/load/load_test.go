package load

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// sent is what a fake webhook saw of one request.
type sent struct {
	uid, name, reqName string
	images             []string
}

// fakeWebhook answers AdmissionReviews over TLS as controller-runtime would:
// allowed, with a warning for every image named "warn", denied for "deny",
// and records what it was sent.
func fakeWebhook(t *testing.T) (*httptest.Server, func() []sent) {
	t.Helper()
	var mu sync.Mutex
	var seen []sent
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var review struct {
			Request struct {
				UID    string `json:"uid"`
				Name   string `json:"name"`
				Object struct {
					Metadata struct {
						Name string `json:"name"`
					} `json:"metadata"`
					Spec struct {
						Containers []struct {
							Image string `json:"image"`
						} `json:"containers"`
					} `json:"spec"`
				} `json:"object"`
			} `json:"request"`
		}
		if err := json.NewDecoder(r.Body).Decode(&review); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		req := review.Request
		s := sent{uid: req.UID, name: req.Object.Metadata.Name, reqName: req.Name}
		for _, c := range req.Object.Spec.Containers {
			s.images = append(s.images, c.Image)
		}
		mu.Lock()
		seen = append(seen, s)
		mu.Unlock()
		resp := map[string]any{"uid": req.UID, "allowed": true}
		switch {
		case slices.Contains(s.images, "deny"):
			resp = map[string]any{"uid": req.UID, "allowed": false, "status": map[string]any{"code": 403, "message": "no"}}
		case slices.Contains(s.images, "fail"):
			resp = map[string]any{"uid": req.UID, "allowed": false, "status": map[string]any{"code": 500, "message": "broken"}}
		case slices.Contains(s.images, "warn"):
			resp["warnings"] = []string{"careful"}
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": resp})
	}))
	t.Cleanup(srv.Close)
	return srv, func() []sent {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(seen)
	}
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRunCountsAndUIDs(t *testing.T) {
	srv, seen := fakeWebhook(t)
	res, err := Run(t.Context(), Options{URL: srv.URL + "/validate/warn", Concurrency: 4, Requests: 50, Body: fixture(t, "warm-pod.json"), Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 50 || res.Allowed != 50 || res.Errors.Total() != 0 {
		t.Fatalf("Run() = %d requests, %d allowed, errors %+v; want 50, 50, none", res.Requests, res.Allowed, res.Errors)
	}
	if res.Latency.Count != 50 || res.Latency.P50 <= 0 || res.Latency.P50 > res.Latency.P99 || res.Latency.P99 > res.Latency.Max {
		t.Errorf("Run().Latency = %+v, want 50 ordered samples", res.Latency)
	}
	uids := map[string]bool{}
	for _, s := range seen() {
		if uids[s.uid] || len(s.uid) != 36 {
			t.Errorf("uid %q repeated or not UUID-shaped", s.uid)
		}
		uids[s.uid] = true
		if want := []string{"strata-demo.local/shop/web:1.0", "strata-demo.local/base/temurin:21", "strata-demo.local/shop/admin:1.0"}; !slices.Equal(s.images, want) {
			t.Fatalf("images = %q, want %q", s.images, want)
		}
		if s.name != "shop-web-7c9d8f6b5-x7k2p" {
			t.Errorf("name = %q, want the fixture's, unchanged", s.name)
		}
	}
}

func TestRunRotatesImagesAndNames(t *testing.T) {
	srv, seen := fakeWebhook(t)
	imgs := []string{"r/a:1", "r/b:1", "r/c:1", "r/d:1", "r/e:1", "r/f:1", "r/g:1"}
	_, err := Run(t.Context(), Options{URL: srv.URL, Concurrency: 1, Requests: 5, Body: fixture(t, "warm-pod.json"), Images: imgs, UniqueNames: true, Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	got := seen()
	if len(got) != 5 {
		t.Fatalf("%d requests sent, want 5", len(got))
	}
	names := map[string]bool{}
	for i, s := range got {
		// One worker: requests arrive in order; three containers each.
		want := []string{imgs[(3*i)%7], imgs[(3*i+1)%7], imgs[(3*i+2)%7]}
		if !slices.Equal(s.images, want) {
			t.Errorf("request %d images = %q, want %q", i, s.images, want)
		}
		if !strings.HasPrefix(s.name, "shop-web-7c9d8f6b5-") || names[s.name] {
			t.Errorf("request %d name = %q, want a fresh name from generateName", i, s.name)
		}
		names[s.name] = true
		if s.reqName != "" {
			t.Errorf("request %d request.name = %q, want it empty, as for generateName", i, s.reqName)
		}
	}
}

func TestRunClassifiesAnswers(t *testing.T) {
	srv, _ := fakeWebhook(t)
	body := fixture(t, "cold-pod.json")
	res, err := Run(t.Context(), Options{URL: srv.URL, Concurrency: 2, Requests: 40, Body: body, Images: []string{"warn", "deny", "fail", "ok"}, Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Allowed != 20 || res.Warned != 10 || res.Denied != 10 || res.Errors.Admission != 10 || res.Admissions != 30 {
		t.Errorf("Run() = %+v; want 20 allowed (10 warned), 10 denied, 10 admission errors", res)
	}
	if len(res.Errors.Samples) != 1 || !strings.Contains(res.Errors.Samples[0], "code 500") {
		t.Errorf("Run().Errors.Samples = %q, want the code 500 message once", res.Errors.Samples)
	}
}

func TestRunStopsAtDuration(t *testing.T) {
	srv, _ := fakeWebhook(t)
	start := time.Now()
	res, err := Run(t.Context(), Options{URL: srv.URL, Concurrency: 2, Duration: 200 * time.Millisecond, Body: fixture(t, "cold-pod.json"), Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 5*time.Second || res.Requests == 0 {
		t.Errorf("Run(200ms) took %v for %d requests", took, res.Requests)
	}
}

func TestRunRefuses(t *testing.T) {
	body := fixture(t, "cold-pod.json")
	for _, tc := range []struct {
		name string
		opts Options
	}{
		{"remote host", Options{URL: "https://example.com/validate/warn", Body: body}},
		{"remote address", Options{URL: "https://10.0.0.1:8443/validate/warn", Body: body}},
		{"no body", Options{URL: "https://127.0.0.1:8443/validate/warn"}},
		{"not a review", Options{URL: "https://127.0.0.1:8443/", Body: []byte(`{"kind":"Pod"}`)}},
		{"images without containers", Options{URL: "https://127.0.0.1:8443/", Body: []byte(`{"request":{"uid":"x","object":{"spec":{}}}}`), Images: []string{"a"}}},
		{"too long", Options{URL: "https://127.0.0.1:8443/", Body: body, Duration: 2 * MaxDuration}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Run(t.Context(), tc.opts); err == nil {
				t.Errorf("Run(%s) = nil error, want a refusal", tc.name)
			}
		})
	}
}

func TestRunCountsTransportErrors(t *testing.T) {
	srv, _ := fakeWebhook(t)
	url := srv.URL
	srv.Close()
	res, err := Run(t.Context(), Options{URL: url, Concurrency: 1, Requests: 3, Body: fixture(t, "cold-pod.json"), Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Errors.Transport != 3 || res.Admissions != 0 {
		t.Errorf("Run(closed server) = %+v, want 3 transport errors", res)
	}
}

func TestSummarize(t *testing.T) {
	var lat []time.Duration
	for i := 1000; i >= 1; i-- {
		lat = append(lat, time.Duration(i)*time.Millisecond)
	}
	got := Summarize(lat)
	want := Latency{Count: 1000, Mean: 500500 * time.Microsecond, P50: 500 * time.Millisecond, P99: 990 * time.Millisecond, P999: 999 * time.Millisecond, Max: time.Second}
	if got != want {
		t.Errorf("Summarize(1..1000ms) = %+v, want %+v", got, want)
	}
	if got := Summarize(nil); got != (Latency{}) {
		t.Errorf("Summarize(nil) = %+v, want zero", got)
	}
}
