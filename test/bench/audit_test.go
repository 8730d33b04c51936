//go:build loadtest

package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
	"golang.org/x/sync/errgroup"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/strata-project/strata/test/cluster"
	"github.com/strata-project/strata/webhook"
)

// auditSettings are the knobs of `make bench-audit`: the cluster
// by default, smaller for a quick look.
type auditSettings struct {
	namespaces int // 10 workloads of 5 pods each
	images     int // distinct application images, each its own
	catalog    int // catalog images: one OS base and runtimes on it
}

func readAuditSettings(t *testing.T) auditSettings {
	t.Helper()
	s := auditSettings{namespaces: defaultAuditNamespaces, images: defaultAuditImages, catalog: defaultAuditCatalog}
	positiveFromEnv(t, "BENCH_AUDIT_NAMESPACES", &s.namespaces)
	positiveFromEnv(t, "BENCH_AUDIT_IMAGES", &s.images)
	positiveFromEnv(t, "BENCH_AUDIT_CATALOG", &s.catalog)
	if s.catalog < 2 {
		t.Fatalf("BENCH_AUDIT_CATALOG=%d: want the catalog at least 2", s.catalog)
	}
	return s
}

// registryRequests counts the requests the benchmark's registry serves,
// by what they read: the application images strata resolves while it
// audits, the catalog's, and the /v2/ pings.
type registryRequests struct {
	mu     sync.Mutex
	next   http.Handler
	counts requestCounts
}

type requestCounts struct {
	apps, catalog, pings, other int
	// byKind counts the application requests by method and what they
	// read (manifests or blobs), to see where they go.
	byKind map[string]int
}

func (r *registryRequests) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	p := req.URL.Path
	switch {
	case p == "/v2/" || p == "/v2":
		r.counts.pings++
	case strings.HasPrefix(p, "/v2/apps/"):
		r.counts.apps++
		what := "other"
		if strings.Contains(p, "/manifests/") {
			what = "manifest"
		} else if strings.Contains(p, "/blobs/") {
			what = "blob"
		}
		r.counts.byKind[req.Method+" "+what]++
	case strings.HasPrefix(p, "/v2/base/"):
		r.counts.catalog++
	default:
		r.counts.other++
	}
	r.mu.Unlock()
	r.next.ServeHTTP(w, req)
}

// take returns the counts since the last take.
func (r *registryRequests) take() requestCounts {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.counts
	r.counts = requestCounts{byKind: map[string]int{}}
	return c
}

// auditStep is one line auditrun prints (test/bench/auditrun).
type auditStep struct {
	Step        string  `json:"step"`
	Seconds     float64 `json:"seconds"`
	Error       string  `json:"error"`
	Listed      int     `json:"listed"`
	Workloads   int     `json:"workloads"`
	Pods        int     `json:"pods"`
	Images      int     `json:"images"`
	Bases       int     `json:"bases"`
	Denied      int     `json:"denied"`
	Failed      int     `json:"failedContainers"`
	RSSBytes    int64   `json:"rssBytes"`
	PeakRSS     int64   `json:"peakRSSBytes"`
	PeakHeap    int64   `json:"peakHeapBytes"`
	ReportsMade int     `json:"reports"`

	requests requestCounts // what the registry served during the step
}

