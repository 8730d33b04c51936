package webhook

import (
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// TestFailedHandshakesAreLoggedAtDebugLevelOnly: net/http's own error lines
// (a failed TLS handshake, a caller refused by --client-ca) go to the
// logger at debug level, so that a flood of bad handshakes is not a flood
// of log lines at the default level (docs/serving.md).
func TestFailedHandshakesAreLoggedAtDebugLevelOnly(t *testing.T) {
	var logs syncBuffer
	srv, _ := serveAudit(t, allowAll{}, ServerOptions{Registerer: prometheus.NewRegistry(), Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	// Plain HTTP to the TLS port: the handshake fails at once.
	c, err := net.Dial("tcp", srv.addr)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, _ = c.Read(make([]byte, 512))
	c.Close()

	var line string
	for waited := time.Now().Add(5 * time.Second); line == "" && time.Now().Before(waited); time.Sleep(10 * time.Millisecond) {
		for _, l := range strings.Split(logs.String(), "\n") {
			if strings.Contains(l, "TLS handshake error") {
				line = l
			}
		}
	}
	if line == "" {
		t.Fatalf("no log line for the failed handshake; logs:\n%s", logs.String())
	}
	if !strings.Contains(line, `"level":"DEBUG"`) {
		t.Errorf("the failed handshake is logged %s, want at level DEBUG", line)
	}
}
