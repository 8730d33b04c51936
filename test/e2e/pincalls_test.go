//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// nsPinCalls is the enforce namespace of TestPinIsNotCalledForPodsAlreadyByDigest.
const nsPinCalls = "e2e-pin-calls"

// relabelLabel marks the pods the relabelling webhook changes.
const relabelLabel = "e2e.strata.dev/relabel"

// pinCalls reads how many /mutate/pin requests strata has answered, from
// controller-runtime's request counter on its /metrics.
func pinCalls(t *testing.T, p *strataProc) int {
	t.Helper()
	resp, err := http.Get("http://" + p.health + "/metrics")
	if err != nil {
		t.Fatalf("reading %s's metrics: %v", p.Name, err)
	}
	defer resp.Body.Close()
	n := 0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "controller_runtime_webhook_requests_total{") || !strings.Contains(line, `webhook="/mutate/pin"`) {
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err != nil {
			t.Fatalf("%s's metrics: %q: %v", p.Name, line, err)
		}
		n += int(v)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return n
}

// apiServerCount sums the API server's counter metric over the series
// whose label name is webhookName.
func apiServerCount(t *testing.T, metric, webhookName string) int {
	t.Helper()
	raw, err := s.client.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(t.Context())
	if err != nil {
		t.Fatalf("reading the API server's metrics: %v", err)
	}
	n := 0
	for _, line := range strings.Split(string(raw), "\n") {
		if !strings.HasPrefix(line, metric+"{") || !strings.Contains(line, `name="`+webhookName+`"`) {
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err != nil {
			t.Fatalf("the API server's metrics: %q: %v", line, err)
		}
		n += int(v)
	}
	return n
}

// serveRelabel serves a mutating webhook that adds a label to every pod it
// is sent, as sidecar injectors and policy engines change pods after
// strata's pin: the change makes the API server reinvoke the pin
// (reinvocationPolicy IfNeeded). It returns the webhook's URL and its calls.
func serveRelabel(t *testing.T) (string, *atomic.Int64) {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(s.pki.CrtFile, s.pki.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	calls := new(atomic.Int64)
	patch := []byte(`[{"op":"add","path":"/metadata/labels/relabelled","value":"yes"}]`)
	jsonPatch := admissionv1.PatchTypeJSONPatch
	srv := httptest.NewUnstartedServer(&admission.Webhook{Handler: admission.HandlerFunc(func(_ context.Context, _ admission.Request) admission.Response {
		calls.Add(1)
		resp := admission.Allowed("")
		resp.Patch, resp.PatchType = patch, &jsonPatch
		return resp
	})})
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.URL + "/relabel", calls
}

// registerRelabel registers url after strata's pin (configurations are
// called in the order of their names) for the pods of ns labelled
// relabelLabel, and waits until it takes effect.
func registerRelabel(t *testing.T, url, ns, name string) {
	t.Helper()
	none, fail := admissionregistrationv1.SideEffectClassNone, admissionregistrationv1.Fail
	mwc := &admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Webhooks: []admissionregistrationv1.MutatingWebhook{{
			Name:          "relabel.e2e.strata.dev",
			ClientConfig:  admissionregistrationv1.WebhookClientConfig{URL: &url, CABundle: s.pki.CAPEM},
			Rules:         []admissionregistrationv1.RuleWithOperations{rule("", "v1", "pods")},
			FailurePolicy: &fail, SideEffects: &none, AdmissionReviewVersions: []string{"v1"},
			NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": ns}},
			ObjectSelector:    &metav1.LabelSelector{MatchLabels: map[string]string{relabelLabel: "yes"}},
		}},
	}
	adm := s.client.AdmissionregistrationV1().MutatingWebhookConfigurations()
	if _, err := adm.Create(t.Context(), mwc, metav1.CreateOptions{}); err != nil {
		t.Fatalf("registering the relabelling webhook: %v", err)
	}
	t.Cleanup(func() { _ = adm.Delete(context.Background(), name, metav1.DeleteOptions{}) })
	deadline := time.Now().Add(60 * time.Second)
	for {
		probe := pinCallsPod("relabel-probe", []string{s.images.good}, nil)
		probe.Labels[relabelLabel] = "yes"
		got, err := s.client.CoreV1().Pods(ns).Create(t.Context(), probe, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err == nil && got.Labels["relabelled"] == "yes" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the relabelling webhook did not take effect within 60s (last: %v)", err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// pinCallsPod is a pod with one container per image and one init
// container per image in inits.
func pinCallsPod(name string, images, inits []string) *corev1.Pod {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": name}}}
	for i, image := range images {
		pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{Name: fmt.Sprintf("app-%d", i), Image: image})
	}
	for i, image := range inits {
		pod.Spec.InitContainers = append(pod.Spec.InitContainers, corev1.Container{Name: fmt.Sprintf("init-%d", i), Image: image})
	}
	return pod
}

// podImages lists a pod's images: init containers, containers, ephemeral.
func podImages(p *corev1.Pod) []string {
	var out []string
	for _, c := range p.Spec.InitContainers {
		out = append(out, c.Image)
	}
	for _, c := range p.Spec.Containers {
		out = append(out, c.Image)
	}
	for _, c := range p.Spec.EphemeralContainers {
		out = append(out, c.Image)
	}
	return out
}

// TestPinIsNotCalledForPodsAlreadyByDigest: through the real API server
// and the chart's match conditions (webhook.PinMatchConditions), a pod whose
// every image names a digest costs no /mutate/pin call — on create, on an
// update, on kubectl debug, and on the reinvocation that another webhook's
// change causes — while a tag in any container list, in any shape of pod,
// is still sent and pinned. Under failurePolicy Ignore a condition that
// fails to evaluate would skip the call and leave the tag unpinned: each
// tag shape below is one a careless expression fails on (a pod with no
// init containers, a tag only in the init containers, in a sidecar, in an
// ephemeral container).
func TestPinIsNotCalledForPodsAlreadyByDigest(t *testing.T) {
	showLogsOnFailure(t)
	pinner := startPinning(t, "strata-pin-calls", nsPinCalls, strataConfig(s))
	relabelURL, relabelled := serveRelabel(t)
	registerRelabel(t, relabelURL, nsPinCalls, "strata-pin-calls-relabel")

	tag := s.pub.ref("apps/pin-calls:1")
	digest := retag(t, s.images.good, "apps/pin-calls:1")
	pinned, byDigest := tag+"@"+digest, s.pub.ref("apps/pin-calls@"+digest)
	pods := s.client.CoreV1().Pods(nsPinCalls)
	dryRun := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}

	// want is the number of pin calls so far; each step adds its own.
	want := pinCalls(t, pinner)
	step := func(what string, calls int) {
		t.Helper()
		want += calls
		got := pinCalls(t, pinner)
		// controller-runtime counts a request once its answer is written,
		// which may be just after the API server has read it.
		for deadline := time.Now().Add(5 * time.Second); got < want && time.Now().Before(deadline); got = pinCalls(t, pinner) {
			time.Sleep(50 * time.Millisecond)
		}
		if got != want {
			t.Errorf("%s: strata answered %d /mutate/pin calls in all, want %d (%d for this step)", what, got, want, calls)
			want = got
		}
	}
	created := func(what string, pod *corev1.Pod, opts metav1.CreateOptions, wantImages ...string) *corev1.Pod {
		t.Helper()
		got, err := pods.Create(t.Context(), pod, opts)
		if err != nil {
			t.Fatalf("%s: create = %v, want allowed", what, err)
		}
		if images := podImages(got); strings.Join(images, " ") != strings.Join(wantImages, " ") {
			t.Errorf("%s: stored images = %q, want %q", what, images, wantImages)
		}
		return got
	}

	// Pods by digest: no call.
	created("create, every image by digest", pinCallsPod("digests", []string{pinned, byDigest}, []string{byDigest}), dryRun, byDigest, pinned, byDigest)
	step("create, every image by digest", 0)

	// A tag in any list is pinned, whatever else the pod lacks or holds.
	created("create, one container by tag, no init containers", pinCallsPod("tag", []string{tag}, nil), dryRun, pinned)
	step("create, one container by tag, no init containers", 1)
	created("create, a tag in the init containers only", pinCallsPod("init-tag", []string{byDigest}, []string{tag}), dryRun, pinned, byDigest)
	step("create, a tag in the init containers only", 1)
	always := corev1.ContainerRestartPolicyAlways
	sidecar := pinCallsPod("sidecar-tag", []string{byDigest}, []string{tag})
	sidecar.Spec.InitContainers[0].RestartPolicy = &always
	created("create, a tag in a sidecar only", sidecar, dryRun, pinned, byDigest)
	step("create, a tag in a sidecar only", 1)

	// Reinvocation: the relabelling webhook changes the pod after the pin,
	// and the API server would call the pin again on the pinned pod.
	relabel := pinCallsPod("reinvoked", []string{tag}, nil)
	relabel.Labels[relabelLabel] = "yes"
	before := relabelled.Load()
	got := created("create, a tag, relabelled after the pin", relabel, dryRun, pinned)
	step("create, a tag, relabelled after the pin (the reinvocation is skipped)", 1)
	if got.Labels["relabelled"] != "yes" || relabelled.Load() != before+1 {
		t.Errorf("the relabelling webhook was called %d times, pod labels %v; want once, and its label", relabelled.Load()-before, got.Labels)
	}

	// A stored pod by digest: its updates and ephemeral containers.
	pod := created("create pod digests", pinCallsPod("digests", []string{byDigest}, nil), metav1.CreateOptions{}, byDigest)
	step("create pod digests", 0)
	pod.Labels["tier"] = "web"
	var err error
	if pod, err = pods.Update(t.Context(), pod, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("a label update of pod digests: %v", err)
	}
	step("update pod digests, a label", 0)
	pod.Spec.Containers[0].Image = pinned
	if pod, err = pods.Update(t.Context(), pod, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("an image update of pod digests to %s: %v", pinned, err)
	}
	step("update pod digests, an image to another by digest", 0)
	pod.Spec.EphemeralContainers = append(pod.Spec.EphemeralContainers, corev1.EphemeralContainer{
		EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debug-digest", Image: byDigest}})
	if pod, err = pods.UpdateEphemeralContainers(t.Context(), pod.Name, pod, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("an ephemeral container by digest on pod digests: %v", err)
	}
	step("kubectl debug pod digests, by digest", 0)
	pod.Spec.EphemeralContainers = append(pod.Spec.EphemeralContainers, corev1.EphemeralContainer{
		EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debug-tag", Image: tag}})
	if pod, err = pods.UpdateEphemeralContainers(t.Context(), pod.Name, pod, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("an ephemeral container by tag on pod digests: %v", err)
	}
	step("kubectl debug pod digests, by tag", 1)
	if images := podImages(pod); strings.Join(images, " ") != strings.Join([]string{pinned, byDigest, pinned}, " ") {
		t.Errorf("pod digests' images after kubectl debug by tag = %q, want the ephemeral container pinned", images)
	}
	pod.Spec.Containers[0].Image = tag
	if pod, err = pods.Update(t.Context(), pod, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("an image update of pod digests to %s: %v", tag, err)
	}
	step("update pod digests, an image to a tag", 1)
	if pod.Spec.Containers[0].Image != pinned {
		t.Errorf("pod digests' image after an update to %s = %s, want %s", tag, pod.Spec.Containers[0].Image, pinned)
	}

	// The API server's own account: the conditions skipped calls, and never
	// failed to evaluate (which would have skipped a call too).
	entry := pinWebhookName("strata-pin-calls")
	if n := apiServerCount(t, "apiserver_admission_match_condition_exclusions_total", entry); n == 0 {
		t.Errorf("the API server counts no call of %s skipped by its match conditions, want some", entry)
	}
	if n := apiServerCount(t, "apiserver_admission_match_condition_evaluation_errors_total", entry); n != 0 {
		t.Errorf("the API server counts %d match condition errors for %s, want none", n, entry)
	}
}
