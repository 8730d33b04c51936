//go:build browser

package browser

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/strata-project/strata/webhook/graph"
)

// digest is a stable, made-up sha256 digest for a name.
func digest(name string) string {
	sum := sha256.Sum256([]byte(name))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// The family drawn in the page tests: three bases (debian:12, whose tag
// moved, temurin:21 built on its old digest, alpine:3.20), ten images and
// workloads in two namespaces. It is written by hand, as strata graph -o
// json writes a Graph, so that the page is tested on its own.
const reg = "registry.example"

var (
	debianOld = digest("debian:12 before the patch")
	debianNew = digest("debian:12 patched")
	temurin   = digest("temurin:21")
	alpine    = digest("alpine:3.20")
)

// patchedBase is the node a team clicks the day debian:12 is patched: the
// digest its images are still built on.
var patchedBase = "base:" + debianOld

// builtOnPatched is everything built on patchedBase, transitively, and the
// workloads that run it: what a click must highlight, besides the base.
var builtOnPatched = []string{
	"base:" + temurin,
	image("shop/web:1.0"), image("shop/report:1.0"), image("shop/billing:1.0"), image("payments/api:4.2"),
	"workload:shop/Deployment/web", "workload:shop/Deployment/report", "workload:shop/CronJob/billing",
	"workload:payments/Deployment/api",
}

// workloadsOnPatched are the workloads the selection lists for patchedBase.
var workloadsOnPatched = []string{"payments/Deployment/api", "shop/CronJob/billing", "shop/Deployment/report", "shop/Deployment/web"}

func image(repo string) string { return "image:" + digest(repo) }

func family() *graph.Graph {
	g := &graph.Graph{SchemaVersion: 1}
	base := func(ref, dg, role string, level int, stale bool, current string) {
		g.Nodes = append(g.Nodes, graph.Node{
			ID: "base:" + dg, Kind: graph.KindBase, Label: reg + "/" + ref, Refs: []string{reg + "/" + ref},
			Digest: dg, Role: role, Level: level, Stale: stale, CurrentDigest: current,
		})
	}
	base("base/debian:12", debianOld, "os", 0, true, debianNew)
	base("base/debian:12", debianNew, "os", 0, false, "")
	base("base/temurin:21", temurin, "runtime", 1, true, "")
	base("base/alpine:3.20", alpine, "os", 0, false, "")
	g.Edges = append(g.Edges, graph.Edge{From: "base:" + temurin, To: "base:" + debianOld, Kind: graph.EdgeBuiltOn})

	type img struct {
		repo       string
		on         string // base digest, "" for none
		level      int
		stale      bool
		violations int
		denied     bool
	}
	imgs := []img{
		{"shop/web:1.0", temurin, 2, true, 0, false},
		{"shop/report:1.0", temurin, 2, true, 1, false},
		{"shop/billing:1.0", debianOld, 1, true, 0, false},
		{"shop/cart:2.1", debianNew, 1, false, 0, false},
		{"shop/search:3", debianNew, 1, false, 0, false},
		{"payments/api:4.2", debianOld, 1, true, 2, true},
		{"payments/worker:4.2", debianNew, 1, false, 0, false},
		{"tools/busybox:1.36", alpine, 1, false, 0, false},
		{"tools/proxy:1.0", alpine, 1, false, 1, true},
		{"legacy/unknown:0.9", "", 0, false, 1, true},
	}
	for _, i := range imgs {
		n := graph.Node{
			ID: image(i.repo), Kind: graph.KindImage, Label: reg + "/" + i.repo, Refs: []string{reg + "/" + i.repo},
			Digest: digest(i.repo), Role: "app", Level: i.level, Stale: i.stale, Violations: i.violations, Denied: i.denied,
		}
		if i.violations > 0 {
			n.Policies = []string{"non-root"}
		}
		g.Nodes = append(g.Nodes, n)
		if i.on != "" {
			g.Edges = append(g.Edges, graph.Edge{From: n.ID, To: "base:" + i.on, Kind: graph.EdgeBuiltOn})
		}
	}
	workload := func(ns, kind, name string, level int, runs ...string) {
		id := fmt.Sprintf("workload:%s/%s/%s", ns, kind, name)
		g.Nodes = append(g.Nodes, graph.Node{ID: id, Kind: graph.KindWorkload, Label: kind + "/" + name, Namespace: ns, Level: level})
		for _, r := range runs {
			g.Edges = append(g.Edges, graph.Edge{From: id, To: image(r), Kind: graph.EdgeRuns})
		}
	}
	workload("shop", "Deployment", "web", 3, "shop/web:1.0")
	workload("shop", "Deployment", "report", 3, "shop/report:1.0")
	workload("shop", "CronJob", "billing", 2, "shop/billing:1.0")
	workload("shop", "Deployment", "cart", 2, "shop/cart:2.1", "tools/busybox:1.36")
	workload("shop", "StatefulSet", "search", 2, "shop/search:3")
	workload("payments", "Deployment", "api", 2, "payments/api:4.2")
	workload("payments", "Deployment", "worker", 2, "payments/worker:4.2", "tools/proxy:1.0")
	workload("payments", "DaemonSet", "legacy", 1, "legacy/unknown:0.9")

	use := func(ref, base, img string, ws ...string) graph.Use {
		return graph.Use{Base: reg + "/" + ref, BaseDigest: base, Current: false, CurrentDigest: debianNew,
			Image: reg + "/" + img, ImageDigest: digest(img), Workloads: ws}
	}
	g.Rebuild = []graph.Use{
		use("base/debian:12", debianOld, "payments/api:4.2", "payments/Deployment/api"),
		use("base/debian:12", debianOld, "shop/billing:1.0", "shop/CronJob/billing"),
		use("base/debian:12", debianOld, "shop/report:1.0", "shop/Deployment/report"),
		use("base/debian:12", debianOld, "shop/web:1.0", "shop/Deployment/web"),
	}
	return g
}

// big is a graph the size of a large cluster: bases in three levels, then
// images on them, then workloads each running one or two images.
func big(images, workloads int) *graph.Graph {
	g := &graph.Graph{SchemaVersion: 1}
	var bases []string
	for i := range 40 {
		level := i / 14 // 14 OS bases, 14 runtimes, 12 frameworks
		dg := digest(fmt.Sprintf("base-%d", i))
		n := graph.Node{ID: "base:" + dg, Kind: graph.KindBase, Label: fmt.Sprintf("%s/base/b%d:1", reg, i),
			Refs: []string{fmt.Sprintf("%s/base/b%d:1", reg, i)}, Digest: dg, Role: "os", Level: level, Stale: i%9 == 0}
		g.Nodes = append(g.Nodes, n)
		if level > 0 {
			g.Edges = append(g.Edges, graph.Edge{From: n.ID, To: bases[i%14+(level-1)*14], Kind: graph.EdgeBuiltOn})
		}
		bases = append(bases, n.ID)
	}
	for i := range images {
		dg := digest(fmt.Sprintf("image-%d", i))
		ref := fmt.Sprintf("%s/team%d/app%d:1.%d", reg, i%50, i, i%7)
		n := graph.Node{ID: "image:" + dg, Kind: graph.KindImage, Label: ref, Refs: []string{ref}, Digest: dg, Role: "app", Level: 3}
		if i%11 == 0 {
			n.Violations, n.Policies = 1, []string{"non-root"}
		}
		g.Nodes = append(g.Nodes, n)
		g.Edges = append(g.Edges, graph.Edge{From: n.ID, To: bases[i%len(bases)], Kind: graph.EdgeBuiltOn})
	}
	for i := range workloads {
		ns := fmt.Sprintf("ns%d", i%60)
		id := fmt.Sprintf("workload:%s/Deployment/w%d", ns, i)
		g.Nodes = append(g.Nodes, graph.Node{ID: id, Kind: graph.KindWorkload, Label: fmt.Sprintf("Deployment/w%d", i), Namespace: ns, Level: 4})
		g.Edges = append(g.Edges, graph.Edge{From: id, To: g.Nodes[40+i%images].ID, Kind: graph.EdgeRuns})
		if i%3 == 0 {
			g.Edges = append(g.Edges, graph.Edge{From: id, To: g.Nodes[40+(i*7+1)%images].ID, Kind: graph.EdgeRuns})
		}
	}
	return g
}
