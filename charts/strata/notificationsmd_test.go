package strata_test

import (
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/strata-project/strata/internal/testutil"
)

// valuesBlocks are the values.yaml files a page shows.
var valuesBlocks = regexp.MustCompile("(?s)```yaml\n# values.yaml\n(.*?)```")

// Each values.yaml docs/notifications.md shows (the generic receiver,
// GitHub, GitLab) is one the chart accepts, and its notify.url and
// notify.format reach strata.yaml as given; a token key makes strata read a
// token file, an empty HMAC key leaves the events unsigned.
func TestNotificationsMdValuesRender(t *testing.T) {
	t.Parallel()
	blocks := valuesBlocks.FindAllStringSubmatch(string(testutil.ReadFile(t, "../../docs/notifications.md")), -1)
	if len(blocks) != 3 {
		t.Fatalf("docs/notifications.md shows %d values.yaml blocks, want the generic, GitHub and GitLab ones", len(blocks))
	}
	for i, b := range blocks {
		var values struct {
			Notify struct {
				URL      string `json:"url"`
				Format   string `json:"format"`
				HMACKey  string `json:"hmacKey"`
				TokenKey string `json:"tokenKey"`
			} `json:"notify"`
		}
		if err := yaml.Unmarshal([]byte(b[1]), &values); err != nil {
			t.Fatalf("values.yaml %d: %v", i+1, err)
		}
		file := testutil.WriteFile(t, t.TempDir(), "values.yaml", b[1])
		_, cfg := render(t, "-f", file).strataConfig()
		got, _ := cfg["notify"].(map[string]any)
		if got["url"] != values.Notify.URL || got["format"] != values.Notify.Format {
			t.Errorf("values.yaml %d of docs/notifications.md gives strata.yaml notify %v, want url %q and format %q", i+1, got, values.Notify.URL, values.Notify.Format)
		}
		if _, signed := got["secretFile"]; signed != (values.Notify.HMACKey != "") {
			t.Errorf("values.yaml %d (hmacKey %q) gives secretFile %v", i+1, values.Notify.HMACKey, got["secretFile"])
		}
		if _, token := got["tokenFile"]; token != (values.Notify.TokenKey != "") {
			t.Errorf("values.yaml %d (tokenKey %q) gives tokenFile %v", i+1, values.Notify.TokenKey, got["tokenFile"])
		}
	}
}

// docs/notifications.md's example alert: off by default; on, it is named
// and fires on the expression the page gives, for the page's default
// duration.
func TestNotificationsMdAlertIsTheChartsRule(t *testing.T) {
	t.Parallel()
	prose := testutil.DocProse(t, "../../docs/notifications.md")
	m := regexp.MustCompile("`metrics.prometheusRule.enabled=true` \\(off by default\\): the alert `(\\w+)` fires while `([^`]+)` holds for `metrics.prometheusRule.for` \\((\\d+) h by default").FindStringSubmatch(prose)
	if m == nil {
		t.Fatal("docs/notifications.md no longer names the alert, its expression and its default duration")
	}
	if n := render(t).count("PrometheusRule"); n != 0 {
		t.Errorf("%d PrometheusRules by default, docs/notifications.md says off", n)
	}
	r := render(t, "--set", "metrics.prometheusRule.enabled=true")
	if r.count("PrometheusRule") != 1 {
		t.Fatalf("%d PrometheusRules with metrics.prometheusRule.enabled=true, want 1", r.count("PrometheusRule"))
	}
	var rule struct {
		Spec struct {
			Groups []struct {
				Rules []struct {
					Alert, Expr, For string
				} `json:"rules"`
			} `json:"groups"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(r.docs["PrometheusRule"][0], &rule); err != nil || len(rule.Spec.Groups) != 1 || len(rule.Spec.Groups[0].Rules) != 1 {
		t.Fatalf("the PrometheusRule (%v): want one group of one rule:\n%s", err, r.docs["PrometheusRule"][0])
	}
	got := rule.Spec.Groups[0].Rules[0]
	if got.Alert != m[1] || strings.TrimSpace(got.Expr) != m[2] || got.For != m[3]+"h" {
		t.Errorf("the chart's rule is %q on %q for %s; docs/notifications.md says %q on %q for %s h", got.Alert, got.Expr, got.For, m[1], m[2], m[3])
	}
}
