package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/strata-project/strata/webhook"
	"github.com/strata-project/strata/webhook/audit"
	"github.com/strata-project/strata/webhook/demo"
	"github.com/strata-project/strata/webhook/images"
	"github.com/strata-project/strata/webhook/inventory"
	"github.com/strata-project/strata/webhook/policy"
)

var (
	auditOutputs    = []string{"text", "json"}
	auditReportAPIs = []string{string(audit.ReportAPIWGPolicy), string(audit.ReportAPIOpenReports)}
)

// defaultAuditTimeout is an audit's registry budget per workload: an audit
// is not on the admission path, so a slow registry gets more time than the
// webhook's 3 s before its images count as unresolved.
const defaultAuditTimeout = 10 * time.Second

func newAuditCommand(stdout, stderr io.Writer, list clusterLister) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit [-n NAMESPACE | -A] [flags]",
		Short: "evaluate what already runs in a cluster: what enforcing would deny, by policy and base image",
		Long: `Lists a cluster's pod-bearing workloads (each running pod under its top-level
owner), evaluates each as the webhook would, and prints the impact of the mode:
"if enforced: N workloads in M namespaces would be denied", by policy, by base
image, then each workload with the violation that decides it. --write-reports
also writes one policy report per workload, for Policy Reporter.

Exit code: 0 when the audit ran, whatever it found (a CronJob does not fail
because it found violations); with --exit-code, 1 when a workload would be
denied in the mode; 2 an error, or interrupted (nothing is reported then).`,
	}
	fs := cmd.Flags()
	kube := newKubeFlags()
	kube.addConnection(fs)
	kube.addNamespaces(fs)
	var f auditFlags
	fs.StringVarP(&f.selector, "selector", "l", "", "label selector on the workloads (as kubectl's -l); a run with a selector deletes no report")
	fs.StringVar(&f.configPath, "config", "", "strata.yaml to read (the webhook's: the same policies, actions and exemptions)")
	fs.StringVar(&f.mode, "mode", string(policy.Enforce), "enforce, warn or audit: which actions count; the default answers \"what breaks if I enforce\"")
	output := outputFlag(cmd, auditOutputs)
	fs.BoolVar(&f.writeReports, "write-reports", false, "write one policy report per workload (needs list, create, patch and delete on the reports)")
	fs.StringVar(&f.reportAPI, "report-api", auditReportAPIs[0], "the reports' API: wgpolicyk8s (wgpolicyk8s.io/v1alpha2, what Kyverno writes) or openreports (openreports.io/v1alpha1)")
	// The Writer's own default: test/bench/RESULTS.md has what a 2,000-
	// report first run costs at it.
	fs.Float64Var(&f.qps, "qps", audit.DefaultQPS, "report API calls (lists, applies, deletes) per second, at most")
	fs.DurationVar(&f.timeout, "timeout", defaultAuditTimeout, "registry budget per workload; images unresolved after it are image-resolution violations; unless given, the config's registry.timeout when that is longer")
	fs.BoolVar(&f.pullSecrets, "pull-secrets", true, "read pods' imagePullSecrets through the Kubernetes API (needs get on secrets and serviceaccounts)")
	fs.BoolVar(&f.exitCode, "exit-code", false, "exit 1 when a workload would be denied in the mode, as strata check does")
	fs.BoolVar(&f.useDemo, "demo", false, "start the built-in demo registry, which serves the images named "+demo.Host+"/... that the cluster's pods may name")
	_ = cmd.RegisterFlagCompletionFunc("mode", cobra.FixedCompletions(webhook.Modes, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("report-api", cobra.FixedCompletions(auditReportAPIs, cobra.ShellCompDirectiveNoFileComp))

	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := output.check(cmd); err != nil {
			return err
		}
		switch {
		case len(args) > 0:
			return usageError(cmd, "unexpected argument %q: choose namespaces with -n or -A, workloads with -l", args[0])
		case !slices.Contains(webhook.Modes, f.mode):
			return usageError(cmd, "--mode %q: want %s", f.mode, strings.Join(webhook.Modes, ", "))
		case !slices.Contains(auditReportAPIs, f.reportAPI):
			return usageError(cmd, "--report-api %q: want %s", f.reportAPI, strings.Join(auditReportAPIs, " or "))
		case f.qps <= 0:
			return usageError(cmd, "--qps %v: want writes per second above 0", f.qps)
		case f.timeout <= 0:
			return usageError(cmd, "--timeout %v: want a duration above 0", f.timeout)
		}
		f.output, f.timeoutSet = output.value, fs.Changed("timeout")
		return runAudit(cmd.Context(), kube, f, list, stdout, stderr)
	}
	return cmd
}

