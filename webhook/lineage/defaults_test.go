package lineage

import (
	"testing"
	"time"

	"github.com/strata-project/strata/webhook/images"
)

// TestCatalogDefaultsAreWhatLineageMdStates: docs/lineage.md and
// docs/notifications.md give the catalog's defaults as numbers; the tests
// of each behaviour set smaller values to stay fast, so the numbers
// themselves are asserted here: 20 digests remembered per tag, claims
// followed 8 levels, a failed image retried after 30 s, a refresh every
// hour (serve passes DefaultRefresh and DefaultRetry to Run).
func TestCatalogDefaultsAreWhatLineageMdStates(t *testing.T) {
	t.Parallel()
	w := newWorld(t, images.Options{})
	c := w.catalog(Options{})
	for _, d := range []struct {
		what      string
		got, want any
	}{
		{"digests remembered per tag (Options.History)", c.opts.History, 20},
		{"levels of claims followed (Options.MaxClaimDepth)", c.opts.MaxClaimDepth, 8},
		{"retry of a failed image (DefaultRetry)", DefaultRetry, 30 * time.Second},
		{"catalog.refresh (DefaultRefresh), docs/notifications.md too", DefaultRefresh, time.Hour},
	} {
		if d.got != d.want {
			t.Errorf("%s = %v, docs/lineage.md states %v", d.what, d.got, d.want)
		}
	}
}
