package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/strata-project/strata/webhook/inventory"
	"github.com/strata-project/strata/webhook/lineage"
)

// Headers of a notification.
const (
	// HeaderSignature carries "sha256=" and the hex HMAC-SHA256 of the body
	// under the shared secret, as GitHub signs its webhooks.
	HeaderSignature = "X-Strata-Signature-256"
	// HeaderEvent names the event kind.
	HeaderEvent = "X-Strata-Event"
	// HeaderDelivery identifies the move; every attempt to deliver it
	// carries the same one, so that a receiver can drop a repeat.
	HeaderDelivery = "X-Strata-Delivery"
)

// Formats of the body.
const (
	// FormatGeneric POSTs the Event itself.
	FormatGeneric = "generic"
	// FormatGitHub wraps it as a repository_dispatch:
	// {"event_type": GitHubEventType, "client_payload": Event}.
	FormatGitHub = "github"
)

// GitHubEventType is the event_type of FormatGitHub, what a workflow's
// `on: repository_dispatch: types:` names.
const GitHubEventType = "strata-base-moved"

// Source is what strata has seen: the workloads it reviewed, their images
// and the bases each is built on. *inventory.Recorder is one.
type Source interface {
	Inventory() *inventory.Inventory
}

// Options configure a Notifier; the zero value of each field but URL is a
// default.
type Options struct {
	// URL receives the POSTs.
	URL string
	// Format is FormatGeneric (default) or FormatGitHub.
	Format string
	// Secret, when set, signs each body (HeaderSignature).
	Secret []byte
	// Token, when set, is sent as "Authorization: Bearer" (GitHub's API
	// needs one).
	Token string
	// Seen lists the images built on an old digest; nil lists none.
	Seen Source
	// Client sends the POSTs. Default: a client with a 10 s timeout.
	Client *http.Client
	// Queue bounds the moves waiting to be delivered; a move that finds it
	// full is dropped and logged. Default: 100.
	Queue int
	// Attempts bounds the deliveries of one event. Default: 5.
	Attempts int
	// Backoff is the wait before the first retry, doubled before each next
	// one up to MaxBackoff. Defaults: 2 s and 1 min.
	Backoff, MaxBackoff time.Duration
	Logger              *slog.Logger
}

// Notifier delivers an event for each moved base, one at a time, from its
// own goroutine (Run): Moved never waits.
type Notifier struct {
	opts    Options
	target  string // the URL without userinfo or query, which may hold tokens
	queue   chan lineage.Move
	results *prometheus.CounterVec
}

// New checks opts and returns a Notifier; call Run to deliver.
func New(opts Options) (*Notifier, error) {
	u, err := url.Parse(opts.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("notify URL %s: want an http(s) URL of the CI system's webhook", redact(opts.URL))
	}
	switch opts.Format {
	case "":
		opts.Format = FormatGeneric
	case FormatGeneric, FormatGitHub:
	default:
		return nil, fmt.Errorf("notify format %q: want %s or %s", opts.Format, FormatGeneric, FormatGitHub)
	}
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if opts.Queue <= 0 {
		opts.Queue = 100
	}
	if opts.Attempts <= 0 {
		opts.Attempts = 5
	}
	if opts.Backoff <= 0 {
		opts.Backoff = 2 * time.Second
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = time.Minute
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Notifier{
		opts:   opts,
		target: redact(opts.URL),
		queue:  make(chan lineage.Move, opts.Queue),
		results: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "strata_notifications_total",
			Help: "Moved-base notifications, by result: delivered, failed (every attempt failed, or the receiver refused it), dropped (the queue was full).",
		}, []string{"result"}),
	}, nil
}

// redact keeps the scheme, host and path of a URL: a GitLab trigger URL
// carries its token in the query.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(an unparsable URL)"
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
}

// Target is the URL notifications go to, without its query or userinfo.
func (n *Notifier) Target() string { return n.target }

// Collectors are the Notifier's metrics.
func (n *Notifier) Collectors() []prometheus.Collector { return []prometheus.Collector{n.results} }

