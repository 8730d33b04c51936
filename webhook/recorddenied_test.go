package webhook

import (
	"fmt"
	"sync"
	"testing"

	"github.com/strata-project/strata/webhook/policy"
	"github.com/strata-project/strata/webhook/workload"
)

// names is a Recorder that keeps the names it was given.
type names struct {
	mu   sync.Mutex
	seen []string
}

func (n *names) Record(_ policy.Action, w *workload.Workload, _ Examination) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.seen = append(n.seen, w.Name)
}

// The record of what strata has seen (strata serve --graph, and the
// workloads a moved-base notification lists for rebuilding) keeps the
// last 5,000 workloads reviewed. A review that denies creates nothing, and
// costs its sender no quota: recorded, a tenant's stream of denied pods
// (generateName, a root image) pushed every running workload out of the
// record, and out of the rebuild a patched base triggers.
func TestDeniedReviewIsNotRecorded(t *testing.T) {
	t.Parallel()
	p := newPipeline(t)
	rec := &names{}
	srv := serveHandler(t, NewHandler(HandlerOptions{Checker: p.Checker, Mode: policy.Enforce, Recorder: rec}))
	for i, image := range []string{"shop/web:1.0", "shop/admin:1.0"} {
		name := fmt.Sprintf("pod-%d", i)
		resp := admit(t, srv.URL, reviewOf(t, fmt.Sprint("uid-", i), "Pod", "CREATE", podOf(name, p.Demo.Ref(image)), nil))
		if resp.Allowed != (i == 0) {
			t.Fatalf("admitting %s in enforce: allowed %t, want %t", image, resp.Allowed, i == 0)
		}
	}
	if len(rec.seen) != 1 || rec.seen[0] != "pod-0" {
		t.Errorf("recorded %v, want [pod-0]: the denied pod-1 was never created", rec.seen)
	}
}
