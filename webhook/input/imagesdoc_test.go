package input

import (
	"fmt"
	"strings"
	"testing"

	"github.com/strata-project/strata/internal/testutil"
)

// docs/images.md's row for the parts of the policy input states how their
// budget is split and what a part is charged: the code's shares and costs,
// and the shares add up to the whole budget.
func TestImagesMdStatesThePartsSharesAndCosts(t *testing.T) {
	t.Parallel()
	s := partsShares
	want := fmt.Sprintf("%d/%d of it images, %d/%d lineages, %d/%d containers (costed at %d bytes a part, %d a value node, plus its strings",
		s.images.num, s.images.den, s.lineages.num, s.lineages.den, s.containers.num, s.containers.den, partOverhead, termBytes)
	if doc := testutil.DocProse(t, "../../docs/images.md"); !strings.Contains(doc, want) {
		t.Errorf("docs/images.md does not say %q, which the code makes true", want)
	}
	const budget = 1 << 20
	if sum := s.images.of(budget) + s.lineages.of(budget) + s.containers.of(budget); sum != budget {
		t.Errorf("the parts' shares of %d bytes add up to %d", budget, sum)
	}
}
