package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/strata-project/strata/webhook"
)

// strataYAMLBlock is a ```yaml block of a document whose first line says it
// is (part of) a strata.yaml.
var strataYAMLBlock = regexp.MustCompile("(?m)^ *```yaml\n *# strata\\.yaml[^\n]*\n((?:.*\n)*?) *```")

// Every strata.yaml example in docs/ (a yaml block that starts with the
// comment "# strata.yaml") is one strata loads: its keys exist (unknown
// keys are errors) and its values validate. A renamed key or a value the
// loader stops accepting fails here, not in a reader's cluster.
func TestDocumentedStrataYAMLExamplesLoad(t *testing.T) {
	t.Chdir("../..")
	docs, err := filepath.Glob("docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	var checked int
	for _, doc := range docs {
		raw, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range strataYAMLBlock.FindAllStringSubmatch(string(raw), -1) {
			checked++
			block := m[1]
			cfg, err := webhook.ParseConfig([]byte(block))
			if err == nil {
				err = cfg.Validate()
			}
			if err != nil {
				t.Errorf("%s: the strata.yaml example\n%s\ndoes not load: %v", doc, strings.TrimRight(block, "\n"), err)
			}
		}
	}
	if checked < 5 {
		t.Errorf("found %d strata.yaml examples in docs/, want the 5 or more they hold: is the pattern still right?", checked)
	}
}
