//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/strata-project/strata/test/cluster"
)

// Namespaces selected by each webhook path, and the namespaces strata
// exempts by configuration.
const (
	nsEnforce = "e2e-enforce"
	nsWarn    = "e2e-warn"
	nsAudit   = "e2e-audit"
	nsStrata  = "strata-system"
)

// legacyPod is a root pod created in nsEnforce before the webhook existed.
const legacyPod = "legacy-root"

// suite is everything TestMain starts; tests only read it (and stop and
// restart the public registry, one test at a time).
type suite struct {
	dir        string // logs, configs, certificates
	root       string // the repository root
	toolsBin   string
	kubectl    string
	kubeconfig string
	pki        *cluster.PKI
	pub, priv  *registry
	images     family
	apiserver  *cluster.APIServer
	client     kubernetes.Interface
	strata     *strataProc
	strataBin  string
	mtls       *mtlsSetup // the API server's webhook client certificate
	started    time.Time
	setupTook  time.Duration
}

var s *suite

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) (code int) {
	s = &suite{started: time.Now()}
	dir, err := os.MkdirTemp("", "strata-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	s.dir = dir
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	defer func() {
		s.teardown()
		if code != 0 && len(s.logFiles()) > 0 {
			fmt.Fprintf(os.Stderr, "e2e: logs and configuration kept in %s\n", dir)
			return
		}
		os.RemoveAll(dir)
	}()
	if err := s.setup(ctx); err != nil {
		// Tests print the logs when they fail; setup has no test to do it.
		s.dumpLogs(os.Stderr)
		fmt.Fprintf(os.Stderr, "e2e setup: %v\n", err)
		return 1
	}
	s.setupTook = time.Since(s.started)
	fmt.Fprintf(os.Stderr, "e2e: setup took %s\n", s.setupTook.Round(time.Millisecond))
	code = m.Run()
	fmt.Fprintf(os.Stderr, "e2e: suite took %s\n", time.Since(s.started).Round(time.Millisecond))
	return code
}

// prerequisites fails with how to install what is missing: the suite never
// skips, so a CI machine without the tools is a failure, not a green run.
func (s *suite) prerequisites() error {
	var missing []string
	for _, b := range []string{"kube-apiserver", "etcd", "kubectl"} {
		if _, err := os.Stat(filepath.Join(s.toolsBin, b)); err != nil {
			missing = append(missing, fmt.Sprintf("%s not found in %s: run make tools", b, s.toolsBin))
		}
	}
	if _, err := os.Stat(registryBin); err != nil {
		missing = append(missing, registryBin+" not found: run make e2e-deps (installs Debian's docker-registry)")
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing components:\n  %s", strings.Join(missing, "\n  "))
	}
	return nil
}

func (s *suite) setup(ctx context.Context) error {
	root, err := filepath.Abs("../..")
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		return fmt.Errorf("the repository root %s has no go.mod: run the suite from test/e2e (go test ./test/e2e/...)", root)
	}
	s.root = root
	s.toolsBin = filepath.Join(root, "test", "tools", "bin")
	s.kubectl = filepath.Join(s.toolsBin, "kubectl")
	if err := s.prerequisites(); err != nil {
		return err
	}

	// make e2e passes the binary it just built (STRATA_BIN), so that it is
	// compiled once; go test alone builds it here.
	strataBin := os.Getenv("STRATA_BIN")
	if strataBin == "" {
		strataBin = filepath.Join(s.dir, "strata")
		build := exec.CommandContext(ctx, goBin(), "build", "-o", strataBin, "./cmd/strata")
		build.Dir = root
		if out, err := build.CombinedOutput(); err != nil {
			return fmt.Errorf("go build ./cmd/strata: %v\n%s", err, out)
		}
	} else if _, err := os.Stat(strataBin); err != nil {
		return fmt.Errorf("STRATA_BIN: %w (run make build, or unset it to build strata here)", err)
	}

	s.strataBin = strataBin

	if s.pki, err = cluster.NewPKI(s.dir, "strata e2e CA"); err != nil {
		return fmt.Errorf("test CA: %w", err)
	}
	if s.pub, err = startRegistry(ctx, "public", s.dir, s.pki, "", ""); err != nil {
		return err
	}
	if s.priv, err = startRegistry(ctx, "private", s.dir, s.pki, "puller", "e2e-pull-password"); err != nil {
		return err
	}
	if s.images, err = seed(ctx, s.pub, s.priv); err != nil {
		return fmt.Errorf("seeding the registries: %w", err)
	}

	if s.mtls, err = prepareMTLS(s.dir); err != nil {
		return fmt.Errorf("webhook client certificate: %w", err)
	}
	if err := s.startAPIServer(); err != nil {
		return err
	}
	for _, ns := range []string{nsEnforce, nsWarn, nsAudit, nsStrata} {
		if err := cluster.CreateNamespace(ctx, s.client, ns); err != nil {
			return err
		}
	}
	// Before the webhook exists: an object that would be denied today, whose
	// later relabelling must not depend on a registry.
	if out, err := s.kubectlApply(ctx, nsEnforce, podYAML(legacyPod, s.images.root)); err != nil {
		return fmt.Errorf("creating %s before the webhook: %v\n%s", legacyPod, err, out)
	}

	if s.strata, err = startStrata(ctx, s, strataBin); err != nil {
		return err
	}
	if err := registerWebhooks(ctx, s.client, s.strata.addr, s.pki.CAPEM); err != nil {
		return err
	}
	return s.waitWebhooks(ctx)
}

func (s *suite) teardown() {
	if s.strata != nil {
		s.strata.Stop()
	}
	if s.apiserver != nil {
		if err := s.apiserver.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: stopping the API server: %v\n", err)
		}
	}
	for _, r := range []*registry{s.pub, s.priv} {
		if r != nil {
			r.Stop()
		}
	}
}

func goBin() string {
	if g := os.Getenv("GO"); g != "" {
		return g
	}
	return "go"
}

// logFiles are every component's logs, in the order they are worth reading.
func (s *suite) logFiles() []string {
	files, _ := filepath.Glob(filepath.Join(s.dir, "*.log"))
	return files
}

func (s *suite) dumpLogs(w *os.File) {
	for _, f := range s.logFiles() {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		fmt.Fprintf(w, "\n===== %s (last 200 lines) =====\n%s\n", filepath.Base(f), tail(string(b), 200))
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// showLogsOnFailure prints every component's log when t fails.
func showLogsOnFailure(t *testing.T) {
	t.Helper()
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for _, f := range s.logFiles() {
			b, err := os.ReadFile(f)
			if err != nil {
				continue
			}
			t.Logf("===== %s (last 100 lines) =====\n%s", filepath.Base(f), tail(string(b), 100))
		}
	})
}
