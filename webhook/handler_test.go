package webhook

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	utilnet "k8s.io/apimachinery/pkg/util/net"

	"github.com/strata-project/strata/webhook/policy"
)

var update = flag.Bool("update", false, "rewrite the golden files: testdata/*.response.json from the responses, ../policies/testdata/inputs.json from the policy inputs")

// goldenCase is one testdata/<name>.request.json, posted to the mode its
// name ends with.
type goldenCase struct {
	name string
	// offline posts to a handler whose registry is a closed port: the case
	// must be decided without any registry request.
	offline bool
	// check asserts what the golden file records, so that -update cannot
	// quietly bless a wrong answer.
	check func(t *testing.T, r *admissionv1.AdmissionResponse)
}

func TestGolden(t *testing.T) {
	t.Parallel()
	p := newPipeline(t)
	online := map[policy.Action]*httptest.Server{}
	for mode, h := range handlers(p.Checker, nil, nil) {
		online[mode] = serveHandler(t, h)
	}
	offline := map[policy.Action]*httptest.Server{}
	for mode, h := range handlers(p.checkerVia(t, closedAddr(t)), nil, nil) {
		offline[mode] = serveHandler(t, h)
	}

	cases := []goldenCase{
		// Every kind that carries a pod.
		{name: "pod-enforce", check: deniedFor(`[run-as-root] container "app" runs as root: image user "" is uid 0`)},
		{name: "deployment-enforce", check: deniedFor(`[run-as-root] container "app" runs as root`)},
		{name: "replicaset-enforce", check: deniedFor(`[run-as-root] container "app" runs as root`)},
		{name: "statefulset-enforce", check: deniedFor(`[run-as-root] container "app" runs as root`)},
		{name: "daemonset-enforce", check: deniedFor(`[run-as-root] container "app" runs as root`)},
		{name: "job-enforce", check: deniedFor(`[run-as-root] container "app" runs as root`)},
		{name: "cronjob-enforce", check: deniedFor(`[run-as-root] container "app" runs as root`)},
		{name: "replicationcontroller-enforce", check: deniedFor(`[run-as-root] container "app" runs as root`)},
		{name: "rollout-enforce", check: deniedFor(`[run-as-root] container "app" runs as root`)},
		// Objects without a pod are allowed without evaluation.
		{name: "configmap-enforce", offline: true, check: allowedWith("no pod template")},
		{name: "custom-resource-without-pod-enforce", offline: true, check: allowedWith("no pod template")},
		{name: "pod-compliant-enforce", check: allowedWith("")},
		// Every container type.
		{name: "pod-init-enforce", check: deniedFor(`[run-as-root] init container "setup" runs as root`)},
		{name: "pod-sidecar-enforce", check: deniedFor(`[run-as-root] sidecar container "proxy" runs as root`)},
		{name: "pod-ephemeral-enforce", check: deniedFor(`[run-as-root] ephemeral container "debugger" runs as root`)},
		{name: "pod-status-subresource-enforce", offline: true, check: allowedWith("")},
		// Every mode.
		{name: "pod-warn", check: warned(1, `[run-as-root] container "app" runs as root`)},
		{name: "pod-audit", check: audited(1, "run-as-root")},
		{name: "pod-dryrun-enforce", check: deniedFor(`[run-as-root] container "app" runs as root`)},
		{name: "pod-exempt-namespace-enforce", offline: true, check: allowedWith("namespace kube-system is exempt")},
		// A policy whose own action is warn only warns in enforce mode.
		{name: "pod-demo-family-enforce", check: func(t *testing.T, r *admissionv1.AdmissionResponse) {
			deniedFor("[run-as-root]", "[lineage-depth]", "[approved-base]")(t, r)
			if got := strings.Count(r.Result.Message, "\n"); got != 3 {
				t.Errorf("denial has %d lines after its first, want 3 (run-as-root, lineage-depth, approved-base):\n%s", got, r.Result.Message)
			}
			if len(r.Warnings) != 2 || !strings.HasPrefix(r.Warnings[0], `[base-freshness] container "billing"`) {
				t.Errorf("warnings = %q, want the 2 base-freshness ones of billing", r.Warnings)
			}
		}},
		{name: "pod-demo-family-warn", check: warned(5, "[run-as-root]", "[lineage-depth]", "[approved-base]", "[base-freshness]")},
		{name: "pod-demo-family-audit", check: audited(5, "run-as-root", "lineage-depth", "approved-base", "base-freshness")},
		// Updates: only a change to what runs, or as whom, is evaluated.
		{name: "deployment-update-image-enforce", check: deniedFor(`[run-as-root] container "app" runs as root`)},
		{name: "deployment-update-labels-enforce", offline: true, check: allowedWith("no container changed")},
		{name: "deployment-update-runasuser-enforce", check: deniedFor(`[run-as-root] container "app" runs as uid 0: runAsUser is 0`)},
		// Bounds.
		{name: "pod-50-failing-enforce", check: func(t *testing.T, r *admissionv1.AdmissionResponse) {
			deniedFor("strata denied this object: 50 violations\n", "\n... and 40 more")(t, r)
			lines := strings.Split(r.Result.Message, "\n")
			if len(lines) != 12 || lines[11] != "... and 40 more" {
				t.Errorf("denial has %d lines ending %q, want a header, 10 violations and \"... and 40 more\"", len(lines), lines[len(lines)-1])
			}
		}},
		{name: "pod-50-failing-warn", check: func(t *testing.T, r *admissionv1.AdmissionResponse) {
			warned(21, "[run-as-root]")(t, r)
			if last := r.Warnings[len(r.Warnings)-1]; last != "strata: more warnings not shown (50 in all)" {
				t.Errorf("last warning = %q, want the count of those not shown", last)
			}
		}},
		{name: "pod-50-failing-audit", check: func(t *testing.T, r *admissionv1.AdmissionResponse) {
			if !r.Allowed || len(r.Warnings) != 0 {
				t.Fatalf("allowed = %v, warnings %q; want allowed without warnings", r.Allowed, r.Warnings)
			}
			audit := r.AuditAnnotations["violations"]
			var vs []policy.Violation
			if err := json.Unmarshal([]byte(audit), &vs); err != nil {
				t.Fatalf("auditAnnotations[violations] is not JSON: %v", err)
			}
			if len(audit) > maxAuditBytes || len(vs) == 0 || len(vs) >= 50 {
				t.Errorf("auditAnnotations[violations] = %d bytes, %d violations; want ≤ %d bytes and a part of the 50", len(audit), len(vs), maxAuditBytes)
			}
		}},
	}

	files, err := filepath.Glob(filepath.Join("testdata", "*.request.json"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, strings.TrimSuffix(filepath.Base(f), ".request.json"))
	}
	for _, tc := range cases {
		if !slices.Contains(names, tc.name) {
			t.Errorf("case %s has no testdata/%s.request.json", tc.name, tc.name)
		}
	}
	for _, name := range names {
		if !slices.ContainsFunc(cases, func(tc goldenCase) bool { return tc.name == name }) {
			t.Errorf("testdata/%s.request.json has no case", name)
		}
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			mode := modeOf(t, tc.name)
			srv := online[mode]
			if tc.offline {
				srv = offline[mode]
			}
			body, err := os.ReadFile(filepath.Join("testdata", tc.name+".request.json"))
			if err != nil {
				t.Fatal(err)
			}
			resp, raw := post(t, http.DefaultClient, srv.URL, "application/json", body)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("POST %s = HTTP %d, want 200", tc.name, resp.StatusCode)
			}
			got := decodeReview(t, raw)
			if want := requestUID(t, body); string(got.UID) != want {
				t.Errorf("POST %s: response uid = %q, want the request's %q", tc.name, got.UID, want)
			}
			if tc.check != nil {
				tc.check(t, got)
			}

			goldenPath := filepath.Join("testdata", tc.name+".response.json")
			want := goldenReview(t, goldenPath, raw)
			if want == nil {
				return
			}
			if want.UID != got.UID {
				t.Errorf("%s: uid = %q, want %q", goldenPath, want.UID, got.UID)
			}
			if g, w := normalise(got), normalise(want); !reflect.DeepEqual(g, w) {
				t.Errorf("POST %s =\n%s\nwant (%s)\n%s", tc.name, g, goldenPath, w)
			}
		})
	}
}

