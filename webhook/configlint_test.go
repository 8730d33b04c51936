package webhook

import (
	"strings"
	"testing"
)

type readKeys []string

func (r readKeys) DataKeys() ([]string, bool) { return r, false }

// Each mistake an adopter makes in strata.yaml is named by key path and
// line, with what to do: before, an unknown key was "json: unknown field"
// with no line, `lineage-depth: off` was 'action "false"', and a misspelt
// policies.data key or platform was accepted in silence.
func TestLintConfigNamesEachMistakeByPathAndLine(t *testing.T) {
	raw := `mode: enforce
registry:
  timout: 3s
policies:
  actions:
    lineage-depth: off
    run-as-root: "off"
  data:
    approvedBase: ["registry.example.com/base/*"]
    maxDepth: 3
platforms: [linux/amd65, linux/arm64, amd64]
catalog:
  images:
    - {ref: registry.example.com/base/debian:12, role: os, tag: x}
`
	got := LintConfig([]byte(raw), readKeys{"approvedBases", "maxDepth", "maxLayers"})
	var lines []string
	for _, p := range got {
		lines = append(lines, p.String())
	}
	want := []string{
		"registry.timout (line 3): unknown key; did you mean timeout?",
		`policies.actions.lineage-depth (line 6): YAML reads an unquoted off as the boolean false, not an action: write "off" in quotes`,
		"policies.data.approvedBase (line 9): no loaded policy reads data.strata.config.approvedBase; did you mean approvedBases?",
		`platforms[0] (line 11): "linux/amd65": unknown architecture amd65; did you mean amd64?`,
		`platforms[2] (line 11): "amd64": want os/architecture[/variant], e.g. linux/amd64`,
		"catalog.images[0].tag (line 14): unknown key; known: ref, role",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("LintConfig() =\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	for _, p := range got {
		if p.Warning != strings.HasPrefix(p.Path, "policies.data") {
			t.Errorf("%s: warning %t; want only the unread data key to be a warning", p, p.Warning)
		}
	}
	if got := LintConfig([]byte("mode: warn\nexempt:\n  namespaces: [kube-system]\n"), readKeys{}); len(got) != 0 {
		t.Errorf("LintConfig(a valid file) = %v, want nothing", got)
	}
}
