package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/strata-project/strata/internal/testutil"
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

// `serve --dev --cert-dir DIR` with a certificate already in DIR would
// replace an operator's certificate and key with a self-signed pair: strata
// refuses, leaves both files as they were, and says what to do instead.
func TestServeDevRefusesToOverwriteACertificateInCertDir(t *testing.T) {
	t.Parallel()
	for _, existing := range []string{"tls.crt", "tls.key"} {
		t.Run(existing, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			kept := testutil.WriteFile(t, dir, existing, "the operator's own "+existing+"\n")
			// Bounded so that a strata which does overwrite, and then
			// serves, stops and fails the test instead of hanging it.
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			var errOut strings.Builder
			code := run(ctx, []string{"serve", "--dev", "--demo", "--cert-dir", dir, "--addr", freeAddr(t), "--health-addr", freeAddr(t)}, io.Discard, &errOut)
			raw, err := os.ReadFile(kept)
			if err != nil {
				t.Fatal(err)
			}
			if string(raw) != "the operator's own "+existing+"\n" {
				t.Errorf("serve --dev --cert-dir rewrote %s: %q", existing, raw)
			}
			if want := existing + " already exists"; code != 2 || !strings.Contains(errOut.String(), want) || !strings.Contains(errOut.String(), "drop --dev") {
				t.Errorf("serve --dev --cert-dir over an existing %s = exit %d, stderr %q; want exit 2 naming %q and the way out", existing, code, errOut.String(), want)
			}
		})
	}
}
