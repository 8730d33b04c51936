package webhook

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	admissionv1 "k8s.io/api/admission/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/strata-project/strata/webhook/policy"
)

// A Handler's series of decisions and durations are exported from when it
// is made, at 0, so that a rate over them has a series before the first
// admission; each decision then counts in its own.
func TestDecisionSeriesAreExportedFromTheStartAndCountEachDecision(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	h := NewHandler(HandlerOptions{Mode: policy.Audit, Metrics: m})
	series := []string{
		`strata_decisions_total{decision="allowed",mode="audit"}`,
		`strata_decisions_total{decision="denied",mode="audit"}`,
		`strata_decisions_total{decision="error",mode="audit"}`,
		`strata_admission_duration_seconds_count{mode="audit"}`,
	}
	got := gather(t, reg)
	for _, s := range series {
		if v, ok := got[s]; !ok || v != 0 {
			t.Errorf("before any admission, %s = %v (exported %t), want 0", s, v, ok)
		}
	}
	// A review without a uid is an error; a DELETE is allowed unread.
	h.Handle(t.Context(), admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{Operation: admissionv1.Delete}})
	for range 2 {
		h.Handle(t.Context(), admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{UID: "u", Operation: admissionv1.Delete}})
	}
	got = gather(t, reg)
	for s, want := range map[string]float64{series[0]: 2, series[1]: 0, series[2]: 1, series[3]: 3} {
		if got[s] != want {
			t.Errorf("after two allowed reviews and one refused, %s = %v, want %v", s, got[s], want)
		}
	}
}
