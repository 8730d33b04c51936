//go:build loadtest

package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/strata-project/strata/test/bench/internal/procstat"
	"github.com/strata-project/strata/test/bench/load"
	"github.com/strata-project/strata/test/cluster"
)

// The module root, from test/bench.
const root = "../.."

// build compiles a main package of the module into dir.
func build(t *testing.T, dir, pkg string) string {
	t.Helper()
	goBin := os.Getenv("GO")
	if goBin == "" {
		goBin = "go"
	}
	out := filepath.Join(dir, filepath.Base(pkg))
	cmd := exec.Command(goBin, "build", "-o", out, pkg)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	return out
}

// server is a webhook server running as a subprocess: strata or the floor.
type server struct {
	name   string
	cmd    *exec.Cmd
	addr   string // TLS webhook listener
	health string // plain HTTP: /readyz
	logs   string // stdout and stderr
}

// startServer runs bin with args plus --addr and --health-addr, and waits
// until /readyz answers 200.
func startServer(t *testing.T, name, bin string, args ...string) *server {
	t.Helper()
	s := &server{name: name, addr: cluster.MustFreeAddr(t), health: cluster.MustFreeAddr(t), logs: filepath.Join(t.TempDir(), name+".log")}
	logf, err := os.Create(s.logs)
	if err != nil {
		t.Fatal(err)
	}
	args = append(args, "--addr", s.addr, "--health-addr", s.health)
	s.cmd = exec.Command(bin, args...)
	// strata logs one line per decision, as in a cluster where stdout goes
	// to a file: that cost is part of what is measured.
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	t.Cleanup(func() {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = s.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = s.cmd.Process.Kill()
			<-done
		}
		logf.Close()
	})
	deadline := time.Now().Add(5 * time.Minute) // a 10,000-image catalog loads first
	for {
		resp, err := http.Get("http://" + s.health + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		if time.Now().After(deadline) || s.cmd.ProcessState != nil {
			t.Fatalf("%s did not become ready: %v\n%s", name, err, tail(s.logs, 20))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// url is the webhook URL of a mode, with the timeout the API server sends.
func (s *server) url(mode string) string {
	return "https://" + s.addr + "/validate/" + mode + "?timeout=10s"
}

// memory reads the process's resident set now and at its peak, in bytes.
func (s *server) memory(t *testing.T) (rss, peak int64) {
	t.Helper()
	rss, peak, err := procstat.Memory(s.cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	return rss, peak
}

// residentSplit says how much of the server's resident set is anonymous
// memory (Go's heap, stacks and runtime) and how much the binary's mapped
// pages: a soft memory limit bounds only the first.
func (s *server) residentSplit() string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return ""
	}
	var anon, file string
	for line := range strings.Lines(string(b)) {
		k, v, _ := strings.Cut(line, ":")
		switch k {
		case "RssAnon":
			anon = strings.TrimSpace(v)
		case "RssFile":
			file = strings.TrimSpace(v)
		}
	}
	return fmt.Sprintf(" (anonymous %s, file %s)", anon, file)
}

// gcCycles is the number of garbage collections the server has completed,
// from its /metrics (go_gc_duration_seconds_count), or -1 when it exposes
// none (the no-op floor): what a memory setting costs in collector work is
// counted here, since timing on a shared machine is not.
func (s *server) gcCycles() int64 {
	resp, err := http.Get("http://" + s.health + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return -1
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "go_gc_duration_seconds_count "); ok {
			if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
				return n
			}
		}
	}
	return -1
}

