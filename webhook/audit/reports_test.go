package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/strata-project/strata/webhook"
	"github.com/strata-project/strata/webhook/demo"
	"github.com/strata-project/strata/webhook/internal/goldentest"
	"github.com/strata-project/strata/webhook/inventory"
	"github.com/strata-project/strata/webhook/pipelinetest"
	"github.com/strata-project/strata/webhook/policy"
	"github.com/strata-project/strata/webhook/workload"
)

var reportGoldens = goldentest.Flag("update-reports", "rewrite testdata/reports.*.golden.yaml from the reports built")

func reportsObject(kind, ns, name string, imgs ...string) inventory.Object {
	w := &workload.Workload{Kind: kind, Namespace: ns, Name: name}
	for i, img := range imgs {
		w.Containers = append(w.Containers, workload.Container{Name: fmt.Sprintf("c%d", i), Type: workload.TypeContainer, Image: demo.Host + "/" + img})
	}
	return inventory.Object{Workload: w, APIVersion: "apps/v1", UID: "0000-" + ns + "-" + name}
}

// reportsInventory is one workload per kind of result: all pass (web), a
// root container (admin), a stale base (billing), an image that does not
// resolve (broken), and one in an exempt namespace.
func reportsInventory(t *testing.T, p *webhook.Pipeline, mode policy.Action) *inventory.Inventory {
	t.Helper()
	objs := []inventory.Object{
		reportsObject("Deployment", "shop", "web", "shop/web:1.0"),
		reportsObject("StatefulSet", "shop", "admin", "shop/admin:1.0"),
		reportsObject("Deployment", "team", "billing", "shop/billing:1.0", "shop/web:1.0"),
		reportsObject("DaemonSet", "shop", "broken", "shop/none:1.0"),
		reportsObject("Deployment", "kube-system", "system", "shop/admin:1.0"),
	}
	inv, err := inventory.Build(t.Context(), objs, inventory.Options{Checker: p.Checker, Mode: mode})
	if err != nil {
		t.Fatalf("Build() = %v", err)
	}
	return inv
}

// builtReports are the reports of every workload that is not exempt.
func builtReports(t *testing.T, api ReportAPI, p *webhook.Pipeline, inv *inventory.Inventory, now time.Time) (map[string]*unstructured.Unstructured, map[string]string) {
	t.Helper()
	b := newReportBuilder(apis[api], p.Engine.Policies(), inv, now)
	reports, hashes := map[string]*unstructured.Unstructured{}, map[string]string{}
	for i := range inv.Workloads {
		w := &inv.Workloads[i]
		if w.Exempt {
			continue
		}
		obj, hash, err := b.report(w)
		if err != nil {
			t.Fatalf("report(%s) = %v", w.Name, err)
		}
		reports[w.Name], hashes[w.Name] = obj, hash
	}
	return reports, hashes
}

// resultsOf are a report's results keyed policy/rule.
func resultsOf(t *testing.T, r *unstructured.Unstructured) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, x := range r.Object["results"].([]any) {
		res := x.(map[string]any)
		key := res["policy"].(string) + " " + res["rule"].(string)
		if out[key] != nil {
			t.Errorf("%s: two results for %s", r.GetName(), key)
		}
		out[key] = res
	}
	return out
}

