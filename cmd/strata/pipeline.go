package main

import (
	"context"
	"fmt"
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

// loadCatalog loads the catalog once for a command that runs once; images
// that failed are a warning, not fatal: the others still give lineage.
func loadCatalog(ctx context.Context, p *webhook.Pipeline, logger *slog.Logger) {
	if err := p.LoadCatalog(ctx); err != nil {
		logger.Warn("some catalog images could not be loaded", "error", err)
	}
}

// demoNote explains what --demo set up.
func demoNote(reg *demo.Registry) string {
	return fmt.Sprintf("demo registry %s at %s; images: base/debian:12, base/temurin:21, base/spring:3, shop/web:1.0, shop/admin:1.0, shop/report:1.0, shop/legacy:1.0, shop/billing:1.0", reg.Host, reg.Addr)
}
