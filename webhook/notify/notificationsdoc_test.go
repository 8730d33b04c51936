package notify_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/strata-project/strata/internal/testutil"
	"github.com/strata-project/strata/webhook/notify"
)

// docs/notifications.md's GitHub section gives the event type (in the body
// and in the workflow's types) and the Accept header: they are what a
// delivery in format github carries (signed, when a key is set, as the
// page's receiver checks).
func TestNotificationsMdGitHubSectionIsWhatIsSent(t *testing.T) {
	t.Parallel()
	doc := string(testutil.ReadFile(t, "../../docs/notifications.md"))
	bodyType := regexp.MustCompile(`\{"event_type": "([^"]+)", "client_payload"`).FindStringSubmatch(doc)
	workflowType := regexp.MustCompile(`repository_dispatch:\n\s+types: \[([^\]]+)\]`).FindStringSubmatch(doc)
	accept := regexp.MustCompile("`Accept: ([^`]+)`").FindStringSubmatch(doc)
	if bodyType == nil || workflowType == nil || accept == nil {
		t.Fatal("docs/notifications.md gives no event_type body, workflow types or Accept header")
	}

	d := githubDelivery(t, notify.Options{Secret: []byte("hmac")})
	var body struct {
		EventType string `json:"event_type"`
	}
	if err := json.Unmarshal(d.body, &body); err != nil || !signed([]byte("hmac"), d.body, d.header.Get(notify.HeaderSignature)) {
		t.Fatalf("a github delivery %s (%v), signature %q: want JSON signed with the key", d.body, err, d.header.Get(notify.HeaderSignature))
	}
	if body.EventType != bodyType[1] || body.EventType != workflowType[1] {
		t.Errorf("a github delivery's event_type is %q; docs/notifications.md shows %q in the body and %q in the workflow", body.EventType, bodyType[1], workflowType[1])
	}
	if got := d.header.Get("Accept"); got != accept[1] {
		t.Errorf("a github delivery's Accept is %q; docs/notifications.md shows %q", got, accept[1])
	}
}

// The Go receiver docs/notifications.md shows is, but for its name, the
// check with which this package's tests verify real deliveries' signatures
// (signed, in notify_test.go).
func TestNotificationsMdReceiverIsTheCheckTheTestsUse(t *testing.T) {
	t.Parallel()
	doc, tests := testutil.ReadFile(t, "../../docs/notifications.md"), testutil.ReadFile(t, "notify_test.go")
	shown := regexp.MustCompile("(?s)```go\n(func verified.*?\n})\n```").FindSubmatch(doc)
	used := regexp.MustCompile(`(?s)\nfunc signed(\(.*?\n})\n`).FindSubmatch(tests)
	if shown == nil || used == nil {
		t.Fatal("docs/notifications.md shows no func verified, or notify_test.go defines no func signed")
	}
	if want := "func verified" + string(used[1]); strings.TrimSpace(string(shown[1])) != want {
		t.Errorf("docs/notifications.md's receiver:\n%s\n\nthe check the tests use:\n%s", shown[1], want)
	}
}

// githubDelivery is what a receiver gets of one moved base from a notifier
// of opts in format github.
func githubDelivery(t *testing.T, opts notify.Options) delivery {
	t.Helper()
	rcv := newReceiver(t)
	opts.URL, opts.Format = rcv.URL+"/repos/o/r/dispatches", notify.FormatGitHub
	n, err := notify.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	go n.Run(t.Context())
	n.Moved(move)
	return rcv.next(t)
}
