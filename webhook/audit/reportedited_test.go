package audit

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/strata-project/strata/webhook/pipelinetest"
	"github.com/strata-project/strata/webhook/policy"
)

// A report whose results someone else rewrote (kubectl edit: "pass" for
// the root container) but whose hash annotation was kept must not be
// skipped as unchanged: strata would otherwise leave the forged pass in
// place on every run. The API server's managedFields name who wrote what.
func TestReportEditedByAnotherManagerWithItsHashKeptIsRewritten(t *testing.T) {
	writeOverEdited(t, "kubectl-edit")
}

// The field manager's name is the writer's to choose: kubectl edit, patch
// and replace take --field-manager=strata. strata writes its reports by
// server-side apply only, so an Update under its name is someone else's
// edit, and the forged pass must not survive the next run either.
func TestReportEditedUnderStratasManagerNameWithItsHashKeptIsRewritten(t *testing.T) {
	writeOverEdited(t, FieldManager)
}

// writeOverEdited writes the demo's reports over a cluster where each has
// its hash annotation and strata's own apply entry, and shop/admin's an
// Update of its results by manager too; only that one must be written.
func writeOverEdited(t *testing.T, manager string) {
	t.Helper()
	p := pipelinetest.Demo(t)
	inv := reportsInventory(t, p, policy.Enforce)
	_, hashes := builtReports(t, ReportAPIWGPolicy, p, inv, time.Now())
	var (
		mu      sync.Mutex
		applied []string
	)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == http.MethodPatch:
			body, _ := io.ReadAll(r.Body)
			mu.Lock()
			applied = append(applied, r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:])
			mu.Unlock()
			_, _ = w.Write(body)
		case strings.HasSuffix(r.URL.Path, "/clusterpolicyreports"):
			_ = json.NewEncoder(w).Encode(map[string]any{"apiVersion": "wgpolicyk8s.io/v1alpha2", "kind": "ClusterPolicyReportList", "metadata": map[string]any{}, "items": []any{}})
		default:
			var items []any
			for _, wl := range inv.Workloads {
				if wl.Exempt {
					continue
				}
				managed := []any{map[string]any{"manager": FieldManager, "operation": "Apply", "apiVersion": "wgpolicyk8s.io/v1alpha2",
					"fieldsType": "FieldsV1", "fieldsV1": map[string]any{"f:results": map[string]any{}, "f:summary": map[string]any{}}}}
				if wl.Name == "admin" {
					managed = append(managed, map[string]any{"manager": manager, "operation": "Update", "apiVersion": "wgpolicyk8s.io/v1alpha2",
						"fieldsType": "FieldsV1", "fieldsV1": map[string]any{"f:results": map[string]any{}, "f:summary": map[string]any{"f:fail": map[string]any{}}}})
				}
				items = append(items, map[string]any{"apiVersion": "wgpolicyk8s.io/v1alpha2", "kind": "PolicyReport", "metadata": map[string]any{
					"namespace": wl.Namespace, "name": ReportName(wl.UID), "labels": map[string]any{LabelManagedBy: ReportSource},
					"annotations": map[string]any{AnnotationReportHash: hashes[wl.Name]}, "managedFields": managed}})
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"apiVersion": "wgpolicyk8s.io/v1alpha2", "kind": "PolicyReportList", "metadata": map[string]any{}, "items": items})
		}
	}))
	t.Cleanup(ts.Close)
	dyn, err := dynamic.NewForConfig(&rest.Config{Host: ts.URL})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := NewWriter(dyn, WriterOptions{QPS: 1000, Policies: p.Engine.Policies()}).Write(t.Context(), inv, Scope{})
	if err != nil {
		t.Fatalf("Write() = %v", err)
	}
	want := ReportName("0000-shop-admin")
	if len(applied) != 1 || applied[0] != want || sum.Updated != 1 || sum.Unchanged != 3 {
		t.Errorf("Write() = %+v, applied %v; want only %s, edited by an Update of %s, written again", sum, applied, want, manager)
	}
}
