package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/go-json-experiment/json/jsontext"
	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/strata-project/strata/webhook/internal/jsonread"
	"github.com/strata-project/strata/webhook/workload"
)

// Endpoint serves the AdmissionReviews posted to one of strata's paths to h.
// It does what controller-runtime's admission.Webhook did — a 7 MiB body
// limit (413 beyond), AdmissionReview v1 and v1beta1 (answered in the
// version asked), panic recovery — in one pass over the review. The objects
// are handed to h as slices of the body, not copied; strata's Handler reads
// the object as a workload in that same pass, so that it is read once.
// controller-runtime's decoding was most of what a no-op webhook cost (four
// passes over the body, two of them only to validate it), and so most of
// the floor every admission pays (BenchmarkAdmitWarmPod/floor).
//
// Each request gets the deadline the API server will enforce — its
// ?timeout= parameter, or the 10 s default — less margin to write the
// answer, so that strata answers in time rather than letting failurePolicy
// decide. The body must arrive within the same deadline: a client that
// trickles it would otherwise hold a connection and a handler for as long
// as it likes. Callers other than the API server choose ?timeout= too, so it
// is capped at the API server's own maximum webhook timeout. The answer must
// be taken by the deadline plus the margin: a caller that never reads it
// would otherwise hold its connection, counted as serving, for the server's
// whole write timeout.
//
// The answer echoes the review's uid, so a uid longer than the API server
// ever sends (a 36-character UUID) is refused with a short HTTP 400: one
// request cannot make an answer as large as itself. The body is read into
// a buffer of its own, never reused, so h may keep the objects it is given.
func Endpoint(h admission.Handler, margin time.Duration, logger *slog.Logger) http.Handler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return endpoint{handler: h, margin: margin, logger: logger}
}

type endpoint struct {
	handler admission.Handler
	margin  time.Duration
	logger  *slog.Logger
}

// maxReviewBytes bounds a review's body, as controller-runtime did: two
// objects of at most 3 MiB each (what etcd accepts, encoded as JSON) and
// the rest of the review.
const maxReviewBytes = 7 << 20

// maxUIDBytes bounds a review's uid; the API server's are 36 bytes.
const maxUIDBytes = 128

// maxWebhookTimeout is the longest timeoutSeconds the API server accepts for
// a webhook.
const maxWebhookTimeout = 30 * time.Second

// webhookWriteTimeout bounds writing an answer on the webhook port: past
// the longest request a client may be reading it still, then it is gone.
const webhookWriteTimeout = maxWebhookTimeout + 10*time.Second

// healthRequestTimeout bounds reading a request and writing its answer on
// the health port.
const healthRequestTimeout = 10 * time.Second

// errUIDTooLong is a review whose uid is past maxUIDBytes.
var errUIDTooLong = fmt.Errorf("the review's uid is longer than %d bytes; the API server sends a 36-character UUID", maxUIDBytes)

