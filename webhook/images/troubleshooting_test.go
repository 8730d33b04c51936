package images

import (
	"crypto/x509"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/strata-project/strata/internal/testutil"
)

// troubleshootingRows reads the messages of docs/troubleshooting.md's
// image-resolution table: the first cell of each row, in backticks.
func troubleshootingRows(t *testing.T) []string {
	t.Helper()
	var rows []string
	for _, cells := range testutil.DocTable(t, "../../docs/troubleshooting.md", "## An image could not be resolved")[2:] {
		msg, opened := strings.CutPrefix(cells[0], "`")
		msg, closed := strings.CutSuffix(msg, "`")
		if !opened || !closed || strings.Contains(msg, "`") {
			t.Fatalf("docs/troubleshooting.md: row %q: the message is not one backquoted cell", cells)
		}
		rows = append(rows, msg)
	}
	return rows
}

// rowPattern turns a documented message into a pattern over the message
// strata prints: REGISTRY, REPO and IMAGE stand for the values of the test's
// errors, and "…" for any text.
func rowPattern(row string) *regexp.Regexp {
	quoted := regexp.QuoteMeta(strings.ReplaceAll(row, " …", "…"))
	return regexp.MustCompile("^" + strings.ReplaceAll(quoted, "…", ".*") + "$")
}

// Every message docs/troubleshooting.md lists for an image that could not be
// resolved is one strata prints, and every kind of resolution error (with
// its variants: own credentials only, an untrusted CA, a Retry-After) is
// listed there: the table cannot drift from errors.go unseen.
func TestTroubleshootingListsEveryResolutionMessage(t *testing.T) {
	at := func(k Kind) *Error { return &Error{Kind: k, Image: "IMAGE", Registry: "REGISTRY", Repository: "REPO"} }
	var printed []string
	for _, k := range []Kind{KindInvalidReference, KindNotAllowed, KindUnauthorized, KindNotFound, KindRateLimited,
		KindUnavailable, KindTimeout, KindNetwork, KindUnsupported, KindInvalidContent, KindInconsistent,
		KindTooComplex, KindLimit, KindPodOS} {
		printed = append(printed, at(k).Error())
	}
	retry := at(KindRateLimited)
	retry.RetryAfter = 30 * time.Second
	untrusted := at(KindNetwork)
	untrusted.Err = x509.UnknownAuthorityError{}
	printed = append(printed, OwnCredentialsOnly(at(KindUnauthorized)).Error(), retry.Error(), untrusted.Error())

	rows := troubleshootingRows(t)
	if len(rows) == 0 {
		t.Fatal("docs/troubleshooting.md lists no resolution message")
	}
	documented := make([]bool, len(rows))
	for _, msg := range printed {
		found := false
		for i, row := range rows {
			if rowPattern(row).MatchString(msg) {
				found, documented[i] = true, true
			}
		}
		if !found {
			t.Errorf("strata prints %q, which docs/troubleshooting.md does not list", msg)
		}
	}
	for i, row := range rows {
		if !documented[i] {
			t.Errorf("docs/troubleshooting.md lists %q, which no resolution error prints", row)
		}
	}

	// The registry's own error follows in parentheses, its signed URL's
	// query redacted.
	signed := at(KindUnavailable)
	signed.Err = errors.New("GET https://blobs.example.com/x?X-Amz-Signature=secret&X-Amz-Credential=key: 503")
	if msg := signed.Error(); !strings.HasPrefix(msg, printed[5]+" (GET https://blobs.example.com/x?REDACTED") || strings.Contains(msg, "secret") || strings.Contains(msg, "key") {
		t.Errorf("Error() with a signed URL's failure = %q, want %q followed by the failure in parentheses, its query redacted", msg, printed[5])
	}
}
