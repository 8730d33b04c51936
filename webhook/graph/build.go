package graph

import (
	"cmp"
	"slices"
	"strings"

	"github.com/strata-project/strata/webhook/images"
	"github.com/strata-project/strata/webhook/internal/uniq"
	"github.com/strata-project/strata/webhook/inventory"
	"github.com/strata-project/strata/webhook/policy"
)

// SchemaVersion is Graph.SchemaVersion of what this package writes.
const SchemaVersion = 1

// Options select the part of an inventory FromInventory draws. The zero
// value draws everything.
type Options struct {
	// Base, when set, keeps only the subgraph above one base (a tag, a
	// digest or repo@digest, as Uses reads it): the base, what is built on
	// it, and the workloads that run those images.
	Base string
	// Namespace, when set, keeps only the workloads of that namespace and
	// what they run. A cluster source filters by namespace already; this
	// filters manifests too.
	Namespace string
	// Violations keeps only what fails: workloads and images with
	// violations, and the bases those images are built on.
	Violations bool
}

// FromInventory draws an inventory: one base node per base digest (and per
// digest a moved tag points to now), one image node per image digest, one
// workload node per evaluated workload, with "built on" and "runs" edges,
// and the rebuild list of every outdated base. A multi-platform image has
// a chain per platform, and bases are platform manifests: each platform's
// base is its own node, under its real digest, with Platforms saying which
// platform it serves. Workloads of exempt namespaces are not evaluated and
// not drawn. A Base that ParseRef refuses keeps nothing: check it first.
func FromInventory(inv *inventory.Inventory, opts Options) *Graph {
	b := &builder{inv: inv, nodes: map[string]*Node{}, edges: map[Edge]bool{}}
	b.bases()
	b.images()
	b.workloads()
	g := &Graph{SchemaVersion: SchemaVersion, Nodes: []Node{}, Edges: []Edge{}, Rebuild: Rebuild(inv)}
	keep := func(string) bool { return true }
	if opts.Base != "" || opts.Namespace != "" || opts.Violations {
		kept := b.filter(opts)
		keep = func(id string) bool { return kept[id] }
	}
	for id, n := range b.nodes {
		if keep(id) {
			g.Nodes = append(g.Nodes, *n)
		}
	}
	for e := range b.edges {
		if keep(e.From) && keep(e.To) {
			g.Edges = append(g.Edges, e)
		}
	}
	g.Rebuild = slices.DeleteFunc(g.Rebuild, func(u Use) bool { return !keep(imageID(u.ImageDigest)) })
	b.levels(g)
	slices.SortFunc(g.Nodes, func(x, y Node) int {
		return cmp.Or(cmp.Compare(x.Level, y.Level), cmp.Compare(kindOrder(x.Kind), kindOrder(y.Kind)), cmp.Compare(x.ID, y.ID))
	})
	slices.SortFunc(g.Edges, func(x, y Edge) int {
		return cmp.Or(cmp.Compare(x.Kind, y.Kind), cmp.Compare(x.From, y.From), cmp.Compare(x.To, y.To))
	})
	return g
}

func baseID(d string) string     { return "base:" + d }
func imageID(d string) string    { return "image:" + d }
func workloadID(w string) string { return "workload:" + w }

// workloadName is "<namespace>/<kind>/<name>", as Use and node IDs write it.
func workloadName(w inventory.Workload) string {
	return w.Namespace + "/" + w.Kind + "/" + w.Name
}

// kindOf is the kind an ID names.
func kindOf(id string) Kind {
	k, _, _ := strings.Cut(id, ":")
	return Kind(k)
}

func kindOrder(k Kind) int {
	return slices.Index([]Kind{KindBase, KindImage, KindWorkload}, k)
}

// builder collects nodes and edges, each once.
type builder struct {
	inv   *inventory.Inventory
	nodes map[string]*Node
	edges map[Edge]bool
	// above maps a base's node ID to the node IDs built on it, directly
	// or not (bases and images), for the --base filter.
	above map[string][]string
}

