package audit

import (
	"fmt"
	"strings"
	"testing"

	"github.com/strata-project/strata/internal/testutil"
)

// docs/security.md class 18 states which reports strata touches, how it
// names them, and how much of a report write error it shows: the code's.
func TestSecurityDocStatesTheReportsNamesLabelAndErrorBound(t *testing.T) {
	t.Parallel()
	testutil.DocStates(t, "../../docs/security.md",
		fmt.Sprintf("strata updates or deletes only reports labelled `%s: %s` and named `%s<uid>`", LabelManagedBy, ReportSource, reportNamePrefix),
		fmt.Sprintf("names its report by its hash, `%s<hex>`", hashedNamePrefix),
		fmt.Sprintf("so do report write errors, cut at %d KiB each", maxShownError>>10),
	)
	if got := ReportName("0b7c2f1e-2f4a-4c1e-9d6b-3f1a2b3c4d5e"); got != reportNamePrefix+"0b7c2f1e-2f4a-4c1e-9d6b-3f1a2b3c4d5e" {
		t.Errorf("ReportName(a UID) = %q, want %s<uid>", got, reportNamePrefix)
	}
	if got := ReportName("Not/A-Name"); !strings.HasPrefix(got, hashedNamePrefix) {
		t.Errorf("ReportName(Not/A-Name) = %q, want %s<hex>", got, hashedNamePrefix)
	}
}
