package main

import (
	"context"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"

	"github.com/strata-project/strata/webhook"
	"github.com/strata-project/strata/webhook/demo"
	"github.com/strata-project/strata/webhook/graph"
	"github.com/strata-project/strata/webhook/images"
	"github.com/strata-project/strata/webhook/inventory"
	"github.com/strata-project/strata/webhook/policy"
)

// The values of graph's -o: the graph's formats, and the rebuild list's
// (--uses). The first of each is the default.
var (
	graphOutputs = []string{"dot", "mermaid", "json", "html"}
	usesOutputs  = []string{"text", "json"}
)

func newGraphCommand(stdin io.Reader, stdout, stderr io.Writer, list clusterLister) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "graph [-f FILE|DIR|- | --demo | --kubeconfig ...] [flags]",
		Short: "draw which workloads run which images, built on which bases; list what to rebuild",
		Long: `Draws bases, the images built on them and the workloads that run those images,
from manifests (-f), the demo (--demo) or a cluster (--kubeconfig, --context, -n/-A,
-l), each workload evaluated as the webhook would. -o dot, mermaid, json or html (one
self-contained page that opens from disk: pan, zoom, search, click a base).

--uses REF answers the day a base is patched: every image built on the base REF (a
tag: every digest it has pointed to that something here is built on; a digest; or
repository@digest) and who runs it, outdated digests first, then one line per
application to rebuild. -o text or json.`,
	}
	fs := cmd.Flags()
	var paths pathList
	fs.VarP(&paths, "filename", "f", "manifests: a file, a directory (its *.yaml, *.yml, *.json, recursively) or - for stdin; repeatable or comma-separated")
	useDemo := fs.Bool("demo", false, "start the built-in demo registry ("+demo.Host+"), which serves the images the workloads name; alone (no -f, --kubeconfig or --context), draw the demo's own workloads")
	kube := newKubeFlags()
	kube.addConnection(fs)
	kube.addNamespaces(fs)
	selector := fs.StringP("selector", "l", "", "a label selector on the cluster's workloads (kubectl's -l)")
	configPath := fs.String("config", "", "strata.yaml to read (default: ./strata.yaml when there is one)")
	mode := fs.String("mode", string(policy.Enforce), "enforce, warn or audit: the mode violations are decided in (which deny)")
	output := fs.StringP("output", "o", "", "output format: "+strings.Join(graphOutputs, ", ")+" (default dot); with --uses: "+strings.Join(usesOutputs, ", ")+" (default text)")
	base := fs.String("base", "", "draw only the subgraph above this base (a tag, a digest or repository@digest)")
	violations := fs.Bool("violations", false, "draw only what has violations, and the bases it is built on")
	uses := fs.String("uses", "", "list every image and workload built on this base (a tag, a digest or repository@digest) instead of drawing")
	insecure := fs.Bool("insecure", false, "reach the manifests' registries over plain HTTP (local registries only)")
	pullSecrets := fs.Bool("pull-secrets", true, "with a cluster, read pods' imagePullSecrets through the Kubernetes API, as strata audit does (needs get on secrets and serviceaccounts)")
	_ = cmd.RegisterFlagCompletionFunc("mode", cobra.FixedCompletions(webhook.Modes, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(append(slices.Clone(graphOutputs), usesOutputs...), cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.MarkFlagFilename("filename", "yaml", "yml", "json")

	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) > 0 {
			return usageError(cmd, "unexpected argument %q: name manifests with -f, a base with --base or --uses", args[0])
		}
		if !slices.Contains(webhook.Modes, *mode) {
			return usageError(cmd, "--mode %q: want %s", *mode, strings.Join(webhook.Modes, ", "))
		}
		f := graphFlags{paths: paths, useDemo: *useDemo, kube: kube, selector: *selector, configPath: *configPath,
			mode: policy.Action(*mode), output: *output, violations: *violations, insecure: *insecure, pullSecrets: *pullSecrets}
		allowed := graphOutputs
		if *uses != "" {
			allowed = usesOutputs
			if *base != "" || *violations {
				return usageError(cmd, "--uses lists what is built on one base: it takes no --base or --violations")
			}
		}
		if f.output == "" {
			f.output = allowed[0]
		}
		if !slices.Contains(allowed, f.output) {
			return usageError(cmd, "-o %q: want %s", f.output, strings.Join(allowed, " or "))
		}
		var err error
		if *base != "" {
			if f.base, err = graph.ParseRef(*base); err != nil {
				return usageError(cmd, "--base: %v", err)
			}
		}
		if *uses != "" {
			if f.uses, err = graph.ParseRef(*uses); err != nil {
				return usageError(cmd, "--uses: %v", err)
			}
		}
		clusterNamed := kube.loading.ExplicitPath != "" || kube.overrides.CurrentContext != ""
		switch {
		case len(paths) > 0 && clusterNamed:
			return usageError(cmd, "-f draws manifests, --kubeconfig and --context a cluster: give one source")
		case *selector != "" && (len(paths) > 0 || *useDemo && !clusterNamed):
			return usageError(cmd, "-l selects a cluster's workloads; with -f or --demo, name the manifests to draw")
		}
		f.fromCluster = len(paths) == 0 && (clusterNamed || !*useDemo)
		return runGraph(cmd.Context(), f, list, stdin, stdout, stderr)
	}
	return cmd
}

