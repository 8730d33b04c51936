package images

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/net/http/httpproxy"
)

// metadataV6 is the AWS instance metadata service's IPv6 address,
// metadataAlibaba Alibaba Cloud's (in the shared 100.64.0.0/10 range) and
// wireServerAzure Azure's WireServer (a public address); the rest of the
// cloud metadata endpoints are link-local.
var (
	metadataV6      = netip.MustParseAddr("fd00:ec2::254")
	metadataAlibaba = netip.MustParseAddr("100.100.100.200")
	wireServerAzure = netip.MustParseAddr("168.63.129.16")
)

// forbiddenAddr reports addresses no registry request may reach: link-local
// ranges (169.254.0.0/16, fe80::/10) host cloud metadata services.
func forbiddenAddr(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() || a == metadataV6 || a == metadataAlibaba || a == wireServerAzure
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

// redirectRangeKey carries, in the context of a request that follows a
// redirect, the non-public range its dial may reach (a func, so that the
// sender is only resolved when the dial meets a non-public address).
// checkInternal decided on the target's addresses when the redirect arrived;
// this repeats the decision on the address dialled, so that a name resolving
// elsewhere the second time (DNS rebinding) is refused.
type redirectRangeKey struct{}

// refuseDial is refuseForbiddenDial, plus the range bound of a followed
// redirect.
func refuseDial(ctx context.Context, network, address string, c syscall.RawConn) error {
	if err := refuseForbiddenDial(network, address, c); err != nil {
		return err
	}
	allowed, ok := ctx.Value(redirectRangeKey{}).(func() addrRange)
	if !ok {
		return nil
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &errRefused{msg: fmt.Sprintf("refusing to dial unparsable address %q", address)}
	}
	if class := rangeOf(ap.Addr()); class != rangePublic && class != allowed() {
		return &errRefused{msg: fmt.Sprintf("refusing to follow a redirect to the %s address %s", class, ap.Addr().Unmap())}
	}
	return nil
}

// defaultResponseHeaderTimeout bounds the wait for a status line on a
// connection that is open but silent; the Resolver sets its FetchTimeout.
const defaultResponseHeaderTimeout = 10 * time.Second

// newBaseTransport is the HTTP transport strata uses when none is given.
// hosts maps host names to the address dialled instead.
func newBaseTransport(hosts map[string]string) *http.Transport {
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second, ControlContext: refuseDial}
	dial := dialer.DialContext
	if len(hosts) > 0 {
		dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			if host, _, err := net.SplitHostPort(addr); err == nil {
				if to, ok := hosts[host]; ok {
					addr = to
				}
			}
			return dialer.DialContext(ctx, network, addr)
		}
	}
	return &http.Transport{
		Proxy:                 guardedProxy(httpproxy.FromEnvironment().ProxyFunc(), hosts),
		DialContext:           dial,
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: defaultResponseHeaderTimeout,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
		// A registry chooses its headers' size, and a challenge is kept by the
		// session it starts: Go's default would read 10 MiB of them.
		MaxResponseHeaderBytes: 64 << 10,
	}
}

// guardedProxy chooses the proxy as proxyFor does (HTTPS_PROXY, NO_PROXY, read
// when the transport is built), and refuses a target host that resolves to a
// forbidden address before the proxy is asked to CONNECT to it: behind a
// proxy strata dials only the proxy, so the dial guard never sees the target.
// A host strata cannot resolve itself is left to the proxy, which may see
// names strata's DNS does not; the proxy must refuse link-local destinations
// of its own (docs/security.md).
func guardedProxy(proxyFor func(*url.URL) (*url.URL, error), hosts map[string]string) func(*http.Request) (*url.URL, error) {
	lookup := hostsLookup(hosts)
	return func(req *http.Request) (*url.URL, error) {
		proxy, err := proxyFor(req.URL)
		if err != nil || proxy == nil {
			return proxy, err
		}
		addrs, err := lookup(req.Context(), req.URL.Hostname())
		if err != nil {
			return proxy, nil
		}
		for _, a := range addrs {
			if forbiddenAddr(a) {
				return nil, &errRefused{msg: fmt.Sprintf("refusing to ask the proxy for %s: it resolves to the link-local or metadata address %s", req.URL.Hostname(), a.Unmap())}
			}
		}
		return proxy, nil
	}
}