// normalised is what a golden response pins down.
type normalised struct {
	Allowed          bool              `json:"allowed"`
	Code             int32             `json:"code"`
	Message          string            `json:"message,omitempty"`
	Warnings         []string          `json:"warnings,omitempty"`
	AuditAnnotations map[string]string `json:"auditAnnotations,omitempty"`
}

func normalise(r *admissionv1.AdmissionResponse) normalised {
	n := normalised{Allowed: r.Allowed, Warnings: r.Warnings, AuditAnnotations: r.AuditAnnotations}
	if r.Result != nil {
		n.Code, n.Message = r.Result.Code, r.Result.Message
	}
	return n
}

func (n normalised) String() string {
	raw, _ := json.MarshalIndent(n, "", "  ")
	return string(raw)
}

func modeOf(t *testing.T, name string) policy.Action {
	t.Helper()
	for _, mode := range []policy.Action{policy.Enforce, policy.Warn, policy.Audit} {
		if strings.HasSuffix(name, "-"+string(mode)) {
			return mode
		}
	}
	t.Fatalf("case %s does not end with its mode", name)
	return ""
}

func requestUID(t *testing.T, body []byte) string {
	t.Helper()
	var ar admissionv1.AdmissionReview
	if err := json.Unmarshal(body, &ar); err != nil || ar.Request == nil {
		t.Fatalf("not an AdmissionReview request: %v", err)
	}
	return string(ar.Request.UID)
}