// Every report names itself strata-<uid>, is owned by its workload (not
// as controller), scopes it, says strata manages it, and holds one result
// per policy × container × platform whose result follows the documented
// mapping; the summary counts them. The checks are written apart from the
// golden file, so rewriting it cannot bless a wrong report.
func TestReportHasOneResultPerPolicyContainerAndPlatform(t *testing.T) {
	p := pipelinetest.Demo(t)
	inv := reportsInventory(t, p, policy.Enforce)
	now := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	policies := 0
	for _, m := range p.Engine.Policies() {
		if m.Action != policy.Off {
			policies++
		}
	}
	for _, api := range []ReportAPI{ReportAPIWGPolicy, ReportAPIOpenReports} {
		t.Run(string(api), func(t *testing.T) {
			reports, _ := builtReports(t, api, p, inv, now)
			if _, ok := reports["system"]; ok || len(reports) != 4 {
				t.Fatalf("reports for %d workloads (%v), want 4: the exempt namespace has none", len(reports), slices.Sorted(maps.Keys(reports)))
			}
			for _, w := range inv.Workloads {
				r := reports[w.Name]
				if r == nil {
					continue
				}
				checkReportFrame(t, api, r, w)
				checkSummary(t, r)
				want := 0
				for _, c := range w.Containers {
					want += policies * max(1, len(c.Platforms))
				}
				if got := len(r.Object["results"].([]any)); got != want {
					t.Errorf("%s: %d results, want %d (%d policies × containers × platforms)", w.Name, got, want, policies)
				}
			}

			web := resultsOf(t, reports["web"])
			for k, r := range web {
				if r["result"] != ResultPass && r["result"] != ResultSkip {
					t.Errorf("shop/web %s = %v %q, want pass (or skip for a policy not configured)", k, r["result"], r["message"])
				}
				if r["result"] == ResultPass && (r["properties"].(map[string]any)["digest"] == "" || r["properties"].(map[string]any)["lineage"] == nil) {
					t.Errorf("shop/web %s properties = %v, want the digest and the lineage", k, r["properties"])
				}
			}
			admin := resultsOf(t, reports["admin"])
			if r := only(t, admin, "run-as-root c0@"); r["result"] != ResultFail || r["severity"] != "high" || !strings.Contains(r["message"].(string), "root") {
				t.Errorf("shop/admin run-as-root = %v, want fail, high, a message about root", r)
			}
			billing := resultsOf(t, reports["billing"])
			r := only(t, billing, "base-freshness c0@")
			props := r["properties"].(map[string]any)
			if r["result"] != ResultWarn || r["severity"] != "medium" || props["stale"] != "true" ||
				!strings.Contains(props["staleBases"].(string), demo.Host+"/base/debian:12") ||
				!strings.Contains(props["lineage"].(string), demo.Host+"/base/temurin:21") || props["depth"] != "3" {
				t.Errorf("team/billing base-freshness = %v, want warn, medium, stale on base/debian:12, lineage through temurin, depth 3", r)
			}
			if r := only(t, billing, "base-freshness c1@"); r["result"] != ResultPass || r["properties"].(map[string]any)["stale"] != "false" {
				t.Errorf("team/billing's web container base-freshness = %v, want pass, not stale", r)
			}
			broken := resultsOf(t, reports["broken"])
			for k, r := range broken {
				want := ResultSkip
				if r["policy"] == "image-resolution" {
					want = ResultError
				}
				if r["result"] != want || r["rule"] != "c0" || r["properties"].(map[string]any)["errorKind"] == nil {
					t.Errorf("shop/broken %s = %v, want %s on rule c0 with the error kind", k, r, want)
				}
			}
			checkGolden(t, filepath.Join("testdata", "reports."+string(api)+".golden.yaml"), reports)
		})
	}
}

// In audit mode every violation is an audit one: still a fail (what Kyverno
// reports for its Audit policies), with the severity of the policy's own
// action, so that a dry run shows what enforcing would deny.
func TestReportOfAnAuditRunStillFailsWhatEnforcingWouldDeny(t *testing.T) {
	p := pipelinetest.Demo(t)
	inv := reportsInventory(t, p, policy.Audit)
	reports, _ := builtReports(t, ReportAPIWGPolicy, p, inv, time.Now())
	if r := only(t, resultsOf(t, reports["admin"]), "run-as-root c0@"); r["result"] != ResultFail || r["severity"] != "high" {
		t.Errorf("shop/admin run-as-root in audit mode = %v, want fail, high", r)
	}
	if r := only(t, resultsOf(t, reports["billing"]), "base-freshness c0@"); r["result"] != ResultFail || r["severity"] != "medium" {
		t.Errorf("team/billing base-freshness in audit mode = %v, want fail, medium", r)
	}
}

