package strata_test

import (
	"strings"
	"testing"
)

// cache.maxBytes reaches strata.yaml as the quantity written; anything but
// a quantity is refused by the schema, a newline with it included.
func TestCacheMaxBytes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "64Mi"},
		{[]string{"--set-string", "cache.maxBytes=128Mi"}, "128Mi"},
		{[]string{"--set-string", "cache.maxBytes=100000000"}, "100000000"},
	} {
		_, cfg := render(t, tc.args...).strataConfig()
		cache, _ := cfg["cache"].(map[string]any)
		if got := cache["maxBytes"]; got != tc.want {
			t.Errorf("%v: strata.yaml cache.maxBytes = %v, want %q", tc.args, got, tc.want)
		}
	}
	for _, bad := range []string{"64MB", "-1Mi", "0", "64Mi\nhostNetwork: true"} {
		if _, err := renderErr(t, "--set-string", "cache.maxBytes="+bad); err == nil || !strings.Contains(err.Error(), "maxBytes") {
			t.Errorf("cache.maxBytes=%q: err = %v, want the schema's refusal", bad, err)
		}
	}
}
