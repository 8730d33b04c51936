//go:build browser

package browser

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/strata-project/strata/webhook/graph"
)

// writePage writes g's page into the test's artifact directory and returns
// its path and size.
func writePage(t *testing.T, g *graph.Graph) (string, int) {
	t.Helper()
	var buf bytes.Buffer
	if err := graph.WriteHTML(&buf, g); err != nil {
		t.Fatalf("WriteHTML = %v", err)
	}
	path := filepath.Join(t.ArtifactDir(), "graph.html")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, buf.Len()
}

// want is what the page must draw for g.
func want(g *graph.Graph) (nodes, edges []string) {
	for _, n := range g.Nodes {
		nodes = append(nodes, n.ID)
	}
	for _, e := range g.Edges {
		edges = append(edges, fmt.Sprintf("%s -> %s (%s)", e.From, e.To, e.Kind))
	}
	slices.Sort(nodes)
	slices.Sort(edges)
	return nodes, edges
}

// onlyTheDocument fails unless every request the tab made is url.
func onlyTheDocument(t *testing.T, b *browser, url string) {
	t.Helper()
	reqs := b.seen()
	if len(reqs) == 0 {
		t.Fatalf("the browser recorded no request, not even the page's: the network listener saw nothing")
	}
	for _, r := range reqs {
		if r != url {
			t.Errorf("the page requested %s; it may only load itself (%s)", r, url)
		}
	}
}

func TestGraphPageFromDiskDrawsTheFamilyHighlightsDependentsAndFetchesNothing(t *testing.T) {
	g := family()
	path, size := writePage(t, g)
	b := newBrowser(t)
	url := "file://" + path
	pageMs, took := b.open(t, url)
	t.Logf("family page: %d bytes, layout %s ms in the page, %v from navigation to layout done", size, pageMs, took)

	// Every node and edge is drawn, nothing else.
	nodes, edges := b.drawn(t)
	wantNodes, wantEdges := want(g)
	if !slices.Equal(nodes, wantNodes) {
		t.Errorf("nodes drawn = %q,\nwant %q", nodes, wantNodes)
	}
	if !slices.Equal(edges, wantEdges) {
		t.Errorf("edges drawn = %q,\nwant %q", edges, wantEdges)
	}
	// Stale and violating nodes carry a text marker besides the colour.
	var staleTags, violTags []string
	staleTags = eval[[]string](t, b, `Array.from(document.querySelectorAll('.node.stale')).filter(e => e.querySelector('text.tag.stale').textContent === 'STALE').map(e => e.dataset.id)`)
	violTags = eval[[]string](t, b, `Array.from(document.querySelectorAll('.node.violating')).filter(e => /✗ \d+/.test(e.querySelector('text.tag.viol').textContent)).map(e => e.dataset.id)`)
	var wantStale, wantViol []string
	for _, n := range g.Nodes {
		if n.Stale {
			wantStale = append(wantStale, n.ID)
		}
		if n.Violations > 0 {
			wantViol = append(wantViol, n.ID)
		}
	}
	slices.Sort(staleTags)
	slices.Sort(violTags)
	slices.Sort(wantStale)
	slices.Sort(wantViol)
	if !slices.Equal(staleTags, wantStale) || !slices.Equal(violTags, wantViol) {
		t.Errorf("nodes marked STALE = %q, want %q; marked ✗ = %q, want %q", staleTags, wantStale, violTags, wantViol)
	}
	// The rebuild list is under the graph, one row per Use.
	rebuildRows := eval[int](t, b, `document.querySelectorAll('#rebuild-table tr[data-image]').length`)
	if rebuildRows != len(g.Rebuild) {
		t.Errorf("rebuild list rows = %d, want %d", rebuildRows, len(g.Rebuild))
	}

	// A click on the patched base highlights exactly what is built on it,
	// transitively, lists its workloads and its rebuild rows.
	b.do(t, "clicking the patched base", chromedp.Click(chromedp.CSS(`#nodes .node[data-id="`+patchedBase+`"]`)))
	var highlighted, listed []string
	var selectionRebuild int
	highlighted = eval[[]string](t, b, `Array.from(document.querySelectorAll('#nodes .node.hl')).map(e => e.dataset.id)`)
	listed = eval[[]string](t, b, `Array.from(document.querySelectorAll('#selection-workloads li')).map(e => e.textContent)`)
	selectionRebuild = eval[int](t, b, `document.querySelectorAll('#selection-rebuild tr[data-image]').length`)
	wantHL := append([]string{patchedBase}, builtOnPatched...)
	slices.Sort(highlighted)
	slices.Sort(wantHL)
	if !slices.Equal(highlighted, wantHL) {
		t.Errorf("highlighted after clicking %s = %q,\nwant %q", patchedBase, highlighted, wantHL)
	}
	if !slices.Equal(listed, workloadsOnPatched) {
		t.Errorf("workloads listed for the patched base = %q, want %q", listed, workloadsOnPatched)
	}
	if selectionRebuild != 4 {
		t.Errorf("rebuild rows shown for the patched base = %d, want 4", selectionRebuild)
	}
	b.screenshot(t, "family-selected.png")

	// Search finds an image by name.
	b.do(t, "searching", chromedp.Click(chromedp.CSS(`#clear`)), chromedp.SendKeys(chromedp.CSS(`#search`), "payments/api"))
	matched := eval[[]string](t, b, `Array.from(document.querySelectorAll('#nodes .node.match')).map(e => e.dataset.id)`)
	status := eval[string](t, b, `document.getElementById('search-status').textContent`)
	if want := []string{image("payments/api:4.2")}; !slices.Equal(matched, want) || status != "1 found" {
		t.Errorf("search payments/api matched %q (%q), want %q (1 found)", matched, status, want)
	}
	b.screenshot(t, "family-search.png")

	onlyTheDocument(t, b, url)
}

