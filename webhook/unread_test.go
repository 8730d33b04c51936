package webhook

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/strata-project/strata/webhook/internal/memtest"
	"github.com/strata-project/strata/webhook/policy"
)

type allowAll struct{}

func (allowAll) Handle(context.Context, admission.Request) admission.Response {
	return admission.Allowed("")
}

// A caller of the webhook port sent one complete, cheap review with
// ?timeout=1s whose uid (echoed in the answer) was larger than the socket
// buffers, and never read the answer. The handler blocked writing it; the
// connection counted as serving (its body had arrived) and was never
// displaced, for the 40 s write timeout rather than the request's 1 s
// deadline, and the API server was refused meanwhile.
func TestUnreadAnswerCannotHoldASlotPastTheRequestDeadline(t *testing.T) {
	srv, pool, review := serveForUnreadAnswers(t, ConnLimits{MaxConns: 1})
	c, err := postUnread(t, srv.addr, pool, review)
	if err != nil {
		// Refused before it was all written (its uid is past the bound,
		// and a loaded machine writes 6 MiB slower than the server
		// answers): the slot is free all the sooner, which is what the
		// rest checks.
		t.Logf("the request was cut short: %v", err)
	}
	// Never read the answer. Wait past the request's deadline.
	time.Sleep(3 * time.Second)

	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	t.Cleanup(client.CloseIdleConnections)
	ok := podOf("b", "strata-demo.local/shop/web:1.0")
	for i := range 3 {
		resp, err := client.Post("https://"+srv.addr+Paths[policy.Audit]+"?timeout=5s", "application/json", bytes.NewReader(reviewOf(t, fmt.Sprint("legit-", i), "Pod", "CREATE", ok, nil)))
		if err == nil {
			resp.Body.Close()
			t.Logf("legit answered %s; %s", resp.Status, attackerReads(c))
			return
		}
		t.Logf("API server's request %d, %v after the attacker's 1 s request: %v", i, 3*time.Second+time.Duration(i)*time.Second, err)
		time.Sleep(time.Second)
	}
	t.Log(attackerReads(c))
	t.Errorf("the API server was refused for %v after an attacker's complete 1 s request whose answer it never read: the slot is held past the request's deadline", 6*time.Second)
}

// attackerReads says what the attacker's connection holds, for the log.
func attackerReads(c *tls.Conn) string {
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 200)
	n, err := c.Read(buf)
	return fmt.Sprintf("attacker reads %q %v", buf[:n], err)
}

// The same, ten times: the blocked answers kept 114 MiB on the heap.
func TestUnreadAnswersCannotKeepTheirBytesOnTheHeap(t *testing.T) {
	srv, pool, review := serveForUnreadAnswers(t, ConnLimits{})
	before := memtest.HeapInUse()
	for range 10 {
		// A server that gave up on a request while it was still being
		// written (its deadline is 1 s; a loaded machine writes 6 MiB
		// slower) resets the connection: its bytes are then freed too,
		// which is what this test measures.
		if _, err := postUnread(t, srv.addr, pool, review); err != nil {
			t.Logf("the request was cut short: %v", err)
		}
	}
	time.Sleep(3 * time.Second)
	grew := memtest.HeapInUse() - before
	t.Logf("10 complete 1s requests, answers unread, 3 s later: heap +%d MiB", grew>>20)
	if grew > 64<<20 {
		t.Errorf("heap +%d MiB held past the requests' 1 s deadline by 10 connections", grew>>20)
	}
}

// serveForUnreadAnswers starts a server that allows every review on the
// audit path, with the webhook listener's limits, and returns it, the pool
// that trusts it, and a review whose 6 MiB uid (echoed in the answer) makes
// an answer larger than the socket buffers.
func serveForUnreadAnswers(t *testing.T, limits ConnLimits) (*running, *x509.CertPool, []byte) {
	t.Helper()
	srv, pool := serveAudit(t, allowAll{}, ServerOptions{Webhook: limits, Registerer: prometheus.NewRegistry()})
	return srv, pool, reviewOf(t, strings.Repeat("u", 6<<20), "Pod", "CREATE", podOf("a", "strata-demo.local/shop/web:1.0"), nil)
}

// postUnread posts review to the audit path, with a 1 s timeout, over a
// connection whose receive window is 4 KiB, and returns the connection
// without reading the answer: an attacker's request whose answer the
// server cannot finish writing.
func postUnread(t *testing.T, addr string, pool *x509.CertPool, review []byte) (*tls.Conn, error) {
	t.Helper()
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
	}}
	raw, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	c := tls.Client(raw, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	if err := c.HandshakeContext(t.Context()); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c, "POST %s?timeout=1s HTTP/1.1\r\nHost: strata\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", Paths[policy.Audit], len(review))
	_, err = c.Write(review)
	return c, err
}
