package strata_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/strata-project/strata/internal/testutil"
)

// docs/images.md gives the chart's cache budget, its memory limit and the
// soft limit strata derives from it (90 % of the container's, as
// TestSoftMemoryLimitIsNinetyPercentOfTheContainersLimit holds it): the
// chart's rendered values.
func TestImagesMdStatesTheChartsCacheBudgetAndMemoryLimit(t *testing.T) {
	t.Parallel()
	r := render(t)
	_, cfg := r.strataConfig()
	budget, _ := cfg["cache"].(map[string]any)["maxBytes"].(string)
	limit := r.deployment().Spec.Template.Spec.Containers[0].Resources.Limits.Memory().Value()
	doc := testutil.DocProse(t, "../../docs/images.md")
	for _, sentence := range []string{
		fmt.Sprintf("the chart sets `%s` beside its %d MiB memory limit", budget, limit>>20),
		fmt.Sprintf("With the chart (a %d MiB container limit, `cache.maxBytes` %s, soft limit %d MiB", limit>>20, budget, (limit-limit/10)>>20),
	} {
		if !strings.Contains(doc, sentence) {
			t.Errorf("docs/images.md does not say %q, which the chart renders", sentence)
		}
	}
}
