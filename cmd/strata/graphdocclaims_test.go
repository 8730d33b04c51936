package main

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/strata-project/strata/internal/testutil"
	"github.com/strata-project/strata/webhook/graph"
)

// docs/graph.md names the fields of each element of strata graph --uses
// -o json: every field the demo's --uses (its console block's command)
// writes, and no other. What the block shows is asserted by
// TestDocumentedCommandsPrintWhatTheDocumentsShow.
func TestGraphDocumentNamesTheUseFields(t *testing.T) {
	t.Parallel()
	const doc = "../../docs/graph.md"
	block := fencedBlock(t, string(testutil.ReadFile(t, doc)), "```console")
	command, _, _ := strings.Cut(block, "\n")
	args, ok := strings.CutPrefix(command, "$ strata ")
	if !ok || !strings.Contains(args, "--uses ") {
		t.Fatalf("%s's console block opens with %q, want $ strata graph ... --uses REF", doc, command)
	}
	var uses []map[string]any
	if err := json.Unmarshal([]byte(demoOutput(t, append(strings.Fields(args), "-o", "json")...)), &uses); err != nil {
		t.Fatal(err)
	}
	var written []string
	for _, u := range uses {
		for k := range u {
			written = append(written, k)
		}
	}
	slices.Sort(written)
	written = slices.Compact(written)
	_, sentence, _ := strings.Cut(testutil.DocProse(t, doc), "Use (also each element of `--uses -o json`): ")
	sentence, _, _ = strings.Cut(sentence, ". ")
	// The fields are named in backquotes, each followed by what it means in
	// parentheses (which may name other things in backquotes).
	sentence = regexp.MustCompile(`\([^()]*\)`).ReplaceAllString(sentence, "")
	var documented []string
	for _, m := range regexp.MustCompile("`([A-Za-z]+)`").FindAllStringSubmatch(sentence, -1) {
		documented = append(documented, m[1])
	}
	slices.Sort(documented)
	if documented = slices.Compact(documented); !slices.Equal(documented, written) {
		t.Errorf("%s names the Use fields %v; strata %s -o json writes %v", doc, documented, args, written)
	}
}

// docs/graph.md's defaults are graph's: -o dot (and text with --uses),
// --mode enforce, in which the demo's violations deny; in warn and audit
// none does.
func TestGraphDocumentStatesGraphsDefaults(t *testing.T) {
	t.Parallel()
	mode := newGraphCommand(strings.NewReader(""), nil, nil, nil).Flags().Lookup("mode").DefValue
	testutil.DocStates(t, "../../docs/graph.md",
		"`-o "+graphOutputs[0]+"` (default)",
		"with `--uses`, `-o "+usesOutputs[0]+"` (default)",
		"`--mode enforce|warn|audit` (default `"+mode+"`)",
	)
	if out := demoOutput(t, "graph", "--demo"); !strings.HasPrefix(out, "digraph strata {\n") {
		t.Errorf("strata graph --demo without -o prints %.40q, want DOT", out)
	}
	for _, m := range []string{"", "warn", "audit"} {
		args := []string{"graph", "--demo", "-o", "json"}
		if m != "" {
			args = append(args, "--mode", m)
		}
		var g graph.Graph
		if err := json.Unmarshal([]byte(demoOutput(t, args...)), &g); err != nil {
			t.Fatal(err)
		}
		denied := slices.ContainsFunc(g.Nodes, func(n graph.Node) bool { return n.Denied })
		if denied != (m == "") {
			t.Errorf("strata %s: a node denied = %t, want %t (denied only in enforce, the default)", strings.Join(args, " "), denied, m == "")
		}
	}
}

// docs/graph.md: make run writes the demo's graph.html to a temporary
// directory, prints its path, and serves with --graph.
func TestMakeRunWritesTheDemosGraphAndServesIt(t *testing.T) {
	t.Parallel()
	_, target, ok := strings.Cut(string(testutil.ReadFile(t, "../../Makefile")), "\nrun:")
	if !ok {
		t.Fatal("the Makefile has no run target")
	}
	target, _, _ = strings.Cut(target, "\n\n")
	for _, want := range []string{
		"tmp=$$(mktemp -d)",
		"./cmd/strata graph --demo -o html > $$tmp/graph.html",
		"file://$$tmp/graph.html",
		"./cmd/strata serve --dev --demo --graph\n",
	} {
		if !strings.Contains(target+"\n", want) {
			t.Errorf("make run does not hold %q:%s", want, target)
		}
	}
	testutil.DocStates(t, "../../docs/graph.md", "`make run` writes the demo's `graph.html` to a temporary directory, prints its path, and serves with `--graph`")
}

// docs/graph.md: with no -f, the cluster is found as kubectl finds it:
// $KUBECONFIG, in the context's namespace; -f with
// --context is a usage error, as with --kubeconfig; images are read with
// the pods' pull secrets unless --pull-secrets=false.
func TestGraphFindsTheClusterAsKubectlDoes(t *testing.T) {
	testutil.DocStates(t, "../../docs/graph.md",
		"found as kubectl finds it (`--kubeconfig`, else `$KUBECONFIG`, else `~/.kube/config`, else the pod's service account), in the context's namespace",
		"images are read with the pods' pull secrets unless `--pull-secrets=false`",
	)
	if def := newGraphCommand(strings.NewReader(""), nil, nil, nil).Flags().Lookup("pull-secrets").DefValue; def != "true" {
		t.Errorf("--pull-secrets defaults to %s, want true", def)
	}
	// The kubeconfig's server answers nothing: the error names the
	// context's namespace, which only reading that kubeconfig gives.
	// ~/.kube/config is client-go's, fixed when the process starts; the
	// service account needs a pod.
	t.Setenv("KUBECONFIG", kubeconfigNowhere(t)) // namespace team
	if code, out, errOut := runStrata(t, "graph", "--pull-secrets=false"); code != 2 || out != "" || !strings.Contains(errOut, "listing the workloads of namespace team: ") {
		t.Errorf("strata graph with the cluster in $KUBECONFIG = exit %d, stdout %q, stderr %q; want exit 2 listing namespace team", code, out, errOut)
	}
	code, out, errOut := runStrata(t, "graph", "-f", examples, "--context", "a")
	if code != 2 || out != "" || !strings.Contains(errOut, "give one source") {
		t.Errorf("strata graph -f --context = exit %d, stdout %q, stderr %q; want a usage error", code, out, errOut)
	}
}

// docs/graph.md: -f is repeatable and comma-separated: both forms draw the
// workloads of every file named.
func TestGraphReadsEveryFileNamedWithF(t *testing.T) {
	t.Parallel()
	testutil.DocStates(t, "../../docs/graph.md", "| manifests | `-f FILE\\|DIR\\|-` (repeatable, comma-separated) |")
	good, root := examples+"good.yaml", examples+"root.yaml"
	repeated := nodeLabels(graphJSON(t, "--demo", "-f", good, "-f", root, "-o", "json"), graph.KindWorkload)
	separated := nodeLabels(graphJSON(t, "--demo", "-f", good+","+root, "-o", "json"), graph.KindWorkload)
	alone := len(nodeLabels(graphJSON(t, "--demo", "-f", good, "-o", "json"), graph.KindWorkload))
	if !slices.Equal(repeated, separated) || len(repeated) <= alone {
		t.Errorf("-f good -f root draws %v, -f good,root %v, -f good alone %d workloads; want both files' workloads either way", repeated, separated, alone)
	}
}
