package audit

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/strata-project/strata/webhook/pipelinetest"
	"github.com/strata-project/strata/webhook/policy"
)

// docs/policy-reports.md, "Permissions": the writer needs list, create and
// patch (server-side apply) and delete on the reports, nothing else: a
// run that writes every report and prunes one left from a gone workload
// makes only list, apply and delete calls (never a get, a POST create or
// a PUT update).
func TestReportWriterUsesOnlyListApplyAndDelete(t *testing.T) {
	api, sum := writeTo(t, Scope{})
	var used []string
	for v := range api.verbs {
		used = append(used, v)
	}
	slices.Sort(used)
	if want := []string{"delete", "list", "patch"}; !slices.Equal(used, want) || sum.Deleted != 1 || sum.Created+sum.Updated == 0 {
		t.Errorf("Write() = %+v with the calls %v; want the verbs %v only, reports applied and one pruned", sum, api.verbs, want)
	}
}

// docs/audit.md and docs/policy-reports.md: a run with -l saw only part of
// its scope, so it deletes no report, not even one whose workload it did
// not find.
func TestReportWriterWithASelectorDeletesNothing(t *testing.T) {
	api, sum := writeTo(t, Scope{Selector: "app=web"})
	if api.verbs["delete"] != 0 || sum.Deleted != 0 || sum.Created+sum.Updated == 0 {
		t.Errorf("Write(-l app=web) = %+v with the calls %v; want reports applied and none deleted", sum, api.verbs)
	}
}

// writeTo writes the demo's reports in scope to a verbRecorder.
func writeTo(t *testing.T, scope Scope) (*verbRecorder, WriteSummary) {
	t.Helper()
	api := &verbRecorder{verbs: map[string]int{}}
	ts := httptest.NewServer(api)
	t.Cleanup(ts.Close)
	dyn, err := dynamic.NewForConfig(&rest.Config{Host: ts.URL})
	if err != nil {
		t.Fatal(err)
	}
	p := pipelinetest.Demo(t)
	sum, err := NewWriter(dyn, WriterOptions{QPS: 1000, Policies: p.Engine.Policies()}).Write(t.Context(), reportsInventory(t, p, policy.Enforce), scope)
	if err != nil {
		t.Fatalf("Write() = %v", err)
	}
	return api, sum
}

// verbRecorder is an API server for the report writer that counts the
// calls by RBAC verb. Its namespaced list holds one strata report of a
// workload that no longer exists; an apply is answered with what was sent;
// a verb other than list, patch and delete is forbidden.
type verbRecorder struct {
	mu    sync.Mutex
	verbs map[string]int
}

func (s *verbRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	verb := map[string]string{http.MethodGet: "get", http.MethodPost: "create", http.MethodPut: "update", http.MethodPatch: "patch", http.MethodDelete: "delete"}[r.Method]
	if verb == "get" && strings.HasSuffix(r.URL.Path, "reports") {
		verb = "list"
	}
	s.mu.Lock()
	s.verbs[verb]++
	s.mu.Unlock()
	switch verb {
	case "list":
		var items []any
		if strings.HasSuffix(r.URL.Path, "/policyreports") {
			items = append(items, map[string]any{"apiVersion": "wgpolicyk8s.io/v1alpha2", "kind": "PolicyReport", "metadata": map[string]any{
				"namespace": "shop", "name": ReportName("a-workload-since-deleted"), "labels": map[string]any{LabelManagedBy: ReportSource}}})
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"apiVersion": "wgpolicyk8s.io/v1alpha2", "kind": "PolicyReportList", "metadata": map[string]any{}, "items": items})
	case "patch":
		body, _ := io.ReadAll(r.Body)
		_, _ = w.Write(body)
	case "delete":
		_, _ = w.Write([]byte(`{"kind":"Status","apiVersion":"v1","status":"Success"}`))
	default:
		http.Error(w, "the writer has no permission to "+verb, http.StatusForbidden)
	}
}
