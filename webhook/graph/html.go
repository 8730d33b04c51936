package graph

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// The page's parts, kept as plain files so that they read as HTML, CSS and
// JavaScript, and joined into one file by WriteHTML.
var (
	//go:embed page/page.html
	pageHTML string
	//go:embed page/page.css
	pageCSS string
	//go:embed page/page.js
	pageJS string
)

// WriteHTML writes the graph as one self-contained HTML page: its styles,
// its script and the graph's JSON are inlined, and its Content-Security-Policy
// refuses every fetch, so it opens from disk and makes no network request.
// The page lays the graph out in layers (bases at the top by depth, then
// images, then workloads), pans, zooms, searches by name, highlights what is
// built on a clicked node, marks stale and violating nodes, and lists the
// rebuild list under the graph.
func WriteHTML(w io.Writer, g *Graph) error {
	data, err := pageData(g)
	if err != nil {
		return err
	}
	r := strings.NewReplacer("{{CSS}}", pageCSS, "{{JS}}", pageJS, "{{DATA}}", string(data))
	_, err = r.WriteString(w, pageHTML)
	return err
}

// pageData is the graph's JSON as it may stand inside a <script> element.
// encoding/json escapes <, > and & (and U+2028, U+2029) as \u sequences, so
// no name can close the element ("</script>") or open a comment ("<!--")
// that would change where the parser ends it; the check below keeps that
// true should the encoder ever change.
func pageData(g *Graph) ([]byte, error) {
	if g == nil {
		g = &Graph{}
	}
	data, err := json.Marshal(g)
	if err != nil {
		return nil, fmt.Errorf("encoding the graph for the page: %w", err)
	}
	if bytes.ContainsAny(data, "<>") {
		return nil, fmt.Errorf("encoding the graph for the page: the JSON holds an unescaped < or >")
	}
	return data, nil
}
