package webhook

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/strata-project/strata/internal/testutil"
	"github.com/strata-project/strata/webhook/images"
)

// docs/registries.md names the metric that counts the cloud helpers'
// lookups, with its labels: the collector strata serve registers.
func TestRegistriesMdNamesTheCredentialsMetric(t *testing.T) {
	t.Parallel()
	m := regexp.MustCompile("`(strata_[a-z_]+)\\{([a-z,]+)\\}` counts the lookups").FindStringSubmatch(testutil.DocProse(t, "../docs/registries.md"))
	if m == nil {
		t.Fatal("docs/registries.md no longer names the credentials metric")
	}
	r, err := images.NewResolver(images.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ch := make(chan *prometheus.Desc, 1)
	NewCredentialsCollector(r).Describe(ch)
	desc := (<-ch).String()
	if !strings.Contains(desc, `fqName: "`+m[1]+`"`) || !strings.Contains(desc, "variableLabels: {"+m[2]+"}") {
		t.Errorf("docs/registries.md names %s{%s}; the collector describes %s", m[1], m[2], desc)
	}
}

// docs/registries.md: /readyz says whether the catalog has loaded and how
// many images it holds. The catalog's readiness check fails until the
// catalog has loaded, then names its images.
func TestReadinessSaysWhetherTheCatalogHasLoadedAndItsSize(t *testing.T) {
	t.Parallel()
	p, err := NewPipeline(t.Context(), DefaultConfig(), PipelineOptions{Demo: true, Keychain: authn.NewMultiKeychain()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	catalog := p.ReadinessChecks()["catalog"]
	if detail, err := catalog(); err == nil || !strings.Contains(err.Error(), "the catalog has not loaded yet") {
		t.Errorf("/readyz's catalog check before the catalog loaded = %q, %v; want it failing, saying so", detail, err)
	}
	if err := p.LoadCatalog(t.Context()); err != nil {
		t.Fatal(err)
	}
	if detail, err := catalog(); err != nil || p.Catalog.Len() == 0 || detail != fmt.Sprintf("%d images", p.Catalog.Len()) {
		t.Errorf("/readyz's catalog check once loaded = %q, %v; want \"%d images\"", detail, err, p.Catalog.Len())
	}
}
