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

	"github.com/strata-project/strata/webhook/inventory"
)

// reportListServer answers the list, apply and delete calls of the report
// API: the first page of the namespaced list, then a 410 Gone for its
// continue token (a real API server gives it only after etcd compacts, never
// on demand), then the whole list, with the reports of extra too.
type reportListServer struct {
	mu      sync.Mutex
	lists   int
	extra   [][2]string // namespace, name
	applied []string
	deleted []string
}

func (s *reportListServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	item := func(ns, name string) map[string]any {
		return map[string]any{"apiVersion": "wgpolicyk8s.io/v1alpha2", "kind": "PolicyReport",
			"metadata": map[string]any{"namespace": ns, "name": name, "labels": map[string]any{LabelManagedBy: "strata"}}}
	}
	list := func(cont string, items ...any) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"apiVersion": "wgpolicyk8s.io/v1alpha2", "kind": "PolicyReportList",
			"metadata": map[string]any{"continue": cont}, "items": items})
	}
	switch {
	case r.Method == http.MethodPatch:
		s.applied = append(s.applied, strings.TrimPrefix(r.URL.Path, "/apis/wgpolicyk8s.io/v1alpha2/"))
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	case r.Method == http.MethodDelete:
		s.deleted = append(s.deleted, strings.TrimPrefix(r.URL.Path, "/apis/wgpolicyk8s.io/v1alpha2/"))
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"kind":"Status","apiVersion":"v1","status":"Success"}`))
	case r.URL.Path == "/apis/wgpolicyk8s.io/v1alpha2/clusterpolicyreports":
		s.lists++
		list("")
	case r.URL.Path == "/apis/wgpolicyk8s.io/v1alpha2/policyreports":
		s.lists++
		switch {
		case r.URL.Query().Get("labelSelector") != LabelManagedBy+"=strata":
			http.Error(w, "want strata's label selector", http.StatusBadRequest)
		case r.URL.Query().Get("continue") == "token-1":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusGone)
			_, _ = w.Write([]byte(`{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Expired","code":410,"message":"The provided continue parameter is too old"}`))
		case s.lists == 1:
			list("token-1", item("x", "strata-gone-since"))
		default:
			items := []any{item("x", "strata-a"), item("y", "strata-b"), item("y", "labelled-by-hand")}
			for _, e := range s.extra {
				items = append(items, item(e[0], e[1]))
			}
			list("", items...)
		}
	default:
		http.NotFound(w, r)
	}
}

// A list whose continue token expired (410 Gone) starts again, and what
// the abandoned page said is forgotten: only the reports of the fresh list
// are pruned, and a report labelled by hand whose name is not strata's is
// not.
func TestReportListRestartsWhenItsContinueTokenExpires(t *testing.T) {
	srv := &reportListServer{}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	dyn, err := dynamic.NewForConfig(&rest.Config{Host: ts.URL})
	if err != nil {
		t.Fatal(err)
	}
	w := NewWriter(dyn, WriterOptions{API: ReportAPIWGPolicy, QPS: 1000})
	sum, err := w.Write(t.Context(), &inventory.Inventory{}, Scope{})
	if err != nil {
		t.Fatalf("Write() = %v", err)
	}
	slices.Sort(srv.deleted)
	want := []string{"namespaces/x/policyreports/strata-a", "namespaces/y/policyreports/strata-b"}
	if !slices.Equal(srv.deleted, want) || sum.Deleted != 2 || srv.lists != 4 || sum.Calls != 6 {
		t.Errorf("Write() = %+v after %d lists, deleted %v; want %v after 4 lists (page, 410, fresh list, cluster list) and 6 calls", sum, srv.lists, srv.deleted, want)
	}
}
