package webhook

import (
	"context"
	"log/slog"
	"maps"
	"slices"

	"github.com/google/go-containerregistry/pkg/authn"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/strata-project/strata/webhook/demo"
	"github.com/strata-project/strata/webhook/images"
	"github.com/strata-project/strata/webhook/input"
	"github.com/strata-project/strata/webhook/lineage"
	"github.com/strata-project/strata/webhook/policy"
)

// PipelineOptions are what a pipeline needs beyond its Config.
type PipelineOptions struct {
	// Credentials, when set, reads each pod's pull secrets; otherwise
	// strata's own credentials are used for every image.
	Credentials Credentials
	// Keychain supplies strata's own registry credentials. Default:
	// authn.DefaultKeychain.
	Keychain authn.Keychain
	// Demo starts the demo registry and points the configuration at it.
	Demo bool
	// Logger receives the stages' lines. Default: discard.
	Logger *slog.Logger
	// Recorder, when set, receives what the admission handlers' reviews saw
	// (strata serve --graph, --notify).
	Recorder Recorder
	// CatalogMoved, when set, is told of each catalog tag a refresh sees
	// move (strata serve --notify); it must not block.
	CatalogMoved func(lineage.Move)
}

// Pipeline is every stage built from one Config: what strata serve, check
// and inspect, the benchmarks and the tests share.
type Pipeline struct {
	// Config is the configuration the stages were built from, with the
	// demo's additions when it runs.
	Config   Config
	Resolver *images.Resolver
	Catalog  *lineage.Catalog
	Engine   *policy.Engine
	Checker  *Checker
	// Demo is the demo registry when PipelineOptions.Demo asked for it.
	Demo *demo.Registry
	// Recorder is PipelineOptions.Recorder, given to the handlers.
	Recorder Recorder
}

// NewPipeline validates cfg and builds the stages from it. The catalog is
// empty until LoadCatalog (or Catalog.Run) loads it. Close the pipeline
// when done.
func NewPipeline(ctx context.Context, cfg Config, opts PipelineOptions) (_ *Pipeline, err error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p := &Pipeline{Recorder: opts.Recorder}
	defer func() {
		if err != nil {
			p.Close()
		}
	}()
	if opts.Demo {
		if p.Demo, err = demo.Start(ctx); err != nil {
			return nil, err
		}
		cfg = cfg.withDemo(p.Demo)
	}
	p.Config = cfg

	ropts := cfg.resolverOptions()
	ropts.Keychain, ropts.Logger = opts.Keychain, opts.Logger
	if ropts.RootCAs, err = cfg.rootCAs(); err != nil {
		return nil, err
	}
	if ropts.Cloud, err = cfg.cloudOptions(); err != nil {
		return nil, err
	}
	if p.Resolver, err = images.NewResolver(ropts); err != nil {
		return nil, err
	}
	copts := cfg.catalogOptions()
	copts.Logger, copts.Moved = opts.Logger, opts.CatalogMoved
	if p.Catalog, err = lineage.NewCatalog(p.Resolver, p.Resolver, copts); err != nil {
		return nil, err
	}
	popts := cfg.policyOptions()
	popts.Logger = opts.Logger
	if p.Engine, err = policy.New(ctx, popts); err != nil {
		return nil, err
	}
	p.Checker = NewChecker(CheckerOptions{
		Resolver:         p.Resolver,
		Lineage:          p.Catalog,
		Evaluator:        p.Engine,
		Credentials:      opts.Credentials,
		ExemptNamespaces: cfg.Exempt.Namespaces,
		ExemptImages:     cfg.Exempt.Images,
		ResolveBudget:    cfg.Registry.Timeout.Duration,
		Inputs:           input.NewParts(cfg.inputPartsBytes()),
		Logger:           opts.Logger,
	})
	return p, nil
}

// LoadCatalog loads the catalog once. An image that fails to load leaves
// the others loaded: the error names each failure, for the caller to warn.
func (p *Pipeline) LoadCatalog(ctx context.Context) error {
	return p.Catalog.Refresh(ctx)
}

// Handlers returns the admission handler of each mode, as Serve takes them.
func (p *Pipeline) Handlers(metrics *Metrics, logger *slog.Logger) map[policy.Action]admission.Handler {
	return p.handlers(metrics, logger, false)
}

// PinnedHandlers returns the handlers of PinnedPaths, which require the
// Pinner's pins.
func (p *Pipeline) PinnedHandlers(metrics *Metrics, logger *slog.Logger) map[policy.Action]admission.Handler {
	return p.handlers(metrics, logger, true)
}

func (p *Pipeline) handlers(metrics *Metrics, logger *slog.Logger, requirePins bool) map[policy.Action]admission.Handler {
	out := make(map[policy.Action]admission.Handler, len(Paths))
	for mode := range Paths {
		out[mode] = NewHandler(HandlerOptions{Checker: p.Checker, Mode: mode, Metrics: metrics, Logger: logger, Recorder: p.Recorder, RequirePins: requirePins})
	}
	return out
}

// Pinner returns the mutating handler that pins images, on the handlers'
// own Checker so that the validating call finds the pinned digest cached.
func (p *Pipeline) Pinner(logger *slog.Logger) *Pinner {
	return NewPinner(PinnerOptions{Checker: p.Checker, Logger: logger})
}

// Close releases the resolver's connections and stops the demo registry.
func (p *Pipeline) Close() {
	if p.Resolver != nil {
		p.Resolver.Close()
	}
	if p.Demo != nil {
		_ = p.Demo.Close()
	}
}

// withDemo points the configuration at the demo registry: its host is
// reachable over plain HTTP, its bases are the catalog, and, unless the
// configuration names its own, its approved base is the demo OS image.
func (c Config) withDemo(reg *demo.Registry) Config {
	c.Registry.Insecure = append(slices.Clone(c.Registry.Insecure), reg.Host)
	c.Registry.Hosts = maps.Clone(c.Registry.Hosts)
	if c.Registry.Hosts == nil {
		c.Registry.Hosts = map[string]string{}
	}
	c.Registry.Hosts[reg.Host] = reg.Addr
	c.Catalog.Images = slices.Clone(c.Catalog.Images)
	for _, img := range demo.Family {
		if img.Role != "app" {
			c.Catalog.Images = append(c.Catalog.Images, CatalogImage{Ref: reg.Ref(img.Repo), Role: img.Role})
		}
	}
	data := maps.Clone(c.Policies.Data)
	if data == nil {
		data = map[string]any{}
	}
	if _, set := data["approvedBases"]; !set {
		data["approvedBases"] = []any{reg.Ref("base/debian:*")}
	}
	c.Policies.Data = data
	return c
}