// auditFlags are audit's flags, validated.
type auditFlags struct {
	selector     string
	configPath   string
	mode         string
	output       string
	writeReports bool
	reportAPI    string
	qps          float64
	timeout      time.Duration
	timeoutSet   bool
	pullSecrets  bool
	exitCode     bool
	useDemo      bool
}

// errInterrupted is an audit stopped before it finished: what it had seen
// is not reported, since its unresolved images are not findings.
var errInterrupted = errors.New("interrupted before the audit finished: nothing is reported")

func runAudit(ctx context.Context, kube *kubeFlags, f auditFlags, list clusterLister, stdout, stderr io.Writer) error {
	cfg, err := loadConfig(f.configPath)
	if err != nil {
		return err
	}
	cfg.Mode = f.mode
	cfg.Registry.Timeout.Duration = auditBudget(cfg.Registry.Timeout.Duration, f.timeout, f.timeoutSet)
	if err := cfg.Validate(); err != nil {
		return err
	}
	// Writing is bounded by --qps on its own; listing may go faster.
	restCfg, client, namespace, err := kube.listingClient(max(listingQPS, float32(2*f.qps)), "name the cluster with --kubeconfig or --context")
	if err != nil {
		return err
	}

	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	opts := webhook.PipelineOptions{Demo: f.useDemo, Logger: logger}
	if f.pullSecrets {
		opts.Credentials = images.NewPullSecrets(client, images.PullSecretOptions{CacheBytes: cfg.PullSecretCacheBytes()})
	}
	p, err := webhook.NewPipeline(ctx, cfg, opts)
	if err != nil {
		return err
	}
	defer p.Close()
	loadCatalog(ctx, p, logger)

	progress := audit.StartProgress(stderr, audit.ProgressOptions{Terminal: isTerminal(stderr)})
	defer progress.Stop()
	objs, err := list(ctx, client, inventory.ListOptions{Namespace: namespace, Selector: f.selector, Listed: progress.Listed, ImageExempt: p.Checker.ImageExempt})
	if ctx.Err() != nil {
		return errInterrupted
	}
	if err != nil {
		return listFailed(namespace, err)
	}
	progress.Evaluating(len(objs), distinctImages(objs, p.Checker))
	inv, err := inventory.Build(ctx, objs, inventory.Options{
		Checker: p.Checker, Mode: policy.Action(cfg.Mode), Evaluated: progress.Evaluated,
		Timeout: cfg.OfflineWorkloadTimeout(),
	})
	if err != nil || ctx.Err() != nil {
		return errInterrupted
	}
	progress.Stop()

	preview := audit.NewPreview(inv)
	if f.output == "json" {
		err = audit.WritePreviewJSON(stdout, preview)
	} else {
		err = audit.WritePreviewText(stdout, preview)
	}
	if err != nil {
		return err
	}
	if f.writeReports {
		// Existing reports are listed by their metadata only: an unchanged
		// cluster's second run reads pages of names and hashes, not reports.
		writer, err := audit.NewWriterForConfig(restCfg, audit.WriterOptions{API: audit.ReportAPI(f.reportAPI), QPS: f.qps, Policies: p.Engine.Policies()})
		if err != nil {
			return err
		}
		if err := writeReports(ctx, writer, inv, audit.Scope{Namespace: namespace, Selector: f.selector}, stderr); err != nil {
			return err
		}
	}
	if f.exitCode && preview.Summary.Denied > 0 {
		return violationsFound{denied: preview.Summary.Denied}
	}
	return nil
}
