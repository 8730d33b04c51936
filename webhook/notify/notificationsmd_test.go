package notify_test

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/strata-project/strata/internal/logtest"
	"github.com/strata-project/strata/internal/testutil"
	"github.com/strata-project/strata/webhook/images"
	"github.com/strata-project/strata/webhook/lineage"
	"github.com/strata-project/strata/webhook/notify"
)

// quoted is the first backquoted text of docs/notifications.md's section
// heading that follows context, the prose's whitespace made one space.
func quoted(t *testing.T, heading, context string) string {
	t.Helper()
	section := strings.Join(strings.Fields(testutil.DocSection(t, "../../docs/notifications.md", heading)), " ")
	m := regexp.MustCompile(regexp.QuoteMeta(context) + " ?\\(?`([^`]+)`").FindStringSubmatch(section)
	if m == nil {
		t.Fatalf("docs/notifications.md's %q no longer quotes anything after %q", heading, context)
	}
	return m[1]
}

// line is the one JSON log line of logs whose msg is msg.
func line(t *testing.T, logs *logtest.Buffer, msg string) map[string]any {
	t.Helper()
	for _, l := range logged(t, logs, msg) {
		if l["msg"] == msg {
			return l
		}
	}
	t.Fatalf("no log line %q in:\n%s", msg, logs.String())
	return nil
}