// graphFlags are graph's flags, validated.
type graphFlags struct {
	paths      []string
	useDemo    bool
	kube       *kubeFlags
	selector   string
	configPath string
	mode       policy.Action
	output     string
	base       graph.Ref
	violations bool
	uses       graph.Ref
	insecure   bool
	// fromCluster: no -f, and a cluster named or no --demo.
	fromCluster bool
	pullSecrets bool
}

func runGraph(ctx context.Context, f graphFlags, list clusterLister, stdin io.Reader, stdout, stderr io.Writer) error {
	cfg, err := loadConfig(configOrDefault(f.configPath, "graph", stderr))
	if err != nil {
		return err
	}
	cfg.Mode = string(f.mode)
	if err := cfg.Validate(); err != nil {
		return err
	}
	// The workloads are read before any registry is contacted, so that a
	// typo or an unreachable cluster fails fast and alone.
	var (
		objs      []inventory.Object
		namespace string
		popts     = webhook.PipelineOptions{Demo: f.useDemo}
	)
	if f.fromCluster {
		var client kubernetes.Interface
		if _, client, namespace, err = f.kube.listingClient(listingQPS, noClusterAdvice); err != nil {
			return err
		}
		// The pipeline is built once the workloads are read; the images
		// its Checker exempts are known from the configuration alone.
		exempt := webhook.NewChecker(webhook.CheckerOptions{ExemptImages: cfg.Exempt.Images}).ImageExempt
		if objs, err = list(ctx, client, inventory.ListOptions{Namespace: namespace, Selector: f.selector, ImageExempt: exempt}); err != nil {
			return listFailed(namespace, err)
		}
		if f.pullSecrets {
			popts.Credentials = images.NewPullSecrets(client, images.PullSecretOptions{CacheBytes: cfg.PullSecretCacheBytes()})
		}
	} else {
		if objs, namespace, err = readGraphManifests(f, stdin); err != nil {
			return err
		}
		if f.insecure {
			cfg.Registry.Insecure = append(cfg.Registry.Insecure, registriesOf(objs)...)
		}
	}
	p, err := onePipeline(ctx, cfg, popts, stderr)
	if err != nil {
		return err
	}
	defer p.Close()

	inv, err := inventory.Build(ctx, objs, inventory.Options{
		Checker: p.Checker, Mode: f.mode, Operation: "GRAPH",
		Timeout: p.Config.OfflineWorkloadTimeout(),
	})
	if err != nil {
		return err
	}
	if f.uses != (graph.Ref{}) {
		us := graph.Uses(inv, f.uses)
		if f.output == "json" {
			return graph.WriteUsesJSON(stdout, us)
		}
		return graph.WriteUsesText(stdout, f.uses.String(), us)
	}
	g := graph.FromInventory(inv, graph.Options{Base: f.base.String(), Namespace: namespace, Violations: f.violations})
	switch f.output {
	case "mermaid":
		return graph.WriteMermaid(stdout, g)
	case "json":
		return graph.WriteJSON(stdout, g)
	case "html":
		return graph.WriteHTML(stdout, g)
	default:
		return graph.WriteDOT(stdout, g)
	}
}
