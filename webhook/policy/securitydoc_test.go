package policy

import (
	"fmt"
	"testing"
	"time"

	"github.com/strata-project/strata/internal/testutil"
)

// docs/security.md classes 4 and 14 state the engine's evaluation bound,
// the caps on policy and data files and how long a changing file waits:
// the engine's defaults.
func TestSecurityDocStatesTheEnginesBounds(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Options{})
	testutil.DocStates(t, "../../docs/security.md",
		fmt.Sprintf("held a single evaluation past the engine's %d s bound", e.opts.EvalTimeout/time.Second),
		fmt.Sprintf("Each policy or data file is capped at %d MiB and all of them at %d MiB", e.opts.MaxFileBytes>>20, e.opts.MaxTotalBytes>>20),
		fmt.Sprintf("(at most once per %d polls while it keeps changing)", maxSettlePolls),
	)
}
