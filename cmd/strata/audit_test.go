package main

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/strata-project/strata/webhook/audit"
)

func TestAuditPrintsWhatEnforcingWouldDeny(t *testing.T) {
	t.Parallel()
	f := &fakeCluster{}
	code, out, errOut := runAuditOn(t.Context(), t, f, "-A")
	if code != 0 || errOut != "" {
		t.Fatalf("strata audit -A = exit %d, stderr %q; want exit 0 whatever it found, and nothing on stderr", code, errOut)
	}
	for _, want := range []string{
		"if enforced: 5 workloads in 2 namespaces would be denied\n",
		"by base image (workloads with violations):\n",
		", stale: its tag now points to sha256:",
		"✗ deny  team/Deployment/root  container main  image strata-demo.local/shop/admin:1.0  [run-as-root]",
		"kube-system/Deployment/agent: namespace kube-system is exempt",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("strata audit -A output lacks %q; got:\n%s", want, out)
		}
	}
	if !strings.HasPrefix(out, "if enforced:") {
		t.Errorf("strata audit -A output does not open with the headline:\n%s", out)
	}
	if len(f.asked) != 1 || f.asked[0].Namespace != "" || f.asked[0].Listed == nil {
		t.Errorf("listed with %+v, want one listing of every namespace, with progress", f.asked)
	}
}

// -n and -l reach the listing; without -n, the context's namespace.
func TestAuditListsTheNamespaceAndSelectorAsked(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args         []string
		ns, selector string
	}{
		{[]string{"-n", "shop", "-l", "app=web"}, "shop", "app=web"},
		{[]string{"--selector=tier in (web)"}, "team", "tier in (web)"},
	} {
		f := &fakeCluster{}
		if code, _, errOut := runAuditOn(t.Context(), t, f, tc.args...); code != 0 {
			t.Fatalf("strata audit %q = exit %d, stderr %q", tc.args, code, errOut)
		}
		if len(f.asked) != 1 || f.asked[0].Namespace != tc.ns || f.asked[0].Selector != tc.selector {
			t.Errorf("strata audit %q listed with %+v, want namespace %q, selector %q", tc.args, f.asked, tc.ns, tc.selector)
		}
	}
}

// An audit CronJob does not fail because it found violations; a pipeline
// that wants it to asks with --exit-code, and only denials count.
func TestAuditExitCodes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"-A"}, 0},
		{[]string{"-A", "--exit-code"}, 1},
		{[]string{"-A", "--exit-code", "--mode", "warn"}, 0},
		{[]string{"-A", "--exit-code", "--mode", "audit"}, 0},
		{[]string{"--exit-code", "--timeout", "30s"}, 1},
	} {
		if code, out, errOut := runAuditOn(t.Context(), t, &fakeCluster{}, tc.args...); code != tc.code {
			t.Errorf("strata audit %q = exit %d, want %d; stdout:\n%s\nstderr:\n%s", tc.args, code, tc.code, out, errOut)
		}
	}
}

func TestAuditModeChoosesWhichActionsCount(t *testing.T) {
	t.Parallel()
	_, out, _ := runAuditOn(t.Context(), t, &fakeCluster{}, "-A", "--mode", "warn")
	if !strings.HasPrefix(out, "in warn mode: 6 workloads in 2 namespaces would be admitted with warnings\n") || strings.Contains(out, "✗ deny") {
		t.Errorf("strata audit --mode warn = \n%s\nwant every violating workload admitted with warnings, none denied", out)
	}
}

func TestAuditJSON(t *testing.T) {
	t.Parallel()
	code, out, errOut := runAuditOn(t.Context(), t, &fakeCluster{}, "-A", "-o", "json")
	var p audit.Preview
	if code != 0 || json.Unmarshal([]byte(out), &p) != nil {
		t.Fatalf("strata audit -o json = exit %d, stdout %q, stderr %q; want one JSON document", code, out, errOut)
	}
	if p.SchemaVersion != 1 || p.Mode != "enforce" || p.Summary.Denied != 5 || p.Summary.Exempt != 1 || len(p.Workloads) != p.Summary.Workloads {
		t.Errorf("strata audit -o json = %+v, want schemaVersion 1, mode enforce, 5 denied, 1 exempt, every workload listed", p.Summary)
	}
}

