package webhook

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestRegistryErrorBodyNeverReachesTheDenial: a registry (or whatever it
// redirected to) answers with an internal service's body; the denial and
// the warnings a tenant reads carry the status, never the body.
func TestRegistryErrorBodyNeverReachesTheDenial(t *testing.T) {
	t.Parallel()
	p := newPipeline(t)
	const secret = "INTERNAL-SECRET-BODY path=/internal/admin/dump"
	registry := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if strings.Contains(req.URL.Path, "/manifests/") {
			http.Error(w, `{"errors":[{"code":"DENIED","message":"`+secret+`"}]}`, http.StatusForbidden)
			return
		}
		http.Error(w, secret, http.StatusInternalServerError)
	}))
	t.Cleanup(registry.Close)
	hs := handlers(p.checkerVia(t, registry.Listener.Addr().String()), nil, nil)
	review := reviewOf(t, "error-body", "Pod", "CREATE", podOf("admin", "strata-demo.local/shop/admin:1.0"), nil)

	denied := admit(t, serveHandler(t, hs["enforce"]).URL+"?timeout=5s", review)
	deniedFor(`container "app"`, "strata-demo.local/shop/admin:1.0", "status code")(t, denied)
	if strings.Contains(denied.Result.Message, "INTERNAL-SECRET-BODY") {
		t.Errorf("denial message = %q, want no part of the registry's error body", denied.Result.Message)
	}
	warned := admit(t, serveHandler(t, hs["warn"]).URL+"?timeout=5s", review)
	if len(warned.Warnings) == 0 {
		t.Fatalf("warn response has no warnings, want the image-resolution failure")
	}
	for _, w := range warned.Warnings {
		if strings.Contains(w, "INTERNAL-SECRET-BODY") {
			t.Errorf("warning = %q, want no part of the registry's error body", w)
		}
	}
}
