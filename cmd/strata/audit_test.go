package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/crane"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"k8s.io/client-go/kubernetes"

	"github.com/strata-project/strata/webhook/audit"
	"github.com/strata-project/strata/webhook/demo"
	"github.com/strata-project/strata/webhook/inventory"
	"github.com/strata-project/strata/webhook/manifest"
	"github.com/strata-project/strata/webhook/workload"
)

// fakeCluster stands in for inventory.ListCluster, which is built on
// another branch: it returns the examples' workloads (namespace shop) and
// two more in team and kube-system, and records what it was asked.
// TestAuditAgainstAnAPIServer (e2e, build tag auditcluster) runs the
// command against a real API server.
type fakeCluster struct {
	mu     sync.Mutex
	asked  []inventory.ListOptions
	err    error
	during func() // called while listing
	// objects, when set, are listed instead of the examples.
	objects []inventory.Object
}

func (f *fakeCluster) list(t *testing.T) clusterLister {
	return func(ctx context.Context, _ kubernetes.Interface, opts inventory.ListOptions) ([]inventory.Object, error) {
		f.mu.Lock()
		f.asked = append(f.asked, opts)
		f.mu.Unlock()
		if f.during != nil {
			f.during()
		}
		if f.err != nil {
			return nil, f.err
		}
		if f.objects != nil {
			return f.objects, nil
		}
		ms, _, err := manifest.Read([]string{examples}, nil, manifest.Limits{})
		if err != nil {
			t.Errorf("reading the examples: %v", err)
			return nil, err
		}
		objs := inventory.FromManifests(ms)
		for _, o := range []struct{ ns, name, image string }{{"team", "root", "shop/admin:1.0"}, {"kube-system", "agent", "shop/admin:1.0"}} {
			w := &workload.Workload{Kind: "Deployment", Namespace: o.ns, Name: o.name,
				Containers: []workload.Container{{Name: "main", Type: workload.TypeContainer, Image: demo.Host + "/" + o.image}}}
			objs = append(objs, inventory.Object{Workload: w, APIVersion: "apps/v1", UID: "uid-" + o.name, Pods: 2})
		}
		if opts.Listed != nil {
			opts.Listed(len(objs))
		}
		return objs, nil
	}
}

// kubeconfigNowhere is a kubeconfig whose server is never contacted: the
// listing is the fake's, and --pull-secrets=false reads no secret.
func kubeconfigNowhere(t *testing.T) string {
	t.Helper()
	return writeFile(t, t.TempDir(), "kubeconfig", `apiVersion: v1
kind: Config
current-context: a
clusters: [{name: a, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: not-a-secret}}]
contexts: [{name: a, context: {cluster: a, user: u, namespace: team}}]
`)
}

// runAuditOn runs strata audit with the fake cluster's listing.
func runAuditOn(ctx context.Context, t *testing.T, f *fakeCluster, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := newRootCommand(strings.NewReader(""), &out, &errOut)
	for _, c := range root.Commands() {
		if c.Name() == "audit" {
			root.RemoveCommand(c)
		}
	}
	root.AddCommand(newAuditCommand(&out, &errOut, f.list(t)))
	args = append([]string{"audit", "--demo", "--pull-secrets=false", "--kubeconfig", kubeconfigNowhere(t)}, args...)
	code = execute(ctx, root, args, &errOut)
	return code, out.String(), errOut.String()
}

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

// slowRegistry is go-containerregistry's registry answering every manifest
// request after delay, once slow is set: a registry a real one cannot be
// made to imitate on demand. arrived, when set, is called as each slowed
// request arrives.
func slowRegistry(t *testing.T, delay time.Duration, arrived func()) (host string, slow *atomic.Bool) {
	t.Helper()
	slow = new(atomic.Bool)
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if slow.Load() && strings.Contains(r.URL.Path, "/manifests/") {
			if arrived != nil {
				arrived()
			}
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), slow
}

// An audit is not on the admission path: a registry slower than the
// webhook's 3 s budget (and the 5 s a workload's evaluation gets by
// default) still has the audit's 10 s before its image counts as
// unresolved.
func TestAuditGivesASlowRegistryTheAuditBudget(t *testing.T) {
	t.Parallel()
	host, slow := slowRegistry(t, 6*time.Second, nil)
	f, config := slowWorkload(t, host, slow)
	code, out, errOut := runAuditOn(t.Context(), t, f, "-A", "--config", config, "-o", "json")
	var p audit.Preview
	if code != 0 || json.Unmarshal([]byte(out), &p) != nil || len(p.Workloads) != 1 {
		t.Fatalf("strata audit = exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	for _, v := range p.Workloads[0].Violations {
		if v.Policy == "image-resolution" {
			t.Errorf("an image whose registry answers in 6 s: %s; want it resolved within the audit's budget", v.Msg)
		}
	}

	// --timeout is the budget: shorter, the same registry is too slow, and
	// the image is a violation (denied in enforce), never skipped.
	code, out, errOut = runAuditOn(t.Context(), t, f, "-A", "--config", config, "-o", "json", "--timeout", "1s")
	p = audit.Preview{}
	if code != 0 || json.Unmarshal([]byte(out), &p) != nil || len(p.Workloads) != 1 {
		t.Fatalf("strata audit --timeout 1s = exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if w := p.Workloads[0]; w.Outcome != audit.OutcomeDeny || w.First == nil || w.First.Policy != "image-resolution" || !strings.Contains(w.First.Msg, "within the resolution budget") {
		t.Errorf("strata audit --timeout 1s: %+v; want the slow image denied as unresolved within the budget", w)
	}
}

// slowWorkload pushes an image to the slow registry at host, then slows it,
// and returns a cluster running it and a config that reaches it.
func slowWorkload(t *testing.T, host string, slow *atomic.Bool) (*fakeCluster, string) {
	t.Helper()
	ref := host + "/team/slow:1.0"
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := crane.Push(img, ref, crane.Insecure); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	slow.Store(true)
	config := writeFile(t, t.TempDir(), "strata.yaml", "registry:\n  insecure: ["+host+"]\n")
	f := &fakeCluster{objects: []inventory.Object{{APIVersion: "apps/v1", UID: "uid-slow", Workload: &workload.Workload{
		Kind: "Deployment", Namespace: "team", Name: "slow",
		Containers: []workload.Container{{Name: "main", Type: workload.TypeContainer, Image: ref}},
	}}}}
	return f, config
}

// Ctrl-C while a registry is being read: the image the interruption left
// unresolved is not reported as a finding, and nothing is printed.
func TestAuditInterruptedWhileResolvingReportsNothing(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	host, slow := slowRegistry(t, time.Minute, cancel)
	f, config := slowWorkload(t, host, slow)
	code, out, errOut := runAuditOn(ctx, t, f, "-A", "--config", config, "--write-reports", "--exit-code")
	if code != 2 || out != "" || !strings.Contains(errOut, "interrupted before the audit finished: nothing is reported") || strings.Contains(errOut, "image-resolution") {
		t.Errorf("strata audit interrupted while resolving = exit %d, stdout %q, stderr %q; want exit 2, nothing on stdout, the interruption said", code, out, errOut)
	}
}