// cpu is the CPU time the process has used (user and system).
func (s *server) cpu(t *testing.T) time.Duration {
	t.Helper()
	return procCPU(t, fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
}

// clockTick is USER_HZ, 100 on every Linux this runs on.
const clockTick = 10 * time.Millisecond

func procCPU(t *testing.T, path string) time.Duration {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// The command name may hold spaces: fields start after its ')'.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * clockTick
}

// machineBusy is the CPU time every process of the machine has used.
func machineBusy(t *testing.T) time.Duration {
	t.Helper()
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		t.Fatal(err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal
	var busy int64
	for i, v := range f[1:] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		if i >= 8 { // guest time is already in user
			break
		}
		n, _ := strconv.ParseInt(v, 10, 64)
		busy += n
	}
	return time.Duration(busy) * clockTick
}

// startAPIServer starts kube-apiserver and etcd from toolsBin in dir, until
// the test ends.
func startAPIServer(t *testing.T, toolsBin, dir string) *cluster.APIServer {
	t.Helper()
	// envtest logs through controller-runtime's logger; its lines say
	// nothing the kube-apiserver.log does not.
	ctrllog.SetLogger(logr.Discard())
	api, err := cluster.StartAPIServer(cluster.APIServerOptions{ToolsBin: toolsBin, Dir: dir})
	t.Cleanup(func() {
		if err := api.Stop(); err != nil {
			t.Logf("stopping the API server: %v", err)
		}
	})
	if err != nil {
		t.Fatalf("%v\n%s", err, tail(filepath.Join(dir, "kube-apiserver.log"), 20))
	}
	return api
}

func tail(path string, n int) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// row is one measured run.
type row struct {
	Scenario    string
	Concurrency int
	load.Result
	// ServerCPU is the server's CPU time per admission; HarnessCPU is this
	// process's (load generator, and the registry in the cold case) per
	// request; Others is what the rest of the machine used, in cores.
	ServerCPU, HarnessCPU time.Duration
	Others                float64
	// RSS and Peak are the server's memory after the run.
	RSS, Peak int64
	// Floor is the floor's throughput at the same concurrency, if measured.
	Floor float64
}

// measure runs the load generator against s and records the CPU each side
// used.
func measure(ctx context.Context, t *testing.T, s *server, scenario string, opts load.Options) row {
	t.Helper()
	self := procCPU(t, "/proc/self/stat")
	srv := s.cpu(t)
	gcs := s.gcCycles()
	busy := machineBusy(t)
	res, err := load.Run(ctx, opts)
	if err != nil {
		t.Fatalf("%s: %v", scenario, err)
	}
	r := row{Scenario: scenario, Concurrency: opts.Concurrency, Result: res}
	srvUsed, selfUsed := s.cpu(t)-srv, procCPU(t, "/proc/self/stat")-self
	if res.Admissions > 0 {
		r.ServerCPU = srvUsed / time.Duration(res.Admissions)
	}
	if res.Requests > 0 {
		r.HarnessCPU = selfUsed / time.Duration(res.Requests)
	}
	r.Others = max(0, (machineBusy(t)-busy-srvUsed-selfUsed).Seconds()/res.Seconds)
	r.RSS, r.Peak = s.memory(t)
	collections := s.residentSplit()
	if gcs >= 0 {
		collections += fmt.Sprintf(", %d garbage collections in %.1f s of server CPU", s.gcCycles()-gcs, srvUsed.Seconds())
	}
	var text strings.Builder
	_ = res.WriteText(&text)
	t.Logf("%s, %s:\n%s  server CPU %s/admission, harness CPU %s/request, other processes %.2f cores, server RSS %s (peak %s)%s",
		scenario, s.name, text.String(), micros(r.ServerCPU), micros(r.HarnessCPU), r.Others, mib(r.RSS), mib(r.Peak), collections)
	if n := res.Errors.Total(); n > 0 {
		t.Errorf("%s: %d requests failed: %v\n%s", scenario, n, res.Errors.Samples, tail(s.logs, 5))
	}
	return r
}

func micros(d time.Duration) string { return fmt.Sprintf("%dµs", d.Microseconds()) }

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

// capacity estimates the admissions per second the machine's cores would
// sustain, server and load generator together and nothing else running,
// from the CPU each used per admission: a figure that other processes on a
// shared machine disturb far less than the measured throughput.
func (r row) capacity() float64 {
	if r.ServerCPU <= 0 {
		return 0
	}
	return float64(runtime.NumCPU()) * float64(time.Second) / float64(r.ServerCPU+r.HarnessCPU)
}

// table renders the rows as the Markdown table of RESULTS.md.
func table(rows []row) string {
	floorCapacity := map[int]float64{}
	for _, r := range rows {
		if r.Floor == 0 && strings.HasPrefix(r.Scenario, "no-op floor") {
			floorCapacity[r.Concurrency] = r.capacity()
		}
	}
	var b strings.Builder
	b.WriteString("| scenario | conc. | admissions/s | p50 | p99 | p99.9 | × floor | server CPU / adm. | loadgen CPU / req. | other load (cores) | est. capacity/s | × floor (CPU) | RSS after (peak) |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rows {
		ratio, cpuRatio, capacity := "—", "—", "—"
		if r.Floor > 0 {
			ratio = fmt.Sprintf("%.2f", r.PerSecond/r.Floor)
			if fc := floorCapacity[r.Concurrency]; fc > 0 {
				cpuRatio = fmt.Sprintf("%.2f", r.capacity()/fc)
			}
		}
		if c := r.capacity(); c > 0 {
			capacity = fmt.Sprintf("%.0f", c)
		}
		mem := "—"
		if r.RSS > 0 {
			mem = fmt.Sprintf("%s (%s)", mib(r.RSS), mib(r.Peak))
		}
		fmt.Fprintf(&b, "| %s | %d | %.0f | %s | %s | %s | %s | %s | %s | %.2f | %s | %s | %s |\n",
			r.Scenario, r.Concurrency, r.PerSecond, load.Ms(r.Latency.P50), load.Ms(r.Latency.P99), load.Ms(r.Latency.P999), ratio,
			micros(r.ServerCPU), micros(r.HarnessCPU), r.Others, capacity, cpuRatio, mem)
	}
	return b.String()
}

// toolsOf is the repository's absolute path and test/tools/bin in it, where
// `make tools` built the binaries the benchmark needs; it fails the test,
// saying what to run, when one is missing.
func toolsOf(t *testing.T, binaries ...string) (repo, toolsBin string) {
	t.Helper()
	repo, err := filepath.Abs(root)
	if err != nil {
		t.Fatal(err)
	}
	toolsBin = filepath.Join(repo, "test", "tools", "bin")
	for _, b := range binaries {
		if _, err := os.Stat(filepath.Join(toolsBin, b)); err != nil {
			t.Fatalf("%s not found in %s: run make tools", b, toolsBin)
		}
	}
	return repo, toolsBin
}