// deniedFor asserts a 403 denial whose message holds each of wants.
func deniedFor(wants ...string) func(*testing.T, *admissionv1.AdmissionResponse) {
	return func(t *testing.T, r *admissionv1.AdmissionResponse) {
		t.Helper()
		if r.Allowed || r.Result == nil || r.Result.Code != http.StatusForbidden {
			t.Fatalf("response = allowed %v, status %+v; want a 403 denial", r.Allowed, r.Result)
		}
		for _, want := range wants {
			if !strings.Contains(r.Result.Message, want) {
				t.Errorf("denial message = %q, want it to contain %q", r.Result.Message, want)
			}
		}
	}
}

// allowedWith asserts an allowed response with this message and nothing else.
func allowedWith(message string) func(*testing.T, *admissionv1.AdmissionResponse) {
	return func(t *testing.T, r *admissionv1.AdmissionResponse) {
		t.Helper()
		if !r.Allowed || r.Result == nil || r.Result.Code != http.StatusOK || r.Result.Message != message {
			t.Errorf("response = allowed %v, status %+v; want allowed with message %q", r.Allowed, r.Result, message)
		}
		if len(r.Warnings) != 0 || len(r.AuditAnnotations) != 0 {
			t.Errorf("response has warnings %q and audit annotations %v, want none", r.Warnings, r.AuditAnnotations)
		}
	}
}

