package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/strata-project/strata/webhook"
	"github.com/strata-project/strata/webhook/demo"
	"github.com/strata-project/strata/webhook/images"
	"github.com/strata-project/strata/webhook/lineage"
	"github.com/strata-project/strata/webhook/policy"
)

// pipeline is every stage built from one Config: what serve, check and
// inspect share.
type pipeline struct {
	resolver *images.Resolver
	catalog  *lineage.Catalog
	engine   *policy.Engine
	checker  *webhook.Checker
	demo     *demo.Registry
}

// withDemo starts the demo registry and points the configuration at it: its
// host is reachable over plain HTTP, its bases are the catalog, and its
// approved base is the demo OS image.
func withDemo(ctx context.Context, cfg *Config) (*demo.Registry, error) {
	reg, err := demo.Start(ctx)
	if err != nil {
		return nil, err
	}
	cfg.Registry.Insecure = append(cfg.Registry.Insecure, reg.Host)
	cfg.demoHosts = map[string]string{reg.Host: reg.Addr}
	for _, img := range demo.Family {
		if img.Role != "app" {
			cfg.Catalog.Images = append(cfg.Catalog.Images, CatalogImage{Ref: reg.Ref(img.Repo), Role: img.Role})
		}
	}
	if cfg.Policies.Data == nil {
		cfg.Policies.Data = map[string]any{}
	}
	if _, set := cfg.Policies.Data["approvedBases"]; !set {
		cfg.Policies.Data["approvedBases"] = []any{reg.Ref("base/debian:*")}
	}
	return reg, nil
}

// buildPipeline builds the stages and loads the catalog once; catalog
// images that fail to load are logged, not fatal.
func buildPipeline(ctx context.Context, cfg Config, creds webhook.Credentials, logger *slog.Logger) (*pipeline, error) {
	ropts := cfg.resolverOptions()
	ropts.Logger = logger
	resolver, err := images.NewResolver(ropts)
	if err != nil {
		return nil, err
	}
	copts := cfg.catalogOptions()
	copts.Logger = logger
	catalog, err := lineage.NewCatalog(resolver, resolver, copts)
	if err != nil {
		resolver.Close()
		return nil, err
	}
	popts := cfg.policyOptions()
	popts.Logger = logger
	engine, err := policy.New(ctx, popts)
	if err != nil {
		resolver.Close()
		return nil, err
	}
	checker := webhook.NewChecker(webhook.CheckerOptions{
		Resolver:      resolver,
		Lineage:       catalog,
		Evaluator:     engine,
		Credentials:   creds,
		ExemptImages:  cfg.Exempt.Images,
		ResolveBudget: cfg.Registry.Timeout.Duration,
		Logger:        logger,
	})
	return &pipeline{resolver: resolver, catalog: catalog, engine: engine, checker: checker}, nil
}

// loadCatalog loads the catalog once, warning about images that failed.
func (p *pipeline) loadCatalog(ctx context.Context, logger *slog.Logger) {
	if err := p.catalog.Refresh(ctx); err != nil {
		logger.Warn("some catalog images could not be loaded", "error", err)
	}
}

func (p *pipeline) close() {
	p.resolver.Close()
	if p.demo != nil {
		_ = p.demo.Close()
	}
}

// demoNote explains what --demo set up.
func demoNote(reg *demo.Registry) string {
	return fmt.Sprintf("demo registry %s at %s; images: base/debian:12, base/temurin:21, base/spring:3, shop/web:1.0, shop/admin:1.0, shop/report:1.0, shop/legacy:1.0, shop/billing:1.0", reg.Host, reg.Addr)
}
