//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/strata-project/strata/test/cluster"
	"github.com/strata-project/strata/webhook"
	"github.com/strata-project/strata/webhook/audit"
	"github.com/strata-project/strata/webhook/demo"
	"github.com/strata-project/strata/webhook/inventory"
	"github.com/strata-project/strata/webhook/pipelinetest"
	"github.com/strata-project/strata/webhook/policy"
	"github.com/strata-project/strata/webhook/workload"
)

// Namespaces of the report tests: no strata webhook selects them, so the
// workloads are created whatever they run.
const (
	nsReportsA   = "e2e-reports-a"
	nsReportsB   = "e2e-reports-b"
	nsReportsQPS = "e2e-reports-qps"
)

var reportResources = map[audit.ReportAPI]schema.GroupVersionResource{
	audit.ReportAPIWGPolicy:    {Group: "wgpolicyk8s.io", Version: "v1alpha2", Resource: "policyreports"},
	audit.ReportAPIOpenReports: {Group: "openreports.io", Version: "v1alpha1", Resource: "reports"},
}

// installReportCRDs applies the vendored report CRDs server-side and waits
// until they are served. They stay installed: applying them again is a
// no-op, and deleting them under another test's reports would remove those.
func installReportCRDs(t *testing.T) {
	t.Helper()
	crds := filepath.Join(s.root, "webhook", "audit", "testdata", "crds")
	if out, err := kubectl(t, "", "apply", "--server-side", "-f", crds); err != nil {
		t.Fatalf("installing the report CRDs: %v\n%s", err, out)
	}
	if out, err := kubectl(t, "", "wait", "--for=condition=Established", "--timeout=30s", "-f", crds); err != nil {
		t.Fatalf("waiting for the report CRDs: %v\n%s", err, out)
	}
}

// countingConfig is the admin config, without client-go's own rate limit
// (so that only the Writer's shows), counting the requests for reports.
func countingConfig(calls *atomic.Int64) *rest.Config {
	cfg := rest.CopyConfig(s.apiserver.Config)
	cfg.QPS, cfg.Burst = 1000, 1000
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if strings.Contains(r.URL.Path, "/apis/wgpolicyk8s.io/") || strings.Contains(r.URL.Path, "/apis/openreports.io/") {
				calls.Add(1)
			}
			return rt.RoundTrip(r)
		})
	}
	return cfg
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func reportPodSpec(image string, runAsUser *int64) corev1.PodSpec {
	return corev1.PodSpec{Containers: []corev1.Container{{
		Name: "app", Image: demo.Host + "/" + image,
		SecurityContext: &corev1.SecurityContext{RunAsUser: runAsUser},
	}}}
}

func reportDeployment(ns, name, image string, runAsUser *int64) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: reportPodSpec(image, runAsUser)},
		},
	}
}

// asObject turns an object read back from the API server into what a
// cluster listing gives the inventory: the workload decoded from its JSON,
// with its real UID.
func asObject(t *testing.T, apiVersion, kind string, obj metav1.Object) inventory.Object {
	t.Helper()
	raw, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		t.Fatal(err)
	}
	w, err := workload.Decode(gv.WithKind(kind).GroupKind(), raw)
	if err != nil {
		t.Fatalf("decoding %s %s/%s: %v", kind, obj.GetNamespace(), obj.GetName(), err)
	}
	return inventory.Object{Workload: w, APIVersion: apiVersion, UID: string(obj.GetUID())}
}

// reportWorkloads are the report test's workloads as they are now in the
// API server.
type reportWorkloads struct {
	web, admin *appsv1.Deployment // a: passes; fails run-as-root until fixed
	billing    *appsv1.StatefulSet
	doomed     *corev1.Pod // a: a bare pod, deleted before the second run
}

func (rw reportWorkloads) objects(t *testing.T) []inventory.Object {
	objs := []inventory.Object{
		asObject(t, "apps/v1", "Deployment", rw.web),
		asObject(t, "apps/v1", "Deployment", rw.admin),
		asObject(t, "apps/v1", "StatefulSet", rw.billing),
	}
	if rw.doomed != nil {
		objs = append(objs, asObject(t, "v1", "Pod", rw.doomed))
	}
	return objs
}

func buildInventory(t *testing.T, p *webhook.Pipeline, objs []inventory.Object) *inventory.Inventory {
	t.Helper()
	inv, err := inventory.Build(t.Context(), objs, inventory.Options{Checker: p.Checker, Mode: policy.Enforce})
	if err != nil {
		t.Fatalf("Build() = %v", err)
	}
	return inv
}

