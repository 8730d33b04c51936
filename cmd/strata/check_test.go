package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strata-project/strata/internal/testutil"
)

// examples is where the example manifests are, from this package.
const examples = "../../examples/manifests/"

func TestCheckExamples(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	enforceConfig := testutil.WriteFile(t, dir, "enforce.yaml", "mode: enforce\n")
	rootWarns := testutil.WriteFile(t, dir, "root-warns.yaml", "mode: enforce\npolicies:\n  actions: {run-as-root: warn}\n")
	for _, tc := range []struct {
		name     string
		args     []string
		stdin    string
		wantCode int
		want     []string // in stdout
		dontWant []string
	}{
		{"good", []string{"--mode", "enforce", "-f", examples + "good.yaml"}, "", 0,
			[]string{"✓ allow Deployment shop/web (" + examples + "good.yaml)", "1 object: 1 allowed, 0 with warnings, 0 denied"}, []string{"["}},
		{"root", []string{"--mode", "enforce", "-f", examples + "root.yaml"}, "", 1,
			[]string{"✗ deny Pod shop/admin", "enforce  [run-as-root]", "1 denied"}, nil},
		{"root in warn mode, the default", []string{"-f", examples + "root.yaml"}, "", 0,
			[]string{"! warn Pod shop/admin", "warn     [run-as-root]", "1 with warnings"}, nil},
		{"root in audit mode", []string{"--mode", "audit", "-f", examples + "root.yaml"}, "", 0,
			[]string{"✓ allow Pod shop/admin", "audit    [run-as-root]"}, nil},
		{"root with the config's mode", []string{"--config", enforceConfig, "-f", examples + "root.yaml"}, "", 1,
			[]string{"✗ deny Pod shop/admin"}, nil},
		{"--mode overrides the config", []string{"--config", enforceConfig, "--mode", "warn", "-f", examples + "root.yaml"}, "", 0,
			[]string{"! warn Pod shop/admin"}, nil},
		{"a policy's milder action wins", []string{"--config", rootWarns, "-f", examples + "root.yaml"}, "", 0,
			[]string{"! warn Pod shop/admin", "warn     [run-as-root]"}, nil},
		{"deep", []string{"--mode", "enforce", "-f", examples + "deep.yaml"}, "", 1,
			[]string{"✗ deny CronJob shop/report", "[lineage-depth]"}, []string{"[run-as-root]", "[approved-base]"}},
		{"unknown base", []string{"--mode", "enforce", "-f", examples + "unknown-base.yaml"}, "", 1,
			[]string{"✗ deny StatefulSet shop/legacy", "[approved-base]"}, []string{"[run-as-root]"}},
		{"stale base warns in enforce mode", []string{"--mode", "enforce", "-f", examples + "stale.yaml"}, "", 0,
			[]string{"! warn Deployment shop/billing", "warn     [base-freshness]"}, nil},
		{"mixed", []string{"--mode", "enforce", "-f", examples + "mixed.yaml"}, "", 1,
			[]string{"✗ deny Job shop/nightly-export (" + examples + "mixed.yaml, document 2)", `enforce  [run-as-root] kubelet would refuse to start init container "migrate"`, `warn     [base-freshness] sidecar container "metrics"`, "1 object:"},
			[]string{"ConfigMap", "Service", `"export"`}},
		{"list", []string{"--mode", "enforce", "-f", examples + "list.json"}, "", 0,
			[]string{"✓ allow Pod shop/web (" + examples + "list.json, item 1)", "✓ allow Pod shop/admin-as-user (" + examples + "list.json, item 2)"}, nil},
		{"directory", []string{"--mode", "enforce", "-f", examples}, "", 1,
			[]string{"8 objects: 3 allowed, 1 with warnings, 4 denied"}, nil},
		{"stdin", []string{"--mode", "enforce", "-f", "-"}, "apiVersion: v1\nkind: Pod\nmetadata: {name: admin}\nspec:\n  containers: [{name: admin, image: strata-demo.local/shop/admin:1.0}]\n", 1,
			[]string{"✗ deny Pod default/admin (stdin)", "[run-as-root]"}, nil},
		{"stdin and files, comma-separated", []string{"--mode", "enforce", "-f", "-," + examples + "good.yaml"}, "apiVersion: v1\nkind: Service\nmetadata: {name: web}\n", 0,
			[]string{"✓ allow Deployment shop/web", "1 object:"}, nil},
		{"exempt namespace", []string{"--mode", "enforce", "-f", "-"}, "apiVersion: v1\nkind: Pod\nmetadata: {name: admin, namespace: kube-system}\nspec:\n  containers: [{name: admin, image: strata-demo.local/shop/admin:1.0}]\n", 0,
			[]string{"✓ allow Pod kube-system/admin (stdin): namespace kube-system is exempt"}, []string{"[run-as-root]"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"check", "--demo"}, tc.args...)
			code, out, errOut := runStrataStdin(t, tc.stdin, args...)
			if code != tc.wantCode {
				t.Fatalf("strata %s = exit %d, want %d; stdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, tc.wantCode, out, errOut)
			}
			for _, want := range tc.want {
				if !strings.Contains(out, want) {
					t.Errorf("strata %s output lacks %q; got:\n%s", strings.Join(args, " "), want, out)
				}
			}
			for _, dont := range tc.dontWant {
				if strings.Contains(out, dont) {
					t.Errorf("strata %s output has %q; got:\n%s", strings.Join(args, " "), dont, out)
				}
			}
			if errOut != "" {
				t.Errorf("strata %s wrote to stderr: %s", strings.Join(args, " "), errOut)
			}
		})
	}
}

