package procstat

import (
	"os"
	"testing"
)

func TestMemoryOfThisProcess(t *testing.T) {
	t.Parallel()
	rss, peak, err := Memory(os.Getpid())
	// A running Go test holds at least its runtime: well over 1 MiB.
	if err != nil || rss < 1<<20 || peak < rss {
		t.Errorf("Memory(self) = %d, %d, %v; want a resident set over 1 MiB and a peak at least as large", rss, peak, err)
	}
}

func TestMemoryOfNoProcess(t *testing.T) {
	t.Parallel()
	if _, _, err := Memory(-1); err == nil {
		t.Error("Memory(-1) = nil error, want the /proc read refused")
	}
}