// The hash that lets a second run skip a write leaves the timestamps out
// (an unchanged cluster writes nothing) and changes with any result.
func TestReportHashIgnoresTimeAndFollowsResults(t *testing.T) {
	p := pipelinetest.Demo(t)
	inv := reportsInventory(t, p, policy.Enforce)
	_, first := builtReports(t, ReportAPIWGPolicy, p, inv, time.Unix(1, 0))
	_, later := builtReports(t, ReportAPIWGPolicy, p, inv, time.Unix(7200, 5))
	for name, h := range first {
		if later[name] != h {
			t.Errorf("%s: hash %s an hour later, %s before: want the same", name, later[name], h)
		}
	}
	for i := range inv.Workloads {
		if inv.Workloads[i].Name == "admin" {
			inv.Workloads[i].Violations = nil // as if fixed
		}
	}
	_, fixed := builtReports(t, ReportAPIWGPolicy, p, inv, time.Unix(1, 0))
	if fixed["admin"] == first["admin"] || fixed["web"] != first["web"] {
		t.Errorf("after fixing shop/admin: admin hash %s (was %s), web %s (was %s); want admin changed, web not", fixed["admin"], first["admin"], fixed["web"], first["web"])
	}
}

func checkReportFrame(t *testing.T, api ReportAPI, r *unstructured.Unstructured, w inventory.Workload) {
	t.Helper()
	wantAPI, wantKind := "wgpolicyk8s.io/v1alpha2", "PolicyReport"
	if api == ReportAPIOpenReports {
		wantAPI, wantKind = "openreports.io/v1alpha1", "Report"
		if r.Object["source"] != ReportSource {
			t.Errorf("%s: source = %v, want strata", r.GetName(), r.Object["source"])
		}
	}
	if r.GetAPIVersion() != wantAPI || r.GetKind() != wantKind {
		t.Errorf("%s: %s %s, want %s %s", w.Name, r.GetAPIVersion(), r.GetKind(), wantAPI, wantKind)
	}
	if r.GetName() != "strata-"+w.UID || r.GetNamespace() != w.Namespace || r.GetLabels()[LabelManagedBy] != "strata" ||
		r.GetAnnotations()[AnnotationReportHash] == "" {
		t.Errorf("%s: metadata %s/%s labels %v annotations %v, want %s/strata-%s managed by strata with a hash", w.Name,
			r.GetNamespace(), r.GetName(), r.GetLabels(), r.GetAnnotations(), w.Namespace, w.UID)
	}
	owners := r.GetOwnerReferences()
	if len(owners) != 1 || string(owners[0].UID) != w.UID || owners[0].Kind != w.Kind || owners[0].Name != w.Name ||
		owners[0].APIVersion != w.APIVersion || owners[0].Controller != nil {
		t.Errorf("%s: owners %+v, want the workload (not as controller)", w.Name, owners)
	}
	scope, _ := r.Object["scope"].(map[string]any)
	if scope["uid"] != w.UID || scope["kind"] != w.Kind || scope["name"] != w.Name || scope["namespace"] != w.Namespace {
		t.Errorf("%s: scope %v, want the workload", w.Name, scope)
	}
	for _, x := range r.Object["results"].([]any) {
		res := x.(map[string]any)
		if res["source"] != ReportSource || res["timestamp"] == nil || res["category"] == "" || res["message"] == "" {
			t.Errorf("%s: result %v, want source strata, a timestamp, a category and a message", w.Name, res)
		}
		for k, v := range res["properties"].(map[string]any) {
			if _, ok := v.(string); !ok {
				t.Errorf("%s: property %s = %v (%T), want a string", w.Name, k, v, v)
			}
		}
	}
}

func checkSummary(t *testing.T, r *unstructured.Unstructured) {
	t.Helper()
	want := map[string]int64{ResultPass: 0, ResultFail: 0, ResultWarn: 0, ResultError: 0, ResultSkip: 0}
	for _, x := range r.Object["results"].([]any) {
		want[x.(map[string]any)["result"].(string)]++
	}
	got := r.Object["summary"].(map[string]any)
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%s: summary %s = %v, want %d", r.GetName(), k, got[k], n)
		}
	}
}

