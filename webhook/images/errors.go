package images

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Kind classifies why an image could not be resolved, so that callers decide
// with errors.As and a switch rather than by reading messages.
type Kind string

// The kinds of resolution failure.
const (
	KindInvalidReference Kind = "invalid-reference" // the image string itself is wrong
	KindNotAllowed       Kind = "not-allowed"       // the registry is outside registry.allow
	KindUnauthorized     Kind = "unauthorized"      // 401/403: credentials missing or refused
	KindNotFound         Kind = "not-found"         // 404: no such repository, tag or digest
	KindRateLimited      Kind = "rate-limited"      // 429
	KindUnavailable      Kind = "unavailable"       // 5xx
	KindTimeout          Kind = "timeout"           // the resolution budget ran out
	KindNetwork          Kind = "network"           // DNS, connection, TLS, refused address
	KindUnsupported      Kind = "unsupported"       // schema 1, an artifact that is not an image
	KindInvalidContent   Kind = "invalid-content"   // digest mismatch, oversized or malformed content
	KindInconsistent     Kind = "inconsistent"      // an index entry's platform contradicts the image's config
	KindTooComplex       Kind = "too-complex"       // an index beyond strata's bounds on entries or nesting, an image beyond those on layers or build steps
	KindLimit            Kind = "limit"             // past a bound strata keeps so that it answers in time
	KindPodOS            Kind = "pod-os"            // no manifest checked for the OS the pod says it runs on
)

// Error is a resolution failure with a message a user can act on. It never
// carries credentials: the cause is kept for errors.Is/As, and its text is
// shown only with query strings (signed URLs, tokens) removed.
type Error struct {
	Kind       Kind
	Image      string // as written
	Registry   string
	Repository string
	// RetryAfter is the registry's Retry-After, for KindRateLimited.
	RetryAfter time.Duration
	Err        error
	// missingHelper, when set, says that a cloud registry refused strata
	// because its credential helper is not enabled.
	missingHelper string
	// ownCredentialsOnly is set when the caller reads images with its own
	// credentials only, so that a pod's imagePullSecret would not be read.
	ownCredentialsOnly bool
}

// OwnCredentialsOnly returns err with advice for a caller that reads every
// image with strata's own credentials (the command line, a webhook that
// does not read pull secrets): to such a caller, "add an imagePullSecret"
// is advice that cannot help. Other errors are returned as they are.
func OwnCredentialsOnly(err error) error {
	if err == nil {
		return nil // without errors.As, whose target would escape: every warm image passes here
	}
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindUnauthorized {
		return err
	}
	c := *e
	c.ownCredentialsOnly = true
	return &c
}

func (e *Error) Unwrap() error { return e.Err }

func (e *Error) Error() string {
	msg := e.advice()
	if e.Err != nil {
		msg += " (" + redact(e.Err.Error()) + ")"
	}
	return msg
}

