package images

import (
	"testing"
	"time"
)

// TestResolverDefaultsAreWhatImagesMdStates: docs/images.md gives the
// resolver's bounds and lifetimes as numbers. The tests of each behaviour
// set small values (or read the constant) to stay fast, so the numbers
// themselves are asserted here against the page.
func TestResolverDefaultsAreWhatImagesMdStates(t *testing.T) {
	t.Parallel()
	r := newTestResolver(t, newTestRegistry(t), Options{})
	for _, d := range []struct {
		what      string
		got, want any
	}{
		{"registry.tagTTL", r.opts.TagTTL, 5 * time.Minute},
		{"a \"not found\" remembered", r.opts.NotFoundTTL, 30 * time.Second},
		{"stale-if-error past the TTL", r.opts.StaleTTL, time.Hour},
		{"requests in flight in all", r.opts.MaxRequests, 64},
		{"requests in flight per host", r.opts.MaxRequestsPerHost, 16},
		{"a response body", r.opts.MaxBodyBytes, int64(4 << 20)},
		{"index entries read for one image", r.opts.MaxIndexEntries, 256},
		{"indexes walked deep", r.opts.MaxIndexDepth, 4},
		{"a reference's length", MaxReferenceLength, 4 << 10},
		{"pull secrets read for one pod", maxPullSecrets, 64},
	} {
		if d.got != d.want {
			t.Errorf("%s = %v, docs/images.md states %v", d.what, d.got, d.want)
		}
	}
}
