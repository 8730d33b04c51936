package audit

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/strata-project/strata/webhook/inventory"
)

// An ownerReference's kind and name are free text to the API server: a
// tenant's pod naming a controller "\x1b[2J…" becomes a workload of that
// kind and name, and a report it makes fail must not print the escapes,
// nor a megabyte of name, on the terminal of whoever runs strata audit.
func TestReportWriteErrorNamingAForgedOwnerCannotRedrawTheTerminal(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"apiVersion": "wgpolicyk8s.io/v1alpha2", "kind": "PolicyReportList", "metadata": map[string]any{}, "items": []any{}})
	}))
	defer srv.Close()
	client, err := dynamic.NewForConfig(&rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	inv := &inventory.Inventory{Workloads: []inventory.Workload{{
		APIVersion: "argoproj.io/v1alpha1", Kind: "Rollout\x1b[2J\x1b[H", Namespace: "shop",
		Name: "web\x1b]0;all clear\x07" + strings.Repeat("a", 1<<20), UID: "u1", Allowed: true,
	}}}
	_, err = NewWriter(client, WriterOptions{}).Write(t.Context(), inv, Scope{})
	if err == nil {
		t.Fatal("Write() = nil, want the report of a workload named past the object limit refused")
	}
	if msg := err.Error(); strings.ContainsAny(msg, "\x1b\x07") || len(msg) > 4096 {
		t.Errorf("Write() error is %d bytes, escapes %v: %.300q", len(msg), strings.ContainsAny(msg, "\x1b\x07"), msg)
	}
}
