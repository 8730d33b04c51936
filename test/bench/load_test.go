//go:build loadtest

package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/strata-project/strata/test/bench/load"
)

// settings are the harness's knobs, read from the environment so that
// `make bench-load` runs the short version and a person can run the long one.
type settings struct {
	duration    time.Duration // each warm and floor run
	coldImages  int           // distinct application images
	catalog     int           // runtime bases, the catalog besides the OS
	coldN       int           // admissions of the cold scenario, over coldImages
	concurrency []int
}

func readSettings(t *testing.T) settings {
	t.Helper()
	s := settings{duration: defaultDuration, coldImages: defaultColdImages, catalog: defaultCatalog, coldN: defaultColdN, concurrency: defaultConcurrency}
	if v := os.Getenv("BENCH_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("BENCH_DURATION: %v", err)
		}
		s.duration = d
	}
	positiveFromEnv(t, "BENCH_COLD_IMAGES", &s.coldImages)
	positiveFromEnv(t, "BENCH_CATALOG", &s.catalog)
	positiveFromEnv(t, "BENCH_COLD_N", &s.coldN)
	if s.coldN < s.coldImages {
		s.coldN = s.coldImages
	}
	return s
}

// positiveFromEnv sets *to from the environment variable env when it is
// set, which must then be a positive whole number.
func positiveFromEnv(t *testing.T, env string, to *int) {
	t.Helper()
	v := os.Getenv(env)
	if v == "" {
		return
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive number", env, v)
	}
	*to = n
}

// TestLoad is `make bench-load`: strata's warm and cold paths and the no-op
// floor, each server a subprocess on loopback, the load generator in this
// process. It prints the table of RESULTS.md at the end.
func TestLoad(t *testing.T) {
	cfg := readSettings(t)
	ctx := t.Context()
	bin := t.TempDir()
	strata := build(t, bin, "./cmd/strata")
	noop := build(t, bin, "./test/bench/noop")
	warmBody := readFixture(t, "warm-pod.json")
	coldBody := readFixture(t, "cold-pod.json")
	t.Logf("machine: %d CPUs; load average before: %s", runtime.NumCPU(), loadavg())

	var rows []row
	floor := map[int]float64{}

	// A short run at concurrency 1 first: the service time, without queueing.
	probe := max(cfg.duration/probeShare, time.Second)

	t.Run("floor", func(t *testing.T) {
		s := startServer(t, "noop", noop)
		warmUp(ctx, t, s.url("warn"), warmBody)
		for _, c := range append([]int{1}, cfg.concurrency...) {
			d := cfg.duration
			if c == 1 {
				d = probe
			}
			r := measure(ctx, t, s, "no-op floor (webhook.Endpoint, read + allow)", load.Options{
				URL: s.url("warn"), Concurrency: c, Duration: d, Body: warmBody, UniqueNames: true, Insecure: true,
			})
			floor[c] = r.PerSecond
			rows = append(rows, r)
		}
	})

	t.Run("warm", func(t *testing.T) {
		s := startServer(t, "strata", strata, "serve", "--dev", "--demo")
		warmUp(ctx, t, s.url("warn"), warmBody)
		for _, v := range []struct {
			scenario string
			unique   bool
		}{
			{"warm, 3 containers, each pod its own name", true},
			{"warm, 3 containers, one pod replayed", false},
		} {
			for _, c := range append([]int{1}, cfg.concurrency...) {
				d := cfg.duration
				if c == 1 {
					d = probe
				}
				r := measure(ctx, t, s, v.scenario, load.Options{
					URL: s.url("warn"), Concurrency: c, Duration: d, Body: warmBody, UniqueNames: v.unique, Insecure: true,
				})
				r.Floor = floor[c]
				rows = append(rows, r)
			}
		}
	})

	t.Run("cold", func(t *testing.T) {
		host := startRegistry(t)
		start := time.Now()
		fx, err := pushFixtures(ctx, host, cfg.catalog, cfg.coldImages)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("pushed %d application images on %d catalog images to %s in %v", len(fx.apps), len(fx.catalog), host, time.Since(start).Round(time.Millisecond))
		config := writeConfig(t, fx)
		start = time.Now()
		s := startServer(t, "strata", strata, "serve", "--dev", "--config", config)
		t.Logf("strata ready with a %d-image catalog in %v", len(fx.catalog), time.Since(start).Round(time.Millisecond))

		// The first images one at a time, for the latency of a cold image
		// without queueing, the rest at concurrency 8; each image is new.
		first := min(firstColdImages, len(fx.apps)/10)
		cold := func(c int, imgs []string) row {
			return measure(ctx, t, s, fmt.Sprintf("cold: each admission a new image (%d images)", len(imgs)), load.Options{
				URL: s.url("warn"), Concurrency: c, Requests: len(imgs), Body: coldBody, Images: imgs, UniqueNames: true, Insecure: true,
			})
		}
		if first > 0 {
			rows = append(rows, cold(1, fx.apps[:first]))
		}
		rows = append(rows, cold(8, fx.apps[first:]))
		if rest := cfg.coldN - len(fx.apps); rest > 0 {
			r := measure(ctx, t, s, fmt.Sprintf("cold, then %d more over the same %d images (RSS after %d)", rest, len(fx.apps), cfg.coldN), load.Options{
				URL: s.url("warn"), Concurrency: 8, Requests: rest, Body: coldBody, Images: fx.apps, UniqueNames: true, Insecure: true,
			})
			rows = append(rows, r)
		}
		if first > 0 {
			rows = append(rows, rawRoundTrips(ctx, t, fx, 1, first))
		}
		rows = append(rows, rawRoundTrips(ctx, t, fx, 8, len(fx.apps)))
	})

	t.Logf("load average after: %s", loadavg())
	t.Logf("results:\n\n%s", table(rows))
	if out := os.Getenv("BENCH_OUT"); out != "" {
		b, _ := json.MarshalIndent(rows, "", "  ")
		if err := os.WriteFile(out, b, 0o644); err != nil {
			t.Error(err)
		}
	}
}

