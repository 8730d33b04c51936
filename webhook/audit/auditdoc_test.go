package audit

import (
	"bytes"
	"cmp"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/strata-project/strata/internal/testutil"
	"github.com/strata-project/strata/webhook/inventory"
	"github.com/strata-project/strata/webhook/pipelinetest"
	"github.com/strata-project/strata/webhook/policy"
)

const auditDoc = "../../docs/audit.md"

// docs/audit.md's orders, in the text and in the JSON: policies under the
// most workloads first; stale bases first, then the bases under the most
// workloads; workloads the most severe first (deny, warn, audit, allow,
// exempt), then by namespace, kind and name.
func TestAuditDocumentOrdersAsThePreviewDoes(t *testing.T) {
	t.Parallel()
	testutil.DocStates(t, auditDoc,
		"stale bases come first, then the bases under the most workloads",
		"the most severe first (deny, warn, audit), then by namespace, kind and name",
		"| `policies[]` | array | one entry per policy and action with a violation; most workloads first |",
		"| `bases[]` | array | the bases of workloads with violations; stale first, then most workloads first |",
		"| `workloads[]` | array | every workload listed: deny, warn, audit, allow, exempt, then by namespace, kind, name |",
		"with the action it takes in the mode (the milder of the mode and the policy's own action, as at admission)",
	)
	outcomes := []Outcome{OutcomeDeny, OutcomeWarn, OutcomeAudit, OutcomeAllow, OutcomeExempt}
	pipeline := pipelinetest.Demo(t) // one registry and cache for the three modes
	for _, mode := range []policy.Action{policy.Enforce, policy.Warn, policy.Audit} {
		inv, err := inventory.Build(t.Context(), demoCluster(), inventory.Options{Checker: pipeline.Checker, Mode: mode})
		if err != nil {
			t.Fatalf("Build() = %v", err)
		}
		p := NewPreview(inv)
		if len(p.Policies) < 2 || len(p.Bases) < 3 {
			t.Fatalf("%s: %d policies and %d bases, want several of each to order", mode, len(p.Policies), len(p.Bases))
		}
		if !slices.IsSortedFunc(p.Policies, func(a, b PolicyImpact) int { return cmp.Compare(b.Workloads, a.Workloads) }) {
			t.Errorf("%s: policies %+v, want the most workloads first", mode, p.Policies)
		}
		if !slices.IsSortedFunc(p.Bases, func(a, b BaseImpact) int {
			return cmp.Or(compareBool(b.Stale, a.Stale), cmp.Compare(b.Workloads, a.Workloads))
		}) {
			t.Errorf("%s: bases %+v, want the stale first, then the most workloads", mode, p.Bases)
		}
		if !slices.IsSortedFunc(p.Workloads, func(a, b WorkloadImpact) int {
			return cmp.Or(cmp.Compare(slices.Index(outcomes, a.Outcome), slices.Index(outcomes, b.Outcome)),
				cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Name, b.Name))
		}) {
			t.Errorf("%s: workloads not by outcome, namespace, kind and name", mode)
		}
		// By policy: the action each takes in the mode is the milder of the
		// mode and the policy's own (base-freshness warns of its own).
		for _, pi := range p.Policies {
			if pi.Action != policy.Milder(mode, pi.Action) || mode == policy.Enforce && pi.Policy == "base-freshness" && pi.Action != policy.Warn {
				t.Errorf("%s: %s takes %s, want the milder of the mode and its own action", mode, pi.Policy, pi.Action)
			}
		}
		for _, w := range p.Workloads {
			if !slices.Contains(outcomes, w.Outcome) {
				t.Errorf("%s: %s/%s has the outcome %q, which the table does not list", mode, w.Namespace, w.Name, w.Outcome)
			}
		}
	}
}

// docs/audit.md: terminal control characters read from the cluster or a
// registry are printed escaped: \x1b, \r, and bidi overrides as \u202e.
func TestAuditPreviewEscapesWhatTheDocumentSays(t *testing.T) {
	t.Parallel()
	testutil.DocStates(t, auditDoc, "escaped (`\\x1b`, `\\r`, bidi overrides as `\\u202e`)")
	name := "web\x1b[2J\r\u202eexe.txt"
	inv := &inventory.Inventory{Mode: policy.Enforce, Workloads: []inventory.Workload{{
		Kind: "Pod", Namespace: "shop", Name: name,
		Violations: []policy.Violation{{Policy: "run-as-root", Action: policy.Enforce, Container: "app", Msg: "runs as root"}},
	}}}
	var b bytes.Buffer
	if err := WritePreviewText(&b, NewPreview(inv)); err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(b.String(), "\x1b\r\u202e") || !strings.Contains(b.String(), `shop/Pod/web\x1b[2J\r\u202eexe.txt`) {
		t.Errorf("WritePreviewText() of a workload named %q:\n%q\nwant its name with \\x1b, \\r and \\u202e written out", name, b.String())
	}
}

