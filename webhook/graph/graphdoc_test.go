package graph

import (
	"bytes"
	"cmp"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/strata-project/strata/internal/testutil"
	"github.com/strata-project/strata/webhook/graph/graphtest"
	"github.com/strata-project/strata/webhook/inventory"
	"github.com/strata-project/strata/webhook/lineage"
	"github.com/strata-project/strata/webhook/policy"
)

const graphDoc = "../../docs/graph.md"

// dotNode is a node statement of WriteDOT: its name, its graph ID, shape,
// style, fill, label and the red double outline of violations.
var dotNode = regexp.MustCompile(`(?m)^    (n\d+) \[id="((?:[^"\\]|\\.)*)", shape=(\w+), style="([^"]*)", fillcolor="([^"]*)", label="((?:[^"\\]|\\.)*)"(, color="#dc2626", penwidth=2, peripheries=2)?\];$`)

// docs/graph.md's DOT: bases boxes, images ellipses, workloads folders,
// bottom to top with a rank per level; a stale node amber and dashed and
// its label saying STALE; a node with violations in a red double outline
// and its label saying VIOLATIONS; a legend cluster; nodes n0, n1, ... in
// the graph's order, each carrying its graph ID.
func TestGraphDocumentDescribesTheDOT(t *testing.T) {
	t.Parallel()
	testutil.DocStates(t, graphDoc,
		"Bases are boxes, images ellipses, workloads folders",
		"(`rankdir=BT`, a `rank=same` group per level)",
		"A stale node is filled amber with a dashed outline **and** its label says `STALE: ...`",
		"a node with violations has a red double outline **and** its label says `VIOLATIONS: n (DENIED|allowed) policy, ...`",
		"A `legend` cluster shows each",
		"Nodes are named `n0`, `n1`, ... in the graph's order and carry their graph ID as `id`",
	)
	g := FromInventory(family(t), Options{})
	var buf bytes.Buffer
	if err := WriteDOT(&buf, g); err != nil {
		t.Fatal(err)
	}
	dot := buf.String()
	levels := map[int]bool{}
	for _, n := range g.Nodes {
		levels[n.Level] = true
	}
	if !strings.Contains(dot, "\n  rankdir=BT;\n") || strings.Count(dot, "{ rank=same;") != len(levels) ||
		!strings.Contains(dot, "\n  subgraph cluster_legend {\n    label=\"legend\";") {
		t.Errorf("WriteDOT(family) has no rankdir=BT, a rank=same group per level (%d) or a legend cluster:\n%s", len(levels), dot)
	}
	shapes := map[Kind]string{KindBase: "box", KindImage: "ellipse", KindWorkload: "folder"}
	stmts := map[string][]string{}
	for _, m := range dotNode.FindAllStringSubmatch(dot, -1) {
		stmts[m[1]] = m
	}
	violations := regexp.MustCompile(`\\nVIOLATIONS: \d+ \((?:DENIED|allowed)\)`)
	for i, n := range g.Nodes {
		m := stmts[fmt.Sprintf("n%d", i)]
		if m == nil || m[2] != n.ID || m[3] != shapes[n.Kind] {
			t.Errorf("node %d (%s %s): DOT statement %q, want n%d with its ID and shape %s", i, n.Kind, n.ID, m, i, shapes[n.Kind])
			continue
		}
		style, fill, label, outlined := m[4], m[5], m[6], m[7] != ""
		if stale := style == "filled,dashed" && fill == colourStale && strings.Contains(label, `\nSTALE: `); stale != n.Stale {
			t.Errorf("%s: style %q, fill %q, label %q; want amber, dashed and STALE only when stale (%t)", n.ID, style, fill, label, n.Stale)
		}
		if marked := outlined && violations.MatchString(label); marked != (n.Violations > 0) || n.Denied && !strings.Contains(label, "(DENIED)") {
			t.Errorf("%s: outline %t, label %q; want the red double outline and VIOLATIONS only with violations (%d, denied %t)", n.ID, outlined, label, n.Violations, n.Denied)
		}
	}
}

