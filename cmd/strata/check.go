package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

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

func runCheck(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var paths pathList
	fs.Var(&paths, "f", "manifests: a file, a directory (its *.yaml, *.yml, *.json, recursively) or - for stdin; repeatable or comma-separated")
	configPath := fs.String("config", "", "strata.yaml to read")
	mode := fs.String("mode", "", "enforce, warn or audit: what a violation does; enforced ones fail the check (default: the config's mode, else warn)")
	output := fs.String("o", "text", "output format: text, json or sarif")
	insecure := fs.Bool("insecure", false, "reach the manifests' registries over plain HTTP (local registries only)")
	limits := manifest.Limits{FileBytes: manifest.DefaultFileBytes, TotalBytes: manifest.DefaultTotalBytes}
	fs.Int64Var(&limits.FileBytes, "max-file-bytes", limits.FileBytes, "the most bytes one manifest file (or standard input) may hold; a larger one is an error")
	fs.Int64Var(&limits.TotalBytes, "max-total-bytes", limits.TotalBytes, "the most bytes all manifest files together may hold; more is an error")
	useDemo := fs.Bool("demo", false, "start the built-in demo registry, which serves the images named "+demo.Host+"/...")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: strata check -f FILE|DIR|- [flags]\n\nEvaluates the policies on the pod-bearing objects of manifests, as the webhook\nwould admit them. Exit code: 0 allowed (warnings allowed), 1 denied by the mode,\n2 an error.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if !slices.Contains([]string{"text", "json", "sarif"}, *output) {
		fmt.Fprintf(stderr, "-o %q: want text, json or sarif\n", *output)
		return errUsage
	}
	if *mode != "" && !slices.Contains(webhook.Modes, *mode) {
		fmt.Fprintf(stderr, "--mode %q: want %s\n", *mode, strings.Join(webhook.Modes, ", "))
		return errUsage
	}
	if limits.FileBytes <= 0 || limits.TotalBytes <= 0 {
		fmt.Fprintf(stderr, "--max-file-bytes %d, --max-total-bytes %d: want byte counts above 0\n", limits.FileBytes, limits.TotalBytes)
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "unexpected argument %q: name manifests with -f\n", fs.Arg(0))
		return errUsage
	}
	if len(paths) == 0 {
		fs.Usage()
		return errUsage
	}

	cfg, err := loadConfig(*configPath)
	if err != nil {
		return err
	}
	if *mode != "" {
		cfg.Mode = *mode
	}
	if err := cfg.Validate(); err != nil {
		return err
	}

	// Every manifest is read before any registry is contacted, so that a
	// typo fails fast and alone.
	manifests, read, err := manifest.Read(paths, stdin, limits)
	if err != nil {
		return readAdvice(err)
	}
	if *insecure {
		cfg.Registry.Insecure = append(cfg.Registry.Insecure, registries(manifests)...)
	}

	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	p, err := webhook.NewPipeline(ctx, cfg, webhook.PipelineOptions{Demo: *useDemo, Logger: logger})
	if err != nil {
		return err
	}
	defer p.Close()
	loadCatalog(ctx, p, logger)

	rep := &report.Check{
		Mode:     policy.Action(cfg.Mode),
		Objects:  checkManifests(ctx, p.Checker, p.Config, manifests),
		Read:     read,
		Policies: p.Engine.Policies(),
	}
	if err := ctx.Err(); err != nil {
		return err // interrupted: the resolution failures it caused are not findings
	}
	switch *output {
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
	if n := rep.Summary().Denied; n > 0 {
		return violationsFound{denied: n}
	}
	return nil
}

// checkManifests evaluates each object exactly as the webhook's handler
// does: the Checker's exempt namespaces are not evaluated, and the mode
// decides.
func checkManifests(ctx context.Context, checker *webhook.Checker, cfg webhook.Config, manifests []manifest.Manifest) []report.CheckedObject {
	mode := policy.Action(cfg.Mode)
	out := make([]report.CheckedObject, len(manifests))
	var g errgroup.Group
	g.SetLimit(checkConcurrency)
	for i, m := range manifests {
		w := m.Workload
		o := report.CheckedObject{
			File: m.File, Line: m.Line, Document: m.Document, Item: m.Item,
			Kind: w.Kind, Namespace: w.Namespace, Name: w.Name,
		}
		if checker.NamespaceExempt(w.Namespace) {
			o.Exempt, o.Decision = true, report.Allow
			out[i] = o
			continue
		}
		g.Go(func() error {
			// The webhook's deadline is the API server's; here it is the
			// registry budget and time to evaluate.
			wctx, cancel := context.WithTimeout(ctx, cfg.Registry.Timeout.Duration+2*time.Second)
			defer cancel()
			vs := checker.Check(wctx, policy.Request{Operation: "CHECK", Namespace: w.Namespace, Mode: mode}, w)
			d := webhook.Decide(mode, vs)
			o.Violations, o.Decision = d.Violations, report.DecisionOf(d.Allowed, d.Violations)
			out[i] = o
			return nil
		})
	}
	_ = g.Wait()
	return out
}