func TestGraphPageHostileNamesStayText(t *testing.T) {
	g := family()
	hostile := `</script><img src=x onerror="window.pwned=1"><script>window.pwned=2</script>`
	id := "workload:evil/Pod/" + hostile
	g.Nodes = append(g.Nodes, graph.Node{ID: id, Kind: graph.KindWorkload, Label: hostile, Namespace: "evil", Level: 1})
	path, _ := writePage(t, g)
	b := newBrowser(t)
	b.open(t, "file://"+path)
	// The node is found by its id as a string, drawn, and selected: its
	// name shows as text in the selection.
	found := eval[bool](t, b, `Array.from(document.querySelectorAll('#nodes .node')).some(e => e.dataset.id === `+jsString(id)+`)`)
	eval[bool](t, b, `Array.from(document.querySelectorAll('#nodes .node')).find(e => e.dataset.id === `+jsString(id)+`).dispatchEvent(new MouseEvent('click', {bubbles: true}))`)
	heading := eval[string](t, b, `document.querySelector('#selection h2').textContent`)
	pwned := eval[bool](t, b, `window.pwned !== undefined`)
	imgs := eval[int](t, b, `document.querySelectorAll('img').length`)
	if pwned || imgs != 0 {
		t.Errorf("a name ran script or added an element: pwned=%v, img elements=%d", pwned, imgs)
	}
	if !found {
		t.Errorf("the node with the hostile name is not drawn")
	}
	if want := "workload: " + hostile; heading != want {
		t.Errorf("the selection's heading = %q, want the name as text %q", heading, want)
	}
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	q, _ := json.Marshal(s)
	return string(q)
}

func TestGraphPageBigClusterStaysSmall(t *testing.T) {
	g := big(2000, 5000)
	path, size := writePage(t, g)
	const limit = 5 << 20
	if size >= limit {
		t.Errorf("the page of 2,000 images and 5,000 workloads is %d bytes, want under 5 MiB (%d)", size, limit)
	}
	b := newBrowser(t)
	pageMs, took := b.open(t, "file://"+path)
	nodes, edges := b.drawn(t)
	if len(nodes) != len(g.Nodes) || len(edges) != len(g.Edges) {
		t.Errorf("drawn %d nodes and %d edges, want %d and %d", len(nodes), len(edges), len(g.Nodes), len(g.Edges))
	}
	// Measured and reported, not asserted: the machine is shared.
	t.Logf("big graph: %d nodes, %d edges, %d bytes (%.2f MiB); layout %s ms in the page, %v from navigation to layout done",
		len(g.Nodes), len(g.Edges), size, float64(size)/(1<<20), pageMs, took)
	t.Logf("big graph: the page's phases (ms since its script started): %s", eval[string](t, b, `document.body.dataset.layoutPhases`))
	b.screenshot(t, "big.png")
}
