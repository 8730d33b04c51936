//go:build e2e

package e2e

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/strata-project/strata/webhook/graph"
)

// strata graph reads a real API server: the workloads of two namespaces
// (a Deployment's replica pods under it, not beside it), the images they
// run, the bases those are built on; -n reads one namespace; --uses lists
// the workload on the outdated digest of base/debian:12 first.
func TestGraphAgainstAnAPIServer(t *testing.T) {
	showLogsOnFailure(t)
	ctx := t.Context()
	workloads := []placed{
		{"graph-shop", "Deployment", "web", demoImage("shop/web:1.0")},
		{"graph-shop", "Deployment", "billing", demoImage("shop/billing:1.0")},
		{"graph-team", "StatefulSet", "legacy", demoImage("shop/legacy:1.0")},
		{"graph-team", "CronJob", "report", demoImage("shop/report:1.0")},
	}
	createWorkloads(ctx, t, []string{"graph-shop", "graph-team"}, workloads)
	createReplicas(ctx, t, "graph-shop", "web", 2)

	var g graph.Graph
	runGraph(ctx, t, &g, "-A", "-o", "json")
	var got []string
	for _, n := range g.Nodes {
		if n.Kind == graph.KindWorkload && strings.HasPrefix(n.Namespace, "graph-") {
			got = append(got, n.Label)
		}
	}
	slices.Sort(got)
	want := []string{"graph-shop/Deployment/billing", "graph-shop/Deployment/web", "graph-team/CronJob/report", "graph-team/StatefulSet/legacy"}
	if !slices.Equal(got, want) {
		t.Errorf("strata graph -A workloads of the graph namespaces = %v, want %v: one per owner, no ReplicaSet, no pod", got, want)
	}
	billing := slices.IndexFunc(g.Nodes, func(n graph.Node) bool { return n.Label == demoImage("shop/billing:1.0") })
	if billing < 0 || !g.Nodes[billing].Stale || !slices.Contains(g.Edges, graph.Edge{From: "workload:graph-shop/Deployment/billing", To: g.Nodes[billing].ID, Kind: graph.EdgeRuns}) {
		t.Errorf("strata graph -A: billing's image should be stale, run by graph-shop's billing; nodes %+v", g.Nodes)
	}

	g = graph.Graph{}
	runGraph(ctx, t, &g, "-n", "graph-team", "-o", "json")
	for _, n := range g.Nodes {
		if n.Kind == graph.KindWorkload && n.Namespace != "graph-team" {
			t.Errorf("strata graph -n graph-team drew %s", n.Label)
		}
	}

	var uses []graph.Use
	runGraph(ctx, t, &uses, "-n", "graph-shop", "--uses", demoImage("base/debian:12"), "-o", "json")
	if len(uses) != 2 || uses[0].Current || uses[0].Image != demoImage("shop/billing:1.0") || !slices.Equal(uses[0].Workloads, []string{"graph-shop/Deployment/billing"}) ||
		!uses[1].Current || uses[1].Image != demoImage("shop/web:1.0") {
		t.Errorf("strata graph --uses base/debian:12 = %+v, want billing on the outdated digest first, then web on the current one", uses)
	}
}

// runGraph runs the strata binary's graph against the suite's API server
// and decodes its JSON into v.
func runGraph(ctx context.Context, t *testing.T, v any, args ...string) {
	t.Helper()
	runDemoCommand(ctx, t, v, "graph", args...)
}
