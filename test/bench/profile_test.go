//go:build loadtest

package bench

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/strata-project/strata/test/cluster"
	"github.com/strata-project/strata/webhook"
	"github.com/strata-project/strata/webhook/devcert"
)

// TestProfile serves strata in this process, built as `strata serve` builds
// it (webhook.NewPipeline from the default configuration), drives it with the loadgen binary from another process, and
// writes CPU and heap profiles into $BENCH_PROFILE:
//
//   - warm: the demo and the warm pod, each pod its own name, then one pod
//     replayed (concurrency 8, $BENCH_DURATION each): cpu-unique.pprof,
//     heap-unique.pprof, cpu-replay.pprof, heap-replay.pprof;
//
//   - cold: the cold fixtures ($BENCH_COLD_IMAGES, $BENCH_CATALOG), the
//     cold pod, $BENCH_COLD_N admissions: cpu-cold.pprof, heap-cold.pprof.
//     The fixture registry runs in this process too: focus on strata's
//     packages when reading them.
//
//     BENCH_PROFILE=/tmp/prof go test -tags loadtest -run TestProfile -v ./test/bench
//     go tool pprof -top -cum /tmp/prof/cpu-unique.pprof
//
// strata serve exposes no pprof endpoint; this is the way to see inside it.
func TestProfile(t *testing.T) {
	dir := os.Getenv("BENCH_PROFILE")
	if dir == "" {
		t.Skip("set BENCH_PROFILE to a directory to profile strata under load")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := readSettings(t)
	runtime.MemProfileRate = 16 << 10 // finer than the default 512 KiB, for small caches
	loadgen := build(t, t.TempDir(), "./test/bench/loadgen")
	ctrllog.SetLogger(logr.Discard())

	t.Run("warm", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		url := serveInProcess(ctx, t, webhook.DefaultConfig(), true)
		body := filepath.Join("testdata", "warm-pod.json")
		runLoadgen(t, loadgen, "-url", url, "-insecure", "-body", body, "-unique-names", "-n", "500")
		for _, v := range []struct{ name, unique string }{{"unique", "-unique-names=true"}, {"replay", "-unique-names=false"}} {
			profile(t, dir, v.name, func() {
				runLoadgen(t, loadgen, "-url", url, "-insecure", "-body", body, v.unique, "-concurrency", "8", "-duration", cfg.duration.String())
			})
		}
	})

	t.Run("cold", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		fx, err := pushFixtures(ctx, startRegistry(t), cfg.catalog, cfg.coldImages)
		if err != nil {
			t.Fatal(err)
		}
		scfg := webhook.DefaultConfig()
		scfg.Registry.Insecure = []string{fx.host}
		for _, img := range fx.catalog {
			scfg.Catalog.Images = append(scfg.Catalog.Images, webhook.CatalogImage{Ref: img.ref, Role: img.role})
		}
		scfg.Policies.Data = map[string]any{"approvedBases": []any{fx.host + "/base/os:*"}}
		url := serveInProcess(ctx, t, scfg, false)
		list := filepath.Join(t.TempDir(), "images.txt")
		if err := os.WriteFile(list, []byte(strings.Join(fx.apps, "\n")), 0o600); err != nil {
			t.Fatal(err)
		}
		profile(t, dir, "cold", func() {
			runLoadgen(t, loadgen, "-url", url, "-insecure", "-body", filepath.Join("testdata", "cold-pod.json"),
				"-images", list, "-unique-names", "-concurrency", "8", "-n", strconv.Itoa(cfg.coldN))
		})
	})
}

// serveInProcess builds the pipeline from cfg (and the demo) as strata
// serve does, loads the catalog, serves it until ctx ends, and returns the
// warn path's URL.
func serveInProcess(ctx context.Context, t *testing.T, cfg webhook.Config, withDemo bool) string {
	t.Helper()
	// The decision log is encoded, as strata serve's is, and dropped.
	logger := slog.New(slog.NewJSONHandler(io.Discard, nil))
	p, err := webhook.NewPipeline(ctx, cfg, webhook.PipelineOptions{Demo: withDemo, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	if err := p.LoadCatalog(ctx); err != nil {
		t.Fatal(err)
	}
	gatherer := prometheus.NewRegistry()
	metrics, err := webhook.NewMetrics(gatherer)
	if err != nil {
		t.Fatal(err)
	}
	handlers := p.Handlers(metrics, logger)
	certDir := t.TempDir()
	if err := devcert.Write(certDir, time.Now()); err != nil {
		t.Fatal(err)
	}
	addr, health := cluster.MustFreeAddr(t), cluster.MustFreeAddr(t)
	served := make(chan error, 1)
	go func() {
		served <- webhook.Serve(ctx, webhook.ServerOptions{
			Addr: addr, HealthAddr: health, CertDir: certDir, Handlers: handlers, Gatherer: gatherer, Logger: logger,
		})
	}()
	t.Cleanup(func() {
		if err := <-served; err != nil && !errors.Is(err, context.Canceled) {
			t.Error(err)
		}
	})
	waitReady(t, "http://"+health+"/readyz")
	return "https://" + addr + "/validate/warn?timeout=10s"
}

// profile records the CPU profile of run as cpu-NAME.pprof, then the live
// heap as heap-NAME.pprof.
func profile(t *testing.T, dir, name string, run func()) {
	t.Helper()
	f, err := os.Create(filepath.Join(dir, "cpu-"+name+".pprof"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := pprof.StartCPUProfile(f); err != nil {
		t.Fatal(err)
	}
	run()
	pprof.StopCPUProfile()

	// The heap profile is as of the last completed collection but one.
	runtime.GC()
	runtime.GC()
	h, err := os.Create(filepath.Join(dir, "heap-"+name+".pprof"))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if err := pprof.Lookup("heap").WriteTo(h, 0); err != nil {
		t.Fatal(err)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	t.Logf("%s: live heap %.1f MiB, in spans %.1f MiB, held from the OS %.1f MiB; profiles in %s", name,
		float64(ms.HeapAlloc)/(1<<20), float64(ms.HeapInuse)/(1<<20), float64(ms.HeapSys-ms.HeapReleased)/(1<<20), dir)
}

func runLoadgen(t *testing.T, bin string, args ...string) {
	t.Helper()
	out, err := exec.Command(bin, args...).CombinedOutput()
	t.Logf("loadgen %s:\n%s", strings.Join(args[len(args)-4:], " "), out)
	if err != nil {
		t.Fatalf("loadgen: %v", err)
	}
}

func waitReady(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Minute)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never answered 200: %v", url, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