// targetAddrs resolves host (a name or a literal address) as a dial would.
func targetAddrs(ctx context.Context, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{a}, nil
	}
	return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
}

// guard wraps every request strata sends to a registry, token server or blob
// store, including those that follow redirects.
type guard struct {
	next     http.RoundTripper
	insecure map[string]bool
	// allow is registry.allow (canonical hosts): a redirect or token realm
	// naming one of them is trusted wherever it resolves.
	allow   map[string]bool
	maxBody int64
	now     func() time.Time
	slots   *requestSlots
	// lookup resolves a host name as the dial will (Options.Hosts first).
	lookup func(ctx context.Context, host string) ([]netip.Addr, error)
	// logger receives error bodies, truncated, at debug level: the only
	// place a registry's error body goes.
	logger *slog.Logger
}

func (g *guard) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := g.check(req.URL); err != nil {
		return nil, err
	}
	if req.Response != nil {
		req = g.boundRedirect(req)
	}
	release, err := g.slots.acquire(req.Context(), req.URL.Host)
	if err != nil {
		return nil, err
	}
	resp, err := g.next.RoundTrip(req)
	if err != nil {
		release()
		return nil, err
	}
	// The slot is held until the body is done with: the connection is busy
	// until then.
	resp.Body = &releasingBody{ReadCloser: resp.Body, release: sync.OnceFunc(release)}
	// go-containerregistry refuses redirects and token realms that point at
	// private addresses itself, with errors nothing can classify; refusing
	// them here first makes them the same KindNetwork as any refused dial.
	if err := g.checkNext(req, resp); err != nil {
		drainClose(resp.Body)
		return nil, err
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		drainClose(resp.Body)
		return nil, &errRateLimited{retryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), g.now())}
	}
	if resp.StatusCode >= 400 {
		// ggcr quotes an error body into its error text, which reaches
		// denials, SARIF and logs that tenants read; a body fetched through
		// a redirect can be an internal service's answer. Only the status
		// goes on; the body goes to strata's own debug log.
		resp.Body = g.withheldBody(req, resp)
		return resp, nil
	}
	if resp.ContentLength > g.maxBody {
		drainClose(resp.Body)
		return nil, &errTooLarge{limit: g.maxBody}
	}
	resp.Body = &cappedBody{rc: resp.Body, left: g.maxBody, max: g.maxBody}
	return resp, nil
}

// maxLoggedErrorBody bounds the part of an error body kept for the debug
// log; the rest of the body is not read.
const maxLoggedErrorBody = 1024

// withheldBody reads at most maxLoggedErrorBody bytes of an error response
// (so that a short body leaves the connection reusable), logs them at debug
// level and returns an empty body in place of the original.
func (g *guard) withheldBody(req *http.Request, resp *http.Response) io.ReadCloser {
	head, _ := io.ReadAll(io.LimitReader(resp.Body, maxLoggedErrorBody+1))
	drainClose(resp.Body)
	truncated := len(head) > maxLoggedErrorBody
	if truncated {
		head = head[:maxLoggedErrorBody]
	}
	if g.logger != nil && g.logger.Enabled(req.Context(), slog.LevelDebug) {
		g.logger.Debug("registry error body withheld from messages",
			"method", req.Method, "url", redact(req.URL.Redacted()), "status", resp.StatusCode,
			"body", strconv.Quote(string(head)), "truncated", truncated)
	}
	resp.ContentLength = 0
	resp.Header.Del("Content-Length")
	return http.NoBody
}

