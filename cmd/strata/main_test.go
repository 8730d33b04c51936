package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strata-project/strata/webhook/demo"
)

func runStrata(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return runStrataStdin(t, "", args...)
}

func runStrataStdin(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = runWithStdin(t.Context(), args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestInspectDemoFamily(t *testing.T) {
	t.Parallel()
	code, out, errOut := runStrata(t, "inspect", "--demo")
	if code != 0 {
		t.Fatalf("strata inspect --demo = exit %d, stderr %q", code, errOut)
	}
	for _, img := range demo.Family {
		if !strings.Contains(out, "/"+img.Repo+"\n") {
			t.Errorf("strata inspect --demo output lacks %s", img.Repo)
		}
	}
	admin := out[strings.Index(out, "/shop/admin:1.0"):]
	admin = admin[:strings.Index(admin, "\n\n")]
	if !strings.Contains(admin, `user        "": uid 0 (root)`) {
		t.Errorf("strata inspect --demo shows shop/admin as:\n%s\nwant its user to be root", admin)
	}
}

// TestInspectDemoTakesTheNamesItPrints: `strata inspect --demo` lists the
// demo's images by their full names; each is accepted back as it was
// printed, and gives what the repository alone gives.
func TestInspectDemoTakesTheNamesItPrints(t *testing.T) {
	t.Parallel()
	_, short, _ := runStrata(t, "inspect", "--demo", "shop/web:1.0")
	code, full, errOut := runStrata(t, "inspect", "--demo", demo.Host+"/shop/web:1.0")
	if code != 0 || full != short {
		t.Errorf("strata inspect --demo %s/shop/web:1.0 = exit %d, stderr %q:\n%s\nwant what shop/web:1.0 prints:\n%s", demo.Host, code, errOut, full, short)
	}
}

func TestInspectJSON(t *testing.T) {
	t.Parallel()
	code, out, errOut := runStrata(t, "inspect", "--demo", "-o", "json", "shop/web:1.0")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	var doc struct {
		Ref       string `json:"ref"`
		Platforms []struct {
			Image struct {
				Platform string `json:"platform"`
				Layers   int    `json:"layers"`
				Config   struct {
					User struct {
						UID *int64 `json:"uid"`
					} `json:"user"`
				} `json:"config"`
			} `json:"image"`
			Lineage struct {
				Depth    int  `json:"depth"`
				Complete bool `json:"complete"`
				Chain    []struct {
					Role string `json:"role"`
				} `json:"chain"`
			} `json:"lineage"`
		} `json:"platforms"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("strata inspect -o json is not JSON: %v\n%s", err, out)
	}
	if len(doc.Platforms) != 1 {
		t.Fatalf("strata inspect -o json shop/web:1.0 has %d platforms, want 1", len(doc.Platforms))
	}
	p := doc.Platforms[0]
	if p.Image.Layers != 6 || p.Image.Config.User.UID == nil || *p.Image.Config.User.UID != 65532 {
		t.Errorf("strata inspect -o json shop/web:1.0 image = %+v, want 6 layers and uid 65532", p.Image)
	}
	if p.Lineage.Depth != 3 || !p.Lineage.Complete || len(p.Lineage.Chain) != 2 || p.Lineage.Chain[0].Role != "os" || p.Lineage.Chain[1].Role != "runtime" {
		t.Errorf("strata inspect -o json shop/web:1.0 lineage = %+v, want os → runtime, depth 3, complete", p.Lineage)
	}
}

func TestInspectErrors(t *testing.T) {
	t.Parallel()
	badConfig := filepath.Join(t.TempDir(), "strata.yaml")
	if err := os.WriteFile(badConfig, []byte("mode: block\nregistry: {timout: 3s}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		args    []string
		want    string
		wantOut int
	}{
		{"no image", []string{"inspect"}, "Usage: strata inspect", 2},
		{"bad output", []string{"inspect", "-o", "yaml", "nginx"}, `-o "yaml"`, 2},
		{"image id", []string{"inspect", "sha256:" + strings.Repeat("a", 64)}, "image ID", 2},
		{"missing demo image", []string{"inspect", "--demo", "shop/none:1"}, "has no image", 2},
		{"unknown config key", []string{"inspect", "--config", badConfig, "nginx"}, "unknown field", 2},
		{"unknown command", []string{"frobnicate"}, "unknown command", 2},
	} {
		code, _, errOut := runStrata(t, tc.args...)
		if code != tc.wantOut || !strings.Contains(errOut, tc.want) {
			t.Errorf("%s: strata %s = exit %d, stderr %q; want exit %d and %q", tc.name, strings.Join(tc.args, " "), code, errOut, tc.wantOut, tc.want)
		}
	}
}