func (e endpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	deadline := time.Now().Add(e.limit(r))
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(deadline)
	_ = rc.SetWriteDeadline(deadline.Add(e.margin))
	ctx, cancel := context.WithDeadline(r.Context(), deadline)
	defer cancel()

	body, code, err := readBody(r)
	if err != nil {
		writeReview(w, "", false, admission.Errored(code, err))
		return
	}
	// As the API server sends it; anything else is not a review.
	if contentType := r.Header.Get("Content-Type"); contentType != "application/json" {
		writeReview(w, "", false, admission.Errored(http.StatusBadRequest, fmt.Errorf("contentType=%s, expected application/json", contentType)))
		return
	}
	reader, _ := e.handler.(workloadReader)
	var rv review
	err = rv.read(body, reader)
	if reader != nil && err != nil && !errors.Is(err, errUIDTooLong) {
		// The object is left for the handler to decode from its bytes,
		// which says what is wrong with it, if anything; and an error
		// outside it is found again.
		rv, reader = review{}, nil
		err = rv.read(body, nil)
	}
	if err != nil {
		if errors.Is(err, errUIDTooLong) {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		writeReview(w, "", false, admission.Errored(http.StatusBadRequest, fmt.Errorf("decoding the AdmissionReview: %w; strata reads the admission.k8s.io/v1 AdmissionReview JSON the API server posts, nothing else", err)))
		return
	}
	resp, line := e.handle(ctx, rv.request, rv.workload, reader)
	// With a log line, the answer goes out whole first, its length given
	// so that the flush does not make it chunked: the API server waits
	// for the answer, not for the log.
	writeReview(w, rv.apiVersion, line.h != nil, resp)
	if line.h != nil {
		_ = rc.Flush()
		line.write(&rv.request, &resp)
	}
}

// limit is how long r may take: its ?timeout= (at most maxWebhookTimeout)
// or 10 s, less the margin.
func (e endpoint) limit(r *http.Request) time.Duration {
	limit := 10 * time.Second
	if t, err := time.ParseDuration(queryValue(r.URL.RawQuery, "timeout")); err == nil && t > 0 {
		limit = min(t, maxWebhookTimeout)
	}
	limit -= e.margin
	if limit <= 0 {
		limit = e.margin
	}
	return limit
}

// queryValue is r.URL.Query().Get(key) for raw, r.URL.RawQuery, without
// building the map of every parameter (three allocations an admission):
// the first value of key, in a query read as url.ParseQuery reads it.
func queryValue(raw, key string) string {
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" || strings.Contains(pair, ";") {
			continue // url.ParseQuery skips both
		}
		k, v, _ := strings.Cut(pair, "=")
		k, err := url.QueryUnescape(k)
		if err != nil || k != key {
			continue
		}
		if v, err = url.QueryUnescape(v); err == nil {
			return v
		}
	}
	return ""
}

// handle runs the handler (with the workload it read, if it read one),
// answering a panic with a 500 for that request; line is the handler's
// log line of it, to write once the answer is sent.
func (e endpoint) handle(ctx context.Context, req admission.Request, w *workload.Workload, reader workloadReader) (resp admission.Response, line decisionLine) {
	defer func() {
		if p := recover(); p != nil {
			e.logger.Error("panic while answering an admission", "uid", string(req.UID), "panic", p, "stack", string(debug.Stack()))
			resp = admission.Errored(http.StatusInternalServerError, fmt.Errorf("panic: %v [recovered]", p))
			resp.UID = req.UID
		}
	}()
	if reader != nil {
		resp, line = reader.handleWorkload(ctx, req, w)
	} else {
		resp = e.handler.Handle(ctx, req)
	}
	if err := resp.Complete(req); err != nil {
		resp = admission.Errored(http.StatusInternalServerError, fmt.Errorf("encoding the answer's patch: %w", err))
		resp.UID = req.UID
	}
	return resp, line
}

// errTooLarge is a body past maxReviewBytes.
var errTooLarge = fmt.Errorf("request entity is too large; limit is %d bytes", maxReviewBytes)

// preallocatedBodyBytes is as much of a body's declared length as is
// allocated before its bytes arrive: a pod's review, most often. A client
// could otherwise declare 7 MiB on each of its connections, send nothing,
// and have strata hold 7 MiB for each until the deadline.
const preallocatedBodyBytes = 16 << 10

// readBody reads r's body whole, in one allocation when its length is given
// and small: the code and error of the answer when it is empty or too
// large.
func readBody(r *http.Request) ([]byte, int32, error) {
	if r.ContentLength > maxReviewBytes {
		return nil, http.StatusRequestEntityTooLarge, errTooLarge
	}
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		// ReadFrom wants room for 512 more bytes before it sees the end.
		buf.Grow(int(min(r.ContentLength, preallocatedBodyBytes)) + bytes.MinRead)
	}
	if r.Body != nil {
		if _, err := buf.ReadFrom(io.LimitReader(r.Body, maxReviewBytes+1)); err != nil {
			return nil, http.StatusBadRequest, fmt.Errorf("reading the review: %w", err)
		}
	}
	switch {
	case buf.Len() > maxReviewBytes:
		return nil, http.StatusRequestEntityTooLarge, errTooLarge
	case buf.Len() == 0:
		return nil, http.StatusBadRequest, errors.New("request body is empty")
	}
	return buf.Bytes(), 0, nil
}

