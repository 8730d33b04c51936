package webhook

import (
	"slices"
	"strings"
	"testing"

	"github.com/strata-project/strata/webhook/demo"
)

// Every setting of the Config reaches the stage that owns it, and the demo
// adds to the configuration without changing the caller's.
func TestNewPipelineBuildsEveryStageFromTheConfig(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.Platforms = []string{"linux/arm64"}
	cfg.Exempt.Images = []string{demo.Host + "/shop/admin:*"}
	cfg.Policies.Actions = map[string]string{"lineage-depth": "off"}
	p := newPipelineWith(t, cfg)

	if got := p.Resolver.Platforms(); !slices.Equal(got, []string{"linux/arm64"}) {
		t.Errorf("Resolver.Platforms() = %v, want [linux/arm64]", got)
	}
	if !p.Checker.ImageExempt(demo.Host + "/shop/admin:1.0") {
		t.Errorf("Checker.ImageExempt(shop/admin) = false, want true (exempt.images)")
	}
	for _, m := range p.Engine.Policies() {
		if m.ID == "lineage-depth" && m.Action != "off" {
			t.Errorf("lineage-depth action = %s, want off (policies.actions)", m.Action)
		}
	}
	if p.Demo == nil {
		t.Fatal("NewPipeline(Demo: true).Demo = nil")
	}
	var bases []string
	for _, img := range p.Config.Catalog.Images {
		bases = append(bases, img.Ref)
	}
	if !slices.Contains(bases, demo.Host+"/base/debian:12") || slices.Contains(bases, demo.Host+"/shop/web:1.0") {
		t.Errorf("the demo's catalog = %v, want its bases and no application", bases)
	}
	if got := p.Config.Policies.Data["approvedBases"]; !slices.Equal(got.([]any), []any{demo.Host + "/base/debian:*"}) {
		t.Errorf("the demo's approvedBases = %v, want the demo OS image", got)
	}
	if len(cfg.Catalog.Images) != 0 || cfg.Policies.Data != nil || len(cfg.Registry.Insecure) != 0 {
		t.Errorf("NewPipeline changed the caller's Config: %+v", cfg)
	}
	if p.Catalog.Len() == 0 {
		t.Errorf("the catalog holds no image after LoadCatalog, want the demo's bases")
	}
}

// The demo keeps approved bases the configuration names.
func TestNewPipelineDemoKeepsTheConfiguredApprovedBases(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.Policies.Data = map[string]any{"approvedBases": []any{"registry.example.com/base/*"}}
	p := newPipelineWith(t, cfg)
	if got := p.Config.Policies.Data["approvedBases"]; !slices.Equal(got.([]any), []any{"registry.example.com/base/*"}) {
		t.Errorf("approvedBases = %v, want the configured one", got)
	}
}

// An invalid configuration builds nothing: no demo registry is left running.
func TestNewPipelineRefusesAnInvalidConfig(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.Mode = "block"
	p, err := NewPipeline(t.Context(), cfg, PipelineOptions{Demo: true})
	if err == nil || !strings.Contains(err.Error(), `mode "block"`) || p != nil {
		t.Errorf("NewPipeline(mode block) = %v, %v; want no pipeline and the mode named", p, err)
	}
}