// Reports in both APIs: the API server accepts them as strata builds them,
// named strata-<uid>, owned by and scoping their workload, with results and
// a summary; a second run of an unchanged cluster only lists; a run after
// one workload is fixed and another deleted updates the one (its failure
// now a pass) and deletes the other's report; a Kyverno-style report named
// after the bare UID is never touched.
func TestReportsAreAcceptedUpdatedAndPrunedInBothAPIs(t *testing.T) {
	ctx := t.Context()
	installReportCRDs(t)
	for _, ns := range []string{nsReportsA, nsReportsB} {
		if err := cluster.CreateNamespace(ctx, s.client, ns); err != nil {
			t.Fatal(err)
		}
	}
	p := pipelinetest.Demo(t)
	var rw reportWorkloads
	var err error
	apps, core := s.client.AppsV1(), s.client.CoreV1()
	if rw.web, err = apps.Deployments(nsReportsA).Create(ctx, reportDeployment(nsReportsA, "web", "shop/web:1.0", nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if rw.admin, err = apps.Deployments(nsReportsA).Create(ctx, reportDeployment(nsReportsA, "admin", "shop/admin:1.0", nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	billing := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: nsReportsB, Name: "billing"},
		Spec: appsv1.StatefulSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "billing"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "billing"}}, Spec: reportPodSpec("shop/billing:1.0", nil)},
		},
	}
	if rw.billing, err = apps.StatefulSets(nsReportsB).Create(ctx, billing, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	doomed := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: nsReportsA, Name: "doomed"}, Spec: reportPodSpec("shop/admin:1.0", nil)}
	if rw.doomed, err = core.Pods(nsReportsA).Create(ctx, doomed, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	var calls atomic.Int64
	dyn, err := dynamic.NewForConfig(countingConfig(&calls))
	if err != nil {
		t.Fatal(err)
	}
	// Kyverno names its report after the bare UID of the resource, in the
	// same namespace: strata must neither collide with it nor touch it.
	kyverno := map[audit.ReportAPI]*unstructured.Unstructured{}
	for api, gvr := range reportResources {
		k := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": gvr.GroupVersion().String(), "kind": map[audit.ReportAPI]string{audit.ReportAPIWGPolicy: "PolicyReport", audit.ReportAPIOpenReports: "Report"}[api],
			"metadata": map[string]any{"name": string(rw.web.UID), "namespace": nsReportsA, "labels": map[string]any{"app.kubernetes.io/managed-by": "kyverno"}},
			"scope":    map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "namespace": nsReportsA, "uid": string(rw.web.UID)},
			"results":  []any{map[string]any{"source": "kyverno", "policy": "require-labels", "result": "fail"}},
		}}
		if kyverno[api], err = dyn.Resource(gvr).Namespace(nsReportsA).Create(ctx, k, metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating a Kyverno-style %s: %v", gvr.Resource, err)
		}
	}

	// One writer lists existing reports by metadata (as the audit command
	// builds it), the other with the dynamic client's full lists.
	writers := map[audit.ReportAPI]*audit.Writer{
		audit.ReportAPIOpenReports: audit.NewWriter(dyn, audit.WriterOptions{API: audit.ReportAPIOpenReports, Policies: p.Engine.Policies()}),
	}
	if writers[audit.ReportAPIWGPolicy], err = audit.NewWriterForConfig(countingConfig(&calls), audit.WriterOptions{API: audit.ReportAPIWGPolicy, Policies: p.Engine.Policies()}); err != nil {
		t.Fatal(err)
	}
	workloadsN := 4

	// First run: every report created.
	inv := buildInventory(t, p, rw.objects(t))
	for api, w := range writers {
		calls.Store(0)
		if _, err := w.Write(ctx, inv, audit.Scope{Namespace: nsReportsA}); err == nil || !strings.Contains(err.Error(), "StatefulSet "+nsReportsB+"/billing") || calls.Load() != 0 {
			t.Errorf("%s: Write() of an inventory wider than its scope = %v after %d requests, want an error naming %s/billing before any request", api, err, calls.Load(), nsReportsB)
		}
		sum, err := writeNamespaces(t, w, inv)
		if err != nil {
			t.Fatalf("%s: first Write() = %v", api, err)
		}
		if sum.Created != workloadsN || sum.Updated+sum.Unchanged+sum.Deleted != 0 || int64(sum.Calls) != calls.Load() {
			t.Errorf("%s: first Write() = %+v (%d requests seen), want %d created and Calls the requests made", api, sum, calls.Load(), workloadsN)
		}
		t.Logf("%s: first run: %+v: %.2f API calls per workload", api, sum, float64(sum.Calls)/float64(workloadsN))
		for _, obj := range []metav1.Object{rw.web, rw.admin, rw.billing, rw.doomed} {
			checkServedReport(t, dyn, api, obj)
		}
		admin := getReport(t, dyn, api, rw.admin)
		if r := reportResult(t, admin, "run-as-root"); r["result"] != "fail" {
			t.Errorf("%s: a/admin run-as-root = %v, want fail", api, r)
		}
		if r := reportResult(t, getReport(t, dyn, api, rw.billing), "base-freshness"); r["result"] != "warn" {
			t.Errorf("%s: b/billing base-freshness = %v, want warn", api, r)
		}

		// An unchanged cluster: nothing written, only the lists.
		calls.Store(0)
		sum, err = writeNamespaces(t, w, inv)
		if err != nil {
			t.Fatalf("%s: unchanged Write() = %v", api, err)
		}
		if sum.Unchanged != workloadsN || sum.Created+sum.Updated+sum.Deleted != 0 || calls.Load() != 2 {
			t.Errorf("%s: Write() of an unchanged cluster = %+v, %d requests; want %d unchanged and 2 requests (a list per namespace)", api, sum, calls.Load(), workloadsN)
		}
		t.Logf("%s: unchanged second run: %+v: %.2f API calls per workload", api, sum, float64(sum.Calls)/float64(workloadsN))
	}

	// admin fixed (same object, same UID), doomed deleted.
	rw.admin.Spec.Template.Spec.Containers[0].SecurityContext.RunAsUser = reportInt64(1000)
	if rw.admin, err = apps.Deployments(nsReportsA).Update(ctx, rw.admin, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := core.Pods(nsReportsA).Delete(ctx, "doomed", metav1.DeleteOptions{GracePeriodSeconds: reportInt64(0)}); err != nil {
		t.Fatal(err)
	}
	doomedPod := rw.doomed
	rw.doomed = nil
	inv = buildInventory(t, p, rw.objects(t))
	for api, w := range writers {
		before := getReport(t, dyn, api, rw.web)
		calls.Store(0)
		sum, err := writeNamespaces(t, w, inv)
		if err != nil {
			t.Fatalf("%s: Write() after the fix = %v", api, err)
		}
		if sum.Updated != 1 || sum.Deleted != 1 || sum.Unchanged != 2 || sum.Created != 0 {
			t.Errorf("%s: Write() after fixing one workload and deleting another = %+v, want 1 updated, 1 deleted, 2 unchanged", api, sum)
		}
		t.Logf("%s: second run after a fix and a deletion: %+v", api, sum)
		admin := getReport(t, dyn, api, rw.admin)
		if r := reportResult(t, admin, "run-as-root"); r["result"] != "pass" {
			t.Errorf("%s: a/admin run-as-root after the fix = %v, want pass", api, r)
		}
		if fail := admin.Object["summary"].(map[string]any)["fail"]; fail != int64(0) {
			t.Errorf("%s: a/admin summary fail = %v after the fix, want 0", api, fail)
		}
		if refs := admin.GetOwnerReferences(); len(refs) != 1 || refs[0].UID != rw.admin.UID {
			t.Errorf("%s: a/admin updated in place: owners %+v, want the same Deployment", api, refs)
		}
		_, err = dyn.Resource(reportResources[api]).Namespace(nsReportsA).Get(ctx, audit.ReportName(string(doomedPod.UID)), metav1.GetOptions{})
		if !apierrors.IsNotFound(err) {
			t.Errorf("%s: the deleted pod's report: Get() = %v, want not found", api, err)
		}
		if after := getReport(t, dyn, api, rw.web); after.GetResourceVersion() != before.GetResourceVersion() {
			t.Errorf("%s: the unchanged web report was rewritten (resourceVersion %s → %s)", api, before.GetResourceVersion(), after.GetResourceVersion())
		}
		k, err := dyn.Resource(reportResources[api]).Namespace(nsReportsA).Get(ctx, string(rw.web.UID), metav1.GetOptions{})
		if err != nil || k.GetResourceVersion() != kyverno[api].GetResourceVersion() {
			t.Errorf("%s: the Kyverno-style report: %v, resourceVersion %s, want untouched at %s", api, err, k.GetResourceVersion(), kyverno[api].GetResourceVersion())
		}
	}

	// Someone else edits a report (kubectl edit: billing's stale base made
	// a pass) and keeps strata's hash annotation: the next run must not
	// take it for unchanged, or the forged pass would stay on every run.
	// The manager's name is the editor's to choose (kubectl edit
	// --field-manager=strata): an Update under strata's own name is an
	// edit too, strata writing by server-side apply only.
	for api, w := range writers {
		for _, manager := range []string{"kubectl-edit", audit.FieldManager} {
			r := getReport(t, dyn, api, rw.billing)
			reportResult(t, r, "base-freshness")["result"] = "pass"
			if _, err := dyn.Resource(reportResources[api]).Namespace(nsReportsB).Update(ctx, r, metav1.UpdateOptions{FieldManager: manager}); err != nil {
				t.Fatalf("%s: editing b/billing's report as %s: %v", api, manager, err)
			}
			if forged := reportResult(t, getReport(t, dyn, api, rw.billing), "base-freshness"); forged["result"] != "pass" {
				t.Fatalf("%s: the edit as %s did not take: b/billing base-freshness = %v", api, manager, forged)
			}
			sum, err := writeNamespaces(t, w, inv)
			if err != nil {
				t.Fatalf("%s: Write() after %s's edit = %v", api, manager, err)
			}
			if sum.Updated != 1 || sum.Unchanged != 2 || sum.Created+sum.Deleted != 0 {
				t.Errorf("%s: Write() after an update by %s rewrote b/billing's results = %+v, want that one report updated and 2 unchanged", api, manager, sum)
			}
			if r := reportResult(t, getReport(t, dyn, api, rw.billing), "base-freshness"); r["result"] != "warn" {
				t.Errorf("%s: b/billing base-freshness after the next run = %v, want warn again", api, r)
			}
		}
	}
}