// TestAudit is `make bench-audit`: a real kube-apiserver and etcd holding
// the cluster (by default 10,000 pods under 2,000 workloads in 200
// namespaces, created as their controllers would have, over 1,000 distinct
// images in an in-process registry, with a 200-image catalog), then what
// strata audit does, timed step by step in its own process: the catalog
// loaded, the cluster listed, the inventory built on a cold cache (registry
// and evaluation) and again on the warm one (evaluation only), the reports
// written. The table at the end goes into RESULTS.md.
func TestAudit(t *testing.T) {
	cfg := readAuditSettings(t)
	ctx := t.Context()
	dir := t.TempDir()
	repo, toolsBin := toolsOf(t, "kube-apiserver", "etcd", "kubectl")
	auditrun := build(t, dir, "./test/bench/auditrun")
	t.Logf("machine: %d CPUs; load average before: %s", runtime.NumCPU(), loadavg())

	reqs := &registryRequests{next: registry.New(registry.Logger(log.New(io.Discard, "", 0))), counts: requestCounts{byKind: map[string]int{}}}
	reg := httptest.NewServer(reqs)
	t.Cleanup(reg.Close)
	host := strings.TrimPrefix(reg.URL, "http://")
	start := time.Now()
	fx, err := pushFixtures(ctx, host, cfg.catalog-1, cfg.images)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("pushed %d images and a %d-image catalog in %s", cfg.images, len(fx.catalog), time.Since(start).Round(time.Millisecond))

	api := startAPIServer(t, toolsBin, dir)
	// The report CRDs, as the e2e suite installs them: --write-reports
	// needs the API it writes to.
	crds := filepath.Join(repo, "webhook", "audit", "testdata", "crds")
	for _, args := range [][]string{{"apply", "--server-side", "-f", crds}, {"wait", "--for=condition=Established", "--timeout=60s", "-f", crds}} {
		cmd := exec.CommandContext(ctx, filepath.Join(toolsBin, "kubectl"), append([]string{"--kubeconfig", api.Kubeconfig}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("kubectl %v: %v\n%s", args, err, out)
		}
	}
	start = time.Now()
	objects, err := createAuditCluster(ctx, api.Config, cfg, fx.apps)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("created %d objects (%d workloads, %d pods) in %d namespaces in %s", objects,
		cfg.namespaces*len(auditKinds), cfg.namespaces*len(auditKinds)*podsPerWorkload, cfg.namespaces, time.Since(start).Round(time.Millisecond))

	configFile := filepath.Join(dir, "strata.json")
	if err := writeAuditConfig(configFile, fx); err != nil {
		t.Fatal(err)
	}
	reqs.take() // the pushes
	steps := runAudit(t, auditrun, api.Kubeconfig, configFile, reqs)
	t.Logf("load average after: %s", loadavg())
	checkAudit(t, cfg, steps, objects)
	t.Log("\n" + auditTable(cfg, steps))
}

// createAuditCluster creates the namespaces and their workloads, many at
// once, and returns how many objects it created.
func createAuditCluster(ctx context.Context, admin *rest.Config, cfg auditSettings, apps []string) (int, error) {
	rc := rest.CopyConfig(admin)
	rc.QPS, rc.Burst = 2000, 4000
	c, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return 0, err
	}
	var (
		mu      sync.Mutex
		objects int
	)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(auditCreators)
	for n := range cfg.namespaces {
		ns := fmt.Sprintf("bench-audit-%03d", n)
		if err := cluster.CreateNamespace(ctx, c, ns); err != nil {
			return 0, err
		}
		for i, kind := range auditKinds {
			idx := n*len(auditKinds) + i
			g.Go(func() error {
				made, err := cluster.CreateWorkload(gctx, c, cluster.Workload{
					Kind: kind, Namespace: ns, Name: fmt.Sprintf("%s-%d", strings.ToLower(kind), i),
					Images: []string{apps[idx%len(apps)]}, Pods: podsPerWorkload,
				})
				mu.Lock()
				objects += made.Objects
				mu.Unlock()
				return err
			})
		}
	}
	return objects, g.Wait()
}

// writeAuditConfig writes strata's configuration for the fixtures: the
// registry over plain HTTP, the catalog, the OS base approved.
func writeAuditConfig(path string, fx *fixtures) error {
	scfg := webhook.DefaultConfig()
	scfg.Mode = "enforce"
	scfg.Registry.Insecure = []string{fx.host}
	for _, img := range fx.catalog {
		scfg.Catalog.Images = append(scfg.Catalog.Images, webhook.CatalogImage{Ref: img.ref, Role: img.role})
	}
	scfg.Policies.Data = map[string]any{"approvedBases": []any{fx.host + "/base/os:*"}}
	raw, err := json.Marshal(scfg)
	if err != nil {
		return err
	}
	return os.WriteFile(path, raw, 0o600)
}

// runAudit runs auditrun and reads its steps as they end, each with the
// registry requests served while it ran.
func runAudit(t *testing.T, bin, kubeconfig, configFile string, reqs *registryRequests) []auditStep {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), bin, "-kubeconfig", kubeconfig, "-config", configFile)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var steps []auditStep
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		var s auditStep
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			t.Errorf("auditrun printed %q: %v", sc.Text(), err)
			continue
		}
		s.requests = reqs.take()
		steps = append(steps, s)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("auditrun: %v\n%s", err, stderr.String())
	}
	return steps
}

