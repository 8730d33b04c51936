package main

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/strata-project/strata/webhook"
	"github.com/strata-project/strata/webhook/images"
	"github.com/strata-project/strata/webhook/lineage"
	"github.com/strata-project/strata/webhook/manifest"
	"github.com/strata-project/strata/webhook/policy"
)

// readme is README.md with its whitespace runs made one space, so that a
// phrase is found wherever the prose wraps it.
func readme(t *testing.T) (raw, prose string) {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	return string(b), strings.Join(strings.Fields(string(b)), " ")
}

// mib writes a byte count as README.md does.
func mib(n int64) string { return fmt.Sprintf("%d MiB", n>>20) }

// The bounds README.md states in prose are the values the code uses: a
// changed constant fails here instead of leaving the README wrong. The
// behaviour at each bound is asserted where it lives (README's "What
// asserts this page" names those tests).
func TestReadmeStatesTheBoundsTheCodeUses(t *testing.T) {
	_, prose := readme(t)
	for _, phrase := range []string{
		fmt.Sprintf("up to %d deep", manifest.MaxListDepth),
		fmt.Sprintf("`--max-file-bytes` (%s) each and `--max-total-bytes` (%s) in all", mib(manifest.DefaultFileBytes), mib(manifest.DefaultTotalBytes)),
		fmt.Sprintf("One file may hold at most %s and all of them %s", mib(policy.DefaultMaxFileBytes), mib(policy.DefaultMaxTotalBytes)),
		fmt.Sprintf("strata polls every %d s", policyPollInterval/time.Second),
	} {
		if !strings.Contains(prose, phrase) {
			t.Errorf("README.md does not say %q, which is what the code does", phrase)
		}
	}
}

// README.md's strata.yaml is a configuration strata loads (unknown keys
// are errors), and the values it shows for the registry budget, the tag
// cache, the cache budget, the mode, the catalog refresh, the platforms
// and the exempt namespaces are the defaults, which its comments present
// them as.
func TestReadmeConfigurationLoadsAndShowsTheDefaults(t *testing.T) {
	raw, _ := readme(t)
	block := regexp.MustCompile("(?s)## Configuration \\(`strata.yaml`\\).*?```yaml\n(.*?)```").FindStringSubmatch(raw)
	if block == nil {
		t.Fatal("README.md has no yaml block under its Configuration heading")
	}
	cfg, err := webhook.ParseConfig([]byte(block[1]))
	if err != nil {
		t.Fatalf("README.md's strata.yaml does not load: %v", err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("README.md's strata.yaml does not validate: %v", err)
	}
	def := webhook.DefaultConfig()
	for _, c := range []struct {
		key       string
		got, want any
	}{
		{"mode", cfg.Mode, def.Mode},
		{"registry.timeout", cfg.Registry.Timeout, webhook.Duration{Duration: webhook.DefaultResolveBudget}},
		{"registry.tagTTL", cfg.Registry.TagTTL, webhook.Duration{Duration: images.DefaultTagTTL}},
		{"catalog.refresh", cfg.Catalog.Refresh, webhook.Duration{Duration: lineage.DefaultRefresh}},
		{"cache.maxBytes", cfg.Cache.MaxBytes.Value(), int64(webhook.DefaultCacheBytes)},
	} {
		if c.got != c.want {
			t.Errorf("README.md's strata.yaml shows %s: %v, the default is %v", c.key, c.got, c.want)
		}
	}
	if !slices.Equal(cfg.Platforms, images.DefaultPlatforms()) {
		t.Errorf("README.md's strata.yaml shows platforms %v, the default is %v", cfg.Platforms, images.DefaultPlatforms())
	}
	if !slices.Equal(cfg.Exempt.Namespaces, def.Exempt.Namespaces) {
		t.Errorf("README.md's strata.yaml shows exempt.namespaces %v, the default is %v", cfg.Exempt.Namespaces, def.Exempt.Namespaces)
	}
}
