package strata_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/strata-project/strata/internal/testutil"
)

// Every chart value docs/security.md names is one values.schema.json
// declares: a renamed value fails here, not in an operator's install. And
// the cache budget and memory limit it states are what the chart renders.
func TestSecurityDocNamesOnlyValuesTheChartHas(t *testing.T) {
	t.Parallel()
	doc := testutil.DocProse(t, "../../docs/security.md")
	var schema map[string]any
	if err := json.Unmarshal(testutil.ReadFile(t, "values.schema.json"), &schema); err != nil {
		t.Fatal(err)
	}
	for _, value := range []string{
		"webhook.clientAuth", "networkPolicy.controlPlaneCIDRs", "networkPolicy.metricsFrom", "networkPolicy.registryCIDRs",
		"connections.webhook", "connections.health", "priorityClassName", "image.tag", "image.repository",
		"imagePullSecrets[].name", "certificates.secret.name", "pinDigests.enabled.enforce", "cache.maxBytes",
		"pullSecrets.enabled", "notify.cidrs",
	} {
		if !strings.Contains(doc, "`"+value) {
			t.Errorf("docs/security.md no longer names the chart value %s: drop it from this list", value)
		}
		node := schema
		for _, key := range strings.Split(value, ".") {
			key, list := strings.CutSuffix(key, "[]")
			props, _ := node["properties"].(map[string]any)
			next, ok := props[key].(map[string]any)
			if ok && list {
				// A list of names or of {name: ...}: the object form.
				next, ok = next["items"].(map[string]any)
				if anyOf, isAny := next["anyOf"].([]any); ok && isAny {
					next, ok = anyOf[len(anyOf)-1].(map[string]any)
				}
			}
			if !ok {
				t.Errorf("docs/security.md names the chart value %s; values.schema.json has no %s", value, key)
				break
			}
			node = next
		}
	}
	r := render(t)
	_, cfg := r.strataConfig()
	cache, _ := cfg["cache"].(map[string]any)
	budget, _ := cache["maxBytes"].(string)
	limit := r.deployment().Spec.Template.Spec.Containers[0].Resources.Limits.Memory().String()
	if want := "the chart sets `" + budget + "` beside its " + strings.TrimSuffix(limit, "Mi") + " MiB limit"; !strings.Contains(doc, want) {
		t.Errorf("docs/security.md does not say %q, what the chart renders", want)
	}
}

// docs/security.md class 12 counts the string values and the payloads
// TestStringValuesInjectingIntoThePodSpecAreRefusedOrInert renders.
func TestSecurityDocCountsTheInjectionTestsValuesAndPayloads(t *testing.T) {
	t.Parallel()
	testutil.DocStates(t, "../../docs/security.md",
		fmt.Sprintf("renders every string value it lists (%d) with each of its payloads (%d:", len(chartStringValues(t)), len(injections)))
}
