package main

import (
	"strings"
	"testing"

	"github.com/strata-project/strata/test/docblocks"
	"github.com/strata-project/strata/webhook"
)

// Every strata.yaml example in docs/ (a yaml block that starts with the
// comment "# strata.yaml") is one strata loads: its keys exist (unknown
// keys are errors) and its values validate. A renamed key or a value the
// loader stops accepting fails here, not in a reader's cluster.
func TestDocumentedStrataYAMLExamplesLoad(t *testing.T) {
	for _, b := range docblocks.AtLeast(t, "../..", "strata.yaml", 5) {
		cfg, err := webhook.ParseConfig([]byte(b.Text))
		if err == nil {
			err = cfg.Validate()
		}
		if err != nil {
			t.Errorf("%s: the strata.yaml example\n%s\ndoes not load: %v", b.File, strings.TrimRight(b.Text, "\n"), err)
		}
	}
}
