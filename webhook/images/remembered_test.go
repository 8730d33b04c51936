package images

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// TestRememberedNotFoundKeepsKindStatusAndAtMost512RedactedBytes: what the
// cache keeps of a failure is its kind, its status and its message,
// redacted and cut at 512 bytes (docs/images.md), not the error, which
// holds the request. A registry's 404 body of 4 KiB with a signed URL in it
// is kept as 512 bytes and the cut's mark, the signature gone.
func TestRememberedNotFoundKeepsKindStatusAndAtMost512RedactedBytes(t *testing.T) {
	t.Parallel()
	const bound = 512 // what docs/images.md states
	err := &transport.Error{
		StatusCode: http.StatusNotFound,
		Errors: []transport.Diagnostic{{
			Code:    transport.ManifestUnknownErrorCode,
			Message: "see https://blobs.example.com/x?X-Amz-Signature=secret " + strings.Repeat("m", 4<<10),
		}},
	}
	r := newRemembered(err)
	if r.kind != KindNotFound || r.status != http.StatusNotFound {
		t.Errorf("remembered kind %q status %d, want %q 404", r.kind, r.status, KindNotFound)
	}
	if strings.Contains(r.msg, "secret") {
		t.Errorf("the remembered message keeps the URL's signature: %q", r.msg)
	}
	if body, cut := strings.CutSuffix(r.msg, "…"); !cut || len(body) != bound {
		t.Errorf("the remembered message is %d bytes (cut: %v), want %d and the cut marked", len(body), cut, bound)
	}
}