// maxAnswerMessageBytes bounds the message of an answer. A refusal names
// what is wrong with the review — its apiVersion, its kind, its
// Content-Type, the object's namespace — all of the client's choosing, so
// that without a bound one review could make an answer as large as itself.
// strata's own denials stay well within it (denialMessage: at most 10 lines
// of 512 bytes).
const maxAnswerMessageBytes = 8 << 10

// writeReview writes resp as an AdmissionReview of apiVersion (v1 when the
// review's was not read).
//
// The answer is written without encoding/json's HTML escaping, which would
// make each '<', '>' or '&' the client had echoed six bytes: the API server
// reads JSON, not HTML. The message is cut to maxAnswerMessageBytes, and
// its control characters but newlines (six bytes each as JSON) and invalid
// UTF-8 (six bytes a byte) replaced, so that each of its bytes is at
// most two in the answer (a '"', a '\\', a newline, half of a U+2028's
// escape): the message is under 16 KiB in the answer whatever the review.
//
// With whole, it gives the answer's Content-Length, so that a flush before
// the handler returns sends the answer whole rather than as the first
// chunk of one.
func writeReview(w http.ResponseWriter, apiVersion string, whole bool, resp admission.Response) {
	if apiVersion == "" {
		apiVersion = admissionv1.SchemeGroupVersion.String()
	}
	if resp.Result != nil && len(resp.Result.Message) > 0 {
		result := *resp.Result
		result.Message = answerMessage(result.Message)
		resp.Result = &result
	}
	a := answers.Get().(*answerEncoder)
	defer a.release()
	a.buf.Reset()
	// The review and the response are the pooled encoder's own, so that
	// neither is allocated for encoding/json's sake.
	a.response = resp.AdmissionResponse
	a.review = admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: apiVersion, Kind: "AdmissionReview"},
		Response: &a.response,
	}
	if err := a.enc.Encode(&a.review); err != nil {
		// An AdmissionResponse has nothing encoding/json cannot write.
		http.Error(w, "encoding the answer: "+err.Error(), http.StatusInternalServerError)
		return
	}
	// Header().Set would allocate the value's slice; this one is shared,
	// and net/http only reads it.
	w.Header()["Content-Type"] = jsonContentType
	if whole {
		w.Header()["Content-Length"] = []string{strconv.Itoa(a.buf.Len())}
	}
	// Ended by a newline (Encode's), as controller-runtime's json.Encoder
	// wrote it. Write copies it: the buffer is reused.
	_, _ = w.Write(a.buf.Bytes())
}

// answers are reused: an encoder and its buffer were two allocations more
// per admission than json.Marshal's copy.
var answers = sync.Pool{New: func() any {
	a := &answerEncoder{}
	a.enc = json.NewEncoder(&a.buf)
	a.enc.SetEscapeHTML(false)
	return a
}}

// maxPooledAnswerBytes is the largest buffer kept for the next answer: a
// refusal, a denial or a pin's patch for a few containers fits; the patch
// for a Pod of hundreds of containers is not kept.
const maxPooledAnswerBytes = 64 << 10

type answerEncoder struct {
	buf      bytes.Buffer
	enc      *json.Encoder
	review   admissionv1.AdmissionReview
	response admissionv1.AdmissionResponse
}

// jsonContentType is the answers' Content-Type header.
var jsonContentType = []string{"application/json"}

func (a *answerEncoder) release() {
	// Nothing of this answer (its patch, its warnings) is held by the pool.
	a.review, a.response = admissionv1.AdmissionReview{}, admissionv1.AdmissionResponse{}
	if a.buf.Cap() <= maxPooledAnswerBytes {
		answers.Put(a)
	}
}