func TestCheckWithoutDemo(t *testing.T) {
	t.Parallel()
	// The examples' registry does not exist without --demo: each image is a
	// resolution failure, which the mode decides like any violation.
	code, out, _ := runStrata(t, "check", "--mode", "enforce", "-f", examples+"good.yaml")
	if code != 1 || !strings.Contains(out, "[image-resolution]") {
		t.Errorf("strata check -f good.yaml without --demo = exit %d, output:\n%s\nwant exit 1 and an image-resolution violation", code, out)
	}
}

func TestCheckErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	malformed := testutil.WriteFile(t, dir, "malformed.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: [unclosed\n")
	noKind := testutil.WriteFile(t, dir, "nokind.yaml", "apiVersion: v1\nmetadata: {name: a}\n")
	badPod := testutil.WriteFile(t, dir, "badpod.json", `{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": "web"}}`)
	badItem := testutil.WriteFile(t, dir, "baditem.json", `{"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "v1", "kind": "Service"}, 7]}`)
	empty := filepath.Join(dir, "empty")
	if err := os.Mkdir(empty, 0o700); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.yaml")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"missing file", []string{"-f", missing}, "reading " + missing + ": no such file"},
		{"malformed YAML", []string{"-f", malformed}, malformed + ": document 2 (line 5): yaml:"},
		{"no kind", []string{"-f", noKind}, noKind + ": document 1 (line 1): no kind"},
		{"invalid pod", []string{"-f", badPod}, badPod + ": document 1 (line 1): decoding Pod"},
		{"invalid list item", []string{"-f", badItem}, badItem + ": document 1 (line 1): item 2: not a mapping"},
		{"directory without manifests", []string{"-f", empty}, empty + ": no .yaml, .yml or .json files"},
		{"stdin twice", []string{"-f", "-", "-f", "-"}, "standard input can be read only once"},
		{"no -f", nil, "Usage: strata check"},
		{"an argument", []string{"-f", badPod, "pod.yaml"}, `unexpected argument "pod.yaml"`},
		{"bad output", []string{"-o", "yaml", "-f", badPod}, `-o "yaml"`},
		{"bad mode", []string{"--mode", "block", "-f", badPod}, `--mode "block"`},
		{"empty path", []string{"-f", badPod + ","}, "empty path"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"check"}, tc.args...)
			// A file that cannot be decoded is reported among the results
			// (stdout), the others checked; anything else stops on stderr.
			code, out, errOut := runStrata(t, args...)
			if code != 2 || !strings.Contains(out+errOut, tc.want) {
				t.Errorf("strata %s = exit %d, stderr %q; want exit 2 and %q", strings.Join(args, " "), code, errOut, tc.want)
			}
		})
	}
}