// The Writer's QPS bounds its requests: in a window of a second at QPS 4
// and burst 1 it makes at most 1 + 4 of them (and one in flight), however
// many reports wait. The bound is on a count of requests, never on how long
// anything took: a slow machine can only make fewer.
func TestReportWritesRespectTheQPS(t *testing.T) {
	ctx := t.Context()
	installReportCRDs(t)
	if err := cluster.CreateNamespace(ctx, s.client, nsReportsQPS); err != nil {
		t.Fatal(err)
	}
	p := pipelinetest.Demo(t)
	var objs []inventory.Object
	for i := range 12 {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: nsReportsQPS, Name: fmt.Sprintf("pod-%d", i)}, Spec: reportPodSpec("shop/web:1.0", nil)}
		created, err := s.client.CoreV1().Pods(nsReportsQPS).Create(ctx, pod, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		objs = append(objs, asObject(t, "v1", "Pod", created))
	}
	inv := buildInventory(t, p, objs)
	var calls atomic.Int64
	dyn, err := dynamic.NewForConfig(countingConfig(&calls))
	if err != nil {
		t.Fatal(err)
	}
	w := audit.NewWriter(dyn, audit.WriterOptions{API: audit.ReportAPIOpenReports, Policies: p.Engine.Policies(), QPS: 4, Burst: 1})
	window, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	sum, err := w.Write(window, inv, audit.Scope{Namespace: nsReportsQPS})
	if err == nil || calls.Load() > 6 || calls.Load() < 1 {
		t.Errorf("Write() at QPS 4 for a second = %+v, %v after %d requests; want it cut short after at most 6", sum, err, calls.Load())
	}
	// Unlimited, the same write finishes: one list, then what was left.
	calls.Store(0)
	w = audit.NewWriter(dyn, audit.WriterOptions{API: audit.ReportAPIOpenReports, Policies: p.Engine.Policies(), QPS: 1000, Burst: 100})
	sum, err = w.Write(ctx, inv, audit.Scope{Namespace: nsReportsQPS})
	if err != nil || sum.Created+sum.Updated+sum.Unchanged != 12 || int64(sum.Calls) != calls.Load() {
		t.Errorf("Write() unlimited = %+v, %v (%d requests); want 12 reports and Calls the requests made", sum, err, calls.Load())
	}
}