// answerMessage is msg cut to maxAnswerMessageBytes, with its control
// characters but newlines made spaces and each run of invalid UTF-8 (a
// header's bytes; U+FFFD would be three) made '?'.
func answerMessage(msg string) string {
	return strings.Map(func(r rune) rune {
		if r != '\n' && unicode.IsControl(r) {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(truncate(msg, maxAnswerMessageBytes), "?"))
}

// review is what the endpoint reads of an AdmissionReview.
type review struct {
	apiVersion string
	request    admission.Request
	// workload is the object, read in the review's pass by a
	// workloadReader.
	workload *workload.Workload
}

// workloadReader is a handler that reads the request's object in the
// review's own pass, as a workload, rather than from its bytes after:
// strata's Handler. The object is then read once.
type workloadReader interface {
	// readWorkload reads the object of kind at d; or answers an error
	// (workload.ErrUnread, or any other) and leaves it to handleWorkload; or
	// answers nil and nil, having read nothing, for an object it does not
	// read at all.
	readWorkload(kind metav1.GroupVersionKind, d *jsontext.Decoder) (*workload.Workload, error)
	// handleWorkload is Handle, given w when readWorkload read it, but
	// leaves the log line of its decision to line (empty: none, or
	// written already), for the caller to write after the answer.
	handleWorkload(ctx context.Context, req admission.Request, w *workload.Workload) (resp admission.Response, line decisionLine)
}

var (
	reviewMembers   = []string{"apiVersion", "kind", "request"}
	requestMembers  = []string{"uid", "kind", "resource", "subResource", "requestKind", "requestResource", "requestSubResource", "name", "namespace", "operation", "userInfo", "object", "oldObject", "dryRun", "options"}
	kindMembers     = []string{"group", "version", "kind"}
	resourceMembers = []string{"group", "version", "resource"}
	userInfoMembers = []string{"username", "uid", "groups", "extra"}
	// errNotAReview is a body whose apiVersion or kind is another object's.
	// controller-runtime read any such body as a review (and answered in
	// its apiVersion, which the API server would not read).
	errNotAReview = errors.New("not an AdmissionReview")
	// An empty apiVersion is v1, as controller-runtime took it.
	reviewAPIVersions = []string{"", admissionv1.SchemeGroupVersion.String(), "admission.k8s.io/v1beta1"}
)

// read reads body, an AdmissionReview, into r. A review's apiVersion may be
// admission.k8s.io/v1 or v1beta1 (the same fields), or be left out with its
// kind, as controller-runtime took it. With a reader, an object that follows
// the request's kind is read as a workload; any error reader answers is
// returned, and the review is to be read again without it.
func (r *review) read(body []byte, reader workloadReader) error {
	req := &r.request.AdmissionRequest
	return jsonread.Decode(body, func(d *jsontext.Decoder) error {
		return jsonread.Object(d, reviewMembers, func(field int) error {
			switch field {
			case 0:
				if err := jsonread.String(d, &r.apiVersion); err != nil {
					return err
				}
				if !slices.Contains(reviewAPIVersions, r.apiVersion) {
					return fmt.Errorf("apiVersion %q: %w: strata reads admission.k8s.io/v1 (and v1beta1) reviews; list v1 first in the webhook's admissionReviewVersions", r.apiVersion, errNotAReview)
				}
				return nil
			case 1:
				var kind string
				if err := jsonread.String(d, &kind); err != nil {
					return err
				}
				if kind != "" && kind != "AdmissionReview" {
					return fmt.Errorf("kind %q: %w", kind, errNotAReview)
				}
				return nil
			}
			return jsonread.Object(d, requestMembers, func(field int) error {
				if requestMembers[field] == "object" && reader != nil && req.Kind.Kind != "" && d.PeekKind() == '{' {
					return r.readWorkload(d, body, reader)
				}
				return readRequestMember(d, body, field, req)
			})
		})
	})
}

// readRequestMember reads the request's member requestMembers[field].
func readRequestMember(d *jsontext.Decoder, body []byte, field int, req *admissionv1.AdmissionRequest) error {
	switch requestMembers[field] {
	case "uid":
		var uid string
		if err := jsonread.String(d, &uid); err != nil {
			return err
		}
		if len(uid) > maxUIDBytes {
			return errUIDTooLong
		}
		req.UID = types.UID(uid)
		return nil
	case "kind":
		return readKind(d, &req.Kind)
	case "resource":
		return readResource(d, &req.Resource)
	case "subResource":
		return jsonread.String(d, &req.SubResource)
	case "requestKind":
		return jsonread.Pointer(d, &req.RequestKind, func(gvk *metav1.GroupVersionKind) error { return readKind(d, gvk) })
	case "requestResource":
		return jsonread.Pointer(d, &req.RequestResource, func(gvr *metav1.GroupVersionResource) error { return readResource(d, gvr) })
	case "requestSubResource":
		return jsonread.String(d, &req.RequestSubResource)
	case "name":
		return jsonread.String(d, &req.Name)
	case "namespace":
		return jsonread.String(d, &req.Namespace)
	case "operation":
		var op string
		err := jsonread.String(d, &op)
		req.Operation = admissionv1.Operation(op)
		return err
	case "userInfo":
		return readUserInfo(d, &req.UserInfo)
	case "object":
		return readRaw(d, body, &req.Object.Raw)
	case "oldObject":
		return readRaw(d, body, &req.OldObject.Raw)
	case "dryRun":
		return jsonread.Bool(d, &req.DryRun)
	}
	return readRaw(d, body, &req.Options.Raw)
}

// readWorkload reads the request's object with reader, keeping its bytes
// too, as readRaw would.
func (r *review) readWorkload(d *jsontext.Decoder, body []byte, reader workloadReader) error {
	// The offset is after the member's name: the value starts after the
	// colon and any white space.
	start := int(d.InputOffset())
	for start < len(body) && (body[start] == ':' || body[start] == ' ' || body[start] == '\t' || body[start] == '\n' || body[start] == '\r') {
		start++
	}
	w, err := reader.readWorkload(r.request.Kind, d)
	if err != nil {
		return err
	}
	if w == nil {
		return readRaw(d, body, &r.request.Object.Raw)
	}
	end := int(d.InputOffset())
	r.workload, r.request.Object.Raw = w, body[start:end:end]
	return nil
}

// readRaw sets *raw to the next value as it stands in body, not copied;
// null leaves it nil, as runtime.RawExtension reads one.
func readRaw(d *jsontext.Decoder, body []byte, raw *[]byte) error {
	v, err := d.ReadValue()
	if err != nil {
		return err
	}
	if v.Kind() == 'n' {
		*raw = nil
		return nil
	}
	end := int(d.InputOffset())
	// The capacity ends with the value, so that nothing appended to it
	// could write over the rest of the body.
	*raw = body[end-len(v) : end : end]
	return nil
}

func readKind(d *jsontext.Decoder, gvk *metav1.GroupVersionKind) error {
	return jsonread.Object(d, kindMembers, func(field int) error {
		return jsonread.String(d, []*string{&gvk.Group, &gvk.Version, &gvk.Kind}[field])
	})
}

func readResource(d *jsontext.Decoder, gvr *metav1.GroupVersionResource) error {
	return jsonread.Object(d, resourceMembers, func(field int) error {
		return jsonread.String(d, []*string{&gvr.Group, &gvr.Version, &gvr.Resource}[field])
	})
}

func readUserInfo(d *jsontext.Decoder, u *authenticationv1.UserInfo) error {
	return jsonread.Object(d, userInfoMembers, func(field int) error {
		switch field {
		case 0:
			return jsonread.String(d, &u.Username)
		case 1:
			return jsonread.String(d, &u.UID)
		case 2:
			return readStrings(d, &u.Groups)
		}
		return jsonread.Map(d, &u.Extra, func() (authenticationv1.ExtraValue, error) {
			var values []string
			err := readStrings(d, &values)
			return values, err
		})
	})
}

// readStrings reads a list of strings; null makes *list nil.
func readStrings(d *jsontext.Decoder, list *[]string) error {
	return jsonread.List(d, list, func() (s string, err error) {
		err = jsonread.String(d, &s)
		return s, err
	})
}
