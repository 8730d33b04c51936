package webhook

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/strata-project/strata/webhook/policy"
)

// TestStringsEchoedFromTheReviewCannotMakeTheAnswerLargerThanIt: an answer
// that refuses a review names what is wrong with it — its apiVersion, its
// kind, its Content-Type, the request's kind, the object's namespace —
// which the client chose. Written as JSON escapes HTML characters ('<' is
// 6 bytes), and %q escapes U+2028 again, a client that fills one with them
// had strata write back up to six times what it sent (600 KB for 100 KB).
// Whatever the characters, the answer is valid JSON, says what is wrong,
// is no larger than the review, and is at most 24 KiB.
func TestStringsEchoedFromTheReviewCannotMakeTheAnswerLargerThanIt(t *testing.T) {
	enforce := NewHandler(HandlerOptions{Checker: newPipeline(t).Checker, Mode: policy.Enforce})
	const size = 64 << 10
	for _, char := range []struct{ name, inJSON, inHeader string }{
		{"'<'", "<", "<"},
		{"U+2028", "\u2028", "\u2028"},
		{"'\"'", `\"`, `"`},
		{"invalid UTF-8", `\u0001`, "\xff"},
	} {
		fill := strings.Repeat(char.inJSON, size/len(char.inJSON))
		for _, tc := range []struct {
			site        string
			handler     admission.Handler
			body        string
			contentType string
			want        string
		}{
			{"apiVersion", allowAll{}, `{"apiVersion":"` + fill + `"}`, "application/json", "decoding the AdmissionReview: apiVersion"},
			{"kind", allowAll{}, `{"kind":"` + fill + `"}`, "application/json", "decoding the AdmissionReview: kind"},
			{"Content-Type", allowAll{}, `{}`, "application/" + strings.Repeat(char.inHeader, size/len(char.inHeader)), "contentType="},
			{"request kind", enforce, `{"request":{"uid":"u","operation":"CREATE","kind":{"kind":"` + fill + `"},"object":{"spec":{"template":{"spec":{"containers":[{"image":1}]}}}}}}`, "application/json", "decoding "},
			{"object namespace", enforce, `{"request":{"uid":"u","operation":"CREATE","namespace":"shop","kind":{"kind":"Pod"},"object":{"metadata":{"namespace":"` + fill + `"},"spec":{"containers":[{"name":"a","image":"x"}]}}}}`, "application/json", "the object's namespace"},
		} {
			t.Run(tc.site+" of "+char.name, func(t *testing.T) {
				r := httptest.NewRequest(http.MethodPost, Paths[policy.Enforce], bytes.NewReader([]byte(tc.body)))
				r.Header.Set("Content-Type", tc.contentType)
				rec := httptest.NewRecorder()
				Endpoint(tc.handler, margin, nil).ServeHTTP(rec, r)
				resp := decodeReview(t, rec.Body.Bytes())
				if resp.Allowed || resp.Result == nil || !strings.HasPrefix(resp.Result.Message, tc.want) {
					t.Fatalf("answer = allowed %t, status %+v; want a refusal starting %q", resp.Allowed, resp.Result, tc.want)
				}
				if sent := len(tc.body) + len(tc.contentType); rec.Body.Len() > sent {
					t.Errorf("the answer is %d bytes for a review of %d; want no more than was sent", rec.Body.Len(), sent)
				}
				if rec.Body.Len() > 24<<10 {
					t.Errorf("the answer is %d bytes; want at most 24 KiB whatever the review", rec.Body.Len())
				}
			})
		}
	}
}