func stepNamed(steps []auditStep, name string) auditStep {
	for _, s := range steps {
		if s.Step == name {
			return s
		}
	}
	return auditStep{Step: name, Error: "auditrun did not report it"}
}

// checkAudit fails unless the audit saw the cluster that was created: each
// workload once with its pods, every image resolved.
func checkAudit(t *testing.T, cfg auditSettings, steps []auditStep, objects int) {
	t.Helper()
	workloads := cfg.namespaces * len(auditKinds)
	list := stepNamed(steps, "list")
	if list.Error != "" || list.Workloads != workloads || list.Pods != workloads*podsPerWorkload || list.Listed != objects {
		t.Errorf("list = %d workloads, %d pods, %d objects listed (%s); want %d, %d, %d", list.Workloads, list.Pods, list.Listed, list.Error, workloads, workloads*podsPerWorkload, objects)
	}
	images := min(cfg.images, workloads)
	for _, name := range []string{"build-cold", "build-warm"} {
		b := stepNamed(steps, name)
		if b.Error != "" || b.Workloads != workloads || b.Images != images || b.Failed != 0 {
			t.Errorf("%s = %d workloads, %d images, %d containers unresolved (%s); want %d, %d, 0", name, b.Workloads, b.Images, b.Failed, b.Error, workloads, images)
		}
	}
}

// auditTable is the benchmark's result, as RESULTS.md quotes it.
func auditTable(cfg auditSettings, steps []auditStep) string {
	var b strings.Builder
	workloads := cfg.namespaces * len(auditKinds)
	fmt.Fprintf(&b, "cluster: %d pods under %d workloads in %d namespaces; %d distinct images; a %d-image catalog\n\n",
		workloads*podsPerWorkload, workloads, cfg.namespaces, min(cfg.images, workloads), cfg.catalog)
	fmt.Fprintf(&b, "| step | time | registry requests (apps / catalog / pings) | what it found |\n|---|---:|---:|---|\n")
	var total float64
	for _, s := range steps {
		if s.Step == "memory" {
			continue
		}
		found := ""
		switch s.Step {
		case "list":
			found = fmt.Sprintf("%d objects listed; %d workloads, %d pods", s.Listed, s.Workloads, s.Pods)
		case "build-cold", "build-warm":
			found = fmt.Sprintf("%d workloads (%d denied), %d images, %d bases, %d containers unresolved", s.Workloads, s.Denied, s.Images, s.Bases, s.Failed)
		case "write-reports":
			found = fmt.Sprintf("%d reports", s.ReportsMade)
		}
		t := fmt.Sprintf("%.2fs", s.Seconds)
		if s.Error != "" {
			t, found = "not measured", s.Error
		}
		if s.Step != "build-warm" {
			total += s.Seconds
		}
		fmt.Fprintf(&b, "| %s | %s | %d / %d / %d | %s |\n", s.Step, t, s.requests.apps, s.requests.catalog, s.requests.pings, found)
	}
	cold := stepNamed(steps, "build-cold")
	perImage := 0.0
	if cold.Images > 0 {
		perImage = float64(cold.requests.apps) / float64(cold.Images)
	}
	mem := stepNamed(steps, "memory")
	fmt.Fprintf(&b, "\ntotal (catalog + list + cold build + reports): %.2fs (target ≤ 60 s)\n", total)
	fmt.Fprintf(&b, "registry requests per distinct image, cold: %.2f (target ≤ 2); by kind: %v\n", perImage, cold.requests.byKind)
	warm := stepNamed(steps, "build-warm")
	fmt.Fprintf(&b, "cold build %.2fs = resolving, about %.2fs (cold − warm) + evaluating, about %.2fs (the warm build: images, lineage and policy results from the caches)\n",
		cold.Seconds, cold.Seconds-warm.Seconds, warm.Seconds)
	fmt.Fprintf(&b, "auditrun memory: RSS peak %s (target ≤ 256 MiB), RSS at the end %s, Go heap peak %s\n", mib(mem.PeakRSS), mib(mem.RSSBytes), mib(mem.PeakHeap))
	return b.String()
}
