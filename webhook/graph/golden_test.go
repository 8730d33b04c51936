package graph

import (
	"bytes"
	"path/filepath"
	"slices"
	"testing"

	"github.com/strata-project/strata/webhook/graph/graphtest"
	"github.com/strata-project/strata/webhook/internal/goldentest"
	"github.com/strata-project/strata/webhook/inventory"
	"github.com/strata-project/strata/webhook/policy"
)

var goldens = goldentest.Flag("update", "rewrite testdata/family.* from what the writers write")

// golden compares got with testdata/name, or rewrites it under -update.
// The checks beside each call are written independently of the files, so
// that regenerating cannot bless a wrong graph.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	goldens.Check(t, filepath.Join("testdata", name), got)
}

// family is the fixed family's inventory, decided in enforce: built once
// for the package's tests.
func family(t *testing.T) *inventory.Inventory {
	t.Helper()
	return graphtest.Inventory(t, policy.Enforce)
}

func TestFamilyGraphGoldens(t *testing.T) {
	t.Parallel()
	inv := family(t)
	g := FromInventory(inv, Options{})

	counts := map[Kind]int{}
	for _, n := range g.Nodes {
		counts[n.Kind]++
	}
	// debian:12 twice (before and after the patch), debian-slim:12, the
	// mirror's debian:12, temurin:21; ten applications; twelve workloads.
	if counts[KindBase] != 5 || counts[KindImage] != 10 || counts[KindWorkload] != 12 {
		t.Errorf("FromInventory(family) nodes = %v, want 5 bases, 10 images, 12 workloads", counts)
	}
	old := nodeNamed(t, g, KindBase, graphtest.DebianDated)
	current := nodeNamed(t, g, KindBase, graphtest.Debian)
	if !old.Stale || old.CurrentDigest != current.Digest || current.Stale {
		t.Errorf("debian:12's digests: old %+v, current %+v; want the old stale, naming the current", old, current)
	}
	for _, ref := range []string{"shop/billing:1.0", "shop/ledger:1.0"} {
		if n := nodeNamed(t, g, KindImage, graphtest.Host+"/"+ref); !n.Stale || !hasEdge(g, n.ID, old.ID, EdgeBuiltOn) {
			t.Errorf("%s = %+v, want stale, built on %s", ref, n, old.ID)
		}
	}
	admin := nodeNamed(t, g, KindImage, graphtest.Host+"/shop/admin:1.0")
	temurin := nodeNamed(t, g, KindBase, graphtest.Temurin)
	if !admin.Denied || admin.Violations != 1 || !slices.Equal(admin.Policies, []string{"run-as-root"}) || admin.Stale {
		t.Errorf("admin = %+v, want denied by run-as-root, not stale", admin)
	}
	if !hasEdge(g, admin.ID, temurin.ID, EdgeBuiltOn) || !hasEdge(g, temurin.ID, current.ID, EdgeBuiltOn) || hasEdge(g, admin.ID, current.ID, EdgeBuiltOn) {
		t.Errorf("admin's edges: want admin → temurin → debian:12, each link once: %v", g.Edges)
	}
	if current.Level != 0 || temurin.Level != 1 || admin.Level != 2 || nodeNamed(t, g, KindWorkload, "shop/Deployment/admin").Level != 3 {
		t.Errorf("levels debian %d, temurin %d, admin image %d; want 0, 1, 2 and the workload 3", current.Level, temurin.Level, admin.Level)
	}
	web := nodeNamed(t, g, KindImage, graphtest.Host+"/shop/web:1.0")
	for _, w := range []string{"shop/Deployment/web", "shop/Deployment/storefront", "ops/Deployment/web-canary"} {
		if !hasEdge(g, workloadID(w), web.ID, EdgeRuns) {
			t.Errorf("no runs edge from %s to the web image", w)
		}
	}
	if broken := nodeNamed(t, g, KindWorkload, "ops/Deployment/broken"); !broken.Denied || slices.ContainsFunc(g.Edges, func(e Edge) bool { return e.From == broken.ID }) {
		t.Errorf("broken = %+v, want denied, running no resolved image", broken)
	}
	if len(g.Rebuild) != 2 || g.Rebuild[0].BaseDigest != old.Digest || g.Rebuild[0].Current {
		t.Errorf("Rebuild = %+v, want billing and ledger on the old debian:12", g.Rebuild)
	}

	var dot, mermaid, js bytes.Buffer
	if err := WriteDOT(&dot, g); err != nil {
		t.Fatal(err)
	}
	if err := WriteMermaid(&mermaid, g); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSON(&js, g); err != nil {
		t.Fatal(err)
	}
	golden(t, "family.dot", dot.Bytes())
	golden(t, "family.mmd", mermaid.Bytes())
	golden(t, "family.json", js.Bytes())
}

func nodeNamed(t *testing.T, g *Graph, kind Kind, name string) Node {
	t.Helper()
	for _, n := range g.Nodes {
		if n.Kind == kind && (n.Label == name || slices.Contains(n.Refs, name) && !(kind == KindBase && n.Stale != (name == graphtest.DebianDated))) {
			return n
		}
	}
	t.Fatalf("no %s node named %s in %+v", kind, name, g.Nodes)
	return Node{}
}

func hasEdge(g *Graph, from, to, kind string) bool {
	return slices.Contains(g.Edges, Edge{From: from, To: to, Kind: kind})
}
