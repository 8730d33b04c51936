package strata_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/strata-project/strata/test/docblocks"
)

// Every chart values example in docs/ (a yaml block that starts with the
// comment "# values.yaml") renders with the real helm: the schema accepts
// its keys and values, and the templates take them. A renamed value fails
// here, not in a reader's helm upgrade.
func TestDocumentedValuesExamplesRender(t *testing.T) {
	t.Parallel()
	blocks, err := docblocks.Marked("../..", "values.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(blocks) < 5 {
		t.Errorf("found %d chart values examples in docs/, want the 5 or more they hold: is the pattern still right?", len(blocks))
	}
	for _, b := range blocks {
		file := filepath.Join(t.TempDir(), "values.yaml")
		if err := os.WriteFile(file, []byte(b.Text), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := renderErr(t, "-f", file); err != nil {
			t.Errorf("%s: the values example\n%s\ndoes not render: %v", b.File, b.Text, err)
		}
	}
}
