package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/strata-project/strata/webhook/internal/memtest"
	"github.com/strata-project/strata/webhook/policy"
	"github.com/strata-project/strata/webhook/workload"
)

// controllerRuntimeRead is what controller-runtime's admission.Webhook, which
// Endpoint replaced, handed its handler for body: the request, the
// apiVersion it answered in, and false when it refused the body before
// calling the handler.
func controllerRuntimeRead(t *testing.T, body []byte) (admissionv1.AdmissionRequest, string, bool) {
	t.Helper()
	var got admission.Request
	called := false
	wh := &admission.Webhook{Handler: admission.HandlerFunc(func(_ context.Context, r admission.Request) admission.Response {
		got, called = r, true
		return admission.Allowed("")
	})}
	rec := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	wh.ServeHTTP(rec, r)
	var head struct {
		APIVersion string `json:"apiVersion"`
	}
	_ = json.Unmarshal(rec.Body.Bytes(), &head)
	return got.AdmissionRequest, head.APIVersion, called
}

// FuzzReviewReadAgreesWithControllerRuntime: on every review both read,
// Endpoint's one pass hands the handler the request controller-runtime's
// decoder handed it (every field, the objects byte for byte), answered in
// the same apiVersion when the review names one. Where only Endpoint
// refuses a review, it is one no API server sends: a member read twice in
// one object, invalid UTF-8, a uid past 128 bytes, an apiVersion or kind
// that is not an AdmissionReview's, a body that is not JSON (which
// controller-runtime read as YAML), or one without a uid to answer (which
// the handlers refused). Endpoint never reads a review
// controller-runtime refused.
func FuzzReviewReadAgreesWithControllerRuntime(f *testing.F) {
	golden, err := filepath.Glob(filepath.Join("testdata", "*.request.json"))
	if err != nil || len(golden) == 0 {
		f.Fatalf("no golden reviews in testdata (%v)", err)
	}
	for _, path := range golden {
		raw, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	for _, seed := range []string{
		`{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","request":{"uid":"u","kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"},"subResource":"ephemeralcontainers","requestKind":{"group":"","version":"v1","kind":"Pod"},"requestResource":{"group":"","version":"v1","resource":"pods"},"requestSubResource":"ephemeralcontainers","name":"p","namespace":"ns","operation":"UPDATE","userInfo":{"username":"u","uid":"1","groups":["a","b"],"extra":{"k":["v"],"e":[]}},"object":{"a":1},"oldObject":{"b":[2]},"dryRun":true,"options":{"kind":"UpdateOptions"}}}`,
		`{"kind":"AdmissionReview","request":{"uid":"\u0075id","object":null,"oldObject":null,"requestKind":null,"userInfo":{"groups":null,"extra":null},"dryRun":null}}`,
		`{"request":{"uid":"u","object":  {"spec" : { } } ,"options":"x"}}`,
		`null`,
		`{"apiVersion":"admission.k8s.io/v2","request":{"uid":"u"}}`,
		`{"apiVersion":"admission.k8s.io/v1","kind":"Status","request":{"uid":"u"}}`,
		`{"request":{"uid":"u","uid":"v"}}`,
		`{"request":{"uid":5}}`,
		`{"request":{"uid":"u"}} {}`,
		"{\"request\":{\"uid\":\"u\",\"name\":\"\xff\"}}",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if len(body) == 0 {
			return
		}
		want, wantVersion, refWanted := controllerRuntimeRead(t, body)
		var got review
		err := got.read(body, nil)
		readWorkloadAgrees(t, body, got, err)
		switch {
		case err != nil && refWanted:
			// Without a uid, the handler refused it in every mode;
			// controller-runtime's decoder took a body that is not JSON
			// as YAML.
			if want.UID != "" && json.Valid(body) && !strings.Contains(err.Error(), "appears twice") && !strings.Contains(err.Error(), "invalid UTF-8") && !errors.Is(err, errUIDTooLong) && !errors.Is(err, errNotAReview) {
				t.Errorf("read(%q) = %v; controller-runtime read it as %+v", body, err, want)
			}
		case err == nil && !refWanted:
			t.Errorf("read(%q) = %+v; controller-runtime refused it", body, got.request.AdmissionRequest)
		case err == nil:
			if !reflect.DeepEqual(got.request.AdmissionRequest, want) {
				t.Errorf("read(%q) =\n%+v\ncontroller-runtime read\n%+v", body, got.request.AdmissionRequest, want)
			}
			if got.apiVersion != "" && got.apiVersion != wantVersion {
				t.Errorf("read(%q) answers in %q, controller-runtime in %q", body, got.apiVersion, wantVersion)
			}
		}
	})
}