// only is the one result whose key starts with prefix.
func only(t *testing.T, results map[string]map[string]any, prefix string) map[string]any {
	t.Helper()
	var found []map[string]any
	for k, r := range results {
		if strings.HasPrefix(k, prefix) {
			found = append(found, r)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d results %q…, want 1 (results: %v)", len(found), prefix, slices.Sorted(maps.Keys(results)))
	}
	return found[0]
}

// checkGolden compares the reports, as YAML in workload-name order, with
// the golden file; -update-reports rewrites it.
func checkGolden(t *testing.T, path string, reports map[string]*unstructured.Unstructured) {
	t.Helper()
	var buf bytes.Buffer
	for _, name := range []string{"admin", "billing", "broken", "web"} {
		out, err := yaml.Marshal(reports[name].Object)
		if err != nil {
			t.Fatal(err)
		}
		buf.WriteString("---\n")
		buf.Write(out)
	}
	reportGoldens.Check(t, path, buf.Bytes())
}

// A policy that fails to evaluate leaves nothing checked on that container:
// its policy-error row is an error, and no other policy passes there.
func TestReportDoesNotPassWhatThePoliciesCouldNotEvaluate(t *testing.T) {
	breaks := `# METADATA
# title: Breaks on evaluation
# custom:
#   id: breaks
#   action: enforce
package strata.policies.breaks

violation contains v if {
	n := to_number(input.container.name)
	v := {"msg": sprintf("%v", [n]), "container": input.container.name, "platform": ""}
}
`
	p := pipelinetest.DemoWithPolicies(t, map[string]string{"breaks.rego": breaks})
	inv, err := inventory.Build(t.Context(), []inventory.Object{reportsObject("Deployment", "shop", "web", "shop/web:1.0")}, inventory.Options{Checker: p.Checker, Mode: policy.Enforce})
	if err != nil {
		t.Fatalf("Build() = %v", err)
	}
	reports, _ := builtReports(t, ReportAPIWGPolicy, p, inv, time.Now())
	results := resultsOf(t, reports["web"])
	if r := only(t, results, policy.PolicyError+" c0@"); r["result"] != ResultError {
		t.Errorf("policy-error = %v, want error", r)
	}
	for k, r := range results {
		if r["result"] == ResultPass {
			t.Errorf("%s = pass, want skip: the policies were not evaluated (%v)", k, r["message"])
		}
	}
}

// A workload of hundreds of containers would make a report larger than the
// API server stores: its passes are left out (still counted in the summary
// and named in an annotation), so that what fails is still written.
func TestReportOfHundredsOfContainersKeepsItsFailuresUnderTheObjectLimit(t *testing.T) {
	p := pipelinetest.Demo(t)
	imgs := []string{"shop/admin:1.0"}
	for range 299 {
		imgs = append(imgs, "shop/web:1.0")
	}
	inv, err := inventory.Build(t.Context(), []inventory.Object{reportsObject("Deployment", "shop", "wide", imgs...)}, inventory.Options{Checker: p.Checker, Mode: policy.Enforce})
	if err != nil {
		t.Fatalf("Build() = %v", err)
	}
	reports, _ := builtReports(t, ReportAPIWGPolicy, p, inv, time.Now())
	r := reports["wide"]
	size, err := json.Marshal(r.Object)
	if err != nil {
		t.Fatal(err)
	}
	summary := r.Object["summary"].(map[string]any)
	results := r.Object["results"].([]any)
	if len(size) > 1536*1024 || summary["pass"].(int64) < 1000 || r.GetAnnotations()[AnnotationPassesOmitted] != fmt.Sprint(summary["pass"]) {
		t.Fatalf("report of 300 containers: %d bytes, summary %v, annotations %v; want under 1.5 MiB with every pass counted and named omitted", len(size), summary, r.GetAnnotations())
	}
	if len(results) != int(summary["fail"].(int64)+summary["warn"].(int64)+summary["error"].(int64)+summary["skip"].(int64)) || summary["fail"].(int64) != 1 {
		t.Errorf("report of 300 containers: %d results, summary %v; want the results that are not passes, the root one among them", len(results), summary)
	}
}
