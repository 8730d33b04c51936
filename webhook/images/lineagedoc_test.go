package images

import (
	"fmt"
	"strings"
	"testing"

	"github.com/strata-project/strata/internal/testutil"
)

// docs/lineage.md reads build provenance within the body cap of every
// registry response, which it gives in MiB: the resolver's default.
func TestLineageMdStatesTheBodyCap(t *testing.T) {
	t.Parallel()
	o := withDefaults(Options{})
	statement := fmt.Sprintf("read within the %d MiB body cap of every registry response (`Options.MaxBodyBytes`", o.MaxBodyBytes>>20)
	if o.MaxBodyBytes%(1<<20) != 0 || !strings.Contains(testutil.DocProse(t, "../../docs/lineage.md"), statement) {
		t.Errorf("docs/lineage.md does not say %q, which Options.MaxBodyBytes' default (%d) makes true", statement, o.MaxBodyBytes)
	}
}
