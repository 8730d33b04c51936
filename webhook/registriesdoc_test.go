package webhook

import (
	"regexp"
	"strings"
	"testing"

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
