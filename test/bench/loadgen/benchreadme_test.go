package main

import (
	"errors"
	"io"
	"net"
	"testing"
)

// test/bench/README.md: the load generator exits 1 if any request failed,
// which main does for errFailures. Here every request finds the port
// closed: a transport error each.
func TestFailedRequestsAreErrFailures(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	err = run(t.Context(), []string{"-url", "https://" + addr + "/validate/warn", "-insecure", "-body", "../testdata/cold-pod.json", "-n", "2", "-concurrency", "1"}, io.Discard, io.Discard)
	if !errors.Is(err, errFailures) {
		t.Errorf("run against a closed port = %v, want errFailures (exit status 1)", err)
	}
}
