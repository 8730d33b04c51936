package webhook

import (
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/strata-project/strata/webhook/policy"
)

// BenchmarkAdmitWarmPodCold is BenchmarkAdmitWarmPod's serve-logged and
// floor with the processor's caches overwritten before each admission.
// Through the API server strata shares two cores with it, etcd and the
// clients, and each call starts on caches they filled: make
// bench-apiserver reads strata's CPU per create a few times further above
// the no-op's than a hot loop does. What strata touches per admission, not
// only what it computes, is then its cost. The timer stops while the
// caches are overwritten, so ns/op is the admission's alone.
//
//	go test -run '^$' -bench BenchmarkAdmitWarmPodCold -benchtime 5000x ./webhook/
func BenchmarkAdmitWarmPodCold(b *testing.B) {
	p := newPipeline(b)
	body, _ := warmPod(b)
	logged := loggedHandler(b, p.Checker)
	// Larger than the last-level cache of the machines this runs on.
	evict := make([]byte, 64<<20)
	for _, c := range []struct {
		name string
		h    admission.Handler
	}{{"serve-logged", logged}, {"floor", allowAll{}}} {
		b.Run(c.name, func(b *testing.B) {
			serve := Endpoint(c.h, margin, nil)
			for b.Loop() {
				b.StopTimer()
				for i := 0; i < len(evict); i += 64 {
					evict[i]++
				}
				b.StartTimer()
				postReview(b, serve, Paths[policy.Warn], body, `"allowed":true`)
			}
		})
	}
}
