package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/strata-project/strata/webhook"
	"github.com/strata-project/strata/webhook/demo"
)

// loadConfig reads the strata.yaml at path over the defaults; no path is
// the defaults.
func loadConfig(path string) (webhook.Config, error) {
	if path == "" {
		return webhook.DefaultConfig(), nil
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return webhook.Config{}, fmt.Errorf("reading config: %w", err)
	}
	cfg, err := webhook.ParseConfig(raw)
	if err != nil {
		return cfg, fmt.Errorf("config %s: %w", path, err)
	}
	return cfg, nil
}

// configOrDefault is --config, or ./strata.yaml when --config is not
// given and there is one; reading the default is said on stderr, so that a
// forgotten file never decides silently.
func configOrDefault(path, command string, stderr io.Writer) string {
	if path != "" {
		return path
	}
	if _, err := os.Stat(defaultConfigFile); err != nil {
		return ""
	}
	fmt.Fprintf(stderr, "strata %s: reading ./%s (--config chooses another)\n", command, defaultConfigFile)
	return defaultConfigFile
}

// loadCatalog loads the catalog once for a command that runs once; images
// that failed are a warning, not fatal: the others still give lineage.
func loadCatalog(ctx context.Context, p *webhook.Pipeline, logger *slog.Logger) {
	if err := p.LoadCatalog(ctx); err != nil {
		logger.Warn("some catalog images could not be loaded", "error", err)
	}
}

// onePipeline builds the pipeline of a command that runs once (check,
// inspect, audit, graph) with its catalog loaded; warnings go to stderr.
// Close it when done.
func onePipeline(ctx context.Context, cfg webhook.Config, opts webhook.PipelineOptions, stderr io.Writer) (*webhook.Pipeline, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	p, err := webhook.NewPipeline(ctx, cfg, opts)
	if err != nil {
		return nil, err
	}
	loadCatalog(ctx, p, opts.Logger)
	return p, nil
}

// demoNote explains what --demo set up.
func demoNote(reg *demo.Registry) string {
	return fmt.Sprintf("demo registry %s at %s; images: base/debian:12, base/temurin:21, base/spring:3, shop/web:1.0, shop/admin:1.0, shop/report:1.0, shop/legacy:1.0, shop/billing:1.0", reg.Host, reg.Addr)
}
