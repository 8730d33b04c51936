package main

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/gobwas/glob"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"

	"github.com/strata-project/strata/policies"
	"github.com/strata-project/strata/webhook/images"
	"github.com/strata-project/strata/webhook/lineage"
	"github.com/strata-project/strata/webhook/policy"
)

// Config is strata.yaml (see DESIGN.md); every field is optional and flags
// override it. Only this package reads it; the engine packages get Options.
type Config struct {
	Mode      string         `json:"mode,omitempty"`
	Policies  PoliciesConfig `json:"policies,omitzero"`
	Catalog   CatalogConfig  `json:"catalog,omitzero"`
	Platforms []string       `json:"platforms,omitempty"`
	Registry  RegistryConfig `json:"registry,omitzero"`
	Cache     CacheConfig    `json:"cache,omitzero"`
	Exempt    ExemptConfig   `json:"exempt,omitzero"`

	// demoHosts maps the demo registry's name to its address; set by --demo.
	demoHosts map[string]string
}

// PoliciesConfig selects and parameterises the Rego policies.
type PoliciesConfig struct {
	Actions map[string]string `json:"actions,omitempty"`
	Paths   []string          `json:"paths,omitempty"`
	Data    map[string]any    `json:"data,omitempty"`
}

// CatalogConfig lists the known images lineage is matched against.
type CatalogConfig struct {
	Refresh Duration       `json:"refresh,omitzero"`
	Images  []CatalogImage `json:"images,omitempty"`
}

// CatalogImage is one known image and the role it plays.
type CatalogImage struct {
	Ref  string `json:"ref"`
	Role string `json:"role"`
}

// RegistryConfig says how, and which, registries are reached.
type RegistryConfig struct {
	Timeout  Duration `json:"timeout,omitzero"`
	TagTTL   Duration `json:"tagTTL,omitzero"`
	Allow    []string `json:"allow,omitempty"`
	Insecure []string `json:"insecure,omitempty"`
}

// CacheConfig bounds what strata remembers between admissions.
type CacheConfig struct {
	// MaxBytes is the one budget of every cache, in bytes or as a quantity
	// ("64Mi"), split by cacheBudget.
	MaxBytes resource.Quantity `json:"maxBytes,omitzero"`
}

// defaultCacheBytes is cache.maxBytes by default: sized for the chart's
// 256 MiB memory limit. Go's collector lets the heap grow to about twice
// what is live, so 64 MiB of caches leave room for the catalog, the
// compiled policies and requests in flight.
const defaultCacheBytes = 64 << 20

// minCacheBytes is the smallest budget accepted: below it the caches hold
// too little to serve a cluster's working set.
const minCacheBytes = 4 << 20

// cacheBudget splits cache.maxBytes: 11/16 to the image resolver (facts,
// tag resolutions, remembered failures, registry sessions), 1/16 to the
// pods' pull-secret credentials, 1/8 each to the policy result cache and
// the lineage cache.
func (c Config) cacheBudget() (resolver, secrets, results, lineages int64) {
	total := c.Cache.MaxBytes.Value()
	return total / 16 * 11, total / 16, total / 8, total / 8
}

// ExemptConfig lists what is never evaluated.
type ExemptConfig struct {
	Namespaces []string `json:"namespaces,omitempty"`
	// Images are glob patterns (* stops at /) on canonical references.
	Images []string `json:"images,omitempty"`
}

// Duration reads "3s", "5m", "1h" in YAML.
type Duration struct{ time.Duration }

// UnmarshalJSON parses a Go duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("durations are strings such as \"3s\" or \"5m\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// defaultConfig is what strata uses with no file.
func defaultConfig() Config {
	return Config{
		Mode:      "warn",
		Platforms: []string{"linux/amd64", "linux/arm64"},
		Registry: RegistryConfig{
			Timeout: Duration{3 * time.Second},
			TagTTL:  Duration{5 * time.Minute},
		},
		Catalog: CatalogConfig{Refresh: Duration{time.Hour}},
		Cache:   CacheConfig{MaxBytes: *resource.NewQuantity(defaultCacheBytes, resource.BinarySI)},
		Exempt:  ExemptConfig{Namespaces: []string{"kube-system"}},
	}
}

