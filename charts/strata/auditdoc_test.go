package strata_test

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/strata-project/strata/internal/testutil"
	"github.com/strata-project/strata/webhook"
)

// docs/audit.md's flow: the chart installed as the document installs it
// (release strata, namespace strata-system) is in audit mode, its
// strata.yaml is in the ConfigMap named after the release under the key
// the document's kubectl command reads, and --set namespaces.enforce={shop}
// sends shop to the enforcing webhook.
func TestAuditDocumentsFlowIsTheCharts(t *testing.T) {
	t.Parallel()
	prose := testutil.DocProse(t, "../../docs/audit.md")
	for _, want := range []string{
		"The chart's default `mode` is `audit`",
		"helm install strata charts/strata -n strata-system --create-namespace",
		`kubectl get configmap strata -n strata-system -o jsonpath='{.data.strata\.yaml}' > strata.yaml`,
		"(the ConfigMap named after the release, `strata` for a release named strata)",
		"helm upgrade strata charts/strata -n strata-system --reuse-values --set 'namespaces.enforce={shop}'",
	} {
		if !strings.Contains(prose, want) {
			t.Errorf("docs/audit.md does not say %q, which this test asserts", want)
		}
	}

	out, err := helm(t, "template", "strata", ".", "--namespace", "strata-system")
	if err != nil {
		t.Fatalf("helm template strata: %v", err)
	}
	var config string
	for doc := range strings.SplitSeq(out, "\n---\n") {
		var cm corev1.ConfigMap
		if err := yaml.Unmarshal([]byte(doc), &cm); err == nil && cm.Kind == "ConfigMap" && cm.Name == "strata" && cm.Namespace == "strata-system" {
			config = cm.Data["strata.yaml"]
		}
	}
	cfg, err := webhook.ParseConfig([]byte(config))
	if config == "" || err != nil || cfg.Mode != "audit" {
		t.Errorf("release strata's ConfigMap strata holds strata.yaml %q (%v, mode %q), want a configuration in audit mode", config, err, cfg.Mode)
	}

	vwc := render(t, "--set", "namespaces.enforce={shop}").webhookConfig()
	if got := modesOf(t, vwc, "shop"); !slices.Equal(got, []string{"enforce"}) {
		t.Errorf("with namespaces.enforce={shop}, shop is sent to %v, want enforce", got)
	}
}
