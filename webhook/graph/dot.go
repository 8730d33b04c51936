package graph

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// The look of each kind of node, and of the two marks. Every mark is also
// said in the label and by the outline, so that it does not rest on colour.
const (
	colourBase      = "#dbeafe"
	colourImage     = "#dcfce7"
	colourWorkload  = "#f3f4f6"
	colourStale     = "#fde68a"
	colourViolation = "#dc2626"
)

// WriteDOT writes g as a Graphviz digraph: bases at the top (boxes),
// images (ellipses), workloads at the bottom (folders), a rank per level,
// and a legend. Nodes are n0, n1... in the graph's order, each with its
// graph ID as the id attribute (the SVG element's id): a name from the
// cluster or a registry is only ever inside an escaped DOT string, and two
// names that escape alike are still two nodes.
func WriteDOT(w io.Writer, g *Graph) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "digraph strata {")
	fmt.Fprintln(bw, "  rankdir=BT;")
	fmt.Fprintln(bw, `  node [fontname="Helvetica", style=filled];`)
	fmt.Fprintln(bw, `  edge [fontname="Helvetica", fontsize=10];`)
	fmt.Fprintln(bw, "  subgraph cluster_legend {")
	fmt.Fprintln(bw, `    label="legend"; style=dashed;`)
	for i, l := range legend() {
		fmt.Fprintf(bw, "    legend%d [%s];\n", i, dotAttrs(l))
	}
	fmt.Fprintln(bw, "  }")
	ids := make(map[string]string, len(g.Nodes))
	level, first := -1, true
	for i, n := range g.Nodes {
		ids[n.ID] = fmt.Sprintf("n%d", i)
		if n.Level != level {
			if !first {
				fmt.Fprintln(bw, "  }")
			}
			level, first = n.Level, false
			fmt.Fprintf(bw, "  { rank=same; // level %d\n", level)
		}
		fmt.Fprintf(bw, "    %s [id=%s, %s];\n", ids[n.ID], dotString(n.ID), dotAttrs(n))
	}
	if !first {
		fmt.Fprintln(bw, "  }")
	}
	for _, e := range g.Edges {
		from, ok1 := ids[e.From]
		to, ok2 := ids[e.To]
		if ok1 && ok2 {
			fmt.Fprintf(bw, "  %s -> %s [label=%s];\n", from, to, dotString(edgeLabel(e.Kind)))
		}
	}
	fmt.Fprintln(bw, "}")
	return bw.Flush()
}

func edgeLabel(kind string) string {
	if kind == EdgeBuiltOn {
		return "built on"
	}
	return kind
}

// dotAttrs are a node's shape, colours and label.
func dotAttrs(n Node) string {
	shape, fill := "folder", colourWorkload
	switch n.Kind {
	case KindBase:
		shape, fill = "box", colourBase
	case KindImage:
		shape, fill = "ellipse", colourImage
	}
	style := "filled"
	if n.Stale {
		fill, style = colourStale, "filled,dashed"
	}
	a := fmt.Sprintf("shape=%s, style=%s, fillcolor=%s, label=%s", shape, dotString(style), dotString(fill), dotString(strings.Join(nodeLines(n), "\n")))
	if n.Violations > 0 || n.Denied {
		a += fmt.Sprintf(", color=%s, penwidth=2, peripheries=2", dotString(colourViolation))
	}
	return a
}

// nodeLines are a node's label, a base's role and the node's marks, a
// line each.
func nodeLines(n Node) []string {
	lines := []string{n.Label}
	if n.Kind == KindBase && n.Role != "" {
		lines = append(lines, n.Role)
	}
	return append(lines, marks(n)...)
}

// marks say in words what the colours show.
func marks(n Node) []string {
	var out []string
	switch {
	case n.Stale && n.Kind == KindBase && n.CurrentDigest != "":
		out = append(out, "STALE: its tag now points to "+short(n.CurrentDigest))
	case n.Stale && n.Kind == KindBase:
		out = append(out, "STALE: its tag moved")
	case n.Stale:
		out = append(out, "STALE: built on an outdated base")
	}
	if n.Violations > 0 || n.Denied {
		verdict := "allowed"
		if n.Denied {
			verdict = "DENIED"
		}
		mark := fmt.Sprintf("VIOLATIONS: %d (%s)", n.Violations, verdict)
		if len(n.Policies) > 0 {
			mark += " " + strings.Join(n.Policies, ", ")
		}
		out = append(out, mark)
	}
	return out
}

// legend is a sample node of each kind and mark.
func legend() []Node {
	return []Node{
		{ID: "base", Kind: KindBase, Label: "base (a catalog image)"},
		{ID: "image", Kind: KindImage, Label: "image (what a container runs)"},
		{ID: "workload", Kind: KindWorkload, Label: "workload"},
		{ID: "stale", Kind: KindBase, Label: "a base whose tag moved, or an image on it", Stale: true},
		{ID: "violation", Kind: KindImage, Label: "an image or workload with violations", Violations: 1, Denied: true},
	}
}

// dotString quotes s as a DOT string. Backslashes are doubled, so that
// none escapes the closing quote or becomes a label escape (\l, \N...);
// quotes are escaped; line breaks and other control characters become the
// DOT newline escape or a space, so that nothing can end the statement.
func dotString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == '"':
			b.WriteString(`\"`)
		case r == '\n':
			b.WriteString(`\n`)
		case r < 0x20 || r == 0x7f || r == '\u2028' || r == '\u2029':
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
