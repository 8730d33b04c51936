package strata_test

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// valuesBlock is a ```yaml block of a document whose first line says it
// holds chart values.
var valuesBlock = regexp.MustCompile("(?m)^ *```yaml\n *# values\\.yaml[^\n]*\n((?:.*\n)*?) *```")

// Every chart values example in docs/ (a yaml block that starts with the
// comment "# values.yaml") renders with the real helm: the schema accepts
// its keys and values, and the templates take them. A renamed value fails
// here, not in a reader's helm upgrade.
func TestDocumentedValuesExamplesRender(t *testing.T) {
	t.Parallel()
	docs, err := filepath.Glob("../../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	var checked int
	for _, doc := range docs {
		raw, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for i, m := range valuesBlock.FindAllStringSubmatch(string(raw), -1) {
			checked++
			file := filepath.Join(t.TempDir(), "values.yaml")
			if err := os.WriteFile(file, []byte(m[1]), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := renderErr(t, "-f", file); err != nil {
				t.Errorf("%s, values example %d:\n%s\ndoes not render: %v", filepath.Base(doc), i+1, m[1], err)
			}
		}
	}
	if checked < 5 {
		t.Errorf("found %d chart values examples in docs/, want the 5 or more they hold: is the pattern still right?", checked)
	}
}
