package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/strata-project/strata/internal/testutil"
)

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

// One file that cannot be decoded no longer hides the findings of the
// others: they are checked and reported, the broken file is an error
// result (a SARIF tool notification, the run not successful), and the exit
// code is 2 once the report is written.
func TestCheckKeepsGoingPastABrokenFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	broken := testutil.WriteFile(t, dir, "a-broken.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: x\n")
	root := examples + "root.yaml"
	code, out, errOut := runStrata(t, "check", "--demo", "--mode", "enforce", "-o", "sarif", "-f", broken, "-f", root)
	if code != 2 || !strings.Contains(errOut, "1 file(s) could not be decoded") {
		t.Errorf("exit %d, stderr %q; want 2 and the count of broken files", code, errOut)
	}
	var log struct {
		Runs []struct {
			Invocations []struct {
				ExecutionSuccessful        bool `json:"executionSuccessful"`
				ToolExecutionNotifications []struct {
					Level   string `json:"level"`
					Message struct{ Text string }
				} `json:"toolExecutionNotifications"`
			} `json:"invocations"`
			Results []struct {
				RuleID string `json:"ruleId"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(out), &log); err != nil || len(log.Runs) != 1 || len(log.Runs[0].Invocations) != 1 {
		t.Fatalf("SARIF of a run with a broken file: %v\n%s", err, out)
	}
	inv := log.Runs[0].Invocations[0]
	if inv.ExecutionSuccessful || len(inv.ToolExecutionNotifications) != 1 || inv.ToolExecutionNotifications[0].Level != "error" || !strings.Contains(inv.ToolExecutionNotifications[0].Message.Text, "a-broken.yaml") {
		t.Errorf("invocation = %+v, want unsuccessful with one error naming a-broken.yaml", inv)
	}
	if len(log.Runs[0].Results) == 0 || log.Runs[0].Results[0].RuleID != "run-as-root" {
		t.Errorf("results = %+v, want root.yaml's run-as-root finding still reported", log.Runs[0].Results)
	}
}

// JSON names each checked container's image and the digest it resolved
// to; a document of `helm template` on standard input is reported under
// the template its "# Source:" comment names.
func TestCheckJSONNamesDigestsAndHelmSources(t *testing.T) {
	t.Parallel()
	rendered := "---\n# Source: shop/templates/web.yaml\napiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers: [{name: web, image: strata-demo.local/shop/web:1.0}, {name: gone, image: strata-demo.local/shop/none:1.0}]\n"
	code, out, errOut := runStrataStdin(t, rendered, "check", "--demo", "-o", "json", "-f", "-")
	var rep struct {
		Objects []struct {
			File, Source string
			Containers   []struct{ Name, Image, Digest string }
		}
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || len(rep.Objects) != 1 {
		t.Fatalf("exit %d, %v; stdout:\n%s\nstderr:\n%s", code, err, out, errOut)
	}
	o := rep.Objects[0]
	if o.File != "stdin" || o.Source != "shop/templates/web.yaml" {
		t.Errorf("object from %q source %q, want stdin from shop/templates/web.yaml", o.File, o.Source)
	}
	if len(o.Containers) != 2 || !strings.HasPrefix(o.Containers[0].Digest, "sha256:") || o.Containers[0].Image != "strata-demo.local/shop/web:1.0" || o.Containers[1].Digest != "" {
		t.Errorf("containers = %+v, want web with its digest and gone with none", o.Containers)
	}
}
