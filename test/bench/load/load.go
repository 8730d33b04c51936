// Package load sends AdmissionReviews to a webhook on this machine, as the
// API server would, and measures what comes back: throughput, latency
// percentiles and every kind of failure. It is the engine of the loadgen
// command and of the benchmark harness in test/bench.
package load

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Options configure a Run. A run ends after Requests requests or after
// Duration, whichever comes first; at least one must be set.
type Options struct {
	// URL is the webhook path, on a loopback address only.
	URL string
	// Concurrency is the number of requests in flight (and of keep-alive
	// connections). Default: 8.
	Concurrency int
	// Duration bounds the time spent sending requests; in-flight requests
	// then finish. Default: 10s when Requests is 0; at most MaxDuration.
	Duration time.Duration
	// Requests bounds the number of requests. 0: only Duration bounds the run.
	Requests int
	// Body is the AdmissionReview sent; each request gets a fresh uid.
	Body []byte
	// Images, when set, rewrite the object's container images: request i
	// names images[i*k+j] in its container j (k containers), modulo the list,
	// so that successive requests name images not seen before.
	Images []string
	// UniqueNames gives every request's object its own name, as for bare
	// pods or StatefulSet replicas; otherwise every request is the same
	// object, as for ReplicaSet pods (generateName).
	UniqueNames bool
	// Insecure skips verifying the server certificate (self-signed
	// development certificates).
	Insecure bool
	// HTTP2 multiplexes the requests over one connection, as the API server
	// can; the default is HTTP/1.1 keep-alive, one connection per worker.
	HTTP2 bool
	// Timeout bounds each request. Default: 10s (the API server's default
	// webhook timeout).
	Timeout time.Duration
}

// MaxDuration caps a run.
const MaxDuration = time.Hour

// Result is what a run measured.
type Result struct {
	URL         string  `json:"url"`
	Concurrency int     `json:"concurrency"`
	Seconds     float64 `json:"seconds"`
	// Requests were sent and finished, failed or not.
	Requests int `json:"requests"`
	// Admissions got a well-formed answer to their own uid: allowed or denied.
	Admissions int `json:"admissions"`
	Allowed    int `json:"allowed"`
	Denied     int `json:"denied"`
	// Warned admissions carried at least one warning.
	Warned int `json:"warned"`
	// PerSecond is admissions per second of the run.
	PerSecond float64 `json:"admissionsPerSecond"`
	// Latency is over every request that got an HTTP response.
	Latency Latency `json:"latency"`
	Errors  Errors  `json:"errors"`
}

// Errors counts the requests that did not yield an admission decision.
type Errors struct {
	// Transport: no HTTP response (connection refused, TLS, timeout).
	Transport int `json:"transport"`
	// HTTP: a status other than 200.
	HTTP int `json:"http"`
	// Malformed: a body that is not an AdmissionReview, or answers another uid.
	Malformed int `json:"malformed"`
	// Admission: an answer with allowed=false and a code other than 403,
	// which is how controller-runtime reports a handler error.
	Admission int `json:"admission"`
	// Samples are the first distinct error messages.
	Samples []string `json:"samples,omitempty"`
}

// Total is every failed request.
func (e Errors) Total() int { return e.Transport + e.HTTP + e.Malformed + e.Admission }

const maxSamples = 5