// warmUp sends a few hundred requests first: the first resolves the images,
// the rest open connections and grow the heaps.
func warmUp(ctx context.Context, t *testing.T, url string, body []byte) {
	t.Helper()
	res, err := load.Run(ctx, load.Options{URL: url, Concurrency: warmUpConcurrency, Requests: warmUpRequests, Duration: 10 * time.Second, Body: body, UniqueNames: true, Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Errors.Total() > 0 {
		t.Fatalf("warming up: %d errors: %v", res.Errors.Total(), res.Errors.Samples)
	}
}

// writeConfig writes the strata.yaml of the cold case: the bench registry
// over plain HTTP, its OS and runtimes as the catalog, the OS approved.
func writeConfig(t *testing.T, fx *fixtures) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "mode: warn\nregistry:\n  insecure: [%q]\npolicies:\n  data:\n    approvedBases: [%q]\ncatalog:\n  images:\n", fx.host, fx.host+"/base/os:*")
	for _, img := range fx.catalog {
		fmt.Fprintf(&b, "    - {ref: %q, role: %s}\n", img.ref, img.role)
	}
	path := filepath.Join(t.TempDir(), "strata.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// rawRoundTrips reads the first n applications' manifests (by tag) and
// config blobs straight from the registry: the registry work a cold image
// cannot do without, to set strata's cold latency beside.
func rawRoundTrips(ctx context.Context, t *testing.T, fx *fixtures, concurrency, n int) row {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: concurrency}, Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	get := func(url, accept string) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Accept", accept)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		return nil
	}
	self := procCPU(t, "/proc/self/stat")
	lat := make([][]time.Duration, concurrency)
	var next atomic.Int64
	var failed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := range concurrency {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				repo, tag, _ := strings.Cut(strings.TrimPrefix(fx.apps[i], fx.host+"/"), ":")
				t0 := time.Now()
				err := get("http://"+fx.host+"/v2/"+repo+"/manifests/"+tag, "application/vnd.oci.image.manifest.v1+json")
				if err == nil {
					err = get("http://"+fx.host+"/v2/"+repo+"/blobs/"+fx.configs[i].String(), "*/*")
				}
				if err != nil {
					failed.Add(1)
					continue
				}
				lat[w] = append(lat[w], time.Since(t0))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	if n := failed.Load(); n > 0 {
		t.Errorf("raw round trips: %d failed", n)
	}
	r := row{Scenario: fmt.Sprintf("raw registry reads per cold image (GET manifest + GET config, %d images), no webhook", n), Concurrency: concurrency}
	r.Requests, r.Admissions = len(all), len(all)
	r.Seconds = elapsed.Seconds()
	r.PerSecond = float64(len(all)) / elapsed.Seconds()
	r.Latency = load.Summarize(all)
	if len(all) > 0 {
		r.HarnessCPU = (procCPU(t, "/proc/self/stat") - self) / time.Duration(len(all))
	}
	t.Logf("raw round trips: %d images in %.2fs, %.0f/s, p50 %s p99 %s", len(all), r.Seconds, r.PerSecond, load.Ms(r.Latency.P50), load.Ms(r.Latency.P99))
	return r
}

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