// warned asserts an allowed response with n warnings holding each of wants.
func warned(n int, wants ...string) func(*testing.T, *admissionv1.AdmissionResponse) {
	return func(t *testing.T, r *admissionv1.AdmissionResponse) {
		t.Helper()
		if !r.Allowed || len(r.Warnings) != n || len(r.AuditAnnotations) != 0 {
			t.Fatalf("response = allowed %v, %d warnings, audit %v; want allowed with %d warnings and no audit", r.Allowed, len(r.Warnings), r.AuditAnnotations, n)
		}
		for _, w := range r.Warnings {
			if _, err := utilnet.NewWarningHeader(299, "", w); err != nil {
				t.Errorf("warning %q: the API server would drop it: %v", w, err)
			}
		}
		all := strings.Join(r.Warnings, "\n")
		for _, want := range wants {
			if !strings.Contains(all, want) {
				t.Errorf("warnings = %q, want one containing %q", r.Warnings, want)
			}
		}
	}
}

// audited asserts an allowed response without warnings whose audit
// annotation records n violations of these policies, all with action audit.
func audited(n int, policies ...string) func(*testing.T, *admissionv1.AdmissionResponse) {
	return func(t *testing.T, r *admissionv1.AdmissionResponse) {
		t.Helper()
		if !r.Allowed || len(r.Warnings) != 0 {
			t.Fatalf("response = allowed %v, warnings %q; want allowed without warnings", r.Allowed, r.Warnings)
		}
		var vs []policy.Violation
		if err := json.Unmarshal([]byte(r.AuditAnnotations["violations"]), &vs); err != nil {
			t.Fatalf("auditAnnotations = %v, want violations as JSON: %v", r.AuditAnnotations, err)
		}
		if len(vs) != n {
			t.Errorf("audit violations = %d, want %d", len(vs), n)
		}
		for _, v := range vs {
			if v.Action != policy.Audit {
				t.Errorf("audit violation %+v has action %q, want audit", v, v.Action)
			}
		}
		for _, p := range policies {
			if !slices.ContainsFunc(vs, func(v policy.Violation) bool { return v.Policy == p }) {
				t.Errorf("audit violations = %+v, want one of %s", vs, p)
			}
		}
	}
}

// TestDryRunSameDecision: a dry run is decided as the real request would be.
func TestDryRunSameDecision(t *testing.T) {
	t.Parallel()
	p := newPipeline(t)
	srv := serveHandler(t, handlers(p.Checker, nil, nil)[policy.Enforce])
	for _, image := range []string{"strata-demo.local/shop/admin:1.0", "strata-demo.local/shop/web:1.0", "strata-demo.local/shop/report:1.0"} {
		var answers [2]normalised
		for i, dry := range []bool{false, true} {
			var ar map[string]any
			if err := json.Unmarshal(reviewOf(t, "dry-run-uid", "Pod", "CREATE", podOf("p", image), nil), &ar); err != nil {
				t.Fatal(err)
			}
			ar["request"].(map[string]any)["dryRun"] = dry
			body, _ := json.Marshal(ar)
			answers[i] = normalise(admit(t, srv.URL, body))
		}
		if !reflect.DeepEqual(answers[0], answers[1]) {
			t.Errorf("POST pod %s with dryRun = %s, want as without:\n%s", image, answers[1], answers[0])
		}
	}
}

// TestUpdateWithoutContainerChangeNeedsNoRegistry: the registry is a closed
// port, so any resolution fails and denies in enforce mode; an update that
// changes no container is allowed all the same, and one that changes an
// image is denied with image-resolution.
func TestUpdateWithoutContainerChangeNeedsNoRegistry(t *testing.T) {
	t.Parallel()
	p := newPipeline(t)
	srv := serveHandler(t, handlers(p.checkerVia(t, closedAddr(t)), nil, nil)[policy.Enforce])
	deployment := func(image string, labels map[string]string, replicas int) map[string]any {
		return map[string]any{
			"apiVersion": "apps/v1", "kind": "Deployment",
			"metadata": map[string]any{"name": "shop", "namespace": "shop", "labels": labels},
			"spec": map[string]any{
				"replicas": replicas,
				"template": map[string]any{"spec": map[string]any{
					"containers": []any{map[string]any{"name": "app", "image": image}},
				}},
			},
		}
	}
	admin, web := "strata-demo.local/shop/admin:1.0", "strata-demo.local/shop/web:1.0"
	for _, tc := range []struct {
		name     string
		old, new map[string]any
		check    func(*testing.T, *admissionv1.AdmissionResponse)
	}{
		{"labels", deployment(admin, map[string]string{"a": "1"}, 1), deployment(admin, map[string]string{"a": "2"}, 1), allowedWith("no container changed")},
		{"scale", deployment(admin, nil, 1), deployment(admin, nil, 5), allowedWith("no container changed")},
		{"image", deployment(web, nil, 1), deployment(admin, nil, 1), deniedFor(
			`[image-resolution] container "app": cannot check image "strata-demo.local/shop/admin:1.0": cannot reach strata-demo.local for shop/admin`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.check(t, admit(t, srv.URL, reviewOf(t, "update-"+tc.name, "Deployment", "UPDATE", tc.new, tc.old)))
		})
	}
}

