package main

import (
	"encoding/json"
	"slices"
	"testing"
)

// strata check -o sarif: one rule per policy, each finding at the line of
// its container's image, with a fingerprint of its own and the level of
// its action.
func TestCheckSARIF(t *testing.T) {
	t.Parallel()
	mixed, root := examples+"mixed.yaml", examples+"root.yaml"
	code, out, errOut := runStrata(t, "check", "--demo", "--mode", "enforce", "-o", "sarif", "-f", mixed, "-f", root)
	if code != 1 {
		t.Fatalf("exit %d, want 1; stderr %q", code, errOut)
	}
	var log struct {
		Version string `json:"version"`
		Schema  string `json:"$schema"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Name  string `json:"name"`
					Rules []struct {
						ID               string `json:"id"`
						ShortDescription struct {
							Text string `json:"text"`
						} `json:"shortDescription"`
					} `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID              string            `json:"ruleId"`
				RuleIndex           int               `json:"ruleIndex"`
				Level               string            `json:"level"`
				PartialFingerprints map[string]string `json:"partialFingerprints"`
				Message             struct {
					Text string `json:"text"`
				} `json:"message"`
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct {
							URI string `json:"uri"`
						} `json:"artifactLocation"`
						Region struct {
							StartLine int `json:"startLine"`
						} `json:"region"`
					} `json:"physicalLocation"`
				} `json:"locations"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(out), &log); err != nil {
		t.Fatalf("strata check -o sarif is not JSON: %v\n%s", err, out)
	}
	if log.Version != "2.1.0" || log.Schema != "https://json.schemastore.org/sarif-2.1.0.json" || len(log.Runs) != 1 || log.Runs[0].Tool.Driver.Name != "strata" {
		t.Fatalf("strata check -o sarif = %s, want a SARIF 2.1.0 log of one strata run", out)
	}
	run := log.Runs[0]
	var ruleIDs []string
	for _, r := range run.Tool.Driver.Rules {
		if r.ShortDescription.Text == "" || slices.Contains(ruleIDs, r.ID) {
			t.Errorf("rule %+v: want a short description and one rule per policy", r)
		}
		ruleIDs = append(ruleIDs, r.ID)
	}
	if !slices.Equal(ruleIDs, []string{"base-freshness", "run-as-root"}) {
		t.Errorf("strata check -o sarif rules = %v, want base-freshness, run-as-root", ruleIDs)
	}
	// A finding points at the line of its container's image, not at the
	// object's first line.
	lines := map[string][]int{
		mixed: {lineOf(t, mixed, "image: strata-demo.local/shop/admin:1.0"), lineOf(t, mixed, "image: strata-demo.local/shop/billing:1.0")},
		root:  {lineOf(t, root, "image: strata-demo.local/shop/admin:1.0")},
	}
	fingerprints := map[string]bool{}
	levels := map[string]string{}
	for _, r := range run.Results {
		if r.RuleIndex < 0 || r.RuleIndex >= len(ruleIDs) || ruleIDs[r.RuleIndex] != r.RuleID {
			t.Errorf("result %s has ruleIndex %d, which is not its rule", r.RuleID, r.RuleIndex)
		}
		if len(r.Locations) != 1 {
			t.Fatalf("result %+v: want one location", r)
		}
		loc := r.Locations[0].PhysicalLocation
		want, ok := lines[loc.ArtifactLocation.URI]
		if fp := r.PartialFingerprints["strataFinding/v1"]; fp == "" || fingerprints[fp] {
			t.Errorf("result %s at %s:%d: partialFingerprints %v, want one of its own", r.RuleID, loc.ArtifactLocation.URI, loc.Region.StartLine, r.PartialFingerprints)
		} else {
			fingerprints[fp] = true
		}
		if !ok || !slices.Contains(want, loc.Region.StartLine) {
			t.Errorf("result %s at %s:%d, want one of %v", r.RuleID, loc.ArtifactLocation.URI, loc.Region.StartLine, lines)
		}
		levels[loc.ArtifactLocation.URI+" "+r.RuleID] = r.Level
	}
	for k, want := range map[string]string{mixed + " run-as-root": "error", mixed + " base-freshness": "warning", root + " run-as-root": "error"} {
		if levels[k] != want {
			t.Errorf("strata check -o sarif: %s has level %q, want %q", k, levels[k], want)
		}
	}
}