// lineOf returns the number of the first line of file that is line.
func lineOf(t *testing.T, file, line string) int {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range bytes.Split(raw, []byte("\n")) {
		if strings.TrimSpace(string(l)) == line {
			return i + 1
		}
	}
	t.Fatalf("%s has no line %q", file, line)
	return 0
}

// strata check exempts the namespaces of exempt.namespaces through the
// Checker, as the webhook does: the configured list, not only the default.
func TestCheckExemptsTheConfiguredNamespaces(t *testing.T) {
	t.Parallel()
	config := testutil.WriteFile(t, t.TempDir(), "strata.yaml", "exempt:\n  namespaces: [shop]\n")
	pod := "apiVersion: v1\nkind: Pod\nmetadata: {name: admin, namespace: %s}\nspec:\n  containers: [{name: admin, image: strata-demo.local/shop/admin:1.0}]\n"
	code, out, errOut := runStrataStdin(t, fmt.Sprintf(pod, "shop"), "check", "--demo", "--config", config, "--mode", "enforce", "-f", "-")
	if code != 0 || !strings.Contains(out, "✓ allow Pod shop/admin (stdin): namespace shop is exempt") {
		t.Errorf("strata check of a root pod in exempt namespace shop = exit %d, stdout:\n%s\nstderr:\n%s\nwant it allowed as exempt", code, out, errOut)
	}
	// The configured list replaces the default one.
	code, out, _ = runStrataStdin(t, fmt.Sprintf(pod, "kube-system"), "check", "--demo", "--config", config, "--mode", "enforce", "-f", "-")
	if code != 1 || !strings.Contains(out, "✗ deny Pod kube-system/admin") {
		t.Errorf("strata check of a root pod in kube-system with exempt.namespaces [shop] = exit %d, stdout:\n%s\nwant it denied", code, out)
	}
}

// check reads ./strata.yaml when --config is not given, and says so; -n
// gives objects that name no namespace one, and leaves the others alone.
func TestCheckReadsLocalConfigAndNamespaceFlag(t *testing.T) {
	dir := t.TempDir()
	testutil.WriteFile(t, dir, "strata.yaml", "exempt:\n  namespaces: [shop]\n")
	t.Chdir(dir)
	pods := "apiVersion: v1\nkind: Pod\nmetadata: {name: bare}\nspec:\n  containers: [{name: admin, image: strata-demo.local/shop/admin:1.0}]\n" +
		"---\napiVersion: v1\nkind: Pod\nmetadata: {name: placed, namespace: team}\nspec:\n  containers: [{name: admin, image: strata-demo.local/shop/admin:1.0}]\n"
	code, out, errOut := runStrataStdin(t, pods, "check", "--demo", "--mode", "enforce", "-n", "shop", "-f", "-")
	if !strings.Contains(errOut, "reading ./strata.yaml") {
		t.Errorf("strata check beside a strata.yaml: stderr %q, want it to say it reads ./strata.yaml", errOut)
	}
	if code != 1 || !strings.Contains(out, "✓ allow Pod shop/bare (stdin): namespace shop is exempt") || !strings.Contains(out, "✗ deny Pod team/placed") {
		t.Errorf("strata check -n shop = exit %d, stdout:\n%s\nwant shop/bare exempt by ./strata.yaml and team/placed denied", code, out)
	}
}
