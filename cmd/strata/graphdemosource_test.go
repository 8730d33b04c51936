package main

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
)

// docs/graph.md's table of sources says how many workloads the demo draws,
// and in which namespaces: it is what strata graph --demo draws.
func TestGraphDocumentCountsTheDemosWorkloads(t *testing.T) {
	t.Chdir("../..")
	var g struct {
		Nodes []struct {
			Kind      string `json:"kind"`
			Namespace string `json:"namespace"`
		} `json:"nodes"`
	}
	if err := json.Unmarshal([]byte(demoOutput(t, "graph", "--demo", "-o", "json")), &g); err != nil {
		t.Fatal(err)
	}
	var n int
	var namespaces []string
	for _, node := range g.Nodes {
		if node.Kind == "workload" {
			n++
			namespaces = append(namespaces, "`"+node.Namespace+"`")
		}
	}
	slices.Sort(namespaces)
	namespaces = slices.Compact(namespaces)
	words := []string{"no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"}
	if n >= len(words) || len(namespaces) != 2 {
		t.Fatalf("strata graph --demo draws %d workloads in %v: docs/graph.md's sentence has no words for that", n, namespaces)
	}
	raw, err := os.ReadFile("docs/graph.md")
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("the demo's own %s workloads in the namespaces %s", words[n], strings.Join(namespaces, " and "))
	if !strings.Contains(string(raw), want) {
		t.Errorf("docs/graph.md does not say %q, which is what strata graph --demo draws", want)
	}
}
