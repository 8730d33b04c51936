// Package pipelinetest gives tests the real evaluation path of
// `strata serve --demo`, built once the same way everywhere.
package pipelinetest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/strata-project/strata/webhook"
)

// Demo is the pipeline of the default configuration with the demo registry:
// its images, its bases as the catalog (loaded) and the built-in policies,
// reached without ambient credentials. It is closed when the test ends.
func Demo(tb testing.TB) *webhook.Pipeline {
	tb.Helper()
	return DemoWith(tb, webhook.DefaultConfig())
}

// DemoWith is Demo built from cfg.
func DemoWith(tb testing.TB, cfg webhook.Config) *webhook.Pipeline {
	tb.Helper()
	p, err := webhook.NewPipeline(tb.Context(), cfg, webhook.PipelineOptions{Demo: true, Keychain: authn.NewMultiKeychain()})
	if err != nil {
		tb.Fatalf("NewPipeline() = %v", err)
	}
	tb.Cleanup(p.Close)
	if err := p.LoadCatalog(tb.Context()); err != nil {
		tb.Fatalf("LoadCatalog() = %v", err)
	}
	return p
}

// DemoWithPolicies is Demo serving, instead of the built-in policies, the
// Rego modules given as file name → source.
func DemoWithPolicies(tb testing.TB, modules map[string]string) *webhook.Pipeline {
	tb.Helper()
	dir := tb.TempDir()
	for name, src := range modules {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o600); err != nil {
			tb.Fatal(err)
		}
	}
	cfg := webhook.DefaultConfig()
	cfg.Policies.Paths = []string{dir}
	return DemoWith(tb, cfg)
}
