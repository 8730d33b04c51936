// Command slowconns reproduces the slow-client attack of issue 19 §3 against
// a running `strata serve`: it opens -n connections to -addr that send one
// byte every -every, and reports every -report how many the server still
// holds (with -reconnect, replacing every connection dropped) and, with -pid, the server's resident memory. It measures; it is not
// part of make test.
//
//	go run ./test/bench/slowconns -addr 127.0.0.1:8443 -pid $(pgrep -n strata) -phase body
//
// Phases: handshake (raw TCP, a TLS ClientHello a byte at a time), headers
// (after a TLS handshake, request headers a byte at a time) and body (after
// the headers of a 1 MB POST to /validate/audit?timeout=30s, the body a
// byte at a time). It only targets loopback.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/strata-project/strata/internal/slowclient"
	"github.com/strata-project/strata/test/bench/internal/procstat"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "slowconns: %v\n", err)
		os.Exit(2)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("slowconns", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8443", "strata's webhook (TLS) or health listener, on loopback")
	n := fs.Int("n", 2000, "connections to open")
	every := fs.Duration("every", 20*time.Second, "interval between two bytes on one connection")
	duration := fs.Duration("duration", 75*time.Second, "how long to run after the connections are opened")
	report := fs.Duration("report", 5*time.Second, "interval between two reports")
	phase := fs.String("phase", "body", "where the bytes are trickled: handshake, headers or body")
	plain := fs.Bool("plain", false, "plain HTTP (the health listener) instead of TLS")
	reconnect := fs.Duration("reconnect", 0, "replace every connection the server drops or refuses after this pause (a sustained attack); 0: never")
	probe := fs.String("probe", "", "an AdmissionReview file POSTed to /validate/audit at every report, on a new connection, as the API server would (TLS only)")
	pid := fs.Int("pid", 0, "the server's process id, to report its resident memory")
	if err := fs.Parse(args); err != nil {
		return err
	}
	host, _, err := net.SplitHostPort(*addr)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("-addr %s: only loopback addresses are targeted", *addr)
	}
	payload, handshake, err := payloadOf(*phase, *plain)
	if err != nil {
		return err
	}

	var held, refused, dropped atomic.Int64
	// hold keeps c until the server closes or resets it.
	hold := func(c net.Conn) {
		defer c.Close()
		go trickle(ctx, c, payload, *every)
		_, _ = bufio.NewReader(c).WriteTo(discard{})
		held.Add(-1)
		dropped.Add(1)
	}
	start := time.Now()
	for range *n {
		c, err := open(ctx, *addr, handshake)
		if err != nil {
			refused.Add(1)
		} else {
			held.Add(1)
		}
		go func() {
			for {
				if c != nil {
					hold(c)
				}
				if *reconnect <= 0 || ctx.Err() != nil {
					return
				}
				// A sustained attack: every dropped connection is replaced.
				time.Sleep(*reconnect)
				if c, err = open(ctx, *addr, handshake); err != nil {
					refused.Add(1)
					c = nil
				} else {
					held.Add(1)
				}
			}
		}()
	}
	fmt.Printf("opened %d connections in %s (%d refused at dial or handshake)\n", *n, time.Since(start).Round(time.Millisecond), refused.Load())

	tick := time.NewTicker(*report)
	defer tick.Stop()
	end := time.After(*duration)
	start = time.Now()
	for {
		fmt.Printf("t=%3.0fs held=%d dropped=%d refused=%d rss=%s%s\n", time.Since(start).Seconds(), held.Load(), dropped.Load(), refused.Load(), rss(*pid), admit(ctx, *addr, *probe))
		select {
		case <-ctx.Done():
			return nil
		case <-end:
			return nil
		case <-tick.C:
		}
	}
}

// payloadOf is what a connection trickles in phase, and whether it first
// completes a TLS handshake.
func payloadOf(phase string, plain bool) ([]byte, bool, error) {
	headers := "POST /validate/audit?timeout=30s HTTP/1.1\r\nHost: strata\r\nContent-Type: application/json\r\n"
	switch phase {
	case "handshake":
		if plain {
			return nil, false, errors.New("-phase handshake needs TLS")
		}
		return slowclient.ClientHello(), false, nil
	case "headers":
		return []byte(headers + "X-Pad: " + strings.Repeat("a", 60000)), !plain, nil
	case "body":
		return []byte(headers + "Content-Length: 1000000\r\n\r\n" + strings.Repeat(" ", 1000000)), !plain, nil
	}
	return nil, false, fmt.Errorf("-phase %q: want handshake, headers or body", phase)
}

func open(ctx context.Context, addr string, handshake bool) (net.Conn, error) {
	d := net.Dialer{Timeout: 10 * time.Second}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil || !handshake {
		return c, err
	}
	// Measuring strata's own listener: its certificate is --dev's.
	tc := tls.Client(c, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}}) //nolint:gosec
	hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		c.Close()
		return nil, err
	}
	return tc, nil
}

// trickle writes the headers of a body phase at once and every other byte
// one every interval, until the connection fails.
func trickle(ctx context.Context, c net.Conn, payload []byte, every time.Duration) {
	if i := strings.Index(string(payload), "\r\n\r\n"); i >= 0 {
		if _, err := c.Write(payload[:i+4]); err != nil {
			return
		}
		payload = payload[i+4:]
	}
	slowclient.Trickle(ctx, c, payload, every)
}

// admit sends the review in file to strata's audit path on a connection of
// its own and says how it was answered.
func admit(ctx context.Context, addr, file string) string {
	if file == "" {
		return ""
	}
	body, err := os.ReadFile(file)
	if err != nil {
		return " probe: " + err.Error()
	}
	client := &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			DisableKeepAlives: true,
			// Measuring strata's own listener: its certificate is --dev's.
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec
		},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "https://"+addr+"/validate/audit?timeout=10s", bytes.NewReader(body))
	if err != nil {
		return " probe: " + err.Error()
	}
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Sprintf(" probe: %v after %s", err, time.Since(start).Round(time.Millisecond))
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return fmt.Sprintf(" probe: %d in %s", resp.StatusCode, time.Since(start).Round(time.Millisecond))
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// rss is the resident memory of process pid, from /proc.
func rss(pid int) string {
	if pid == 0 {
		return "-"
	}
	rss, _, err := procstat.Memory(pid)
	if err != nil {
		return err.Error()
	}
	return fmt.Sprintf("%d kB", rss>>10)
}