// movedTagAlone is an inventory whose only image is built on the old digest
// of a tag (itself built on a root), whose current digest nothing is built on.
func movedTagAlone() *inventory.Inventory {
	root, old, now, app := digestOf("root"), digestOf("debian old"), digestOf("debian now"), digestOf("app")
	const tag = "example.test/base/debian:12"
	return &inventory.Inventory{
		Mode: policy.Enforce,
		Bases: []inventory.Base{
			{Refs: []string{"example.test/base/scratch:1"}, Digest: root, Role: "os", Current: true},
			{Refs: []string{tag}, Digest: old, Role: "os", MovedTag: tag, CurrentDigest: now},
		},
		Images: []inventory.Image{{Ref: "example.test/app:1", Refs: []string{"example.test/app:1"}, Digest: app, Platforms: []inventory.Platform{{
			Platform: "linux/amd64", Digest: app, Lineage: lineage.Lineage{Chain: []lineage.Entry{
				{Refs: []string{"example.test/base/scratch:1"}, Digest: root, Current: true},
				{Refs: []string{tag}, Digest: old, MovedTag: tag, CurrentDigest: now},
			}},
		}}}},
		Workloads: []inventory.Workload{{Kind: "Deployment", Namespace: "ns", Name: "app", Allowed: true,
			Containers: []inventory.Container{{Name: "app", Image: "example.test/app:1", Digest: app}}}},
	}
}

// docs/graph.md's order and levels: nodes sorted by level, kind and ID,
// edges by kind, from and to, the same bytes for the same inventory; a base
// one below its deepest parent, an image at least at 1 and a workload at 2,
// and a moved tag's current digest with nothing under it beside its stale
// predecessor.
func TestGraphDocumentOrderAndLevels(t *testing.T) {
	t.Parallel()
	testutil.DocStates(t, graphDoc,
		"(nodes sorted by level, kind and ID; edges by kind, from and to)",
		"sorted by `level`, then kind (base, image, workload), then `id`",
		"a base 0 when it has no parent, else one more than its deepest parent; an image one more than its deepest base and at least 1",
		"a workload one more than its deepest image and at least 2. The current digest of a moved tag with nothing under it sits at its stale predecessor's level.",
	)
	inv := family(t)
	for name, g := range map[string]*Graph{
		"family":              FromInventory(inv, Options{}),
		"family --violations": FromInventory(inv, Options{Violations: true}),
		"a moved tag alone":   FromInventory(movedTagAlone(), Options{}),
	} {
		kinds := []Kind{KindBase, KindImage, KindWorkload}
		if !slices.IsSortedFunc(g.Nodes, func(x, y Node) int {
			return cmp.Or(cmp.Compare(x.Level, y.Level), cmp.Compare(slices.Index(kinds, x.Kind), slices.Index(kinds, y.Kind)), cmp.Compare(x.ID, y.ID))
		}) {
			t.Errorf("%s: nodes not sorted by level, kind and ID: %v", name, g.Nodes)
		}
		if !slices.IsSortedFunc(g.Edges, func(x, y Edge) int {
			return cmp.Or(cmp.Compare(x.Kind, y.Kind), cmp.Compare(x.From, y.From), cmp.Compare(x.To, y.To))
		}) {
			t.Errorf("%s: edges not sorted by kind, from and to: %v", name, g.Edges)
		}
		level, under := map[string]int{}, map[string]bool{}
		for _, n := range g.Nodes {
			level[n.ID] = n.Level
		}
		parents := map[string][]string{}
		for _, e := range g.Edges {
			parents[e.From] = append(parents[e.From], e.To)
			under[e.To] = true
		}
		for _, n := range g.Nodes {
			want := 0
			for _, p := range parents[n.ID] {
				want = max(want, level[p]+1)
			}
			switch n.Kind {
			case KindImage:
				want = max(want, 1)
			case KindWorkload:
				want = max(want, 2)
			case KindBase:
				for _, m := range g.Nodes {
					if m.Stale && m.Kind == KindBase && m.CurrentDigest == n.Digest && !under[n.ID] && len(parents[n.ID]) == 0 {
						want = m.Level
					}
				}
			}
			if n.Level != want {
				t.Errorf("%s: %s is at level %d, want %d", name, n.ID, n.Level, want)
			}
		}
	}
	if g := FromInventory(movedTagAlone(), Options{}); g.Nodes[1].Level != 1 || !strings.HasPrefix(g.Nodes[1].ID, "base:") || g.Nodes[1].Stale == g.Nodes[2].Stale {
		t.Errorf("a moved tag alone: nodes %+v, want the old and the current digest side by side at level 1", g.Nodes)
	}

	var first, again bytes.Buffer
	for _, b := range []*bytes.Buffer{&first, &again} {
		if err := WriteDOT(b, FromInventory(inv, Options{})); err != nil {
			t.Fatal(err)
		}
		if err := WriteJSON(b, FromInventory(inv, Options{})); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(first.Bytes(), again.Bytes()) {
		t.Error("the same inventory drew different bytes twice")
	}
}

// docs/graph.md's Node table: the IDs, labels, refs, digests, roles,
// namespaces and current digests of each kind of node, and schemaVersion 1.
func TestGraphDocumentNodeTableIsWhatFromInventoryWrites(t *testing.T) {
	t.Parallel()
	testutil.DocStates(t, graphDoc,
		"## The JSON schema (`schemaVersion: "+fmt.Sprint(SchemaVersion)+"`)",
		"| `schemaVersion` | int | "+fmt.Sprint(SchemaVersion)+";",
		"| `id` | string | `base:<digest>`, `image:<digest>` or `workload:<namespace>/<kind>/<name>` |",
		"| `label` | string | a base's tag and short digest; an image's reference; a workload's `<namespace>/<kind>/<name>` |",
		"absent for a workload |",
		"`app` for an image that is not itself a catalog image |",
		"| `namespace` | string | a workload's namespace |",
		"| `currentDigest` | string | for a stale base: where its tag points now |",
		"| `policies` | []string | the ids of the policies violated, sorted |",
	)
	g := FromInventory(family(t), Options{})
	var apps int
	for _, n := range g.Nodes {
		var bad []string
		switch n.Kind {
		case KindBase:
			if n.ID != "base:"+n.Digest || !strings.HasSuffix(n.Label, "@"+short(n.Digest)) || len(n.Refs) == 0 || n.Namespace != "" {
				bad = append(bad, "a base's ID, label (tag@short digest), refs or namespace")
			}
			if (n.CurrentDigest != "") != n.Stale {
				bad = append(bad, "a current digest on the stale bases alone")
			}
		case KindImage:
			if n.ID != "image:"+n.Digest || !slices.Contains(n.Refs, n.Label) || n.Namespace != "" || n.CurrentDigest != "" {
				bad = append(bad, "an image's ID, label (its reference), namespace or current digest")
			}
			if n.Role == "app" {
				apps++
			}
		case KindWorkload:
			if n.ID != "workload:"+n.Label || strings.Count(n.Label, "/") != 2 || !strings.HasPrefix(n.Label, n.Namespace+"/") ||
				n.Refs != nil || n.Digest != "" || n.Role != "" || n.CurrentDigest != "" {
				bad = append(bad, "a workload's ID, label (namespace/kind/name), namespace, and no refs, digest, role or current digest")
			}
		}
		if !slices.IsSorted(n.Policies) {
			bad = append(bad, "sorted policies")
		}
		if bad != nil {
			t.Errorf("%+v: want %s", n, strings.Join(bad, "; "))
		}
	}
	// The family's applications are none of them catalog images.
	if apps != 10 {
		t.Errorf("%d images of role app, want the family's ten applications", apps)
	}
}

// strata serve --graph serves the graph on GET and HEAD only
// (docs/graph.md).
func TestGraphHandlersServeGETAndHEADOnly(t *testing.T) {
	t.Parallel()
	testutil.DocStates(t, graphDoc, "(GET and HEAD only;")
	g := FromInventory(movedTagAlone(), Options{})
	for _, h := range []http.Handler{HTMLHandler(func() *Graph { return g }), JSONHandler(func() *Graph { return g })} {
		srv := httptest.NewServer(h)
		for _, method := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodDelete} {
			req, _ := http.NewRequestWithContext(t.Context(), method, srv.URL, nil)
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			read := method == http.MethodGet || method == http.MethodHead
			if (resp.StatusCode == http.StatusOK) != read || !read && (resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD") {
				t.Errorf("%s %s = %s (Allow %q), want 200 for GET and HEAD, else 405 allowing GET, HEAD", method, resp.Header.Get("Content-Type"), resp.Status, resp.Header.Get("Allow"))
			}
		}
		srv.Close()
	}
}

