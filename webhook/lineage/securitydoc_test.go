package lineage

import (
	"fmt"
	"testing"
	"time"

	"github.com/strata-project/strata/internal/testutil"
	"github.com/strata-project/strata/webhook/images"
)

// docs/security.md classes 2 and 3 state how many digests the catalog
// remembers per tag and how soon a failed re-check is retried: the
// catalog's defaults.
func TestSecurityDocStatesTheCatalogsDefaults(t *testing.T) {
	t.Parallel()
	c := newWorld(t, images.Options{}).catalog(Options{})
	testutil.DocStates(t, "../../docs/security.md",
		fmt.Sprintf("(it keeps each tag's last %d digests)", c.opts.History),
		fmt.Sprintf("a failed re-check is reported and retried in %d s", DefaultRetry/time.Second),
	)
}
