package notify_test

import (
	"encoding/json"
	"regexp"
	"slices"
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

	d := delivered(t, notify.Options{Format: notify.FormatGitHub, Secret: []byte("hmac")})
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

// delivered is what a receiver gets of one moved base from a notifier of
// opts.
func delivered(t *testing.T, opts notify.Options) delivery {
	t.Helper()
	rcv := newReceiver(t)
	opts.URL = rcv.URL + "/repos/o/r/dispatches"
	n, err := notify.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	go n.Run(t.Context())
	n.Moved(move)
	return rcv.next(t)
}

// docs/notifications.md's table of the body names the generic event's
// top-level fields, ten (GitHub's limit), with no ref; its apiVersion, its
// kind and the X-Strata-Event header are the ones sent.
func TestNotificationsMdBodyTableIsTheEventsFields(t *testing.T) {
	t.Parallel()
	var documented []string
	field := regexp.MustCompile("`([A-Za-z]+)(?:\\[\\])?`")
	rows := map[string]string{}
	for _, cells := range testutil.DocTable(t, "../../docs/notifications.md", "## The body\n")[2:] {
		for _, m := range field.FindAllStringSubmatch(cells[0], -1) {
			documented = append(documented, m[1])
			rows[m[1]] = cells[1]
		}
	}
	d := delivered(t, notify.Options{})
	var event map[string]json.RawMessage
	if err := json.Unmarshal(d.body, &event); err != nil {
		t.Fatal(err)
	}
	var sent []string
	for k := range event {
		sent = append(sent, k)
	}
	slices.Sort(documented)
	slices.Sort(sent)
	if !slices.Equal(documented, sent) || len(sent) != 10 || slices.Contains(sent, "ref") {
		t.Errorf("docs/notifications.md's body table names %v; the event sent has %v (want ten, no ref)", documented, sent)
	}
	for _, f := range []string{"apiVersion", "kind"} {
		if got := strings.Trim(string(event[f]), `"`); rows[f] != "`"+got+"`" {
			t.Errorf("the event's %s is %q; docs/notifications.md's table gives %s", f, got, rows[f])
		}
	}
	if got := d.header.Get(notify.HeaderEvent); !strings.Contains(string(testutil.ReadFile(t, "../../docs/notifications.md")), "`X-Strata-Event: "+got+"`") {
		t.Errorf("X-Strata-Event is %q, which docs/notifications.md does not show", got)
	}
}