// docs/graph.md: the page's layout has "no dependency, no build step and
// no WebAssembly": it is three plain files, inlined by WriteHTML, whose
// script imports nothing (TestWriteHTMLIsSelfContained: fetches nothing).
func TestGraphPageHasNoDependencyBuildStepOrWebAssembly(t *testing.T) {
	t.Parallel()
	testutil.DocStates(t, graphDoc, "with no dependency, no build step and no WebAssembly")
	entries, err := os.ReadDir("page")
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, e := range entries {
		files = append(files, e.Name())
	}
	if want := []string{"page.css", "page.html", "page.js"}; !slices.Equal(files, want) {
		t.Errorf("page/ holds %v, want %v and nothing to build them", files, want)
	}
	js := string(testutil.ReadFile(t, "page/page.js"))
	for _, s := range []string{"WebAssembly", "import ", "import(", "require(", "fetch("} {
		if strings.Contains(js, s) {
			t.Errorf("page/page.js holds %q", s)
		}
	}
}

// docs/graph.md: --uses compares names canonically, never as text: every
// spelling of Docker Hub's debian:12 names the base, and the look-alikes
// the document lists name other bases.
func TestGraphDocumentUsesComparesNamesCanonically(t *testing.T) {
	t.Parallel()
	testutil.DocStates(t, graphDoc, "Names are compared canonically (`debian:12` is `index.docker.io/library/debian:12`), never as text: `debian:12.7`, `debian-slim:12` and `other.registry/debian:12` are other bases")
	debian, app := digestOf("debian"), digestOf("app on debian")
	inv := &inventory.Inventory{
		Mode:  policy.Enforce,
		Bases: []inventory.Base{{Refs: []string{"debian:12"}, Digest: debian, Role: "os", Current: true}},
		Images: []inventory.Image{{Ref: "example.test/app:1", Digest: app, Platforms: []inventory.Platform{{
			Platform: "linux/amd64", Digest: app,
			Lineage: lineage.Lineage{Chain: []lineage.Entry{{Refs: []string{"debian:12"}, Digest: debian, Current: true}}},
		}}}},
		Workloads: []inventory.Workload{{Kind: "Job", Namespace: "ops", Name: "app", Allowed: true,
			Containers: []inventory.Container{{Name: "app", Image: "example.test/app:1", Digest: app}}}},
	}
	for ref, want := range map[string]int{
		"debian:12": 1, "docker.io/library/debian:12": 1, "index.docker.io/library/debian:12": 1,
		"debian:12.7": 0, "debian-slim:12": 0, "other.registry/debian:12": 0,
	} {
		r, err := ParseRef(ref)
		if err != nil {
			t.Fatalf("ParseRef(%q) = %v", ref, err)
		}
		if got := len(Uses(inv, r)); got != want {
			t.Errorf("Uses(%s) lists %d images, want %d", ref, got, want)
		}
	}
}

