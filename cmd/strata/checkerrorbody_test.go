package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
	config := filepath.Join(dir, "strata.yaml")
	if err := os.WriteFile(config, []byte("registry:\n  insecure: [\""+host+"\"]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	manifest := filepath.Join(dir, "pod.yaml")
	pod := "apiVersion: v1\nkind: Pod\nmetadata:\n  name: app\nspec:\n  containers:\n  - name: app\n    image: " + host + "/shop/app:1\n"
	if err := os.WriteFile(manifest, []byte(pod), 0o600); err != nil {
		t.Fatal(err)
	}
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
