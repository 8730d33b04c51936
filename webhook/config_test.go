package webhook

import (
	"encoding/pem"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/strata-project/strata/webhook/images"
	"github.com/strata-project/strata/webhook/internal/imagetest"
	"github.com/strata-project/strata/webhook/lineage"
	"github.com/strata-project/strata/webhook/policy"
)

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.Mode = "block"
	cfg.Policies.Actions = map[string]string{"run-as-root": "deny"}
	err := cfg.Validate()
	if err == nil || !strings.Contains(err.Error(), `mode "block"`) || !strings.Contains(err.Error(), "policies.actions.run-as-root") {
		t.Errorf("validate() = %v, want both problems named", err)
	}
	cfg = DefaultConfig()
	cfg.Policies.Data = map[string]any{"approvedBases": []any{"debian:*", "registry.example.com/base/[", 7, "sha256:abc", "registry.example.com/base/*", "sha256:" + strings.Repeat("a", 64)}}
	err = cfg.Validate()
	for _, want := range []string{`"debian:*" must name a registry`, `"registry.example.com/base/["`, "7 is not a pattern", `"sha256:abc"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("validate() with bad approvedBases = %v, want it to name %s", err, want)
		}
	}
	if err != nil && strings.Contains(err.Error(), "base/*") {
		t.Errorf("validate() = %v, refusing a good pattern", err)
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Errorf("DefaultConfig().Validate() = %v, want nil", err)
	}
}

// Each default is defined once, by the package that owns it: strata.yaml's
// defaults are the stages' own, so that a stage built with empty Options
// and one built from DefaultConfig agree.
func TestDefaultConfigIsTheStagesDefaults(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	r, err := images.NewResolver(images.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	if !slices.Equal(cfg.Platforms, images.DefaultPlatforms()) || !slices.Equal(r.Platforms(), images.DefaultPlatforms()) {
		t.Errorf("platforms: DefaultConfig %v, resolver default %v; want both images.DefaultPlatforms() = %v", cfg.Platforms, r.Platforms(), images.DefaultPlatforms())
	}
	cfg.Platforms[0] = "windows/amd64"
	if images.DefaultPlatforms()[0] != "linux/amd64" {
		t.Errorf("changing a config's platforms changed images.DefaultPlatforms() to %v", images.DefaultPlatforms())
	}
	if cfg.Registry.TagTTL.Duration != images.DefaultTagTTL {
		t.Errorf("registry.tagTTL default = %s, want images.DefaultTagTTL %s", cfg.Registry.TagTTL, images.DefaultTagTTL)
	}
	if got := NewChecker(CheckerOptions{}).opts.ResolveBudget; cfg.Registry.Timeout.Duration != DefaultResolveBudget || got != DefaultResolveBudget {
		t.Errorf("resolution budget: registry.timeout default %s, Checker default %s; want both %s", cfg.Registry.Timeout, got, DefaultResolveBudget)
	}
	if cfg.Catalog.Refresh.Duration != lineage.DefaultRefresh {
		t.Errorf("catalog.refresh default = %s, want lineage.DefaultRefresh %s", cfg.Catalog.Refresh, lineage.DefaultRefresh)
	}
	if cfg.Mode != string(policy.Warn) {
		t.Errorf("mode default = %q, want %q", cfg.Mode, policy.Warn)
	}
}

// An exempt.images pattern that is not a pattern, or that can never match
// a canonical reference, is refused when the configuration loads: path.Match
// ignored its error, and such an entry exempted nothing without a word. So is
// a catalog tag pattern, before any catalog is built.
func TestMalformedPatternsAreRefusedAtLoad(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.Exempt.Images = []string{"registry.example.com/base/[", "nginx:*", "registry.example.com/ok/*"}
	cfg.Catalog.Images = []CatalogImage{{Ref: "registry.example.com/base/debian:{12", Role: "os"}}
	err := cfg.Validate()
	for _, want := range []string{`exempt.images: pattern "registry.example.com/base/["`, `exempt.images: "nginx:*" must name a registry and repository`, `catalog image "registry.example.com/base/debian:{12"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want it to name %s", err, want)
		}
	}
	if err != nil && strings.Contains(err.Error(), "ok/*") {
		t.Errorf("Validate() = %v, refusing a good pattern", err)
	}
}

// registry.caFile adds a private CA to the system's: the pipeline's
// resolver verifies a registry behind it; a file that is missing or holds
// no certificate is refused at start, not discovered at the first image.
func TestRegistryCAFileIsTrustedBesideTheSystemRoots(t *testing.T) {
	t.Parallel()
	image, cert := imagetest.TLSRegistry(t, "app/web:1")
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.crt")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	for file, wantErr := range map[string]string{caFile: "", notPEM: "holds no PEM certificate", filepath.Join(dir, "missing.crt"): "registry.caFile"} {
		cfg := DefaultConfig()
		cfg.Registry.CAFile = file
		p, err := NewPipeline(t.Context(), cfg, PipelineOptions{Keychain: authn.NewMultiKeychain()})
		if wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), wantErr) {
				t.Errorf("NewPipeline with registry.caFile %s = %v, want an error holding %q", file, err, wantErr)
			}
			if p != nil {
				p.Close()
			}
			continue
		}
		if err != nil {
			t.Fatalf("NewPipeline() = %v", err)
		}
		t.Cleanup(p.Close)
		if _, err := p.Resolver.Resolve(t.Context(), image, images.Access{}); err != nil {
			t.Errorf("Resolve behind the CA of registry.caFile = %v, want the image", err)
		}
	}
}
