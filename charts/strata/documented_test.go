package strata_test

import (
	"os"
	"strings"
	"testing"

	"github.com/strata-project/strata/internal/testutil"
	"github.com/strata-project/strata/test/chartdocs"
)

// The audit → enforce path the chart README and NOTES.txt document is run
// as written, each step over the values of the steps before
// (--reuse-values): `--set 'namespaces.warn={}'`, which helm v4 turns into
// [""], was refused by the schema, and =null crashed the template.
func TestDocumentedUpgradeCommandsRender(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	notes, err := helm(t, "install", release, ".", "--namespace", namespace, "--dry-run=client")
	if err != nil {
		t.Fatal(err)
	}
	_, notes, _ = strings.Cut(notes, "NOTES:")
	for _, doc := range []struct{ name, text string }{{"README.md", string(readme)}, {"NOTES.txt", notes}} {
		steps := chartdocs.UpgradeSteps(doc.text)
		if len(steps) < 3 {
			t.Fatalf("%s: found %d upgrade steps, want the three of audit → warn → enforce → default", doc.name, len(steps))
		}
		var values []string
		modeSteps := 0
		for _, step := range steps {
			values = append(values, step...)
			vwc := render(t, values...).webhookConfig()
			if !strings.Contains(strings.Join(step, " "), "namespaces.") {
				continue // a step about something else (approvedBases): it renders
			}
			got := modesOf(t, vwc, "team-a")
			want := []string{"warn", "enforce", "enforce"}[min(modeSteps, 2)]
			if len(got) != 1 || got[0] != want {
				t.Errorf("%s step %v: team-a is in %v, want %s", doc.name, step, got, want)
			}
			modeSteps++
		}
		if modeSteps != 3 {
			t.Errorf("%s: %d steps set namespaces, want 3 (warn, enforce, enforce by default)", doc.name, modeSteps)
		}
	}
	// The other spellings of "none" an adopter tries.
	for _, none := range []string{"namespaces.warn=null", "namespaces.warn={}", "namespaces.warn=[]", "namespaces.warn="} {
		vwc := render(t, "--set", "namespaces.warn={team-a}", "--set", none).webhookConfig()
		if got := modesOf(t, vwc, "team-a"); len(got) != 1 || got[0] != "audit" {
			t.Errorf("--set %s after team-a in warn: team-a is in %v, want audit (the default)", none, got)
		}
	}
	// A bare string is one namespace without braces, not "none": refused, not read as empty.
	if _, err := helm(t, "template", release, ".", "--namespace", namespace, "--set", "namespaces.warn=team-a"); err == nil || !strings.Contains(err.Error(), "/namespaces/warn") {
		t.Errorf("--set namespaces.warn=team-a: want a schema error at /namespaces/warn, got %v", err)
	}
}

// docs/serving.md sizes the webhook's connection cap against the chart's
// memory limit: the limit it names is the one the chart renders.
func TestServingDocStatesTheChartsMemoryLimit(t *testing.T) {
	t.Parallel()
	limit := render(t).deployment().Spec.Template.Spec.Containers[0].Resources.Limits.Memory().String()
	prose := testutil.DocProse(t, "../../docs/serving.md")
	want := "the chart's " + strings.TrimSuffix(limit, "Mi") + " Mi limit"
	if !strings.HasSuffix(limit, "Mi") || strings.Count(prose, want) != 2 {
		t.Errorf("docs/serving.md says %q %d times, want twice: the chart's memory limit is %s", want, strings.Count(prose, want), limit)
	}
}