// TestMalformedRequests: what the API server gets back for requests strata
// cannot decide. controller-runtime answers HTTP 200 with the error code in
// response.status; none of these may reach a registry (it is a closed port).
func TestMalformedRequests(t *testing.T) {
	t.Parallel()
	p := newPipeline(t)
	srv := serveHandler(t, handlers(p.checkerVia(t, closedAddr(t)), nil, nil)[policy.Enforce])

	review := func(mutate func(req map[string]any)) []byte {
		return editReview(t, reviewOf(t, "malformed-uid", "Pod", "CREATE", podOf("admin", "strata-demo.local/shop/admin:1.0"), nil), mutate)
	}
	huge := podOf("admin", "strata-demo.local/shop/admin:1.0")
	huge["metadata"].(map[string]any)["annotations"] = map[string]string{"blob": strings.Repeat("x", 7<<20)}
	v1beta1 := bytes.Replace(review(func(map[string]any) {}), []byte(`"admission.k8s.io/v1"`), []byte(`"admission.k8s.io/v1beta1"`), 1)

	for _, tc := range []struct {
		name        string
		contentType string
		body        []byte
		wantAllowed bool
		wantCode    int32
		wantMessage string // a prefix of status.message
		wantUID     string
	}{
		{"invalid JSON", "application/json", []byte(`{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {`), false, 400, "decoding the AdmissionReview: jsontext: unexpected EOF within \"/request\"", ""},
		{"text/plain", "text/plain", review(func(map[string]any) {}), false, 400, "contentType=text/plain, expected application/json", ""},
		{"empty body", "application/json", nil, false, 400, "request body is empty", ""},
		{"no uid", "application/json", review(func(r map[string]any) { delete(r, "uid") }), false, 400, "the AdmissionReview request has no uid", ""},
		{"null object", "application/json", review(func(r map[string]any) { r["object"] = nil }), false, 400, "decoding Pod: empty object", "malformed-uid"},
		{"object not an object", "application/json", review(func(r map[string]any) { r["object"] = []any{1} }), false, 400, "decoding Pod: object is not a JSON object", "malformed-uid"},
		{"containers not a list", "application/json", review(func(r map[string]any) {
			r["object"] = map[string]any{"metadata": map[string]any{"name": "x"}, "spec": map[string]any{"containers": "app"}}
		}), false, 400, "decoding Pod: ", "malformed-uid"},
		{"over 7 MiB", "application/json", reviewOf(t, "huge-uid", "Pod", "CREATE", huge, nil), false, 413, "request entity is too large; limit is 7340032 bytes", ""},
		{"DELETE", "application/json", review(func(r map[string]any) {
			r["operation"] = "DELETE"
			r["oldObject"], r["object"] = r["object"], nil
		}), true, 200, "", "malformed-uid"},
		{"CONNECT", "application/json", review(func(r map[string]any) { r["operation"] = "CONNECT" }), true, 200, "", "malformed-uid"},
		{"v1beta1 review", "application/json", v1beta1, false, 403, "strata denied this object: 1 violation\n[image-resolution]", "malformed-uid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			resp, raw := post(t, http.DefaultClient, srv.URL, tc.contentType, tc.body)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("POST %s = HTTP %d, want 200 with the error in the AdmissionReview", tc.name, resp.StatusCode)
			}
			r := decodeReview(t, raw)
			if r.Allowed != tc.wantAllowed || r.Result == nil || r.Result.Code != tc.wantCode || !strings.HasPrefix(r.Result.Message, tc.wantMessage) {
				t.Errorf("POST %s = allowed %v, status %+v; want allowed %v, code %d, message starting %q", tc.name, r.Allowed, r.Result, tc.wantAllowed, tc.wantCode, tc.wantMessage)
			}
			if tc.wantMessage == "" && r.Result != nil && r.Result.Message != "" {
				t.Errorf("POST %s: message = %q, want none", tc.name, r.Result.Message)
			}
			if string(r.UID) != tc.wantUID {
				t.Errorf("POST %s: uid = %q, want %q", tc.name, r.UID, tc.wantUID)
			}
		})
	}

	t.Run("v1beta1 answered in v1beta1", func(t *testing.T) {
		t.Parallel()
		_, raw := post(t, http.DefaultClient, srv.URL, "application/json", v1beta1)
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		if err := json.Unmarshal(raw, &head); err != nil || head.APIVersion != "admission.k8s.io/v1beta1" || head.Kind != "AdmissionReview" {
			t.Errorf("POST v1beta1 review = %+v (%v), want an admission.k8s.io/v1beta1 AdmissionReview", head, err)
		}
	})
}

