package audit

import (
	"bytes"
	"slices"
	"testing"

	"github.com/strata-project/strata/internal/testutil"
	"github.com/strata-project/strata/webhook/policy"
)

// docs/audit.md's table of the JSON schema names every field strata audit
// -o json writes, and nothing it does not write (for the demo cluster,
// whose workloads have every outcome and whose bases a moved tag made stale).
func TestAuditDocumentSchemaTableIsTheJSONsFields(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	if err := WritePreviewJSON(&b, NewPreview(buildDemo(t, policy.Enforce))); err != nil {
		t.Fatal(err)
	}
	documented := testutil.DocFields(t, "../../docs/audit.md", "## JSON (`-o json`), schema version 1\n")
	if written := testutil.JSONFields(t, b.Bytes(), documented); !slices.Equal(written, documented) {
		t.Errorf("docs/audit.md's JSON table names\n%v\nstrata audit -o json writes\n%v", documented, written)
	}
}
