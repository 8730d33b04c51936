package report

import (
	"bytes"
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strata-project/strata/webhook/policy"
)

func sampleCheck() *Check {
	root := policy.Violation{Policy: "run-as-root", Action: policy.Enforce, Msg: `container "admin" runs as root`, Container: "admin", Platform: "linux/amd64"}
	stale := policy.Violation{Policy: "base-freshness", Action: policy.Warn, Msg: `container "admin": base moved`, Container: "admin", Platform: "linux/amd64"}
	broken := policy.Violation{Policy: policy.PolicyError, Action: policy.Warn, Msg: "the policies could not be evaluated", Container: "web"}
	deep := policy.Violation{Policy: "lineage-depth", Action: policy.Audit, Msg: `container "report": 4 levels`, Container: "report", Platform: "linux/arm64"}
	return &Check{
		Mode: policy.Enforce,
		Objects: []CheckedObject{
			{File: "deploy/admin.yaml", Line: 3, Document: 1, Kind: "Pod", Namespace: "shop", Name: "admin", Decision: Deny, Violations: []policy.Violation{root, stale}},
			{File: "deploy/all.yaml", Line: 12, Document: 2, Kind: "Deployment", Namespace: "shop", Name: "web", Decision: Warn, Violations: []policy.Violation{broken}},
			{File: "deploy/list.json", Line: 1, Document: 1, Item: 2, Kind: "CronJob", Namespace: "shop", Name: "report", Decision: Allow, Violations: []policy.Violation{deep}},
			{File: "stdin", Line: 0, Document: 1, Kind: "Pod", Namespace: "kube-system", Name: "proxy", Decision: Allow, Exempt: true},
		},
		Policies: []policy.Meta{
			{ID: "base-freshness", Title: "Images are built on current bases", Description: "A base whose tag has moved has been patched."},
			{ID: "lineage-depth", Title: "Lineage is shallow and layers are few"},
			{ID: "run-as-root", Title: "Containers do not run as root"},
			{ID: "approved-base", Title: "Images are built on an approved base"},
		},
	}
}

func TestDecisionOf(t *testing.T) {
	t.Parallel()
	warn := []policy.Violation{{Policy: "a", Action: policy.Audit}, {Policy: "b", Action: policy.Warn}}
	audit := []policy.Violation{{Policy: "a", Action: policy.Audit}}
	for _, tc := range []struct {
		allowed bool
		vs      []policy.Violation
		want    Decision
	}{
		{false, warn, Deny},
		{true, warn, Warn},
		{true, audit, Allow},
		{true, nil, Allow},
	} {
		if got := DecisionOf(tc.allowed, tc.vs); got != tc.want {
			t.Errorf("DecisionOf(%t, %v) = %s, want %s", tc.allowed, tc.vs, got, tc.want)
		}
	}
}

// written is what write writes of v, failing t when write returns an error.
func written[T any](t *testing.T, write func(io.Writer, T) error, v T) string {
	t.Helper()
	var buf bytes.Buffer
	if err := write(&buf, v); err != nil {
		t.Fatalf("writing %T: %v", v, err)
	}
	return buf.String()
}

// sarifOf is WriteCheckSARIF's log of c, decoded.
func sarifOf(t *testing.T, c *Check) (sarifLog, string) {
	t.Helper()
	out := written(t, WriteCheckSARIF, c)
	var log sarifLog
	if err := json.Unmarshal([]byte(out), &log); err != nil {
		t.Fatalf("WriteCheckSARIF wrote invalid JSON: %v\n%s", err, out)
	}
	return log, out
}

