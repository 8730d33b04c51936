package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/strata-project/strata/webhook/demo"
	"github.com/strata-project/strata/webhook/graph"
)

func graphJSON(t *testing.T, args ...string) *graph.Graph {
	t.Helper()
	code, out, errOut := runStrata(t, append([]string{"graph"}, args...)...)
	if code != 0 {
		t.Fatalf("strata graph %s = exit %d, stderr %q", strings.Join(args, " "), code, errOut)
	}
	var g graph.Graph
	if err := json.Unmarshal([]byte(out), &g); err != nil {
		t.Fatalf("strata graph %s -o json: %v\n%s", strings.Join(args, " "), err, out)
	}
	return &g
}

func nodeLabels(g *graph.Graph, kind graph.Kind) []string {
	var out []string
	for _, n := range g.Nodes {
		if n.Kind == kind {
			out = append(out, strings.TrimPrefix(n.Label, demo.Host+"/"))
		}
	}
	slices.Sort(out)
	return out
}

// strata graph --demo draws the demo's own workloads without a cluster:
// every application of the family, both digests of the moved
// base/debian:12, and workloads in two namespaces.
func TestGraphDemoDrawsWithoutACluster(t *testing.T) {
	t.Parallel()
	g := graphJSON(t, "--demo", "-o", "json")
	if got, want := nodeLabels(g, graph.KindImage), []string{"shop/admin:1.0", "shop/billing:1.0", "shop/legacy:1.0", "shop/report:1.0", "shop/web:1.0"}; !slices.Equal(got, want) {
		t.Errorf("images = %v, want %v", got, want)
	}
	if got, want := nodeLabels(g, graph.KindWorkload), []string{
		"shop/CronJob/report", "shop/Deployment/admin", "shop/Deployment/billing", "shop/Deployment/web", "team/Deployment/storefront", "team/StatefulSet/legacy",
	}; !slices.Equal(got, want) {
		t.Errorf("workloads = %v, want %v", got, want)
	}
	var debian []graph.Node
	for _, n := range g.Nodes {
		if n.Kind == graph.KindBase && strings.HasPrefix(n.Label, demo.Host+"/base/debian:12@") {
			debian = append(debian, n)
		}
	}
	if len(debian) != 2 || debian[0].Stale == debian[1].Stale {
		t.Errorf("base/debian:12 nodes = %+v, want two: the current digest and the stale one", debian)
	}
	if g.SchemaVersion != graph.SchemaVersion || len(g.Rebuild) == 0 {
		t.Errorf("schemaVersion %d, rebuild %v; want %d and billing to rebuild", g.SchemaVersion, g.Rebuild, graph.SchemaVersion)
	}

	for _, tc := range []struct{ output, prefix string }{{"dot", "digraph strata {\n"}, {"mermaid", "flowchart BT\n"}} {
		code, out, errOut := runStrata(t, "graph", "--demo", "-o", tc.output)
		if code != 0 || !strings.HasPrefix(out, tc.prefix) || !strings.Contains(out, "shop/billing:1.0") || errOut != "" {
			t.Errorf("strata graph --demo -o %s = exit %d, stderr %q, output starting %.60q; want %q and the family", tc.output, code, errOut, out, tc.prefix)
		}
	}
}

// The day base/debian:12 is patched: billing is on the old digest (and
// listed first, with a rebuild line), web on the current one.
func TestGraphUsesListsTheRebuildOfAPatchedBase(t *testing.T) {
	t.Parallel()
	debian := demo.Host + "/base/debian:12"
	code, out, errOut := runStrata(t, "graph", "--demo", "--uses", debian)
	if code != 0 {
		t.Fatalf("strata graph --uses = exit %d, stderr %q", code, errOut)
	}
	lines := strings.Split(out, "\n")
	if !strings.HasPrefix(lines[0], "BASE ") || !strings.Contains(lines[1], "shop/billing:1.0") || !strings.Contains(lines[1], " no, now sha256:") {
		t.Errorf("strata graph --uses %s: want the header, then billing on the outdated digest; got:\n%s", debian, out)
	}
	if !strings.Contains(out, "\nrebuild "+demo.Host+"/shop/billing:1.0 (sha256:") || strings.Count(out, "\nrebuild ") != 1 {
		t.Errorf("strata graph --uses %s: want one rebuild line, billing's; got:\n%s", debian, out)
	}

	code, out, errOut = runStrata(t, "graph", "--demo", "--uses", debian, "-o", "json")
	var uses []graph.Use
	if err := json.Unmarshal([]byte(out), &uses); code != 0 || err != nil {
		t.Fatalf("strata graph --uses -o json = exit %d, %v, stderr %q", code, err, errOut)
	}
	if len(uses) == 0 || uses[0].Current || uses[0].Image != demo.Host+"/shop/billing:1.0" ||
		!slices.Equal(uses[0].Workloads, []string{"shop/Deployment/billing", "team/Deployment/storefront"}) {
		t.Errorf("uses = %+v, want billing first, outdated, run by shop's billing and team's storefront", uses)
	}

	code, out, _ = runStrata(t, "graph", "--demo", "--uses", demo.Host+"/base/debian-slim:12")
	if code != 0 || out != "nothing here is built on "+demo.Host+"/base/debian-slim:12\n" {
		t.Errorf("strata graph --uses a base nothing is on = exit %d, %q", code, out)
	}
}