// advice says what happened in the user's terms and what to do about it.
func (e *Error) advice() string {
	var cloud *CloudError
	if (e.Kind == KindUnauthorized || e.Kind == KindTimeout) && errors.As(e.Err, &cloud) {
		return cloud.advice(e.Kind)
	}
	switch e.Kind {
	case KindInvalidReference:
		return fmt.Sprintf("image %q is not a valid reference: fix the image field", e.Image)
	case KindNotAllowed:
		return fmt.Sprintf("image %q is on registry %s, which strata is not configured to reach: use an image from an allowed registry or add %s to registry.allow", e.Image, e.Registry, e.Registry)
	case KindUnauthorized:
		if e.missingHelper != "" {
			return fmt.Sprintf("%s denied access to %s: %s; enable it, or add an imagePullSecret that can pull it", e.Registry, e.Repository, e.missingHelper)
		}
		if e.ownCredentialsOnly {
			return fmt.Sprintf("%s denied access to %s: give strata credentials that can pull it (docker login, or DOCKER_CONFIG; in a cluster, the chart's registry.credentialsSecret, or pullSecrets.enabled to read the pods' imagePullSecrets)", e.Registry, e.Repository)
		}
		return fmt.Sprintf("%s denied access to %s: add an imagePullSecret that can pull it", e.Registry, e.Repository)
	case KindNotFound:
		return fmt.Sprintf("%s has no image %q: check the repository, tag or digest", e.Registry, e.Image)
	case KindRateLimited:
		if e.RetryAfter > 0 {
			return fmt.Sprintf("%s is rate limiting strata (retry after %s): try again later, or mirror the image", e.Registry, e.RetryAfter)
		}
		return fmt.Sprintf("%s is rate limiting strata: try again later, or mirror the image", e.Registry)
	case KindUnavailable:
		return fmt.Sprintf("%s failed to serve %s: try again when the registry is healthy", e.Registry, e.Repository)
	case KindTimeout:
		return fmt.Sprintf("%s did not answer for %s within the resolution budget: try again, or raise registry.timeout", e.Registry, e.Repository)
	case KindNetwork:
		if untrustedCertificate(e.Err) {
			return fmt.Sprintf("%s's TLS certificate for %s is not signed by a trusted authority: if the registry uses its own CA, trust it with registry.caFile (the chart's registry.caBundle)", e.Registry, e.Repository)
		}
		return fmt.Sprintf("cannot reach %s for %s: check the registry host, DNS and TLS", e.Registry, e.Repository)
	case KindUnsupported:
		return fmt.Sprintf("image %q cannot be checked: rebuild or push it as an OCI or Docker schema 2 image", e.Image)
	case KindInconsistent:
		return fmt.Sprintf("image %q is lying about itself: its index lists a manifest under a platform its config contradicts; do not run it, rebuild it and push a correct index", e.Image)
	case KindTooComplex:
		return fmt.Sprintf("image %q is beyond the bounds strata reads of an image: push an index with fewer entries or less nesting, or an image of fewer layers and build steps", e.Image)
	case KindPodOS:
		return fmt.Sprintf("image %q has no manifest for the pod's OS among those strata checked: add that OS's platform (e.g. windows/amd64) to platforms, or correct spec.os.name", e.Image)
	case KindLimit:
		return fmt.Sprintf("image %q was not checked: the workload is past a bound strata keeps so that it always answers in time; split it into smaller workloads", e.Image)
	default:
		return fmt.Sprintf("%s returned invalid content for %q: do not trust this image until the registry serves it correctly", e.Registry, e.Image)
	}
}

// untrustedCertificate reports a TLS certificate signed by an authority
// strata does not trust: a private CA, where the fix is to trust it, not to
// reach the registry without TLS.
func untrustedCertificate(err error) bool {
	var unknownCA x509.UnknownAuthorityError
	var remembered *errRemembered
	return errors.As(err, &unknownCA) || errors.As(err, &remembered) && remembered.untrustedCA
}

// KindOf returns the Kind of a resolution error, or "" for nil or foreign errors.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return ""
}

// RefuseStale is the resolution error an enforce decision gets instead of a
// stale image: a decision that can deny must not rest on a tag resolution the
// registry could not confirm within the tag TTL, since the tag may have moved
// to another image in the meantime. It keeps the kind of the failed re-check.
func (img *Image) RefuseStale() *Error {
	cause := img.StaleCause
	if cause == nil {
		cause = errorFor(img.Written, KindUnavailable, nil)
	}
	out := *cause
	out.Err = &errStale{cause: cause, digest: img.Digest, age: img.StaleAge, refused: true}
	return &out
}

// BudgetEnded is the error of an image whose resolution was never started
// because the resolution budget had ended first.
func BudgetEnded(image string, cause error) *Error {
	return errorFor(image, KindTimeout, fmt.Errorf("the resolution budget ended before this image's turn: %w", cause))
}