// writeNamespaces writes the inventory's reports one namespace at a time,
// as `strata audit -n NS` does, and adds up what the writes did: a run over
// every namespace would prune the reports other tests leave.
func writeNamespaces(t *testing.T, w *audit.Writer, inv *inventory.Inventory) (audit.WriteSummary, error) {
	t.Helper()
	var total audit.WriteSummary
	for _, ns := range []string{nsReportsA, nsReportsB} {
		part := *inv
		part.Workloads = slices.DeleteFunc(slices.Clone(inv.Workloads), func(w inventory.Workload) bool { return w.Namespace != ns })
		sum, err := w.Write(t.Context(), &part, audit.Scope{Namespace: ns})
		total.Created += sum.Created
		total.Updated += sum.Updated
		total.Unchanged += sum.Unchanged
		total.Deleted += sum.Deleted
		total.Calls += sum.Calls
		if err != nil {
			return total, fmt.Errorf("namespace %s: %w", ns, err)
		}
	}
	return total, nil
}

func reportInt64(v int64) *int64 { return &v }

func getReport(t *testing.T, dyn dynamic.Interface, api audit.ReportAPI, obj metav1.Object) *unstructured.Unstructured {
	t.Helper()
	r, err := dyn.Resource(reportResources[api]).Namespace(obj.GetNamespace()).Get(t.Context(), audit.ReportName(string(obj.GetUID())), metav1.GetOptions{})
	if err != nil {
		t.Fatalf("%s: the report of %s/%s: %v", api, obj.GetNamespace(), obj.GetName(), err)
	}
	return r
}