// The lines docs/notifications.md's Delivery section quotes are, word for
// word and at the level it gives, what a notifier logs: each retry at warn,
// the give-up at error with the fields the page lists (and, for a refusal,
// the status), and a move dropped by a full queue at error.
func TestNotificationsMdDeliveryLinesAreWhatIsLogged(t *testing.T) {
	t.Parallel()
	const heading = "## Delivery\n"
	given, retrying, dropped := quoted(t, heading, "strata logs, at error level,"), quoted(t, heading, "Each retry is logged at warn level"), quoted(t, heading, "dropped and logged at error level")

	t.Run("retried, then given up", func(t *testing.T) {
		t.Parallel()
		var logs logtest.Buffer
		rcv := newStatusReceiver(t, http.StatusServiceUnavailable)
		n, err := notify.New(notify.Options{URL: rcv.URL, Attempts: 2, Backoff: time.Millisecond, Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		go n.Run(t.Context())
		n.Moved(move)
		waitFor(t, "the give-up logged", func() bool { return len(logged(t, &logs, given)) == 1 })
		if l := line(t, &logs, retrying); l["level"] != "WARN" {
			t.Errorf("%q logged at %v, docs/notifications.md says warn", retrying, l["level"])
		}
		l := line(t, &logs, given)
		if l["level"] != "ERROR" {
			t.Errorf("%q logged at %v, docs/notifications.md says error", given, l["level"])
		}
		// "with the base, both digests, how many images and workloads the
		// event listed, the delivery id and the attempts"
		for _, key := range []string{"base", "from", "to", "images", "workloads", "delivery", "attempts"} {
			if _, ok := l[key]; !ok {
				t.Errorf("%q has no %s: %v", given, key, l)
			}
		}
	})

	t.Run("refused", func(t *testing.T) {
		t.Parallel()
		var logs logtest.Buffer
		rcv := newStatusReceiver(t, http.StatusForbidden)
		n, err := notify.New(notify.Options{URL: rcv.URL, Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		go n.Run(t.Context())
		n.Moved(move)
		waitFor(t, "the refusal logged", func() bool { return len(logged(t, &logs, given)) == 1 })
		if l := line(t, &logs, given); !strings.Contains(fmt.Sprint(l["error"]), "403") {
			t.Errorf("%q for a receiver answering 403 = %v, want the status said", given, l)
		}
	})

	t.Run("dropped", func(t *testing.T) {
		t.Parallel()
		var logs logtest.Buffer
		n, err := notify.New(notify.Options{URL: newHangingReceiver(t).URL, Queue: 1, Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		// Not run: nothing takes from the queue, so the second move finds it full.
		n.Moved(move)
		n.Moved(move)
		if l := line(t, &logs, dropped); l["level"] != "ERROR" {
			t.Errorf("%q logged at %v, docs/notifications.md says error", dropped, l["level"])
		}
	})
}

// What docs/notifications.md says a generic delivery carries besides the
// body: its Content-Type, the token as a bearer, the signature's form, an
// X-Strata-Delivery that is the move's (the same tag and digests give the
// same id, another digest or tag another) and hashed, not the tag itself;
// and a delivery counts as delivered in strata_notifications_total.
func TestNotificationsMdGenericDeliveryHeadersAreWhatIsSent(t *testing.T) {
	t.Parallel()
	doc := testutil.DocProse(t, "../../docs/notifications.md")
	contentType := regexp.MustCompile("`format: generic` POSTs the event itself, `Content-Type: ([^`]+)`").FindStringSubmatch(doc)
	if contentType == nil || !strings.Contains(doc, "`Authorization: Bearer <token>` when a token is set") || !strings.Contains(doc, "`X-Strata-Signature-256: sha256=<hex>` when a secret is set") {
		t.Fatal("docs/notifications.md no longer gives the generic Content-Type, the bearer token or the signature's form")
	}
	digest := func(c byte) images.Digest {
		d, err := images.ParseDigest("sha256:" + strings.Repeat(string(c), 64))
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	moves := []lineage.Move{
		{Tag: "registry.example.com/base/os:1", Role: "os", From: digest('a'), To: digest('b')},
		{Tag: "registry.example.com/base/os:1", Role: "os", From: digest('a'), To: digest('b')},
		{Tag: "registry.example.com/base/os:1", Role: "os", From: digest('a'), To: digest('c')},
		{Tag: "registry.example.com/base/os:2", Role: "os", From: digest('a'), To: digest('b')},
	}
	rcv := newReceiver(t)
	reg := prometheus.NewPedanticRegistry()
	n, err := notify.New(notify.Options{URL: rcv.URL, Secret: []byte("hmac"), Token: "tok"})
	if err != nil {
		t.Fatal(err)
	}
	reg.MustRegister(n.Collectors()...)
	go n.Run(t.Context())
	var ids []string
	for _, m := range moves {
		n.Moved(m)
		d := rcv.next(t)
		if got := d.header.Get("Content-Type"); got != contentType[1] {
			t.Errorf("Content-Type = %q, docs/notifications.md says %q", got, contentType[1])
		}
		if got := d.header.Get("Authorization"); got != "Bearer tok" {
			t.Errorf("Authorization = %q, want Bearer and the token", got)
		}
		if got := d.header.Get(notify.HeaderSignature); !strings.HasPrefix(got, "sha256=") || !signed([]byte("hmac"), d.body, got) {
			t.Errorf("%s = %q, want sha256= and the body's HMAC", notify.HeaderSignature, got)
		}
		ids = append(ids, d.header.Get(notify.HeaderDelivery))
	}
	if ids[0] != ids[1] || ids[0] == ids[2] || ids[0] == ids[3] || ids[2] == ids[3] || strings.Contains(ids[0], "base/os") {
		t.Errorf("delivery ids %q: want the same for the same tag and digests, another for another digest or tag, and no tag in it", ids)
	}
	waitFor(t, "four delivered counted", func() bool { return gathered(t, reg, "strata_notifications_total") == "result=delivered 4" })
}

// docs/notifications.md: a base that moves after an image was admitted
// makes the image count in strata_stale_images without a new review, and
// the workload reviewed again with an image rebuilt on the new base stops
// counting (its record is replaced).
func TestNotificationsMdRebuiltImageStopsCountingAsStale(t *testing.T) {
	t.Parallel()
	if !strings.Contains(testutil.DocProse(t, "../../docs/notifications.md"), "a workload reviewed again with a rebuilt image stops counting") {
		t.Fatal("docs/notifications.md no longer says a rebuilt image stops counting")
	}
	w := newWorld(t, nil, "base/os:1")
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(notify.NewStaleCollector(w.seen, w.pipeline.Catalog.Stale))
	base := linuxImage(t)
	push(t, w.host+"/base/os:1", base)
	push(t, w.host+"/shop/web:1", onTop(t, base))
	w.refresh(t)
	w.admit(t, "web", "shop/web:1")
	if got := gathered(t, reg, "strata_stale_images"); got != "" {
		t.Fatalf("strata_stale_images before the base moved = %q, want nothing", got)
	}

	rebuiltBase := linuxImage(t)
	push(t, w.host+"/base/os:1", rebuiltBase)
	w.refresh(t)
	if got, want := gathered(t, reg, "strata_stale_images"), "base="+w.host+"/base/os:1 1"; got != want {
		t.Errorf("strata_stale_images after the base moved, with no new review = %q, want %q", got, want)
	}

	push(t, w.host+"/shop/web:2", onTop(t, rebuiltBase))
	w.admit(t, "web", "shop/web:2")
	if got := gathered(t, reg, "strata_stale_images"); got != "" {
		t.Errorf("strata_stale_images once web runs an image rebuilt on the new base = %q, want nothing", got)
	}
}

// The bounds docs/notifications.md gives an event are the package's: the
// entries of each list and the bytes of the event (the behaviour at each,
// TestEventListsAtMostAHundredImagesAndWorkloads and
// TestEventStaysUnderGitHubsLimitWhateverTheNames).
func TestNotificationsMdStatesTheEventsBounds(t *testing.T) {
	t.Parallel()
	prose := testutil.DocProse(t, "../../docs/notifications.md")
	for _, want := range []string{
		fmt.Sprintf("Each list holds at most %d entries", notify.MaxListed),
		fmt.Sprintf("is at most %d KiB (`truncated: true` says more were seen)", notify.MaxEventBytes>>10),
		fmt.Sprintf("more than %d images, workloads or containers of a workload, or more than fits in %d KiB", notify.MaxListed, notify.MaxEventBytes>>10),
	} {
		if !strings.Contains(prose, want) {
			t.Errorf("docs/notifications.md does not say %q, which is what the code bounds", want)
		}
	}
}

// leaves are the paths of a JSON value's leaves (testutil.JSONFields),
// an array of strings and an empty one alike.
func leaves(t *testing.T, raw []byte) []string {
	t.Helper()
	var out []string
	for _, p := range testutil.JSONFields(t, raw, nil) {
		out = append(out, strings.TrimSuffix(p, "[]"))
	}
	return slices.Compact(out)
}

// The event docs/notifications.md shows (pasted from an end-to-end run) has
// the fields, nested ones included, that an event of one platform, image
// and workload has on this commit.
func TestNotificationsMdExampleEventHasTheEventsFields(t *testing.T) {
	t.Parallel()
	shown := regexp.MustCompile("(?s)```json\n(.*?)```").FindStringSubmatch(string(testutil.ReadFile(t, "../../docs/notifications.md")))
	if shown == nil {
		t.Fatal("docs/notifications.md shows no event")
	}
	sent, err := json.Marshal(notify.Event{Platforms: []notify.Platform{{}}, Images: []notify.Image{{}}, Workloads: []notify.Workload{{Namespace: "shop"}}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := leaves(t, []byte(shown[1])), leaves(t, sent); !slices.Equal(got, want) {
		t.Errorf("docs/notifications.md's event has the fields %v; an event has %v", got, want)
	}
}
