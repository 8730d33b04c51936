package inventory

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/strata-project/strata/webhook"
	"github.com/strata-project/strata/webhook/demo"
	"github.com/strata-project/strata/webhook/images"
	"github.com/strata-project/strata/webhook/pipelinetest"
	"github.com/strata-project/strata/webhook/policy"
	"github.com/strata-project/strata/webhook/workload"
)

// podRequest is the admission request creating a pod of one demo image.
func podRequest(t *testing.T, name, image string, dryRun bool) admission.Request {
	t.Helper()
	pod := corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: demo.Host + "/" + image}}},
	}
	raw, err := json.Marshal(pod)
	if err != nil {
		t.Fatal(err)
	}
	return admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
		UID: types.UID("uid-" + name), Operation: admissionv1.Create, Namespace: "shop", Name: name,
		Kind:     metav1.GroupVersionKind{Version: "v1", Kind: "Pod"},
		Resource: metav1.GroupVersionResource{Version: "v1", Resource: "pods"},
		Object:   runtime.RawExtension{Raw: raw}, DryRun: &dryRun,
	}}
}

func names(inv *Inventory) []string {
	var out []string
	for _, w := range inv.Workloads {
		out = append(out, w.Name)
	}
	return out
}

// The handler given a Recorder records each review it evaluates and allows
// (not a dry run, nor a denial: TestDeniedReviewIsNotRecorded), by
// workload; the recorder forgets the least recently reviewed past its
// bound, and its inventory holds the images the reviews resolved.
func TestRecorderKeepsTheLastReviewedWorkloadsBounded(t *testing.T) {
	t.Parallel()
	p := pipelinetest.Demo(t)
	rec := NewRecorder(RecorderOptions{MaxWorkloads: 2})
	h := webhook.NewHandler(webhook.HandlerOptions{Checker: p.Checker, Mode: policy.Audit, Recorder: rec})
	for _, r := range []admission.Request{
		podRequest(t, "web", "shop/web:1.0", false),
		podRequest(t, "billing", "shop/billing:1.0", false),
		podRequest(t, "web", "shop/web:1.0", false), // again: web is now the latest
		podRequest(t, "admin", "shop/admin:1.0", false),
		podRequest(t, "dry", "shop/report:1.0", true),
	} {
		if resp := h.Handle(t.Context(), r); resp.Result != nil && resp.Result.Code >= 500 {
			t.Fatalf("Handle(%s) = %+v", r.Name, resp.Result)
		}
	}
	inv := rec.Inventory()
	if got, want := names(inv), []string{"web", "admin"}; !slices.Equal(got, want) {
		t.Fatalf("recorded workloads = %q, want %q: billing forgotten, the dry run not recorded", got, want)
	}
	var digests []images.Digest
	for _, img := range inv.Images {
		digests = append(digests, img.Digest)
	}
	for _, w := range inv.Workloads {
		if len(digests) != 2 || len(w.Containers) != 1 || !slices.Contains(digests, w.Containers[0].Digest) {
			t.Errorf("images %v and %s's containers %+v: want web's and admin's images, each container on one", digests, w.Name, w.Containers)
		}
	}
	admin := inv.Workloads[1]
	if !admin.Allowed || !slices.ContainsFunc(admin.Violations, func(v policy.Violation) bool { return v.Policy == "run-as-root" }) {
		t.Errorf("admin = %+v, want allowed in audit with its run-as-root violation recorded", admin)
	}
}

// A few workloads of many containers cannot hold more than MaxContainers:
// the oldest are forgotten, down to the latest one.
func TestRecorderBoundsContainersOverAllWorkloads(t *testing.T) {
	t.Parallel()
	rec := NewRecorder(RecorderOptions{MaxContainers: 10})
	for i := range 5 {
		ex := webhook.Examination{Containers: make([]webhook.Examined, 4)}
		rec.Record(policy.Audit, podWorkload(fmt.Sprintf("w%d", i)), ex)
	}
	if got, want := names(rec.Inventory()), []string{"w3", "w4"}; !slices.Equal(got, want) {
		t.Errorf("recorded = %q, want %q: 8 containers kept of a bound of 10", got, want)
	}
	big := webhook.Examination{Containers: make([]webhook.Examined, 50)}
	rec.Record(policy.Audit, podWorkload("huge"), big)
	if got := names(rec.Inventory()); !slices.Equal(got, []string{"huge"}) {
		t.Errorf("recorded = %q, want only the latest workload, however large", got)
	}
}

func podWorkload(name string) *workload.Workload {
	return &workload.Workload{Kind: "Pod", Namespace: "ns", Name: name}
}

// docs/notifications.md and graph.md: by default the record keeps the last
// 5,000 workloads reviewed and at most 50,000 containers over all of them.
func TestRecorderKeepsFiveThousandWorkloadsAndFiftyThousandContainersByDefault(t *testing.T) {
	t.Parallel()
	rec := NewRecorder(RecorderOptions{})
	one := webhook.Examination{Containers: make([]webhook.Examined, 1)}
	for i := range 5001 {
		rec.Record(policy.Audit, podWorkload(fmt.Sprintf("w%d", i)), one)
	}
	if got := names(rec.Inventory()); len(got) != 5000 || slices.Contains(got, "w0") || !slices.Contains(got, "w5000") {
		t.Errorf("after 5,001 one-container workloads the record keeps %d, w0 kept %v; want the last 5,000", len(got), slices.Contains(got, "w0"))
	}
	rec = NewRecorder(RecorderOptions{})
	ten := webhook.Examination{Containers: make([]webhook.Examined, 10)}
	for i := range 5001 {
		rec.Record(policy.Audit, podWorkload(fmt.Sprintf("w%d", i)), ten)
	}
	if got := names(rec.Inventory()); len(got) != 5000 {
		t.Errorf("after 5,001 ten-container workloads the record keeps %d workloads, want 5,000 (50,000 containers)", len(got))
	}
	rec.Record(policy.Audit, podWorkload("eleven"), webhook.Examination{Containers: make([]webhook.Examined, 11)})
	if got := names(rec.Inventory()); len(got) != 4999 || !slices.Contains(got, "eleven") {
		t.Errorf("after one more workload of 11 containers the record keeps %d workloads, want 4,999: at most 50,000 containers", len(got))
	}
}