// TestReviewOver7MiBWithoutALengthIsA413: a body sent in chunks, its
// length not given, is read no further than the 7 MiB limit and refused as
// one that declares its length.
func TestReviewOver7MiBWithoutALengthIsA413(t *testing.T) {
	t.Parallel()
	endpoint := Endpoint(allowAll{}, margin, nil)
	for _, tc := range []struct {
		name   string
		length int64
	}{{"length given", maxReviewBytes + 1}, {"chunked", -1}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sent := &countingReader{r: io.MultiReader(strings.NewReader(`{"request":{"uid":"u","object":"`), strings.NewReader(strings.Repeat("x", 8<<20)), strings.NewReader(`"}}`))}
			r := httptest.NewRequest(http.MethodPost, Paths["audit"], sent)
			r.ContentLength = tc.length
			r.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			endpoint.ServeHTTP(rec, r)
			resp := decodeReview(t, rec.Body.Bytes())
			if resp.Allowed || resp.Result == nil || resp.Result.Code != http.StatusRequestEntityTooLarge {
				t.Errorf("a review of 8 MiB (%s) = allowed %t, status %+v; want a 413", tc.name, resp.Allowed, resp.Result)
			}
			if sent.n > maxReviewBytes+1 {
				t.Errorf("a review of 8 MiB (%s): %d bytes read, want at most the limit and one", tc.name, sent.n)
			}
		})
	}
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// readWorkloadAgrees: where the review's pass reads the object as a
// workload (strata's Handler, and its Pinner), the request is the one read
// without it, and the workload the one its decoder makes of the object's
// bytes. Where it cannot, Endpoint reads the review again without it.
func readWorkloadAgrees(t *testing.T, body []byte, plain review, plainErr error) {
	t.Helper()
	for _, reader := range []struct {
		workloadReader
		decode func(kind metav1.GroupVersionKind, raw []byte) (*workload.Workload, error)
	}{
		{&Handler{}, func(kind metav1.GroupVersionKind, raw []byte) (*workload.Workload, error) {
			return workload.Decode(schema.GroupKind{Group: kind.Group, Kind: kind.Kind}, raw)
		}},
		{&Pinner{}, func(_ metav1.GroupVersionKind, raw []byte) (*workload.Workload, error) {
			return workload.DecodePodImages(raw)
		}},
	} {
		var got review
		if err := got.read(body, reader.workloadReader); err != nil {
			continue
		}
		if plainErr != nil {
			t.Fatalf("read(%q) with %T = nil error; without = %v", body, reader.workloadReader, plainErr)
		}
		if !reflect.DeepEqual(got.request, plain.request) {
			t.Errorf("read(%q) with %T =\n%+v\nwithout\n%+v", body, reader.workloadReader, got.request, plain.request)
		}
		if got.workload == nil {
			continue
		}
		want, err := reader.decode(got.request.Kind, got.request.Object.Raw)
		if err != nil || !reflect.DeepEqual(got.workload, want) {
			t.Errorf("read(%q) with %T read the workload %+v; from its bytes = %+v, %v", body, reader.workloadReader, got.workload, want, err)
		}
	}
}

