package memtest

import (
	"fmt"
	"strings"
	"testing"
)

// recorder is a test that keeps what HeldWithin reports.
type recorder struct {
	testing.TB
	errors []string
}

func (r *recorder) Helper()             {}
func (r *recorder) Logf(string, ...any) {}
func (r *recorder) Errorf(format string, a ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, a...))
}

// A flood that keeps more than the budget and its slack fails the test,
// naming what was stored and the sizes; one that keeps nothing passes.
func TestHeldWithinFailsAFloodThatKeepsMoreThanTheBudget(t *testing.T) {
	var kept [][]byte
	r := &recorder{TB: t}
	HeldWithin(r, Bound{What: "8 buffers of 1 MiB", Budget: 1 << 20, Slack: 1 << 20}, func() {
		for range 8 {
			kept = append(kept, make([]byte, 1<<20))
		}
	}, &kept)
	if len(r.errors) != 1 || !strings.Contains(r.errors[0], "8 buffers of 1 MiB left the heap") || !strings.Contains(r.errors[0], "want at most the 1024 KiB budget + 1024 KiB") {
		t.Errorf("HeldWithin(a flood keeping 8 MiB, budget 1 MiB + 1 MiB) reported %q, want one error naming the flood and the bound", r.errors)
	}

	r = &recorder{TB: t}
	HeldWithin(r, Bound{What: "garbage", Budget: 1 << 20, Slack: 1 << 20}, func() {
		for range 8 {
			_ = make([]byte, 1<<20)
		}
	})
	if len(r.errors) != 0 {
		t.Errorf("HeldWithin(a flood keeping nothing) reported %q, want nothing", r.errors)
	}
}