// docs/graph.md: the --uses table replaces control characters with spaces.
func TestGraphDocumentUsesTableReplacesControlCharacters(t *testing.T) {
	t.Parallel()
	testutil.DocStates(t, graphDoc, "The `--uses` table replaces control characters with spaces.")
	var b bytes.Buffer
	if err := WriteUsesText(&b, "base", []Use{{Base: "base\x1b[2J", BaseDigest: "sha256:00", Current: true, Image: "app\r\u0085:1", ImageDigest: "sha256:01", Workloads: []string{"ns/Pod/a\tb"}}}); err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(b.String(), "\x1b\r\t\u0085") || !strings.Contains(b.String(), "base [2J") || !strings.Contains(b.String(), "app  :1") {
		t.Errorf("WriteUsesText() = %q, want each control character a space", b.String())
	}
}

// docs/graph.md's Tests section: the family's two registries, its
// namespaces and its goldens; and a workload whose image did not resolve
// has no runs edge and an image-resolution violation.
func TestGraphDocumentDescribesTheFamily(t *testing.T) {
	t.Parallel()
	testutil.DocStates(t, graphDoc,
		"served under fixed names (`"+graphtest.Host+"`, `"+graphtest.MirrorHost+"`)",
		"ten applications and twelve workloads in `shop` and `ops`",
		"The goldens (`webhook/graph/testdata/family.{dot,mmd,json,uses.txt,uses.json}`) are rewritten with `go test ./webhook/graph/ -update`",
		"A workload whose images did not resolve has no `runs` edge and its violations (`image-resolution`) say why.",
	)
	for _, ext := range []string{"dot", "mmd", "json", "uses.txt", "uses.json"} {
		if _, err := os.Stat("testdata/family." + ext); err != nil {
			t.Errorf("the golden family.%s: %v", ext, err)
		}
	}
	if flag.Lookup("update") == nil {
		t.Error("the package's tests take no -update flag")
	}
	g := FromInventory(family(t), Options{})
	runs := map[string]bool{}
	for _, e := range g.Edges {
		if e.Kind == EdgeRuns {
			runs[e.From] = true
		}
	}
	var unresolved int
	for _, n := range g.Nodes {
		if n.Kind != KindWorkload {
			continue
		}
		if n.Namespace != "shop" && n.Namespace != "ops" {
			t.Errorf("the family's workload %s is in %s, want shop or ops", n.ID, n.Namespace)
		}
		if !runs[n.ID] {
			unresolved++
			if !slices.Contains(n.Policies, "image-resolution") {
				t.Errorf("%s runs no image, and its policies %v do not say why (image-resolution)", n.ID, n.Policies)
			}
		}
	}
	if unresolved == 0 {
		t.Error("no workload of the family runs an image that did not resolve")
	}
}
