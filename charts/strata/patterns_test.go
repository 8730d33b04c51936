package strata_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// The pattern policies' data keys reach strata.yaml's policies.data with
// their defaults, and take the values an operator sets.
func TestPatternDataKeysRender(t *testing.T) {
	t.Parallel()
	_, cfg := render(t).strataConfig()
	data := cfg["policies"].(map[string]any)["data"].(map[string]any)
	for key, want := range map[string]any{"maxImageSize": 524288000.0, "maxAppLayers": 10.0, "wastedLayerBytes": 1024.0, "largeLayerBytes": 10485760.0, "buildTools": map[string]any{}} {
		if got := data[key]; !reflect.DeepEqual(got, want) {
			t.Errorf("strata.yaml policies.data.%s = %#v, want %#v", key, got, want)
		}
	}
	if got, set := data["maxAppSize"]; set && got != nil {
		t.Errorf("strata.yaml policies.data.maxAppSize = %v, want it unset (null or absent)", got)
	}
	values := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(values, []byte(`policies:
  data:
    maxAppSize: 104857600
    buildTools:
      bazel: {match: '\bbazel build\b'}
      npm-dev-dependencies: false
`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, cfg = render(t, "-f", values).strataConfig()
	data = cfg["policies"].(map[string]any)["data"].(map[string]any)
	if got := data["maxAppSize"]; got != 104857600.0 {
		t.Errorf("strata.yaml policies.data.maxAppSize = %v, want 104857600", got)
	}
	want := map[string]any{"bazel": map[string]any{"match": `\bbazel build\b`}, "npm-dev-dependencies": false}
	if got := data["buildTools"]; !reflect.DeepEqual(got, want) {
		t.Errorf("strata.yaml policies.data.buildTools = %#v, want %#v", got, want)
	}
}

func TestPatternDataValuesRejected(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"--set-string", "policies.data.maxImageSize=500Mi"},
		{"--set", "policies.data.maxAppLayers=-1"},
		{"--set", "policies.data.buildTools.bazel.unles=x"},
		{"--set", "policies.data.buildTools.bazel=true"},
	} {
		_, err := renderErr(t, args...)
		if err == nil || !strings.Contains(err.Error(), "values don't meet the specifications of the schema") {
			t.Errorf("helm template %v: err = %v, want the schema to refuse it", args, err)
		}
	}
}
