package webhook

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"testing"
	"time"
)

// HTTP/2 multiplexes hundreds of streams, each a handler goroutine, over one
// connection that a per-connection bound cannot see (and carries the rapid
// reset class of attacks): the webhook port speaks HTTP/1.1 only, as
// controller-runtime advises.
func TestWebhookPortDoesNotNegotiateHTTP2(t *testing.T) {
	t.Parallel()
	p := newPipeline(t)
	certDir := t.TempDir()
	pool := writeCert(t, certDir)
	srv := startServe(t, ServerOptions{CertDir: certDir, Handlers: asAdmissionHandlers(handlers(p.Checker, nil, nil))})
	st, err := handshake(t, srv.addr, &tls.Config{RootCAs: pool, NextProtos: []string{"h2", "http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	if st.NegotiatedProtocol == "h2" {
		t.Errorf("handshake offering h2 negotiated %q, want http/1.1", st.NegotiatedProtocol)
	}
}

// A client that sends its headers and then one body byte at a time held its
// connection and handler for as long as it liked: the body is read within
// the request's own deadline (the API server's timeout, at most 30 s), and a
// client past it is cut off.
func TestSlowBodyClientIsCutOffAtTheRequestDeadline(t *testing.T) {
	t.Parallel()
	p := newPipeline(t)
	certDir := t.TempDir()
	pool := writeCert(t, certDir)
	srv := startServe(t, ServerOptions{CertDir: certDir, Handlers: asAdmissionHandlers(handlers(p.Checker, nil, nil))})
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", srv.addr, &tls.Config{RootCAs: pool})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /validate/audit?timeout=1s HTTP/1.1\r\nHost: strata\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{")
	// The server must end the exchange (an error answer or a closed
	// connection) by itself; 20 s is far past the 1 s it was given.
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	start := time.Now()
	_, err = io.ReadAll(conn)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("a client sending 1 body byte of 100,000 still held its connection after %s on a 1 s request", time.Since(start).Round(time.Second))
	}
}