// Run sends requests until a bound is reached or ctx ends, and measures
// them. It returns an error only when it cannot start.
func Run(ctx context.Context, opts Options) (Result, error) {
	opts, err := withDefaults(opts)
	if err != nil {
		return Result{}, err
	}
	tmpl, err := parseTemplate(opts.Body, len(opts.Images) > 0, opts.UniqueNames)
	if err != nil {
		return Result{}, err
	}
	images := make([][]byte, len(opts.Images))
	for i, img := range opts.Images {
		images[i] = jsonContents(img)
	}
	var prefix [12]byte
	if _, err := rand.Read(prefix[:]); err != nil {
		return Result{}, err
	}
	client := newClient(opts)
	defer client.CloseIdleConnections()

	r := &run{opts: opts, tmpl: tmpl, images: images, client: client, uidPrefix: uidPrefix(prefix)}
	start := time.Now()
	stopAt := start.Add(opts.Duration)
	var wg sync.WaitGroup
	workers := make([]*worker, opts.Concurrency)
	for i := range workers {
		w := &worker{run: r}
		workers[i] = w
		wg.Go(func() { w.loop(ctx, stopAt) })
	}
	wg.Wait()
	elapsed := time.Since(start)

	res := Result{URL: opts.URL, Concurrency: opts.Concurrency, Seconds: elapsed.Seconds()}
	var lat []time.Duration
	samples := map[string]bool{}
	for _, w := range workers {
		res.Requests += w.requests
		res.Allowed += w.allowed
		res.Denied += w.denied
		res.Warned += w.warned
		res.Errors.Transport += w.errs.Transport
		res.Errors.HTTP += w.errs.HTTP
		res.Errors.Malformed += w.errs.Malformed
		res.Errors.Admission += w.errs.Admission
		for _, s := range w.errs.Samples {
			if !samples[s] && len(res.Errors.Samples) < maxSamples {
				samples[s] = true
				res.Errors.Samples = append(res.Errors.Samples, s)
			}
		}
		lat = append(lat, w.latencies...)
	}
	res.Admissions = res.Allowed + res.Denied
	res.PerSecond = float64(res.Admissions) / elapsed.Seconds()
	res.Latency = Summarize(lat)
	return res, nil
}

func withDefaults(o Options) (Options, error) {
	if err := checkLoopback(o.URL); err != nil {
		return o, err
	}
	if len(o.Body) == 0 {
		return o, errors.New("no AdmissionReview body to send")
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 8
	}
	if o.Requests < 0 || o.Duration < 0 {
		return o, errors.New("the request count and duration cannot be negative")
	}
	if o.Duration == 0 {
		o.Duration = 10 * time.Second
		if o.Requests > 0 {
			o.Duration = MaxDuration
		}
	}
	if o.Duration > MaxDuration {
		return o, fmt.Errorf("a run lasts at most %v", MaxDuration)
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	return o, nil
}

// checkLoopback refuses any target but this machine: the load generator is
// a benchmark tool, not a way to flood a cluster.
func checkLoopback(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("-url: %w", err)
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return fmt.Errorf("-url %q: want an https:// URL", raw)
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	if a, err := netip.ParseAddr(host); err == nil && a.IsLoopback() {
		return nil
	}
	return fmt.Errorf("-url %q: the load generator only targets loopback (127.0.0.1, ::1, localhost)", raw)
}

// loopbackOnly is a net.Dialer Control hook: it runs on the address dialled,
// after name resolution.
func loopbackOnly(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil || !ap.Addr().IsLoopback() {
		return fmt.Errorf("refusing to dial %s: loopback only", address)
	}
	return nil
}

func newClient(o Options) *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second, Control: loopbackOnly}
	tr := &http.Transport{
		DialContext:         dialer.DialContext,
		TLSClientConfig:     &tls.Config{InsecureSkipVerify: o.Insecure, MinVersion: tls.VersionTLS12}, //nolint:gosec // -insecure is for self-signed development certificates on loopback
		TLSHandshakeTimeout: 5 * time.Second,
		MaxIdleConns:        o.Concurrency,
		MaxIdleConnsPerHost: o.Concurrency,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		// A custom TLS config turns HTTP/2 off unless asked for.
		ForceAttemptHTTP2: o.HTTP2,
	}
	if !o.HTTP2 {
		tr.MaxConnsPerHost = o.Concurrency
	}
	return &http.Client{Transport: tr, Timeout: o.Timeout}
}

// uidPrefix makes uids shaped like the API server's (UUIDs), unique to the
// run; the last group counts requests.
func uidPrefix(b [12]byte) []byte {
	h := hex.EncodeToString(b[:])
	return []byte(h[0:8] + "-" + h[8:12] + "-4" + h[13:16] + "-8" + h[17:20] + "-")
}

