package webhook

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// registry.credentials names helpers strata has, each once; a typo is
// refused at load rather than silently reading nothing.
func TestRegistryCredentialsNamesKnownHelpersOnce(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.Registry.Credentials = []string{"ecr", "gcr", "ecr"}
	err := cfg.Validate()
	for _, want := range []string{`registry.credentials: unknown helper "gcr": want one of ecr, google, azure`, `registry.credentials: "ecr" is listed twice`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want it to say %s", err, want)
		}
	}
	cfg.Registry.Credentials = []string{"ecr", "google", "azure"}
	if err := cfg.Validate(); err != nil {
		t.Errorf("Validate() with every helper = %v", err)
	}
}

// strata serve exports strata_registry_credentials_total from the
// pipeline's resolver.
func TestCredentialsMetricIsRegistered(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.Registry.Credentials = []string{"ecr"}
	p, err := NewPipeline(t.Context(), cfg, PipelineOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	reg := prometheus.NewRegistry()
	if err := reg.Register(NewCredentialsCollector(p.Resolver)); err != nil {
		t.Fatal(err)
	}
	if n, err := testutil.GatherAndCount(reg, "strata_registry_credentials_total"); err != nil || n != 0 {
		t.Errorf("before any lookup: %d series, %v; want none", n, err)
	}
}