// checkServedReport reads a workload's report back from the API server and
// checks what the report UIs rely on.
func checkServedReport(t *testing.T, dyn dynamic.Interface, api audit.ReportAPI, obj metav1.Object) {
	t.Helper()
	r := getReport(t, dyn, api, obj)
	name := obj.GetNamespace() + "/" + obj.GetName()
	if r.GetName() != "strata-"+string(obj.GetUID()) || r.GetLabels()["app.kubernetes.io/managed-by"] != "strata" {
		t.Errorf("%s %s: name %s labels %v, want strata-<uid> managed by strata", api, name, r.GetName(), r.GetLabels())
	}
	owners := r.GetOwnerReferences()
	if len(owners) != 1 || owners[0].UID != obj.GetUID() || owners[0].Name != obj.GetName() || owners[0].Controller != nil {
		t.Errorf("%s %s: owners %+v, want the workload, not as controller", api, name, owners)
	}
	scope, _ := r.Object["scope"].(map[string]any)
	if scope["uid"] != string(obj.GetUID()) || scope["name"] != obj.GetName() || scope["namespace"] != obj.GetNamespace() {
		t.Errorf("%s %s: scope %v, want the workload", api, name, scope)
	}
	if api == audit.ReportAPIOpenReports && r.Object["source"] != "strata" {
		t.Errorf("%s %s: source %v, want strata", api, name, r.Object["source"])
	}
	results, _ := r.Object["results"].([]any)
	counts := map[string]int64{}
	for _, x := range results {
		res := x.(map[string]any)
		counts[res["result"].(string)]++
		props, _ := res["properties"].(map[string]any)
		if res["source"] != "strata" || res["severity"] == nil || res["category"] == nil || res["message"] == nil ||
			res["timestamp"] == nil || props["image"] == nil {
			t.Errorf("%s %s: result %v, want source, severity, category, message, timestamp and the image", api, name, res)
		}
	}
	summary, _ := r.Object["summary"].(map[string]any)
	for _, k := range []string{"pass", "fail", "warn", "error", "skip"} {
		if summary[k] != counts[k] {
			t.Errorf("%s %s: summary %s = %v, want %d (the results)", api, name, k, summary[k], counts[k])
		}
	}
	if len(results) == 0 || counts["pass"] == 0 {
		t.Errorf("%s %s: results %v, want one per policy, some passing", api, name, results)
	}
}

// reportResult is the one result of a policy in a one-container report.
func reportResult(t *testing.T, r *unstructured.Unstructured, policyID string) map[string]any {
	t.Helper()
	var found []map[string]any
	for _, x := range r.Object["results"].([]any) {
		if res := x.(map[string]any); res["policy"] == policyID {
			found = append(found, res)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%s: %d results of %s, want 1", r.GetName(), len(found), policyID)
	}
	return found[0]
}