// NoPlatforms is the error of an image resolved to no platform image at all:
// nothing could be evaluated, which must not pass as nothing wrong.
func NoPlatforms(image string) *Error {
	return errorFor(image, KindInvalidContent, errors.New("it resolved to no platform image to check"))
}

// errorFor is an *Error about image, naming its registry and repository
// when image parses.
func errorFor(image string, kind Kind, err error) *Error {
	e := &Error{Kind: kind, Image: image, Err: err}
	if ref, perr := ParseReference(image); perr == nil {
		e.Registry, e.Repository = ref.Registry, ref.Repository
	}
	return e
}

// StaleReason says, for warn and audit, that img was checked on a digest its
// tag may no longer point to, and why.
func (img *Image) StaleReason() string {
	if !img.Stale || img.StaleCause == nil {
		return ""
	}
	return (&errStale{cause: img.StaleCause, digest: img.Digest, age: img.StaleAge}).Error()
}

// errStale explains a stale tag resolution: the failed re-check, and the
// digest strata refused (enforce) or used (warn, audit).
type errStale struct {
	cause   *Error
	digest  Digest
	age     time.Duration
	refused bool
}

func (e *errStale) Error() string {
	age := e.age.Round(time.Second)
	if e.refused {
		return fmt.Sprintf("strata refuses to decide in enforce mode on the stale digest %s it resolved %s ago, since the tag may have moved: %s", e.digest, age, recheckFailure(e.cause))
	}
	return fmt.Sprintf("checked on the stale digest %s resolved %s ago, since %s", e.digest, age, recheckFailure(e.cause))
}

// recheckFailure says briefly how the re-check of a tag failed.
func recheckFailure(cause *Error) string {
	var (
		terr      *transport.Error
		rateLimit *errRateLimited
	)
	switch {
	case errors.As(cause, &rateLimit):
		return "the registry answered 429 to the re-check"
	case errors.As(cause, &terr):
		return fmt.Sprintf("the registry answered %d to the re-check", terr.StatusCode)
	case cause.Kind == KindTimeout:
		return "the re-check timed out"
	case cause.Err != nil:
		return "the re-check failed: " + redact(cause.Err.Error())
	}
	return "the re-check failed"
}

func (e *errStale) Unwrap() error { return e.cause }

// errRateLimited is returned by the guarded transport for a 429, so that the
// Retry-After header survives go-containerregistry's error wrapping.
type errRateLimited struct{ retryAfter time.Duration }

func (e *errRateLimited) Error() string { return "HTTP 429 Too Many Requests" }

// errTooLarge is returned when a response exceeds the byte cap.
type errTooLarge struct{ limit int64 }

func (e *errTooLarge) Error() string {
	return fmt.Sprintf("response larger than the %d-byte limit", e.limit)
}

// errContent marks content that arrived but cannot be trusted or used.
type errContent struct{ msg string }

func (e *errContent) Error() string { return e.msg }

// errUnsupported marks manifests strata refuses to evaluate.
type errUnsupported struct{ msg string }

func (e *errUnsupported) Error() string { return e.msg }

// errInconsistent marks an index entry whose platform its config contradicts.
type errInconsistent struct{ msg string }

func (e *errInconsistent) Error() string { return e.msg }

// errTooComplex marks an index beyond the bounds on entries or nesting, or
// an image beyond those on layers or build steps.
type errTooComplex struct{ msg string }

func (e *errTooComplex) Error() string { return e.msg }

// errRefused marks a connection strata will not make (plain HTTP, link-local).
type errRefused struct{ msg string }

func (e *errRefused) Error() string { return e.msg }

// maxRememberedMessage bounds the message of a remembered failure: a
// reference is at most a few hundred bytes, and so is what names it.
const maxRememberedMessage = 512

// errRemembered is a failure kept in the cache for NotFoundTTL: its kind,
// status and message (redacted, bounded), never the original error, which
// holds go-containerregistry's *http.Request (URL, headers, context) and
// would keep thousands of bytes per distinct failing reference.
type errRemembered struct {
	kind   Kind
	status int
	msg    string
	// untrustedCA keeps what the advice needs of a TLS verification failure.
	untrustedCA bool
}