func TestGraphFiltersManifestsByNamespaceAndViolations(t *testing.T) {
	t.Parallel()
	g := graphJSON(t, "--demo", "-f", examples, "-n", "shop", "--violations", "-o", "json")
	for _, n := range g.Nodes {
		if n.Kind == graph.KindWorkload && (n.Namespace != "shop" || n.Violations == 0) {
			t.Errorf("workload %s: want only shop's, with violations", n.Label)
		}
	}
	if got := nodeLabels(g, graph.KindImage); !slices.Contains(got, "shop/admin:1.0") || slices.Contains(got, "shop/web:1.0") {
		t.Errorf("images = %v, want admin (root) and not web (compliant)", got)
	}
}

func TestGraphRefusesWhatItCannotDo(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
contexts: [{name: c, context: {cluster: c, user: u, namespace: shop}}]
current-context: c
users: [{name: u, user: {token: not-a-secret}}]
`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--demo", "-o", "png"}, 2, `-o "png": want dot or mermaid or json`},
		{[]string{"--demo", "--uses", "debian:12", "-o", "dot"}, 2, `-o "dot": want text or json`},
		{[]string{"--demo", "--uses", "debian:12", "--base", "debian:12"}, 2, "takes no --base"},
		{[]string{"--demo", "--uses", "Debian:12"}, 2, "--uses: base \"Debian:12\""},
		{[]string{"--demo", "--base", "sha256:0"}, 2, "--base: base \"sha256:0\""},
		{[]string{"--demo", "--mode", "strict"}, 2, `--mode "strict"`},
		{[]string{"-f", examples, "--kubeconfig", kubeconfig}, 2, "give one source"},
		{[]string{"--demo", "-l", "app=web"}, 2, "-l selects a cluster's workloads"},
		{[]string{"-f", examples, "-l", "app=web"}, 2, "-l selects a cluster's workloads"},
		{[]string{"extra"}, 2, `unexpected argument "extra"`},
		{[]string{"--kubeconfig", filepath.Join(dir, "none")}, 2, "or draw manifests with -f, or the demo with --demo"},
		// The cluster path with the real listing: the API server does not
		// answer.
		{[]string{"--kubeconfig", kubeconfig, "--pull-secrets=false"}, 2, "listing the workloads of namespace shop: "},
	} {
		code, out, errOut := runStrata(t, append([]string{"graph"}, tc.args...)...)
		if code != tc.code || !strings.Contains(errOut, tc.want) || out != "" {
			t.Errorf("strata graph %s = exit %d, stdout %q, stderr %q; want exit %d and %q", strings.Join(tc.args, " "), code, out, errOut, tc.code, tc.want)
		}
	}
}

// With manifests, -n is kubectl apply's: objects that name no namespace
// are in it (and only it is drawn); without -n they are in default.
func TestGraphNamespaceIsTheOneOfObjectsThatNameNone(t *testing.T) {
	t.Parallel()
	const pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: admin}\nspec:\n  containers: [{name: admin, image: strata-demo.local/shop/admin:1.0}]\n"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-n", "team"}, "team/Pod/admin"},
		{nil, "default/Pod/admin"},
	} {
		args := append([]string{"graph", "--demo", "-f", "-", "-o", "json"}, tc.args...)
		code, out, errOut := runStrataStdin(t, pod, args...)
		var g graph.Graph
		if err := json.Unmarshal([]byte(out), &g); code != 0 || err != nil {
			t.Fatalf("strata %s = exit %d, %v, stderr %q", strings.Join(args, " "), code, err, errOut)
		}
		if got := nodeLabels(&g, graph.KindWorkload); !slices.Equal(got, []string{tc.want}) {
			t.Errorf("strata %s workloads = %v, want %s", strings.Join(args, " "), got, tc.want)
		}
	}
}