// TestPanicRecovered: a handler that panics (here, one without a Checker)
// answers 500 for that request and keeps serving.
func TestPanicRecovered(t *testing.T) {
	t.Parallel()
	srv := serveHandler(t, NewHandler(HandlerOptions{Mode: policy.Enforce}))
	body := reviewOf(t, "panic-uid", "Pod", "CREATE", podOf("admin", "strata-demo.local/shop/admin:1.0"), nil)
	for i := range 2 {
		r := admit(t, srv.URL, body)
		if r.Allowed || r.Result == nil || r.Result.Code != http.StatusInternalServerError || !strings.HasPrefix(r.Result.Message, "panic: ") || r.UID != "panic-uid" {
			t.Errorf("POST #%d to a panicking handler = allowed %v, uid %q, status %+v; want a 500 for panic-uid", i+1, r.Allowed, r.UID, r.Result)
		}
	}
}

// faultyRegistry serves the demo registry at reg behind delay; a nil reg
// never answers. The handler gives up when its client does, or at cleanup.
func faultyRegistry(t *testing.T, delay time.Duration, reg string) string {
	t.Helper()
	release := make(chan struct{})
	var next http.Handler = http.NotFoundHandler()
	if reg != "" {
		next = httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: reg})
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		timer := time.NewTimer(delay)
		defer timer.Stop()
		select {
		case <-r.Context().Done():
			return
		case <-release:
			return
		case <-timer.C:
		}
		next.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	return srv.Listener.Addr().String()
}