// docs/audit.md's step 3 names the report APIs, the reports' name, label
// and every result's source as the writer writes them.
func TestAuditDocumentNamesTheReportsTheWriterWrites(t *testing.T) {
	t.Parallel()
	wg, or := apis[ReportAPIWGPolicy], apis[ReportAPIOpenReports]
	testutil.DocStates(t, auditDoc,
		"`--write-reports` writes a `"+wg.kind+"` (`"+wg.namespaced.Group+"/"+wg.namespaced.Version+"`,",
		"with `--report-api "+string(ReportAPIOpenReports)+"` an `"+or.namespaced.Group+"/"+or.namespaced.Version+"` `"+or.kind+"`",
		"Each report is named `"+reportNamePrefix+"<workload uid>`",
		"labelled `"+LabelManagedBy+": "+FieldManager+"`, and each result has `source: "+ReportSource+"`",
	)
}

// docs/audit.md's JSON table says more than which fields there are (that is
// TestAuditDocumentSchemaTableIsTheJSONsFields): what the summary counts,
// when a field is absent, and what a base is named.
func TestAuditDocumentJSONTableSaysWhatPreviewWrites(t *testing.T) {
	t.Parallel()
	testutil.DocStates(t, auditDoc,
		"| `summary.workloads` | int | workloads listed (exempt included) |",
		"| `summary.pods` | int | running pods under them |",
		"the headline's first number |",
		"| `summary.namespaces` | int | the namespaces of the affected workloads: the headline's second number |",
		"| `bases[].name` | string | the tag that moved (stale), else the base's first name, else its digest |",
		"| `bases[].currentDigest` | string | where the tag points now (stale only; absent otherwise) |",
		"| `workloads[].container`, `.image` | string | of the first violation with the outcome's action; absent without one |",
		"every violation, each with the action it takes in the mode; `[]` when none |",
	)
	inv := buildDemo(t, policy.Enforce)
	var b bytes.Buffer
	if err := WritePreviewJSON(&b, NewPreview(inv)); err != nil {
		t.Fatal(err)
	}
	var p struct {
		Summary   map[string]int
		Bases     []map[string]any
		Workloads []map[string]any
	}
	if err := json.Unmarshal(b.Bytes(), &p); err != nil {
		t.Fatal(err)
	}
	pods, affected, namespaces := 0, 0, map[any]bool{}
	for _, w := range p.Workloads {
		pods += int(cmp.Or(w["pods"], any(0.0)).(float64))
		if w["outcome"] == string(OutcomeDeny) {
			affected++
			namespaces[w["namespace"]] = true
		}
		vs, ok := w["violations"].([]any)
		_, container := w["container"]
		_, image := w["image"]
		_, first := w["firstViolation"]
		if !ok || (len(vs) == 0) == (container || image || first) {
			t.Errorf("%s/%s: violations %v, container %t, image %t, firstViolation %t; want [] and none of the three, or all",
				w["namespace"], w["name"], w["violations"], container, image, first)
		}
	}
	if s := p.Summary; s["workloads"] != len(inv.Workloads) || s["workloads"] != len(p.Workloads) || s["pods"] != pods ||
		s["affected"] != affected || s["namespaces"] != len(namespaces) || s["exempt"] == 0 {
		t.Errorf("summary %v; want the %d workloads listed (exempt included), %d pods, %d denied in %d namespaces", s, len(inv.Workloads), pods, affected, len(namespaces))
	}
	for _, base := range p.Bases {
		stale, _ := base["stale"].(bool)
		_, current := base["currentDigest"]
		refs, _ := base["refs"].([]any)
		want := base["digest"]
		if len(refs) > 0 {
			want = refs[0]
		}
		if stale != current || !stale && base["name"] != want {
			t.Errorf("base %v: want a current digest when stale alone, and the first name, else the digest, when not stale", base)
		}
	}
}
