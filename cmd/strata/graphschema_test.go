package main

import (
	"slices"
	"testing"

	"github.com/strata-project/strata/internal/testutil"
)

// docs/graph.md's tables of the JSON schema name every top-level field and
// every node field strata graph --demo -o json writes, and nothing else.
func TestGraphDocumentSchemaTablesAreTheJSONsFields(t *testing.T) {
	t.Chdir("../..")
	documented := testutil.DocFields(t, "docs/graph.md", "## The JSON schema (`schemaVersion: 1`)\n")
	for _, f := range testutil.DocFields(t, "docs/graph.md", "Node:\n") {
		documented = append(documented, "nodes[]."+f)
	}
	slices.Sort(documented)
	if written := testutil.JSONFields(t, []byte(demoOutput(t, "graph", "--demo", "-o", "json")), documented); !slices.Equal(written, documented) {
		t.Errorf("docs/graph.md's schema tables name\n%v\nstrata graph --demo -o json writes\n%v", documented, written)
	}
}
