package main

import (
	"context"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/crane"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/strata-project/strata/internal/testutil"
	"github.com/strata-project/strata/webhook/audit"
	"github.com/strata-project/strata/webhook/inventory"
	"github.com/strata-project/strata/webhook/workload"
)

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
	config := testutil.WriteFile(t, t.TempDir(), "strata.yaml", "registry:\n  insecure: ["+host+"]\n")
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