// Moved queues a move for delivery; it never blocks (a catalog refresh
// calls it). A full queue drops the move, and says so.
func (n *Notifier) Moved(m lineage.Move) {
	select {
	case n.queue <- m:
	default:
		n.results.WithLabelValues("dropped").Inc()
		n.opts.Logger.Error("base moved; notification dropped: the queue is full (the receiver is down or slow)", "base", m.Tag, "from", m.From.String(), "to", m.To.String(), "url", n.target)
	}
}

// Run delivers queued moves until ctx ends.
func (n *Notifier) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case m := <-n.queue:
			n.deliver(ctx, m)
		}
	}
}

// deliver builds the event from what is seen now and POSTs it, retrying
// with backoff; the body, and so its signature, is the same on every
// attempt.
func (n *Notifier) deliver(ctx context.Context, m lineage.Move) {
	var inv *inventory.Inventory
	if n.opts.Seen != nil {
		inv = n.opts.Seen.Inventory()
	}
	ev := newEvent(m, inv)
	var payload any = ev
	if n.opts.Format == FormatGitHub {
		payload = map[string]any{"event_type": GitHubEventType, "client_payload": ev}
	}
	body, err := json.Marshal(payload)
	if err != nil {
		n.results.WithLabelValues("failed").Inc()
		n.opts.Logger.Error("base moved; notification not built", "base", m.Tag, "error", err)
		return
	}
	id := deliveryID(m)
	log := n.opts.Logger.With("base", m.Tag, "from", m.From.String(), "to", m.To.String(), "images", len(ev.Images), "workloads", len(ev.Workloads), "delivery", id, "url", n.target)
	wait := n.opts.Backoff
	for attempt := 1; ; attempt++ {
		err := n.post(ctx, id, body)
		if err == nil {
			n.results.WithLabelValues("delivered").Inc()
			log.Info("base moved; notification delivered", "attempt", attempt)
			return
		}
		var permanent *refusedError
		if errors.As(err, &permanent) || attempt >= n.opts.Attempts || ctx.Err() != nil {
			n.results.WithLabelValues("failed").Inc()
			log.Error("base moved; notification not delivered: rebuild the images listed in the event by hand, and check the receiver", "attempts", attempt, "error", err.Error())
			return
		}
		log.Warn("base moved; notification failed, retrying", "attempt", attempt, "retryIn", wait.String(), "error", err.Error())
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		wait = min(2*wait, n.opts.MaxBackoff)
	}
}

// deliveryID names a move: the same tag moving between the same digests
// is the same delivery.
func deliveryID(m lineage.Move) string {
	sum := sha256.Sum256([]byte(m.Tag + " " + m.From.String() + " " + m.To.String()))
	return hex.EncodeToString(sum[:16])
}

// refusedError is an answer that a retry will not change (a 4xx other than
// 408 and 429): the URL, the token or the body is wrong.
type refusedError struct{ status int }

func (e *refusedError) Error() string {
	return fmt.Sprintf("the receiver refused the notification: HTTP %d", e.status)
}

// post sends one attempt. Errors never carry the URL, whose query may hold
// a token.
func (n *Notifier) post(ctx context.Context, id string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.opts.URL, bytes.NewReader(body))
	if err != nil {
		return errors.New("building the request failed")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "strata")
	req.Header.Set(HeaderEvent, KindMoved)
	req.Header.Set(HeaderDelivery, id)
	if n.opts.Format == FormatGitHub {
		req.Header.Set("Accept", "application/vnd.github+json")
	}
	if len(n.opts.Secret) > 0 {
		req.Header.Set(HeaderSignature, Sign(n.opts.Secret, body))
	}
	if n.opts.Token != "" {
		req.Header.Set("Authorization", "Bearer "+n.opts.Token)
	}
	res, err := n.opts.Client.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return fmt.Errorf("POST %s: %w", n.target, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	res.Body.Close()
	switch {
	case res.StatusCode < 300:
		return nil
	case res.StatusCode >= 500, res.StatusCode == http.StatusTooManyRequests, res.StatusCode == http.StatusRequestTimeout:
		return fmt.Errorf("POST %s: HTTP %d", n.target, res.StatusCode)
	default:
		return &refusedError{status: res.StatusCode}
	}
}

// Sign returns the HeaderSignature value of body under secret: "sha256="
// and the hex HMAC-SHA256. A receiver recomputes it over the raw body and
// compares in constant time.
func Sign(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}