// Ctrl-C during the audit reports nothing: the unresolved images of an
// interrupted run are not findings, and no report is written from it.
func TestAuditInterruptedReportsNothing(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	code, out, errOut := runAuditOn(ctx, t, &fakeCluster{during: cancel}, "-A", "--write-reports")
	if code != 2 || out != "" || !strings.Contains(errOut, "interrupted before the audit finished: nothing is reported") {
		t.Errorf("strata audit interrupted = exit %d, stdout %q, stderr %q; want exit 2, nothing on stdout, the interruption said", code, out, errOut)
	}
}

func TestAuditListingFailureNamesWhatToGrant(t *testing.T) {
	t.Parallel()
	f := &fakeCluster{err: errors.New(`pods is forbidden: User "x" cannot list resource "pods"`)}
	code, out, errOut := runAuditOn(t.Context(), t, f, "-n", "shop")
	if code != 2 || out != "" || !strings.Contains(errOut, "strata audit: listing the workloads of namespace shop: pods is forbidden") || !strings.Contains(errOut, "may list pods and their owners") {
		t.Errorf("strata audit with a forbidden listing = exit %d, stdout %q, stderr %q; want exit 2 naming the namespace and the permission", code, out, errOut)
	}
}

// A failure to write reports is an error after the preview was printed:
// the run's findings are not lost, and the exit code says the reports are
// not written.
func TestAuditReportWriteFailureIsAnError(t *testing.T) {
	t.Parallel()
	code, out, errOut := runAuditOn(t.Context(), t, &fakeCluster{}, "-A", "--write-reports", "--report-api", "openreports")
	if code != 2 || !strings.HasPrefix(out, "if enforced:") || !strings.Contains(errOut, "strata audit: writing reports: ") {
		t.Errorf("strata audit --write-reports against no API server = exit %d, stdout %q, stderr %q; want exit 2 after the preview", code, out, errOut)
	}
}

func TestAuditUsageErrors(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "kubeconfig")
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--mode", "block"}, 2, `--mode "block"`},
		{[]string{"--report-api", "kyverno"}, 2, `--report-api "kyverno": want wgpolicyk8s or openreports`},
		{[]string{"--qps", "0"}, 2, "--qps 0"},
		{[]string{"--timeout", "0s"}, 2, "--timeout 0s"},
		{[]string{"-o", "sarif"}, 2, `-o "sarif": want text or json`},
		{[]string{"deployments"}, 2, `unexpected argument "deployments"`},
		{[]string{"--kubeconfig", missing}, 2, "reading the kubeconfig"},
	} {
		code, out, errOut := runAuditOn(t.Context(), t, &fakeCluster{}, tc.args...)
		if code != tc.code || out != "" || !strings.Contains(errOut, tc.want) {
			t.Errorf("strata audit %q = exit %d, stdout %q, stderr %q; want exit %d and %q", tc.args, code, out, errOut, tc.code, tc.want)
		}
	}
}

// docs/audit.md: --timeout is the budget when given; unless given, the
// config's registry.timeout when that is longer than the flag's default
// (a config sized for a slow registry is not cut to 10 s), never shorter
// (a webhook's 3 s is not an audit's).
func TestAuditBudgetIsTheFlagOrTheLongerConfig(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		configured, flag time.Duration
		set              bool
		want             time.Duration
	}{
		{30 * time.Second, defaultAuditTimeout, false, 30 * time.Second},
		{3 * time.Second, defaultAuditTimeout, false, defaultAuditTimeout},
		{30 * time.Second, 2 * time.Second, true, 2 * time.Second},
		{3 * time.Second, 20 * time.Second, true, 20 * time.Second},
	} {
		if got := auditBudget(c.configured, c.flag, c.set); got != c.want {
			t.Errorf("auditBudget(registry.timeout %v, --timeout %v given %t) = %v, want %v", c.configured, c.flag, c.set, got, c.want)
		}
	}
}
