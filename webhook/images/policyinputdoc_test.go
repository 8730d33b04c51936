package images

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/strata-project/strata/internal/testutil"
)

// docs/policy-input.md states the resolver's bounds where it explains
// image.error.kind and image.stale: an index of 256 entries or 4 levels,
// an image of 1,000 layers or 2,000 build steps, a stale resolution used
// up to one hour past the tag TTL. They are the resolver's defaults; a
// changed default fails here. The tests of each bound
// (TestIndexWithThousandsOfEntriesIsOneBoundedError, ...) use the same
// defaults.
func TestPolicyInputMdStatesTheResolverBounds(t *testing.T) {
	t.Parallel()
	o := withDefaults(Options{})
	if o.StaleTTL != time.Hour {
		t.Errorf("Options.StaleTTL defaults to %v; docs/policy-input.md says one hour", o.StaleTTL)
	}
	doc := testutil.DocProse(t, "../../docs/policy-input.md")
	for _, statement := range []string{
		fmt.Sprintf("`too-complex` (an index past %d entries or %d levels of nesting, or an image past %s layers or %s build steps)",
			o.MaxIndexEntries, o.MaxIndexDepth, testutil.Thousands(maxImageLayers), testutil.Thousands(maxImageHistory)),
		"strata used the digest it resolved before (up to one hour past the TTL)",
	} {
		if !strings.Contains(doc, statement) {
			t.Errorf("docs/policy-input.md does not say %q, which the resolver's defaults make true", statement)
		}
	}
}
