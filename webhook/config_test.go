package webhook

import (
	"strings"
	"testing"
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
