package graph

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// WriteMermaid writes g as a Mermaid flowchart: bases (rectangles) at the
// top, images (stadiums), workloads (subroutines) at the bottom, a class
// per kind and mark, and a legend. Node IDs are n0, n1... in the graph's
// order; every label is written with Mermaid's entity codes for anything
// but plain letters, digits and a few separators, so that no name can end
// the label or start markup.
func WriteMermaid(w io.Writer, g *Graph) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "flowchart BT")
	fmt.Fprintf(bw, "  classDef base fill:%s,stroke:#1e3a8a\n", colourBase)
	fmt.Fprintf(bw, "  classDef image fill:%s,stroke:#14532d\n", colourImage)
	fmt.Fprintf(bw, "  classDef workload fill:%s,stroke:#374151\n", colourWorkload)
	fmt.Fprintf(bw, "  classDef stale fill:%s,stroke-dasharray:5 3\n", colourStale)
	fmt.Fprintf(bw, "  classDef violation stroke:%s,stroke-width:3px\n", colourViolation)
	classes := map[string][]string{}
	fmt.Fprintln(bw, "  subgraph legend[\"legend\"]")
	for i, l := range legend() {
		writeMermaidNode(bw, fmt.Sprintf("legend%d", i), l, classes)
	}
	fmt.Fprintln(bw, "  end")
	ids := make(map[string]string, len(g.Nodes))
	for i, n := range g.Nodes {
		ids[n.ID] = fmt.Sprintf("n%d", i)
		writeMermaidNode(bw, ids[n.ID], n, classes)
	}
	for _, e := range g.Edges {
		from, ok1 := ids[e.From]
		to, ok2 := ids[e.To]
		if ok1 && ok2 {
			fmt.Fprintf(bw, "  %s -->|%s| %s\n", from, edgeLabel(e.Kind), to)
		}
	}
	// One class statement per class: a node with a mark gets its kind's
	// class and the mark's, which Mermaid applies in this order.
	for _, c := range []string{string(KindBase), string(KindImage), string(KindWorkload), "stale", "violation"} {
		if len(classes[c]) > 0 {
			fmt.Fprintf(bw, "  class %s %s\n", strings.Join(classes[c], ","), c)
		}
	}
	return bw.Flush()
}

func writeMermaidNode(w io.Writer, id string, n Node, classes map[string][]string) {
	open, closing := "[[", "]]"
	switch n.Kind {
	case KindBase:
		open, closing = "[", "]"
	case KindImage:
		open, closing = "([", "])"
	}
	lines := nodeLines(n)
	for i, l := range lines {
		lines[i] = mermaidText(l)
	}
	classes[string(n.Kind)] = append(classes[string(n.Kind)], id)
	if n.Stale {
		classes["stale"] = append(classes["stale"], id)
	}
	if n.Violations > 0 || n.Denied {
		classes["violation"] = append(classes["violation"], id)
	}
	fmt.Fprintf(w, "  %s%s\"%s\"%s\n", id, open, strings.Join(lines, "<br/>"), closing)
}

// mermaidText writes s with entity codes (#35; for #) for every character
// that is not a letter, a digit or one of " ./:@_-+,=()": quotes,
// brackets, pipes, angle brackets, backticks and line breaks cannot end
// the label or become markup.
func mermaidText(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', strings.ContainsRune(" ./:@_-+,=()", r):
			b.WriteRune(r)
		default:
			fmt.Fprintf(&b, "#%d;", r)
		}
	}
	return b.String()
}
