package main

import (
	"errors"
	"io"
	"testing"
)

// test/bench/README.md: the load generator exits 1 if any request failed,
// which main does for errFailures. Here every request finds nothing
// listening on loopback's port 1: a transport error each.
func TestFailedRequestsAreErrFailures(t *testing.T) {
	t.Parallel()
	err := run(t.Context(), []string{"-url", "https://127.0.0.1:1/validate/warn", "-insecure", "-body", "../testdata/cold-pod.json", "-n", "2", "-concurrency", "1"}, io.Discard, io.Discard)
	if !errors.Is(err, errFailures) {
		t.Errorf("run against a closed port = %v, want errFailures (exit status 1)", err)
	}
}