// TestRegistryFaults: a registry that hangs, or answers too late, costs no
// more than the request's deadline, and the mode decides what the failure
// does.
func TestRegistryFaults(t *testing.T) {
	t.Parallel()
	p := newPipeline(t)
	const image = "strata-demo.local/shop/admin:1.0"
	failure := `[image-resolution] container "app": cannot check image "` + image + `": strata-demo.local did not answer for shop/admin within the resolution budget`
	hang := 24 * time.Hour

	for _, tc := range []struct {
		name    string
		delay   time.Duration
		query   string
		within  time.Duration
		atLeast time.Duration
		mode    policy.Action
		check   func(*testing.T, *admissionv1.AdmissionResponse)
	}{
		{"hangs enforce", hang, "?timeout=2s", 2 * time.Second, 1400 * time.Millisecond, policy.Enforce, deniedFor(failure)},
		{"hangs warn", hang, "?timeout=2s", 2 * time.Second, 1400 * time.Millisecond, policy.Warn, warned(1, failure)},
		{"hangs audit", hang, "?timeout=2s", 2 * time.Second, 1400 * time.Millisecond, policy.Audit, func(t *testing.T, r *admissionv1.AdmissionResponse) {
			audited(1, "image-resolution")(t, r)
			if !strings.Contains(r.AuditAnnotations["violations"], `cannot check image \"`+image+`\"`) {
				t.Errorf("auditAnnotations = %v, want the image named", r.AuditAnnotations)
			}
		}},
		// The registry would answer after 5s: the request's deadline wins.
		{"answers after 5s, timeout 2s", 5 * time.Second, "?timeout=2s", 2 * time.Second, 1400 * time.Millisecond, policy.Enforce, deniedFor(failure)},
		// Without ?timeout= the API server waits 10s; the 3s resolution
		// budget still ends the wait.
		{"answers after 5s, no timeout", 5 * time.Second, "", 3500 * time.Millisecond, 2900 * time.Millisecond, policy.Enforce, deniedFor(failure)},
		// A slow registry within the deadline is not a failure.
		{"answers after 100ms", 100 * time.Millisecond, "?timeout=2s", 2 * time.Second, 0, policy.Enforce, deniedFor(`[run-as-root] container "app" runs as root`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			upstream := ""
			if tc.delay != hang {
				upstream = p.Demo.Addr
			}
			srv := serveHandler(t, handlers(p.checkerVia(t, faultyRegistry(t, tc.delay, upstream)), nil, nil)[tc.mode])
			body := reviewOf(t, "fault-uid", "Pod", "CREATE", podOf("admin", image), nil)
			start := time.Now()
			r := admit(t, srv.URL+tc.query, body)
			took := time.Since(start)
			t.Logf("answered in %v", took.Round(time.Millisecond))
			if took >= tc.within || took < tc.atLeast {
				t.Errorf("POST %s took %v, want [%v, %v)", tc.query, took, tc.atLeast, tc.within)
			}
			if r.UID != "fault-uid" {
				t.Errorf("uid = %q, want fault-uid", r.UID)
			}
			tc.check(t, r)
		})
	}
}

// TestRegistryErrorPage: a registry (or the proxy before it) that answers
// 502 with an HTML error page. The page never reaches the image-resolution
// message (TestRegistryErrorBodyNeverReachesTheDenial); whatever the mode,
// the failure's effect must reach the user.
func TestRegistryErrorPage(t *testing.T) {
	t.Parallel()
	p := newPipeline(t)
	page := "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n" +
		strings.Repeat("<!-- a padding to disable MSIE and Chrome friendly error page -->\r\n", 150) + "</body>\r\n</html>\r\n"
	registry := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write([]byte(page))
	}))
	t.Cleanup(registry.Close)
	hs := handlers(p.checkerVia(t, registry.Listener.Addr().String()), nil, nil)
	const failure = `[image-resolution] container "app": cannot check image "strata-demo.local/shop/admin:1.0": strata-demo.local failed to serve shop/admin`
	for _, tc := range []struct {
		mode  policy.Action
		check func(*testing.T, *admissionv1.AdmissionResponse)
	}{
		{policy.Enforce, deniedFor(failure)},
		{policy.Warn, warned(1, failure)},
		{policy.Audit, audited(1, "image-resolution")},
	} {
		t.Run(string(tc.mode), func(t *testing.T) {
			t.Parallel()
			srv := serveHandler(t, hs[tc.mode])
			tc.check(t, admit(t, srv.URL+"?timeout=5s", reviewOf(t, "error-page", "Pod", "CREATE", podOf("admin", "strata-demo.local/shop/admin:1.0"), nil)))
		})
	}
}
