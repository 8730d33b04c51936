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
	for _, b := range docblocks.AtLeast(t, "../..", "values.yaml", 5) {
		file := filepath.Join(t.TempDir(), "values.yaml")
		if err := os.WriteFile(file, []byte(b.Text), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := renderErr(t, "-f", file); err != nil {
			t.Errorf("%s: the values example\n%s\ndoes not render: %v", b.File, b.Text, err)
		}
	}
}
