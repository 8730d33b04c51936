package bench

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
)

// Two readings of kube-apiserver's /metrics as it prints them: the same
// webhook under two label sets (allowed, rejected) and another webhook.
const (
	metricsBefore = `# HELP apiserver_admission_webhook_admission_duration_seconds [STABLE] Admission webhook latency identified by name and broken out for each operation and API resource and type (validate or admit).
# TYPE apiserver_admission_webhook_admission_duration_seconds histogram
apiserver_admission_webhook_admission_duration_seconds_bucket{name="enforce.strata.dev",operation="CREATE",rejected="false",type="validating",le="0.005"} 10
apiserver_admission_webhook_admission_duration_seconds_bucket{name="enforce.strata.dev",operation="CREATE",rejected="false",type="validating",le="0.025"} 10
apiserver_admission_webhook_admission_duration_seconds_bucket{name="enforce.strata.dev",operation="CREATE",rejected="false",type="validating",le="+Inf"} 10
apiserver_admission_webhook_admission_duration_seconds_sum{name="enforce.strata.dev",operation="CREATE",rejected="false",type="validating"} 0.02
apiserver_admission_webhook_admission_duration_seconds_count{name="enforce.strata.dev",operation="CREATE",rejected="false",type="validating"} 10
apiserver_admission_webhook_rejection_count{error_type="no_error",name="enforce.strata.dev",operation="CREATE",rejection_code="403",type="validating"} 1
apiserver_request_total{code="201",verb="POST"} 99
`
	metricsAfter = `apiserver_admission_webhook_admission_duration_seconds_bucket{name="enforce.strata.dev",operation="CREATE",rejected="false",type="validating",le="0.005"} 60
apiserver_admission_webhook_admission_duration_seconds_bucket{name="enforce.strata.dev",operation="CREATE",rejected="false",type="validating",le="0.025"} 100
apiserver_admission_webhook_admission_duration_seconds_bucket{name="enforce.strata.dev",operation="CREATE",rejected="false",type="validating",le="+Inf"} 110
apiserver_admission_webhook_admission_duration_seconds_sum{name="enforce.strata.dev",operation="CREATE",rejected="false",type="validating"} 1.02
apiserver_admission_webhook_admission_duration_seconds_count{name="enforce.strata.dev",operation="CREATE",rejected="false",type="validating"} 110
apiserver_admission_webhook_admission_duration_seconds_bucket{name="enforce.strata.dev",operation="CREATE",rejected="true",type="validating",le="0.005"} 0
apiserver_admission_webhook_admission_duration_seconds_bucket{name="enforce.strata.dev",operation="CREATE",rejected="true",type="validating",le="0.025"} 10
apiserver_admission_webhook_admission_duration_seconds_bucket{name="enforce.strata.dev",operation="CREATE",rejected="true",type="validating",le="+Inf"} 10
apiserver_admission_webhook_admission_duration_seconds_sum{name="enforce.strata.dev",operation="CREATE",rejected="true",type="validating"} 0.1
apiserver_admission_webhook_admission_duration_seconds_count{name="enforce.strata.dev",operation="CREATE",rejected="true",type="validating"} 10
apiserver_admission_webhook_admission_duration_seconds_bucket{name="noop.bench.strata.dev",operation="CREATE",rejected="false",type="validating",le="0.005"} 7 1700000000000
apiserver_admission_webhook_admission_duration_seconds_bucket{name="noop.bench.strata.dev",operation="CREATE",rejected="false",type="validating",le="+Inf"} 7 1700000000000
apiserver_admission_webhook_admission_duration_seconds_sum{name="noop.bench.strata.dev",operation="CREATE",rejected="false",type="validating"} 0.007 1700000000000
apiserver_admission_webhook_admission_duration_seconds_count{name="noop.bench.strata.dev",operation="CREATE",rejected="false",type="validating"} 7 1700000000000
`
)

// TestWebhookHistogramsBetweenTwoScrapes: the calls made between two
// scrapes of the API server's /metrics, per webhook name, over every label
// set of that name, with the mean and the bucket-interpolated quantiles.
func TestWebhookHistogramsBetweenTwoScrapes(t *testing.T) {
	before, err := webhookHistograms(strings.NewReader(metricsBefore))
	if err != nil {
		t.Fatal(err)
	}
	after, err := webhookHistograms(strings.NewReader(metricsAfter))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := after["apiserver_request_total"]; ok || len(after) != 2 {
		t.Fatalf("webhookHistograms(after) names = %v, want the two webhooks only", slices.Sorted(maps.Keys(after)))
	}

	// enforce: 100 allowed calls (50 ≤ 5 ms, 40 in (5, 25] ms, 10 slower)
	// and 10 rejected ones in (5, 25] ms, 1.1 s in all.
	d := after["enforce.strata.dev"].since(before["enforce.strata.dev"])
	if d.count != 110 {
		t.Errorf("calls between the scrapes = %v, want 110", d.count)
	}
	if got, want := d.mean(), 10*time.Millisecond; got != want {
		t.Errorf("mean = %v, want %v", got, want)
	}
	// p50: rank 55 falls in (5, 25] ms, which holds 50 calls above 50:
	// 5 + 20·5/50 = 7 ms.
	if got, want := d.quantile(0.5), 7*time.Millisecond; !near(got, want) {
		t.Errorf("p50 = %v, want %v", got, want)
	}
	// p99: rank 108.9 is in the +Inf bucket: the last finite bound.
	if got, want := d.quantile(0.99), 25*time.Millisecond; !near(got, want) {
		t.Errorf("p99 = %v, want %v", got, want)
	}

	// A webhook first seen in the second scrape, values with timestamps.
	n := after["noop.bench.strata.dev"].since(before["noop.bench.strata.dev"])
	if n.count != 7 || n.mean() != time.Millisecond {
		t.Errorf("noop: %v calls, mean %v; want 7 calls, mean 1ms", n.count, n.mean())
	}
	if got, want := n.quantile(0.5), 2500*time.Microsecond; !near(got, want) {
		t.Errorf("noop p50 = %v, want %v", got, want)
	}

	var none *histogram
	if none.mean() != 0 || none.quantile(0.99) != 0 {
		t.Errorf("a webhook never called: mean %v, p99 %v; want 0", none.mean(), none.quantile(0.99))
	}
}

func TestWebhookHistogramsRefusesAGarbledValue(t *testing.T) {
	_, err := webhookHistograms(strings.NewReader(webhookDurationMetric + `_count{name="x"} twelve` + "\n"))
	if err == nil {
		t.Error("webhookHistograms(a value that is not a number) = nil error, want one")
	}
}

func near(a, b time.Duration) bool { return (a - b).Abs() < time.Microsecond }
