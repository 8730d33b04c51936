package images

import (
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/strata-project/strata/webhook/internal/lru"
)

// pingKey identifies a registry's answer to the /v2/ ping within a scope:
// the origin is scheme://host, since an insecure registry is pinged over
// both schemes.
type pingKey struct {
	scope  string
	origin string
}

// pingAnswer is what go-containerregistry reads of a ping: the status (200:
// no authentication; 401: its challenge) and the challenge itself.
type pingAnswer struct {
	status    int
	challenge []string // WWW-Authenticate values
	created   time.Time
}

// pingReuse answers the /v2/ ping a registry session starts with from the
// first answer the registry gave in the same scope. go-containerregistry
// pings once per repository (transport.NewWithContext); the answer says
// whether and where to authenticate, which is the registry's, not the
// repository's, so thousands of repositories cost one ping, not thousands.
// Only 200 and 401 answers are kept: anything else is asked again.
type pingReuse struct {
	next    http.RoundTripper
	scope   string
	answers *lru.Cache[pingKey, *pingAnswer]
	now     func() time.Time
}

func (p *pingReuse) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet || req.URL.Path != "/v2/" || req.Header.Get("Authorization") != "" {
		return p.next.RoundTrip(req)
	}
	key := pingKey{scope: p.scope, origin: req.URL.Scheme + "://" + req.URL.Host}
	if a, ok := p.answers.Get(key); ok && p.now().Sub(a.created) < pullerTTL {
		return a.response(req), nil
	}
	resp, err := p.next.RoundTrip(req)
	if err != nil || (resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusUnauthorized) {
		return resp, err
	}
	a := &pingAnswer{status: resp.StatusCode, challenge: resp.Header.Values("WWW-Authenticate"), created: p.now()}
	cost := int64(len(key.scope) + len(key.origin) + 64)
	for _, c := range a.challenge {
		cost += int64(16 + len(c))
	}
	p.answers.Add(key, a, cost)
	return resp, nil
}

// response is the remembered answer, as an HTTP response to req.
func (a *pingAnswer) response(req *http.Request) *http.Response {
	h := http.Header{}
	for _, c := range a.challenge {
		h.Add("WWW-Authenticate", c)
	}
	return &http.Response{
		Status:     http.StatusText(a.status),
		StatusCode: a.status,
		Proto:      "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:  h,
		Body:    io.NopCloser(strings.NewReader("")),
		Request: req,
	}
}
