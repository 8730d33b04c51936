package main

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/strata-project/strata/internal/testutil"
	"github.com/strata-project/strata/webhook/graph"
)

// From a cluster: the listing is asked for the kubeconfig's namespace, or
// -n's, or every one with -A, with -l's selector; what it lists is drawn
// (exempt namespaces left out), and a listing error says what to check.
func TestGraphDrawsWhatTheClusterListing(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args            []string
		namespace       string
		drawn, notDrawn string
	}{
		// The fake lists every namespace whatever it is asked: only the one
		// asked for is drawn.
		{nil, "team", "team/Deployment/root", "shop/Deployment/web"}, // the kubeconfig context's
		{[]string{"-n", "shop", "-l", "app=web"}, "shop", "shop/Deployment/web", "team/Deployment/root"},
		{[]string{"-A"}, "", "team/Deployment/root", "kube-system/Deployment/agent"},
	} {
		f := &fakeCluster{}
		code, out, errOut := runGraphOn(t.Context(), t, f, append(tc.args, "-o", "json")...)
		var g graph.Graph
		if err := json.Unmarshal([]byte(out), &g); code != 0 || err != nil {
			t.Fatalf("strata graph %v = exit %d, %v, stderr %q", tc.args, code, err, errOut)
		}
		wantSelector := ""
		if slices.Contains(tc.args, "-l") {
			wantSelector = "app=web"
		}
		if len(f.asked) != 1 || f.asked[0].Namespace != tc.namespace || f.asked[0].Selector != wantSelector {
			t.Errorf("strata graph %v listed with %+v, want namespace %q, selector %q", tc.args, f.asked, tc.namespace, wantSelector)
		}
		workloads := nodeLabels(&g, graph.KindWorkload)
		if !slices.Contains(workloads, tc.drawn) || slices.Contains(workloads, tc.notDrawn) || slices.Contains(workloads, "kube-system/Deployment/agent") {
			t.Errorf("strata graph %v workloads = %v, want %s, not %s, nothing of the exempt kube-system", tc.args, workloads, tc.drawn, tc.notDrawn)
		}
	}

	f := &fakeCluster{err: errors.New("forbidden")}
	code, out, errOut := runGraphOn(t.Context(), t, f, "-A")
	if code != 2 || out != "" || !strings.Contains(errOut, "listing the workloads of every namespace: forbidden: check that strata may list pods") {
		t.Errorf("strata graph -A with a failing listing = exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

// graph reads ./strata.yaml when --config is not given, and says so: its
// exemptions decide what is drawn as they decide what the webhook checks.
func TestGraphReadsLocalConfig(t *testing.T) {
	dir := t.TempDir()
	testutil.WriteFile(t, dir, "strata.yaml", "exempt:\n  namespaces: [shop]\n")
	t.Chdir(dir)
	code, out, errOut := runStrata(t, "graph", "--demo", "-o", "json")
	var g graph.Graph
	if err := json.Unmarshal([]byte(out), &g); code != 0 || err != nil {
		t.Fatalf("strata graph --demo beside a strata.yaml = exit %d, %v, stderr %q", code, err, errOut)
	}
	if !strings.Contains(errOut, "strata graph: reading ./strata.yaml") {
		t.Errorf("stderr %q, want it to say it reads ./strata.yaml", errOut)
	}
	if got := nodeLabels(&g, graph.KindWorkload); !slices.Equal(got, []string{"team/Deployment/storefront", "team/StatefulSet/legacy"}) {
		t.Errorf("workloads = %v, want team's alone: shop is exempt by ./strata.yaml", got)
	}
}
