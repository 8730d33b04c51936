package images

import (
	"net/http"
	"testing"
	"time"

	"github.com/strata-project/strata/internal/testutil"
)

// TestResolveFreshRechecksWithinTheTagTTLAndNeverServesStale: within the
// tag TTL, ResolveFresh still asks the registry; when the registry fails,
// it fails rather than answer with the previous digest; and calling it does
// not stretch the window in which Resolve may answer stale.
func TestResolveFreshRechecksWithinTheTagTTLAndNeverServesStale(t *testing.T) {
	checkNoLeaks(t)
	reg := newTestRegistry(t)
	reg.push(t, "fresh/base:1", testImage(t, 1, "", "linux/amd64"))
	clock := testutil.NewClock(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	r := newFaultResolver(t, reg, Options{Now: clock.Now, TagTTL: time.Minute, StaleTTL: time.Hour})
	image := reg.ref("fresh/base:1")
	if _, err := r.Resolve(testContext(t, 5*time.Second), image, Access{}); err != nil {
		t.Fatal(err)
	}

	moved := reg.push(t, "fresh/base:1", testImage(t, 2, "", "linux/amd64"))
	clock.Advance(10 * time.Second)
	img, err := r.ResolveFresh(testContext(t, 5*time.Second), image, Access{})
	if err != nil || img.Digest.String() != moved.String() {
		t.Fatalf("ResolveFresh(%q) 10s into a 1m tag TTL after a re-point = %+v, %v; want the new digest %s", image, img, err, moved)
	}

	setFault(reg, func(w http.ResponseWriter, req *http.Request, _ http.Handler) {
		http.Error(w, "maintenance", http.StatusServiceUnavailable)
	})
	clock.Advance(50 * time.Minute)
	if img, err := r.ResolveFresh(testContext(t, 5*time.Second), image, Access{}); err == nil {
		t.Errorf("ResolveFresh(%q) on a failing registry = %+v, want an error, not the previous digest", image, img)
	}
	// 1h02m after the last successful check: past TagTTL + StaleTTL.
	clock.Advance(12 * time.Minute)
	if img, err := r.Resolve(testContext(t, 5*time.Second), image, Access{}); err == nil {
		t.Errorf("Resolve(%q) past TagTTL+StaleTTL of the last good check, after a ResolveFresh = %+v stale %v; want an error: ResolveFresh must not stretch the stale window", image, img.Digest, img.Stale)
	}
}
