package policy

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// strata policy test reads the policy directory as serve does: a FIFO
// named *.rego (which serve refuses unopened) blocked it for ever, and a
// file past serve's size cap was read whole.
func TestPolicyTestRefusesTheFilesServeRefuses(t *testing.T) {
	dir := policyDir(t, map[string]string{
		"no_root.rego":      rootPolicy,
		"no_root_test.rego": "package strata.policies.no_root_test\n\ntest_nothing if { true }\n",
	})
	if err := syscall.Mkfifo(filepath.Join(dir, "pipe.rego"), 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := RunTests(t.Context(), TestOptions{Paths: []string{dir}})
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "pipe.rego") || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("RunTests with a FIFO named pipe.rego = %v, want serve's refusal naming it", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("RunTests with a FIFO named pipe.rego did not answer in 30 s: it blocks reading the FIFO")
	}

	big := policyDir(t, map[string]string{
		"no_root.rego":      rootPolicy,
		"no_root_test.rego": "package strata.policies.no_root_test\n\ntest_nothing if { true }\n",
		"data.json":         `{"label": "` + strings.Repeat("x", DefaultMaxFileBytes) + `"}`,
	})
	if _, err := RunTests(t.Context(), TestOptions{Paths: []string{big}}); err == nil || !strings.Contains(err.Error(), "data.json") {
		t.Errorf("RunTests with a data file past %d bytes = %v, want serve's refusal naming it", DefaultMaxFileBytes, err)
	}
}