// check refuses a destination strata will not contact.
func (g *guard) check(u *url.URL) error {
	if a, err := netip.ParseAddr(u.Hostname()); err == nil && forbiddenAddr(a) {
		return &errRefused{msg: fmt.Sprintf("refusing to connect to link-local or metadata address %s", a)}
	}
	if u.Scheme != "https" && !g.insecure[u.Host] {
		return &errRefused{msg: fmt.Sprintf("refusing plain HTTP to %s: HTTPS is required unless the host is listed in registry.insecure", u.Host)}
	}
	return nil
}

// challengeRealm finds the token realm of a Bearer challenge.
var challengeRealm = regexp.MustCompile(`(?i)\brealm="([^"]*)"`)

// checkNext refuses where a response sends strata next: a redirect's
// Location, a Bearer challenge's token realm.
func (g *guard) checkNext(req *http.Request, resp *http.Response) error {
	if loc := resp.Header.Get("Location"); loc != "" && resp.StatusCode >= 300 && resp.StatusCode < 400 {
		if u, err := req.URL.Parse(loc); err == nil {
			if err := g.check(u); err != nil {
				return fmt.Errorf("redirect: %w", err)
			}
			if err := g.checkInternal(req, u); err != nil {
				return fmt.Errorf("redirect: %w", err)
			}
		}
	}
	if resp.StatusCode == http.StatusUnauthorized {
		for _, c := range resp.Header.Values("WWW-Authenticate") {
			scheme, _, _ := strings.Cut(c, " ")
			if m := challengeRealm.FindStringSubmatch(c); m != nil && strings.EqualFold(scheme, "bearer") {
				if u, err := url.Parse(m[1]); err == nil && u.IsAbs() {
					if err := g.check(u); err != nil {
						return fmt.Errorf("token realm: %w", err)
					}
					if err := g.checkInternal(req, u); err != nil {
						return fmt.Errorf("token realm: %w", err)
					}
				}
			}
		}
	}
	return nil
}

// checkInternal refuses a redirect or token realm u, sent by the host of
// req, that leads into a non-public range (loopback, private, shared CGNAT)
// the sending host does not itself live in: a registry on the internet has
// no business sending strata to its own loopback or to the cluster's
// network, and whatever answers there would be read back to the tenant.
// A registry on a private network redirecting within it is normal, so the
// target is accepted when every address of the sending host is in the same
// range as the target, when the target is the sending host itself, or when
// it is listed in registry.allow. A target name strata cannot resolve is
// left to the dial (and its guard) or to the proxy.
func (g *guard) checkInternal(req *http.Request, u *url.URL) error {
	from, to := req.URL.Hostname(), u.Hostname()
	if strings.EqualFold(from, to) || g.allow[canonicalHost(u.Host)] || g.allow[canonicalHost(to)] {
		return nil
	}
	targets, err := g.lookup(req.Context(), to)
	if err != nil {
		return nil
	}
	for _, t := range targets {
		class := rangeOf(t)
		if class == rangePublic {
			continue
		}
		origins, err := g.lookup(req.Context(), from)
		if err != nil || len(origins) == 0 || !allIn(origins, class) {
			return &errRefused{msg: fmt.Sprintf("refusing to follow %s to %s: it is a %s address, and %s is not on that network; list %s in registry.allow if it is trusted", from, to, class, from, to)}
		}
	}
	return nil
}

// boundRedirect marks req, which follows a redirect, with the one non-public
// range its dial may reach: that of the host that sent the redirect when all
// its addresses lie in one, else none. The target host itself, when it is the
// sender or listed in registry.allow, is not bound.
func (g *guard) boundRedirect(req *http.Request) *http.Request {
	from, to := req.Response.Request.URL.Hostname(), req.URL.Hostname()
	if strings.EqualFold(from, to) || g.allow[canonicalHost(req.URL.Host)] || g.allow[canonicalHost(to)] {
		return req
	}
	ctx := req.Context()
	allowed := sync.OnceValue(func() addrRange {
		origins, err := g.lookup(ctx, from)
		if err != nil || len(origins) == 0 || !allIn(origins, rangeOf(origins[0])) {
			return rangePublic
		}
		return rangeOf(origins[0])
	})
	return req.WithContext(context.WithValue(ctx, redirectRangeKey{}, allowed))
}

