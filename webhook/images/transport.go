package images

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"syscall"
	"time"
)

// metadataV6 is the AWS instance metadata service's IPv6 address; the rest of
// the cloud metadata endpoints are link-local.
var metadataV6 = netip.MustParseAddr("fd00:ec2::254")

// forbiddenAddr reports addresses no registry request may reach: link-local
// ranges (169.254.0.0/16, fe80::/10) host cloud metadata services.
func forbiddenAddr(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() || a == metadataV6
}

// refuseForbiddenDial is a net.Dialer Control hook: it runs after DNS, on the
// address actually dialled, so a host name that resolves to a metadata
// address is refused as surely as a literal one.
func refuseForbiddenDial(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &errRefused{msg: fmt.Sprintf("refusing to dial unparsable address %q", address)}
	}
	if forbiddenAddr(ap.Addr()) {
		return &errRefused{msg: fmt.Sprintf("refusing to connect to link-local or metadata address %s", ap.Addr())}
	}
	return nil
}

// newBaseTransport is the HTTP transport strata uses when none is given.
func newBaseTransport() *http.Transport {
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second, Control: refuseForbiddenDial}
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:   5 * time.Second,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

// guard wraps every request strata sends to a registry, token server or blob
// store, including those that follow redirects.
type guard struct {
	next     http.RoundTripper
	insecure map[string]bool
	maxBody  int64
}

func (g *guard) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "https" && !g.insecure[req.URL.Host] {
		return nil, &errRefused{msg: fmt.Sprintf("refusing plain HTTP to %s: list it in registry.insecure to allow it", req.URL.Host)}
	}
	if a, err := netip.ParseAddr(req.URL.Hostname()); err == nil && forbiddenAddr(a) {
		return nil, &errRefused{msg: fmt.Sprintf("refusing to connect to link-local or metadata address %s", a)}
	}
	resp, err := g.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		drainClose(resp.Body)
		return nil, &errRateLimited{retryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())}
	}
	if resp.ContentLength > g.maxBody {
		drainClose(resp.Body)
		return nil, &errTooLarge{limit: g.maxBody}
	}
	resp.Body = &cappedBody{rc: resp.Body, left: g.maxBody, max: g.maxBody}
	return resp, nil
}

// drainClose closes a body we will not read; it reads nothing, because the
// body may be exactly what we are refusing to read.
func drainClose(rc io.ReadCloser) { _ = rc.Close() }

// cappedBody fails a read past its limit instead of silently truncating, so a
// registry cannot make strata hold an endless manifest in memory.
type cappedBody struct {
	rc        io.ReadCloser
	left, max int64
}

func (c *cappedBody) Read(p []byte) (int, error) {
	// Ask for one byte more than allowed: getting it proves the body is too large.
	if int64(len(p)) > c.left+1 {
		p = p[:c.left+1]
	}
	n, err := c.rc.Read(p)
	if int64(n) > c.left {
		return 0, &errTooLarge{limit: c.max}
	}
	c.left -= int64(n)
	return n, err
}

func (c *cappedBody) Close() error { return c.rc.Close() }

func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