func TestWriteCheckText(t *testing.T) {
	t.Parallel()
	want := `✗ deny Pod shop/admin (deploy/admin.yaml)
  enforce  [run-as-root] container "admin" runs as root (linux/amd64)
  warn     [base-freshness] container "admin": base moved (linux/amd64)
! warn Deployment shop/web (deploy/all.yaml, document 2)
  warn     [policy-error] the policies could not be evaluated
✓ allow CronJob shop/report (deploy/list.json, item 2)
  audit    [lineage-depth] container "report": 4 levels (linux/arm64)
✓ allow Pod kube-system/proxy (stdin): namespace kube-system is exempt
4 objects: 2 allowed, 1 with warnings, 1 denied
`
	if got := written(t, WriteCheckText, sampleCheck()); got != want {
		t.Errorf("WriteCheckText =\n%s\nwant\n%s", got, want)
	}
	inactive := []policy.Meta{{ID: "run-as-root"}, {ID: "approved-base", Inactive: "approvedBases is empty"}}
	for _, tc := range []struct {
		name  string
		check *Check
		want  string
	}{
		{"no objects", &Check{Mode: policy.Warn}, "0 objects: 0 allowed, 0 with warnings, 0 denied\n"},
		// Objects read without a pod are counted, so that "0 objects" cannot
		// hide a manifest strata did not understand.
		{"3 read, none with a pod", &Check{Mode: policy.Warn, Read: 3}, "0 objects: 0 allowed, 0 with warnings, 0 denied (3 objects read; the others carry no pod)\n"},
		{"approved-base inactive", &Check{Mode: policy.Warn, Policies: inactive}, "0 objects: 0 allowed, 0 with warnings, 0 denied\npolicy approved-base is inactive: approvedBases is empty\n"},
	} {
		if got := written(t, WriteCheckText, tc.check); got != tc.want {
			t.Errorf("WriteCheckText(%s) = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestWriteCheckJSON(t *testing.T) {
	t.Parallel()
	out := written(t, WriteCheckJSON, sampleCheck())
	var doc struct {
		Mode    string           `json:"mode"`
		Objects []map[string]any `json:"objects"`
		Summary map[string]int   `json:"summary"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("WriteCheckJSON wrote invalid JSON: %v\n%s", err, out)
	}
	if doc.Mode != "enforce" || len(doc.Objects) != 4 {
		t.Fatalf("WriteCheckJSON = %s, want mode enforce and 4 objects", out)
	}
	first := doc.Objects[0]
	for key, want := range map[string]any{"file": "deploy/admin.yaml", "line": 3.0, "document": 1.0, "kind": "Pod", "namespace": "shop", "name": "admin", "decision": "deny"} {
		if first[key] != want {
			t.Errorf("WriteCheckJSON objects[0].%s = %v, want %v", key, first[key], want)
		}
	}
	vs, _ := first["violations"].([]any)
	if len(vs) != 2 || vs[0].(map[string]any)["policy"] != "run-as-root" || vs[0].(map[string]any)["action"] != "enforce" {
		t.Errorf("WriteCheckJSON objects[0].violations = %v, want run-as-root enforced first", first["violations"])
	}
	if _, ok := first["item"]; ok {
		t.Errorf("WriteCheckJSON objects[0] has an item, but it is not in a List")
	}
	if doc.Objects[2]["item"] != 2.0 {
		t.Errorf("WriteCheckJSON objects[2].item = %v, want 2", doc.Objects[2]["item"])
	}
	exempt := doc.Objects[3]
	if v, ok := exempt["violations"].([]any); !ok || len(v) != 0 || exempt["exempt"] != true {
		t.Errorf("WriteCheckJSON exempt object = %v, want exempt and violations []", exempt)
	}
	want := map[string]int{"objects": 4, "allowed": 2, "warned": 1, "denied": 1}
	for k, n := range want {
		if doc.Summary[k] != n {
			t.Errorf("WriteCheckJSON summary = %v, want %v", doc.Summary, want)
			break
		}
	}
}

func TestWriteCheckSARIF(t *testing.T) {
	t.Parallel()
	log, out := sarifOf(t, sampleCheck())
	if log.Version != "2.1.0" || log.Schema != "https://json.schemastore.org/sarif-2.1.0.json" || len(log.Runs) != 1 {
		t.Fatalf("WriteCheckSARIF = %s, want a SARIF 2.1.0 log with one run", out)
	}
	run := log.Runs[0]
	if run.Tool.Driver.Name != "strata" || run.Tool.Driver.InformationURI == "" {
		t.Errorf("WriteCheckSARIF driver = %+v, want strata with its informationUri", run.Tool.Driver)
	}
	// Rules: the policies with results, sorted; approved-base has none.
	wantRules := []sarifRule{
		{ID: "base-freshness", ShortDescription: sarifMessage{"Images are built on current bases"}, FullDescription: &sarifMessage{"A base whose tag has moved has been patched."}},
		{ID: "lineage-depth", ShortDescription: sarifMessage{"Lineage is shallow and layers are few"}},
		{ID: "policy-error", ShortDescription: sarifMessage{"The policies can be evaluated"}},
		{ID: "run-as-root", ShortDescription: sarifMessage{"Containers do not run as root"}},
	}
	if len(run.Tool.Driver.Rules) != len(wantRules) {
		t.Fatalf("WriteCheckSARIF rules = %+v, want %+v", run.Tool.Driver.Rules, wantRules)
	}
	for i, r := range run.Tool.Driver.Rules {
		w := wantRules[i]
		if r.ID != w.ID || r.ShortDescription != w.ShortDescription || (r.FullDescription == nil) != (w.FullDescription == nil) ||
			(r.FullDescription != nil && *r.FullDescription != *w.FullDescription) {
			t.Errorf("WriteCheckSARIF rules[%d] = %+v, want %+v", i, r, w)
		}
	}
	type result struct {
		rule, level, uri string
		line             int
	}
	var got []result
	for _, r := range run.Results {
		if run.Tool.Driver.Rules[r.RuleIndex].ID != r.RuleID {
			t.Errorf("result %s: ruleIndex %d names %s", r.RuleID, r.RuleIndex, run.Tool.Driver.Rules[r.RuleIndex].ID)
		}
		if len(r.Locations) != 1 {
			t.Fatalf("result %+v: want one location", r)
		}
		loc := r.Locations[0].PhysicalLocation
		got = append(got, result{r.RuleID, r.Level, loc.ArtifactLocation.URI, loc.Region.StartLine})
	}
	want := []result{
		{"run-as-root", "error", "deploy/admin.yaml", 3},
		{"base-freshness", "warning", "deploy/admin.yaml", 3},
		{"policy-error", "warning", "deploy/all.yaml", 12},
		{"lineage-depth", "note", "deploy/list.json", 1},
	}
	if len(got) != len(want) {
		t.Fatalf("WriteCheckSARIF results = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("WriteCheckSARIF results[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
	if msg := run.Results[0].Message.Text; msg != `Pod shop/admin: container "admin" runs as root (linux/amd64)` {
		t.Errorf("WriteCheckSARIF results[0].message = %q, want the object, the violation and the platform", msg)
	}
}

func TestWriteCheckSARIFEmpty(t *testing.T) {
	t.Parallel()
	// Code scanning needs results and rules as arrays, even when empty:
	// an empty result list is how it closes the alerts of a fixed file.
	if out := written(t, WriteCheckSARIF, &Check{Mode: policy.Warn}); !strings.Contains(out, `"results": []`) || !strings.Contains(out, `"rules": []`) {
		t.Errorf("WriteCheckSARIF(no objects) = %s, want empty results and rules arrays", out)
	}
}

func TestArtifactURI(t *testing.T) {
	t.Parallel()
	abs := filepath.Join(string(filepath.Separator), "src", "deploy", "a b.yaml")
	for in, want := range map[string]string{
		"deploy/web.yaml":   "deploy/web.yaml",
		"./deploy/web.yaml": "./deploy/web.yaml",
		"stdin":             "stdin",
		"a b.yaml":          "a%20b.yaml",
		abs:                 "file:///src/deploy/a%20b.yaml",
	} {
		if got := artifactURI(in); got != want {
			t.Errorf("artifactURI(%q) = %q, want %q", in, got, want)
		}
	}
}