func (b *builder) bases() {
	for _, base := range b.inv.Bases {
		d := base.Digest.String()
		n := &Node{
			ID: baseID(d), Kind: KindBase, Refs: slices.Clone(base.Refs), Digest: d, Role: base.Role,
			Stale: !base.Current, CurrentDigest: zeroless(base.CurrentDigest),
		}
		n.Label = baseLabel(n, base.MovedTag)
		b.nodes[n.ID] = n
	}
	// The digest a moved tag points to now is drawn even when nothing
	// here is built on it, so that the stale node has its successor.
	for _, base := range b.inv.Bases {
		if base.Current || base.CurrentDigest.IsZero() {
			continue
		}
		id := baseID(base.CurrentDigest.String())
		if n, ok := b.nodes[id]; ok {
			if base.MovedTag != "" && !slices.Contains(n.Refs, base.MovedTag) {
				n.Refs = append(n.Refs, base.MovedTag)
				slices.Sort(n.Refs)
			}
			continue
		}
		n := &Node{ID: id, Kind: KindBase, Digest: base.CurrentDigest.String(), Role: base.Role}
		if base.MovedTag != "" {
			n.Refs = []string{base.MovedTag}
		}
		n.Label = baseLabel(n, "")
		b.nodes[id] = n
	}
}

// baseLabel names a base by its tag and a short digest: the two digests of
// a moved tag share the tag and differ by digest. A stale base goes by the
// tag that moved.
func baseLabel(n *Node, movedTag string) string {
	name := movedTag
	if name == "" && len(n.Refs) > 0 {
		name = n.Refs[0]
	}
	if name == "" {
		return short(n.Digest)
	}
	return name + "@" + short(n.Digest)
}

// short is a digest's algorithm and first 12 hex digits.
func short(d string) string {
	if len(d) > len("sha256:")+12 {
		return d[:len("sha256:")+12]
	}
	return d
}

func zeroless(d images.Digest) string {
	if d.IsZero() {
		return ""
	}
	return d.String()
}

func (b *builder) images() {
	b.above = map[string][]string{}
	for _, img := range b.inv.Images {
		d := img.Digest.String()
		n := &Node{ID: imageID(d), Kind: KindImage, Label: img.Ref, Refs: slices.Clone(img.Refs), Digest: d, Role: "app"}
		for _, p := range img.Platforms {
			if p.Platform != "" && !slices.Contains(n.Platforms, p.Platform) {
				n.Platforms = append(n.Platforms, p.Platform)
			}
			if self := p.Lineage.Self; self != nil {
				n.Role = cmp.Or(self.Role, n.Role)
				// A workload running a base whose tag moved runs an
				// outdated image too.
				n.Stale = n.Stale || !self.Current
				// --base on this base keeps a workload that runs it.
				b.above[baseID(self.Digest.String())] = uniq.Append(b.above[baseID(self.Digest.String())], n.ID)
			}
			chain := p.Lineage.Chain
			from := n.ID
			for i := len(chain) - 1; i >= 0; i-- {
				to := baseID(chain[i].Digest.String())
				b.edges[Edge{From: from, To: to, Kind: EdgeBuiltOn}] = true
				from = to
				if !chain[i].Current {
					n.Stale = true
				}
				if base := b.nodes[to]; base != nil && p.Platform != "" && !slices.Contains(base.Platforms, p.Platform) {
					base.Platforms = append(base.Platforms, p.Platform)
					slices.Sort(base.Platforms)
				}
				for _, up := range chain[i+1:] {
					b.above[to] = uniq.Append(b.above[to], baseID(up.Digest.String()))
				}
				b.above[to] = uniq.Append(b.above[to], n.ID)
			}
		}
		slices.Sort(n.Platforms)
		b.nodes[n.ID] = n
	}
}

func (b *builder) workloads() {
	for _, w := range b.inv.Workloads {
		if w.Exempt {
			continue
		}
		name := workloadName(w)
		n := &Node{
			ID: workloadID(name), Kind: KindWorkload, Label: name, Namespace: w.Namespace,
			Violations: len(w.Violations), Denied: !w.Allowed, Policies: policiesOf(w.Violations),
		}
		b.nodes[n.ID] = n
		for _, c := range w.Containers {
			if c.Digest.IsZero() {
				continue
			}
			img := b.nodes[imageID(c.Digest.String())]
			if img == nil {
				continue
			}
			b.edges[Edge{From: n.ID, To: img.ID, Kind: EdgeRuns}] = true
			for _, v := range w.Violations {
				if v.Container != c.Name {
					continue
				}
				img.Violations++
				img.Denied = img.Denied || v.Action == policy.Enforce
				img.Policies = uniq.Append(img.Policies, v.Policy)
			}
			slices.Sort(img.Policies)
		}
	}
}

func policiesOf(vs []policy.Violation) []string {
	var out []string
	for _, v := range vs {
		out = uniq.Append(out, v.Policy)
	}
	slices.Sort(out)
	return out
}