// addrRange is a class of addresses a public registry may not send strata to.
type addrRange string

const (
	rangePublic   addrRange = "public"
	rangeLoopback addrRange = "loopback"
	rangePrivate  addrRange = "private"
	rangeShared   addrRange = "shared (CGNAT)"
)

// sharedAddressSpace is 100.64.0.0/10 (RFC 6598), used inside clusters and
// cloud networks.
var sharedAddressSpace = netip.MustParsePrefix("100.64.0.0/10")

// rangeOf classifies a; link-local and metadata addresses never get this far
// (forbiddenAddr refuses them everywhere).
func rangeOf(a netip.Addr) addrRange {
	a = a.Unmap()
	switch {
	case a.IsLoopback() || a.IsUnspecified():
		return rangeLoopback
	case a.IsPrivate(): // 10/8, 172.16/12, 192.168/16, fc00::/7
		return rangePrivate
	case sharedAddressSpace.Contains(a):
		return rangeShared
	}
	return rangePublic
}

func allIn(addrs []netip.Addr, class addrRange) bool {
	for _, a := range addrs {
		if rangeOf(a) != class {
			return false
		}
	}
	return true
}

// hostsLookup resolves host as the default transport dials it: through
// hosts (Options.Hosts) first, then DNS.
func hostsLookup(hosts map[string]string) func(ctx context.Context, host string) ([]netip.Addr, error) {
	return func(ctx context.Context, host string) ([]netip.Addr, error) {
		if to, ok := hosts[host]; ok {
			if h, _, err := net.SplitHostPort(to); err == nil {
				host = h
			}
		}
		return targetAddrs(ctx, host)
	}
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

// requestSlots bounds the registry requests in flight: in all, and per host.
// A request waits for its slots within its own context, so that a hanging
// registry makes requests fail at their deadline rather than pile up.
type requestSlots struct {
	total   chan struct{}
	perHost int

	mu    sync.Mutex
	hosts map[string]*hostSlots
}

// hostSlots are one host's slots; the entry lives while someone uses it, so
// that a request naming thousands of hosts leaves nothing behind.
type hostSlots struct {
	slots chan struct{}
	users int
}

func newRequestSlots(total, perHost int) *requestSlots {
	return &requestSlots{total: make(chan struct{}, total), perHost: perHost, hosts: map[string]*hostSlots{}}
}

// acquire takes a slot of host, then one of the total: in that order, so
// that a request waiting on a busy host holds nothing other hosts need.
func (s *requestSlots) acquire(ctx context.Context, host string) (release func(), err error) {
	s.mu.Lock()
	h := s.hosts[host]
	if h == nil {
		h = &hostSlots{slots: make(chan struct{}, s.perHost)}
		s.hosts[host] = h
	}
	h.users++
	s.mu.Unlock()
	leave := func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if h.users--; h.users == 0 {
			delete(s.hosts, host)
		}
	}
	select {
	case h.slots <- struct{}{}:
	case <-ctx.Done():
		leave()
		return nil, fmt.Errorf("waiting for one of the %d request slots for %s: %w", s.perHost, host, ctx.Err())
	}
	select {
	case s.total <- struct{}{}:
	case <-ctx.Done():
		<-h.slots
		leave()
		return nil, fmt.Errorf("waiting for one of the %d registry request slots: %w", cap(s.total), ctx.Err())
	}
	return func() {
		<-s.total
		<-h.slots
		leave()
	}, nil
}

// releasingBody gives its request slots back when the body is closed or
// read to its end or to an error, whichever comes first.
type releasingBody struct {
	io.ReadCloser
	release func()
}

func (b *releasingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		b.release()
	}
	return n, err
}

func (b *releasingBody) Close() error {
	defer b.release()
	return b.ReadCloser.Close()
}
