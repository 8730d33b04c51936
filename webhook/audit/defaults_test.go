package audit

import (
	"io"
	"testing"
	"time"
)

// TestDefaultsAreWhatAuditAndPolicyReportsMdState: docs/audit.md gives the
// progress line's 200 ms redraw and 10 s summary, docs/policy-reports.md
// the writer's 50 calls per second (burst 10), 4 in flight and lists in
// pages of 500. The behaviour tests inject their own ticks and bounds, so
// the numbers themselves are asserted here.
func TestDefaultsAreWhatAuditAndPolicyReportsMdState(t *testing.T) {
	t.Parallel()
	p := StartProgress(io.Discard, ProgressOptions{})
	p.Stop()
	w := NewWriter(nil, WriterOptions{})
	for _, d := range []struct {
		what      string
		got, want any
	}{
		{"progress redraw on a terminal", p.opts.Redraw, 200 * time.Millisecond},
		{"progress summary interval", p.opts.Interval, 10 * time.Second},
		{"report writes per second (--qps)", w.opts.QPS, float64(50)},
		{"report writes' burst", w.opts.Burst, 10},
		{"report writes in flight", w.opts.Concurrency, 4},
		{"reports listed per page", w.opts.ChunkSize, int64(500)},
	} {
		if d.got != d.want {
			t.Errorf("%s = %v (%T), the documents state %v (%T)", d.what, d.got, d.got, d.want, d.want)
		}
	}
}
