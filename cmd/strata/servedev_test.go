package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"testing"
	"time"
)

// servingAddrs runs `strata <args>` until it logs "strata is serving" and
// returns the addresses it names, then stops it.
func servingAddrs(t *testing.T, args ...string) (addr, healthAddr string) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	out, w := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, args, w, io.Discard)
		w.Close()
	}()
	defer func() {
		cancel()
		go func() { _, _ = io.Copy(io.Discard, out) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("strata serve did not stop within 10s")
		}
	}()
	lines := bufio.NewScanner(out)
	lines.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for lines.Scan() {
		var rec struct {
			Msg        string `json:"msg"`
			Addr       string `json:"addr"`
			HealthAddr string `json:"healthAddr"`
		}
		if json.Unmarshal(lines.Bytes(), &rec) == nil && rec.Msg == "strata is serving" {
			return rec.Addr, rec.HealthAddr
		}
	}
	t.Fatalf("strata %v never logged \"strata is serving\"", args)
	return "", ""
}

func TestServeDevBindsLoopbackByDefault(t *testing.T) {
	addr, healthAddr := servingAddrs(t, "serve", "--dev", "--demo")
	if addr != "127.0.0.1:8443" || healthAddr != "127.0.0.1:8080" {
		t.Errorf("serve --dev --demo listens on %s and %s, want 127.0.0.1:8443 and 127.0.0.1:8080", addr, healthAddr)
	}
	// An explicit flag wins over --dev's default.
	explicit := freeAddr(t)
	addr, healthAddr = servingAddrs(t, "serve", "--dev", "--demo", "--health-addr", explicit)
	if addr != "127.0.0.1:8443" || healthAddr != explicit {
		t.Errorf("serve --dev --demo --health-addr %s listens on %s and %s, want 127.0.0.1:8443 and %s", explicit, addr, healthAddr, explicit)
	}
}
