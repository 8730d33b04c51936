package inventory

import (
	"fmt"
	"testing"

	"github.com/strata-project/strata/internal/testutil"
)

// docs/security.md classes 18 and 19 state what the audit lists, in what
// pages, how often a list restarts, and what the graph's recorder keeps:
// the code's defaults.
func TestSecurityDocStatesTheListingAndRecorderBounds(t *testing.T) {
	t.Parallel()
	rec := NewRecorder(RecorderOptions{})
	kinds := []string{"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"}
	testutil.DocStates(t, "../../docs/security.md",
		fmt.Sprintf("`strata audit` lists the %s pod-bearing kinds in pages of %d", kinds[len(listedKinds)], DefaultChunkSize),
		fmt.Sprintf("after %d restarts it stops with an error", maxListRestarts),
		fmt.Sprintf("from a recorder bounded at %s workloads and %s containers", testutil.Thousands(rec.opts.MaxWorkloads), testutil.Thousands(rec.opts.MaxContainers)),
	)
}