// filter returns the IDs of the nodes opts keeps.
func (b *builder) filter(opts Options) map[string]bool {
	kept := map[string]bool{}
	for id := range b.nodes {
		kept[id] = true
	}
	runs := map[string][]string{} // workload → images
	for e := range b.edges {
		if e.Kind == EdgeRuns {
			runs[e.From] = append(runs[e.From], e.To)
		}
	}
	// Each filter keeps images and bases only as far as the workloads and
	// images it keeps reach them.
	if opts.Base != "" {
		m, err := ParseRef(opts.Base)
		above := map[string]bool{}
		for _, base := range candidates(b.inv) {
			if _, ok := m.match(base); ok && err == nil {
				id := baseID(base.Digest.String())
				above[id] = true
				for _, up := range b.above[id] {
					above[up] = true
				}
			}
		}
		for id, n := range b.nodes {
			switch n.Kind {
			case KindBase, KindImage:
				kept[id] = kept[id] && above[id]
			case KindWorkload:
				kept[id] = kept[id] && slices.ContainsFunc(runs[id], func(img string) bool { return above[img] })
			}
		}
	}
	if opts.Namespace != "" {
		b.keepReached(kept, runs, func(n *Node) bool { return n.Namespace == opts.Namespace })
	}
	if opts.Violations {
		b.keepReached(kept, runs, func(n *Node) bool { return n.Violations > 0 || n.Denied })
		for id, n := range b.nodes {
			if n.Kind == KindImage && n.Violations == 0 {
				kept[id] = false
			}
		}
		b.keepBasesUnder(kept)
	}
	return kept
}

// keepReached keeps the workloads for which want holds, then only the
// images they run and the bases those are built on.
func (b *builder) keepReached(kept map[string]bool, runs map[string][]string, want func(*Node) bool) {
	reached := map[string]bool{}
	for id, n := range b.nodes {
		if n.Kind != KindWorkload {
			continue
		}
		kept[id] = kept[id] && want(n)
		if kept[id] {
			for _, img := range runs[id] {
				reached[img] = true
			}
		}
	}
	for id, n := range b.nodes {
		if n.Kind == KindImage {
			kept[id] = kept[id] && reached[id]
		}
	}
	b.keepBasesUnder(kept)
}

// keepBasesUnder keeps only the bases that a kept image is built on,
// directly or not.
func (b *builder) keepBasesUnder(kept map[string]bool) {
	under := map[string]bool{}
	for base, ups := range b.above {
		if slices.ContainsFunc(ups, func(id string) bool { return kept[id] && b.nodes[id].Kind == KindImage }) {
			under[base] = true
		}
	}
	for id, n := range b.nodes {
		if n.Kind == KindBase && !under[id] {
			// A moved tag's current digest has nothing built on it here; it
			// stays beside its stale predecessor.
			kept[id] = kept[id] && b.successorOfKept(id, under)
		}
	}
}

func (b *builder) successorOfKept(id string, under map[string]bool) bool {
	for other, n := range b.nodes {
		if n.Kind == KindBase && n.Stale && baseID(n.CurrentDigest) == id && under[other] {
			return true
		}
	}
	return false
}

// levels places each kept node: roots 0, a node built on bases one below
// the deepest of them, a workload one below the deepest image it runs; an
// image is at least at 1 and a workload at 2, whether or not what they are
// built on or run is known. A moved tag's current digest with
// nothing drawn under it sits beside its stale predecessor.
func (b *builder) levels(g *Graph) {
	parents := map[string][]string{}
	for _, e := range g.Edges {
		parents[e.From] = append(parents[e.From], e.To)
	}
	level := map[string]int{}
	var visit func(id string, depth int) int
	visit = func(id string, depth int) int {
		if l, ok := level[id]; ok {
			return l
		}
		l := 0
		if depth <= len(g.Nodes) { // a cycle cannot come from lineage; bounded anyway
			for _, p := range parents[id] {
				l = max(l, visit(p, depth+1)+1)
			}
		}
		if kindOf(id) == KindImage {
			l = max(l, 1) // built on something, known or not: not a root
		}
		level[id] = l
		return l
	}
	for i := range g.Nodes {
		n := &g.Nodes[i]
		n.Level = visit(n.ID, 0)
		if n.Kind == KindWorkload {
			n.Level = max(n.Level, 2) // one that runs no resolved image
		}
	}
	for i := range g.Nodes {
		n := &g.Nodes[i]
		if n.Kind != KindBase || len(parents[n.ID]) > 0 {
			continue
		}
		for _, m := range g.Nodes {
			if m.Stale && m.Kind == KindBase && m.CurrentDigest == n.Digest {
				n.Level = max(n.Level, m.Level)
			}
		}
	}
}
