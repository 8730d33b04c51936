package webhook

import (
	"testing"
)

// A YAML merge key (<<: *anchor) is read by serve's parser: config
// validate must not refuse as an unknown key a file serve runs with, and
// must still name what the merged mapping gets wrong.
func TestConfigWithAMergeKeyServeAcceptsIsNotRefusedByValidate(t *testing.T) {
	raw := []byte(`catalog:
  images:
  - &base {ref: registry.example/base:1, role: base}
  - <<: *base
policies:
  actions:
    <<: {root-user: warn}
`)
	cfg, err := ParseConfig(raw)
	if err == nil {
		err = cfg.Validate()
	}
	if err != nil {
		t.Fatalf("serve refuses the file: %v", err)
	}
	if cfg.Catalog.Images[1].Role != "base" || cfg.Policies.Actions["root-user"] != "warn" {
		t.Fatalf("serve did not read the merge: %+v %+v", cfg.Catalog.Images, cfg.Policies.Actions)
	}
	if problems := LintConfig(raw, nil); len(problems) > 0 {
		t.Errorf("config validate refuses what serve runs with: %v", problems)
	}

	bad := []byte(`catalog:
  images:
  - <<: {ref: registry.example/base:1, rol: base}
policies:
  actions:
    <<: {root-user: off}
`)
	var got []string
	for _, p := range LintConfig(bad, nil) {
		got = append(got, p.String())
	}
	want := []string{
		"catalog.images[0].rol (line 3): unknown key; did you mean role?",
		`policies.actions.root-user (line 6): YAML reads an unquoted off as the boolean false, not an action: write "off" in quotes`,
	}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("merged mistakes: got %q, want %q", got, want)
	}
}

// A mapping merged into itself, directly or through a list, is read once:
// config validate answers instead of overflowing its stack.
func TestConfigMergingAMappingIntoItselfDoesNotCrashValidate(t *testing.T) {
	for _, raw := range []string{
		"registry: &x\n  <<: *x\n",
		"registry: &x\n  allow: [a]\n  <<: [*x, *x]\n",
		"exempt: &e {images: [a], <<: *e, nope: 1}\n",
	} {
		problems := LintConfig([]byte(raw), nil)
		if raw[0] == 'e' && (len(problems) != 1 || problems[0].Path != "exempt.nope") {
			t.Errorf("%q: %v, want exempt.nope named once", raw, problems)
		}
	}
}
