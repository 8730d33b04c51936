package main

import (
	"strconv"
	"strings"
	"testing"

	"github.com/strata-project/strata/internal/testutil"
)

// configMapThenRootPod is a manifest of two objects: a ConfigMap and a root
// Pod. The reader's own tests are webhook/manifest's; these test the advice
// strata check adds to its errors.
const configMapThenRootPod = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: shop}\n---\n" +
	"apiVersion: v1\nkind: Pod\nmetadata: {name: admin, namespace: shop}\nspec:\n  containers: [{name: admin, image: strata-demo.local/shop/admin:1.0}]\n"

// A manifest that is not a regular file is refused before it is opened
// (webhook/manifest's tests hold the devices, FIFOs and symlinks), and
// strata check says what to name instead.
func TestCheckManifestThatIsNotARegularFileIsRefused(t *testing.T) {
	t.Parallel()
	code, _, errOut := runStrata(t, "check", "--mode", "enforce", "-f", "/dev/null")
	if want := "/dev/null: not a regular file (Dc---------): strata check reads only regular files; name the manifest itself, or pass it on standard input with -f -"; code != 2 || !strings.Contains(errOut, want) {
		t.Errorf("strata check -f /dev/null = exit %d, stderr %q; want exit 2 and %q", code, errOut, want)
	}
}

// Manifests past the size caps are refused, not read: per file and for the
// whole run, files and standard input alike, with the cap and the flag that
// raises it named.
func TestCheckManifestsPastTheSizeCapAreRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	big := testutil.WriteFile(t, dir, "big.yaml", configMapThenRootPod+"# "+strings.Repeat("x", 2000)+"\n")
	small := testutil.WriteFile(t, dir, "small.yaml", configMapThenRootPod)
	for _, tc := range []struct {
		name  string
		stdin string
		args  []string
		want  string
	}{
		{"one file", "", []string{"--max-file-bytes", "1000", "-f", big},
			big + ": larger than the 1000-byte cap of --max-file-bytes"},
		{"standard input", configMapThenRootPod + strings.Repeat("#", 1000), []string{"--max-file-bytes", "1000", "-f", "-"},
			"stdin: larger than the 1000-byte cap of --max-file-bytes"},
		// Each file is under the cap; the third one takes the run past it.
		{"the run", "", []string{"--max-total-bytes", strconv.Itoa(2*len(configMapThenRootPod) + 10), "-f", small, "-f", small, "-f", small},
			small + ": the manifests read pass the " + strconv.Itoa(2*len(configMapThenRootPod)+10) + "-byte cap of --max-total-bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"check", "--mode", "enforce"}, tc.args...)
			code, _, errOut := runStrataStdin(t, tc.stdin, args...)
			if code != 2 || !strings.Contains(errOut, tc.want) {
				t.Errorf("strata %s = exit %d, stderr %q; want exit 2 and %q", strings.Join(args, " "), code, errOut, tc.want)
			}
		})
	}
}
