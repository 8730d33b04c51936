package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/strata-project/strata/webhook"
	"github.com/strata-project/strata/webhook/demo"
	"github.com/strata-project/strata/webhook/images"
	"github.com/strata-project/strata/webhook/lineage"
	"github.com/strata-project/strata/webhook/report"
)

func runInspect(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("inspect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "strata.yaml to read (registry settings, platforms)")
	platform := fs.String("platform", "", "check only this platform (os/arch[/variant]) instead of the configured ones")
	output := fs.String("o", "text", "output format: text or json")
	insecure := fs.Bool("insecure", false, "reach the image's registry over plain HTTP (local registries only)")
	useDemo := fs.Bool("demo", false, "start the built-in demo registry; without IMAGE, inspect every demo image")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: strata inspect IMAGE [flags]\n       strata inspect --demo [IMAGE]\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if *output != "text" && *output != "json" {
		fmt.Fprintf(stderr, "-o %q: want text or json\n", *output)
		return errUsage
	}
	if fs.NArg() > 1 || (fs.NArg() == 0 && !*useDemo) {
		fs.Usage()
		return errUsage
	}

	cfg, err := loadConfig(*configPath)
	if err != nil {
		return err
	}
	if *platform != "" {
		cfg.Platforms = []string{*platform}
	}
	if err := cfg.Validate(); err != nil {
		return err
	}

	var refs []string
	if *useDemo {
		if fs.NArg() == 0 {
			for _, img := range demo.Family {
				refs = append(refs, demo.Host+"/"+img.Repo)
			}
		} else {
			refs = append(refs, demo.Host+"/"+fs.Arg(0))
		}
	} else {
		refs = append(refs, fs.Arg(0))
	}
	if *insecure {
		for _, r := range refs {
			if ref, err := images.ParseReference(r); err == nil {
				cfg.Registry.Insecure = append(cfg.Registry.Insecure, ref.Registry)
			}
		}
	}

	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	p, err := webhook.NewPipeline(ctx, cfg, webhook.PipelineOptions{Demo: *useDemo, Logger: logger})
	if err != nil {
		return err
	}
	defer p.Close()
	loadCatalog(ctx, p, logger)
	resolver, catalog := p.Resolver, p.Catalog

	var failed error
	for i, r := range refs {
		rctx, cancel := context.WithTimeout(ctx, cfg.Registry.Timeout.Duration)
		img, err := resolver.Resolve(rctx, r, images.Access{})
		if err != nil {
			cancel()
			failed = errors.Join(failed, err)
			continue
		}
		ins := report.NewInspection(img, func(f *images.Facts) lineage.Lineage {
			return catalog.Lineage(rctx, f, images.Access{})
		})
		cancel()
		if i > 0 && *output == "text" {
			fmt.Fprintln(stdout)
		}
		if *output == "json" {
			err = report.WriteInspectionJSON(stdout, ins)
		} else {
			err = report.WriteInspectionText(stdout, ins)
		}
		if err != nil {
			return err
		}
	}
	return failed
}
