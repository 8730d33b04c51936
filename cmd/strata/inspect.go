package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/strata-project/strata/webhook"
	"github.com/strata-project/strata/webhook/demo"
	"github.com/strata-project/strata/webhook/images"
	"github.com/strata-project/strata/webhook/lineage"
	"github.com/strata-project/strata/webhook/report"
)

func newInspectCommand(stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "inspect IMAGE",
		Short:   "show the facts strata reads for an image",
		Example: "  strata inspect ghcr.io/org/app:1.2 --platform linux/arm64\n  strata inspect --demo [IMAGE]",
	}
	fs := cmd.Flags()
	configPath := fs.String("config", "", "strata.yaml to read (registry settings, platforms)")
	platform := fs.String("platform", "", "check only this platform (os/arch[/variant]) instead of the configured ones")
	output := outputFlag(cmd, inspectOutputs)
	insecure := fs.Bool("insecure", false, "reach the image's registry over plain HTTP (local registries only)")
	useDemo := fs.Bool("demo", false, "start the built-in demo registry; without IMAGE, inspect every demo image")
	pod := fs.String("pod", "", "with -o input: the manifest of the pod (or workload) whose containers' policy input is printed, instead of a one-container Pod running IMAGE")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := output.check(cmd); err != nil {
			return err
		}
		if len(args) > 1 || (len(args) == 0 && !*useDemo && *pod == "") || (output.value == "input" && len(args) == 0 && *pod == "") {
			return usageError(cmd, "")
		}
		if *pod != "" && output.value != "input" {
			return usageError(cmd, "--pod is for -o input")
		}
		return runInspect(cmd.Context(), args, inspectFlags{*configPath, *platform, output.value, *pod, *insecure, *useDemo}, stdout, stderr)
	}
	return cmd
}

// inspectFlags are inspect's flags, validated.
type inspectFlags struct {
	configPath, platform, output, pod string
	insecure, useDemo                 bool
}

func runInspect(ctx context.Context, args []string, f inspectFlags, stdout, stderr io.Writer) error {
	cfg, err := loadConfig(f.configPath)
	if err != nil {
		return err
	}
	if f.platform != "" {
		cfg.Platforms = []string{f.platform}
	}
	if err := cfg.Validate(); err != nil {
		return err
	}

	var refs []string
	if f.useDemo {
		if len(args) == 0 {
			for _, img := range demo.Family {
				refs = append(refs, demo.Host+"/"+img.Repo)
			}
		} else {
			// The listing names images by their full name: take it back as
			// it was printed, or as the repository alone.
			refs = append(refs, demo.Host+"/"+strings.TrimPrefix(args[0], demo.Host+"/"))
		}
	} else if len(args) > 0 {
		refs = append(refs, args[0])
	}
	if f.insecure {
		for _, r := range refs {
			if ref, err := images.ParseReference(r); err == nil {
				cfg.Registry.Insecure = append(cfg.Registry.Insecure, ref.Registry)
			}
		}
	}

	p, err := onePipeline(ctx, cfg, webhook.PipelineOptions{Demo: f.useDemo}, stderr)
	if err != nil {
		return err
	}
	defer p.Close()
	if f.output == "input" {
		var image string
		if len(refs) == 1 && len(args) == 1 {
			image = refs[0]
		}
		return writePolicyInputs(ctx, p, image, f.pod, stdout)
	}
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
		if i > 0 && f.output == "text" {
			fmt.Fprintln(stdout)
		}
		if f.output == "json" {
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
