package webhook

import (
	"strings"
	"testing"
)

// A value the pattern policies would ignore (a size written as a string, a
// pattern that does not compile, a misspelt field) is refused when the
// configuration is read, not discovered as a check that never fires.
func TestPatternDataThePoliciesWouldIgnoreIsRefused(t *testing.T) {
	t.Parallel()
	cfg, err := ParseConfig([]byte(`
policies:
  data:
    maxImageSize: 500Mi
    maxAppSize: -1
    maxAppLayers: 2.5
    maxDepth: "3"
    maxLayers: -40
    wastedLayerBytes: 1024
    largeLayerBytes: null
    buildTools:
      bazel: {match: '\bbazel build\b', images: ["gcr.io/bazel-public/bazel:*"]}
      npm-dev-dependencies: false
      broken: {match: "(unclosed", unles: "x", images: ["maven:*"]}
      gcc: true
`))
	if err != nil {
		t.Fatalf("ParseConfig() = %v", err)
	}
	err = cfg.Validate()
	for _, want := range []string{
		"policies.data.maxImageSize: 500Mi is not a whole number",
		"policies.data.maxAppSize: -1 is not a whole number",
		"policies.data.maxAppLayers: 2.5 is not a whole number",
		"policies.data.maxDepth: 3 is not a whole number",
		"policies.data.maxLayers: -40 is not a whole number",
		"policies.data.buildTools.broken.match: error parsing regexp: missing closing ): `(unclosed`",
		"policies.data.buildTools.broken.unles: unknown field; want one of match, unless, unlessEnv, images",
		`policies.data.buildTools.broken.images: "maven:*" must name a registry and repository`,
		"policies.data.buildTools.gcc: true is not an entry",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want it to say %q", err, want)
		}
	}
	for _, good := range []string{"wastedLayerBytes", "largeLayerBytes", "buildTools.bazel", "buildTools.npm-dev-dependencies"} {
		if err != nil && strings.Contains(err.Error(), good) {
			t.Errorf("Validate() = %v, refusing the good %s", err, good)
		}
	}
}

func TestPatternDataWithinBoundsIsAccepted(t *testing.T) {
	t.Parallel()
	cfg, err := ParseConfig([]byte(`
policies:
  data:
    maxImageSize: 524288000
    maxAppSize: null
    maxAppLayers: 10
    maxDepth: null
    maxLayers: 40
    buildTools:
      go: {match: '\bgo build\b', images: ["registry.example.com/toolchains/golang:*"]}
      npm-dev-dependencies: {match: '\bnpm (ci|install)\b', unless: '--omit=dev', unlessEnv: '^NODE_ENV=production$'}
`))
	if err != nil {
		t.Fatalf("ParseConfig() = %v", err)
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("Validate() = %v, want nil", err)
	}
}
