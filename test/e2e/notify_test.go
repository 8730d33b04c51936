//go:build e2e

package e2e

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/empty"

	"github.com/strata-project/strata/test/cluster"
	"github.com/strata-project/strata/webhook/demo"
)

// notification is one POST the receiver accepted.
type notification struct {
	signature, delivery string
	body                []byte
}

// movedEvent is the part of a notification the test reads, written here
// from docs/notifications.md rather than imported, as a CI system would.
type movedEvent struct {
	Kind      string `json:"kind"`
	Base      string `json:"base"`
	OldDigest string `json:"oldDigest"`
	NewDigest string `json:"newDigest"`
	Images    []struct {
		Ref    string `json:"ref"`
		Digest string `json:"digest"`
	} `json:"images"`
	Workloads []struct {
		Namespace, Kind, Name string
		Containers            []string
	} `json:"workloads"`
}

// logLine is one of strata's JSON log lines about notifications.
type logLine struct {
	Msg      string `json:"msg"`
	Base     string `json:"base"`
	Attempt  int    `json:"attempt"`
	Attempts int    `json:"attempts"`
}

// notifyLines returns strata's log lines about notifications for base.
func notifyLines(log, base string) []logLine {
	return logLines(log, func(l logLine) bool { return strings.HasPrefix(l.Msg, "base moved") && l.Base == base })
}

// A catalog base re-pointed in the registry while strata serves produces
// exactly one notification to a local HTTP receiver, signed with the shared
// secret, listing the image built on the old digest and the workload that
// runs it. With the receiver down, the next move is retried, then logged as
// not delivered, and admissions are answered all along.
func TestMovedCatalogBaseNotifiesTheReceiverOnceSigned(t *testing.T) {
	showLogsOnFailure(t)
	ctx := t.Context()
	const ns = "e2e-notify"
	secret := "e2e-notify-hmac"
	if err := cluster.CreateNamespace(ctx, s.client, ns); err != nil {
		t.Fatal(err)
	}

	got := make(chan notification, 16)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got <- notification{signature: r.Header.Get("X-Strata-Signature-256"), delivery: r.Header.Get("X-Strata-Delivery"), body: body}
	}))
	defer receiver.Close()
	next := func() notification {
		t.Helper()
		select {
		case n := <-got:
			return n
		case <-time.After(60 * time.Second):
			t.Fatal("no notification within 60s of the move (catalog.refresh is 1s)")
			return notification{}
		}
	}

	b := &demo.Builder{}
	base := b.Image(empty.Image, "", "notify base, first build")
	app := b.Image(base, "65532", "notify app")
	if b.Err != nil {
		t.Fatal(b.Err)
	}
	oldBase, err := s.pub.push(ctx, "notify/base:1", base)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.pub.push(ctx, "notify/other:1", b.Image(empty.Image, "", "other base, first build")); err != nil {
		t.Fatal(err)
	}
	appDigest, err := s.pub.push(ctx, "notify/app:1", app)
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	secretFile := filepath.Join(dir, "hmac")
	if err := os.WriteFile(secretFile, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	config := fmt.Sprintf(`mode: warn
catalog:
  refresh: 1s
  images:
    - {ref: %q, role: os}
    - {ref: %q, role: os}
platforms: [linux/amd64]
registry:
  timeout: 3s
notify:
  url: %q
  secretFile: %q
`, s.pub.ref("notify/base:1"), s.pub.ref("notify/other:1"), receiver.URL+"/hooks/strata", secretFile)
	p, err := startStrataAs(ctx, s, s.strataBin, "strata-notify", config)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()

	if resp := postReviewTo(t, p.addr, "/validate/warn", ns, "web", s.pub.ref("notify/app:1")); !resp.Allowed {
		t.Fatalf("the application pod on the current base: %+v, want allowed", resp.Result)
	}

	newBase, err := s.pub.push(ctx, "notify/base:1", b.Image(empty.Image, "", "notify base, patched"))
	if err != nil || b.Err != nil {
		t.Fatal(err, b.Err)
	}
	n := next()
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(n.body)
	if want := "sha256=" + hex.EncodeToString(mac.Sum(nil)); !hmac.Equal([]byte(n.signature), []byte(want)) {
		t.Errorf("X-Strata-Signature-256 = %q, want %q (HMAC-SHA256 of the body under the secret file's key)", n.signature, want)
	}
	var ev movedEvent
	if err := json.Unmarshal(n.body, &ev); err != nil {
		t.Fatalf("notification body %s: %v", n.body, err)
	}
	if ev.Kind != "BaseMoved" || ev.Base != s.pub.ref("notify/base:1") || ev.OldDigest != oldBase || ev.NewDigest != newBase ||
		len(ev.Images) != 1 || ev.Images[0].Ref != s.pub.ref("notify/app:1") || ev.Images[0].Digest != appDigest ||
		len(ev.Workloads) != 1 || ev.Workloads[0].Namespace != ns || ev.Workloads[0].Name != "web" {
		t.Errorf("notification = %s\nwant notify/base:1 moved %s → %s, listing notify/app:1 (%s) and Pod %s/web", n.body, oldBase, newBase, appDigest, ns)
	}
	t.Logf("notification (delivery %s): %s", n.delivery, n.body)

	// Exactly one: strata refreshes every second, and another base moving
	// now is the next delivery, so a repeat of the first would come first.
	if _, err := s.pub.push(ctx, "notify/other:1", b.Image(empty.Image, "", "other base, patched")); err != nil {
		t.Fatal(err)
	}
	if n := next(); !strings.Contains(string(n.body), `"base":"`+s.pub.ref("notify/other:1")+`"`) {
		t.Errorf("the delivery after the first = %s, want notify/other:1's: notify/base:1 was notified twice", n.body)
	}

	// The receiver down: the next move is retried, then logged.
	receiver.Close()
	if _, err := s.pub.push(ctx, "notify/base:1", b.Image(empty.Image, "", "notify base, patched again")); err != nil {
		t.Fatal(err)
	}
	base1 := s.pub.ref("notify/base:1")
	deadline := time.Now().Add(90 * time.Second)
	for i := 0; ; i++ {
		// Admissions are answered all along, in the webhook's time.
		start := time.Now()
		resp := postReviewTo(t, p.addr, "/validate/warn", ns, fmt.Sprintf("web-%d", i), s.pub.ref("notify/app:1"))
		if took := time.Since(start); !resp.Allowed || took > 5*time.Second {
			t.Fatalf("admission while the receiver is down: allowed %v after %v, want allowed within the 5s webhook timeout", resp.Allowed, took)
		}
		lines := notifyLines(p.Log, base1)
		if len(lines) > 0 && strings.Contains(lines[len(lines)-1].Msg, "not delivered") {
			last := lines[len(lines)-1]
			retries := 0
			for _, l := range lines {
				if strings.Contains(l.Msg, "retrying") {
					retries++
				}
			}
			if last.Attempts != 5 || retries != 4 {
				t.Errorf("with the receiver down: %d retries logged, then not delivered after %d attempts; want 4 retries and 5 attempts", retries, last.Attempts)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no 'not delivered' line for %s within 90s of the move with the receiver down; lines: %+v", base1, lines)
		}
		time.Sleep(time.Second)
	}
	p.settle()
	if raw, err := os.ReadFile(p.Log); err != nil || strings.Contains(string(raw), secret) {
		t.Errorf("strata's log holds the HMAC key (or could not be read: %v)", err)
	}
}
