// Command auditrun is the strata side of `make bench-audit`: what `strata
// audit -A --write-reports` does, step by step, each step timed, in a
// process of its own so that its resident memory is strata's alone (the
// benchmark's registry and fixtures live in the test process).
//
// It prints one JSON line per step on stdout ({"step": ..., "seconds": ...});
// the benchmark reads each line as the step ends, to split the registry
// requests it counted by step.
//
//	auditrun -kubeconfig FILE -config FILE [-mode enforce] [-qps 100]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/metrics"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/strata-project/strata/test/bench/internal/procstat"
	"github.com/strata-project/strata/webhook"
	"github.com/strata-project/strata/webhook/audit"
	"github.com/strata-project/strata/webhook/inventory"
	"github.com/strata-project/strata/webhook/policy"
)

// Step is one line of output.
type Step struct {
	Step    string  `json:"step"`
	Seconds float64 `json:"seconds"`
	// Error is set when the step could not run; the benchmark reports it
	// rather than a time.
	Error string `json:"error,omitempty"`

	Listed      int   `json:"listed,omitempty"`
	Workloads   int   `json:"workloads,omitempty"`
	Pods        int   `json:"pods,omitempty"`
	Images      int   `json:"images,omitempty"`
	Bases       int   `json:"bases,omitempty"`
	Denied      int   `json:"denied,omitempty"`
	Failed      int   `json:"failedContainers,omitempty"` // containers whose image did not resolve
	RSSBytes    int64 `json:"rssBytes,omitempty"`
	PeakRSS     int64 `json:"peakRSSBytes,omitempty"`
	PeakHeap    int64 `json:"peakHeapBytes,omitempty"`
	ReportsMade int   `json:"reports,omitempty"`
}

func main() {
	kubeconfig := flag.String("kubeconfig", "", "the cluster's kubeconfig")
	configFile := flag.String("config", "", "strata's configuration (strata.yaml)")
	mode := flag.String("mode", string(policy.Enforce), "the mode violations are decided in")
	qps := flag.Float64("qps", 100, "client-side rate limit of the list calls")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *kubeconfig, *configFile, policy.Action(*mode), float32(*qps)); err != nil {
		fmt.Fprintln(os.Stderr, "auditrun:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, kubeconfig, configFile string, mode policy.Action, qps float32) error {
	peak := sampleHeap(ctx)
	raw, err := os.ReadFile(configFile)
	if err != nil {
		return err
	}
	cfg, err := webhook.ParseConfig(raw)
	if err != nil {
		return err
	}
	rc, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return err
	}
	rc.QPS, rc.Burst = qps, int(2*qps)
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return err
	}
	out := json.NewEncoder(os.Stdout)

	start := time.Now()
	p, err := webhook.NewPipeline(ctx, cfg, webhook.PipelineOptions{Keychain: authn.NewMultiKeychain()})
	if err != nil {
		return err
	}
	defer p.Close()
	if err := p.LoadCatalog(ctx); err != nil {
		return fmt.Errorf("loading the catalog: %w", err)
	}
	if err := out.Encode(Step{Step: "catalog", Seconds: since(start)}); err != nil {
		return err
	}

	start = time.Now()
	var listed int
	objs, err := inventory.ListCluster(ctx, client, inventory.ListOptions{Listed: func(n int) { listed = n }})
	if err != nil {
		return err
	}
	pods := 0
	for _, o := range objs {
		pods += o.Pods
	}
	if err := out.Encode(Step{Step: "list", Seconds: since(start), Listed: listed, Workloads: len(objs), Pods: pods}); err != nil {
		return err
	}

	var inv *inventory.Inventory
	for _, step := range []string{"build-cold", "build-warm"} {
		start = time.Now()
		if inv, err = inventory.Build(ctx, objs, inventory.Options{Checker: p.Checker, Mode: mode}); err != nil {
			return err
		}
		s := Step{Step: step, Seconds: since(start), Workloads: len(inv.Workloads), Images: len(inv.Images), Bases: len(inv.Bases)}
		for _, w := range inv.Workloads {
			if !w.Allowed {
				s.Denied++
			}
			for _, c := range w.Containers {
				if c.Error != "" {
					s.Failed++
				}
			}
		}
		if err := out.Encode(s); err != nil {
			return err
		}
	}

	start = time.Now()
	n, err := writeReports(ctx, rc, p, inv)
	s := Step{Step: "write-reports", Seconds: since(start), ReportsMade: n}
	if err != nil {
		s.Error, s.Seconds = err.Error(), 0
	}
	if err := out.Encode(s); err != nil {
		return err
	}

	// Where /proc cannot be read the step reports 0 bytes rather than fail the run.
	rss, hwm, _ := procstat.Memory(os.Getpid())
	return out.Encode(Step{Step: "memory", RSSBytes: rss, PeakRSS: hwm, PeakHeap: peak.Load()})
}

// writeReports is the step `--write-reports` adds: the audit Writer, with
// the options strata audit gives it.
func writeReports(ctx context.Context, rc *rest.Config, p *webhook.Pipeline, inv *inventory.Inventory) (int, error) {
	w, err := audit.NewWriterForConfig(rc, audit.WriterOptions{API: audit.ReportAPIWGPolicy, Policies: p.Engine.Policies()})
	if err != nil {
		return 0, err
	}
	sum, err := w.Write(ctx, inv, audit.Scope{})
	return sum.Created + sum.Updated + sum.Unchanged, err
}

func since(t time.Time) float64 { return time.Since(t).Seconds() }

// sampleHeap records the largest heap (live and not yet collected objects)
// seen every 20 ms until ctx ends: the Go runtime keeps no peak itself.
func sampleHeap(ctx context.Context) *atomic.Int64 {
	var peak atomic.Int64
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	go func() {
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			if v := int64(sample[0].Value.Uint64()); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return &peak
}