// TestDeclaredLengthsCannotMakeStrataHoldMemory: a client that declares a
// 7 MiB body on each of its connections and sends a few bytes has strata
// hold what arrived, not what was declared, until the deadline.
func TestDeclaredLengthsCannotMakeStrataHoldMemory(t *testing.T) {
	const conns = 20
	var entered atomic.Int32
	endpoint := Endpoint(allowAll{}, margin, nil)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered.Add(1)
		endpoint.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	before := memtest.HeapInUse()
	for range conns {
		c, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		fmt.Fprintf(c, "POST %s?timeout=30s HTTP/1.1\r\nHost: strata\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n{\"request\":", Paths["audit"], maxReviewBytes)
	}
	for entered.Load() < conns {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	grew := memtest.HeapInUse() - before
	t.Logf("%d requests declaring %d bytes each, 11 sent: heap +%d KiB", conns, maxReviewBytes, grew>>10)
	if grew > 16<<20 {
		t.Errorf("heap +%d MiB for %d requests that sent 11 bytes each; want what arrived, not what was declared", grew>>20, conns)
	}
}

// The endpoint reads ?timeout= without building the query's map; it must
// read the value r.URL.Query().Get would, whatever the query holds.
func TestTimeoutIsReadFromTheQueryAsURLQueryReadsIt(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{
		"", "timeout=10s", "timeout=5s&timeout=7s", "a=1&timeout=3s", "timeout", "timeout=", "=5s&timeout=2s",
		"time%6Fut=4s", "timeout=4%73", "timeout=%zz&timeout=6s", "timeout=1s;x=2&timeout=8s", "x;timeout=1s",
		"&&timeout=9s&", "timeout+=1s", "timeout=1+s", "TIMEOUT=5s", "timeout=5s=6s",
	} {
		values, _ := url.ParseQuery(raw)
		if got, want := queryValue(raw, "timeout"), values.Get("timeout"); got != want {
			t.Errorf("queryValue(%q, timeout) = %q, want %q (url.ParseQuery's)", raw, got, want)
		}
	}
}

// deadlineHandler records the deadline of the context it is given.
type deadlineHandler struct{ deadline *time.Time }

func (h deadlineHandler) Handle(ctx context.Context, _ admission.Request) admission.Response {
	*h.deadline, _ = ctx.Deadline()
	return admission.Allowed("")
}

// docs/serving.md, "Limits": a review and its checks have the request's
// ?timeout= (at most 30 s; 10 s without one) less the margin Serve keeps to
// write the answer, and never less than the margin.
func TestAReviewHasItsTimeoutLessTheMargin(t *testing.T) {
	t.Parallel()
	body := reviewOf(t, "uid-1", "Pod", "CREATE", podOf("web", "registry.example/app:1"), nil)
	for query, want := range map[string]time.Duration{
		"?timeout=1s":     time.Second - DefaultMargin,
		"?timeout=7s":     7*time.Second - DefaultMargin,
		"":                10*time.Second - DefaultMargin,
		"?timeout=45s":    maxWebhookTimeout - DefaultMargin,
		"?timeout=200ms":  DefaultMargin,
		"?timeout=never":  10*time.Second - DefaultMargin,
		"?timeout=-3s":    10*time.Second - DefaultMargin,
		"?a=1&timeout=2s": 2*time.Second - DefaultMargin,
	} {
		var deadline time.Time
		r := httptest.NewRequest(http.MethodPost, Paths[policy.Enforce]+query, bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		before := time.Now()
		Endpoint(deadlineHandler{&deadline}, DefaultMargin, nil).ServeHTTP(httptest.NewRecorder(), r)
		after := time.Now()
		if deadline.Before(before.Add(want)) || deadline.After(after.Add(want)) {
			t.Errorf("POST %s: the review's deadline is %s after the request, want %s", query, deadline.Sub(before), want)
		}
	}
}
