package cluster

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Proc is a component run as a subprocess, its output appended to a log
// file so that a failing test can show it.
type Proc struct {
	Name string
	Bin  string
	Args []string
	Env  []string // added to this process's environment
	Log  string
	cmd  *exec.Cmd
	done chan struct{}
}

// Start starts the process; it does not wait for it to be ready.
func (p *Proc) Start() error {
	f, err := os.OpenFile(p.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintf(f, "=== %s starting at %s\n", p.Name, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(p.Bin, p.Args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = append(os.Environ(), p.Env...)
	// If the test binary dies (a timeout panic), its children die with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("starting %s: %w", p.Name, err)
	}
	p.cmd, p.done = cmd, make(chan struct{})
	go func() {
		_ = cmd.Wait()
		fmt.Fprintf(f, "=== %s exited: %v\n", p.Name, cmd.ProcessState)
		f.Close()
		close(p.done)
	}()
	return nil
}

// Pid is the process id, 0 before Start.
func (p *Proc) Pid() int {
	if p.cmd == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// Exited reports whether the process has stopped.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Stop sends SIGTERM, then SIGKILL after a grace period, and waits.
func (p *Proc) Stop() {
	if p.cmd == nil || p.Exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

var (
	handedOutMu sync.Mutex
	handedOut   = map[string]bool{}
)

// FreeAddr returns a loopback address nothing listens on and that no earlier
// call returned: the kernel may hand the same ephemeral port to two listens in
// a row once the first is closed, and two components given one port fail with
// "address already in use" (a CI run did).
func FreeAddr() (string, error) {
	handedOutMu.Lock()
	defer handedOutMu.Unlock()
	for range 100 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", err
		}
		addr := ln.Addr().String()
		ln.Close()
		if !handedOut[addr] {
			handedOut[addr] = true
			return addr, nil
		}
	}
	return "", fmt.Errorf("no loopback port left that was not already handed out")
}

// MustFreeAddr is FreeAddr for a test, which it fails when there is none.
func MustFreeAddr(t testing.TB) string {
	t.Helper()
	addr, err := FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// WaitHTTP polls url until ok accepts the status or the process exits.
func WaitHTTP(ctx context.Context, p *Proc, url string, tlsCfg *tls.Config, ok func(int) bool) error {
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsCfg}}
	defer client.CloseIdleConnections()
	var last string
	for {
		if p.Exited() {
			return fmt.Errorf("%s exited before %s answered (see %s)", p.Name, url, p.Log)
		}
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if ok(resp.StatusCode) {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %s did not become ready: %s", p.Name, url, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
