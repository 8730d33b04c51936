package graph

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// hostileGraph holds names a cluster or a registry could hand strata, each
// trying to end the data element, open a comment or inject markup.
func hostileGraph() *Graph {
	names := []string{
		`</script><script>window.pwned=1</script>`,
		`</SCRIPT ><img src=x onerror="window.pwned=2">`,
		`<!--<script>`,
		"line\u2028sep\u2029end & \"quotes\" 'single'",
	}
	g := &Graph{SchemaVersion: 1}
	for i, n := range names {
		g.Nodes = append(g.Nodes, Node{ID: "workload:ns/Pod/" + n, Kind: KindWorkload, Label: n, Namespace: "ns", Level: 2})
		if i > 0 {
			g.Edges = append(g.Edges, Edge{From: g.Nodes[i].ID, To: g.Nodes[0].ID, Kind: EdgeRuns})
		}
	}
	g.Rebuild = []Use{{Base: names[0], BaseDigest: "sha256:00", Image: names[1], ImageDigest: "sha256:01", Workloads: names[2:]}}
	return g
}

// scripts parses the page as a browser would and returns the text of each
// <script> element, in order.
func scripts(t *testing.T, page []byte) (data []string, kinds []string) {
	t.Helper()
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		t.Fatalf("html.Parse(page) = %v", err)
	}
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "script" {
			var typ string
			for _, a := range n.Attr {
				if a.Key == "type" {
					typ = a.Val
				}
			}
			var text strings.Builder
			for c := n.FirstChild; c != nil; c = c.NextSibling {
				text.WriteString(c.Data)
			}
			data, kinds = append(data, text.String()), append(kinds, typ)
		}
		if n.Type == html.ElementNode && n.Data == "img" {
			t.Errorf("the page holds an <img> element: a name broke out of the data element")
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return data, kinds
}

func TestWriteHTMLNameHoldingScriptEndCannotBreakOut(t *testing.T) {
	g := hostileGraph()
	var buf bytes.Buffer
	if err := WriteHTML(&buf, g); err != nil {
		t.Fatalf("WriteHTML = %v", err)
	}
	texts, kinds := scripts(t, buf.Bytes())
	if want := []string{"application/json", ""}; !reflect.DeepEqual(kinds, want) {
		t.Fatalf("script elements' types = %q, want %q: a name opened or closed a script element", kinds, want)
	}
	var got Graph
	if err := json.Unmarshal([]byte(texts[0]), &got); err != nil {
		t.Fatalf("the data element does not hold the graph's JSON: %v", err)
	}
	if !reflect.DeepEqual(&got, g) {
		t.Errorf("the data element's graph = %+v, want %+v", got, *g)
	}
	if !strings.Contains(texts[1], "graph-data") {
		t.Errorf("the second script is not the page's script")
	}
}

func TestWriteHTMLIsSelfContained(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteHTML(&buf, &Graph{}); err != nil {
		t.Fatalf("WriteHTML = %v", err)
	}
	page := buf.String()
	for _, s := range []string{"{{CSS}}", "{{JS}}", "{{DATA}}"} {
		if strings.Contains(page, s) {
			t.Errorf("the page still holds the placeholder %s", s)
		}
	}
	// Nothing the page names is fetched: no src or href attribute, no URL
	// in a style, and a policy that refuses every fetch.
	for _, s := range []string{" src=", " href=", "url(", "http://", "https://", "@import"} {
		if strings.Contains(page, s) && !(s == "http://" && strings.Count(page, s) == strings.Count(page, "http://www.w3.org/2000/svg")) {
			t.Errorf("the page holds %q: it could fetch something", s)
		}
	}
	if !strings.Contains(page, `content="default-src 'none'`) {
		t.Errorf("the page has no Content-Security-Policy refusing fetches")
	}
}
