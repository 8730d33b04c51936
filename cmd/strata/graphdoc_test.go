package main

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// fencedBlock returns the body of the first ``` block of doc opened with
// the fence line open.
func fencedBlock(t *testing.T, doc, open string) string {
	t.Helper()
	_, rest, ok := strings.Cut(doc, "\n"+open+"\n")
	if !ok {
		t.Fatalf("no %s block", open)
	}
	body, _, ok := strings.Cut(rest, "\n```\n")
	if !ok {
		t.Fatalf("the %s block is not closed", open)
	}
	return body
}

// demoOutput is what strata prints for args, which must succeed.
func demoOutput(t *testing.T, args ...string) string {
	t.Helper()
	code, stdout, stderr := runStrata(t, args...)
	if code != 0 {
		t.Fatalf("strata %s: exit %d, stderr %q", strings.Join(args, " "), code, stderr)
	}
	return stdout
}

// docs/graph.md shows the demo's graph in Mermaid and an excerpt of its
// JSON with the counts of the whole: both are what strata graph --demo
// prints on this commit.
func TestGraphDocumentShowsWhatGraphDemoPrints(t *testing.T) {
	t.Chdir("../..")
	raw, err := os.ReadFile("docs/graph.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)

	if got, want := strings.TrimSuffix(demoOutput(t, "graph", "--demo", "-o", "mermaid"), "\n"), fencedBlock(t, doc, "```mermaid"); got != want {
		t.Errorf("strata graph --demo -o mermaid prints:\n%s\n\ndocs/graph.md shows:\n%s", got, want)
	}

	type graph struct {
		Nodes   []map[string]any `json:"nodes"`
		Edges   []map[string]any `json:"edges"`
		Rebuild []map[string]any `json:"rebuild"`
	}
	var got, excerpt graph
	if err := json.Unmarshal([]byte(demoOutput(t, "graph", "--demo", "-o", "json")), &got); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(fencedBlock(t, doc, "```json")), &excerpt); err != nil {
		t.Fatalf("docs/graph.md's JSON excerpt: %v", err)
	}
	counts := regexp.MustCompile(`\d+ nodes, \d+ edges, \d+ rebuild entries`).FindStringSubmatch(doc)
	if counts == nil {
		t.Fatal("docs/graph.md does not give the counts of the demo's graph")
	}
	if whole := fmt.Sprintf("%d nodes, %d edges, %d rebuild entries", len(got.Nodes), len(got.Edges), len(got.Rebuild)); whole != counts[0] {
		t.Errorf("strata graph --demo -o json has %s; docs/graph.md says %s", whole, counts[0])
	}
	contains := func(all []map[string]any, one map[string]any) bool {
		for _, a := range all {
			if reflect.DeepEqual(a, one) {
				return true
			}
		}
		return false
	}
	for _, n := range excerpt.Nodes {
		if !contains(got.Nodes, n) {
			t.Errorf("docs/graph.md shows the node %v, which strata graph --demo -o json does not print", n["id"])
		}
	}
	for _, e := range excerpt.Edges {
		if !contains(got.Edges, e) {
			t.Errorf("docs/graph.md shows the edge %v, which strata graph --demo -o json does not print", e)
		}
	}
}