// loadConfig reads path over the defaults; unknown keys are errors, so a
// misspelt setting is never silently ignored.
func loadConfig(path string) (Config, error) {
	cfg := defaultConfig()
	if path == "" {
		return cfg, nil
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return cfg, fmt.Errorf("reading config: %w", err)
	}
	if err := yaml.UnmarshalStrict(raw, &cfg); err != nil {
		return cfg, fmt.Errorf("config %s: %w", path, err)
	}
	return cfg, nil
}

var modes = []string{"enforce", "warn", "audit"}

// validate checks the configuration once, before anything is built from it.
func (c Config) validate() error {
	var problems []string
	if !slices.Contains(modes, c.Mode) {
		problems = append(problems, fmt.Sprintf("mode %q: want one of %s", c.Mode, strings.Join(modes, ", ")))
	}
	for id, action := range c.Policies.Actions {
		if _, err := policy.ParseAction(action); err != nil {
			problems = append(problems, fmt.Sprintf("policies.actions.%s: %v", id, err))
		}
	}
	if bases, ok := c.Policies.Data["approvedBases"]; ok {
		problems = append(problems, checkApprovedBases(bases)...)
	}
	if c.Registry.Timeout.Duration <= 0 {
		problems = append(problems, "registry.timeout must be positive")
	}
	if c.Cache.MaxBytes.Value() < minCacheBytes {
		problems = append(problems, fmt.Sprintf("cache.maxBytes %s: want at least 4Mi", c.Cache.MaxBytes.String()))
	}
	for _, img := range c.Catalog.Images {
		if img.Ref == "" || img.Role == "" {
			problems = append(problems, fmt.Sprintf("catalog image %q: needs both ref and role", img.Ref))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("invalid configuration:\n  %s", strings.Join(problems, "\n  "))
	}
	return nil
}

// checkApprovedBases refuses patterns that would make every evaluation fail
// (strict builtin errors) or never match (a non-canonical spelling).
func checkApprovedBases(v any) []string {
	list, ok := v.([]any)
	if !ok {
		return []string{"policies.data.approvedBases: want a list of patterns"}
	}
	var problems []string
	for _, p := range list {
		s, ok := p.(string)
		if !ok || s == "" {
			problems = append(problems, fmt.Sprintf("policies.data.approvedBases: %v is not a pattern string", p))
			continue
		}
		if strings.HasPrefix(s, "sha256:") {
			if _, err := images.ParseDigest(s); err != nil {
				problems = append(problems, fmt.Sprintf("policies.data.approvedBases: %v", err))
			}
			continue
		}
		if _, err := glob.Compile(s, '/'); err != nil {
			problems = append(problems, fmt.Sprintf("policies.data.approvedBases: %q: %v", s, err))
			continue
		}
		// The part before any wildcard must already be canonical, or the
		// pattern never matches: policies see canonical references only.
		literal, _, _ := strings.Cut(s, "*")
		if !strings.Contains(literal, "/") {
			problems = append(problems, fmt.Sprintf("policies.data.approvedBases: %q must name a registry and repository, e.g. docker.io/library/debian:*", s))
		}
	}
	return problems
}

// policyOptions turns the configuration into the policy engine's Options.
func (c Config) policyOptions() policy.Options {
	actions := make(map[string]policy.Action, len(c.Policies.Actions))
	for id, a := range c.Policies.Actions {
		actions[id] = policy.Action(a)
	}
	_, _, results, _ := c.cacheBudget()
	return policy.Options{Builtins: policies.FS, Paths: c.Policies.Paths, Data: c.Policies.Data, Actions: actions, ResultCacheBytes: results}
}

// catalogOptions turns the configuration into the lineage catalog's Options.
func (c Config) catalogOptions() lineage.Options {
	_, _, _, lineages := c.cacheBudget()
	opts := lineage.Options{ClaimTTL: c.Registry.TagTTL.Duration, FetchTimeout: c.Registry.Timeout.Duration, CacheBytes: lineages}
	for _, img := range c.Catalog.Images {
		opts.Images = append(opts.Images, lineage.CatalogImage{Ref: img.Ref, Role: img.Role})
	}
	return opts
}

// resolverOptions turns the configuration into the image resolver's Options.
func (c Config) resolverOptions() images.Options {
	resolver, _, _, _ := c.cacheBudget()
	return images.Options{
		CacheBytes:   resolver,
		Platforms:    c.Platforms,
		TagTTL:       c.Registry.TagTTL.Duration,
		FetchTimeout: c.Registry.Timeout.Duration,
		Allow:        c.Registry.Allow,
		Insecure:     c.Registry.Insecure,
		Hosts:        c.demoHosts,
	}
}