// run is the state the workers share.
type run struct {
	opts      Options
	tmpl      *template
	images    [][]byte
	client    *http.Client
	uidPrefix []byte
	next      atomic.Uint64
}

// take returns the next request's index, or false when the count is spent.
func (r *run) take() (uint64, bool) {
	i := r.next.Add(1) - 1
	if r.opts.Requests > 0 && i >= uint64(r.opts.Requests) {
		return 0, false
	}
	return i, true
}

// worker sends one request at a time over its own connection and keeps its
// own counts, merged when the run ends.
type worker struct {
	run       *run
	latencies []time.Duration
	requests  int
	allowed   int
	denied    int
	warned    int
	errs      Errors

	body, uid, name []byte
	resp            bytes.Buffer
}

func (w *worker) loop(ctx context.Context, stopAt time.Time) {
	for ctx.Err() == nil && time.Now().Before(stopAt) {
		i, ok := w.run.take()
		if !ok {
			return
		}
		w.one(ctx, i)
	}
}

// review is the part of an AdmissionReview answer that is checked.
type review struct {
	Response *struct {
		UID      string   `json:"uid"`
		Allowed  bool     `json:"allowed"`
		Warnings []string `json:"warnings"`
		Status   *struct {
			Code    int32  `json:"code"`
			Message string `json:"message"`
		} `json:"status"`
	} `json:"response"`
}

func (w *worker) one(ctx context.Context, i uint64) {
	r := w.run
	w.uid = fmt.Appendf(w.uid[:0], "%s%012x", r.uidPrefix, i)
	w.name = strconv.AppendUint(append(w.name[:0], r.tmpl.namePrefix...), i, 36)
	w.body = r.tmpl.render(w.body[:0], i, w.uid, w.name, r.images)

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.opts.URL, bytes.NewReader(w.body))
	if err != nil {
		w.fail(&w.errs.Transport, err.Error())
		return
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	start := time.Now()
	resp, err := r.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return // the run was cancelled, not the server's doing
		}
		w.requests++
		w.fail(&w.errs.Transport, err.Error())
		return
	}
	w.resp.Reset()
	_, err = w.resp.ReadFrom(resp.Body)
	resp.Body.Close()
	took := time.Since(start)
	w.requests++
	if err != nil {
		w.fail(&w.errs.Transport, "reading the answer: "+err.Error())
		return
	}
	w.latencies = append(w.latencies, took)
	if resp.StatusCode != http.StatusOK {
		w.fail(&w.errs.HTTP, fmt.Sprintf("HTTP %d: %.200s", resp.StatusCode, bytes.TrimSpace(w.resp.Bytes())))
		return
	}
	var rv review
	if err := json.Unmarshal(w.resp.Bytes(), &rv); err != nil || rv.Response == nil {
		w.fail(&w.errs.Malformed, fmt.Sprintf("not an AdmissionReview answer: %.200s", w.resp.Bytes()))
		return
	}
	if rv.Response.UID != string(w.uid) {
		w.fail(&w.errs.Malformed, fmt.Sprintf("answer for uid %q to request %q", rv.Response.UID, w.uid))
		return
	}
	if len(rv.Response.Warnings) > 0 {
		w.warned++
	}
	switch {
	case rv.Response.Allowed:
		w.allowed++
	case rv.Response.Status != nil && rv.Response.Status.Code == http.StatusForbidden:
		w.denied++
	default:
		msg := "not allowed, no status"
		if s := rv.Response.Status; s != nil {
			msg = fmt.Sprintf("not allowed, code %d: %.200s", s.Code, s.Message)
		}
		w.fail(&w.errs.Admission, msg)
	}
}

func (w *worker) fail(counter *int, msg string) {
	*counter++
	if len(w.errs.Samples) < maxSamples {
		for _, s := range w.errs.Samples {
			if s == msg {
				return
			}
		}
		w.errs.Samples = append(w.errs.Samples, msg)
	}
}