func (e *errRemembered) Error() string { return e.msg }

// newRemembered is the small copy of err that the cache keeps.
func newRemembered(err error) *errRemembered {
	out := &errRemembered{kind: kindOf(err, new(time.Duration)), untrustedCA: untrustedCertificate(err)}
	var terr *transport.Error
	if errors.As(err, &terr) {
		out.status = terr.StatusCode
	}
	msg := redact(err.Error())
	if len(msg) > maxRememberedMessage {
		msg = strings.ToValidUTF8(msg[:maxRememberedMessage], "") + "…"
	}
	out.msg = strings.Clone(msg)
	return out
}

// classify wraps any failure met while resolving ref into an *Error.
func classify(ctx context.Context, image string, ref Reference, err error) *Error {
	var existing *Error
	if errors.As(err, &existing) {
		return existing
	}
	out := &Error{Image: image, Registry: ref.Registry, Repository: ref.Repository, Err: err}
	out.Kind = kindOf(err, &out.RetryAfter)
	// A cancelled request surfaces as whatever the transport was doing when
	// the deadline hit; the deadline is the cause.
	if ctx.Err() != nil && (out.Kind == KindNetwork || out.Kind == KindInvalidContent) {
		out.Kind = KindTimeout
	}
	return out
}

func kindOf(err error, retryAfter *time.Duration) Kind {
	var (
		cloud      *CloudError
		terr       *transport.Error
		remembered *errRemembered
		rateLimit  *errRateLimited
		tooLarge   *errTooLarge
		content    *errContent
		unsupp     *errUnsupported
		inconsist  *errInconsistent
		tooBig     *errTooComplex
		refused    *errRefused
		dnsErr     *net.DNSError
		opErr      *net.OpError
		certErr    *tls.CertificateVerificationError
		unknownCA  x509.UnknownAuthorityError
		hostErr    x509.HostnameError
		recErr     tls.RecordHeaderError
	)
	switch {
	case errors.As(err, &cloud):
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			return KindTimeout
		}
		return KindUnauthorized
	case errors.As(err, &remembered):
		return remembered.kind
	case errors.As(err, &rateLimit):
		*retryAfter = rateLimit.retryAfter
		return KindRateLimited
	case errors.As(err, &tooLarge), errors.As(err, &content):
		return KindInvalidContent
	case errors.As(err, &unsupp):
		return KindUnsupported
	case errors.As(err, &inconsist):
		return KindInconsistent
	case errors.As(err, &tooBig):
		return KindTooComplex
	case errors.As(err, &refused):
		return KindNetwork
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return KindTimeout
	case errors.As(err, &terr):
		switch {
		case terr.StatusCode == http.StatusUnauthorized || terr.StatusCode == http.StatusForbidden:
			return KindUnauthorized
		case terr.StatusCode == http.StatusNotFound:
			return KindNotFound
		case terr.StatusCode == http.StatusTooManyRequests:
			return KindRateLimited
		case terr.StatusCode >= 500:
			return KindUnavailable
		}
		return KindInvalidContent
	case errors.As(err, &certErr), errors.As(err, &unknownCA), errors.As(err, &hostErr), errors.As(err, &recErr),
		errors.As(err, &dnsErr), errors.As(err, &opErr):
		return KindNetwork
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return KindTimeout
	}
	// Any other failure of a request that got no HTTP response (such as a
	// plain-HTTP server answering a TLS handshake) is the network's.
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		return KindNetwork
	}
	return KindInvalidContent
}

// queryString matches the query of a URL inside an error text: registries and
// blob stores put signatures and tokens there.
var queryString = regexp.MustCompile(`\?[^\s"']*`)

func redact(s string) string { return queryString.ReplaceAllString(s, "?REDACTED") }
