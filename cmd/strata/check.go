package main

import (
	"context"
	"fmt"
	"io"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/strata-project/strata/webhook"
	"github.com/strata-project/strata/webhook/demo"
	"github.com/strata-project/strata/webhook/manifest"
	"github.com/strata-project/strata/webhook/policy"
	"github.com/strata-project/strata/webhook/report"
)

// violationsFound is check's answer when the mode enforces a violation: run
// exits 1 and prints nothing more, the report having said it all.
type violationsFound struct{ denied int }

func (e violationsFound) Error() string {
	return fmt.Sprintf("%d object(s) denied", e.denied)
}

// checkConcurrency bounds the objects checked at once; each check already
// resolves its own images concurrently, and the resolver shares fetches.
const checkConcurrency = 4

func newCheckCommand(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "check -f FILE|DIR|-",
		Short: "evaluate the policies on manifests, as the webhook would",
		Long:  "Evaluates the policies on the pod-bearing objects of manifests, as the webhook\nwould admit them. Exit code: 0 allowed (warnings allowed), 1 denied by the mode,\n2 an error.",
	}
	fs := cmd.Flags()
	var paths pathList
	fs.VarP(&paths, "filename", "f", "manifests: a file, a directory (its *.yaml, *.yml, *.json, recursively) or - for stdin; repeatable or comma-separated")
	configPath := fs.String("config", "", "strata.yaml to read (default: ./strata.yaml when there is one)")
	namespace := fs.StringP("namespace", "n", manifest.DefaultNamespace, "the namespace of objects that name none, as kubectl apply -n would give them")
	mode := fs.String("mode", "", "enforce, warn or audit: what a violation does; enforced ones fail the check (default: the config's mode, else warn)")
	output := outputFlag(cmd, checkOutputs)
	insecure := fs.Bool("insecure", false, "reach the manifests' registries over plain HTTP (local registries only)")
	limits := manifest.Limits{FileBytes: manifest.DefaultFileBytes, TotalBytes: manifest.DefaultTotalBytes}
	fs.Int64Var(&limits.FileBytes, "max-file-bytes", limits.FileBytes, "the most bytes one manifest file (or standard input) may hold; a larger one is an error")
	fs.Int64Var(&limits.TotalBytes, "max-total-bytes", limits.TotalBytes, "the most bytes all manifest files together may hold; more is an error")
	useDemo := fs.Bool("demo", false, "start the built-in demo registry, which serves the images named "+demo.Host+"/...")
	_ = cmd.RegisterFlagCompletionFunc("mode", cobra.FixedCompletions(webhook.Modes, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.MarkFlagFilename("filename", "yaml", "yml", "json")

	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := output.check(cmd); err != nil {
			return err
		}
		if *mode != "" && !slices.Contains(webhook.Modes, *mode) {
			return usageError(cmd, "--mode %q: want %s", *mode, strings.Join(webhook.Modes, ", "))
		}
		if limits.FileBytes <= 0 || limits.TotalBytes <= 0 {
			return usageError(cmd, "--max-file-bytes %d, --max-total-bytes %d: want byte counts above 0", limits.FileBytes, limits.TotalBytes)
		}
		if len(args) > 0 {
			return usageError(cmd, "unexpected argument %q: name manifests with -f", args[0])
		}
		if len(paths) == 0 {
			return usageError(cmd, "")
		}
		return runCheck(cmd.Context(), checkFlags{paths, *configPath, *namespace, *mode, output.value, *insecure, limits, *useDemo}, stdin, stdout, stderr)
	}
	return cmd
}

// checkFlags are check's flags, validated.
type checkFlags struct {
	paths      []string
	configPath string
	namespace  string
	mode       string
	output     string
	insecure   bool
	limits     manifest.Limits
	useDemo    bool
}

func runCheck(ctx context.Context, f checkFlags, stdin io.Reader, stdout, stderr io.Writer) error {
	cfg, err := loadConfig(configOrDefault(f.configPath, "check", stderr))
	if err != nil {
		return err
	}
	if f.mode != "" {
		cfg.Mode = f.mode
	}
	if err := cfg.Validate(); err != nil {
		return err
	}

	// Every manifest is read before any registry is contacted, so that a
	// typo fails fast and alone.
	manifests, read, skipped, err := manifest.ReadEach(f.paths, stdin, f.limits)
	if err != nil {
		return readAdvice(err)
	}
	for _, m := range manifests {
		if m.Defaulted {
			m.Workload.Namespace = f.namespace
		}
	}
	if f.insecure {
		cfg.Registry.Insecure = append(cfg.Registry.Insecure, registries(manifests)...)
	}

	p, err := onePipeline(ctx, cfg, webhook.PipelineOptions{Demo: f.useDemo}, stderr)
	if err != nil {
		return err
	}
	defer p.Close()

	rep := &report.Check{
		Mode:     policy.Action(cfg.Mode),
		Objects:  checkManifests(ctx, p.Checker, p.Config, manifests),
		Read:     read,
		Policies: p.Engine.Policies(),
		Version:  versionOf(debug.ReadBuildInfo()).Version,
	}
	for _, e := range skipped {
		rep.Errors = append(rep.Errors, report.FileError{File: e.File, Error: e.Error()})
	}
	if err := ctx.Err(); err != nil {
		return err // interrupted: the resolution failures it caused are not findings
	}
	switch f.output {
	case "json":
		err = report.WriteCheckJSON(stdout, rep)
	case "sarif":
		err = report.WriteCheckSARIF(stdout, rep)
	default:
		err = report.WriteCheckText(stdout, rep)
	}
	if err != nil {
		return err
	}
	if len(skipped) > 0 {
		return fmt.Errorf("%d file(s) could not be decoded; the others were checked", len(skipped))
	}
	if n := rep.Summary().Denied; n > 0 {
		return violationsFound{denied: n}
	}
	return nil
}
