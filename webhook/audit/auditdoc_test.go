package audit

import (
	"bytes"
	"cmp"
	"slices"
	"strings"
	"testing"

	"github.com/strata-project/strata/internal/testutil"
	"github.com/strata-project/strata/webhook/inventory"
	"github.com/strata-project/strata/webhook/policy"
)

const auditDoc = "../../docs/audit.md"

// docs/audit.md's orders, in the text and in the JSON: policies under the
// most workloads first; stale bases first, then the bases under the most
// workloads; workloads the most severe first (deny, warn, audit, allow,
// exempt), then by namespace, kind and name.
func TestAuditDocumentOrdersAsThePreviewDoes(t *testing.T) {
	t.Parallel()
	testutil.DocHoldsPhrases(t, auditDoc,
		"stale bases come first, then the bases under the most workloads",
		"the most severe first (deny, warn, audit), then by namespace, kind and name",
		"| `policies[]` | array | one entry per policy and action with a violation; most workloads first |",
		"| `bases[]` | array | the bases of workloads with violations; stale first, then most workloads first |",
		"| `workloads[]` | array | every workload listed: deny, warn, audit, allow, exempt, then by namespace, kind, name |",
		"with the action it takes in the mode (the milder of the mode and the policy's own action, as at admission)",
	)
	outcomes := []Outcome{OutcomeDeny, OutcomeWarn, OutcomeAudit, OutcomeAllow, OutcomeExempt}
	for _, mode := range []policy.Action{policy.Enforce, policy.Warn, policy.Audit} {
		p := NewPreview(buildDemo(t, mode))
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
	testutil.DocHoldsPhrases(t, auditDoc, "escaped (`\\x1b`, `\\r`, bidi overrides as `\\u202e`)")
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
	testutil.DocHoldsPhrases(t, auditDoc,
		"`--write-reports` writes a `"+wg.kind+"` (`"+wg.namespaced.Group+"/"+wg.namespaced.Version+"`,",
		"with `--report-api "+string(ReportAPIOpenReports)+"` an `"+or.namespaced.Group+"/"+or.namespaced.Version+"` `"+or.kind+"`",
		"Each report is named `"+reportNamePrefix+"<workload uid>`",
		"labelled `"+LabelManagedBy+": "+FieldManager+"`, and each result has `source: "+ReportSource+"`",
	)
}
