//go:build browser

package browser

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/strata-project/strata/webhook/graph"
	"github.com/strata-project/strata/webhook/graph/graphtest"
	"github.com/strata-project/strata/webhook/policy"
)

// dependents is id and everything that depends on it, transitively,
// computed here from the edges, apart from the page's own code.
func dependents(g *graph.Graph, id string) []string {
	seen := map[string]bool{id: true}
	for grew := true; grew; {
		grew = false
		for _, e := range g.Edges {
			if seen[e.To] && !seen[e.From] {
				seen[e.From], grew = true, true
			}
		}
	}
	return slices.Sorted(maps.Keys(seen))
}

// The graph's own fixed family, resolved from in-process registries and
// drawn by FromInventory: the page draws all of it, and a click on the
// digest base/debian:12 pointed to before its patch highlights exactly
// what is built on it and lists the workloads --uses names for that digest.
func TestGraphPageDrawsTheRegistryFamilyAndItsRebuild(t *testing.T) {
	inv := graphtest.Inventory(t, policy.Enforce)
	g := graph.FromInventory(inv, graph.Options{})
	path, _ := writePage(t, g)
	b := newBrowser(t)
	url := "file://" + path
	b.open(t, url)

	nodes, edges := b.drawn(t)
	wantNodes, wantEdges := want(g)
	if !slices.Equal(nodes, wantNodes) || !slices.Equal(edges, wantEdges) {
		t.Errorf("drawn nodes %q and edges %q,\nwant %q and %q", nodes, edges, wantNodes, wantEdges)
	}

	var patched *graph.Node
	for i, n := range g.Nodes {
		if n.Kind == graph.KindBase && n.Stale && n.CurrentDigest != "" && strings.HasPrefix(n.Label, graphtest.Debian) {
			patched = &g.Nodes[i]
		}
	}
	if patched == nil {
		t.Fatalf("no stale node of %s in %+v", graphtest.Debian, g.Nodes)
	}
	ref, err := graph.ParseRef(graphtest.Debian)
	if err != nil {
		t.Fatal(err)
	}
	var wantWorkloads []string
	for _, u := range graph.Uses(inv, ref) {
		if u.BaseDigest == patched.Digest {
			for _, w := range u.Workloads {
				if !slices.Contains(wantWorkloads, w) {
					wantWorkloads = append(wantWorkloads, w)
				}
			}
		}
	}
	slices.Sort(wantWorkloads)
	if len(wantWorkloads) == 0 {
		t.Fatalf("--uses %s names no workload on %s", graphtest.Debian, patched.Digest)
	}

	b.do(t, "clicking the patched base", chromedp.Click(chromedp.CSS(fmt.Sprintf(`#nodes .node[data-id=%q]`, patched.ID))))
	highlighted := eval[[]string](t, b, `Array.from(document.querySelectorAll('#nodes .node.hl')).map(e => e.dataset.id)`)
	listed := eval[[]string](t, b, `Array.from(document.querySelectorAll('#selection-workloads li')).map(e => e.textContent)`)
	slices.Sort(highlighted)
	if want := dependents(g, patched.ID); !slices.Equal(highlighted, want) {
		t.Errorf("highlighted after clicking %s = %q,\nwant %q", patched.ID, highlighted, want)
	}
	if !slices.Equal(listed, wantWorkloads) {
		t.Errorf("workloads listed = %q, want those --uses names on %s: %q", listed, patched.Digest, wantWorkloads)
	}
	b.screenshot(t, "registry-family.png")
	onlyTheDocument(t, b, url)
}
