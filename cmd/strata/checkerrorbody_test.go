package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/strata-project/strata/internal/testutil"
)

// TestCheckSARIFNeverCarriesRegistryErrorBody: a registry answering with an
// internal service's body; the text and SARIF reports of `strata check` carry
// the status, never the body.
func TestCheckSARIFNeverCarriesRegistryErrorBody(t *testing.T) {
	t.Parallel()
	const secret = "INTERNAL-SECRET-BODY path=/internal/admin/dump"
	registry := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, secret, http.StatusInternalServerError)
	}))
	t.Cleanup(registry.Close)
	host := strings.TrimPrefix(registry.URL, "http://")
	dir := t.TempDir()
	config := testutil.WriteFile(t, dir, "strata.yaml", "registry:\n  insecure: [\""+host+"\"]\n")
	manifest := testutil.WriteFile(t, dir, "pod.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: app\nspec:\n  containers:\n  - name: app\n    image: "+host+"/shop/app:1\n")
	for _, format := range []string{"text", "sarif"} {
		code, out, errOut := runStrata(t, "check", "--config", config, "--mode", "enforce", "-o", format, "-f", manifest)
		if code == 0 {
			t.Errorf("strata check -o %s exited 0 on an image the registry failed to serve, want a failure; output:\n%s", format, out)
		}
		if !strings.Contains(out+errOut, "500") {
			t.Errorf("strata check -o %s = %s%s, want the registry's status 500", format, out, errOut)
		}
		if strings.Contains(out+errOut, "INTERNAL-SECRET-BODY") {
			t.Errorf("strata check -o %s = %s%s, want no part of the registry's error body", format, out, errOut)
		}
	}
}
