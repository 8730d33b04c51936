package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// examples is where the example manifests are, from this package.
const examples = "../../examples/manifests/"

func TestCheckExamples(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	enforceConfig := writeFile(t, dir, "enforce.yaml", "mode: enforce\n")
	rootWarns := writeFile(t, dir, "root-warns.yaml", "mode: enforce\npolicies:\n  actions: {run-as-root: warn}\n")
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

func TestCheckJSON(t *testing.T) {
	t.Parallel()
	code, out, errOut := runStrata(t, "check", "--demo", "--mode", "enforce", "-o", "json", "-f", examples+"mixed.yaml")
	if code != 1 {
		t.Fatalf("exit %d, want 1; stderr %q", code, errOut)
	}
	var doc struct {
		Mode    string `json:"mode"`
		Objects []struct {
			File       string `json:"file"`
			Line       int    `json:"line"`
			Document   int    `json:"document"`
			Kind       string `json:"kind"`
			Namespace  string `json:"namespace"`
			Name       string `json:"name"`
			Decision   string `json:"decision"`
			Violations []struct {
				Policy    string `json:"policy"`
				Action    string `json:"action"`
				Msg       string `json:"msg"`
				Container string `json:"container"`
				Platform  string `json:"platform"`
			} `json:"violations"`
		} `json:"objects"`
		Summary struct {
			Objects, Denied int
		} `json:"summary"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("strata check -o json is not JSON: %v\n%s", err, out)
	}
	if doc.Mode != "enforce" || len(doc.Objects) != 1 || doc.Summary.Objects != 1 || doc.Summary.Denied != 1 {
		t.Fatalf("strata check -o json mixed.yaml = %s, want mode enforce and one object, denied", out)
	}
	o := doc.Objects[0]
	if o.File != examples+"mixed.yaml" || o.Document != 2 || o.Line != lineOf(t, examples+"mixed.yaml", "apiVersion: batch/v1") ||
		o.Kind != "Job" || o.Namespace != "shop" || o.Name != "nightly-export" || o.Decision != "deny" {
		t.Errorf("strata check -o json mixed.yaml object = %+v, want the Job, document 2, denied", o)
	}
	got := map[string]string{}
	for _, v := range o.Violations {
		got[v.Policy+" "+v.Container] = v.Action
		if v.Msg == "" || v.Platform != "linux/amd64" {
			t.Errorf("violation %+v: want a message and platform linux/amd64", v)
		}
	}
	want := map[string]string{"run-as-root migrate": "enforce", "base-freshness metrics": "warn"}
	for k, action := range want {
		if got[k] != action {
			t.Errorf("strata check -o json mixed.yaml: %s has action %q, want %q (all: %v)", k, got[k], action, got)
		}
	}
}

func TestCheckSARIF(t *testing.T) {
	t.Parallel()
	mixed, root := examples+"mixed.yaml", examples+"root.yaml"
	code, out, errOut := runStrata(t, "check", "--demo", "--mode", "enforce", "-o", "sarif", "-f", mixed, "-f", root)
	if code != 1 {
		t.Fatalf("exit %d, want 1; stderr %q", code, errOut)
	}
	var log struct {
		Version string `json:"version"`
		Schema  string `json:"$schema"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Name  string `json:"name"`
					Rules []struct {
						ID               string `json:"id"`
						ShortDescription struct {
							Text string `json:"text"`
						} `json:"shortDescription"`
					} `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID    string `json:"ruleId"`
				RuleIndex int    `json:"ruleIndex"`
				Level     string `json:"level"`
				Message   struct {
					Text string `json:"text"`
				} `json:"message"`
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct {
							URI string `json:"uri"`
						} `json:"artifactLocation"`
						Region struct {
							StartLine int `json:"startLine"`
						} `json:"region"`
					} `json:"physicalLocation"`
				} `json:"locations"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(out), &log); err != nil {
		t.Fatalf("strata check -o sarif is not JSON: %v\n%s", err, out)
	}
	if log.Version != "2.1.0" || log.Schema != "https://json.schemastore.org/sarif-2.1.0.json" || len(log.Runs) != 1 || log.Runs[0].Tool.Driver.Name != "strata" {
		t.Fatalf("strata check -o sarif = %s, want a SARIF 2.1.0 log of one strata run", out)
	}
	run := log.Runs[0]
	var ruleIDs []string
	for _, r := range run.Tool.Driver.Rules {
		if r.ShortDescription.Text == "" || slices.Contains(ruleIDs, r.ID) {
			t.Errorf("rule %+v: want a short description and one rule per policy", r)
		}
		ruleIDs = append(ruleIDs, r.ID)
	}
	if !slices.Equal(ruleIDs, []string{"base-freshness", "run-as-root"}) {
		t.Errorf("strata check -o sarif rules = %v, want base-freshness, run-as-root", ruleIDs)
	}
	lines := map[string]int{
		mixed: lineOf(t, mixed, "apiVersion: batch/v1"),
		root:  lineOf(t, root, "apiVersion: v1"),
	}
	levels := map[string]string{}
	for _, r := range run.Results {
		if r.RuleIndex < 0 || r.RuleIndex >= len(ruleIDs) || ruleIDs[r.RuleIndex] != r.RuleID {
			t.Errorf("result %s has ruleIndex %d, which is not its rule", r.RuleID, r.RuleIndex)
		}
		if len(r.Locations) != 1 {
			t.Fatalf("result %+v: want one location", r)
		}
		loc := r.Locations[0].PhysicalLocation
		want, ok := lines[loc.ArtifactLocation.URI]
		if !ok || loc.Region.StartLine != want {
			t.Errorf("result %s at %s:%d, want one of %v", r.RuleID, loc.ArtifactLocation.URI, loc.Region.StartLine, lines)
		}
		levels[loc.ArtifactLocation.URI+" "+r.RuleID] = r.Level
	}
	if lines[mixed] <= 1 {
		t.Errorf("mixed.yaml's Job starts on line %d, want after its first document", lines[mixed])
	}
	for k, want := range map[string]string{mixed + " run-as-root": "error", mixed + " base-freshness": "warning", root + " run-as-root": "error"} {
		if levels[k] != want {
			t.Errorf("strata check -o sarif: %s has level %q, want %q", k, levels[k], want)
		}
	}
}

func TestCheckErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	malformed := writeFile(t, dir, "malformed.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: [unclosed\n")
	noKind := writeFile(t, dir, "nokind.yaml", "apiVersion: v1\nmetadata: {name: a}\n")
	badPod := writeFile(t, dir, "badpod.json", `{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": "web"}}`)
	badItem := writeFile(t, dir, "baditem.json", `{"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "v1", "kind": "Service"}, 7]}`)
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
			code, _, errOut := runStrata(t, args...)
			if code != 2 || !strings.Contains(errOut, tc.want) {
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
		if string(l) == line {
			return i + 1
		}
	}
	t.Fatalf("%s has no line %q", file, line)
	return 0
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// strata check exempts the namespaces of exempt.namespaces through the
// Checker, as the webhook does: the configured list, not only the default.
func TestCheckExemptsTheConfiguredNamespaces(t *testing.T) {
	t.Parallel()
	config := writeFile(t, t.TempDir(), "strata.yaml", "exempt:\n  namespaces: [shop]\n")
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
