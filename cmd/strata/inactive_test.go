package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/strata-project/strata/internal/logtest"
	"github.com/strata-project/strata/internal/testutil"
)

// served is a running `strata serve`, stopped when the test ends.
type served struct {
	addr, healthAddr string
	stdout           *logtest.Buffer
	stderr           *bytes.Buffer
}

// startServe runs strata serve with args (and its own listeners) until the
// test ends, and waits until /readyz answers 200. Another test can take a
// free port between freeAddr closing it and strata binding it: serve is then
// started again on new ones.
func startServe(t *testing.T, args ...string) *served {
	t.Helper()
	for attempt := 1; ; attempt++ {
		s, err := tryServe(t, args)
		if err == nil {
			return s
		}
		if !errors.Is(err, errPortTaken) || attempt == 5 {
			t.Fatal(err)
		}
	}
}

var errPortTaken = errors.New("a port strata serve was given was taken before it bound it")

// tryServe is one attempt of startServe.
func tryServe(t *testing.T, args []string) (*served, error) {
	t.Helper()
	addr, healthAddr := freeAddr(t), freeAddr(t)
	ctx, cancel := context.WithCancel(t.Context())
	s := &served{addr: addr, healthAddr: healthAddr, stdout: &logtest.Buffer{}, stderr: &bytes.Buffer{}}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "--addr", addr, "--health-addr", healthAddr}, args...), s.stdout, s.stderr)
	}()
	stop := func() (int, bool) {
		cancel()
		select {
		case code := <-done:
			return code, true
		case <-time.After(10 * time.Second):
			return 0, false
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case code := <-done:
			cancel()
			if strings.Contains(s.stderr.String(), "address already in use") {
				return nil, errPortTaken
			}
			return nil, fmt.Errorf("strata serve %s exited %d before it was ready; stderr:\n%s", strings.Join(args, " "), code, s.stderr.String())
		default:
		}
		if code, _ := s.get(t, "/readyz"); code == http.StatusOK {
			t.Cleanup(func() {
				code, stopped := stop()
				switch {
				case !stopped:
					t.Error("strata serve did not shut down within 10s")
				case code != 0:
					t.Errorf("strata serve exited %d after shutdown, want 0; stderr:\n%s", code, s.stderr.String())
				}
			})
			return s, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, stopped := stop(); !stopped {
		return nil, fmt.Errorf("strata serve %s was not ready within 20s, nor stopped within 10s after", strings.Join(args, " "))
	}
	return nil, fmt.Errorf("strata serve %s was not ready within 20s; stderr:\n%s", strings.Join(args, " "), s.stderr.String())
}

// get fetches a path of the health listener; code 0 when it cannot.
func (s *served) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + s.healthAddr + path)
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// With no approvedBases, the approved-base policy reports nothing: the
// chart's default install looked guarded where it was not. It must say so
// at start, in /readyz and in a metric.
func TestServeWithoutApprovedBasesReportsApprovedBaseInactive(t *testing.T) {
	t.Parallel()
	config := testutil.WriteFile(t, t.TempDir(), "strata.yaml", "policies:\n  data:\n    approvedBases: []\n")
	s := startServe(t, "--dev", "--config", config)
	if _, readyz := s.get(t, "/readyz?verbose"); !strings.Contains(readyz, "inactive: approved-base") {
		t.Errorf("/readyz?verbose = %q, want the policies check to name approved-base inactive", readyz)
	}
	if _, metrics := s.get(t, "/metrics"); !strings.Contains(metrics, `strata_policy_inactive{policy="approved-base"} 1`) ||
		!strings.Contains(metrics, `strata_policy_inactive{policy="run-as-root"} 0`) {
		t.Errorf("/metrics lacks strata_policy_inactive 1 for approved-base and 0 for run-as-root")
	}
	if log := s.stdout.String(); !strings.Contains(log, `"policy":"approved-base"`) || !strings.Contains(log, "approvedBases") {
		t.Errorf("the start log does not say approved-base is inactive:\n%s", log)
	}
}

// A misspelt policies.data key left approved-base with nothing to approve,
// in silence: serve now names it at start, counts it in /readyz and in
// strata_config_warnings, and stays ready.
func TestServeNamesConfigWarningsAtStart(t *testing.T) {
	t.Parallel()
	config := testutil.WriteFile(t, t.TempDir(), "strata.yaml", "policies:\n  data:\n    approvedBase: [\"registry.example.com/base/*\"]\n")
	s := startServe(t, "--dev", "--config", config)
	if _, readyz := s.get(t, "/readyz?verbose"); !strings.Contains(readyz, "configuration") || !strings.Contains(readyz, "1 warnings at start") {
		t.Errorf("/readyz?verbose = %q, want the configuration check to count 1 warning", readyz)
	}
	if _, metrics := s.get(t, "/metrics"); !strings.Contains(metrics, "strata_config_warnings 1") {
		t.Errorf("/metrics lacks strata_config_warnings 1")
	}
	if log := s.stdout.String(); !strings.Contains(log, "no loaded policy reads data.strata.config.approvedBase; did you mean approvedBases?") || !strings.Contains(log, `"line":3`) {
		t.Errorf("the start log does not name the misspelt key and its line:\n%s", log)
	}
}
